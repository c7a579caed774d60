use super::*;
use crate::config::{load_str, LoadOptions};
use crate::vrrp::actor::params::{destinations, instance_params};
use std::net::Ipv4Addr;

const CONF: &str = r#"
global_defs {
    router_id lab1
}
vrrp_script chk {
    script "/usr/bin/test -f /tmp/x"
    interval 2
    weight -20
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.5
    virtual_ipaddress {
        10.0.0.100/24
        10.0.0.102 dev eth1 label eth1:vip
    }
    virtual_ipaddress_excluded {
        10.0.0.101
    }
    track_script {
        chk
    }
    notify_master "/etc/keepalived/master.sh up"
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 90
    virtual_ipaddress {
        10.0.0.200/24
    }
}
"#;

fn config() -> Config {
    let l = load_str("t.conf", CONF, &LoadOptions::default());
    assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
    l.config
}

fn status(name: &str, state: State, counters: &[(&'static str, u64)]) -> InstanceStatus {
    InstanceStatus {
        name: name.into(),
        state,
        want_state: state,
        priority: 100,
        master: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 12)), 150)),
        last_advert_src: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 12))),
        master_adver_int: Duration::from_millis(500),
        last_transition: UNIX_EPOCH + Duration::from_micros(1_796_170_562_877_619),
        vips_set: state == State::Master,
        src_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 11))),
        counters: counters.iter().copied().collect(),
    }
}

fn views(cfg: &Config, statuses: Vec<Option<InstanceStatus>>) -> Vec<VrrpView> {
    cfg.instances
        .iter()
        .zip(statuses)
        .map(|(i, st)| VrrpView {
            instance: i.clone(),
            params: instance_params(i, &cfg.global, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 11))),
            destinations: destinations(i, &cfg.global),
            trackers: i
                .tracking
                .scripts
                .iter()
                .map(|r| TrackedView {
                    kind: TrackerKind::Script,
                    name: r.name.clone(),
                    weight: -20,
                    reverse: false,
                })
                .collect(),
            sync_group: None,
            status: st,
        })
        .collect()
}

fn sample() -> (Config, Vec<VrrpView>) {
    let cfg = config();
    let counters = [
        ("advert_rcvd", 7),
        ("advert_sent", 42),
        ("become_master", 1),
        ("ip_ttl_err", 3),
        ("auth_failure", 2),
        ("pri_zero_sent", 1),
    ];
    let v = views(
        &cfg,
        vec![Some(status("VI_1", State::Master, &counters)), None],
    );
    (cfg, v)
}

fn dump<'a>(
    cfg: &'a Config,
    v: &'a [VrrpView],
    scripts: &'a BTreeMap<String, TrackerState>,
    files: &'a BTreeMap<String, i64>,
) -> VrrpDump<'a> {
    VrrpDump {
        config: cfg,
        instances: v,
        scripts,
        files,
    }
}

#[test]
fn json_v1_is_keepalived_layout() {
    let (cfg, v) = sample();
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    let text = json(&dump(&cfg, &v, &s, &f), JsonVersion::V1);
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let arr = j.as_array().expect("top-level array");
    assert_eq!(arr.len(), 2);
    let d = &arr[0]["data"];
    assert_eq!(d["iname"], "VI_1");
    assert_eq!(d["state"], 2);
    assert_eq!(d["wantstate"], 2);
    assert_eq!(d["vrid"], 51);
    assert_eq!(d["ifp_ifname"], "eth0");
    assert_eq!(d["version"], 3);
    assert_eq!(d["base_priority"], 100);
    assert_eq!(d["vipset"], true);
    // %g numbers: integral values without a fraction (Go exporters decode garp_delay as int).
    assert_eq!(d["garp_delay"].as_u64(), Some(5));
    assert_eq!(d["adver_int"].as_f64(), Some(0.5));
    assert_eq!(d["last_transition"].as_f64(), Some(1_796_170_562.877_619));
    assert!(
        text.contains("\"last_transition\":1796170562.877619"),
        "{text}"
    );
    assert_eq!(
        d["vips"],
        serde_json::json!([
            "10.0.0.100/24 dev eth0 scope global set",
            "10.0.0.102 dev eth1 scope global label eth1:vip set"
        ])
    );
    assert_eq!(
        d["evips"],
        serde_json::json!(["10.0.0.101 dev eth0 scope global set"])
    );
    assert_eq!(d["track_script"], serde_json::json!(["chk"]));
    assert_eq!(d["script_master"], "'/etc/keepalived/master.sh' 'up'");
    let st = &arr[0]["stats"];
    assert_eq!(st["advert_rcvd"], 7);
    assert_eq!(st["advert_sent"], 42);
    assert_eq!(st["ip_ttl_err"], 3);
    assert_eq!(st["auth_failure"], 2);
    assert_eq!(st["release_master"], 0);
    // The second instance's actor did not answer: INIT, zero counters, still listed.
    assert_eq!(arr[1]["data"]["iname"], "VI_2");
    assert_eq!(arr[1]["data"]["state"], 0);
    assert_eq!(arr[1]["stats"]["advert_sent"], 0);
    assert!(arr[1]["data"].get("vips").is_some());
    assert!(
        arr[1]["data"].get("evips").is_none(),
        "empty lists are left out"
    );
}

