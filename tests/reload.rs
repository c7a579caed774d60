//! Hot reload without flaps, observed from outside with `ip monitor address`:
//! (a) SIGHUP with an unchanged file: zero address events and zero transitions;
//! (b) 200 instances, one VIP changed and another priority changed: only that VIP moves;
//! (c) the same edit without a signal is applied by the file watcher within 2 s;
//! (d) an invalid file is rejected with a located error, the old config keeps running, and a
//!     later good edit is applied; (e) a removed instance releases its VIP, a renamed one is
//!     untouched.

mod common;

use common::lab::{self, Lab};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

fn lock() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// `n` instances VI_1..VI_n, VRID i, with per-instance VIP, priority and name.
fn config(
    n: u8,
    vip_of: impl Fn(u8) -> String,
    prio_of: impl Fn(u8) -> u8,
    name_of: impl Fn(u8) -> String,
) -> String {
    let mut s = String::from("global_defs {\n    vrrp_garp_master_delay 0\n}\n");
    for i in 1..=n {
        s.push_str(&format!(
            "vrrp_instance {} {{\n    interface eth0\n    virtual_router_id {i}\n    priority {}\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {{\n        {}/32\n    }}\n}}\n",
            name_of(i),
            prio_of(i),
            vip_of(i)
        ));
    }
    s
}

struct Node {
    lab: Lab,
    conf: std::path::PathBuf,
}

impl Node {
    /// Starts our daemon on a one-host lab with the config `make(net)`; waits for `n` VIPs.
    fn start(n: usize, make: impl Fn(u32) -> String, extra: &[&str]) -> Option<Node> {
        if !lab::can_run() {
            eprintln!("SKIP: needs root and iproute2");
            return None;
        }
        let mut lab = Lab::new(1);
        let conf = lab.write("k.conf", &make(lab.net()));
        let pid = lab.dir.join("ours.pid").display().to_string();
        let c = conf.display().to_string();
        let mut args = vec![OURS, "-n", "-l", "-D", "-G", "-f", &c, "-p", &pid];
        args.extend_from_slice(extra);
        lab.spawn(1, "ours", &args);
        let node = Node { lab, conf };
        let ok = node
            .lab
            .wait_for(Duration::from_secs(30), || node.addresses() >= n);
        assert!(
            ok,
            "not all {n} instances became MASTER\n{}",
            node.lab.log("ours")
        );
        Some(node)
    }

    fn net(&self) -> u32 {
        self.lab.net()
    }

