//! The lab harness itself, proven with two real keepalived 2.2.7 nodes: exactly one owns the
//! VIP, cutting its port moves the VIP, and restoring it preempts back.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

fn have_keepalived() -> bool {
    lab::run(&["sh", "-c", "command -v keepalived"])
        .status
        .success()
}

#[test]
fn two_keepalived_nodes_elect_and_fail_over() {
    if !lab::can_run() || !have_keepalived() {
        eprintln!("SKIP: needs root, iproute2 and keepalived (scripts/install-deps.sh)");
        return;
    }
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let c1 = lab.write(
        "h1.conf",
        &lab::vrrp_conf("", 51, 150, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    let c2 = lab.write(
        "h2.conf",
        &lab::vrrp_conf("", 51, 100, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    lab.start_keepalived(1, "ka1", &c1);
    lab.start_keepalived(2, "ka2", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "h1 never became sole master: {:?}\n{}",
        lab.owners(&vip),
        lab.log("ka1")
    );
    lab.set_port(1, false);
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.has_addr(2, &vip)),
        "h2 did not take over\n{}",
        lab.log("ka2")
    );
    lab.set_port(1, true);
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.owners(&vip) == vec![1]),
        "h1 did not preempt back: {:?}",
        lab.owners(&vip)
    );
}
