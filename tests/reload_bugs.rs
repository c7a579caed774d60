//! keepalived's reload bugs (notes/keepalived-reference.md §4), replayed against keepalived-rs
//! in network namespaces, each judged from outside (addresses, routes, the wire, metrics):
//! - #1009 priority drift after reloads adding/removing weighted track_interface/track_script;
//! - #1719 virtual_routes lost when virtual_ipaddress changes (the kernel drops a route whose
//!   gateway became unreachable, silently);
//! - #1854 a VIP moved from one instance to another in one reload must stay present;
//! - #208 two SIGHUPs in quick succession must not move a MASTER;
//! - #1941 adding a track_script to a MASTER must not cause a transition;
//! - #366 script results survive a reload (also when only the script's timing changes): no
//!   priority dip a peer could preempt on.
//!
//! (The LVS ones, #608/#1163/#1720, are in tests/lvs_checkers.rs.)

mod common;

use common::lab::{self, max_gap, metric, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// Our daemon on host 1 of `lab` with `conf` (no file watch: reloads only by signal), metrics
/// on 127.0.0.1:9652.
fn start_ours(lab: &mut Lab, conf: &std::path::Path) {
    let flags = [
        "-n",
        "-l",
        "-D",
        "-G",
        "--no-config-watch",
        "--metrics-listen",
        "127.0.0.1:9652",
    ];
    lab.start_rs_with(1, "ours", &[], OURS, &flags, conf);
}

/// Rewrites `conf` atomically with `text`, sends SIGHUP and waits for the reload to complete.
fn reload(lab: &Lab, conf: &std::path::Path, text: &str) {
    lab.rewrite(conf, text);
    assert!(
        lab.reload("ours", Duration::from_secs(5)),
        "reload not completed\n{}",
        lab.log("ours")
    );
}

fn transitions(lab: &Lab) -> usize {
    lab.transitions("ours")
}

/// The effective priority of `iname` in the metrics.
fn priority(lab: &Lab, iname: &str) -> Option<f64> {
    let text = lab.scrape(1, 9652);
    metric(
        &text,
        "keepalived_vrrp_priority",
        &format!("iname=\"{iname}\""),
    )
}

/// One instance VI_1 (VRID 1, advert_int 0.1, v3) with `body` inside, after `head` blocks.
fn one(head: &str, prio: u8, vips: &str, body: &str) -> String {
    format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n}}\n{head}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 1\n    priority {prio}\n    version 3\n    advert_int 0.1\n{body}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

#[test]
fn issue_1009_no_priority_drift_over_reloads_adding_weighted_trackers() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    // A tracked link that is up (no dummy module here: a veth pair, both ends up).
    for args in [
        &[
            "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ][..],
        &["ip", "link", "set", "trk0", "up"],
        &["ip", "link", "set", "trk1", "up"],
    ] {
        lab.must_exec(1, args);
    }
    let scripts = "vrrp_script chk {\n    script \"/bin/true\"\n    interval 1\n}\n";
    let vips = format!("        10.{net}.0.100/24\n");
    let iface = "    track_interface {\n        trk0 weight 10\n    }\n";
    let script = "    track_script {\n        chk weight 5\n    }\n";
    let variants = [
        ("", 100.0),
        (iface, 110.0),
        (&*format!("{iface}{script}"), 115.0),
        (script, 105.0),
        ("", 100.0),
    ];
    let conf = lab.write("k.conf", &one(scripts, 100, &vips, ""));
    start_ours(&mut lab, &conf);
    assert!(lab.wait_for(Duration::from_secs(10), || lab
        .has_addr(1, &format!("10.{net}.0.100"))));
    let t0 = transitions(&lab);
    // Each variant twice (keepalived drifted on re-applying the same weights), three rounds.
    for round in 0..3 {
        for (body, want) in &variants {
            for _ in 0..2 {
                reload(&lab, &conf, &one(scripts, 100, &vips, body));
                assert!(
                    lab.wait_for(Duration::from_secs(5), || priority(&lab, "VI_1")
                        == Some(*want)),
                    "round {round}: priority {:?}, want {want} for\n{body}\n{}",
                    priority(&lab, "VI_1"),
                    lab.log("ours")
                );
            }
        }
    }
    assert_eq!(transitions(&lab), t0, "{}", lab.log("ours"));
}

