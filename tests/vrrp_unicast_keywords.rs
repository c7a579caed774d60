//! Issue #14 item 5, side by side with keepalived 2.2.7 in network namespaces:
//! `check_unicast_src` (adverts from a source that is not a `unicast_peer` are ignored),
//! `unicast_fault_no_peer` (unicast without any peer is FAULT, without the keyword it runs
//! multicast), `vrrp_startup_delay` (no instance leaves BACKUP before the delay) and
//! `default_interface` (where a `static_ipaddress` without `dev` goes).

mod common;

use common::lab::{self, Lab};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const VRID: u8 = 51;

/// Which daemon runs a host.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Daemon {
    Ours,
    Keepalived,
}

impl Daemon {
    fn start(self, lab: &mut Lab, i: usize, name: &str, text: &str) {
        let conf = lab.write(&format!("{name}.conf"), text);
        match self {
            Daemon::Ours => lab.start_rs(i, name, OURS, &conf),
            Daemon::Keepalived => lab.start_keepalived(i, name, &conf),
        }
    }

    fn other(self) -> Daemon {
        match self {
            Daemon::Ours => Daemon::Keepalived,
            Daemon::Keepalived => Daemon::Ours,
        }
    }
}

/// A VRRPv2 instance on eth0 with `vip`, priority `prio` and `extra` lines.
fn conf(global: &str, prio: u8, vip: &str, extra: &str) -> String {
    lab::vrrp_conf(global, VRID, prio, 2, "1", &[format!("{vip}/24")], extra)
}

/// h1 (`subject`) unicasts to h2 (nobody there) and becomes MASTER; h3 (the other daemon,
/// priority 200) unicasts to h1 only. With `check` (`check_unicast_src`) h1 ignores h3's
/// adverts and stays MASTER (and logs keepalived's line); without it h1 yields to h3.
fn unlisted_source(subject: Daemon, check: bool) {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(3);
    let vip = lab.vip4(100);
    let (h1, h2, h3) = (lab.ip4(1), lab.ip4(2), lab.ip4(3));
    let check_line = if check { "    check_unicast_src\n" } else { "" };
    let c1 = conf(
        "",
        100,
        &vip,
        &format!(
            "    unicast_src_ip {h1}\n    unicast_peer {{\n        {h2}\n    }}\n{check_line}"
        ),
    );
    subject.start(&mut lab, 1, "subject", &c1);
    let logs = |lab: &Lab| lab.logs(&["subject", "intruder"]);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.has_addr(1, &vip)),
        "h1 ({subject:?}) did not become MASTER alone\n{}",
        logs(&lab)
    );
    let c3 = conf(
        "",
        200,
        &vip,
        &format!("    unicast_src_ip {h3}\n    unicast_peer {{\n        {h1}\n    }}\n"),
    );
    subject.other().start(&mut lab, 3, "intruder", &c3);
    // The intruder hears nobody (h1 unicasts to h2): it becomes MASTER and advertises to h1.
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.has_addr(3, &vip)),
        "h3 did not become MASTER\n{}",
        logs(&lab)
    );
    if check {
        assert!(
            lab.holds_for(Duration::from_secs(4), || lab.has_addr(1, &vip)),
            "h1 ({subject:?}) with check_unicast_src yielded to an unlisted source\n{}",
            logs(&lab)
        );
        let line = format!("unicast source address {h3} not a unicast peer");
        assert!(
            lab.log("subject").contains(&line),
            "h1 ({subject:?}) did not log '{line}'\n{}",
            logs(&lab)
        );
    } else {
        assert!(
            lab.wait_for(Duration::from_secs(5), || !lab.has_addr(1, &vip)),
            "h1 ({subject:?}) without check_unicast_src kept MASTER against a higher priority\n{}",
            logs(&lab)
        );
    }
}

#[test]
fn check_unicast_src_ignores_an_unlisted_source_ours() {
    unlisted_source(Daemon::Ours, true);
}

#[test]
fn check_unicast_src_ignores_an_unlisted_source_keepalived() {
    unlisted_source(Daemon::Keepalived, true);
}

/// The control: without the keyword the same adverts take MASTER away (so the test above can
/// fail), for both daemons.
#[test]
fn without_check_unicast_src_an_unlisted_source_is_heard_ours() {
    unlisted_source(Daemon::Ours, false);
}

