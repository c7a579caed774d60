//! The command-line contract: keepalived's flags, `-t` output and exit codes, `-d` JSON.

use std::path::Path;
use std::process::Command;

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
