//! keepalived's process scheduling keywords (`vrrp_priority`, `vrrp_cpu_affinity`,
//! `vrrp_no_swap`, `checker_priority`, `bfd_rt_priority`), side by side with keepalived 2.2.7:
//! keepalived applies them to its VRRP (checker, BFD) child process, keepalived-rs to the
//! threads doing that work (`ka-vrrp` and `ka-netlink`, `ka-checker`, `ka-bfd`). Read from
//! /proc: nice value, scheduling policy and real-time priority, allowed CPUs, locked memory.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// (comm, nice, policy, rt_priority) of one task, from /proc/PID/task/TID/stat.
fn task(pid: u32, tid: &str) -> Option<(String, i64, u32, u32)> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    let rest: Vec<&str> = stat[stat.rfind(") ")? + 2..].split(' ').collect();
    // Fields are numbered from 1 (pid) and 2 (comm): field N is rest[N - 3].
    Some((
        comm.trim().to_string(),
        rest[19 - 3].parse().ok()?,
        rest[41 - 3].parse().ok()?,
        rest[40 - 3].parse().ok()?,
    ))
}

fn tasks(pid: u32) -> Vec<(String, String, i64, u32, u32)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let tid = e.ok()?.file_name().to_string_lossy().into_owned();
        let (comm, nice, policy, rt) = task(pid, &tid)?;
        Some((tid, comm, nice, policy, rt))
    })
    .collect()
}

fn status_line(path: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
}

fn locked_kb(pid: u32) -> u64 {
    status_line(&format!("/proc/{pid}/status"), "VmLck:")
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn scheduling_keywords_apply_to_the_threads_doing_the_work_as_keepalived_to_its_processes() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let sched = "vrrp_priority -5\n    vrrp_cpu_affinity 0\n    vrrp_no_swap\n    \
                 checker_priority 7\n    bfd_rt_priority 10\n    bfd_rlimit_rttime 2000000";
    let conf =
        |vrid: u8, vip: &str| lab::vrrp_conf(sched, vrid, 150, 3, "1", &[format!("{vip}/24")], "");
    let (vip1, vip2) = (lab.vip4(120), lab.vip4(121));
    let c1 = lab.write("ours.conf", &conf(61, &vip1));
    let c2 = lab.write("ka.conf", &conf(62, &vip2));

    // The keywords are implemented: -t says nothing about them.
    let t = std::process::Command::new(OURS)
        .args(["-t", "-f"])
        .arg(&c1)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&t.stderr);
    assert!(t.status.success(), "{said}");
    assert!(
        !said.contains("priority") && !said.contains("no_swap"),
        "{said}"
    );

    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    let pid = lab.pid("ours").expect("ours started");
    let vrrp_pid_file = lab.dir.join("ka.vrrp.pid");

    // Ours: wait until the threads carry their names and settings.
    let mut seen = Vec::new();
    let ours_ok = lab.wait_for(Duration::from_secs(10), || {
        seen = tasks(pid);
        let get = |name: &str| seen.iter().find(|t| t.1 == name).cloned();
        matches!(get("ka-vrrp"), Some((_, _, -5, 0, 0)))
            && matches!(get("ka-netlink"), Some((_, _, -5, 0, 0)))
            && matches!(get("ka-checker"), Some((_, _, 7, 0, 0)))
            // SCHED_RR = 2, priority 10.
            && matches!(get("ka-bfd"), Some((_, _, _, 2, 10)))
    });
    assert!(ours_ok, "threads: {seen:#?}\n{}", lab.log("ours"));
    let vrrp_tid = seen.iter().find(|t| t.1 == "ka-vrrp").unwrap().0.clone();
    assert_eq!(
        status_line(
            &format!("/proc/{pid}/task/{vrrp_tid}/status"),
            "Cpus_allowed_list:"
        )
        .as_deref(),
        Some("0")
    );
    // Only those threads: the main (control) thread keeps the nice value it was started with
    // (this test's own: the harness may run niced).
    let me = std::process::id();
    let base = task(me, &me.to_string()).unwrap().1;
    let main = seen.iter().find(|t| t.0 == pid.to_string()).unwrap();
    assert_eq!((main.2, main.3), (base, 0), "{main:?}");
    assert!(lab.wait_for(Duration::from_secs(5), || locked_kb(pid) > 0));
    // Set once the SIGXCPU listener is in place (a task of the control thread): awaited.
    let mut rttime = None;
    let limited = lab.wait_for(Duration::from_secs(5), || {
        rttime = status_line(&format!("/proc/{pid}/limits"), "Max realtime timeout");
        rttime
            .as_deref()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>())
            == Some(vec!["1000000", "2000000"])
    });
    assert!(limited, "RLIMIT_RTTIME: {rttime:?}");

    // keepalived 2.2.7: the same values on its VRRP child process (it sets them one after
    // the other at start: nice, memory lock, then CPU affinity; all awaited).
    let mut ka_vrrp = None;
    let ka_ok = lab.wait_for(Duration::from_secs(10), || {
        ka_vrrp = std::fs::read_to_string(&vrrp_pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        ka_vrrp.is_some_and(|p| {
            task(p, &p.to_string()).is_some_and(|t| t.1 == -5)
                && status_line(&format!("/proc/{p}/status"), "Cpus_allowed_list:").as_deref()
                    == Some("0")
                && locked_kb(p) > 0
        })
    });
    assert!(
        ka_ok,
        "keepalived's VRRP process (nice -5, CPU 0, locked memory): {ka_vrrp:?}\n{}",
        lab.log("ka")
    );
}
