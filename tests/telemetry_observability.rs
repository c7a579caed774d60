//! observability/ stays in sync with the daemon: every `keepalived_*` metric name used by the
//! Grafana dashboard, the alerts and the compat recording rules is exported by `Metrics`;
//! promtool validates rules and scrape config, and runs the rule unit tests in
//! `observability/tests/` (alerts fire / stay silent on synthetic series), when installed.

use keepalived_rs::telemetry::Metrics;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("observability")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `keepalived_[a-z0-9_]+` tokens of `text` (the name must not continue with another identifier
/// character, and a leading identifier character excludes e.g. `my_keepalived_x`).
fn names(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut out = BTreeSet::new();
    let mut i = 0;
    while let Some(p) = text[i..].find("keepalived_") {
        let start = i + p;
        let mut end = start + "keepalived_".len();
        while end < b.len() && ident(b[end]) {
            end += 1;
        }
        if start == 0 || !ident(b[start - 1]) {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

fn exported() -> BTreeSet<String> {
    Metrics::new().exported_names().into_iter().collect()
}

fn assert_known(file: &str, used: &BTreeSet<String>, allowed_extra: &BTreeSet<String>) {
    let have = exported();
    let unknown: Vec<_> = used
        .iter()
        .filter(|n| !have.contains(*n) && !allowed_extra.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "{file} uses metric names the daemon does not export: {unknown:?}\nexported: {have:?}"
    );
}

#[test]
fn exported_names_cover_the_registry() {
    let n = exported();
    for must in [
        "keepalived_up",
        "keepalived_vrrp_state",
        "keepalived_vrrp_transitions_total",
        "keepalived_vrrp_advertisements_sent_total",
        "keepalived_script_status",
        "keepalived_reload_duration_seconds_bucket",
        "keepalived_reload_duration_seconds_count",
    ] {
        assert!(n.contains(must), "{must} missing from {n:?}");
    }
}

#[test]
fn dashboard_uses_only_exported_metrics() {
    let text = read("grafana-dashboard.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("dashboard is valid JSON");
    // Structure Grafana needs: unique panel ids, every non-row panel has a query.
    let panels = json["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    for p in panels {
        assert!(
            ids.insert(p["id"].as_i64().expect("panel id")),
            "duplicate id"
        );
        if p["type"] != "row" {
            let t = p["targets"].as_array().expect("targets");
            assert!(
                !t.is_empty() && t.iter().all(|t| t["expr"].is_string()),
                "{}",
                p["title"]
            );
        }
    }
    // Trace links to Jaeger exist.
    assert!(text.contains("${jaeger_url}/search"));
    let used = names(&text);
    assert!(used.len() >= 15, "{used:?}");
    assert_known("grafana-dashboard.json", &used, &BTreeSet::new());
}

#[test]
fn alerts_use_only_exported_metrics() {
    let text = read("alerts.yml");
    for alert in [
        "KeepalivedNoMaster",
        "KeepalivedMultipleMasters",
        "KeepalivedFlapping",
    ] {
        assert!(text.contains(&format!("alert: {alert}")), "{alert}");
    }
    assert_known("alerts.yml", &names(&text), &BTreeSet::new());
}

#[test]
fn compat_rules_read_only_exported_metrics() {
    let text = read("compat-rules.yml");
    // Recorded (output) names are the exporters' names; every input must be ours.
    let recorded: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|s| s.trim().to_string())
        .collect();
    assert!(recorded.contains("keepalived_ip_ttl_errors_total"));
    assert!(recorded.contains("keepalived_vrrp_advert_rcvd"));
    // Inputs: every name in the expressions (which span several lines), i.e. the file
    // without its comments and `record:` lines.
    let exprs: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim_start().starts_with("- record: "))
        .collect::<Vec<_>>()
        .join("\n");
    let inputs = names(&exprs);
    assert!(
        inputs.contains("keepalived_vrrp_rx_dropped_total")
            && inputs.contains("keepalived_vrrp_state")
            && inputs.contains("keepalived_vrrp_garp_master_delay_seconds"),
        "{inputs:?}"
    );
    assert_known("compat-rules.yml", &inputs, &BTreeSet::new());
    // No recorded name shadows a native metric.
    let native = exported();
    let clash: Vec<_> = recorded.intersection(&native).collect();
    assert!(clash.is_empty(), "{clash:?}");
}

#[test]
fn promtool_validates_rules_and_config() {
    if !have_promtool() {
        println!("SKIP promtool_validates_rules_and_config: promtool not installed");
        return;
    }
    let out = Command::new("promtool")
        .args(["check", "rules", "alerts.yml", "compat-rules.yml"])
        .current_dir(dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("promtool")
        .args(["check", "config", "prometheus.yml"])
        .current_dir(dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_promtool() -> bool {
    Command::new("promtool").arg("--version").output().is_ok()
}

/// `promtool test rules FILE...` in `cwd`: (success, output).
fn promtool_test(cwd: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .args(files)
        .current_dir(cwd)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every `observability/tests/*.test.yml` passes: each alert of alerts.yml fires on the
/// synthetic series where it should and stays silent where it should not, and the compat
/// recording rules produce the exporters' series.
#[test]
fn promtool_rule_unit_tests_pass() {
    if !have_promtool() {
        println!("SKIP promtool_rule_unit_tests_pass: promtool not installed");
        return;
    }
    let tests = dir().join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .expect("observability/tests")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("alerts.test.yml")),
        "{files:?}"
    );
    let (ok, text) = promtool_test(&tests, &files);
    assert!(ok, "promtool test rules failed:\n{text}");
    // Every alert of alerts.yml has a test case that expects it to fire.
    let alerts = read("alerts.yml");
    let unit = read("tests/alerts.test.yml");
    for name in alerts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        let name = name.trim();
        assert!(
            unit.contains(&format!(
                "alertname: {name}\n        exp_alerts:\n          - "
            )),
            "no test case in alerts.test.yml expects {name} to fire"
        );
        assert!(
            unit.contains(&format!("alertname: {name}\n        exp_alerts: []")),
            "no test case in alerts.test.yml expects {name} to stay silent"
        );
    }
}

/// The harness can fail: a unit test expecting the wrong outcome makes promtool exit non-zero.
#[test]
fn promtool_rule_unit_tests_detect_a_wrong_expectation() {
    if !have_promtool() {
        println!(
            "SKIP promtool_rule_unit_tests_detect_a_wrong_expectation: promtool not installed"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("wrong.test.yml");
    std::fs::write(
        &file,
        format!(
            "rule_files:\n  - {}\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n      - series: 'keepalived_config_last_reload_successful{{instance=\"lb1\"}}'\n        values: '1x8'\n    alert_rule_test:\n      - eval_time: 1m\n        alertname: KeepalivedReloadRejected\n        exp_alerts:\n          - exp_labels: {{severity: warning, instance: lb1}}\n",
            dir().join("alerts.yml").display()
        ),
    )
    .unwrap();
    let (ok, text) = promtool_test(tmp.path(), &[file]);
    assert!(!ok, "promtool accepted a wrong expectation:\n{text}");
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn name_scanner() {
    let n = names(
        "rate(keepalived_vrrp_state{a=\"b\"}[1m]) my_keepalived_x keepalived-rs keepalived_up)",
    );
    assert_eq!(
        n.into_iter().collect::<Vec<_>>(),
        vec![
            "keepalived_up".to_string(),
            "keepalived_vrrp_state".to_string()
        ]
    );
}
