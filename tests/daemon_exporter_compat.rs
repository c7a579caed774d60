//! Dashboards built for keepalived's two Prometheus exporters work on keepalived-rs: a real
//! Prometheus (in the master's namespace) scrapes the running daemon's `/metrics` with
//! `observability/compat-rules.yml` loaded, and every metric name the exporters export is there,
//! natively or recorded, with the exporters' labels and values that agree with the daemon's own
//! keepalived-format JSON dump (what the exporters would have read).
//!
//! The exporters' names are transcribed from their sources:
//! - mehdy/keepalived-exporter 5aedbfb (internal/collector/collector.go `fillMetrics`, plus
//!   `version.NewCollector("keepalived_exporter")` in cmd/keepalived-exporter/main.go);
//! - gen2brain/keepalived_exporter 53a0c0a (collector/collector.go `New`).
//!
//! Not checked here, and why (observability/README.md has the table):
//! - `keepalived_exporter_check_script_status`: the result of a script the exporter itself runs
//!   per VIP (`-cs`), no keepalived data;
//! - gen2brain's `keepalived_lvs_*` (IPVS counters, recorded from our `keepalived_ipvs_*`): the
//!   host kernel here has no IPVS. `tests/lvs_vm.rs` scrapes the daemon running in a VM with
//!   IPVS and compares them with `ipvsadm --stats`; `observability/tests/compat.test.yml` checks
//!   the recorded names and labels.

mod common;

use common::lab::{self, Lab};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// mehdy/keepalived-exporter: name -> labels (besides Prometheus' job/instance).
const MEHDY: &[(&str, &[&str])] = &[
    ("keepalived_up", &[]),
    ("keepalived_vrrp_state", &["iname", "intf", "vrid"]),
    (
        "keepalived_vrrp_excluded_state",
        &["iname", "intf", "vrid", "ip_address"],
    ),
    (
        "keepalived_gratuitous_arp_delay_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_advertisements_received_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_advertisements_sent_total",
        &["iname", "intf", "vrid"],
    ),
    ("keepalived_become_master_total", &["iname", "intf", "vrid"]),
    (
        "keepalived_release_master_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_packet_length_errors_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_advertisements_interval_errors_total",
        &["iname", "intf", "vrid"],
    ),
    ("keepalived_ip_ttl_errors_total", &["iname", "intf", "vrid"]),
    (
        "keepalived_invalid_type_received_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_address_list_errors_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_authentication_invalid_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_authentication_mismatch_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_authentication_failure_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_priority_zero_received_total",
        &["iname", "intf", "vrid"],
    ),
    (
        "keepalived_priority_zero_sent_total",
        &["iname", "intf", "vrid"],
    ),
    ("keepalived_script_status", &["name"]),
    ("keepalived_script_state", &["name"]),
    ("keepalived_exporter_build_info", &["version"]),
];

/// gen2brain/keepalived_exporter's VRRP metrics (labels name, intf, vrid, state).
const GEN2BRAIN: &[&str] = &[
    "keepalived_up",
    "keepalived_vrrp_advert_rcvd",
    "keepalived_vrrp_advert_sent",
    "keepalived_vrrp_become_master",
    "keepalived_vrrp_release_master",
    "keepalived_vrrp_packet_len_err",
    "keepalived_vrrp_advert_interval_err",
    "keepalived_vrrp_ip_ttl_err",
    "keepalived_vrrp_invalid_type_rcvd",
    "keepalived_vrrp_addr_list_err",
    "keepalived_vrrp_invalid_authtype",
    "keepalived_vrrp_authtype_mismatch",
    "keepalived_vrrp_auth_failure",
    "keepalived_vrrp_pri_zero_rcvd",
    "keepalived_vrrp_pri_zero_sent",
];

