//! Hot reload without flaps, observed from outside with `ip monitor address`:
//! (a) SIGHUP with an unchanged file: zero address events and zero transitions;
//! (b) 200 instances, one VIP changed and another priority changed: only that VIP moves;
//! (c) the same edit without a signal is applied by the file watcher within 2 s;
//! (d) an invalid file is rejected with a located error, the old config keeps running, and a
//!     later good edit is applied; (e) a removed instance releases its VIP, a renamed one is
//!     untouched.

mod common;

use common::lab::{self, fd_count, max_gap, metric, rss_kb, Lab};
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

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
        if lab::skip(false) {
            return None;
        }
        let mut lab = Lab::new(1);
        let conf = lab.write("k.conf", &make(lab.net()));
        let mut flags = vec!["-n", "-l", "-D", "-G"];
        flags.extend_from_slice(extra);
        lab.start_rs_with(1, "ours", &[], OURS, &flags, &conf);
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

    /// Starts `ip monitor address` in the namespace under `name` (see [`Lab::monitor_addresses`]).
    fn monitor(&mut self, name: &str) {
        self.lab.monitor_addresses(1, name);
    }

    fn events(&self, name: &str) -> Vec<String> {
        self.lab.address_events(name)
    }

    fn transitions(&self) -> usize {
        self.lab.transitions("ours")
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
        self.lab.rewrite(&self.conf, text);
    }
}

fn vip(net: u32, i: u8) -> String {
    format!("10.{net}.1.{i}")
}

/// The VIPs of [`vip`], except VI_`moved`'s, moved to 10.NET.2.`moved`.
fn vip_moved(net: u32, moved: u8) -> impl Fn(u8) -> String {
    move |i| {
        if i == moved {
            format!("10.{net}.2.{i}")
        } else {
            vip(net, i)
        }
    }
}

/// Priority 100, VI_9's raised to 120.
fn prio_9_raised(i: u8) -> u8 {
    if i == 9 {
        120
    } else {
        100
    }
}

fn vi_name(i: u8) -> String {
    format!("VI_{i}")
}

#[test]
fn sighup_unchanged_file_changes_nothing() {
    let _g = lab::serial();
    let make = |net: u32| config(5, |i| vip(net, i), |_| 100, vi_name);
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
    let _g = lab::serial();
    two_hundred_real();
}

fn two_hundred_real() {
    let make = |net: u32| config(200, |i| vip(net, i), |_| 100, vi_name);
    let Some(mut node) = Node::start(200, make, &[]) else {
        return;
    };
    let net = node.net();

    // (b) SIGHUP path: VI_7's VIP changes, VI_9's priority changes.
    node.monitor("mon-b");
    let t0 = node.transitions();
    let changed = config(200, vip_moved(net, 7), prio_9_raised, vi_name);
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
    let back = config(200, |i| vip(net, i), prio_9_raised, vi_name);
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
            "virtual_router_id: vrrp_instance VI_13 has no valid one",
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
    let good = config(200, vip_moved(net, 13), prio_9_raised, vi_name);
    node.rewrite(&good);
    node.hup();
    assert!(node.lab.wait_for(Duration::from_secs(5), || node
        .lab
        .has_addr(1, &format!("10.{net}.2.13"))));

    // (e) VI_200 removed (VIP released), VI_199 renamed (untouched).
    node.monitor("mon-e");
    let t1 = node.transitions();
    let removed = config(199, vip_moved(net, 13), prio_9_raised, |i| {
        if i == 199 {
            "RENAMED".into()
        } else {
            vi_name(i)
        }
    });
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

/// advert_int of the no-gap test. The backup's Master_Down_Interval is 3 x 0.1 + 0.061 s.
const GAP_ADVERT: f64 = 0.1;
/// Scheduling tolerance on a loaded, shared 2-core machine: adverts are sent on a per-daemon
/// grid by the VRRP thread, which a reload never blocks (parsing and diffing run on the
/// control thread); what remains is that thread being descheduled by other work (builds of
/// the other engineers, tshark). 60 ms is still far below the 261 ms margin before the backup
/// would take over.
const GAP_TOLERANCE: f64 = 0.06;

/// Six instances; `variant` 1 changes four of them (VI_2..VI_6 only): VI_3's excluded
/// address (not advertised, so the backup's view is unchanged), VI_4's priority (150 -> 140,
/// still above the backup's), VI_5's garp_master_repeat and VI_6's mcast_src_ip (replaced
/// instead of updated in place). VI_1 never changes.
fn gap_conf(net: u32, prio: u8, variant: u8) -> String {
    let mut s = String::from("global_defs {\n    vrrp_garp_master_delay 0\n}\n");
    for i in 1..=6u8 {
        let p = if i == 4 && variant == 1 {
            prio - 10
        } else {
            prio
        };
        let excl = if i == 3 {
            format!(
                "    virtual_ipaddress_excluded {{\n        10.{net}.3.{}/32\n    }}\n",
                if variant == 1 { 2 } else { 1 }
            )
        } else {
            String::new()
        };
        let garp = if i == 5 && variant == 1 {
            "    garp_master_repeat 2\n".to_string()
        } else if i == 6 && variant == 1 {
            // The host's own address, explicitly: same packets, but a socket-level setting
            // (the instance is replaced, and hands over as MASTER).
            format!("    mcast_src_ip 10.{net}.0.11\n")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority {p}\n    version 3\n    advert_int {GAP_ADVERT}\n{excl}{garp}    virtual_ipaddress {{\n        10.{net}.0.{}/24\n    }}\n}}\n",
            60 + i,
            100 + i
        ));
    }
    s
}