#[test]
fn without_check_unicast_src_an_unlisted_source_is_heard_keepalived() {
    unlisted_source(Daemon::Keepalived, false);
}

/// `unicast_src_ip` without any `unicast_peer`: with `unicast_fault_no_peer` both daemons put
/// the instance in FAULT (never the VIP, keepalived's log line); without it both run it with
/// multicast and it becomes MASTER.
fn no_peer(fault_keyword: bool) {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let kw = if fault_keyword {
        "    unicast_fault_no_peer\n"
    } else {
        ""
    };
    for (i, d) in [(1, Daemon::Ours), (2, Daemon::Keepalived)] {
        // Each its own VRID and VIP: two instances of one VRID would hear each other.
        let text = lab::vrrp_conf(
            "",
            50 + i as u8,
            100,
            2,
            "1",
            &[format!("{}/24", lab.vip4(100 + i as u8))],
            &format!("    unicast_src_ip {}\n{kw}", lab.ip4(i)),
        );
        d.start(&mut lab, i, &format!("h{i}"), &text);
    }
    let logs = |lab: &Lab| lab.logs(&["h1", "h2"]);
    let line = "Cannot use unicast without any peers - going to fault state";
    if fault_keyword {
        for i in 1..=2 {
            assert!(
                lab.wait_for(Duration::from_secs(10), || lab
                    .log(&format!("h{i}"))
                    .contains(line)),
                "h{i} did not log '{line}'\n{}",
                logs(&lab)
            );
        }
        // Both in FAULT: neither takes its VIP in 3 down intervals.
        let (v1, v2) = (lab.vip4(101), lab.vip4(102));
        assert!(
            lab.holds_for(Duration::from_secs(6), || !lab.has_addr(1, &v1)
                && !lab.has_addr(2, &v2)),
            "an instance with unicast_fault_no_peer and no peer took its VIP\n{}",
            logs(&lab)
        );
        assert!(
            lab.log("h1").contains("-> FAULT"),
            "ours did not log entering FAULT\n{}",
            logs(&lab)
        );
        // keepalived logs no transition for a config fault at start (it begins in FAULT);
        // its line above and the VIP never taken are what it shows.
    } else {
        let (v1, v2) = (lab.vip4(101), lab.vip4(102));
        assert!(
            lab.wait_for(Duration::from_secs(15), || lab.has_addr(1, &v1)
                && lab.has_addr(2, &v2)),
            "without unicast_fault_no_peer both should run multicast and become MASTER\n{}",
            logs(&lab)
        );
        // Multicast indeed: both advertise to 224.0.0.18.
        for i in 1..=2 {
            assert!(
                !lab.log(&format!("h{i}")).contains(line),
                "h{i} went FAULT without the keyword\n{}",
                logs(&lab)
            );
        }
    }
}

#[test]
fn unicast_fault_no_peer_is_fault_in_both() {
    no_peer(true);
}

#[test]
fn without_unicast_fault_no_peer_both_run_multicast() {
    no_peer(false);
}

/// `vrrp_startup_delay 3` on an address owner (MASTER at once without it): both daemons log
/// keepalived's line and take the VIP no earlier than 3 s after they start (and not much
/// later); without the delay our owner takes it well within that time.
#[test]
fn vrrp_startup_delay_holds_the_owner_for_the_delay_in_both() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(3);
    let delay = Duration::from_secs(3);
    let mut took = Vec::new();
    for (i, d, global) in [
        (1, Daemon::Ours, "vrrp_startup_delay 3"),
        (2, Daemon::Keepalived, "vrrp_startup_delay 3"),
        (3, Daemon::Ours, ""),
    ] {
        let vip = lab.vip4(100 + i as u8);
        let vips = [format!("{vip}/24")];
        // state MASTER: keepalived treats only a MASTER owner as the address owner at start.
        let text = lab::vrrp_conf(global, 50 + i as u8, 255, 2, "1", &vips, "")
            .replace("state BACKUP", "state MASTER");
        let name = format!("h{i}");
        let t0 = Instant::now();
        d.start(&mut lab, i, &name, &text);
        assert!(
            lab.wait_for(Duration::from_secs(15), || lab.has_addr(i, &vip)),
            "h{i} ({d:?}) never took its VIP\n{}",
            lab.log(&name)
        );
        took.push((i, d, global, t0.elapsed()));
    }
    let all = format!("{took:?}\n{}", lab.logs(&["h1", "h2", "h3"]));
    for (i, d, global, t) in &took {
        if global.is_empty() {
            assert!(
                *t < delay,
                "h{i} ({d:?}) without the delay took {t:?}\n{all}"
            );
            continue;
        }
        assert!(
            *t >= delay && *t < delay + Duration::from_secs(3),
            "h{i} ({d:?}) with vrrp_startup_delay 3 took its VIP after {t:?}\n{all}"
        );
        assert!(
            lab.log(&format!("h{i}"))
                .contains("Delaying startup for 3 seconds"),
            "h{i} ({d:?}) did not log the delay\n{all}"
        );
    }
}

