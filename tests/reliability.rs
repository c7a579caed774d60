//! Reliability findings of issue #19, judged from outside in network namespaces:
//! - a daemon killed with SIGKILL while MASTER leaves its VIPs; restarted as BACKUP it removes
//!   them at start (keepalived's `vrrp_restore_interfaces_startup`), and on SIGTERM it removes
//!   what of its configuration's virtual set is in the kernel although it does not hold it.

mod common;

use common::lab::{self, Lab};
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

