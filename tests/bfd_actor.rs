//! Our BFD session actors on both ends of a namespace LAN (h1 <-> h2), IPv4 and IPv6.
//!
//! What it proves:
//! - sessions come Up both ways over real sockets, each with a unique discriminator;
//! - the receive-side GTSM check: a forged AdminDown from the neighbour's address with the
//!   right discriminators but TTL / hop limit 254 is dropped (counted, session stays Up); the
//!   same packet with 255 is accepted (session goes Down, diag 3) — so it is the TTL that
//!   decides; with `max_hops 255` the check is off;
//! - reload handover: replacing a session (`Shutdown { Replaced }` + start with the previous
//!   handle) keeps its discriminator and source port, applies the new timers with a Poll
//!   Sequence and the peer never goes Down;
//! - removal sends AdminDown: the peer goes Down with diag 3 at once, not after its detection
//!   time.
//!
//! Needs root and `ip netns`; skipped otherwise.

mod common;
#[path = "common/bfd_support.rs"]
mod support;

use common::lab::Lab;
use keepalived_rs::bfd::{BfdEvent, BfdSpec, ControlPacket, Diag, Flags, State};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use support::{enter_netns, params, NsBfd};

/// Sends `pkt` to `dst`:3784 from `src` inside namespace `ns` with the given TTL / hop limit.
fn forge(ns: &str, src: IpAddr, dst: IpAddr, ttl: u32, pkt: &ControlPacket) {
    let ns = ns.to_string();
    let bytes = pkt.to_bytes();
    std::thread::spawn(move || {
        enter_netns(&ns);
        let domain = if dst.is_ipv6() {
            socket2::Domain::IPV6
        } else {
            socket2::Domain::IPV4
        };
        let s = socket2::Socket::new(domain, socket2::Type::DGRAM, None).unwrap();
        if dst.is_ipv6() {
            s.set_unicast_hops_v6(ttl).unwrap();
        } else {
            s.set_ttl_v4(ttl).unwrap();
        }
        s.bind(&SocketAddr::new(src, 50000).into()).unwrap();
        s.send_to(&bytes, &SocketAddr::new(dst, 3784).into())
            .unwrap();
    })
    .join()
    .unwrap();
}

/// Waits for an event of `name` entering `state` (states may last only a few ms: a session
/// that goes Down on a LAN is Up again almost at once).
fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<BfdEvent>,
    name: &str,
    state: State,
    timeout: Duration,
) -> Option<BfdEvent> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(e) if e.name == name && e.state == state => return Some(e),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    None
}