/// True when host i has `addr` on interface `dev`.
fn addr_on(lab: &Lab, i: usize, dev: &str, addr: &str) -> bool {
    let o = lab.exec(i, &["ip", "-o", "addr", "show", "dev", dev]);
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .any(|w| w.split('/').next() == Some(addr))
}

/// `default_interface dum0` and a `static_ipaddress` without `dev`: both daemons put the
/// address on dum0 (not on eth0, keepalived's built-in default). With a default interface that
/// does not exist (and `dynamic_interfaces`, which keepalived-rs always follows; without it
/// keepalived 2.2.7 stops with "Non-existent interface specified in configuration"), both run
/// on without the address and log keepalived's line; when the interface appears both add it.
fn default_interface(exists: bool) {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let dev = if exists { "dum0" } else { "nosuch0" };
    for (i, d) in [(1, Daemon::Ours), (2, Daemon::Keepalived)] {
        // A second interface (a veth pair: this kernel has no dummy driver).
        lab.must_exec(
            i,
            &[
                "ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1",
            ],
        );
        lab.must_exec(i, &["ip", "link", "set", "dum1", "up"]);
        lab.must_exec(i, &["ip", "link", "set", "dum0", "up"]);
        let vip = lab.vip4(100 + i as u8);
        let text = format!(
            "{}static_ipaddress {{\n    192.0.2.{}/32\n}}\n",
            lab::vrrp_conf(
                &format!("default_interface {dev}\n    dynamic_interfaces"),
                50 + i as u8,
                100,
                2,
                "1",
                &[format!("{vip}/24")],
                ""
            ),
            8 + i
        );
        d.start(&mut lab, i, &format!("h{i}"), &text);
    }
    let all = |lab: &Lab| lab.logs(&["h1", "h2"]);
    // The instances' VIPs: both daemons are running their VRRP side.
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.has_addr(1, &lab.vip4(101))
            && lab.has_addr(2, &lab.vip4(102))),
        "the instances did not become MASTER\n{}",
        all(&lab)
    );
    for i in 1..=2 {
        let addr = format!("192.0.2.{}", 8 + i);
        if exists {
            assert!(
                lab.wait_for(Duration::from_secs(5), || addr_on(&lab, i, "dum0", &addr)),
                "h{i}: static {addr} is not on the default interface dum0\n{}",
                all(&lab)
            );
            assert!(!addr_on(&lab, i, "eth0", &addr), "h{i}: {addr} on eth0");
        } else {
            assert!(
                !lab.has_addr(i, &addr),
                "h{i}: static {addr} installed although default_interface {dev} does not exist\n{}",
                all(&lab)
            );
            let line = format!(
                "Configuration specifies interface {dev} which doesn't currently exist - will use if created"
            );
            assert!(
                lab.log(&format!("h{i}")).contains(&line),
                "h{i} did not log '{line}'\n{}",
                all(&lab)
            );
        }
    }
    if !exists {
        for i in 1..=2 {
            lab.must_exec(
                i,
                &[
                    "ip", "link", "add", dev, "type", "veth", "peer", "name", "nosuch1",
                ],
            );
            lab.must_exec(i, &["ip", "link", "set", "nosuch1", "up"]);
            lab.must_exec(i, &["ip", "link", "set", dev, "up"]);
        }
        for (i, addr) in [(1, "192.0.2.9"), (2, "192.0.2.10")] {
            assert!(
                lab.wait_for(Duration::from_secs(5), || addr_on(&lab, i, dev, addr)),
                "h{i} did not add the static address when {dev} appeared\n{}",
                all(&lab)
            );
        }
    }
}

#[test]
fn default_interface_takes_static_addresses_without_dev_in_both() {
    default_interface(true);
}

#[test]
fn a_missing_default_interface_is_waited_for_in_both() {
    default_interface(false);
}