#[test]
fn repeated_sighup_never_pauses_a_masters_adverts() {
    let _g = lab::serial();
    if lab::skip(true) {
        return;
    }
    let mut lab = Lab::new(2);
    let net = lab.net();
    let c1 = lab.write("h1.conf", &gap_conf(net, 150, 0));
    let c2 = lab.write("h2.conf", &gap_conf(net, 100, 0));
    lab.start_rs(1, "ours", OURS, &c1);
    let vips: Vec<String> = (1..=6).map(|i| format!("10.{net}.0.{}", 100 + i)).collect();
    assert!(
        lab.wait_for(Duration::from_secs(20), || vips
            .iter()
            .all(|v| lab.has_addr(1, v))),
        "h1 not MASTER\n{}",
        lab.log("ours")
    );
    // The backup joins a running master (started together, both would race for MASTER).
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(20), || vips
            .iter()
            .all(|v| lab.owners(v) == vec![1])
            && lab.log("ka").matches("Entering BACKUP STATE").count() >= 6),
        "h1 not MASTER of all / keepalived not BACKUP\nours:\n{}\nka:\n{}",
        lab.log("ours"),
        lab.log("ka")
    );
    lab.monitor_addresses(1, "mon");
    lab.capture_vrrp(2, "cap");
    let h1 = lab.ip4(1);
    assert!(lab.wait_for(Duration::from_secs(5), || lab.adverts("cap").len() >= 30));
    let ka_before = lab.log("ka").len();
    let t0 = lab.transitions("ours");

    // 10 reloads of the unchanged file, then 10 alternating between the two variants.
    for k in 0..20 {
        if k >= 10 {
            lab.rewrite(&c1, &gap_conf(net, 150, (k % 2 == 0) as u8));
        }
        assert!(
            lab.reload("ours", Duration::from_secs(5)),
            "reload {k} not completed\n{}",
            lab.log("ours")
        );
    }
    // The last variant is 0 again (k = 19): VI_4 back at 150, VI_3's excluded address .1.
    // The capture is read while tshark still writes it (buffered, later under load): wait
    // until it shows VI_4 back at 150 for a few adverts after its last change.
    let settled = |lab: &Lab| {
        let vi4: Vec<u8> = lab
            .adverts("cap")
            .iter()
            .filter(|a| a.vrid == 64)
            .map(|a| a.prio)
            .collect();
        let after_last_140 = vi4.iter().rev().take_while(|p| **p == 150).count();
        vi4.contains(&140) && after_last_140 >= 5
    };
    assert!(
        lab.wait_for(Duration::from_secs(10), || settled(&lab)),
        "VI_4 never advertised its last priority (150) after the reloads\n{}",
        lab.log("ours")
    );

    let adverts = lab.adverts("cap");
    for vrid in 61..=66u8 {
        let (gap, at) = max_gap(&adverts, &h1, vrid).expect("adverts");
        eprintln!("VRID {vrid}: longest pause {:.1} ms", gap * 1000.0);
        assert!(
            gap <= GAP_ADVERT + GAP_TOLERANCE,
            "VRID {vrid}: adverts paused {gap:.3} s (ending at {at:.3})"
        );
    }
    // Every advert from h1 (the backup never spoke), VI_4's priority did change and come back.
    assert!(
        adverts.iter().all(|a| a.src == h1),
        "the backup sent adverts"
    );
    let vi4: Vec<u8> = adverts
        .iter()
        .filter(|a| a.vrid == 64)
        .map(|a| a.prio)
        .collect();
    assert!(vi4.contains(&140) && vi4.last() == Some(&150), "{vi4:?}");
    assert!(
        adverts
            .iter()
            .filter(|a| a.vrid != 64)
            .all(|a| a.prio == 150),
        "priorities of unchanged instances moved"
    );
    // VI_6 was replaced 10 times, each successor resuming as MASTER: transitions to MASTER
    // with reason "resume" and nothing else.
    let log = lab.log("ours");
    assert_eq!(log.matches("handing over as MASTER").count(), 10, "{log}");
    assert_eq!(
        log.matches("VRRP_Instance(VI_6) INIT -> MASTER (resume)")
            .count(),
        10,
        "{log}"
    );
    assert_eq!(lab.transitions("ours"), t0 + 10, "transitions:\n{log}");
    let ka = lab.log("ka");
    assert!(!ka[ka_before..].contains("Entering MASTER STATE"), "{ka}");
    // Address events: only VI_3's excluded address, 5 x (delete .1, add .2) and back.
    let evs = lab.address_events("mon");
    assert!(
        evs.iter().all(|e| e.contains(&format!("10.{net}.3."))),
        "address events beyond VI_3's excluded address: {evs:#?}"
    );
    assert_eq!(evs.len(), 20, "{evs:#?}");
    assert!(lab.has_addr(1, &format!("10.{net}.3.1")));
}

