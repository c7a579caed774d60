//! `vrrp_track_process` end to end in network namespaces, where the kernel's proc connector is
//! not available: keepalived-rs falls back to scanning /proc (and says so), and the tracked
//! processes move its instance to FAULT (weight 0) or change its priority (weight -60, and
//! weight -10 after its terminate_delay) as
//! keepalived's semantics say, seen by a real keepalived backup taking over and giving back the
//! VIP. Side by side, keepalived 2.2.7 tracking a running process in a namespace stays FAULT
//! (it cannot listen to process events there): the documented difference.

mod common;

use common::lab::{self, Lab};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

#[test]
fn tracked_processes_fault_and_weight_in_a_namespace() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(3);
    let vip = lab.vip4(110);
    let vip3 = lab.vip4(111);
    // Unique command lines (the pid namespace is shared with the host): `sleep` with a
    // duration nobody else uses, matched on its full command line.
    let id = std::process::id() % 100_000;
    let arg_a = format!("100000.{id:05}1");
    let arg_b = format!("100000.{id:05}2");
    let procs = format!(
        "vrrp_track_process tp_fault {{\n    process sleep {arg_a}\n}}\n\
         vrrp_track_process tp_weight {{\n    process sleep {arg_b}\n    weight -60\n}}\n\
         vrrp_track_process tp_delay {{\n    process sleep {arg_b}\n    weight -10\n    terminate_delay 2\n}}\n"
    );
    let ours_conf = |extra_procs: &str, tracked: &str| {
        format!(
            "{procs}{extra_procs}{}",
            lab::vrrp_conf(
                "",
                57,
                150,
                3,
                "0.1",
                &[format!("{vip}/24")],
                &format!("    track_process {{\n{tracked}    }}\n"),
            )
        )
    };
    let c1 = lab.write(
        "h1.conf",
        &ours_conf(
            "",
            "        tp_fault\n        tp_weight\n        tp_delay\n",
        ),
    );
    let c2 = lab.write(
        "h2.conf",
        &lab::vrrp_conf("", 57, 100, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    let c3 = lab.write(
        "h3.conf",
        &format!(
            "{procs}{}",
            lab::vrrp_conf(
                "",
                58,
                150,
                3,
                "0.1",
                &[format!("{vip3}/24")],
                "    track_process {\n        tp_fault\n    }\n",
            )
        ),
    );
    // B runs, A does not: ours is in FAULT, keepalived's backup is master.
    lab.spawn(1, "proc_b", &["sleep", &arg_b]);
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    lab.start_keepalived(3, "ka3", &c3);
    let logs = |lab: &Lab| lab.logs(&["ours", "ka", "ka3"]);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![2]),
        "{}",
        logs(&lab)
    );
    assert!(
        lab.log("ours").contains("scanning /proc every 1s instead"),
        "no fallback log line\n{}",
        lab.log("ours")
    );
    assert!(
        lab.log("ours").contains("-> FAULT"),
        "not FAULT without tp_fault's process\n{}",
        lab.log("ours")
    );
    // A starts: ours leaves FAULT with 150 > 100 and takes the VIP.
    lab.spawn(1, "proc_a", &["sleep", &arg_a]);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "{}",
        logs(&lab)
    );
    // B stops: 150 - 60 = 90 < 100, keepalived takes over; the scan sees it within ~1 s.
    let t0 = Instant::now();
    lab.signal("proc_b", libc::SIGKILL);
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab
            .log("ours")
            .contains("track_process tp_weight lost quorum")),
        "{}",
        lab.log("ours")
    );
    let seen = t0.elapsed();
    assert!(seen < Duration::from_millis(2500), "seen after {seen:?}");
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "{}",
        logs(&lab)
    );
    assert!(
        lab.log("ours").contains("effective priority 150 -> 90"),
        "{}",
        lab.log("ours")
    );
    // tp_delay (weight -10, terminate_delay 2) follows 2 s later: 90 -> 80.
    assert!(
        lab.wait_for(Duration::from_secs(6), || lab
            .log("ours")
            .contains("effective priority 90 -> 80")),
        "{}",
        lab.log("ours")
    );
    let later = t0.elapsed();
    // The same scan saw both losses; tp_delay's waited its 2 s (less the log polling slack).
    assert!(
        later.saturating_sub(seen) >= Duration::from_millis(1800),
        "terminate_delay not applied: 80 after {later:?}, the loss seen after {seen:?}"
    );
    // B back (a gain: no terminate_delay; both trackers up again): 150, ours preempts.
    lab.spawn(1, "proc_b2", &["sleep", &arg_b]);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "{}",
        logs(&lab)
    );
    // A stops: FAULT, the VIP goes to keepalived.
    lab.signal("proc_a", libc::SIGKILL);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "{}",
        logs(&lab)
    );
    // keepalived 2.2.7 in a namespace: A ran for seconds, and it never left FAULT.
    assert!(lab.owners(&vip3).is_empty(), "{}", lab.log("ka3"));
    assert!(
        lab.log("ka3").contains("process event listen"),
        "keepalived's errno 111 line missing\n{}",
        lab.log("ka3")
    );
    // Reload without tp_fault: out of FAULT, MASTER again.
    lab.rewrite(&c1, &ours_conf("", "        tp_weight\n"));
    assert!(
        lab.reload("ours", Duration::from_secs(10)),
        "{}",
        lab.log("ours")
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "{}",
        logs(&lab)
    );
    // Reload adding a tracker whose process is not running (weight 0): FAULT at once.
    let arg_c = format!("100000.{id:05}3");
    lab.rewrite(
        &c1,
        &ours_conf(
            &format!("vrrp_track_process tp_new {{\n    process sleep {arg_c}\n}}\n"),
            "        tp_weight\n        tp_new\n",
        ),
    );
    assert!(
        lab.reload("ours", Duration::from_secs(10)),
        "{}",
        lab.log("ours")
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "{}",
        logs(&lab)
    );
    lab.signal("proc_b2", libc::SIGKILL);
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{}", logs(&lab));
    }
}
