//! The command-line contract: keepalived's flags, `-t` output and exit codes, `-d` JSON; the
//! daemon options proved in network namespaces: `-V` keeps the VIPs, virtual routes and vmac
//! at stop (no priority 0), as keepalived 2.2.7 does in the same test,
//! `-X` clears leftover VIPs of an instance that starts in FAULT, `-s NAME` runs in the named
//! namespace, `-u` / `-g` / `-a` on the files and lines they produce.

mod common;

use common::lab::{self, Lab};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface lo\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.9.0.1/24\n  }\n}\n";

#[test]
fn config_test_passes_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.conf", GOOD);
    let out = bin().args(["-t", "-f"]).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 error(s)"), "{err}");
}

#[test]
fn config_test_reports_located_errors_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "k.conf",
        &GOOD
            .replace("51", "300")
            .replace("priority 100", "priority abc"),
    );
    let out = bin().arg("-t").arg("-f").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    let fname = f.display().to_string();
    assert!(
        err.contains(&format!("{fname}:4: error: virtual_router_id")),
        "{err}"
    );
    // keepalived uses 100 for a bad priority: a warning naming the recovery.
    assert!(
        err.contains(&format!(
            "{fname}:5: warning: priority: 'abc' is not a valid number: using 100, as keepalived does"
        )),
        "{err}"
    );
}

#[test]
fn strict_refuses_what_keepalived_recovers_from() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "k.conf",
        &GOOD.replace("priority 100", "priority abc"),
    );
    let out = bin().arg("-t").arg("-f").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let out = bin()
        .arg("--strict")
        .arg("-t")
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(":5: error: priority: 'abc' is not a valid number: keepalived would recover by using 100 (refused by --strict)"),
        "{err}"
    );
}

#[test]
fn warnings_only_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "k.conf",
        &GOOD.replace("priority 100", "priority 100\n  frobnicate yes"),
    );
    let out = bin().arg("-t").arg("-f").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(":6: warning: unknown keyword 'frobnicate'"),
        "{err}"
    );
}