#[test]
fn issue_1719_virtual_routes_survive_a_vip_change() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    // Two routes through the VIP's subnet, one with the VIP as source. The VIP's line
    // changes (prefix /24 <-> /25: removed and re-added); the kernel deletes every route whose
    // source was the removed address, and nobody asked it to: the routes themselves did not
    // change, so a diff of the configuration alone would not re-add them.
    let routes = format!(
        "    virtual_routes {{\n        10.{net}.6.0/24 via 10.{net}.5.1\n        10.{net}.8.0/24 via 10.{net}.5.1 src 10.{net}.5.4\n    }}\n"
    );
    let vips = |prefix: u8| format!("        10.{net}.5.4/{prefix}\n");
    let conf = lab.write("k.conf", &one("", 100, &vips(24), &routes));
    start_ours(&mut lab, &conf);
    let routes_present = |lab: &Lab| {
        let o = lab.exec(1, &["ip", "-4", "route", "show"]);
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        t.contains(&format!("10.{net}.6.0/24 via 10.{net}.5.1"))
            && t.contains(&format!("10.{net}.8.0/24 via 10.{net}.5.1"))
    };
    assert!(
        lab.wait_for(Duration::from_secs(10), || routes_present(&lab)),
        "routes never installed\n{}",
        lab.log("ours")
    );
    for prefix in [25, 24, 25] {
        reload(&lab, &conf, &one("", 100, &vips(prefix), &routes));
        let want = format!("10.{net}.5.4/{prefix}");
        assert!(
            lab.wait_for(Duration::from_secs(3), || {
                let o = lab.exec(1, &["ip", "-4", "addr", "show", "dev", "eth0"]);
                String::from_utf8_lossy(&o.stdout).contains(&want)
            }),
            "VIP {want} not installed"
        );
        assert!(
            lab.wait_for(Duration::from_secs(3), || routes_present(&lab)),
            "virtual routes lost after the VIP became {want}\n{}",
            String::from_utf8_lossy(&lab.exec(1, &["ip", "route"]).stdout)
        );
    }
}

#[test]
fn issue_1854_vip_moved_between_instances_stays_present() {
    let _g = lab::serial();
    if lab::skip(false) {
        return;
    }
    let mut lab = Lab::new(1);
    let net = lab.net();
    let x = format!("10.{net}.7.1");
    // Both MASTER; X moves from VI_1 to VI_2 and back. The instances are listed in both
    // orders in the file, so that whichever is updated first, the move is seen both ways.
    let inst = |name: &str, vrid: u8, vips: &[String]| {
        let v: String = vips.iter().map(|a| format!("        {a}/32\n")).collect();
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {{\n{v}    }}\n}}\n"
        )
    };
    let y = format!("10.{net}.7.2");
    let z = format!("10.{net}.7.3");
    let with_x_on = |owner: u8, reversed: bool| {
        let a = if owner == 1 {
            vec![x.clone(), y.clone()]
        } else {
            vec![y.clone()]
        };
        let b = if owner == 2 {
            vec![z.clone(), x.clone()]
        } else {
            vec![z.clone()]
        };
        let (i1, i2) = (inst("VI_1", 1, &a), inst("VI_2", 2, &b));
        if reversed {
            format!("{i2}{i1}")
        } else {
            format!("{i1}{i2}")
        }
    };
    let conf = lab.write("k.conf", &with_x_on(1, false));
    start_ours(&mut lab, &conf);
    assert!(lab.wait_for(Duration::from_secs(10), || [&x, &y, &z]
        .iter()
        .all(|a| lab.has_addr(1, a))));
    lab.monitor_addresses(1, "mon");
    let t0 = transitions(&lab);
    for (owner, reversed) in [(2, false), (1, false), (2, true), (1, true)] {
        reload(&lab, &conf, &with_x_on(owner, reversed));
        assert!(
            lab.holds_for(Duration::from_millis(500), || lab.has_addr(1, &x)),
            "X lost moving to VI_{owner} (reversed {reversed})\n{}",
            lab.log("ours")
        );
    }
    let gone: Vec<String> = lab
        .address_events("mon")
        .into_iter()
        .filter(|e| e.starts_with("Deleted"))
        .collect();
    assert_eq!(gone, Vec::<String>::new(), "the moved VIP was removed");
    assert!(lab.has_addr(1, &y) && lab.has_addr(1, &z));
    assert_eq!(transitions(&lab), t0);
}

