//! Supervision of a real VRRP MASTER: a VRRP instance actor that panics (test-only fault
//! injection, `KEEPALIVED_RS_FAULT_INJECTION=1` + SIGRTMIN+4) is restarted with its current
//! configuration and resumes as MASTER at once. Judged from outside:
//! - `ip monitor address` on the master: zero deletions (the VIPs never leave);
//! - tshark on the backup's wire: the master's adverts never pause longer than one advert
//!   interval (+ the restart backoff once crashes repeat, + a scheduling tolerance), always at
//!   priority 150; the backup (real keepalived 2.2.7) never sends one (it never takes over) and
//!   never logs MASTER;
//! - repeated crashes back off (0, 0, 100, 200 ms: the default policy) and are reported in the
//!   log and in `keepalived_actor_crashes_total` / `keepalived_actor_restarts_total`; the
//!   daemon and the sibling instance keep running untouched.

mod common;

use common::lab::{self, gap_around, max_gap, metric, unix_now, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
/// advert_int of both instances (seconds). The backup's Master_Down_Interval is
/// 3 x 0.2 + (256 - 100) / 256 x 0.2 = 0.72 s: longer pauses would let it take over.
const ADVERT: f64 = 0.2;
/// Scheduling tolerance on a loaded 2-core machine: the restart itself is a netlink lookup
/// (a few ms); 60 ms covers the VRRP thread being descheduled by other work on the machine.
const TOLERANCE: f64 = 0.06;

fn conf(net: u32, prio: u8) -> String {
    let mut s = String::from("global_defs {\n    vrrp_garp_master_delay 0\n}\n");
    for (name, vrid, last) in [("VI_1", 51, 100), ("VI_2", 52, 101)] {
        s.push_str(&format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    version 3\n    advert_int {ADVERT}\n    virtual_ipaddress {{\n        10.{net}.0.{last}/24\n    }}\n}}\n"
        ));
    }
    s
}

fn count(text: &str, what: &str) -> usize {
    text.matches(what).count()
}

#[test]
fn panicking_master_instance_is_restarted_without_moving_its_vips() {
    let _g = lab::serial();
    if lab::skip(true) {
        return;
    }
    let mut lab = Lab::new(2);
    let net = lab.net();
    let (vip1, vip2) = (format!("10.{net}.0.100"), format!("10.{net}.0.101"));
    let c1 = lab.write("h1.conf", &conf(net, 150));
    let c2 = lab.write("h2.conf", &conf(net, 100));
    lab.start_rs_with(
        1,
        "ours",
        &[
            "KEEPALIVED_RS_FAULT_INJECTION=1",
            "KEEPALIVED_RS_FAULT_TARGET=VI_1",
        ],
        OURS,
        &["-n", "-l", "-D", "-G", "--metrics-listen", "127.0.0.1:9650"],
        &c1,
    );
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip1)
            && lab.has_addr(1, &vip2)),
        "h1 not MASTER\n{}",
        lab.log("ours")
    );
    // The backup joins a running master (started together, both would race for MASTER).
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(&vip1) == vec![1]
            && lab.owners(&vip2) == vec![1]
            && count(&lab.log("ka"), "Entering BACKUP STATE") >= 2),
        "h1 not MASTER of both / keepalived not BACKUP\nours:\n{}\nka:\n{}",
        lab.log("ours"),
        lab.log("ka")
    );
    assert!(lab.log("ours").contains("fault injection is ON"));
    lab.monitor_addresses(1, "mon");
    lab.capture_vrrp(2, "cap");
    let h1 = lab.ip4(1);
    let h1_adverts = |lab: &Lab, vrid: u8| {
        lab.adverts("cap")
            .iter()
            .filter(|a| a.src == h1 && a.vrid == vrid)
            .count()
    };
    assert!(lab.wait_for(Duration::from_secs(5), || h1_adverts(&lab, 51) >= 5));
    let transitions_before = count(&lab.log("ours"), "VRRP_Instance(");
    let ka_before = lab.log("ka").len();

    // Four crashes, each once the previous restart has resumed MASTER.
    let mut crashed_at = Vec::new();
    for k in 1..=4 {
        let seen = h1_adverts(&lab, 51);
        crashed_at.push(unix_now());
        lab.signal("ours", keepalived_rs::runtime::fault::trigger_signal());
        assert!(
            lab.wait_for(Duration::from_secs(5), || count(
                &lab.log("ours"),
                "VRRP_Instance(VI_1) INIT -> MASTER (resume)"
            ) >= k),
            "crash {k}: no resume\n{}",
            lab.log("ours")
        );
        // A few adverts after the resume, so the gap that spans the crash is closed.
        assert!(lab.wait_for(Duration::from_secs(5), || h1_adverts(&lab, 51) >= seen + 3));
    }
    // One more second of quiet operation.
    let seen = h1_adverts(&lab, 51);
    assert!(lab.wait_for(Duration::from_secs(5), || h1_adverts(&lab, 51)
        >= seen + (1.0 / ADVERT) as usize));

    let log = lab.log("ours");
    let adverts = lab.adverts("cap");
    // Restart delays by the default policy: two at once, then 100 ms, 200 ms.
    let backoff = [0.0, 0.0, 0.1, 0.2];
    for (k, (&at, delay)) in crashed_at.iter().zip(backoff).enumerate() {
        let gap = gap_around(&adverts, &h1, 51, at).expect("adverts around the crash");
        eprintln!("crash {}: adverts paused {:.1} ms", k + 1, gap * 1000.0);
        assert!(
            gap <= ADVERT + delay + TOLERANCE,
            "crash {}: VI_1's adverts paused {gap:.3} s (bound {:.3})",
            k + 1,
            ADVERT + delay + TOLERANCE
        );
    }
    for delay_ms in ["restart_in_ms=0", "restart_in_ms=100", "restart_in_ms=200"] {
        assert!(log.contains(delay_ms), "no {delay_ms} in the log:\n{log}");
    }
    assert_eq!(
        count(&log, "supervised actor failed; restarting"),
        4,
        "{log}"
    );
    // The sibling instance was never touched.
    let (gap2, _) = max_gap(&adverts, &h1, 52).expect("VI_2 adverts");
    assert!(gap2 <= ADVERT + TOLERANCE, "VI_2 paused {gap2:.3} s");
    // Only VI_1's four resumes are new transitions.
    assert_eq!(
        count(&log, "VRRP_Instance(") - transitions_before,
        4,
        "unexpected transitions:\n{log}"
    );
    // The MASTER never left: every advert from h1 at priority 150, none from the backup.
    assert!(
        adverts.iter().all(|a| a.src == h1 && a.prio == 150),
        "{adverts:?}"
    );
    let ka = lab.log("ka");
    assert!(!ka[ka_before..].contains("Entering MASTER STATE"), "{ka}");
    let deleted: Vec<String> = lab
        .address_events("mon")
        .into_iter()
        .filter(|e| e.starts_with("Deleted"))
        .collect();
    assert_eq!(deleted, Vec::<String>::new(), "VIPs were removed");
    assert_eq!(lab.owners(&vip1), vec![1]);
    assert_eq!(lab.owners(&vip2), vec![1]);

    // Reported in the metrics; the daemon is still running.
    let text = lab.scrape(1, 9650);
    let actor = "actor=\"vrrp eth0/V4/51\"";
    assert_eq!(
        metric(&text, "keepalived_actor_crashes_total", actor),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "keepalived_actor_restarts_total", actor),
        Some(4.0),
        "{text}"
    );
    assert!(lab.running("ours"));
}