/// Every field mehdy/keepalived-exporter (internal/collector/collector.go: VRRPData,
/// VRRPStats) and gen2brain/keepalived_exporter (collector/collector.go: Data, Stats) decode,
/// with the JSON type their Go struct needs.
#[test]
fn json_has_every_field_the_exporters_decode() {
    let (cfg, v) = sample();
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    let j: serde_json::Value =
        serde_json::from_str(&json(&dump(&cfg, &v, &s, &f), JsonVersion::V1)).unwrap();
    for e in j.as_array().unwrap() {
        let d = &e["data"];
        for k in ["iname", "ifp_ifname"] {
            assert!(d[k].is_string(), "data.{k}: {d}");
        }
        for k in ["state", "wantstate", "vrid", "garp_delay"] {
            assert!(d[k].is_u64(), "data.{k} must decode into a Go int: {d}");
        }
        assert!(d["last_transition"].is_number());
        assert!(d["vips"].as_array().is_some_and(|a| a.iter().all(|s| {
            // mehdy's ParseVIP: "ADDR dev IFNAME ..." split on spaces.
            let w: Vec<&str> = s.as_str().unwrap_or("").split(' ').collect();
            w.len() >= 3 && w[1] == "dev"
        })));
        let st = &e["stats"];
        for k in [
            "advert_rcvd",
            "advert_sent",
            "become_master",
            "release_master",
            "packet_len_err",
            "advert_interval_err",
            "ip_ttl_err",
            "invalid_type_rcvd",
            "addr_list_err",
            "invalid_authtype",
            "authtype_mismatch",
            "auth_failure",
            "pri_zero_rcvd",
            "pri_zero_sent",
        ] {
            assert!(st[k].is_u64(), "stats.{k}: {st}");
        }
    }
}

