//! Broken-but-recoverable configurations run side by side: the same two files under our daemon
//! in one namespace pair and under keepalived 2.2.7 in a twin pair; the VIP must end up owned by
//! the same host in both. Then a reload with recoverable problems is applied and one with a
//! fatal problem is rejected.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// One instance on eth0 with `body` (whole lines) between the VRID and the VIPs.
fn conf(vrid: u8, vip: &str, body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id {vrid}\n{body}    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// Starts the two hosts of `lab` on `bodies` (ours or keepalived) and returns the VIP. With
/// `h2_first`, h1 starts only once h2 owns the VIP.
fn start_pair(
    lab: &mut Lab,
    keepalived: bool,
    vrid: u8,
    bodies: [&str; 2],
    h2_first: bool,
) -> String {
    let vip = lab.vip4(100);
    let mut recoveries = 0;
    let order: [usize; 2] = if h2_first { [2, 1] } else { [1, 2] };
    for i in order {
        let body = bodies[i - 1];
        let path = lab.write(&format!("h{i}.conf"), &conf(vrid, &vip, body));
        // Our file must pass -t: every problem in it is one keepalived recovers from.
        let t = std::process::Command::new(OURS)
            .args(["-t", "-f"])
            .arg(&path)
            .output()
            .expect("keepalived-rs -t");
        let err = String::from_utf8_lossy(&t.stderr);
        assert_eq!(t.status.code(), Some(0), "{err}");
        recoveries += err.matches(", as keepalived does").count();
        if keepalived {
            lab.start_keepalived(i, &format!("h{i}"), &path);
        } else {
            lab.start_rs(i, &format!("h{i}"), OURS, &path);
        }
        if h2_first && i == 2 {
            assert!(
                lab.wait_for(Duration::from_secs(20), || lab.owners(&vip) == vec![2]),
                "h2 alone did not take {vip}\n{}",
                lab.log("h2")
            );
        }
    }
    assert!(recoveries > 0, "neither file needs a recovery: {bodies:?}");
    vip
}

/// The single owner of `vip` once the election has settled (one owner, unchanged for 3 s).
fn settled_owner(lab: &Lab, vip: &str) -> Vec<usize> {
    let names = ["h1", "h2"];
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(vip).len() == 1),
        "no single owner of {vip}: {:?}\n{}",
        lab.owners(vip),
        lab.logs(&names)
    );
    let owner = lab.owners(vip);
    assert!(
        lab.holds_for(Duration::from_secs(3), || lab.owners(vip) == owner),
        "{vip} moved: {owner:?} -> {:?}\n{}",
        lab.owners(vip),
        lab.logs(&names)
    );
    owner
}

/// Runs `bodies` under keepalived and under keepalived-rs side by side; both must give the VIP
/// to host `expect`. Returns our lab (still running) for further steps.
fn side_by_side(vrid: u8, bodies: [&str; 2], h2_first: bool, expect: usize) -> Lab {
    let mut ka = Lab::new(2);
    let mut ours = Lab::new(2);
    let ka_vip = start_pair(&mut ka, true, vrid, bodies, h2_first);
    let our_vip = start_pair(&mut ours, false, vrid, bodies, h2_first);
    let ka_owner = settled_owner(&ka, &ka_vip);
    let our_owner = settled_owner(&ours, &our_vip);
    assert_eq!(
        our_owner,
        ka_owner,
        "keepalived-rs gave the VIP to {our_owner:?}, keepalived to {ka_owner:?}\nours:\n{}\nkeepalived:\n{}",
        ours.logs(&["h1", "h2"]),
        ka.logs(&["h1", "h2"])
    );
    assert_eq!(
        ka_owner,
        vec![expect],
        "keepalived itself did not recover as expected\n{}",
        ka.logs(&["h1", "h2"])
    );
    ours
}

/// `priority 200,comment` is not a number to keepalived's priority parser: it uses 100, so the
/// other host (150) wins. Then reloads: a recoverable file is applied, a fatal one rejected.
#[test]
fn priority_with_comment_is_100_and_recoverable_reload_applies() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let ours = side_by_side(
        61,
        [
            "    state BACKUP\n    priority 200,comment\n",
            "    state BACKUP\n    priority 150\n",
        ],
        false,
        2,
    );
    let vip = ours.vip4(100);
    let h2 = ours.dir.join("h2.conf");
    // A reload whose file keepalived would run after recovering (unknown state -> BACKUP,
    // undefined track_script ignored): applied, h2 drops to 50 and h1 (100) takes the VIP.
    ours.rewrite(
        &h2,
        &conf(
            61,
            &vip,
            "    state SLAVE\n    priority 50\n    track_script {\n        missing\n    }\n",
        ),
    );
    assert!(
        ours.reload("h2", Duration::from_secs(10)),
        "recoverable reload not applied\n{}",
        ours.log("h2")
    );
    assert!(
        ours.log("h2").contains(
            "track_script 'missing' is not defined: ignoring the reference, as keepalived does"
        ),
        "{}",
        ours.log("h2")
    );
    assert!(
        ours.wait_for(Duration::from_secs(10), || ours.owners(&vip) == vec![1]),
        "h1 did not take over after h2's reload: {:?}\n{}",
        ours.owners(&vip),
        ours.logs(&["h1", "h2"])
    );
    // A reload keepalived refuses (no valid VRID): rejected, h2 keeps running its old file.
    ours.rewrite(
        &h2,
        &conf(61, &vip, "    priority 50\n").replace("id 61", "id 300"),
    );
    ours.signal("h2", libc::SIGHUP);
    assert!(
        ours.wait_for(Duration::from_secs(10), || ours
            .log("h2")
            .contains("keeping the running one")),
        "fatal reload not rejected\n{}",
        ours.log("h2")
    );
    assert!(
        ours.holds_for(Duration::from_secs(2), || ours.owners(&vip) == vec![1]),
        "{:?}\n{}",
        ours.owners(&vip),
        ours.logs(&["h1", "h2"])
    );
    assert!(ours.running("h2"), "h2 died on a rejected reload");
}

/// `state SLAVE` is BACKUP to keepalived, so h1's nopreempt holds: started after h2 (100) owns
/// the VIP, h1 (150) stays backup. Had SLAVE meant MASTER, keepalived would have cleared
/// nopreempt ("will not work with initial state MASTER") and h1 would preempt.
#[test]
fn unknown_state_is_backup_side_by_side() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    side_by_side(
        62,
        [
            "    state SLAVE\n    priority 150\n    nopreempt\n",
            "    state BACKUP\n    priority 100\n",
        ],
        true,
        2,
    );
}

/// VRRPv2 with `advert_int 0.1` runs at 1 s, and an undefined weighted track_script is ignored
/// (h1 stays at 100 below h2's 150).
#[test]
fn v2_subsecond_advert_and_undefined_track_script_side_by_side() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let ours = side_by_side(
        63,
        [
            "    version 2\n    advert_int 0.1\n    priority 100\n    track_script {\n        missing weight 100\n    }\n",
            "    version 2\n    advert_int 0.1\n    priority 150\n",
        ],
        false,
        2,
    );
    assert!(
        ours.log("h1").contains(
            "advert_int: 0.1 s is not a whole number of seconds (VRRP version 2): using 1 s, as keepalived does"
        ),
        "{}",
        ours.log("h1")
    );
}