/// Queries the Prometheus API inside host 1; the `data.result` array.
fn query(lab: &Lab, q: &str) -> Vec<serde_json::Value> {
    let script = "import sys, urllib.request, urllib.parse\n\
                  u = 'http://127.0.0.1:9090/api/v1/query?query=' + urllib.parse.quote(sys.argv[1])\n\
                  print(urllib.request.urlopen(u, timeout=5).read().decode())";
    let out = lab.exec(1, &["python3", "-c", script, q]);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

fn value(v: &serde_json::Value) -> f64 {
    v["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Names (with `keepalived` in them) Prometheus has series for right now.
fn names(lab: &Lab) -> BTreeSet<String> {
    query(lab, "group by (__name__) ({__name__=~\"keepalived.*\"})")
        .iter()
        .filter_map(|r| r["metric"]["__name__"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn exporter_metric_names_from_a_running_daemon() {
    let have = lab::run(&["sh", "-c", "command -v prometheus && command -v python3"])
        .status
        .success();
    if !lab::can_run() || !have {
        println!(
            "SKIP exporter_metric_names_from_a_running_daemon: needs root, iproute2, prometheus and python3"
        );
        return;
    }
    let _serial = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let excluded = lab.vip4(101);
    let d = lab.dir.clone();
    let conf = |prio: u8| {
        let mut c =
            "vrrp_script chk_ok {\n    script \"/bin/true\"\n    interval 1\n}\n".to_string();
        c.push_str(&lab::vrrp_conf(
            "",
            51,
            prio,
            3,
            "0.2",
            &[format!("{vip}/24")],
            &format!(
                "    garp_master_delay 3\n    track_script {{\n        chk_ok\n    }}\n    virtual_ipaddress_excluded {{\n        {excluded}\n    }}\n"
            ),
        ));
        c
    };
    let c1 = lab.write("h1.conf", &conf(150));
    let c2 = lab.write("h2.conf", &conf(100));
    for (i, c) in [(1, &c1), (2, &c2)] {
        lab.start_rs_with(
            i,
            &format!("ours{i}"),
            &[],
            OURS,
            &["-n", "-l", "-G", "--metrics-listen", "127.0.0.1:9650"],
            c,
        );
    }
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![1]),
        "{}",
        lab.log("ours1")
    );

    // Prometheus as an operator would run it: the shipped rule files, a 1 s scrape.
    let obs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("observability");
    let prom_conf = lab.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n  - {}\nscrape_configs:\n  - job_name: keepalived\n    static_configs:\n      - targets: ['127.0.0.1:9650']\n        labels:\n          cluster: lab\n",
            obs.join("alerts.yml").display(),
            obs.join("compat-rules.yml").display()
        ),
    );
    lab.spawn(
        1,
        "prom",
        &[
            "prometheus",
            &format!("--config.file={}", prom_conf.display()),
            &format!("--storage.tsdb.path={}", d.join("tsdb").display()),
            "--web.listen-address=127.0.0.1:9090",
        ],
    );

    let mut want: BTreeSet<String> = MEHDY.iter().map(|(n, _)| n.to_string()).collect();
    want.extend(GEN2BRAIN.iter().map(|n| n.to_string()));
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut got = BTreeSet::new();
    while Instant::now() < deadline {
        got = names(&lab);
        if want.is_subset(&got) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "exporter names missing from Prometheus: {missing:?}\nhave: {got:?}\n{}",
        lab.log("prom")
    );

    // Labels: keepalived-exporter's on its names...
    for (name, labels) in MEHDY {
        let rows = query(&lab, name);
        assert!(!rows.is_empty(), "{name}");
        for r in &rows {
            for l in *labels {
                assert!(r["metric"][l].is_string(), "{name} without label {l}: {r}");
            }
        }
    }
    // ... and gen2brain's on its: name (not iname), intf, vrid, state = the state name.
    for name in GEN2BRAIN.iter().filter(|n| **n != "keepalived_up") {
        let rows = query(&lab, name);
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        let m = &rows[0]["metric"];
        assert_eq!(m["name"], "VI_51", "{name}: {m}");
        assert_eq!(m["intf"], "eth0", "{name}: {m}");
        assert_eq!(m["vrid"], "51", "{name}: {m}");
        assert_eq!(m["state"], "MASTER", "{name}: {m}");
        assert!(m["iname"].is_null(), "{name}: {m}");
    }

    // Values agree with the daemon's state and configuration.
    let one = |q: &str| {
        let rows = query(&lab, q);
        assert_eq!(rows.len(), 1, "{q}: {rows:?}");
        value(&rows[0])
    };
    assert_eq!(one("keepalived_vrrp_state{iname=\"VI_51\"}"), 2.0);
    let ex = query(&lab, "keepalived_vrrp_excluded_state");
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(ex[0]["metric"]["ip_address"], excluded.as_str());
    assert_eq!(ex[0]["metric"]["intf"], "eth0");
    assert_eq!(value(&ex[0]), 2.0);
    assert_eq!(one("keepalived_gratuitous_arp_delay_total"), 3.0);
    assert_eq!(one("keepalived_script_status{name=\"chk_ok\"}"), 1.0);
    assert_eq!(one("keepalived_up"), 1.0);

    // The counters are what the exporters would have read from keepalived.json (our dump).
    let sent = one("keepalived_advertisements_sent_total");
    let pid1 = d.join("ours1.pid").display().to_string();
    let json = lab::run(&[OURS, "--status", "-p", &pid1]);
    assert!(json.status.success(), "{json:?}");
    let dump: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--status JSON");
    let stats = &dump[0]["stats"];
    assert_eq!(dump[0]["data"]["iname"], "VI_51");
    for (name, key) in [
        ("keepalived_become_master_total", "become_master"),
        ("keepalived_release_master_total", "release_master"),
        ("keepalived_priority_zero_sent_total", "pri_zero_sent"),
        ("keepalived_vrrp_become_master", "become_master"),
    ] {
        assert_eq!(
            one(name),
            stats[key].as_f64().unwrap_or(f64::NAN),
            "{name} vs stats.{key}: {stats}"
        );
    }
    let dumped_sent = stats["advert_sent"].as_f64().unwrap_or(f64::NAN);
    // Scraped before the dump, at 5 adverts per second: a little behind, never ahead.
    assert!(
        sent > 0.0 && sent <= dumped_sent && dumped_sent - sent < 100.0,
        "adverts sent: Prometheus {sent}, dump {dumped_sent}"
    );
    assert_eq!(
        dump[0]["data"]["garp_delay"].as_f64(),
        Some(3.0),
        "{}",
        dump[0]["data"]
    );
}