#[test]
fn json_v2_wraps_the_instances() {
    let text = "global_defs {\n json_version 2\n}\n".to_string() + CONF;
    let l = load_str("t.conf", &text, &LoadOptions::default());
    let cfg = l.config;
    assert_eq!(JsonVersion::of(&cfg), JsonVersion::V2);
    assert_eq!(JsonVersion::of(&config()), JsonVersion::V1);
    let v = views(&cfg, vec![None, None]);
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    let j: serde_json::Value =
        serde_json::from_str(&json(&dump(&cfg, &v, &s, &f), JsonVersion::V2)).unwrap();
    assert_eq!(j["vrrp"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["vrrp"][0]["data"]["iname"], "VI_1");
    assert!(j["track_process"].is_array());
}

#[test]
fn stats_text_is_keepalived_2_2_7_layout() {
    let (cfg, v) = sample();
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    let text = stats(&dump(&cfg, &v, &s, &f));
    let first: String = text.lines().take(18).collect::<Vec<_>>().join("\n");
    assert_eq!(
        first,
        "VRRP Instance: VI_1
  Advertisements:
    Received: 7
    Sent: 42
  Became master: 1
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 3
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 2
  Priority Zero:
    Received: 0"
    );
    assert_eq!(text.matches("VRRP Instance: ").count(), 2);
}

/// Issue #19: every dropped packet has a line in the stats dump (`keepalived_drops.stats`,
/// beside keepalived's layout): the per-instance reasons, the VRRP packets no instance took,
/// every BFD drop.
#[test]
fn drops_stats_counts_every_drop() {
    use crate::telemetry::metrics::{count_bfd_drop, count_vrrp_unmatched, BfdDrop};
    use crate::telemetry::RxDrop;
    let (cfg, v) = sample();
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    count_vrrp_unmatched(RxDrop::Vrid);
    count_bfd_drop(BfdDrop::NoSession);
    let d = dump(&cfg, &v, &s, &f);
    // keepalived's layout is untouched.
    assert!(!stats(&d).contains("Checksum"));
    let text = drops_stats(&d);
    let block: Vec<&str> = text.lines().take(7).collect();
    assert_eq!(
        block,
        [
            "VRRP Instance: VI_1",
            "  Packet Errors:",
            "    Length: 0",
            "    TTL: 3",
            "    Version: 0",
            "    Invalid Type: 0",
            "    Checksum: 0",
        ]
    );
    assert_eq!(text.matches("VRRP Instance: ").count(), 2);
    let count = |section: &str, reason: &str| -> u64 {
        let rest = text.split(section).nth(1).expect(section);
        rest.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{reason}: ")))
            .and_then(|n| n.parse().ok())
            .expect(reason)
    };
    assert!(
        count("VRRP packets not for any instance:", "vrid") >= 1,
        "{text}"
    );
    assert!(count("BFD packets dropped:", "no_session") >= 1, "{text}");
    for r in RxDrop::ALL {
        count("VRRP packets not for any instance:", r.as_str());
    }
    for r in BfdDrop::ALL {
        count("BFD packets dropped:", r.as_str());
    }
}

/// mehdy/keepalived-exporter's ParseVRRPData and ParseVRRPScript (internal/collector/
/// parser.go), transcribed: what it extracts from our keepalived.data.
type Parsed = BTreeMap<String, BTreeMap<String, Vec<String>>>;
type Scripts = Vec<(String, String, String)>;

fn exporter_parse(text: &str) -> (Parsed, Scripts) {
    let mut data: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let (mut instance, mut key) = (String::new(), String::new());
    for l in text.lines() {
        if l.starts_with(" VRRP Instance") && l.contains('=') {
            instance = l.trim().split('=').nth(1).unwrap_or("").trim().to_string();
            data.insert(instance.clone(), BTreeMap::new());
        } else if l.starts_with("   ") && !instance.is_empty() {
            let val;
            if l.starts_with("     ") {
                val = l.trim().to_string();
            } else {
                let args: Vec<&str> = if l.contains('=') {
                    l.trim().split('=').collect()
                } else if l.contains(':') {
                    l.trim().split(':').collect()
                } else {
                    continue;
                };
                key = args[0].trim().to_string();
                if key == "Virtual IP" {
                    continue;
                }
                val = args.get(1).unwrap_or(&"").trim().to_string();
            }
            let k = if key.starts_with("Virtual IP (") {
                "VIP".to_string()
            } else {
                key.clone()
            };
            if !val.is_empty() {
                data.entry(instance.clone())
                    .or_default()
                    .entry(k)
                    .or_default()
                    .push(val);
            }
        } else if l.starts_with(" VRRP Version") || l.starts_with(" VRRP Script") {
            continue;
        } else {
            instance.clear();
        }
    }
    let mut scripts = Vec::new();
    let mut cur: Option<(String, String, String)> = None;
    for l in text.lines() {
        if l.starts_with(" VRRP Script") && l.contains('=') {
            if let Some(c) = cur.take() {
                scripts.push(c);
            }
            let name = l.trim().split('=').nth(1).unwrap_or("").trim().to_string();
            cur = Some((name, String::new(), String::new()));
        } else if l.starts_with("   ") && cur.is_some() {
            if !l.contains('=') {
                continue;
            }
            let s: Vec<&str> = l.trim().split('=').collect();
            let (k, v) = (s[0].trim(), s[1].trim().to_string());
            if let Some(c) = cur.as_mut() {
                match k {
                    "Status" => c.1 = v,
                    "State" => c.2 = v,
                    _ => {}
                }
            }
        } else if !l.starts_with("    ") {
            if let Some(c) = cur.take() {
                scripts.push(c);
            }
        }
    }
    if let Some(c) = cur.take() {
        scripts.push(c);
    }
    (data, scripts)
}

#[test]
fn data_text_parses_like_keepalived_for_the_exporter() {
    let (cfg, v) = sample();
    let scripts: BTreeMap<String, TrackerState> = [("chk".to_string(), TrackerState::Up)]
        .into_iter()
        .collect();
    let f = BTreeMap::new();
    let text = data(&dump(&cfg, &v, &scripts, &f));
    let (parsed, sc) = exporter_parse(&text);
    let vi1 = &parsed["VI_1"];
    let one = |k: &str| {
        vi1.get(k)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(one("State"), "MASTER", "{text}");
    assert_eq!(one("Wantstate"), "MASTER");
    assert_eq!(one("Interface"), "eth0");
    assert_eq!(one("Virtual Router ID"), "51");
    assert_eq!(one("Gratuitous ARP delay"), "5");
    assert_eq!(
        vi1["VIP"],
        vec![
            "10.0.0.100/24 dev eth0 scope global set".to_string(),
            "10.0.0.102 dev eth1 scope global label eth1:vip set".to_string()
        ]
    );
    assert_eq!(
        vi1["Virtual IP Excluded"],
        vec!["10.0.0.101 dev eth0 scope global set".to_string()]
    );
    // Every state word is one the exporter knows.
    for (name, fields) in &parsed {
        for k in ["State", "Wantstate"] {
            let s = fields
                .get(k)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default();
            assert!(
                ["INIT", "BACKUP", "MASTER", "FAULT"].contains(&s.as_str()),
                "{name} {k} = {s:?}"
            );
        }
    }
    assert_eq!(parsed["VI_2"]["State"], vec!["INIT".to_string()]);
    assert_eq!(
        sc,
        vec![("chk".to_string(), "GOOD".to_string(), "idle".to_string())]
    );
    assert!(
        text.contains("   Last transition = 1796170562.877619 (Wed Dec  2 00:16:02.877619 2026)\n")
    );
    assert!(text.contains("   Tracked scripts :\n     chk weight -20\n"));
    assert!(text.contains("   Master state transition script = '/etc/keepalived/master.sh' 'up'\n"));
}

#[test]
fn backup_shows_its_master() {
    let cfg = config();
    let v = views(&cfg, vec![Some(status("VI_1", State::Backup, &[])), None]);
    let (s, f) = (BTreeMap::new(), BTreeMap::new());
    let d = dump(&cfg, &v, &s, &f);
    let text = data(&d);
    assert!(text.contains("   State = BACKUP\n   Master router = 10.0.0.12\n   Master priority = 150\n   Master advert int = 0.50 sec\n"), "{text}");
    let j: serde_json::Value = serde_json::from_str(&json(&d, JsonVersion::V1)).unwrap();
    assert_eq!(j[0]["data"]["master_priority"], 150);
    assert_eq!(j[0]["data"]["state"], 1);
    assert_eq!(j[0]["data"]["vipset"], false);
    assert_eq!(
        j[0]["data"]["vips"][0],
        "10.0.0.100/24 dev eth0 scope global"
    );
}

#[test]
fn numbers_print_like_c_percent_g() {
    assert_eq!(serde_json::to_string(&G(5.0)).unwrap(), "5");
    assert_eq!(serde_json::to_string(&G(0.01)).unwrap(), "0.01");
    assert_eq!(serde_json::to_string(&G(0.0)).unwrap(), "0");
}

#[test]
fn ctime_matches_keepalived() {
    // Seen in keepalived 2.2.7's own keepalived.data (TZ=UTC).
    let t = UNIX_EPOCH + Duration::from_micros(1_796_170_562_877_619);
    assert_eq!(ctime_utc(t), "Wed Dec  2 00:16:02.877619 2026");
    assert_eq!(ctime_utc(UNIX_EPOCH), "Thu Jan  1 00:00:00.000000 1970");
    let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
    assert_eq!(ctime_utc(leap), "Tue Feb 29 00:00:00.000000 2000");
}

#[test]
fn dump_paths_follow_keepalived() {
    let tmp = Path::new("/tmp");
    assert_eq!(
        dump_path(None, "keepalived.data", "", tmp),
        Path::new("/tmp/keepalived.data")
    );
    assert_eq!(
        dump_path(None, "keepalived.data", "_check", tmp),
        Path::new("/tmp/keepalived_check.data")
    );
    assert_eq!(
        dump_path(
            Some("/var/run/ka/state.txt"),
            "keepalived.data",
            "_bfd",
            tmp
        ),
        Path::new("/var/run/ka/state_bfd.txt")
    );
    assert_eq!(
        dump_path(Some("/var/run/ka/"), "keepalived.json", "", tmp),
        Path::new("/var/run/ka/keepalived.json")
    );
    assert_eq!(
        dump_path(Some("mystats"), "keepalived.stats", "", Path::new("/x")),
        Path::new("/x/mystats")
    );
    assert_eq!(tmp_dir(Some("/var/tmp")), Path::new("/var/tmp"));
    assert_eq!(tmp_dir(Some("relative")), Path::new("/tmp"));
    assert_eq!(tmp_dir(None), Path::new("/tmp"));
}

#[test]
fn addresses_routes_rules_in_ip_words() {
    let text = r#"
vrrp_instance V {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        10.1.1.1/24 brd + dev eth2 scope link
    }
    virtual_ipaddress_excluded {
        fd00::1/64
    }
    virtual_routes {
        10.9.0.0/16 via 10.1.1.254 table 100
    }
    virtual_rules {
        from 10.1.1.0/24 table 100 priority 10
    }
}
"#;
    let l = load_str("r.conf", text, &LoadOptions::default());
    let i = &l.config.instances[0];
    assert_eq!(
        format_address(&i.virtual_ipaddress[0], "eth0", false),
        "10.1.1.1/24 brd 10.1.1.255 dev eth2 scope link"
    );
    assert!(
        format_address(&i.virtual_ipaddress_excluded[0], "eth0", true)
            .starts_with("fd00::1/64 dev eth0 scope global")
    );
    assert_eq!(
        format_route(&i.virtual_routes[0], "eth0"),
        "10.9.0.0/16 via 10.1.1.254 dev eth0 table 100"
    );
    assert_eq!(
        format_rule(&i.virtual_rules[0]),
        "from 10.1.1.0/24 priority 10 table 100"
    );
}

#[test]
fn lvs_and_bfd_dumps_list_every_object() {
    use crate::lvs::{RsSnapshot, VsSnapshot};
    let snap = LvsSnapshot {
        virtual_servers: vec![VsSnapshot {
            name: "[10.0.0.1]:tcp:80".into(),
            services: Vec::new(),
            quorum_up: true,
            suspended: false,
            real_servers: vec![RsSnapshot {
                name: "[10.0.0.2]:tcp:80".into(),
                alive: false,
                weight: 0,
                checkers: vec![false, true],
            }],
            desired: Default::default(),
        }],
    };
    let t = lvs_data(&snap);
    assert!(
        t.contains(" Virtual Server = [10.0.0.1]:tcp:80\n   Quorum = up\n"),
        "{t}"
    );
    assert!(t.contains("   Real Server = [10.0.0.2]:tcp:80\n     Alive = no\n     Weight = 0\n     Checkers = 1 up, 1 down\n"), "{t}");
    let now = Instant::now();
    let b = BfdSnapshot {
        up: true,
        state: crate::bfd::State::Up,
        diag: crate::bfd::Diag::None,
        local_discr: 7,
        since: now,
    };
    let t = bfd_data(&[("peer1".into(), b)], now);
    assert!(t.contains(" BFD Instance = peer1\n   State = Up\n"), "{t}");
    assert!(t.contains("   Local discriminator = 7\n"), "{t}");
}
