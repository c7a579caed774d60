//! The keyword registry (`src/config/keywords.rs`) against keepalived 2.2.7's keyword list and
//! against the builders: every keepalived 2.2.7 keyword has exactly one entry; every keyword
//! the registry calls implemented changes the model `-d` prints; every unsupported one gives
//! its located "not supported" warning and leaves the model as it was.

use keepalived_rs::config::keywords::{self, Status, KEYWORDS};
use keepalived_rs::config::{load_str, LoadOptions};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// keepalived 2.2.7's (block, keyword) pairs, from its parsers' `install_keyword*` calls
/// (copy of shared/notes/keepalived-2.2.7-keywords.csv; first two columns).
fn keepalived_keywords() -> Vec<(String, String)> {
    let text = include_str!("fixtures/keepalived-2.2.7-keywords.csv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.splitn(3, ',');
            let b = f.next().unwrap_or_default().to_string();
            let k = f.next().unwrap_or_default().to_string();
            (b, k)
        })
        .collect()
}

#[test]
fn every_keepalived_keyword_has_exactly_one_entry() {
    let csv = keepalived_keywords();
    assert_eq!(csv.len(), 501, "the list has keepalived 2.2.7's 501 pairs");
    let mut missing = Vec::new();
    for (b, k) in &csv {
        match keywords::lookup(b, k) {
            Some(e) if e.in_2_2_7 => {}
            Some(_) => missing.push(format!("{b} {k} (marked newer)")),
            None => missing.push(format!("{b} {k}")),
        }
    }
    assert!(missing.is_empty(), "not in the registry: {missing:#?}");
    let csv: BTreeSet<(String, String)> = csv.into_iter().collect();
    let mut seen = BTreeSet::new();
    for e in KEYWORDS {
        assert!(
            seen.insert((e.block, e.keyword)),
            "twice in the registry: {} {}",
            e.block,
            e.keyword
        );
        assert!(!e.text.is_empty(), "{} {}: no text", e.block, e.keyword);
        if e.in_2_2_7 {
            assert!(
                csv.contains(&(e.block.to_string(), e.keyword.to_string())),
                "{} {} is marked as keepalived 2.2.7's but is not in its list",
                e.block,
                e.keyword
            );
        }
    }
}

/// The configuration around a keyword of `block`: `{LINE}` marks where it goes. Everything a
/// keyword may refer to (scripts, files, BFD sessions, a second instance) is defined.
fn skeleton(block: &str) -> Option<String> {
    const DEFS: &str = "vrrp_script chk {\n script \"/bin/true\"\n}\n\
        track_file tf {\n file \"/tmp/keepalived-rs-registry-tf\"\n}\n\
        vrrp_track_process tp {\n process sleep\n}\n\
        bfd_instance b1 {\n neighbor_ip 192.0.2.200\n}\n\
        vrrp_instance VI2 {\n interface lo\n virtual_router_id 52\n virtual_ipaddress {\n  192.0.2.52\n }\n}\n";
    // A VIP: VRRPv3 and strict mode refuse an instance without one (as keepalived 2.2.7).
    const VI: &str =
        " interface lo\n virtual_router_id 51\n virtual_ipaddress { 192.0.2.51 } #BASE\n";
    let rs = |inner: &str| {
        format!(
            "{DEFS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
             real_server 192.0.2.20 80 {{\n{inner}\n }}\n}}\n"
        )
    };
    let checker =
        |name: &str, base: &str, line: &str| rs(&format!("  {name} {{\n{base}\n{line}\n  }}"));
    Some(match block {
        "(root)" => format!("{DEFS}{{LINE}}\n"),
        "global_defs" => format!("{DEFS}global_defs {{\n{{LINE}}\n}}\n"),
        "vrrp_instance" => format!("{DEFS}vrrp_instance VI {{\n{VI}{{LINE}}\n}}\n"),
        "vrrp_instance>authentication" => format!(
            "{DEFS}vrrp_instance VI {{\n{VI} authentication {{\n  auth_type PASS #BASE\n  auth_pass base #BASE\n{{LINE}}\n }}\n}}\n"
        ),
        "vrrp_sync_group" => format!(
            "{DEFS}vrrp_instance VI {{\n{VI}}}\nvrrp_sync_group G {{\n group {{ VI VI2 }} #BASE\n{{LINE}}\n}}\n"
        ),
        "vrrp_script" => "vrrp_script s {\n script \"/bin/true\"\n{LINE}\n}\n".to_string(),
        "track_file" | "vrrp_track_file" => {
            format!("{block} t {{\n file \"/tmp/keepalived-rs-registry-t\"\n{{LINE}}\n}}\n")
        }
        "vrrp_track_process" => {
            "vrrp_track_process p {\n process x #BASE\n{LINE}\n}\n".to_string()
        }
        "bfd_instance" => "bfd_instance b {\n neighbor_ip 192.0.2.201\n{LINE}\n}\n".to_string(),
        "virtual_server" => format!(
            "{DEFS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
             real_server 192.0.2.20 80 {{\n  TCP_CHECK {{\n  }}\n }}\n{{LINE}}\n}}\n"
        ),
        "virtual_server>real_server" => rs("  TCP_CHECK {\n  }\n{LINE}"),
        "virtual_server>real_server>SMTP_CHECK>host" => {
            checker("SMTP_CHECK", "   host {\n    connect_port 25\n{LINE}\n   }", "")
        }
        b if b.ends_with(">url") => {
            let c = b.split('>').nth(2)?;
            checker(c, "   url {\n    path /\n{LINE}\n   }", "")
        }
        b if b.starts_with("virtual_server>real_server>") => {
            let c = b.rsplit('>').next()?;
            let base = match c {
                "HTTP_GET" | "SSL_GET" => "   url {\n    path /\n   }",
                "MISC_CHECK" => "   misc_path \"/bin/true\" #BASE",
                "FILE_CHECK" => "   track_file tf #BASE",
                "BFD_CHECK" => "   name b1 #BASE",
                _ => "",
            };
            checker(c, base, "{LINE}")
        }
        _ => return None,
    })
}

