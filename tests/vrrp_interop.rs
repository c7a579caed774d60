//! Interop with the real keepalived 2.2.7 in network namespaces: exactly one node owns the VIP,
//! cutting the master's port moves it, restoring it preempts back and the backup releases it.
//! Both roles (we are master / keepalived is master), VRRPv2+PASS, VRRPv3, unicast, IPv6.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

struct Case {
    version: u8,
    advert: &'static str,
    v6: bool,
    unicast: bool,
    auth: bool,
}

fn conf(lab: &Lab, c: &Case, me: usize, peer: usize, prio: u8, vip: &str) -> String {
    let mut extra = String::new();
    if c.auth {
        extra.push_str(
            "    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n",
        );
    }
    if c.unicast {
        let (src, dst) = if c.v6 {
            (lab.v6(me), lab.v6(peer))
        } else {
            (lab.ip4(me), lab.ip4(peer))
        };
        extra.push_str(&format!(
            "    unicast_src_ip {src}\n    unicast_peer {{\n        {dst}\n    }}\n"
        ));
    }
    let vip = if c.v6 {
        format!("{vip}/64")
    } else {
        format!("{vip}/24")
    };
    lab::vrrp_conf("", 51, prio, c.version, c.advert, &[vip], &extra)
}

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
    let c1 = lab.write("h1.conf", &conf(&lab, &c, 1, 2, p1, &vip));
    let c2 = lab.write("h2.conf", &conf(&lab, &c, 2, 1, p2, &vip));
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    let master = if ours_master { 1 } else { 2 };
    let backup = 3 - master;
    let logs = |lab: &Lab| {
        format!(
            "--- ours\n{}\n--- keepalived\n{}",
            lab.log("ours"),
            lab.log("ka")
        )
    };

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
    scenario(
        Case {
            version: 3,
            advert: "0.1",
            v6: false,
            unicast: false,
            auth: false,
        },
        true,
    );
}

#[test]
fn v3_multicast_keepalived_master() {
    scenario(
        Case {
            version: 3,
            advert: "0.1",
            v6: false,
            unicast: false,
            auth: false,
        },
        false,
    );
}

#[test]
fn v2_pass_auth_ours_master() {
    scenario(
        Case {
            version: 2,
            advert: "1",
            v6: false,
            unicast: false,
            auth: true,
        },
        true,
    );
}

#[test]
fn v2_pass_auth_keepalived_master() {
    scenario(
        Case {
            version: 2,
            advert: "1",
            v6: false,
            unicast: false,
            auth: true,
        },
        false,
    );
}

#[test]
fn v2_unicast_ours_master() {
    scenario(
        Case {
            version: 2,
            advert: "1",
            v6: false,
            unicast: true,
            auth: false,
        },
        true,
    );
}

#[test]
fn v2_unicast_keepalived_master() {
    scenario(
        Case {
            version: 2,
            advert: "1",
            v6: false,
            unicast: true,
            auth: false,
        },
        false,
    );
}

#[test]
fn v3_ipv6_ours_master() {
    scenario(
        Case {
            version: 3,
            advert: "0.1",
            v6: true,
            unicast: false,
            auth: false,
        },
        true,
    );
}

#[test]
fn v3_ipv6_keepalived_master() {
    scenario(
        Case {
            version: 3,
            advert: "0.1",
            v6: true,
            unicast: false,
            auth: false,
        },
        false,
    );
}
