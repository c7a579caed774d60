//! startup_script / shutdown_script, the notify FIFO reader scripts and notify_priority_changes,
//! end to end in namespaces; the FIFO lines side by side with keepalived 2.2.7.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

fn script(lab: &Lab, name: &str, body: &str) -> String {
    let p = lab.write(name, &format!("#!/bin/sh\n{body}"));
    let p = p.display().to_string();
    lab::must(&["chmod", "755", &p]);
    p
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn stamp(path: &str) -> f64 {
    read(path).trim().parse().unwrap_or(f64::NAN)
}

fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    matches!(state, Some(s) if s != 'Z' && s != 'X')
}

/// The startup script runs before anything else and the daemon waits for it: its end
/// stamp is earlier than the first advert on the wire.
#[test]
fn startup_script_is_waited_for_before_the_first_advert() {
    if lab::skip_without(false, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let d = lab.dir.display().to_string();
    let s = script(
        &lab,
        "startup.sh",
        &format!(
            "date +%s.%N > {d}/start.t\necho \"$@\" > {d}/start.args\nsleep 1.5\ndate +%s.%N > {d}/end.t\n"
        ),
    );
    lab.capture_vrrp(1, "cap");
    let vip = lab.vip4(100);
    let conf = lab.write(
        "h1.conf",
        &lab::vrrp_conf(
            &format!("startup_script \"{s} one\"\n    startup_script_timeout 5"),
            51,
            100,
            2,
            "1",
            &[format!("{vip}/24")],
            "",
        ),
    );
    lab.start_rs(1, "ours", OURS, &conf);
    assert!(
        lab.wait_for(Duration::from_secs(15), || !lab.adverts("cap").is_empty()),
        "no advert\n{}",
        lab.logs(&["ours"])
    );
    let first = lab.adverts("cap")[0].t;
    let (start, end) = (stamp(&format!("{d}/start.t")), stamp(&format!("{d}/end.t")));
    assert_eq!(read(&format!("{d}/start.args")).trim(), "one");
    assert!(
        end - start >= 1.4,
        "script did not run its course: {start} {end}"
    );
    assert!(
        first > end,
        "first advert at {first} before the startup script ended at {end}\n{}",
        lab.logs(&["ours"])
    );
}

/// A startup script running past startup_script_timeout is killed (its whole process group),
/// logged as keepalived logs it, and the daemon then starts.
#[test]
fn startup_script_past_its_timeout_is_killed_and_logged() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let d = lab.dir.display().to_string();
    // The child sleep is in the script's process group: it must die too.
    let s = script(
        &lab,
        "startup.sh",
        &format!("sleep 60 &\necho $! > {d}/child.pid\necho $$ > {d}/start.pid\nwait\n"),
    );
    let vip = lab.vip4(100);
    let conf = lab.write(
        "h1.conf",
        &lab::vrrp_conf(
            &format!("startup_script {s}\n    startup_script_timeout 1"),
            51,
            100,
            2,
            "1",
            &[format!("{vip}/24")],
            "",
        ),
    );
    let t0 = std::time::Instant::now();
    lab.start_rs(1, "ours", OURS, &conf);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip)),
        "never MASTER\n{}",
        lab.logs(&["ours"])
    );
    let took = t0.elapsed();
    let log = lab.log("ours");
    assert!(log.contains("startup script timed out"), "{log}");
    // Not before the timeout (1 s) plus the down timer; far before the script's 60 s.
    assert!(
        took > Duration::from_secs(3) && took < Duration::from_secs(20),
        "{took:?}"
    );
    for f in ["start.pid", "child.pid"] {
        let pid = read(&format!("{d}/{f}"));
        assert!(!pid.trim().is_empty(), "{f} not written");
        assert!(!alive(&pid), "{f} {pid} still running");
    }
}

/// At SIGTERM the shutdown script runs after the VIPs are gone, and the daemon waits for it.
#[test]
fn shutdown_script_runs_after_the_vips_are_released() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let d = lab.dir.display().to_string();
    let s = script(
        &lab,
        "shutdown.sh",
        &format!("ip -o addr show dev eth0 > {d}/addrs.tmp\nsleep 1\nmv {d}/addrs.tmp {d}/addrs\n"),
    );
    let vip = lab.vip4(100);
    let conf = lab.write(
        "h1.conf",
        &lab::vrrp_conf(
            &format!("shutdown_script {s}"),
            51,
            100,
            2,
            "1",
            &[format!("{vip}/24")],
            "",
        ),
    );
    lab.start_rs(1, "ours", OURS, &conf);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.has_addr(1, &vip)),
        "never MASTER\n{}",
        lab.logs(&["ours"])
    );
    assert!(
        !std::path::Path::new(&format!("{d}/addrs")).exists(),
        "ran early"
    );
    lab.signal("ours", libc::SIGTERM);
    assert!(
        lab.wait_exit("ours", Duration::from_secs(20)).is_some(),
        "did not exit\n{}",
        lab.logs(&["ours"])
    );
    // Waited for: the script's last step is done when the daemon has exited.
    let addrs = read(&format!("{d}/addrs"));
    assert!(
        !addrs.is_empty(),
        "shutdown script not run (or not waited for)\n{}",
        lab.logs(&["ours"])
    );
    assert!(
        addrs.contains(&lab.ip4(1)) && !addrs.contains(&format!("{vip}/")),
        "VIP still there when the shutdown script ran:\n{addrs}"
    );
}

/// One daemon (ours or keepalived) in its own one-host lab with the FIFO reader script and
/// notify_priority_changes; returns the lab and its file paths.
struct Twin {
    lab: Lab,
    name: &'static str,
    flag: String,
    fifo: String,
    fifo_log: String,
    args: String,
    reader_pid: String,
    vip: String,
}

