//! Issue #17, point 5: `keepalived-rs --reload-plan -f FILE` asks the running daemon what a
//! reload of FILE would do, and the following real reload does exactly that. On each edit
//! (a VIP added, a priority changed, a VRID changed, an instance removed, the same file, an
//! invalid file), in a network namespace:
//! - the plan's exit status (0 nothing, 1 changes, 5 rejected; 3 with no daemon) and its
//!   objects;
//! - then the file is put in place and SIGHUP sent: the reconcile's counts ("reconciled
//!   children started= stopped= replaced= updated= unchanged=") are the plan's, and the
//!   address events `ip monitor` sees are exactly the plan's VIP additions and removals
//!   (those for "now" at once, those "when MASTER" once the instance is MASTER).

mod common;

use common::lab::{self, Lab};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

fn inst(name: &str, vrid: u8, prio: u8, vips: &[String]) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}/24\n")).collect();
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    version 3\n    advert_int 0.2\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

fn global() -> String {
    "global_defs {\n    vrrp_garp_master_delay 0\n}\n".to_string()
}

/// Runs `--reload-plan=json -f file`: (exit status, plan).
fn plan(lab: &Lab, file: &Path) -> (i32, serde_json::Value) {
    let pid = lab.dir.join("ours.pid");
    let out = Command::new(OURS)
        .args(["--reload-plan=json", "-f"])
        .arg(file)
        .arg("-p")
        .arg(&pid)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{e}: {text}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            lab.log("ours")
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The plan's fate of the vrrp_instance `name`, with its detail.
fn fate(plan: &serde_json::Value, name: &str) -> (String, Vec<String>) {
    let o = plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "vrrp_instance" && o["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {plan:#}"));
    let detail = o["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    (o["fate"].as_str().unwrap().to_string(), detail)
}

/// The plan's address changes as ("add"|"remove", address), counted.
fn planned(plan: &serde_json::Value) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for a in plan["addresses"].as_array().unwrap() {
        let what = a["what"].as_str().unwrap();
        let addr = what.split('/').next().unwrap().to_string();
        *m.entry((a["op"].as_str().unwrap().to_string(), addr))
            .or_default() += 1;
    }
    m
}

/// The monitor's events from index `from` on, the same way.
fn seen(lab: &Lab, from: usize) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for l in &lab.address_events("mon")[from..] {
        let op = if l.starts_with("Deleted") {
            "remove"
        } else {
            "add"
        };
        let addr = l
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .unwrap_or_default()
            .to_string();
        *m.entry((op.to_string(), addr)).or_default() += 1;
    }
    m
}

/// The counts of the last "reconciled children" line.
fn reconciled(log: &str) -> BTreeMap<String, u64> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("reconciled children"))
        .unwrap_or_default();
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// The plan of `text`, then the real reload of it: they must agree.
fn plan_then_reload(lab: &Lab, conf: &Path, text: &str, what: &str) -> serde_json::Value {
    let candidate = lab.write("candidate.conf", text);
    let (code, p) = plan(lab, &candidate);
    assert_eq!(
        code,
        if p["rejected"].as_bool().unwrap() {
            5
        } else if p["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["fate"] == "unchanged")
            && p["addresses"].as_array().unwrap().is_empty()
        {
            0
        } else {
            1
        },
        "{what}: exit status\n{p:#}"
    );
    let from = lab.address_events("mon").len();
    let before = lab.reloads_completed("ours");
    lab.rewrite(conf, text);
    lab.signal("ours", libc::SIGHUP);
    if p["rejected"].as_bool().unwrap() {
        assert!(
            lab.wait_for(Duration::from_secs(5), || lab
                .log("ours")
                .matches("reload rejected")
                .count()
                > 0),
            "{what}\n{}",
            lab.log("ours")
        );
        assert_eq!(lab.reloads_completed("ours"), before);
        assert!(seen(lab, from).is_empty(), "{what}: {:?}", seen(lab, from));
        return p;
    }
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.reloads_completed("ours")
            > before),
        "{what}: no reload\n{}",
        lab.log("ours")
    );
    let got = reconciled(&lab.log("ours"));
    let r = &p["reconcile"];
    for k in ["started", "stopped", "replaced", "updated", "unchanged"] {
        assert_eq!(
            Some(&r[k].as_u64().unwrap()),
            got.get(k),
            "{what}: {k}: plan {r} vs log {got:?}"
        );
    }
    let want = planned(&p);
    // "when MASTER" additions come after Master_Down_Interval (3 x 0.2 s + skew).
    lab.wait_for(Duration::from_secs(5), || seen(lab, from) == want);
    assert_eq!(seen(lab, from), want, "{what}\n{p:#}\n{}", lab.log("ours"));
    p
}