fn admin_down(my: u32, your: u32) -> ControlPacket {
    ControlPacket {
        diag: Diag::AdministrativelyDown,
        state: State::AdminDown,
        flags: Flags::default(),
        detect_mult: 3,
        my_discr: my,
        your_discr: your,
        desired_min_tx: 20_000,
        required_min_rx: 20_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

#[test]
fn sessions_gtsm_handover_and_admin_down() {
    if !common::lab::can_run() {
        eprintln!("skipped: needs root and ip netns");
        return;
    }
    let lab = Lab::new(2);
    let mut a = NsBfd::start(lab.ns(1));
    let mut b = NsBfd::start(lab.ns(2));
    let addr = |i: usize, v6: bool| -> IpAddr {
        if v6 {
            lab.v6(i).parse().unwrap()
        } else {
            lab.ip4(i).parse().unwrap()
        }
    };
    for (name, v6) in [("s4", false), ("s6", true)] {
        a.session(BfdSpec::new(name, addr(2, v6), params(20, 3)));
        b.session(BfdSpec::new(name, addr(1, v6), params(20, 3)));
    }
    let t0 = Instant::now();
    for n in ["s4", "s6"] {
        for side in [&a, &b] {
            assert!(
                side.wait_state(n, State::Up, Duration::from_secs(10))
                    .is_some(),
                "{n} not Up: {:?}",
                side.status(n)
            );
        }
    }
    println!("all Up after {:?}", t0.elapsed());
    let discrs: Vec<u32> = ["s4", "s6"]
        .iter()
        .flat_map(|n| [a.status(n), b.status(n)])
        .map(|s| s.session.unwrap().local_discr)
        .collect();
    let uniq: std::collections::HashSet<_> = discrs.iter().collect();
    assert_eq!(
        uniq.len(),
        discrs.len(),
        "discriminators not unique: {discrs:?}"
    );
    for n in ["s4", "s6"] {
        let local = a.status(n).local.unwrap();
        assert!(local.port() >= 49152, "{n}: source port {local}");
    }

    // --- GTSM: a forged AdminDown with TTL 254 is dropped, with 255 it is accepted.
    let mut b_events = b.registry.subscribe();
    for (n, v6) in [("s4", false), ("s6", true)] {
        let sa = a.status(n).session.unwrap();
        let pkt = admin_down(sa.remote.discr, sa.local_discr);
        let drops_before = a
            .status(n)
            .counters
            .get("rx_ttl_drop")
            .copied()
            .unwrap_or(0);
        forge(lab.ns(2), addr(2, v6), addr(1, v6), 254, &pkt);
        // Awaited: the drop is counted once the packet has been looked at.
        lab.wait_for(Duration::from_secs(2), || {
            a.status(n)
                .counters
                .get("rx_ttl_drop")
                .copied()
                .unwrap_or(0)
                > drops_before
        });
        let st = a.status(n);
        assert_eq!(
            st.session.as_ref().unwrap().state,
            State::Up,
            "{n}: TTL 254 packet was accepted"
        );
        assert_eq!(
            st.counters.get("rx_ttl_drop").copied().unwrap_or(0),
            drops_before + 1,
            "{n}: {:?}",
            st.counters
        );
        let mut a_events = a.registry.subscribe();
        forge(lab.ns(2), addr(2, v6), addr(1, v6), 255, &pkt);
        let e = wait_event(&mut a_events, n, State::Down, Duration::from_secs(1));
        assert!(
            e.is_some(),
            "{n}: TTL 255 AdminDown not accepted: {:?}",
            a.status(n)
        );
        assert_eq!(e.unwrap().diag, Diag::NeighborSignaledDown);
        assert!(
            a.wait_state(n, State::Up, Duration::from_secs(10))
                .is_some(),
            "{n}: no recovery"
        );
        assert!(
            b.wait_state(n, State::Up, Duration::from_secs(10))
                .is_some(),
            "{n}: peer no recovery"
        );
    }
    // max_hops 255 switches the check off: the TTL 254 packet is accepted.
    {
        let mut spec = BfdSpec::new("s4", addr(2, false), params(20, 3));
        spec.min_rx_ttl = None;
        a.session(spec);
        assert!(a
            .wait_state("s4", State::Up, Duration::from_secs(10))
            .is_some());
        let sa = a.status("s4").session.unwrap();
        let mut a_events = a.registry.subscribe();
        forge(
            lab.ns(2),
            addr(2, false),
            addr(1, false),
            254,
            &admin_down(sa.remote.discr, sa.local_discr),
        );
        assert!(
            wait_event(&mut a_events, "s4", State::Down, Duration::from_secs(1)).is_some(),
            "max_hops 255 still checks TTL: {:?}",
            a.status("s4")
        );
        assert!(a
            .wait_state("s4", State::Up, Duration::from_secs(10))
            .is_some());
        assert!(b
            .wait_state("s4", State::Up, Duration::from_secs(10))
            .is_some());
    }
    std::thread::sleep(Duration::from_millis(300));
    while b_events.try_recv().is_ok() {}

    // --- Reload handover: new timers, same discriminator and port, no flap on the peer.
    for n in ["s4", "s6"] {
        let before = a.status(n);
        let v6 = n == "s6";
        a.session(BfdSpec::new(n, addr(2, v6), params(40, 3)));
        let ok = lab.wait_for(Duration::from_secs(3), || {
            b.status(n)
                .session
                .is_some_and(|s| s.remote.desired_min_tx == Duration::from_millis(40))
        });
        assert!(
            ok,
            "{n}: peer did not see the new interval: {:?}",
            b.status(n)
        );
        // The peer has seen the new interval (its Poll); our poll sequence ends when its
        // Final arrives, which may be a packet later: awaited, not assumed.
        let settled = lab.wait_for(Duration::from_secs(3), || {
            a.status(n).session.is_some_and(|s| !s.poll_active)
        });
        assert!(
            settled,
            "{n}: the poll sequence never ended: {:?}",
            a.status(n)
        );
        let after = a.status(n);
        let (sb, sa) = (before.session.unwrap(), after.session.unwrap());
        assert_eq!(sa.local_discr, sb.local_discr, "{n}: discriminator changed");
        assert_eq!(after.local, before.local, "{n}: source changed");
        assert_eq!(sa.state, State::Up);
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut flaps = Vec::new();
    while let Ok(e) = b_events.try_recv() {
        flaps.push(e);
    }
    assert!(
        flaps.is_empty(),
        "peer saw state changes during the handover: {flaps:?}"
    );

    // --- Removal: AdminDown makes the peer go Down with diag 3 at once.
    for n in ["s4", "s6"] {
        let t = Instant::now();
        let mut b_events = b.registry.subscribe();
        a.remove(n);
        let e = wait_event(&mut b_events, n, State::Down, Duration::from_secs(2))
            .expect("peer not Down after removal");
        let took = t.elapsed();
        assert_eq!(e.diag, Diag::NeighborSignaledDown, "{n}");
        assert!(
            took < Duration::from_millis(100),
            "{n}: peer Down after {took:?} (detection is 120 ms)"
        );
        assert!(
            a.registry.state(n).is_none(),
            "removed session still in the registry"
        );
    }
}