impl Twin {
    fn start(ka: bool, weight: i32) -> Twin {
        let mut lab = Lab::new(1);
        let d = lab.dir.display().to_string();
        let (flag, fifo) = (format!("{d}/healthy"), format!("{d}/notify.fifo"));
        let (fifo_log, args) = (format!("{d}/fifo.log"), format!("{d}/reader.args"));
        let reader_pid = format!("{d}/reader.pid");
        std::fs::write(&flag, "").unwrap();
        let reader = script(
            &lab,
            "reader.sh",
            &format!(
                "echo $$ > {reader_pid}\necho \"$@\" > {args}\nwhile read -r line; do echo \"$line\" >> {fifo_log}; done < \"$2\"\n"
            ),
        );
        let vip = lab.vip4(100);
        let mut conf = format!(
            "vrrp_script chk {{\n    script \"/usr/bin/test -f {flag}\"\n    interval 1\n    weight {weight}\n    fall 1\n    rise 1\n}}\n"
        );
        conf.push_str(&lab::vrrp_conf(
            &format!(
                "vrrp_notify_fifo {fifo}\n    vrrp_notify_fifo_script \"{reader} tag\"\n    vrrp_notify_priority_changes"
            ),
            51,
            100,
            2,
            "1",
            &[format!("{vip}/24")],
            "    track_script {\n        chk\n    }\n",
        ));
        let c = lab.write("h1.conf", &conf);
        let name = if ka { "ka" } else { "ours" };
        if ka {
            lab.start_keepalived(1, name, &c);
        } else {
            lab.start_rs(1, name, OURS, &c);
        }
        Twin {
            lab,
            name,
            flag,
            fifo,
            fifo_log,
            args,
            reader_pid,
            vip,
        }
    }

    fn lines(&self) -> Vec<String> {
        read(&self.fifo_log).lines().map(str::to_string).collect()
    }

    fn wait_line(&self, line: &str) -> bool {
        self.lab.wait_for(Duration::from_secs(15), || {
            self.lines().iter().any(|l| l == line)
        })
    }
}

/// The FIFO reader script is started with its arguments and the FIFO path (created by the
/// daemon), receives the state lines, and a weight flapping writes MASTER_PRIORITY lines:
/// the same lines as keepalived 2.2.7 writes for the same configuration. At exit the reader is
/// gone.
#[test]
fn fifo_reader_and_priority_lines_match_keepalived() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut twins = vec![Twin::start(false, -20), Twin::start(true, -20)];
    for t in &twins {
        assert!(
            t.lab
                .wait_for(Duration::from_secs(20), || t.lab.has_addr(1, &t.vip)),
            "{} never MASTER\n{}",
            t.name,
            t.lab.logs(&[t.name])
        );
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER 100"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
        assert_eq!(
            read(&t.args).trim(),
            format!("tag {}", t.fifo),
            "{}",
            t.name
        );
    }
    // The tracked script fails: 100 - 20 = 80, still MASTER (nobody else on the wire).
    for t in &twins {
        std::fs::remove_file(&t.flag).unwrap();
    }
    for t in &twins {
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER_PRIORITY 80"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
    }
    for t in &twins {
        std::fs::write(&t.flag, "").unwrap();
    }
    for t in &twins {
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER_PRIORITY 100"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
    }
    let ours = twins[0].lines();
    let ka = twins[1].lines();
    eprintln!("FIFO lines: {ours:#?}");
    assert_eq!(
        ours, ka,
        "FIFO lines differ\nours: {ours:#?}\nkeepalived: {ka:#?}"
    );
    // At exit the reader script is stopped (keepalived: EOF on the closed FIFO).
    for t in &mut twins {
        let pid = read(&t.reader_pid);
        assert!(alive(&pid), "{}: reader not running", t.name);
        t.lab.signal(t.name, libc::SIGTERM);
        assert!(
            t.lab.wait_exit(t.name, Duration::from_secs(20)).is_some(),
            "{} did not exit",
            t.name
        );
        assert!(
            t.lab.wait_for(Duration::from_secs(5), || !alive(&pid)),
            "{}: reader {pid} still running after exit",
            t.name
        );
        assert!(
            !std::path::Path::new(&t.fifo).exists(),
            "{}: FIFO it created left behind",
            t.name
        );
    }
}

/// A positive weight: the script's first success raises the priority before the instance is
/// MASTER (keepalived writes BACKUP_PRIORITY), then a flap writes MASTER_PRIORITY lines; the
/// lines equal keepalived 2.2.7's.
#[test]
fn positive_weight_priority_lines_match_keepalived() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let twins = [Twin::start(false, 10), Twin::start(true, 10)];
    for t in &twins {
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER 110"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
    }
    for t in &twins {
        std::fs::remove_file(&t.flag).unwrap();
    }
    for t in &twins {
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER_PRIORITY 100"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
    }
    for t in &twins {
        std::fs::write(&t.flag, "").unwrap();
    }
    for t in &twins {
        assert!(
            t.wait_line("INSTANCE \"VI_51\" MASTER_PRIORITY 110"),
            "{}: {:?}\n{}",
            t.name,
            t.lines(),
            t.lab.logs(&[t.name])
        );
    }
    let (ours, ka) = (twins[0].lines(), twins[1].lines());
    eprintln!("FIFO lines: {ours:#?}");
    assert_eq!(
        ours, ka,
        "FIFO lines differ\nours: {ours:#?}\nkeepalived: {ka:#?}"
    );
}
