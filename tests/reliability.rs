//! Reliability findings of issue #19, judged from outside in network namespaces:
//! - a daemon killed with SIGKILL while MASTER leaves its VIPs; restarted as BACKUP it removes
//!   them at start (keepalived's `vrrp_restore_interfaces_startup`), and on SIGTERM it removes
//!   what of its configuration's virtual set is in the kernel although it does not hold it;
//! - a non-atomic rewrite seen by the config watcher (truncate, write 1 s later, no signal) is
//!   applied only once complete: no address moves, the final content is applied;
//! - one spoofed BFD Down (neighbour's address, TTL 255, sniffed discriminators) moves the VIP
//!   to the backup once; the master's priority stays down for `bfd_hold_down` (1 s), so the
//!   VIP does not bounce back within milliseconds; it returns (preempt) after the hold.

mod common;
#[path = "common/bfd_support.rs"]
mod support;

use common::lab::{self, tshark_fields, Lab};
use keepalived_rs::bfd::{ControlPacket, Diag, Flags, State};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

fn conf(net: u32, prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    priority {prio}\n    version 3\n    advert_int 0.2\n{extra}    virtual_ipaddress {{\n        10.{net}.0.100/24\n    }}\n}}\n"
    )
}

#[test]
fn a_killed_master_restarted_as_backup_removes_the_vips_it_left() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(2);
    let net = lab.net();
    let vip = format!("10.{net}.0.100");
    let c1 = lab.write("h1.conf", &conf(net, 150, ""));
    let c2 = lab.write("h2.conf", &conf(net, 100, ""));
    lab.start_rs(1, "first", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip)),
        "h1 not MASTER\n{}",
        lab.log("first")
    );
    lab.start_rs(2, "peer", OURS, &c2);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab
            .log("peer")
            .contains("-> BACKUP")
            && lab.owners(&vip) == vec![1]),
        "h2 not BACKUP\n{}",
        lab.log("peer")
    );

    // A crash: no cleanup at all. The peer takes over; h1 keeps the stale VIP.
    lab.signal("first", libc::SIGKILL);
    assert!(lab.wait_exit("first", Duration::from_secs(5)).is_some());
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1, 2]),
        "h2 did not take over (or h1 lost the VIP without a daemon)\n{}",
        lab.log("peer")
    );

    // Restarted with a lower priority: it comes up BACKUP, and removes the stale VIP.
    lab.rewrite(&c1, &conf(net, 50, ""));
    lab.start_rs(1, "second", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "the restarted daemon left the VIP on h1 (owners {:?})\n{}",
        lab.owners(&vip),
        lab.log("second")
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab
            .log("second")
            .contains("-> BACKUP")),
        "{}",
        lab.log("second")
    );
    let log = lab.log("second");
    assert!(log.contains("removing at start"), "{log}");
    assert!(!log.contains("-> MASTER"), "{log}");

    // SIGTERM as BACKUP: a copy of its VIP in the kernel (it does not hold it) goes too.
    lab.must_exec(
        1,
        &["ip", "addr", "add", &format!("{vip}/24"), "dev", "eth0"],
    );
    assert!(lab.has_addr(1, &vip));
    lab.signal("second", libc::SIGTERM);
    assert!(lab.wait_exit("second", Duration::from_secs(10)).is_some());
    assert!(
        !lab.has_addr(1, &vip),
        "SIGTERM left the VIP on h1\n{}",
        lab.log("second")
    );
    assert!(lab.has_addr(2, &vip), "{}", lab.log("peer"));
}

#[test]
fn a_truncated_then_rewritten_file_is_applied_only_once_complete() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    let (vip, vip2) = (format!("10.{net}.0.100"), format!("10.{net}.0.101"));
    let text = conf(net, 150, "");
    let c1 = lab.write("h1.conf", &text);
    lab.start_rs(1, "ours", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip)),
        "h1 not MASTER\n{}",
        lab.log("ours")
    );
    lab.monitor_addresses(1, "mon");
    // A non-atomic rewrite: truncated, and written a second later, without a signal.
    std::fs::File::create(&c1).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab
            .log("ours")
            .contains("is empty: not reloading")
            || !lab.address_events("mon").is_empty()),
        "the watcher did not notice the empty file\n{}",
        lab.log("ours")
    );
    std::thread::sleep(Duration::from_secs(1));
    let second = text.replace(
        &format!("        10.{net}.0.100/24\n"),
        &format!("        10.{net}.0.100/24\n        10.{net}.0.101/24\n"),
    );
    assert_ne!(second, text);
    std::fs::write(&c1, &second).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip2)),
        "the final content was not applied\n{}",
        lab.log("ours")
    );
    assert!(lab.has_addr(1, &vip));
    // One address event: the new VIP. The first never left.
    let events = lab.address_events("mon");
    assert_eq!(events.len(), 1, "{events:?}\n{}", lab.log("ours"));
    assert!(
        !events[0].starts_with("Deleted") && events[0].contains(&vip2),
        "{events:?}"
    );
    assert_eq!(lab.reloads_completed("ours"), 1, "{}", lab.log("ours"));
    // SIGHUP applies what is there, even an empty file: the operator asked for it.
    std::fs::File::create(&c1).unwrap();
    assert!(
        lab.reload("ours", Duration::from_secs(10)),
        "{}",
        lab.log("ours")
    );
    assert!(
        lab.wait_for(Duration::from_secs(5), || !lab.has_addr(1, &vip)
            && !lab.has_addr(1, &vip2)),
        "SIGHUP did not apply the empty file\n{}",
        lab.log("ours")
    );
}