/// Values to try after a keyword: one of them must be valid and change the model.
const CANDIDATES: &[&str] = &[
    "",
    "7",
    "2",
    "150",
    "0.5",
    "192.0.2.77",
    "on",
    "off",
    "\"/bin/false\"",
    "name1",
    "tf",
    "b1",
    "chk",
    "TCP",
    "fd00::77",
    "2000",
];

/// Keywords whose value none of the candidates fits: a valid example each.
fn examples() -> HashMap<(&'static str, &'static str), &'static str> {
    HashMap::from([
        (("(root)", "global_defs"), "global_defs {\n router_id r1\n}"),
        (("(root)", "vrrp_script"), "vrrp_script s2 {\n script \"/bin/true\"\n}"),
        (("(root)", "track_file"), "track_file t2 {\n file \"/tmp/x\"\n}"),
        (("(root)", "vrrp_track_process"), "vrrp_track_process tp2 {\n process sleep\n}"),
        (("vrrp_instance", "track_process"), "track_process {\n tp\n}"),
        (("vrrp_sync_group", "track_process"), "track_process {\n tp\n}"),
        (("(root)", "vrrp_track_file"), "vrrp_track_file t2 {\n file \"/tmp/x\"\n}"),
        (("(root)", "vrrp_sync_group"), "vrrp_instance VI3 {\n interface lo\n virtual_router_id 53\n}\nvrrp_sync_group G2 {\n group {\n VI2\n VI3\n }\n}"),
        (("(root)", "vrrp_instance"), "vrrp_instance VI3 {\n interface lo\n virtual_router_id 53\n}"),
        (("(root)", "virtual_server_group"), "virtual_server_group g {\n 192.0.2.50 80\n}"),
        (("(root)", "virtual_server"), "virtual_server 192.0.2.11 80 {\n protocol TCP\n}"),
        (("(root)", "bfd_instance"), "bfd_instance b3 {\n neighbor_ip 192.0.2.203\n}"),
        (("(root)", "static_ipaddress"), "static_ipaddress {\n 192.0.2.90/32 dev lo\n}"),
        (("(root)", "static_routes"), "static_routes {\n 198.51.100.0/24 dev lo\n}"),
        (("(root)", "static_rules"), "static_rules {\n from 192.0.2.1 table 100\n}"),
        (("global_defs", "notify_fifo_script"), "notify_fifo /tmp/x.fifo\n notify_fifo_script /bin/true"),
        (("global_defs", "vrrp_notify_fifo_script"), "vrrp_notify_fifo /tmp/x.fifo\n vrrp_notify_fifo_script /bin/true"),
        (("global_defs", "lvs_notify_fifo_script"), "lvs_notify_fifo /tmp/x.fifo\n lvs_notify_fifo_script /bin/true"),
        (("global_defs", "notification_email"), "notification_email {\n a@example.com\n}"),
        // CPU 0 exists on every machine.
        (("global_defs", "vrrp_cpu_affinity"), "vrrp_cpu_affinity 0"),
        (("global_defs", "checker_cpu_affinity"), "checker_cpu_affinity 0"),
        (("global_defs", "bfd_cpu_affinity"), "bfd_cpu_affinity 0"),
        (("global_defs", "notification_email_from"), "notification_email_from a@example.com"),
        (("global_defs", "vrrp_mcast_group4"), "vrrp_mcast_group4 224.0.0.19"),
        (("global_defs", "vrrp_mcast_group6"), "vrrp_mcast_group6 ff02::13"),
        (("global_defs", "vrrp_version"), "vrrp_version 3"),
        (("global_defs", "vrrp_garp_interval"), "vrrp_garp_interval 0.001"),
        (("global_defs", "vrrp_gna_interval"), "vrrp_gna_interval 0.001"),
        (("global_defs", "notify_fifo"), "notify_fifo /tmp/fifo"),
        (("global_defs", "vrrp_notify_fifo"), "vrrp_notify_fifo /tmp/fifo"),
        (("global_defs", "lvs_notify_fifo"), "lvs_notify_fifo /tmp/fifo"),
        (("global_defs", "lvs_timeouts"), "lvs_timeouts tcp 7200"),
        (("global_defs", "script_user"), "script_user nobody"),
        (("global_defs", "smtp_server"), "smtp_server 192.0.2.25 2525"),
        (("vrrp_instance", "virtual_ipaddress"), "virtual_ipaddress {\n 192.0.2.1/32\n}"),
        (("vrrp_instance", "virtual_ipaddress_excluded"), "virtual_ipaddress_excluded {\n 192.0.2.2/32\n}"),
        (("vrrp_instance", "virtual_routes"), "virtual_routes {\n 198.51.100.0/24 dev lo\n}"),
        (("vrrp_instance", "virtual_rules"), "virtual_rules {\n from 192.0.2.1 table 100\n}"),
        (("vrrp_instance", "unicast_peer"), "unicast_peer {\n 192.0.2.3\n}"),
        (("vrrp_instance", "track_interface"), "track_interface {\n lo\n}"),
        (("vrrp_instance", "track_script"), "track_script {\n chk\n}"),
        (("vrrp_instance", "track_file"), "track_file {\n tf\n}"),
        (("vrrp_instance", "track_bfd"), "track_bfd {\n b1\n}"),
        (("vrrp_instance", "authentication"), "authentication {\n auth_type PASS\n auth_pass secret\n}"),
        (("vrrp_instance", "state"), "state BACKUP"),
        (("vrrp_instance", "mcast_dst_ip"), "mcast_dst_ip 224.0.0.19"),
        (("vrrp_instance", "use_vmac"), "use_vmac vrrp51"),
        (("vrrp_instance", "version"), "version 3"),
        (("vrrp_instance", "advert_int"), "advert_int 3"),
        (("vrrp_instance", "priority"), "priority 150"),
        (("vrrp_instance>authentication", "auth_pass"), "auth_pass other"),
        (("vrrp_instance>authentication", "auth_type"), "auth_type PASS"),
        (("vrrp_sync_group", "group"), "group {\n VI\n VI2\n}"),
        (("vrrp_sync_group", "track_interface"), "track_interface {\n lo\n}"),
        (("vrrp_sync_group", "track_script"), "track_script {\n chk\n}"),
        (("vrrp_sync_group", "track_file"), "track_file {\n tf\n}"),
        (("vrrp_sync_group", "track_bfd"), "track_bfd {\n b1\n}"),
        (("virtual_server", "real_server"), "real_server 192.0.2.21 80 {\n TCP_CHECK {\n }\n}"),
        (("virtual_server", "sorry_server"), "sorry_server 192.0.2.30 80"),
        (("virtual_server", "sorry_server_lvs_method"), "sorry_server 192.0.2.30 80\n sorry_server_lvs_method DR"),
        (("virtual_server", "ip_family"), "ip_family inet6"),
        (("virtual_server", "lb_algo"), "lb_algo wlc"),
        (("virtual_server", "lvs_sched"), "lvs_sched wlc"),
        (("virtual_server", "lb_kind"), "lb_kind DR"),
        (("virtual_server", "lvs_method"), "lvs_method DR"),
        (("virtual_server", "protocol"), "protocol UDP"),
        (("virtual_server", "persistence_engine"), "persistence_engine sip"),
        (("virtual_server", "persistence_granularity"), "persistence_granularity 255.255.255.0"),
        (("virtual_server", "virtualhost"), "virtualhost www.example.com"),
        (("virtual_server", "quorum_up"), "quorum_up \"/bin/true\""),
        (("virtual_server", "quorum_down"), "quorum_down \"/bin/true\""),
        (("virtual_server>real_server", "lvs_method"), "lvs_method DR"),
        (("virtual_server>real_server", "virtualhost"), "virtualhost www.example.com"),
        (("virtual_server>real_server", "HTTP_GET"), "HTTP_GET {\n url {\n path /\n }\n}"),
        (("virtual_server>real_server", "SSL_GET"), "SSL_GET {\n url {\n path /\n }\n}"),
        (("virtual_server>real_server", "MISC_CHECK"), "MISC_CHECK {\n misc_path \"/bin/true\"\n}"),
        (("virtual_server>real_server", "FILE_CHECK"), "FILE_CHECK {\n track_file tf\n}"),
        (("virtual_server>real_server", "BFD_CHECK"), "BFD_CHECK {\n name b1\n}"),
        (("virtual_server>real_server", "SMTP_CHECK"), "SMTP_CHECK {\n}"),
        (("virtual_server>real_server>SMTP_CHECK", "host"), "host {\n connect_ip 192.0.2.25\n }"),
        (("virtual_server>real_server", "DNS_CHECK"), "DNS_CHECK {\n}"),
        (("virtual_server>real_server", "UDP_CHECK"), "UDP_CHECK {\n}"),
        (("virtual_server>real_server", "PING_CHECK"), "PING_CHECK {\n}"),
        (("virtual_server>real_server", "TCP_CHECK"), "TCP_CHECK {\n connect_timeout 3\n}"),
    ])
}

