//! Tracking and notifications end to end: a failing vrrp_script lowers our master's priority so
//! a real keepalived backup preempts; track_file weights; the own interface going down puts
//! the instance in FAULT; notify scripts get keepalived's arguments and the FIFO its lines.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

#[test]
fn script_failure_lets_keepalived_preempt_and_notifies() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let d = lab.dir.display().to_string();
    let flag = format!("{d}/healthy");
    std::fs::write(&flag, "").unwrap();
    // A notify script that appends its arguments, one line per call; a FIFO reader keeps
    // every line (the daemon creates the FIFO if missing).
    let rec = lab.notify_recorder(1);
    let (s, notes, fifo) = (&rec.script, &rec.notes, &rec.fifo);
    let global = format!("vrrp_notify_fifo {fifo}\n");
    let extra = format!(
        "    track_script {{\n        chk\n    }}\n    notify_master \"{s} specific master\"\n    notify_backup \"{s} specific backup\"\n    notify \"{s} generic\"\n"
    );
    let mut ours = format!("vrrp_script chk {{\n    script \"/usr/bin/test -f {flag}\"\n    interval 0.2\n    weight -60\n    fall 1\n    rise 1\n}}\n");
    ours.push_str(&lab::vrrp_conf(
        &global,
        51,
        150,
        3,
        "0.1",
        &[format!("{vip}/24")],
        &extra,
    ));
    let c1 = lab.write("h1.conf", &ours);
    let c2 = lab.write(
        "h2.conf",
        &lab::vrrp_conf("", 51, 100, 3, "0.1", &[format!("{vip}/24")], ""),
    );

    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    let logs = |lab: &Lab| lab.logs(&["ours", "ka"]);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![1]),
        "h1 not sole master\n{}",
        logs(&lab)
    );

    // Script fails: 150 - 60 = 90 < 100, keepalived preempts.
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "keepalived did not preempt\n{}",
        logs(&lab)
    );
    assert!(
        lab.log("ours").contains("effective priority 150 -> 90"),
        "{}",
        lab.log("ours")
    );

    // Script recovers: back to 150, we preempt back.
    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "no preempt back\n{}",
        logs(&lab)
    );

    // Notify scripts: specific ones get only their arguments, the generic one gets
    // `INSTANCE name state priority` appended; scripts ran in order.
    let ok = lab.wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(notes)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("master"))
            .count()
            >= 2
    });
    let text = std::fs::read_to_string(notes).unwrap_or_default();
    assert!(ok, "notes:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"specific master"), "{text}");
    assert!(
        lines.contains(&"generic INSTANCE VI_51 MASTER 150"),
        "{text}"
    );
    assert!(lines.contains(&"specific backup"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("generic INSTANCE VI_51 BACKUP ")),
        "{text}"
    );
    let first_master = lines.iter().position(|l| *l == "specific master").unwrap();
    assert_eq!(
        lines.get(first_master + 1),
        Some(&"generic INSTANCE VI_51 MASTER 150"),
        "{text}"
    );

    // FIFO lines in keepalived's format and order.
    lab.signal("ours", libc::SIGTERM);
    assert!(
        lab.wait_exit("ours", Duration::from_secs(5)).is_some(),
        "daemon did not stop"
    );
    let fifo_text = std::fs::read_to_string(&rec.fifo_log).unwrap_or_default();
    let want = [
        "INSTANCE \"VI_51\" BACKUP 150",
        "INSTANCE \"VI_51\" MASTER 150",
        "INSTANCE \"VI_51\" BACKUP 90",
    ];
    let mut pos = 0;
    for w in want {
        match fifo_text[pos..].find(w) {
            Some(p) => pos += p + w.len(),
            None => panic!("FIFO missing {w:?} in order:\n{fifo_text}"),
        }
    }
    assert!(fifo_text.contains("INSTANCE \"VI_51\" STOP"), "{fifo_text}");
}

#[test]
fn own_interface_down_is_fault_and_releases_vip() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(101);
    let c1 = lab.write(
        "h1.conf",
        &lab::vrrp_conf("", 52, 150, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    lab.start_rs(1, "ours", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)),
        "{}",
        lab.log("ours")
    );
    // Port down on the switch: eth0 loses carrier -> FAULT, VIP removed.
    lab.set_port(1, false);
    assert!(
        lab.wait_for(Duration::from_secs(5), || !lab.has_addr(1, &vip)),
        "VIP kept in FAULT\n{}",
        lab.log("ours")
    );
    assert!(
        lab.log("ours").contains("-> FAULT (interface_down)"),
        "{}",
        lab.log("ours")
    );
    lab.set_port(1, true);
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.has_addr(1, &vip)),
        "no recovery\n{}",
        lab.log("ours")
    );
}