#[test]
fn errors_in_included_file_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.conf",
        "include conf.d/*.conf\ninclude missing/*.conf\n",
    );
    write(
        dir.path(),
        "conf.d/a.conf",
        &GOOD.replace("virtual_router_id 51", "virtual_router_id 0"),
    );
    let out = bin().arg("-t").arg("-f").arg(&main).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    let inc = dir.path().join("conf.d/a.conf").display().to_string();
    assert!(
        err.contains(&format!("{inc}:4: error: virtual_router_id")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:2: warning: include missing/*.conf",
            main.display()
        )),
        "{err}"
    );
}

#[test]
fn config_test_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.conf", &GOOD.replace("51", "300"));
    let report = dir.path().join("report.txt");
    let out = bin()
        .arg(format!("--config-test={}", report.display()))
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains(":4: error: virtual_router_id"), "{text}");
    // keepalived appends to the file: a second test adds its report after the first.
    let again = bin()
        .arg(format!("-t{}", report.display()))
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(5));
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        text.matches("configuration test failed").count(),
        2,
        "{text}"
    );
}

#[test]
fn missing_file_is_reported() {
    let out = bin()
        .args(["-t", "-f", "/nonexistent/keepalived.conf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/keepalived.conf"));
}

#[test]
fn dump_conf_is_json_of_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.conf", GOOD);
    let out = bin().arg("-d").arg("-f").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"][0]["vrid"], 51);
    assert_eq!(
        v["instances"][0]["virtual_ipaddress"][0]["addr"],
        "10.9.0.1/24"
    );
    assert_eq!(v["instances"][0]["advert_int"]["secs"], 1);
}

#[test]
fn version_and_signum() {
    let out = bin().arg("-v").output().unwrap();
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.starts_with("keepalived-rs v"));
    // mehdy/keepalived-exporter --ka.json refuses a keepalived without it.
    assert!(v.contains("--enable-json"), "{v}");
    let out = bin().args(["--signum", "RELOAD"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let out = bin().args(["--signum=STOP"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "15");
    // The numbers exporters get from `keepalived --signum=...` are the ones we handle.
    for (f, n) in [
        ("DATA", "10"),
        ("STATS", "12"),
        ("JSON", "36"),
        ("STATS_CLEAR", "63"),
    ] {
        let out = bin().arg(format!("--signum={f}")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), n, "{f}");
        if let Ok(ka) = std::process::Command::new("keepalived")
            .arg(format!("--signum={f}"))
            .output()
        {
            assert_eq!(
                String::from_utf8_lossy(&ka.stdout).trim(),
                n,
                "keepalived {f}"
            );
        }
    }
}

#[test]
fn keepalived_flags_are_accepted() {
    // The flags of Debian's keepalived.service / /etc/default/keepalived must parse.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.conf", GOOD);
    let out = bin()
        .args([
            "-D",
            "-l",
            "-n",
            "-P",
            "-B",
            "-S",
            "7",
            "-r",
            "/tmp/x.vrrp.pid",
            "-c",
            "/tmp/x.chk.pid",
        ])
        .args(["-i", "node1", "-t", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A configuration big enough that its JSON overflows a pipe's buffer.
fn big_conf(dir: &Path) -> std::path::PathBuf {
    let text: String = (1..=200)
        .map(|i| {
            GOOD.replace("VI_1", &format!("VI_{i}"))
                .replace("51", &i.to_string())
        })
        .collect();
    write(dir, "big.conf", &text)
}

#[test]
fn dump_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let f = big_conf(dir.path());
    for extra in [&[][..], &["-t"][..]] {
        let mut child = bin()
            .args(extra)
            .arg("-d")
            .arg("-f")
            .arg(&f)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: one line read, then the reader is gone.
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(first.trim(), "{");
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
    }
}

#[test]
fn config_test_with_dump_does_both() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "k.conf",
        // A keyword without a value: an error keepalived refuses too (a bad value would be
        // a recovery, not an error).
        &GOOD.replace("priority 100", "priority"),
    );
    let out = bin().args(["-t", "-d", "-f"]).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // The test's diagnostics and status...
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains(":5: error: 'priority' needs a value"), "{err}");
    assert!(err.contains("configuration test failed"), "{err}");
    // ...and the dump.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"][0]["vrid"], 51);
}

#[test]
fn internal_options_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "k.conf", GOOD);
    // The SNMP options are accepted (tests/snmp_agentx.rs runs the subagent).
    for flags in [&["-x"][..], &["--snmp"][..], &["-A", "/run/agentx"][..]] {
        let out = bin()
            .args(flags)
            .args(["-t", "-f"])
            .arg(&f)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {err}");
    }
    for (flags, says) in [
        (&["--config-fd=3"][..], "--config-fd"),
        (&["--debug=TpM"][..], "--debug"),
        (&["--no-mem-check"][..], "--no-mem-check"),
    ] {
        // With -t too: a refused option is never ignored.
        let out = bin()
            .args(flags)
            .args(["-t", "-f"])
            .arg(&f)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}

#[test]
fn unknown_options_and_missing_parameters_exit_1_as_keepalived() {
    for flags in [&["--frobnicate"][..], &["-f"][..], &["-Z"][..]] {
        let out = bin().args(flags).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {err}");
        assert!(err.starts_with("error:"), "{flags:?}: {err}");
    }
    let out = bin().arg("-h").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--dont-release-vrrp"));
}

#[test]
fn genhash_mode_runs_genhash_with_the_rest() {
    // Nothing listens on port 1: genhash's own error, not an option error.
    let out = bin()
        .args(["-T", "-s", "127.0.0.1", "-p", "1", "-u", "/"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("genhash: 127.0.0.1:1/"), "{err}");
    let out = bin()
        .args(["-T", "-S", "-s", "127.0.0.1", "-u", "/"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not supported"), "{err}");
}

/// One instance alone on eth0: MASTER after its down timer.
fn solo_conf(vip: &str, extra: &str) -> String {
    lab::vrrp_conf("", 42, 100, 3, "0.1", &[format!("{vip}/24")], extra)
}

fn prio0_from(lab: &Lab, cap: &str, src: &str) -> usize {
    lab.adverts(cap)
        .iter()
        .filter(|a| a.src == src && a.vrid == 42 && a.prio == 0)
        .count()
}

#[test]
fn dont_release_vrrp_keeps_vips_at_stop_and_sends_no_priority_0() {
    if lab::skip_without(false, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(42);
    let route = format!("10.{}.77.0/24", lab.net());
    let extra = format!("    use_vmac\n    virtual_routes {{\n        {route} dev eth0\n    }}\n");
    let conf = lab.write("k.conf", &solo_conf(&vip, &extra));
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    let me = lab.ip4(1);
    let has_vmac = |lab: &Lab| {
        lab.exec(1, &["ip", "link", "show", "vrrp.42"])
            .status
            .success()
    };
    let has_route = |lab: &Lab| {
        let o = lab.exec(1, &["ip", "route", "show", &route]);
        !String::from_utf8_lossy(&o.stdout).trim().is_empty()
    };
    // keepalived 2.2.7 itself first (when installed): what -V is measured against.
    let mut rounds = vec![("v", true), ("plain", false)];
    if lab::have("keepalived") {
        rounds.insert(0, ("keepalived-v", true));
    }
    for (round, keep) in rounds {
        let cap = format!("cap-{round}");
        lab.capture_vrrp(1, &cap);
        let flags: &[&str] = if keep {
            &["-n", "-l", "-D", "-G", "-V"]
        } else {
            &["-n", "-l", "-D", "-G"]
        };
        if round == "keepalived-v" {
            let d = lab.dir.display().to_string();
            let (c, p, r, k) = (
                conf.display().to_string(),
                format!("{d}/ka.pid"),
                format!("{d}/ka.vrrp.pid"),
                format!("{d}/ka.chk.pid"),
            );
            let args = [
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-V",
                "-f",
                &c,
                "-p",
                &p,
                "-r",
                &r,
            ];
            lab.spawn(1, round, &[&args[..], &["-c", &k]].concat());
        } else {
            lab.start_rs_with(1, round, &[], bin, flags, &conf);
        }
        assert!(
            lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
            "{round}: never MASTER: {}",
            lab.log(round)
        );
        assert!(lab.wait_for(WAIT, || has_route(&lab)), "{round}: no route");
        // MASTER adverts are on the wire before we stop it.
        assert!(lab.wait_for(WAIT, || lab
            .adverts(&cap)
            .iter()
            .any(|a| a.src == me && a.prio == 100)));
        lab.signal(round, libc::SIGTERM);
        let st = lab.wait_exit(round, WAIT);
        assert!(st.is_some_and(|s| s.success()), "{round}: {st:?}");
        if keep {
            assert!(
                lab.has_addr(1, &vip),
                "-V removed the VIP: {}",
                lab.log(round)
            );
            assert!(has_route(&lab), "-V removed the virtual route");
            assert!(has_vmac(&lab), "-V removed the vmac");
            // Once it exited nothing more can come; the capture has had the time of a few
            // adverts to show a priority 0 it would have sent before exiting.
            let seen_more = lab.wait_for(Duration::from_millis(500), || {
                prio0_from(&lab, &cap, &me) > 0
            });
            assert!(!seen_more, "-V sent priority 0: {}", lab.log(&cap));
        } else {
            assert!(!lab.has_addr(1, &vip), "VIP left: {}", lab.log(round));
            assert!(!has_route(&lab), "virtual route left");
            assert!(!has_vmac(&lab), "vmac left");
            assert!(
                lab.wait_for(WAIT, || prio0_from(&lab, &cap, &me) > 0),
                "no priority 0 at stop: {}",
                lab.log(&cap)
            );
        }
        lab.stop_capture(&cap);
    }
}

#[test]
fn leftover_vips_are_cleared_at_start_and_with_v_on_reload() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let (vip, other) = (lab.vip4(43), lab.vip4(49));
    // The tracked interface is down: the instance starts in FAULT.
    lab.must_exec(
        1,
        &[
            "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ],
    );
    let track = "    track_interface {\n        trk0\n    }\n";
    let faulty = solo_conf(&vip, track);
    // Another instance (MASTER alone) so that keepalived's reload is a VRRP reload.
    let base = lab::vrrp_conf("", 9, 100, 3, "0.1", &[format!("{other}/24")], "")
        .replace("global_defs {\n    router_id lab\n    \n}\n", "");
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    let mut daemons = vec![false];
    if lab::have("keepalived") {
        // keepalived 2.2.7 first: what we are measured against.
        daemons.insert(0, true);
    }
    let mut n = 0;
    for ka in daemons {
        // (at daemon start or added by a reload, flag, removed?)
        for (reload, flag, removed) in [
            (false, None, true),
            (true, None, false),
            (true, Some("-X"), false),
            (true, Some("-V"), true),
        ] {
            n += 1;
            let name = format!("{}{n}", if ka { "ka" } else { "rs" });
            // What a previous run (killed, or stopped with -V) left.
            let _ = lab.exec(
                1,
                &["ip", "addr", "add", &format!("{vip}/24"), "dev", "eth0"],
            );
            let first = if reload { base.clone() } else { faulty.clone() };
            let conf = lab.write(&format!("{name}.conf"), &first);
            let c = conf.display().to_string();
            let pid = |s: &str| lab.dir.join(format!("{name}.{s}")).display().to_string();
            let (p, r, k) = (pid("pid"), pid("vrrp.pid"), pid("chk.pid"));
            let mut args = if ka {
                vec![
                    "keepalived",
                    "-n",
                    "-l",
                    "-D",
                    "-f",
                    &c,
                    "-p",
                    &p,
                    "-r",
                    &r,
                    "-c",
                    &k,
                ]
            } else {
                vec![
                    bin,
                    "-n",
                    "-l",
                    "-D",
                    "-G",
                    "--no-config-watch",
                    "-f",
                    &c,
                    "-p",
                    &p,
                ]
            };
            args.extend(flag);
            lab.spawn(1, &name, &args);
            if reload {
                assert!(
                    lab.wait_for(WAIT, || lab.has_addr(1, &other)),
                    "{}",
                    lab.log(&name)
                );
                assert!(
                    lab.has_addr(1, &vip),
                    "{name}: not configured yet, but removed"
                );
                lab.rewrite(&conf, &format!("{base}{faulty}"));
                lab.signal(&name, libc::SIGHUP);
            }
            let fault = |l: &str| {
                l.lines().any(|l| {
                    l.contains("VI_42") && (l.contains("-> FAULT") || l.contains("entering FAULT"))
                })
            };
            assert!(
                lab.wait_for(WAIT, || fault(&lab.log(&name))),
                "{name}: not FAULT: {}",
                lab.log(&name)
            );
            if removed {
                assert!(
                    lab.wait_for(WAIT, || !lab.has_addr(1, &vip)),
                    "{name} (reload {reload}, {flag:?}) left the VIP: {}",
                    lab.log(&name)
                );
            } else {
                assert!(
                    lab.holds_for(Duration::from_millis(500), || lab.has_addr(1, &vip)),
                    "{name} (reload {reload}, {flag:?}) removed the VIP: {}",
                    lab.log(&name)
                );
            }
            lab.signal(&name, libc::SIGTERM);
            assert!(lab.wait_exit(&name, WAIT).is_some());
            // -V leaves the other instance's VIP too.
            let _ = lab.exec(
                1,
                &["ip", "addr", "del", &format!("{other}/24"), "dev", "eth0"],
            );
        }
    }
}

#[test]
fn namespace_option_runs_the_daemon_in_the_named_namespace() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let lab = Lab::new(1);
    let vip = lab.vip4(44);
    // -s overrides the configuration's namespace (which we do not act on).
    let conf = lab.write(
        "k.conf",
        &format!("net_namespace elsewhere\n{}", solo_conf(&vip, "")),
    );
    let ns = lab.ns(1).to_string();
    // Syslog goes to our socket: its ident names the namespace, as keepalived's does.
    let sock = lab.dir.join("syslog.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    syslog.set_read_timeout(Some(WAIT)).unwrap();
    // From the host's namespace, without -p: keepalived's per-namespace pid file.
    let console = std::fs::File::create(lab.dir.join("ns.log")).unwrap();
    let mut child = bin()
        .args(["-n", "-l", "-s", &ns, "-f"])
        .arg(&conf)
        .env("KEEPALIVED_RS_SYSLOG_SOCKET", &sock)
        .stdout(Stdio::null())
        .stderr(console)
        .spawn()
        .unwrap();
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: a signal to the child we started.
            unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
        }
    }
    let _k = Kill(child.id());
    let mut buf = [0u8; 2048];
    let n = syslog.recv(&mut buf).unwrap();
    let line = String::from_utf8_lossy(&buf[..n]);
    assert!(line.contains(&format!(" Keepalived_rs_{ns}[")), "{line}");
    let overriding =
        format!("Overriding config net_namespace 'elsewhere' with command line namespace '{ns}'");
    assert!(
        lab.wait_for(WAIT, || std::fs::read_to_string(lab.dir.join("ns.log"))
            .unwrap_or_default()
            .contains(&overriding))
    );
    let pid_file = format!("/run/keepalived-rs/{ns}/keepalived-rs.pid");
    assert!(
        lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
        "VIP not in {ns}"
    );
    let host = lab::run(&["ip", "-o", "addr", "show"]);
    assert!(!String::from_utf8_lossy(&host.stdout).contains(&format!("{vip}/")));
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    assert_eq!(pid.trim(), child.id().to_string(), "{pid_file}");
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(lab.wait_for(WAIT, || matches!(child.try_wait(), Ok(Some(_)))));
    assert!(!lab.has_addr(1, &vip));
    assert!(!Path::new(&pid_file).exists());
    let _ = std::fs::remove_dir(format!("/run/keepalived-rs/{ns}"));
    // -t -s: interfaces are those of the namespace (only it has nsonly0).
    lab.must_exec(
        1,
        &[
            "ip", "link", "add", "nsonly0", "type", "veth", "peer", "name", "nsonly1",
        ],
    );
    let conf = lab.write("t.conf", &GOOD.replace("interface lo", "interface nsonly0"));
    let warned = |flags: &[&str]| {
        let o = bin().args(flags).arg("-f").arg(&conf).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        err.contains("interface 'nsonly0' does not exist")
    };
    assert!(!warned(&["-t", "-s", &ns]));
    assert!(warned(&["-t"]));
}

#[test]
fn umask_log_file_and_address_monitoring() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(45);
    let conf = lab.write("k.conf", &solo_conf(&vip, ""));
    let log = lab.dir.join("ka.log");
    let g = format!("-g{}", log.display());
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    let (vrrp_pid, chk_pid) = (lab.dir.join("vrrp.pid"), lab.dir.join("chk.pid"));
    let (r, c) = (
        vrrp_pid.display().to_string(),
        chk_pid.display().to_string(),
    );
    let flags = ["-n", "-G", "-u", "077", "-a", &g, "-m", "-r", &r, "-c", &c];
    lab.start_rs_with(1, "d", &[], bin, &flags, &conf);
    assert!(
        lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
        "{}",
        lab.log("d")
    );
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    // -g: keepalived's `DAY MON DD HH:MM:SS.NNNNNNNNN YYYY: message` lines, transitions included.
    assert!(
        lab.wait_for(WAIT, || text()
            .contains("VRRP_Instance(VI_42) BACKUP -> MASTER")),
        "{}",
        text()
    );
    // -a: the netlink reflector's line for the VIP we added.
    let added = format!("Netlink reflector reports IP {vip} added to eth0");
    assert!(lab.wait_for(WAIT, || text().contains(&added)), "{}", text());
    let line = text()
        .lines()
        .find(|l| l.contains(&added))
        .unwrap()
        .to_string();
    let (ts, _) = line.split_once(": ").unwrap();
    assert_eq!(ts.split(' ').count(), 5, "{line}");
    // -u 077: the files we create are ours alone.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&lab.dir.join("d.pid")), 0o600);
    // -r: one process runs VRRP, its pid is the VRRP pid; -c: no checker runs, no file.
    let pid = lab.pid("d").unwrap().to_string();
    assert_eq!(std::fs::read_to_string(&vrrp_pid).unwrap().trim(), pid);
    assert!(!chk_pid.exists());
    // -m: "Max core file size  SOFT  HARD  bytes": the soft limit (0 by default here) is
    // raised.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .and_then(|l| l.split_whitespace().nth(4));
    assert_eq!(soft, Some("unlimited"), "{limits}");
    lab.signal("d", libc::SIGTERM);
    assert!(lab.wait_exit("d", WAIT).is_some_and(|s| s.success()));
}

#[test]
fn dont_respawn_stops_the_daemon_when_an_instance_crashes() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(46);
    let conf = lab.write("k.conf", &solo_conf(&vip, ""));
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    let env = ["KEEPALIVED_RS_FAULT_INJECTION=1"];
    lab.start_rs_with(1, "r", &env, bin, &["-n", "-l", "-G", "-R"], &conf);
    assert!(
        lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
        "{}",
        lab.log("r")
    );
    lab.signal("r", keepalived_rs::runtime::fault::trigger_signal());
    let st = lab.wait_exit("r", WAIT);
    assert!(st.is_some_and(|s| s.success()), "{st:?}: {}", lab.log("r"));
    assert!(lab.log("r").contains("crashed: exiting (--dont-respawn)"));
    // A normal stop: the VIP is released.
    assert!(!lab.has_addr(1, &vip));
}

#[test]
fn a_reload_bringing_the_first_virtual_server_starts_the_checkers() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(47);
    let base = solo_conf(&vip, "");
    let conf = lab.write("k.conf", &base);
    let mark = lab.dir.join("checked");
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    let flags = ["-n", "-l", "-G", "--no-config-watch"];
    lab.start_rs_with(1, "c", &[], bin, &flags, &conf);
    assert!(
        lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
        "{}",
        lab.log("c")
    );
    // keepalived starts its checker process when a reload brings virtual servers.
    let vs = format!(
        "virtual_server {vip} 80 {{\n    delay_loop 1\n    real_server {} 80 {{\n        MISC_CHECK {{\n            misc_path \"/bin/touch {}\"\n        }}\n    }}\n}}\n",
        lab.ip4(1),
        mark.display()
    );
    lab.rewrite(&conf, &format!("{base}{vs}"));
    assert!(lab.reload("c", WAIT), "{}", lab.log("c"));
    assert!(
        lab.wait_for(WAIT, || mark.exists()),
        "the check never ran: {}",
        lab.log("c")
    );
    // The next reload goes to the running checkers, and is awaited: their result is logged
    // before the reload says it is complete.
    lab.rewrite(&conf, &base);
    assert!(lab.reload("c", WAIT), "{}", lab.log("c"));
    let log = lab.log("c");
    let checkers = log
        .rfind("checkers reloaded: 0 virtual server(s) added, 1 removed, 0 kept")
        .unwrap_or_else(|| panic!("no checkers' result: {log}"));
    assert!(checkers < log.rfind("reload complete in").unwrap(), "{log}");
    lab.signal("c", libc::SIGTERM);
    assert!(lab.wait_exit("c", WAIT).is_some());
}

#[test]
fn all_runs_the_checkers_without_virtual_servers() {
    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(48);
    let conf = lab.write("k.conf", &solo_conf(&vip, ""));
    let bin = env!("CARGO_BIN_EXE_keepalived-rs");
    for (name, all) in [("plain", false), ("all", true)] {
        let mut flags = vec!["-n", "-l", "-G"];
        if all {
            flags.push("--all");
        }
        lab.start_rs_with(1, name, &[], bin, &flags, &conf);
        assert!(
            lab.wait_for(WAIT, || lab.has_addr(1, &vip)),
            "{}",
            lab.log(name)
        );
        lab.signal(name, libc::SIGTERM);
        assert!(lab.wait_exit(name, WAIT).is_some());
        // The checkers' director reports its stop only if it ran.
        assert_eq!(
            lab.log(name).contains("LVS director stopped"),
            all,
            "{name}: {}",
            lab.log(name)
        );
    }
}

/// The daemon's settings (README "Daemon settings"): an invalid settings file, named by
/// `--settings` or `KEEPALIVED_RS_SETTINGS`, or an unknown `KEEPALIVED_RS__*` variable, stops
/// the start with where and what; a valid file moves the control socket (`--status` reading
/// the same settings finds it) and the syslog socket, and the environment beats the file.
#[test]
fn daemon_settings_file_environment_and_flags() {
    let d = tempfile::tempdir().unwrap();
    let conf = write(d.path(), "k.conf", GOOD);
    let pid = d.path().join("x.pid");
    let start = |settings: Option<&Path>, env: &[(&str, &str)]| {
        let mut c = bin();
        c.args(["-n", "-l", "-G"]);
        if let Some(s) = settings {
            c.arg("--settings").arg(s);
        }
        c.arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(&pid)
            .envs(env.iter().copied());
        let o = c.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let bad = write(d.path(), "bad.toml", "metrics_listen = \n");
    let (code, err) = start(Some(&bad), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with(&format!("{}: ", bad.display())) && err.contains("line 1"),
        "{err}"
    );
    let unknown = write(d.path(), "unknown.toml", "metrics_port = 9650\n");
    let (code, err) = start(
        None,
        &[("KEEPALIVED_RS_SETTINGS", unknown.to_str().unwrap())],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with(&format!("{}: ", unknown.display())) && err.contains("metrics_port"),
        "{err}"
    );
    let missing = d.path().join("missing.toml");
    let (code, err) = start(Some(&missing), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no such file"), "{err}");
    let (code, err) = start(None, &[("KEEPALIVED_RS__METRICS_PORT", "1")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("metrics_port"), "{err}");
    assert!(!pid.exists(), "nothing started");

    if lab::skip(false) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(46);
    let conf = lab.write("s.conf", &solo_conf(&vip, ""));
    let (file_log, env_log) = (lab.dir.join("file.sock"), lab.dir.join("env.sock"));
    let ctl = lab.dir.join("elsewhere.sock");
    let settings = lab.write(
        "settings.toml",
        &format!(
            "control_socket = \"{}\"\nsyslog_socket = \"{}\"\nwatch_debounce_ms = 50\n",
            ctl.display(),
            file_log.display()
        ),
    );
    let from_file = std::os::unix::net::UnixDatagram::bind(&file_log).unwrap();
    let from_env = std::os::unix::net::UnixDatagram::bind(&env_log).unwrap();
    from_env.set_read_timeout(Some(WAIT)).unwrap();
    let env = format!("KEEPALIVED_RS__SYSLOG_SOCKET={}", env_log.display());
    let s = settings.display().to_string();
    let bin_path = env!("CARGO_BIN_EXE_keepalived-rs");
    lab.start_rs_with(1, "s", &[&env], bin_path, &["-n", "--settings", &s], &conf);
    let mut buf = [0u8; 2048];
    let n = from_env.recv(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("Keepalived_rs"),
        "the environment's syslog socket"
    );
    from_file.set_nonblocking(true).unwrap();
    assert!(from_file.recv(&mut buf).is_err(), "not the file's");
    assert!(
        lab.wait_for(WAIT, || ctl.exists()),
        "control socket where the settings say\n{}",
        lab.log("s")
    );
    assert!(!lab.dir.join("s.sock").exists());
    let pid = lab.dir.join("s.pid");
    let status = |with: bool| {
        let mut c = bin();
        c.arg("-p").arg(&pid).arg("--status=json");
        if with {
            c.arg("--settings").arg(&settings);
        }
        c.output().unwrap()
    };
    let o = status(true);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("\"iname\":\"VI_42\""),
        "{:?}: {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !status(false).status.success(),
        "the default socket is not there"
    );
}
