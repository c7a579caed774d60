//! Interop with FRR 8.4 bfdd, in network namespaces: our BFD session actors in `h1`, zebra +
//! bfdd in `h2`, one IPv4 and one IPv6 single-hop session.
//!
//! What it proves (asserted at 50 ms × 3; 10 ms × 3 measured and printed, asserted loosely
//! because two shared cores under build load delay both daemons by tens of ms):
//! - both sessions come Up on both sides (registry here, `show bfd peers json` there);
//! - cutting h2's switch port brings ours Down with diag 1 within the detection time (+ a
//!   scheduling margin), FRR Down too; restoring the port brings both Up again;
//! - a timer change on our side (SetParams) is negotiated by a Poll/Final sequence: FRR
//!   reports our new intervals, nobody flaps; a change on FRR's side reaches us the same way;
//! - tshark on the link flags none of our packets as malformed or erroneous, and ours carry
//!   TTL / hop limit 255 and a source port in 49152–65535.
//!
//! Needs root, `ip netns`, FRR (`/usr/lib/frr/{zebra,bfdd}`, `vtysh`) and tshark; skipped
//! otherwise. Measurements are printed (`cargo test --test bfd_frr -- --nocapture`).

mod common;
#[path = "common/bfd_support.rs"]
mod support;

use common::lab::{must, run, Lab};
use keepalived_rs::bfd::{BfdSpec, Diag, State};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{have_frr, have_tshark, params, NsBfd};

struct Frr {
    dir: PathBuf,
}