#[test]
fn track_file_weight() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(102);
    let f = lab.dir.join("weight").display().to_string();
    std::fs::write(&f, "0\n").unwrap();
    let mut c = format!("track_file tf {{\n    file {f}\n    weight -1\n}}\n");
    c.push_str(&lab::vrrp_conf(
        "",
        53,
        150,
        3,
        "0.1",
        &[format!("{vip}/24")],
        "    track_file {\n        tf\n    }\n",
    ));
    let c1 = lab.write("h1.conf", &c);
    let c2 = lab.write(
        "h2.conf",
        &lab::vrrp_conf("", 53, 100, 3, "0.1", &[format!("{vip}/24")], ""),
    );
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "{}",
        lab.log("ours")
    );
    // value 60 x weight -1 = -60: 150 -> 90 < 100.
    std::fs::write(&f, "60\n").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "{}",
        lab.log("ours")
    );
    std::fs::write(&f, "0\n").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "{}",
        lab.log("ours")
    );
}

#[test]
fn static_addresses_routes_and_rules_are_installed_at_start() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let n = lab.net();
    let vip = lab.vip4(103);
    let mut c = format!(
        "static_ipaddress {{\n    10.{n}.9.9/32 dev eth0 label eth0:st\n}}\nstatic_routes {{\n    10.{n}.200.0/24 via 10.{n}.0.1 dev eth0\n}}\nstatic_rules {{\n    from 10.{n}.9.9/32 table 100 priority 1000\n}}\n"
    );
    c.push_str(&lab::vrrp_conf(
        "",
        54,
        150,
        3,
        "0.1",
        &[format!("{vip}/24")],
        "",
    ));
    let c1 = lab.write("h1.conf", &c);
    lab.start_rs(1, "ours", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab
            .has_addr(1, &format!("10.{n}.9.9"))),
        "{}",
        lab.log("ours")
    );
    let routes = String::from_utf8_lossy(&lab.exec(1, &["ip", "route", "show"]).stdout).to_string();
    assert!(
        routes.contains(&format!("10.{n}.200.0/24 via 10.{n}.0.1")),
        "{routes}\n{}",
        lab.log("ours")
    );
    let rules = String::from_utf8_lossy(&lab.exec(1, &["ip", "rule", "show"]).stdout).to_string();
    assert!(
        rules.contains(&format!("1000:\tfrom 10.{n}.9.9 lookup 100")),
        "{rules}"
    );
    // Static addresses stay whatever the VRRP state: the instance is MASTER here and they are
    // independent of it.
    assert!(lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)));
}

#[test]
fn sync_group_member_fault_puts_the_group_in_fault() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let (va, vb) = (lab.vip4(110), lab.vip4(111));
    let flag = lab.dir.join("ok").display().to_string();
    std::fs::write(&flag, "").unwrap();
    let mut c = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -f {flag}\"\n    interval 0.2\n}}\nvrrp_sync_group G {{\n    group {{\n        VI_61\n        VI_62\n    }}\n}}\n"
    );
    // Only VI_61 tracks the script (weight 0: failure = FAULT); VI_62 must follow it.
    c.push_str(&lab::vrrp_conf(
        "",
        61,
        150,
        3,
        "0.1",
        &[format!("{va}/24")],
        "    track_script {\n        chk\n    }\n",
    ));
    c.push_str(
        &lab::vrrp_conf("", 62, 150, 3, "0.1", &[format!("{vb}/24")], "")
            .replace("global_defs {\n    router_id lab\n    \n}\n", ""),
    );
    let c1 = lab.write("h1.conf", &c);
    lab.start_rs(1, "ours", OURS, &c1);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &va)
            && lab.has_addr(1, &vb)),
        "{}",
        lab.log("ours")
    );
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(5), || !lab.has_addr(1, &va)
            && !lab.has_addr(1, &vb)),
        "the group did not go to FAULT together\n{}",
        lab.log("ours")
    );
    let log = lab.log("ours");
    assert!(
        log.contains("VRRP_Instance(VI_62) MASTER -> FAULT"),
        "{log}"
    );
    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &va)
            && lab.has_addr(1, &vb)),
        "{}",
        lab.log("ours")
    );
}