/// Per-checker examples (the same keyword in every checker block).
fn checker_example(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "url" => "url {\n path /other\n }",
        "path" => "path /other",
        "digest" => "digest 0123456789abcdef0123456789abcdef",
        "status_code" => "status_code 301",
        "virtualhost" => "virtualhost www.example.com",
        "http_protocol" => "http_protocol 1.1",
        "helo_name" => "helo_name mx.example.com",
        "type" => "type A",
        "name" if true => return None,
        "payload" => "payload 0a0b",
        "require_reply" => "require_reply 0a0b",
        "misc_path" => "misc_path \"/bin/false\"",
        "user" => "user nobody",
        "track_file" => "track_file tf2",
        "regex" => "regex \"up|ok\"",
        "regex_no_match" => "regex ok\n regex_no_match",
        "regex_options" => "regex ok\n regex_options caseless",
        "regex_min_offset" => "regex ok\n regex_min_offset 4",
        "regex_max_offset" => "regex ok\n regex_max_offset 4",
        _ => return None,
    })
}

/// The skeleton for testing `keyword`: a base line (`#BASE`) giving the same keyword is left
/// out, so that the keyword's own effect is what differs. None when the block is inside a block
/// the registry does not support (its keywords are never looked at: the block warns).
fn skeleton_for(block: &str, keyword: &str) -> Option<String> {
    let parts: Vec<&str> = block.split('>').collect();
    for i in 1..parts.len() {
        let parent = parts[..i].join(">");
        if let Some(e) = keywords::lookup(&parent, parts[i]) {
            if e.status == Status::Unsupported {
                return None;
            }
        }
    }
    let sk = skeleton(block)?;
    Some(
        sk.lines()
            .filter(|l| !(l.ends_with("#BASE") && l.split_whitespace().next() == Some(keyword)))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// The model as `-d` prints it, without locations (spans and `loc` change with any line).
fn model(text: &str) -> (Value, Vec<String>) {
    let l = load_str("registry.conf", text, &LoadOptions::default());
    let mut v = serde_json::to_value(&l.config).expect("model serialises");
    strip(&mut v);
    let diags = l.diagnostics.iter().map(|d| d.to_string()).collect();
    (v, diags)
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("spans");
            m.remove("loc");
            for x in m.values_mut() {
                strip(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

#[test]
fn every_implemented_keyword_changes_the_model() {
    let examples = examples();
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in KEYWORDS {
        if !matches!(e.status, Status::Implemented | Status::Partial) {
            continue;
        }
        let Some(sk) = skeleton_for(e.block, e.keyword) else {
            failures.push(format!(
                "{} {}: no skeleton for the block",
                e.block, e.keyword
            ));
            continue;
        };
        let (without, _) = model(&sk.replace("{LINE}", ""));
        let mut lines: Vec<String> = Vec::new();
        if let Some(x) = examples.get(&(e.block, e.keyword)) {
            lines.push(x.to_string());
        } else if e.block.starts_with("virtual_server>real_server>") {
            if let Some(x) = checker_example(e.keyword) {
                lines.push(x.to_string());
            }
        }
        lines.extend(CANDIDATES.iter().map(|c| format!("{} {c}", e.keyword)));
        let ok = lines.iter().any(|line| {
            let (with, diags) = model(&sk.replace("{LINE}", line));
            let clean = diags.iter().all(|d| {
                !d.contains("error")
                    && !d.contains("unknown keyword")
                    && !d.contains("not supported")
            });
            clean && with != without
        });
        checked += 1;
        if !ok {
            failures.push(format!("{} {}", e.block, e.keyword));
        }
    }
    assert!(checked > 290, "only {checked} implemented keywords checked");
    assert!(
        failures.is_empty(),
        "implemented keywords that change nothing in the model (or have no valid example): {failures:#?}"
    );
}

#[test]
fn every_unsupported_keyword_warns_at_its_line_and_changes_nothing() {
    let mut failures = Vec::new();
    for e in KEYWORDS {
        if e.status != Status::Unsupported {
            continue;
        }
        let Some(sk) = skeleton_for(e.block, e.keyword) else {
            // Keywords inside unsupported blocks (garp_group, SSL ...): the block warns.
            continue;
        };
        let (without, _) = model(&sk.replace("{LINE}", ""));
        let marker = sk.find("{LINE}").expect("skeleton has a line");
        let line_no = sk[..marker].matches('\n').count() + 1;
        let (with, diags) = model(&sk.replace("{LINE}", &format!("{} 1", e.keyword)));
        let want = format!(
            "registry.conf:{line_no}: warning: '{}' is not supported by keepalived-rs: {}",
            e.keyword, e.text
        );
        if !diags.iter().any(|d| d == &want) {
            failures.push(format!(
                "{} {}: no '{want}' in {diags:?}",
                e.block, e.keyword
            ));
        }
        if with != without {
            failures.push(format!("{} {}: changed the model", e.block, e.keyword));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn listing_has_one_line_per_keyword() {
    let l = keywords::listing();
    assert_eq!(l.lines().count(), KEYWORDS.len() + 1);
    assert!(l.contains("vrrp_instance\tuse_ipvlan\tunsupported\t2.2.7\t"));
}

/// `docs/keywords.md` is the registry's page; `KEEPALIVED_RS_BLESS=1` rewrites it.
#[test]
fn docs_page_is_the_registry() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keywords.md");
    let want = keywords::markdown();
    if std::env::var_os("KEEPALIVED_RS_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/keywords.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/keywords.md differs from the registry: run KEEPALIVED_RS_BLESS=1 cargo test --test keyword_registry"
    );
}

/// Every keyword a block builder matches on (`"kw" =>` arms in src/config/from_tree/) is in the
/// registry, so no builder accepts a keyword the registry does not know (such an arm would be
/// dead: `keywords::accept` turns the keyword away as unknown first). Value words matched in
/// the same files (forwarding methods, families, tracker options) are listed here.
#[test]
fn every_builder_arm_is_registered() {
    const VALUE_WORDS: &[&str] = &[
        "NAT",
        "DR",
        "TUN",
        "inet",
        "inet6",
        "min_ttl",
        "max_ttl",
        "reverse",
        "noreverse",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/from_tree");
    let mut missing = Vec::new();
    for file in [
        "mod.rs",
        "global.rs",
        "vrrp.rs",
        "track.rs",
        "lvs.rs",
        "bfd.rs",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect("builder source");
        for line in text.lines() {
            let l = line.trim_start();
            // Arms: `"kw" => ...` or `"kw" | "kw2" => ...` (also continued lines `| "kw" =>`).
            let l = l.trim_start_matches("| ");
            if !l.starts_with('"') || !l.contains("=>") {
                continue;
            }
            let pats = &l[..l.find("=>").unwrap_or(0)];
            for kw in pats.split('|').map(|p| p.trim().trim_matches('"')) {
                if kw.is_empty()
                    || VALUE_WORDS.contains(&kw)
                    || !kw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    continue;
                }
                if !KEYWORDS.iter().any(|k| k.keyword == kw) {
                    missing.push(format!("{file}: {kw}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "builder arms not in the registry: {missing:#?}"
    );
}
