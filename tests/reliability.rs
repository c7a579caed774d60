//! Reliability findings of issue #19, judged from outside in network namespaces:
//! - a daemon killed with SIGKILL while MASTER leaves its VIPs; restarted as BACKUP it removes
//!   them at start (keepalived's `vrrp_restore_interfaces_startup`), and on SIGTERM it removes
//!   what of its configuration's virtual set is in the kernel although it does not hold it;
//! - a non-atomic rewrite seen by the config watcher (truncate, write 1 s later, no signal) is
//!   applied only once complete: no address moves, the final content is applied.

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
}
