//! State dumps of the running daemon, side by side with keepalived 2.2.7 on the same LAN and
//! configuration: SIGUSR1 / SIGUSR2 / SIGRTMIN+2 write keepalived.data / .stats / .json in
//! $TMPDIR (or where `state_dump_file` says), in keepalived's layouts (the JSON keys and types
//! keepalived itself writes, the stats lines keepalived writes); `--status` asks each of two
//! daemons running side by side over its own 0600 control socket; STATS_CLEAR resets the
//! counters; the socket disappears with the daemon.

mod common;

use common::lab::{self, Lab};
use serde_json::Value;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const WAIT: Duration = Duration::from_secs(15);

fn read_when_present(lab: &Lab, p: &Path) -> String {
    assert!(
        lab.wait_for(WAIT, || p.exists()),
        "{} was not written",
        p.display()
    );
    std::fs::read_to_string(p).unwrap()
}

fn status(pid: &str, what: &str) -> (bool, String, String) {
    let o = Command::new(OURS)
        .args(["-p", pid, &format!("--status={what}")])
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The stats text with every number replaced by N: the layout only.
fn skeleton(stats: &str) -> String {
    stats
        .lines()
        .map(|l| match l.rsplit_once(": ") {
            Some((k, v)) if v.chars().all(|c| c.is_ascii_digit()) => format!("{k}: N"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn kill(pid_file: &Path, sig: i32) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(pid, sig) };
}

#[test]
fn dumps_like_keepalived_and_status_per_daemon() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(3);
    let vip = lab.vip4(100);
    let d = lab.dir.clone();
    let dirs: Vec<PathBuf> = ["a", "ka", "b", "custom"]
        .iter()
        .map(|n| {
            let p = d.join(n);
            std::fs::create_dir_all(&p).unwrap();
            p
        })
        .collect();
    let (tmp_a, tmp_ka, tmp_b, custom) = (&dirs[0], &dirs[1], &dirs[2], &dirs[3]);
    let vips = [format!("{vip}/24")];
    let extra = "    virtual_ipaddress_excluded {\n        10.250.0.1\n    }\n";
    // A: MASTER; keepalived and B: backups. B's data dump goes where state_dump_file says.
    let ca = lab.write(
        "a.conf",
        &lab::vrrp_conf("", 51, 150, 3, "0.1", &vips, extra),
    );
    let cka = lab.write(
        "ka.conf",
        &lab::vrrp_conf("", 51, 100, 3, "0.1", &vips, extra),
    );
    let cb = lab.write(
        "b.conf",
        &lab::vrrp_conf(
            &format!("state_dump_file {}/state.txt", custom.display()),
            51,
            50,
            3,
            "0.1",
            &vips,
            extra,
        ),
    );
    // start_rs_with puts the pid files at DIR/a.pid and DIR/b.pid.
    let (pid_a, pid_b) = (d.join("a.pid"), d.join("b.pid"));
    let (pa, pb) = (pid_a.display().to_string(), pid_b.display().to_string());
    let env = |t: &Path| format!("TMPDIR={}", t.display());
    lab.start_rs_with(1, "a", &[&env(tmp_a)], OURS, &["-n", "-l", "-G"], &ca);
    let cka = cka.display().to_string();
    let ka_pid = d.join("ka.pid");
    let (kp, kr, kc) = (
        ka_pid.display().to_string(),
        d.join("ka_vrrp.pid").display().to_string(),
        d.join("ka_chk.pid").display().to_string(),
    );
    lab.spawn(
        2,
        "ka",
        &[
            "env",
            &env(tmp_ka),
            "keepalived",
            "-n",
            "-l",
            "-f",
            &cka,
            "-p",
            &kp,
            "-r",
            &kr,
            "-c",
            &kc,
        ],
    );
    lab.start_rs_with(3, "b", &[&env(tmp_b)], OURS, &["-n", "-l", "-G"], &cb);
    assert!(
        lab.wait_for(WAIT, || lab.owners(&vip) == vec![1]),
        "A never became the only master: {:?}\n{}",
        lab.owners(&vip),
        lab.log("a")
    );
    // Both backups have heard A (their JSON says BACKUP with master priority 150).
    assert!(
        lab.wait_for(WAIT, || status(&pb, "json")
            .1
            .contains("\"master_priority\":150")),
        "B: {:?}\n{}",
        status(&pb, "json"),
        lab.log("b")
    );
    assert!(lab.wait_for(WAIT, || ka_pid.exists()));

    // Signals: the numbers `keepalived --signum` gives (the exporters send those).
    let json_sig = libc::SIGRTMIN() + 2;
    for sig in [libc::SIGUSR1, libc::SIGUSR2, json_sig] {
        lab.signal("a", sig);
        lab.signal("b", sig);
        kill(&ka_pid, sig);
    }
    let a_json = read_when_present(&lab, &tmp_a.join("keepalived.json"));
    let ka_json = read_when_present(&lab, &tmp_ka.join("keepalived.json"));
    let b_json = read_when_present(&lab, &tmp_b.join("keepalived.json"));
    let a_stats = read_when_present(&lab, &tmp_a.join("keepalived.stats"));
    let ka_stats = read_when_present(&lab, &tmp_ka.join("keepalived.stats"));
    let a_data = read_when_present(&lab, &tmp_a.join("keepalived.data"));
    let ka_data = read_when_present(&lab, &tmp_ka.join("keepalived.data"));
    let b_data = read_when_present(&lab, &custom.join("state.txt"));
    assert!(
        !tmp_b.join("keepalived.data").exists(),
        "state_dump_file ignored"
    );
    for f in [
        tmp_a.join("keepalived.json"),
        tmp_a.join("keepalived.stats"),
        tmp_a.join("keepalived.data"),
    ] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }

    // JSON: v1 array, numeric states, counters from the running actors.
    let a: Value = serde_json::from_str(&a_json).expect("A's JSON");
    let ka: Value = serde_json::from_str(&ka_json).expect("keepalived's JSON");
    let b: Value = serde_json::from_str(&b_json).expect("B's JSON");
    let (ad, kd, bd) = (&a[0]["data"], &ka[0]["data"], &b[0]["data"]);
    assert_eq!(ad["iname"], "VI_51");
    assert_eq!(ad["state"], 2, "{a_json}");
    assert_eq!(kd["state"], 1, "{ka_json}");
    assert_eq!(bd["state"], 1, "{b_json}");
    assert_eq!(bd["master_priority"], 150);
    assert_eq!(a[0]["stats"]["become_master"], 1);
    assert!(a[0]["stats"]["advert_sent"].as_u64().unwrap_or(0) > 0);
    assert!(b[0]["stats"]["advert_rcvd"].as_u64().unwrap_or(0) > 0);
    // Every key keepalived 2.2.7 writes, we write, with the same JSON type; the
    // configuration-derived values are equal (VIP strings too, but for " set" on the master).
    for part in ["data", "stats"] {
        let (ours, theirs) = (&b[0][part], &ka[0][part]);
        for (k, v) in theirs.as_object().unwrap() {
            let Some(o) = ours.get(k) else {
                panic!("{part}.{k} missing: ours {ours}\nkeepalived {theirs}")
            };
            assert_eq!(kind(o), kind(v), "{part}.{k}: ours {o}, keepalived {v}");
        }
    }
    for k in [
        "ifp_ifname",
        "vrid",
        "master_priority",
        "garp_delay",
        "garp_rep",
        "garp_refresh",
        "garp_refresh_rep",
        "garp_lower_prio_delay",
        "garp_lower_prio_rep",
        "adver_int",
        "version",
        "wantstate",
        "vipset",
        "accept",
        "nopreempt",
        "evips",
    ] {
        assert_eq!(bd[k], kd[k], "{k}: ours {b_json}\nkeepalived {ka_json}");
    }
    assert_eq!(bd["vips"], kd["vips"]);
    assert_eq!(
        ad["vips"][0].as_str().map(|s| s.trim_end_matches(" set")),
        kd["vips"][0].as_str()
    );

    // Stats: keepalived 2.2.7's layout line for line.
    assert_eq!(
        skeleton(&a_stats),
        skeleton(&ka_stats),
        "{a_stats}\n---\n{ka_stats}"
    );
    assert!(a_stats.contains("  Became master: 1\n"), "{a_stats}");

    // Data: the lines exporters read are where keepalived has them.
    for (who, text, state) in [
        ("ours", &a_data, "MASTER"),
        ("keepalived", &ka_data, "BACKUP"),
        ("ours B", &b_data, "BACKUP"),
    ] {
        for line in [
            "------< VRRP Topology >------\n VRRP Instance = VI_51\n".to_string(),
            format!("   State = {state}\n"),
            format!("   Wantstate = {state}\n"),
            "   Interface = eth0\n".into(),
            "   Virtual Router ID = 51\n".into(),
            "   Gratuitous ARP delay = 5\n".into(),
            format!("   Virtual IP (1):\n     {vip}/24 dev eth0 scope global"),
            "   Virtual IP Excluded :\n     10.250.0.1 dev eth0 scope global".into(),
        ] {
            assert!(text.contains(&line), "{who} lacks {line:?}:\n{text}");
        }
    }
    assert!(
        b_data.contains(&format!("   Master router = {}\n", lab.ip4(1))),
        "{b_data}"
    );

    // --status: each daemon over its own socket, 0600, root's.
    for (pid, state) in [(&pa, 2), (&pb, 1)] {
        let m = std::fs::metadata(pid.replace(".pid", ".sock")).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(m.uid(), 0);
        let (ok, out, err) = status(pid, "json");
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).expect("--status prints JSON");
        assert_eq!(v[0]["data"]["state"], state, "{out}");
        assert_eq!(v[0]["data"]["iname"], "VI_51");
    }
    let (ok, data, _) = status(&pa, "data");
    assert!(ok && data.contains("   State = MASTER\n"), "{data}");
    let (ok, _, err) = status(&d.join("nobody.pid").display().to_string(), "json");
    assert!(!ok && err.contains("cannot connect"), "{err}");

    // STATS_CLEAR: stats written, then counting starts again from 0.
    let (_, before, _) = status(&pa, "stats");
    assert!(before.contains("  Became master: 1\n"), "{before}");
    std::fs::remove_file(tmp_a.join("keepalived.stats")).unwrap();
    lab.signal("a", libc::SIGRTMAX() - 1);
    let cleared = read_when_present(&lab, &tmp_a.join("keepalived.stats"));
    assert!(cleared.contains("  Became master: 1\n"), "{cleared}");
    let (_, after, _) = status(&pa, "stats");
    assert!(after.contains("  Became master: 0\n"), "{after}");
    assert!(
        lab.running("a"),
        "a realtime signal must not kill the daemon"
    );

    // The socket goes with the daemon.
    lab.signal("a", libc::SIGTERM);
    assert!(lab.wait_exit("a", WAIT).is_some());
    assert!(!Path::new(&pa.replace(".pid", ".sock")).exists());
    assert!(lab.running("b"));
}

