//! Interop with the real keepalived 2.2.7 in network namespaces: exactly one node owns the VIP,
//! cutting the master's port moves it, restoring it preempts back and the backup releases it.
//! Both roles (we are master / keepalived is master), VRRPv2+PASS, VRRPv3, unicast, IPv6.

mod common;

use common::lab::{self, Case, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// `ours_master`: our daemon has priority 150 and keepalived 100, or the other way round.
fn scenario(c: Case, ours_master: bool) {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = if c.v6 { lab.vip6(0x100) } else { lab.vip4(100) };
    let (p1, p2) = if ours_master { (150, 100) } else { (100, 150) };
    // h1 runs keepalived-rs, h2 runs keepalived.
    let vips = [vip.clone()];
    let c1 = lab.write("h1.conf", &c.conf(&lab, 1, 2, 51, p1, &vips));
    let c2 = lab.write("h2.conf", &c.conf(&lab, 2, 1, 51, p2, &vips));
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    let master = if ours_master { 1 } else { 2 };
    let backup = 3 - master;
    let logs = |lab: &Lab| lab.logs(&["ours", "ka"]);

    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![master]),
        "expected only h{master} to own {vip}, owners {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    // Stable: still exactly one owner a little later (no flapping).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.owners(&vip), vec![master], "{}", logs(&lab));

    lab.set_port(master, false);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(backup, &vip)),
        "backup h{backup} did not take over\n{}",
        logs(&lab)
    );
    lab.set_port(master, true);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![master]),
        "h{master} did not preempt back / h{backup} kept the VIP: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
}

#[test]
fn v3_multicast_ours_master() {
    scenario(Case::V3_IPV4, true);
}

#[test]
fn v3_multicast_keepalived_master() {
    scenario(Case::V3_IPV4, false);
}

#[test]
fn v2_pass_auth_ours_master() {
    scenario(Case::V2_PASS, true);
}

#[test]
fn v2_pass_auth_keepalived_master() {
    scenario(Case::V2_PASS, false);
}

#[test]
fn v2_unicast_ours_master() {
    scenario(Case::V2_UNICAST, true);
}

#[test]
fn v2_unicast_keepalived_master() {
    scenario(Case::V2_UNICAST, false);
}

#[test]
fn v3_ipv6_ours_master() {
    scenario(Case::V3_IPV6, true);
}

#[test]
fn v3_ipv6_keepalived_master() {
    scenario(Case::V3_IPV6, false);
}
