//! Issue #19, finding 3: a hostile configuration saved while the daemon runs is loaded off the
//! threads that answer signals and the control socket. While the watcher's load of a big (but
//! bounded) generated file is in progress, `--status` answers and SIGTERM stops the daemon
//! within about a second; a file that includes itself twice is refused with one located error
//! and the running configuration goes on.

mod common;

use common::lab::{self, Lab};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const WATCH_TRIGGER: &str = "configuration changed on disk: reloading";

fn conf(vip: &str) -> String {
    format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 71\n    priority 150\n    version 3\n    advert_int 0.2\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

fn start(lab: &mut Lab, vip: &str) -> std::path::PathBuf {
    let path = lab.write("keepalived.conf", &conf(vip));
    lab.start_rs(1, "ours", OURS, &path);
    let ok = lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, vip));
    assert!(ok, "not MASTER\n{}", lab.log("ours"));
    path
}

/// `--status` over the control socket; the time it took and whether it printed JSON.
fn status(conf: &std::path::Path) -> (Duration, bool) {
    let pid = conf.with_file_name("ours.pid").display().to_string();
    let t = Instant::now();
    let out = lab::run(&["timeout", "10", OURS, "--status", "-p", &pid]);
    let ok =
        out.status.success() && serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok();
    (t.elapsed(), ok)
}

/// Replaces the file atomically (the watcher applies only settled files).
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn status_and_sigterm_answer_while_a_slow_load_runs() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let path = start(&mut lab, &vip);
    // 200,000 generated instances (each refused: no interface): seconds of loading, bounded.
    replace(
        &path,
        &format!("{}~SEQ(i,1,200000) vrrp_instance G$i {{ }}\n", conf(&vip)),
    );
    let triggered = lab.wait_for(Duration::from_secs(10), || {
        lab.log("ours").contains(WATCH_TRIGGER)
    });
    assert!(
        triggered,
        "the watcher did not see the change\n{}",
        lab.log("ours")
    );
    let loaded = |lab: &Lab| lab.log("ours").contains("new configuration has");
    let (took, ok) = status(&path);
    assert!(ok, "--status failed during the load\n{}", lab.log("ours"));
    assert!(
        took < Duration::from_secs(1),
        "--status took {took:?} during the load"
    );
    assert!(
        !loaded(&lab),
        "the load ended before --status was asked: this test proves nothing; make it slower\n{}",
        lab.log("ours")
    );
    let t = Instant::now();
    lab.signal("ours", libc::SIGTERM);
    let exited = lab.wait_exit("ours", Duration::from_secs(5));
    let took = t.elapsed();
    assert!(
        exited.is_some(),
        "SIGTERM unanswered during the load\n{}",
        lab.log("ours")
    );
    assert!(
        !loaded(&lab),
        "the load ended before SIGTERM was answered: this test proves nothing\n{}",
        lab.log("ours")
    );
    assert!(
        took < Duration::from_millis(1500),
        "SIGTERM took {took:?} during the load"
    );
    assert!(!lab.has_addr(1, &vip), "the VIP stayed after SIGTERM");
    eprintln!("--status and SIGTERM during the load: stopped in {took:?}");
}

#[test]
fn a_self_including_file_saved_while_running_is_refused_and_the_daemon_goes_on() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let path = start(&mut lab, &vip);
    let inc = format!("include {}\n", path.display());
    replace(&path, &format!("{}{inc}{inc}", conf(&vip)));
    let refused = lab.wait_for(Duration::from_secs(10), || {
        lab.log("ours").contains("new configuration has")
    });
    let log = lab.log("ours");
    assert!(
        refused,
        "the self-including file was not refused in time\n{log}"
    );
    assert!(
        log.contains(&format!("{}:", path.display())) && log.contains("include nested more than"),
        "no located error\n{log}"
    );
    let (took, ok) = status(&path);
    assert!(
        ok && took < Duration::from_secs(1),
        "--status after the refusal: {took:?}"
    );
    assert!(
        lab.has_addr(1, &vip),
        "the running configuration did not go on"
    );
    let t = Instant::now();
    lab.signal("ours", libc::SIGTERM);
    assert!(lab.wait_exit("ours", Duration::from_secs(5)).is_some());
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}