/// The configuration `--status` and the dumps show is the snapshot the last reload stored
/// (read lock-free, not asked of the actors): right after each reload, the instance's
/// configured priority (changed in place, the instance keeps running) is the new one.
#[test]
fn status_shows_the_configuration_the_last_reload_stored() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(61);
    let vips = [format!("{vip}/24")];
    let conf_of = |prio: u8| lab::vrrp_conf("", 61, prio, 3, "0.1", &vips, "");
    let conf = lab.write("a.conf", &conf_of(150));
    let pid = lab.dir.join("a.pid").display().to_string();
    lab.start_rs_with(
        1,
        "a",
        &[],
        OURS,
        &["-n", "-l", "-G", "--no-config-watch"],
        &conf,
    );
    let shows = |prio: u8| {
        status(&pid, "json")
            .1
            .contains(&format!("\"base_priority\":{prio}"))
    };
    assert!(
        lab.wait_for(WAIT, || shows(150)),
        "{:?}\n{}",
        status(&pid, "json"),
        lab.log("a")
    );
    for prio in [120, 130] {
        lab.rewrite(&conf, &conf_of(prio));
        assert!(lab.reload("a", WAIT), "{}", lab.log("a"));
        // Stored before the reload says it is complete: no waiting.
        assert!(shows(prio), "{prio}: {:?}", status(&pid, "json"));
        let (ok, data, _) = status(&pid, "data");
        assert!(ok && data.contains(&format!("Priority = {prio}")), "{data}");
    }
    assert!(
        lab.log("a").contains("1 updated in place"),
        "{}",
        lab.log("a")
    );
}