impl Frr {
    fn start(lab: &mut Lab, host: usize, conf: &str) -> Frr {
        let dir = lab.dir.join(format!("frr{host}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf_path = dir.join("frr.conf");
        std::fs::write(&conf_path, conf).unwrap();
        must(&["chown", "-R", "frr:frr", &dir.display().to_string()]);
        let ns = lab.ns(host).to_string();
        let d = dir.display().to_string();
        let c = conf_path.display().to_string();
        for daemon in ["zebra", "bfdd"] {
            let bin = format!("/usr/lib/frr/{daemon}");
            let pid = format!("{d}/{daemon}.pid");
            let zs = format!("{d}/zserv.api");
            lab.spawn(
                host,
                daemon,
                &[
                    &bin,
                    "-N",
                    &ns,
                    "-f",
                    &c,
                    "--vty_socket",
                    &d,
                    "-i",
                    &pid,
                    "-z",
                    &zs,
                    "-u",
                    "frr",
                    "-g",
                    "frr",
                ],
            );
            let sock = dir.join(format!("{daemon}.vty"));
            let ok = lab.wait_for(Duration::from_secs(10), || sock.exists());
            assert!(ok, "{daemon} did not start: {}", lab.log(daemon));
        }
        Frr { dir }
    }

    fn vtysh(&self, cmds: &[&str]) -> String {
        let d = self.dir.display().to_string();
        let mut args = vec!["vtysh", "--vty_socket", &d];
        for c in cmds {
            args.push("-c");
            args.push(c);
        }
        let o = run(&args);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The entry of `show bfd peers json` for `peer`.
    fn peer(&self, peer: &str) -> Option<serde_json::Value> {
        let out = self.vtysh(&["show bfd peers json"]);
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        v.as_array()?
            .iter()
            .find(|p| p["peer"].as_str() == Some(peer))
            .cloned()
    }

    fn status(&self, peer: &str) -> String {
        self.peer(peer)
            .and_then(|p| p["status"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn wait_status(&self, peer: &str, status: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.status(peer) == status {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn configure(&self, peer: &str, local: &str, lines: &[&str]) {
        let p = format!("peer {peer} local-address {local} interface eth0");
        let mut cmds = vec!["configure terminal", "bfd", p.as_str()];
        cmds.extend_from_slice(lines);
        self.vtysh(&cmds);
    }
}

fn frr_conf(peers: &[(String, String)], ms: u64, mult: u8) -> String {
    let mut s = String::from("bfd\n");
    for (peer, local) in peers {
        s += &format!(
            " peer {peer} local-address {local} interface eth0\n  detect-multiplier {mult}\n  receive-interval {ms}\n  transmit-interval {ms}\n !\n"
        );
    }
    s + "!\n"
}

/// Drains the registry events and counts the Down transitions of `name`.
fn downs(rx: &mut tokio::sync::broadcast::Receiver<keepalived_rs::bfd::BfdEvent>) -> Vec<String> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if e.state == State::Down {
            v.push(format!("{} ({})", e.name, e.diag));
        }
    }
    v
}

struct Cut {
    ours: Vec<(String, Duration)>,
}

/// Cuts h2's port, measures each of our sessions' time to Down (from just before the
/// command), checks FRR Down, restores and waits for Up on both sides.
fn cut_and_restore(lab: &Lab, ours: &NsBfd, frr: &Frr, names: &[(&str, &str)]) -> Cut {
    for (n, _) in names {
        assert!(
            ours.wait_state(n, State::Up, Duration::from_secs(10))
                .is_some(),
            "{n} not Up before the cut"
        );
    }
    let t0 = Instant::now();
    lab.set_port(2, false);
    let mut res = Vec::new();
    for (n, _) in names {
        let at = ours
            .wait_state(n, State::Down, Duration::from_secs(3))
            .unwrap_or_else(|| panic!("{n} did not go Down after the cut"));
        let snap = ours.registry.state(n).unwrap();
        assert_eq!(snap.diag, Diag::ControlDetectionTimeExpired, "{n}");
        res.push((n.to_string(), at.saturating_duration_since(t0)));
    }
    for (_, peer) in names {
        assert!(
            frr.wait_status(peer, "down", Duration::from_secs(3)),
            "FRR {peer} not down after the cut"
        );
    }
    lab.set_port(2, true);
    for (n, peer) in names {
        assert!(
            ours.wait_state(n, State::Up, Duration::from_secs(10))
                .is_some(),
            "{n} not Up after restore"
        );
        assert!(
            frr.wait_status(peer, "up", Duration::from_secs(5)),
            "FRR {peer} not up after restore"
        );
    }
    Cut { ours: res }
}

fn tshark_count(pcap: &Path, filter: &str) -> usize {
    let o = run(&[
        "tshark",
        "-n",
        "-r",
        &pcap.display().to_string(),
        "-Y",
        filter,
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn frr_bfdd_interop_ipv4_ipv6() {
    if !common::lab::can_run() || !have_frr() || !have_tshark() {
        eprintln!("skipped: needs root, ip netns, FRR and tshark");
        return;
    }
    let mut lab = Lab::new(2);
    let (a4, b4) = (lab.ip4(1), lab.ip4(2));
    let (a6, b6) = (lab.v6(1), lab.v6(2));
    let pcap = lab.dir.join("bfd.pcap");
    std::fs::write(&pcap, b"").unwrap();
    must(&["chmod", "666", &pcap.display().to_string()]);
    let p = pcap.display().to_string();
    lab.spawn(
        2,
        "tshark",
        &[
            "tshark",
            "-ni",
            "eth0",
            "-f",
            "udp port 3784",
            "-w",
            &p,
            "-q",
        ],
    );
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab
            .log("tshark")
            .contains("Capturing on")),
        "tshark did not start: {}",
        lab.log("tshark")
    );

    let frr = Frr::start(
        &mut lab,
        2,
        &frr_conf(&[(a4.clone(), b4.clone()), (a6.clone(), b6.clone())], 50, 3),
    );
    let mut ours = NsBfd::start(lab.ns(1));
    let mut events = ours.registry.subscribe();
    let v4: IpAddr = b4.parse().unwrap();
    let v6: IpAddr = b6.parse().unwrap();
    let names = [("frr4", a4.as_str()), ("frr6", a6.as_str())];
    let t_start = Instant::now();
    ours.session(BfdSpec::new("frr4", v4, params(50, 3)));
    ours.session(BfdSpec::new("frr6", v6, params(50, 3)));

    // --- Up both ways at 50 ms x 3.
    for (n, peer) in names {
        let up = ours.wait_state(n, State::Up, Duration::from_secs(10));
        assert!(
            up.is_some(),
            "{n} never came Up: {:?}\nbfdd: {}",
            ours.status(n),
            lab.log("bfdd")
        );
        println!("{n}: Up after {:?}", up.unwrap() - t_start);
        assert!(
            frr.wait_status(peer, "up", Duration::from_secs(5)),
            "FRR {peer}: {:?}",
            frr.peer(peer)
        );
        let fp = frr.peer(peer).unwrap();
        assert_eq!(fp["remote-receive-interval"], 50, "{fp}");
        assert_eq!(fp["remote-transmit-interval"], 50, "{fp}");
        assert_eq!(fp["remote-detect-multiplier"], 3, "{fp}");
        let st = ours.status(n).session.unwrap();
        assert_eq!(st.remote.desired_min_tx, Duration::from_millis(50));
        assert_eq!(st.detection_time, Some(Duration::from_millis(150)));
        assert_eq!(
            fp["remote-id"].as_u64(),
            Some(u64::from(st.local_discr)),
            "{fp}"
        );
    }
    // Start-up events (AdminDown -> Down -> Init/Up) are not flaps.
    let _ = downs(&mut events);
    std::thread::sleep(Duration::from_secs(2));
    let flaps = downs(&mut events);
    assert!(flaps.is_empty(), "flaps at 50 ms: {flaps:?}");

    // --- Link cut at 50 ms x 3 (detection time 150 ms).
    let mut cuts50 = Vec::new();
    for _ in 0..3 {
        let c = cut_and_restore(&lab, &ours, &frr, &names);
        cuts50.extend(c.ours);
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("50 ms x 3 link cut -> Down: {cuts50:?}");
    for (n, d) in &cuts50 {
        // Detection time 150 ms; the cut command itself and scheduling add a few ms.
        assert!(
            *d >= Duration::from_millis(100),
            "{n}: Down before the detection time: {d:?}"
        );
        assert!(
            *d <= Duration::from_millis(150 + 60),
            "{n}: Down too late: {d:?}"
        );
    }
    let _ = downs(&mut events);

    // --- Poll/Final from our side: 100 ms. FRR must see the new values, nobody flaps.
    for (n, peer) in names {
        ours.set_params(n, params(100, 3));
        let ok = lab.wait_for(Duration::from_secs(3), || {
            frr.peer(peer).is_some_and(|p| {
                p["remote-transmit-interval"] == 100 && p["remote-receive-interval"] == 100
            })
        });
        assert!(ok, "FRR did not take our new timers: {:?}", frr.peer(peer));
        let st = ours.status(n).session.unwrap();
        assert!(!st.poll_active, "{n}: poll still active");
        assert_eq!(st.desired_min_tx, Duration::from_millis(100));
        assert_eq!(st.detection_time, Some(Duration::from_millis(300)));
        assert_eq!(frr.status(peer), "up");
    }
    // --- Poll/Final from FRR's side: transmit-interval 200.
    for (n, peer) in names {
        frr.configure(
            peer,
            if n == "frr4" { &b4 } else { &b6 },
            &["transmit-interval 200"],
        );
        let ok = lab.wait_for(Duration::from_secs(3), || {
            ours.status(n)
                .session
                .is_some_and(|s| s.remote.desired_min_tx == Duration::from_millis(200))
        });
        assert!(ok, "{n}: FRR's new interval not seen: {:?}", ours.status(n));
        let st = ours.status(n).session.unwrap();
        assert_eq!(st.detection_time, Some(Duration::from_millis(600)));
        assert_eq!(st.state, State::Up);
    }
    let flaps = downs(&mut events);
    assert!(flaps.is_empty(), "flaps during Poll/Final: {flaps:?}");

    // --- 10 ms x 3 (measured; asserted loosely).
    for (n, peer) in names {
        frr.configure(
            peer,
            if n == "frr4" { &b4 } else { &b6 },
            &["transmit-interval 10", "receive-interval 10"],
        );
        ours.set_params(n, params(10, 3));
    }
    // Both ends on the new intervals, the Poll sequences over (what happened meanwhile is
    // not counted as flaps).
    assert!(
        lab.wait_for(Duration::from_secs(10), || names.iter().all(|(n, _)| ours
            .status(n)
            .session
            .is_some_and(
                |s| s.tx_interval == Duration::from_millis(10) && !s.poll_active
            ))),
        "10 ms not negotiated: {:?}",
        names
            .iter()
            .map(|(n, _)| ours.status(n))
            .collect::<Vec<_>>()
    );
    let _ = downs(&mut events);
    for (n, _) in names {
        let st = ours.status(n).session.unwrap();
        println!(
            "{n} at 10 ms: {:?} detection {:?} tx {:?}",
            st.state, st.detection_time, st.tx_interval
        );
    }
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    let flaps10 = downs(&mut events);
    println!(
        "10 ms x 3: {} Down event(s) in {:?} of steady state: {flaps10:?}",
        flaps10.len(),
        t.elapsed()
    );
    let mut cuts10 = Vec::new();
    for _ in 0..5 {
        // A flap may be in progress: cut_and_restore waits for Up first.
        let c = cut_and_restore(&lab, &ours, &frr, &names);
        cuts10.extend(c.ours);
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut d10: Vec<Duration> = cuts10.iter().map(|c| c.1).collect();
    d10.sort();
    println!(
        "10 ms x 3 link cut -> Down: {cuts10:?}; median {:?}",
        d10[d10.len() / 2]
    );
    for (n, d) in &cuts10 {
        assert!(
            *d <= Duration::from_millis(500),
            "{n}: 10 ms session Down after {d:?}"
        );
    }

    // --- Removal: AdminDown reaches FRR (diag "neighbor signaled down" there, no timeout).
    ours.remove("frr4");
    assert!(
        frr.wait_status(&a4, "down", Duration::from_secs(2)),
        "FRR did not see AdminDown"
    );
    let fp = frr.peer(&a4).unwrap();
    println!("FRR after our AdminDown: {fp}");
    assert_eq!(fp["remote-diagnostic"], "administratively down", "{fp}");
    drop(ours);

    // --- tshark verdict on our packets.
    std::thread::sleep(Duration::from_millis(300));
    lab.signal("tshark", libc::SIGINT);
    lab.wait_exit("tshark", Duration::from_secs(5));
    let from_us = format!("(ip.src=={a4} || ipv6.src=={a6}) && bfd");
    let total = tshark_count(&pcap, &from_us);
    let bad = tshark_count(
        &pcap,
        &format!("{from_us} && (_ws.malformed || _ws.expert.severity == error)"),
    );
    let wrong_hdr = tshark_count(
        &pcap,
        // Per family: a missing field makes `!=` true in recent Wireshark.
        &format!(
            "bfd && ((ip.src=={a4} && ip.ttl != 255) || (ipv6.src=={a6} && ipv6.hlim != 255) || ({from_us} && (udp.srcport < 49152 || udp.dstport != 3784)))"
        ),
    );
    let frr_total = tshark_count(&pcap, &format!("(ip.src=={b4} || ipv6.src=={b6}) && bfd"));
    println!("tshark: {total} BFD packets from us ({bad} malformed/error, {wrong_hdr} bad TTL/port), {frr_total} from FRR");
    assert!(total > 100, "too few of our packets captured: {total}");
    assert_eq!(bad, 0, "tshark flags some of our packets");
    assert_eq!(wrong_hdr, 0, "TTL / hop limit or ports wrong");
}