    /// VIPs on eth0 (all addresses but the host's own).
    fn addresses(&self) -> usize {
        let o = self
            .lab
            .exec(1, &["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .count()
            .saturating_sub(1)
    }

    /// Starts `ip monitor address` in the namespace under `name`.
    fn monitor(&mut self, name: &str) {
        self.lab.spawn(1, name, &["ip", "monitor", "address"]);
        // `ip monitor` prints nothing when it subscribes; give it a moment to do so.
        std::thread::sleep(Duration::from_millis(300));
    }

    fn events(&self, name: &str) -> Vec<String> {
        self.lab
            .log(name)
            .lines()
            .filter(|l| l.contains("inet"))
            .map(str::to_string)
            .collect()
    }

    fn transitions(&self) -> usize {
        self.lab
            .log("ours")
            .lines()
            .filter(|l| l.contains("VRRP_Instance(") && l.contains(" -> "))
            .count()
    }

    fn hup(&self) {
        self.lab.signal("ours", libc::SIGHUP);
    }

    fn wait_log(&self, what: &str, timeout: Duration) -> bool {
        self.lab
            .wait_for(timeout, || self.lab.log("ours").contains(what))
    }

    /// Replaces the config file atomically (rename), as editors and config managers do.
    fn rewrite(&self, text: &str) {
        let tmp = self.lab.write("k.conf.tmp", text);
        std::fs::rename(&tmp, &self.conf).unwrap();
    }
}

fn vip(net: u32, i: u8) -> String {
    format!("10.{net}.1.{i}")
}

#[test]
fn sighup_unchanged_file_changes_nothing() {
    let _g = lock();
    let make = |net: u32| config(5, |i| vip(net, i), |_| 100, |i| format!("VI_{i}"));
    let Some(mut node) = Node::start(5, make, &["--no-config-watch"]) else {
        return;
    };
    node.monitor("mon");
    let before = node.transitions();
    let reloads = node.lab.log("ours").matches("reconciled children").count();
    node.hup();
    assert!(node.lab.wait_for(Duration::from_secs(5), || node
        .lab
        .log("ours")
        .matches("reconciled children")
        .count()
        > reloads));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        node.events("mon"),
        Vec::<String>::new(),
        "address events on an unchanged reload"
    );
    assert_eq!(
        node.transitions(),
        before,
        "transitions on an unchanged reload:\n{}",
        node.lab.log("ours")
    );
    assert!(
        node.lab.log("ours").contains("unchanged=5"),
        "{}",
        node.lab.log("ours")
    );
}

#[test]
fn two_hundred_instances_only_the_changed_vip_moves() {
    let _g = lock();
    two_hundred_real();
}

fn two_hundred_real() {
    let make = |net: u32| config(200, |i| vip(net, i), |_| 100, |i| format!("VI_{i}"));
    let Some(mut node) = Node::start(200, make, &[]) else {
        return;
    };
    let net = node.net();

    // (b) SIGHUP path: VI_7's VIP changes, VI_9's priority changes.
    node.monitor("mon-b");
    let t0 = node.transitions();
    let changed = config(
        200,
        |i| {
            if i == 7 {
                format!("10.{net}.2.7")
            } else {
                vip(net, i)
            }
        },
        |i| if i == 9 { 120 } else { 100 },
        |i| format!("VI_{i}"),
    );
    // Write atomically (rename) so the watcher sees one change; also send SIGHUP.
    node.rewrite(&changed);
    let start = Instant::now();
    node.hup();
    let ok = node
        .lab
        .wait_for(Duration::from_secs(5), || node.events("mon-b").len() >= 2);
    let evs = node.events("mon-b");
    assert!(ok, "expected the VI_7 delete+add, got {evs:?}");
    std::thread::sleep(Duration::from_millis(500));
    let evs = node.events("mon-b");
    assert_eq!(evs.len(), 2, "only VI_7's VIP may move: {evs:#?}");
    assert!(
        evs.iter()
            .any(|e| e.starts_with("Deleted") && e.contains(&format!("10.{net}.1.7/32"))),
        "{evs:#?}"
    );
    assert!(
        evs.iter()
            .any(|e| !e.starts_with("Deleted") && e.contains(&format!("10.{net}.2.7/32"))),
        "{evs:#?}"
    );
    assert_eq!(
        node.transitions(),
        t0,
        "no transitions:\n{}",
        node.lab.log("ours")
    );
    eprintln!("reload with 200 instances applied in {:?}", start.elapsed());

    // (c) the file watcher, no signal: VI_7 back to its old VIP within 2 s.
    node.monitor("mon-c");
    let back = config(
        200,
        |i| vip(net, i),
        |i| if i == 9 { 120 } else { 100 },
        |i| format!("VI_{i}"),
    );
    let start = Instant::now();
    node.rewrite(&back);
    assert!(
        node.lab
            .wait_for(Duration::from_secs(2), || node.events("mon-c").len() >= 2),
        "watcher did not apply the edit within 2 s: {:?}\n{}",
        node.events("mon-c"),
        node.lab.log("ours")
    );
    eprintln!("watched edit applied in {:?}", start.elapsed());

    // (d) an invalid file is rejected with a located error; the old config keeps running.
    node.monitor("mon-d");
    let bad = back.replace("virtual_router_id 13\n", "virtual_router_id 300\n");
    node.rewrite(&bad);
    node.hup();
    assert!(
        node.wait_log(
            "virtual_router_id: 300 is out of range",
            Duration::from_secs(5)
        ),
        "no located error:\n{}",
        node.lab.log("ours")
    );
    assert!(
        node.lab.log("ours").contains("k.conf:"),
        "error without file:line"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        node.events("mon-d"),
        Vec::<String>::new(),
        "the rejected config changed addresses"
    );
    assert_eq!(node.addresses(), 200);
    // A later good edit: VI_13's VIP changes, applied.
    let good = config(
        200,
        |i| {
            if i == 13 {
                format!("10.{net}.2.13")
            } else {
                vip(net, i)
            }
        },
        |i| if i == 9 { 120 } else { 100 },
        |i| format!("VI_{i}"),
    );
    node.rewrite(&good);
    node.hup();
    assert!(node.lab.wait_for(Duration::from_secs(5), || node
        .lab
        .has_addr(1, &format!("10.{net}.2.13"))));

    // (e) VI_200 removed (VIP released), VI_199 renamed (untouched).
    node.monitor("mon-e");
    let t1 = node.transitions();
    let removed = config(
        199,
        |i| {
            if i == 13 {
                format!("10.{net}.2.13")
            } else {
                vip(net, i)
            }
        },
        |i| if i == 9 { 120 } else { 100 },
        |i| {
            if i == 199 {
                "RENAMED".into()
            } else {
                format!("VI_{i}")
            }
        },
    );
    node.rewrite(&removed);
    node.hup();
    assert!(
        node.lab.wait_for(Duration::from_secs(5), || !node
            .lab
            .has_addr(1, &vip(net, 200))),
        "VI_200 kept its VIP"
    );
    std::thread::sleep(Duration::from_millis(500));
    let evs = node.events("mon-e");
    assert_eq!(evs.len(), 1, "only VI_200's VIP may go: {evs:#?}");
    assert!(
        node.lab.has_addr(1, &vip(net, 199)),
        "renamed instance lost its VIP"
    );
    // The removed instance's transition to STOP is the only new one.
    assert_eq!(node.transitions(), t1 + 1, "{}", node.lab.log("ours"));
}