/// A two-node lab: ours (priority `ours`, trackers in `body`) on h1 as MASTER at effective
/// priority `effective`, then keepalived 2.2.7 (priority `peer`) joining on h2 as BACKUP,
/// tshark on h2's wire.
fn pair(
    head: &str,
    ours: u8,
    effective: u8,
    peer: u8,
    body: &str,
) -> Option<(Lab, std::path::PathBuf)> {
    if lab::skip(true) {
        return None;
    }
    let mut lab = Lab::new(2);
    let net = lab.net();
    let vips = format!("        10.{net}.0.100/24\n");
    let conf = lab.write("h1.conf", &one(head, ours, &vips, body));
    let c2 = lab.write("h2.conf", &one("", peer, &vips, ""));
    start_ours(&mut lab, &conf);
    let vip = format!("10.{net}.0.100");
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)
            && priority(&lab, "VI_1") == Some(f64::from(effective)))
    );
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab
            .log("ka")
            .contains("Entering BACKUP STATE")),
        "{}",
        lab.log("ka")
    );
    lab.capture_vrrp(2, "cap");
    assert!(lab.wait_for(Duration::from_secs(5), || lab.adverts("cap").len() >= 5));
    Some((lab, conf))
}

/// Neither side moved: no transition on ours since `t0`, keepalived never MASTER after
/// `ka_from`.
fn assert_no_moves(lab: &Lab, t0: usize, ka_from: usize) {
    assert_eq!(transitions(lab), t0, "{}", lab.log("ours"));
    let ka = lab.log("ka");
    assert!(!ka[ka_from..].contains("Entering MASTER STATE"), "{ka}");
}

/// [`assert_no_moves`], and every advert on the wire from h1 at priority `prio`, no pause
/// beyond advert_int + 60 ms (see tests/reload.rs for the tolerance).
fn assert_master_held(lab: &Lab, t0: usize, ka_from: usize, prio: u8) {
    assert_no_moves(lab, t0, ka_from);
    let adverts = lab.adverts("cap");
    let h1 = lab.ip4(1);
    assert!(
        adverts.iter().all(|a| a.src == h1 && a.prio == prio),
        "adverts not all from h1 at {prio}: {:?}",
        adverts
            .iter()
            .filter(|a| a.src != h1 || a.prio != prio)
            .collect::<Vec<_>>()
    );
    let (gap, _) = max_gap(&adverts, &h1, 1).expect("adverts");
    assert!(gap <= 0.16, "adverts paused {gap:.3} s");
}

#[test]
fn issue_208_two_quick_sighups_do_not_move_a_master() {
    let _g = lab::serial();
    let Some((lab, conf)) = pair("", 150, 150, 100, "") else {
        return;
    };
    let t0 = transitions(&lab);
    let ka_from = lab.log("ka").len();
    let text = std::fs::read_to_string(&conf).unwrap();
    for k in 0..5 {
        // A changed file every other time (another garp repeat: not on the wire).
        let body = if k % 2 == 1 {
            text.replace(
                "    advert_int 0.1\n",
                "    advert_int 0.1\n    garp_master_repeat 2\n",
            )
        } else {
            text.clone()
        };
        // Atomically (the file is never seen half-written: a reload may read it any time).
        lab.rewrite(&conf, &body);
        let before = lab.reloads_completed("ours");
        lab.signal("ours", libc::SIGHUP);
        lab.signal("ours", libc::SIGHUP);
        // Signals of one kind coalesce while pending (POSIX): one or two reloads run, and
        // the last one reads the file as it is now.
        assert!(
            lab.wait_for(Duration::from_secs(5), || lab.reloads_completed("ours")
                > before),
            "no reload completed\n{}",
            lab.log("ours")
        );
    }
    assert!(lab.wait_adverts("cap", 10, Duration::from_secs(5)));
    assert_master_held(&lab, t0, ka_from, 150);
}