/// Sends `pkt` to `dst`:3784 from `src` inside namespace `ns` with TTL 255.
fn forge(ns: &str, src: IpAddr, dst: IpAddr, pkt: &ControlPacket) {
    let ns = ns.to_string();
    let bytes = pkt.to_bytes();
    std::thread::spawn(move || {
        support::enter_netns(&ns);
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        s.set_ttl_v4(255).unwrap();
        s.bind(&SocketAddr::new(src, 50001).into()).unwrap();
        s.send_to(&bytes, &SocketAddr::new(dst, 3784).into())
            .unwrap();
    })
    .join()
    .unwrap();
}

fn discr(s: &str) -> u32 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

#[test]
fn one_spoofed_bfd_down_moves_the_vip_once_not_back_and_forth() {
    let _g = lab::serial();
    if lab::skip_without(false, &["tshark"]) {
        return;
    }
    let mut lab = Lab::new(2);
    let net = lab.net();
    let vip = format!("10.{net}.0.100");
    let (ip1, ip2) = (lab.ip4(1), lab.ip4(2));
    let bfd = |peer: &str, me: &str| {
        format!("bfd_instance peer {{\n    neighbor_ip {peer}\n    source_ip {me}\n    min_rx 50\n    min_tx 50\n    multiplier 3\n}}\n")
    };
    // Only the master tracks the session (the backup's own session goes Down too).
    let c1 = lab.write(
        "h1.conf",
        &(bfd(&ip2, &ip1)
            + &conf(
                net,
                150,
                "    track_bfd {\n        peer weight -100\n    }\n",
            )),
    );
    let c2 = lab.write("h2.conf", &(bfd(&ip1, &ip2) + &conf(net, 100, "")));
    lab.start_rs(1, "h1", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip)),
        "h1 not MASTER\n{}",
        lab.log("h1")
    );
    lab.start_rs(2, "h2", OURS, &c2);
    let bfd_up = |name: &str| lab.log(name).to_lowercase().contains("entering up state");
    assert!(
        lab.wait_for(Duration::from_secs(20), || bfd_up("h1")
            && bfd_up("h2")
            && lab.log("h2").contains("-> BACKUP")
            && lab.owners(&vip) == vec![1]),
        "not settled\nh1:\n{}\nh2:\n{}",
        lab.log("h1"),
        lab.log("h2")
    );
    // The discriminators, as an on-link attacker sniffs them.
    let cap = lab.capture_pcap(1, "cap", "udp port 3784", 2, "bfd.pcap");
    assert!(lab.wait_exit("cap", Duration::from_secs(15)).is_some());
    let rows = tshark_fields(
        &cap,
        &format!("bfd && ip.src == {ip1}"),
        &["bfd.my_discriminator", "bfd.your_discriminator"],
    );
    let last = rows.last().expect("h1's BFD packets");
    let (h1_discr, h2_discr) = (discr(&last[0]), discr(&last[1]));
    assert!(h1_discr != 0 && h2_discr != 0, "{rows:?}");

    lab.monitor_addresses(1, "mon");
    let pkt = ControlPacket {
        diag: Diag::AdministrativelyDown,
        state: State::AdminDown,
        flags: Flags::default(),
        detect_mult: 3,
        my_discr: h2_discr,
        your_discr: h1_discr,
        desired_min_tx: 50_000,
        required_min_rx: 50_000,
        required_min_echo_rx: 0,
        auth: None,
    };
    forge(lab.ns(2), ip2.parse().unwrap(), ip1.parse().unwrap(), &pkt);
    // The drop is immediate: the backup takes over.
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.owners(&vip) == vec![2]),
        "the spoofed Down did not move the VIP (owners {:?})\nh1:\n{}",
        lab.owners(&vip),
        lab.log("h1")
    );
    // The session is Up again at once, but the priority is held down: no bounce back.
    assert!(
        lab.holds_for(Duration::from_millis(500), || !lab.has_addr(1, &vip)),
        "the VIP came back to h1 within the hold-down\n{:?}\nh1:\n{}",
        lab.address_events("mon"),
        lab.log("h1")
    );
    // After the hold it returns (preempt), once.
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "h1 did not take the VIP back after the hold\n{}",
        lab.log("h1")
    );
    let log = lab.log("h1");
    assert!(log.contains("priority held down"), "{log}");
    let events = lab.address_events("mon");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("Deleted"), "{events:?}");
}