/// 1000 reloads, each awaited through its "reload complete" log line (no sleeps); every 10th
/// toggles VI_2's priority (100 <-> 110) and VI_3's VIP (.1 <-> .2), the others re-read the
/// same file. keepalived leaked 4-8 KB every 1-3 reloads (#2336) and an fd per reload (#1331):
/// over the 900 reloads between the two samples that would be megabytes and hundreds of fds.
#[test]
fn thousand_reloads_keep_memory_and_fds_flat() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    let make = |variant: bool| {
        config(
            4,
            |i| {
                if i == 3 && variant {
                    format!("10.{net}.2.3")
                } else {
                    vip(net, i)
                }
            },
            |i| if i == 2 && variant { 110 } else { 100 },
            |i| format!("VI_{i}"),
        )
    };
    let conf = lab.write("k.conf", &make(false));
    lab.start_rs_with(
        1,
        "ours",
        &[],
        OURS,
        &[
            "-n",
            "-l",
            "-G",
            "--no-config-watch",
            "--metrics-listen",
            "127.0.0.1:9651",
        ],
        &conf,
    );
    assert!(
        lab.wait_for(Duration::from_secs(20), || (1..=4)
            .all(|i| lab.has_addr(1, &vip(net, i)))),
        "not MASTER\n{}",
        lab.log("ours")
    );
    let pid = lab.pid("ours").expect("daemon pid");
    let t0 = lab.transitions("ours");
    let mut tail = lab.tail("ours");
    let start = Instant::now();
    let mut at_100 = None;
    let mut variant = false;
    for k in 1..=1000u32 {
        if k % 10 == 0 {
            variant = !variant;
            lab.rewrite(&conf, &make(variant));
        }
        lab.signal("ours", libc::SIGHUP);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if tail.poll().iter().any(|l| l.contains("reload complete in")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "reload {k} did not complete\n{}",
                lab.log("ours")
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        if k == 100 {
            at_100 = Some((rss_kb(pid).unwrap(), fd_count(pid).unwrap()));
        }
    }
    let took = start.elapsed();
    let (rss100, fd100) = at_100.unwrap();
    let (rss1000, fd1000) = (rss_kb(pid).unwrap(), fd_count(pid).unwrap());
    eprintln!(
        "1000 reloads in {took:?}; RSS {rss100} kB at 100, {rss1000} kB at 1000; fds {fd100} -> {fd1000}"
    );
    // Bounds: 512 kB is ~0.6 kB per reload (keepalived's leak was 1.3-8 kB); fds may differ
    // by a transient one or two (the metrics connection).
    assert!(
        rss1000 <= rss100 + 512,
        "RSS grew from {rss100} kB to {rss1000} kB"
    );
    assert!(fd1000 <= fd100 + 2, "fds grew from {fd100} to {fd1000}");
    assert_eq!(lab.transitions("ours"), t0, "{}", lab.log("ours"));
    // Each toggle updated VI_2 and VI_3 in place; nothing else was touched. "reload
    // complete" is logged once the updates are sent: the instances apply the last one on
    // their own thread right after.
    let in_place = |lab: &Lab| {
        lab.log("ours")
            .matches("configuration applied in place")
            .count()
    };
    lab.wait_for(Duration::from_secs(5), || in_place(&lab) >= 200);
    assert_eq!(in_place(&lab), 200);
    // 100 toggles, the last one back to the first variant: VI_3 on .1, VI_2 at 100.
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab.has_addr(1, &vip(net, 3))
            && !lab.has_addr(1, &format!("10.{net}.2.3")))
    );
    let text = lab.scrape(1, 9651);
    assert_eq!(
        metric(&text, "keepalived_reloads_total", "result=\"success\""),
        Some(1000.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "keepalived_vrrp_priority", "iname=\"VI_2\""),
        Some(100.0),
        "{text}"
    );
    assert!(lab.running("ours"));
}