#[test]
fn issue_1941_adding_a_track_script_to_a_master_causes_no_transition() {
    let _g = lab::serial();
    let scripts = "vrrp_script ok0 {\n    script \"/bin/true\"\n    interval 1\n    weight 0\n}\nvrrp_script ok10 {\n    script \"/bin/true\"\n    interval 1\n    weight 10\n}\n";
    let Some((lab, conf)) = pair(scripts, 150, 150, 100, "") else {
        return;
    };
    let t0 = transitions(&lab);
    let ka_from = lab.log("ka").len();
    let net = lab.net();
    let vips = format!("        10.{net}.0.100/24\n");
    // A weight-0 script (failure would mean FAULT) and a weighted one, added to the MASTER.
    let body = "    track_script {\n        ok0\n        ok10\n    }\n";
    reload(&lab, &conf, &one(scripts, 140, &vips, body));
    assert!(
        lab.wait_for(Duration::from_secs(5), || priority(&lab, "VI_1")
            == Some(150.0)),
        "priority {:?}\n{}",
        priority(&lab, "VI_1"),
        lab.log("ours")
    );
    assert!(lab.wait_adverts("cap", 10, Duration::from_secs(5)));
    // Priority 150 before (no scripts) and after (140 + 10): one value on the wire, except
    // possibly a 140 while ok10 had not reported yet; nothing at or below the peer's.
    let h1 = lab.ip4(1);
    let adverts = lab.adverts("cap");
    assert!(
        adverts
            .iter()
            .all(|a| a.src == h1 && (a.prio == 150 || a.prio == 140)),
        "{adverts:?}"
    );
    assert_no_moves(&lab, t0, ka_from);
}

#[test]
fn issue_366_script_results_survive_reload_without_a_priority_dip() {
    let _g = lab::serial();
    // 100 + 20 while the script succeeds = 120; the peer's 110 sits between: a dip to 100
    // on the wire would let it preempt.
    let script = |interval: u32, extra: &str| {
        format!("vrrp_script chk {{\n    script \"/bin/true\"\n    interval {interval}\n    weight 20\n{extra}}}\n")
    };
    let body = "    track_script {\n        chk\n    }\n";
    let Some((lab, conf)) = pair(&script(1, ""), 100, 120, 110, body) else {
        return;
    };
    assert!(
        lab.wait_for(Duration::from_secs(5), || priority(&lab, "VI_1")
            == Some(120.0)),
        "{}",
        lab.log("ours")
    );
    // Adverts at 100 went out before the script's first result: start judging from here.
    assert!(lab.wait_adverts("cap", 3, Duration::from_secs(5)));
    let t0 = transitions(&lab);
    let ka_from = lab.log("ka").len();
    let net = lab.net();
    let vips = format!("        10.{net}.0.100/24\n");
    let from = lab.adverts("cap").len();
    // Unchanged, then the script's interval, timeout, rise/fall changed (same command: the
    // result must be kept, as keepalived does), then unchanged again.
    for head in [
        script(1, ""),
        script(2, ""),
        script(2, "    timeout 3\n"),
        script(2, "    timeout 3\n    rise 2\n    fall 2\n"),
        script(2, "    timeout 3\n    rise 2\n    fall 2\n"),
    ] {
        reload(&lab, &conf, &one(&head, 100, &vips, body));
        assert!(lab.wait_adverts("cap", 5, Duration::from_secs(5)));
    }
    let judged: Vec<_> = lab.adverts("cap").into_iter().skip(from).collect();
    let low: Vec<_> = judged.iter().filter(|a| a.prio != 120).collect();
    assert!(low.is_empty(), "priority dipped on the wire: {low:?}");
    assert_no_moves(&lab, t0, ka_from);
    assert_eq!(
        metric(
            &lab.scrape(1, 9652),
            "keepalived_reloads_total",
            "result=\"success\""
        ),
        Some(5.0)
    );
}