#[test]
fn the_plan_is_what_the_reload_does() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    let v = |last: u8| format!("10.{net}.0.{last}");
    let conf = lab.write(
        "keepalived.conf",
        &(global() + &inst("VI_1", 71, 150, &[v(100)]) + &inst("VI_2", 72, 150, &[v(200)])),
    );
    lab.start_rs_with(
        1,
        "ours",
        &[],
        OURS,
        &["-n", "-l", "-D", "-G", "--no-config-watch"],
        &conf,
    );
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &v(100))
            && lab.has_addr(1, &v(200))),
        "{}",
        lab.log("ours")
    );
    lab.monitor_addresses(1, "mon");

    // The same file: nothing.
    let same = std::fs::read_to_string(&conf).unwrap();
    let p = plan_then_reload(&lab, &conf, &same, "same file");
    assert!(p["addresses"].as_array().unwrap().is_empty());

    // A VIP added: VI_1 updated in place, the VIP added now.
    let t =
        global() + &inst("VI_1", 71, 150, &[v(100), v(101)]) + &inst("VI_2", 72, 150, &[v(200)]);
    let p = plan_then_reload(&lab, &conf, &t, "VIP added");
    let (f, d) = fate(&p, "VI_1");
    assert_eq!(f, "updated");
    assert!(d.iter().any(|x| x == "virtual_ipaddress"), "{d:?}");
    assert_eq!(fate(&p, "VI_2").0, "unchanged");
    assert_eq!(planned(&p).len(), 1);

    // A priority changed: updated in place, no address moves.
    let t =
        global() + &inst("VI_1", 71, 150, &[v(100), v(101)]) + &inst("VI_2", 72, 200, &[v(200)]);
    let p = plan_then_reload(&lab, &conf, &t, "priority changed");
    assert_eq!(
        fate(&p, "VI_2"),
        ("updated".into(), vec!["priority 150 -> 200".to_string()])
    );
    assert!(planned(&p).is_empty());

    // The VRID changed: a new identity, replaced; its VIPs leave now and come back as MASTER.
    let t =
        global() + &inst("VI_1", 73, 150, &[v(100), v(101)]) + &inst("VI_2", 72, 200, &[v(200)]);
    let p = plan_then_reload(&lab, &conf, &t, "VRID changed");
    assert_eq!(
        fate(&p, "VI_1"),
        (
            "replaced".into(),
            vec!["virtual_router_id 71 -> 73".to_string()]
        )
    );
    assert_eq!(planned(&p).len(), 4, "{p:#}");

    // An instance removed: its VIP leaves.
    let t = global() + &inst("VI_1", 73, 150, &[v(100), v(101)]);
    let p = plan_then_reload(&lab, &conf, &t, "instance removed");
    assert_eq!(fate(&p, "VI_2").0, "removed");

    // An invalid file: rejected (5), the reload keeps the running configuration.
    let bad = t.replace("virtual_router_id 73", "virtual_router_id 300");
    let p = plan_then_reload(&lab, &conf, &bad, "invalid file");
    assert!(!p["errors"].as_array().unwrap().is_empty(), "{p:#}");

    // The human-readable form, and the daemon's own file when no -f is given.
    let out = Command::new(OURS)
        .args(["--reload-plan", "-f"])
        .arg(lab.write("candidate.conf", &same))
        .arg("-p")
        .arg(lab.dir.join("ours.pid"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("vrrp_instance VI_1: replaced (virtual_router_id 73 -> 71)"),
        "{text}"
    );
    assert!(text.contains("vrrp_instance VI_2: added"), "{text}");
    assert!(text.contains("+ address"), "{text}");
    // Without -f: the daemon's own file (the invalid one now).
    let out = Command::new(OURS)
        .args(["--reload-plan", "-p"])
        .arg(lab.dir.join("ours.pid"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("REJECTED"), "{text}");
    assert!(text.contains(&conf.display().to_string()), "{text}");
    // No daemon there: 3, not 1 ("something would change").
    let out = Command::new(OURS)
        .args(["--reload-plan", "-p"])
        .arg(lab.dir.join("nobody.pid"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