#[test]
fn replaced_master_keeps_common_vips_and_swaps_the_others() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    let (a, b, c) = (
        format!("10.{net}.4.1"),
        format!("10.{net}.4.2"),
        format!("10.{net}.4.3"),
    );
    let conf = |vips: [&str; 2], src: &str| {
        format!(
            "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    version 3\n    advert_int 0.1\n{src}    virtual_ipaddress {{\n        {}/32\n        {}/32\n    }}\n}}\n",
            vips[0], vips[1]
        )
    };
    let path = lab.write("k.conf", &conf([&a, &b], ""));
    lab.start_rs(1, "ours", OURS, &path);
    assert!(lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &a)
        && lab.has_addr(1, &b)));
    lab.monitor_addresses(1, "mon");
    // mcast_src_ip: a socket-level setting, the instance is replaced.
    let src = format!("    mcast_src_ip {}\n", lab.ip4(1));
    lab.rewrite(&path, &conf([&b, &c], &src));
    assert!(lab.reload("ours", Duration::from_secs(5)));
    assert!(
        lab.wait_for(Duration::from_secs(3), || lab.has_addr(1, &c)
            && !lab.has_addr(1, &a)),
        "{}",
        lab.log("ours")
    );
    let log = lab.log("ours");
    assert!(log.contains("1 replaced"), "{log}");
    assert!(
        log.contains("VRRP_Instance(VI_1) INIT -> MASTER (resume)"),
        "{log}"
    );
    assert!(
        lab.wait_for(Duration::from_secs(3), || lab.address_events("mon").len()
            >= 2)
    );
    // And nothing more (B is never touched).
    assert!(lab.holds_for(Duration::from_millis(300), || lab
        .address_events("mon")
        .len()
        == 2));
    let evs = lab.address_events("mon");
    assert!(evs
        .iter()
        .any(|e| e.starts_with("Deleted") && e.contains(&format!("{a}/32"))));
    assert!(evs
        .iter()
        .any(|e| !e.starts_with("Deleted") && e.contains(&format!("{c}/32"))));
    assert!(lab.has_addr(1, &b));
}
