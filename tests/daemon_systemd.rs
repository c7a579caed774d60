//! systemd integration of the real daemon: started the way `config/keepalived-rs.service`
//! says (its ExecStart, its ExecReload), with a fake `$NOTIFY_SOCKET` the test binds, the
//! daemon sends READY=1 once started, RELOADING=1 + MONOTONIC_USEC then READY=1 around a
//! reload (applied or rejected), WATCHDOG=1 every WATCHDOG_USEC/2 when WATCHDOG_PID is its own
//! pid (and none when it names another process), STOPPING=1 on SIGTERM; an `@abstract`
//! socket works too. The unit file itself passes `systemd-analyze verify`.

mod common;

use common::lab::{self, Lab};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const UNIT: &str = include_str!("../config/keepalived-rs.service");
const WAIT: Duration = Duration::from_secs(15);

fn unit_value(key: &str) -> String {
    UNIT.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("unit has no {key}="))
        .to_string()
}

/// Every datagram, with the time it arrived.
fn collect(sock: UnixDatagram) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if tx.send((Instant::now(), msg)).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next message satisfying `pred` (others are kept in `seen`), within `WAIT`.
fn next_matching(
    rx: &mpsc::Receiver<(Instant, String)>,
    seen: &mut Vec<(Instant, String)>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> (Instant, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((t, m)) => {
                seen.push((t, m.clone()));
                if pred(&m) {
                    return (t, m);
                }
            }
            Err(_) => panic!("no {what} message; got {seen:?}"),
        }
    }
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// ExecStart/ExecReload of the unit with our binary, arguments and pid.
fn exec_start(args: &str) -> Vec<String> {
    unit_value("ExecStart")
        .replace("/usr/sbin/keepalived-rs", OURS)
        .replace("$DAEMON_ARGS", args)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn exec_reload(pid: u32) {
    let line = unit_value("ExecReload").replace("$MAINPID", &pid.to_string());
    let words: Vec<&str> = line.split_whitespace().collect();
    lab::must(&words);
}

fn pid_of(pid_file: &Path) -> u32 {
    std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn unit_file_is_valid() {
    assert_eq!(unit_value("Type"), "notify");
    assert!(unit_value("WatchdogSec").ends_with('s'));
    assert_eq!(unit_value("ExecReload"), "/bin/kill -HUP $MAINPID");
    if !lab::run(&["sh", "-c", "command -v systemd-analyze"])
        .status
        .success()
    {
        eprintln!("SKIP verify: no systemd-analyze");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let unit = d.path().join("keepalived-rs.service");
    std::fs::write(&unit, UNIT.replace("/usr/sbin/keepalived-rs", OURS)).unwrap();
    // --man=no: the unit's Documentation= pages are ours, installed by the Debian package
    // (tests/package_deb.rs finds them with man in the installed tree), not on this host.
    let o = lab::run(&[
        "systemd-analyze",
        "verify",
        "--man=no",
        &unit.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.trim().is_empty(), "{err}");
}

#[test]
fn notify_reload_watchdog_stop() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let lab = Lab::new(1);
    let vip = lab.vip4(100);
    let d = lab.dir.clone();
    let conf = lab.write(
        "a.conf",
        &lab::vrrp_conf("", 61, 150, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    let sock_path = d.join("notify");
    let rx = collect(UnixDatagram::bind(&sock_path).unwrap());
    let pid_file = d.join("a.pid");
    // 200 ms watchdog -> a ping every 100 ms. WATCHDOG_PID is the daemon's own pid: the shell
    // execs `ip netns exec`, which execs the daemon.
    let args = format!(
        "--no-config-watch -l -G -f {} -p {}",
        conf.display(),
        pid_file.display()
    );
    let cmd = format!(
        "export NOTIFY_SOCKET={} WATCHDOG_USEC=200000 WATCHDOG_PID=$$; exec ip netns exec {} {}",
        sock_path.display(),
        lab.ns(1),
        exec_start(&args).join(" ")
    );
    // Lab::spawn runs inside the namespace already; run the shell from the host instead.
    let log = std::fs::File::create(d.join("a.log")).unwrap();
    let mut child = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let (t_ready, ready) = next_matching(&rx, &mut seen, "READY", |m| m.starts_with("READY=1"));
    assert!(
        seen.iter().all(|(_, m)| !m.contains("WATCHDOG")),
        "a ping before READY: {seen:?}"
    );
    assert!(ready.contains("STATUS="), "{ready}");
    // Pings at WATCHDOG_USEC/2.
    let mut pings = Vec::new();
    while pings.len() < 6 {
        let (t, _) = next_matching(&rx, &mut seen, "WATCHDOG", |m| m == "WATCHDOG=1");
        pings.push(t);
    }
    let mut gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    // Every 100 ms (a loaded machine may delay one tick, never add pings).
    let median = gaps[gaps.len() / 2];
    assert!(
        median > Duration::from_millis(70) && median < Duration::from_millis(150),
        "ping gaps {gaps:?}"
    );
    assert!(gaps[0] > Duration::from_millis(40), "ping gaps {gaps:?}");
    assert!(pings[0] > t_ready);
    let pid = pid_of(&pid_file);
    assert_eq!(pid, child.id(), "the daemon is the process systemd started");

    // A reload through the unit's ExecReload: RELOADING=1 with a monotonic time, then READY=1.
    let before = monotonic_usec();
    exec_reload(pid);
    let (_, r) = next_matching(&rx, &mut seen, "RELOADING", |m| {
        m.starts_with("RELOADING=1")
    });
    let after = monotonic_usec();
    let usec: u64 = r
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {r:?}"));
    assert!(
        before <= usec && usec <= after,
        "{before} <= {usec} <= {after}"
    );
    let (_, r) = next_matching(&rx, &mut seen, "READY after reload", |m| {
        m.starts_with("READY=1")
    });
    assert!(r.contains("reloaded"), "{r}");
    // A rejected reload ends with READY=1 too (the old configuration runs on).
    std::fs::write(&conf, "vrrp_instance broken {\n").unwrap();
    exec_reload(pid);
    next_matching(&rx, &mut seen, "RELOADING", |m| {
        m.starts_with("RELOADING=1")
    });
    let (_, r) = next_matching(&rx, &mut seen, "READY after rejection", |m| {
        m.starts_with("READY=1")
    });
    assert!(r.contains("rejected"), "{r}");
    next_matching(&rx, &mut seen, "WATCHDOG after reloads", |m| {
        m == "WATCHDOG=1"
    });

    // Stop.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    next_matching(&rx, &mut seen, "STOPPING", |m| m.starts_with("STOPPING=1"));
    let deadline = Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "daemon did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn abstract_socket_and_foreign_watchdog_pid() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let conf = lab.write(
        "b.conf",
        &lab::vrrp_conf("", 62, 150, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    // Abstract sockets belong to a network namespace: bind it in the daemon's.
    let name = format!("keepalived-rs-test-{}", lab.tag);
    let ns = std::fs::File::open(format!("/run/netns/{}", lab.ns(1))).unwrap();
    let sock = std::thread::scope(|s| {
        s.spawn(|| {
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0);
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap()
        })
        .join()
        .unwrap()
    });
    let rx = collect(sock);
    let notify = format!("NOTIFY_SOCKET=@{name}");
    // WATCHDOG_PID names another process: the watchdog is not ours to ping.
    lab.start_rs_with(
        1,
        "b",
        &[&notify, "WATCHDOG_USEC=100000", "WATCHDOG_PID=1"],
        OURS,
        &["-n", "-l", "-G"],
        &conf,
    );
    let mut seen = Vec::new();
    next_matching(&rx, &mut seen, "READY", |m| m.starts_with("READY=1"));
    // 20 ping intervals of silence.
    let quiet = rx.recv_timeout(Duration::from_secs(1));
    assert!(
        !matches!(&quiet, Ok((_, m)) if m.contains("WATCHDOG")),
        "pinged for someone else's watchdog: {quiet:?}"
    );
    lab.signal("b", libc::SIGTERM);
    next_matching(&rx, &mut seen, "STOPPING", |m| m.starts_with("STOPPING=1"));
    assert!(
        seen.iter().all(|(_, m)| !m.contains("WATCHDOG")),
        "{seen:?}"
    );
}
