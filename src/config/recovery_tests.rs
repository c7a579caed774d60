//! keepalived 2.2.7's recovery rules, one test each: the located warning (its line and text) and
//! the model value keepalived would run with. `--strict` turns each into an error.

use super::model::{
    Authentication, CheckKind, Config, ForwardMethod, InitialState, Scheduler, VrrpInstance,
};
use super::{load_str, LoadOptions, Loaded, Severity};
use std::time::Duration;

fn load(text: &str) -> Loaded {
    load_str("r.conf", text, &LoadOptions::default())
}

fn load_strict(text: &str) -> Loaded {
    let o = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    load_str("r.conf", text, &o)
}

/// An instance on lines 1-7; `extra` starts at line 7.
fn instance(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        10.0.0.1/24\n    }}\n{extra}\n}}\n"
    )
}

/// The configuration loads without errors, and a recovery warning at `line` says `text`.
fn recovered(l: &Loaded, line: u32, text: &str) -> Config {
    let all = l.diagnostics.lines();
    assert!(!l.diagnostics.has_errors(), "unexpected errors: {all:#?}");
    let hit = l.diagnostics.iter().any(|d| {
        d.severity == Severity::Warning
            && d.location.line == line
            && d.message.contains(text)
            && d.message.ends_with(", as keepalived does")
    });
    assert!(hit, "no recovery '{text}' at line {line}: {all:#?}");
    l.config.clone()
}

fn vi(c: &Config) -> &VrrpInstance {
    &c.instances[0]
}

#[test]
fn priority_with_trailing_comment_uses_100() {
    let l = load(&instance("    priority 150,comment"));
    let c = recovered(
        &l,
        7,
        "priority: '150,comment' is not a valid number: using 100",
    );
    assert_eq!(vi(&c).priority, 100);
}

#[test]
fn priority_out_of_range_uses_100() {
    let l = load(&instance("    priority 300"));
    let c = recovered(&l, 7, "priority 300 is out of range 1..255: using 100");
    assert_eq!(vi(&c).priority, 100);
}

#[test]
fn unknown_state_is_backup() {
    let l = load(&instance("    state SLAVE\n    priority 255"));
    let c = recovered(
        &l,
        7,
        "state: 'SLAVE' is not MASTER or BACKUP: using BACKUP",
    );
    assert_eq!(vi(&c).initial_state, Some(InitialState::Backup));
}

#[test]
fn state_is_case_sensitive_like_keepalived() {
    let l = load(&instance("    state master"));
    let c = recovered(&l, 7, "state: 'master' is not MASTER or BACKUP");
    assert_eq!(vi(&c).initial_state, Some(InitialState::Backup));
}

#[test]
fn v2_fractional_advert_int_is_rounded_to_whole_seconds() {
    let l = load(&instance("    advert_int 0.1"));
    let c = recovered(
        &l,
        7,
        "advert_int: 0.1 s is not a whole number of seconds (VRRP version 2): using 1 s",
    );
    assert_eq!(vi(&c).advert_int, Duration::from_secs(1));
    let l = load(&instance("    advert_int 1.5"));
    let c = recovered(&l, 7, "using 2 s");
    assert_eq!(vi(&c).advert_int, Duration::from_secs(2));
}

#[test]
fn v3_advert_int_is_rounded_to_centiseconds() {
    let l = load(&instance("    version 3\n    advert_int 0.015"));
    let c = recovered(
        &l,
        8,
        "is not a multiple of 10 ms (VRRP version 3): using 0.02 s",
    );
    assert_eq!(vi(&c).advert_int, Duration::from_millis(20));
}

#[test]
fn advert_int_below_10ms_is_ignored() {
    let l = load(&instance("    advert_int 0"));
    let c = recovered(&l, 7, "advert_int 0 is out of range");
    assert_eq!(vi(&c).advert_int, Duration::from_secs(1));
}

#[test]
fn bad_preempt_delay_is_zero() {
    let l = load(&instance("    preempt_delay soon"));
    let c = recovered(
        &l,
        7,
        "preempt_delay: 'soon' is not a valid number of seconds: using 0",
    );
    assert_eq!(vi(&c).preempt_delay, Duration::ZERO);
}

#[test]
fn unknown_auth_type_ignores_authentication() {
    let l = load(&instance(
        "    authentication {\n        auth_type PASS;\n        auth_pass secret\n    }",
    ));
    let c = recovered(
        &l,
        8,
        "auth_type: 'PASS;' is not PASS or AH: ignoring the authentication",
    );
    assert_eq!(vi(&c).authentication, None);
}

#[test]
fn strict_mode_ignores_authentication() {
    let text = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}",
        instance("    authentication {\n        auth_type PASS\n        auth_pass secret\n    }")
    );
    let l = load(&text);
    let c = recovered(
        &l,
        10,
        "strict mode does not allow authentication: ignoring the authentication",
    );
    assert_eq!(vi(&c).authentication, None);
}

#[test]
fn strict_mode_resets_preempt_delay() {
    let l = load(&instance("    strict_mode on\n    preempt_delay 5"));
    let c = recovered(&l, 8, "strict mode does not allow preempt_delay: using 0");
    assert_eq!(vi(&c).preempt_delay, Duration::ZERO);
}

#[test]
fn strict_mode_master_must_be_address_owner() {
    let l = load(&instance(
        "    strict_mode on\n    state MASTER\n    priority 100",
    ));
    let c = recovered(
        &l,
        8,
        "strict mode needs state MASTER exactly when priority is 255: using state BACKUP",
    );
    assert_eq!(vi(&c).initial_state, Some(InitialState::Backup));
}

#[test]
fn version_3_ignores_authentication() {
    let l = load(&instance(
        "    version 3\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }",
    ));
    let c = recovered(&l, 8, "VRRP version 3 has no authentication");
    assert_eq!(vi(&c).authentication, None);
}

#[test]
fn long_auth_pass_uses_its_first_8_characters() {
    let l = load(&instance(
        "    authentication {\n        auth_type PASS\n        auth_pass 0123456789\n    }",
    ));
    let c = recovered(
        &l,
        7,
        "auth_pass is longer than 8 characters: using its first 8",
    );
    assert!(matches!(
        &vi(&c).authentication,
        Some(Authentication::Pass(_))
    ));
}

#[test]
fn nopreempt_with_state_master_is_ignored() {
    let l = load(&instance(
        "    state MASTER\n    priority 100\n    nopreempt",
    ));
    let c = recovered(
        &l,
        9,
        "nopreempt does not work with state MASTER: ignoring nopreempt",
    );
    assert!(vi(&c).preempt);
}

#[test]
fn invalid_vip_is_skipped() {
    let text = instance("").replace("10.0.0.1/24", "10.0.0.1/24\n        10.0.0.300/24");
    let l = load(&text);
    let c = recovered(
        &l,
        6,
        "address: '10.0.0.300/24' is not a valid IP address: skipping this address",
    );
    assert_eq!(vi(&c).virtual_ipaddress.len(), 1);
}

#[test]
fn vip_of_the_other_family_is_ignored() {
    let text = instance("").replace("10.0.0.1/24", "10.0.0.1/24\n        fd00::1/64");
    let l = load(&text);
    let c = recovered(
        &l,
        6,
        "address fd00::1/64 is not of the instance's family: ignoring the address",
    );
    assert_eq!(vi(&c).virtual_ipaddress.len(), 1);
}

#[test]
fn too_long_prefix_uses_the_host_prefix() {
    let text = instance("").replace("10.0.0.1/24", "10.0.0.1/33");
    let l = load(&text);
    let c = recovered(
        &l,
        5,
        "prefix length /33 in '10.0.0.1/33' is too long: using /32",
    );
    assert_eq!(vi(&c).virtual_ipaddress[0].addr.to_string(), "10.0.0.1/32");
}

#[test]
fn invalid_rule_is_skipped() {
    let l = load(&instance(
        "    virtual_rules {\n        to 192.168.100./24 table 100\n        from 10.0.0.0/8 table 100\n    }",
    ));
    let c = recovered(
        &l,
        8,
        "rule: to '192.168.100./24' is not a valid IP address: the rule is not installed",
    );
    assert_eq!(vi(&c).virtual_rules.len(), 1);
}

#[test]
fn invalid_route_is_skipped() {
    let l = load(&instance(
        "    virtual_routes {\n        10.9.0.0/16 via 10.0.0.300\n        10.8.0.0/16 via 10.0.0.254\n    }",
    ));
    let c = recovered(&l, 8, "the route is not installed");
    assert_eq!(vi(&c).virtual_routes.len(), 1);
}

#[test]
fn invalid_unicast_peer_is_skipped() {
    let l = load(&instance(
        "    unicast_src_ip 10.0.0.2\n    unicast_peer {\n        10.0.0.x\n        10.0.0.3\n        fd00::3\n    }",
    ));
    let c = recovered(
        &l,
        9,
        "unicast_peer: '10.0.0.x' is not a valid IP address: skipping this peer",
    );
    let c2 = recovered(&l, 11, "are of different families: skipping the peer");
    assert_eq!(c, c2);
    let peers: Vec<String> = vi(&c)
        .unicast_peers
        .iter()
        .map(|p| p.addr.to_string())
        .collect();
    assert_eq!(peers, ["10.0.0.3"]);
}

#[test]
fn non_multicast_mcast_dst_ip_is_ignored() {
    let l = load(&instance("    mcast_dst_ip 10.1.1.1"));
    let c = recovered(
        &l,
        7,
        "mcast_dst_ip: 10.1.1.1 is not a multicast address: ignoring the keyword",
    );
    assert_eq!(vi(&c).mcast_dst_ip, None);
}

#[test]
fn undefined_track_script_is_ignored() {
    let text = format!(
        "vrrp_script chk {{\n    script \"/bin/true\"\n}}\n{}",
        instance("    track_script {\n        chk\n        missing\n    }")
    );
    let l = load(&text);
    let c = recovered(
        &l,
        12,
        "vrrp_instance VI_1: track_script 'missing' is not defined: ignoring the reference",
    );
    let names: Vec<&str> = vi(&c)
        .tracking
        .scripts
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["chk"]);
}

#[test]
fn undefined_track_file_and_bfd_are_ignored() {
    let l = load(&instance(
        "    track_file {\n        nofile\n    }\n    track_bfd {\n        nobfd\n    }",
    ));
    let c = recovered(
        &l,
        8,
        "track_file 'nofile' is not defined: ignoring the reference",
    );
    recovered(
        &l,
        11,
        "track_bfd 'nobfd' is not defined: ignoring the reference",
    );
    assert!(vi(&c).tracking.files.is_empty());
    assert!(vi(&c).tracking.bfd.is_empty());
}

#[test]
fn vrrp_script_without_script_is_removed_and_its_references_ignored() {
    let text = format!(
        "vrrp_script chk {{\n    interval 2\n}}\n{}",
        instance("    track_script {\n        chk\n    }")
    );
    let l = load(&text);
    let c = recovered(
        &l,
        1,
        "vrrp_script chk: no 'script' given: removing the vrrp_script",
    );
    recovered(
        &l,
        11,
        "track_script 'chk' is not defined: ignoring the reference",
    );
    assert!(c.vrrp_scripts.is_empty());
    assert!(vi(&c).tracking.scripts.is_empty());
}

#[test]
fn vrrp_track_process_without_process_is_removed_and_bad_values_ignored() {
    let text = format!(
        "vrrp_track_process tp {{\n    weight 10\n}}\nvrrp_track_process ok {{\n    process sleep\n    quorum 0\n    quorum_max 2\n    param_match whatever\n    delay 4000\n}}\n{}",
        instance("    track_process {\n        tp\n        ok\n    }")
    );
    let l = load(&text);
    let c = recovered(
        &l,
        1,
        "vrrp_track_process tp: process name not specified: removing the vrrp_track_process",
    );
    recovered(&l, 6, "quorum 0 is out of range 1..65535: ignoring it");
    recovered(
        &l,
        8,
        "vrrp_track_process ok: invalid param_match type whatever: ignoring it",
    );
    recovered(
        &l,
        9,
        "delay 4000 is out of range 0.000001..3600 seconds: ignoring it",
    );
    recovered(
        &l,
        18,
        "track_process 'tp' is not defined: ignoring the reference",
    );
    let ok = c.track_process("ok").expect("kept");
    assert_eq!((ok.quorum, ok.quorum_max), (1, 2));
    assert_eq!(ok.param_match, None);
    assert_eq!(ok.fork_delay, None);
    assert!(c.track_process("tp").is_none());
    let refs: Vec<&str> = vi(&c)
        .tracking
        .processes
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(refs, vec!["ok"]);
}

#[test]
fn sync_group_undefined_member_is_ignored_and_empty_group_removed() {
    let text = format!(
        "{}vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_9\n    }}\n}}\nvrrp_sync_group G2 {{\n    group {{\n        VI_8\n    }}\n}}\n",
        instance("")
    );
    let l = load(&text);
    let c = recovered(
        &l,
        12,
        "vrrp_sync_group G1: member 'VI_9' is not a defined vrrp_instance: ignoring the member",
    );
    recovered(
        &l,
        15,
        "vrrp_sync_group G2: no member instances: removing the sync group",
    );
    assert_eq!(c.sync_groups.len(), 1);
    assert_eq!(c.sync_groups[0].members.len(), 1);
}

#[test]
fn duplicate_instance_block_is_skipped() {
    let text = format!("{}{}", instance(""), instance("    priority 50"));
    let l = load(&text);
    let c = recovered(
        &l,
        9,
        "vrrp_instance VI_1 is already defined at r.conf:1: skipping this block",
    );
    assert_eq!(c.instances.len(), 1);
    assert_eq!(vi(&c).priority, 100);
}

const VS: &str = "virtual_server 10.0.0.10 80 {\n    lb_algo loadbalance\n    lb_kind FNAT\n    quorum 0\n    persistence_timeout 0\n    real_server 10.0.0.11 80 {\n        MISC_CHECK {\n            misc_timeout 5\n        }\n        SSL_GET {\n            connect_timeout 3\n        }\n        TCP_CHECK {\n        }\n    }\n    real_server fd00::12 80 {\n    }\n}\n";

#[test]
fn unknown_lb_algo_keeps_wlc() {
    let l = load(VS);
    let c = recovered(&l, 2, "lb_algo: unknown scheduler 'loadbalance'");
    assert_eq!(c.virtual_servers[0].scheduler, Scheduler::Wlc);
}

#[test]
fn unknown_lb_kind_keeps_nat() {
    let l = load(VS);
    let c = recovered(
        &l,
        3,
        "lb_kind: 'FNAT' is not NAT, DR or TUN: ignoring the keyword",
    );
    assert_eq!(c.virtual_servers[0].forward, ForwardMethod::Nat);
}

#[test]
fn quorum_zero_is_one() {
    let l = load(VS);
    let c = recovered(&l, 4, "quorum 0 is out of range 1..4294967295: using 1");
    assert_eq!(c.virtual_servers[0].quorum, 1);
}

#[test]
fn persistence_timeout_zero_is_ignored() {
    let l = load(VS);
    let c = recovered(&l, 5, "persistence_timeout 0 is out of range");
    assert_eq!(c.virtual_servers[0].persistence_timeout, None);
}

#[test]
fn incomplete_checkers_are_skipped() {
    let l = load(VS);
    let c = recovered(
        &l,
        7,
        "MISC_CHECK: no misc_path given: skipping the checker",
    );
    recovered(&l, 10, "SSL_GET: no url block given: skipping the checker");
    let rs = &c.virtual_servers[0].real_servers[0];
    assert_eq!(rs.checkers.len(), 1);
    assert!(matches!(rs.checkers[0].kind, CheckKind::Tcp));
}

#[test]
fn real_server_of_the_other_family_is_skipped() {
    let l = load(VS);
    let c = recovered(
        &l,
        16,
        "real_server fd00::12 is not of the virtual server's family: skipping the real_server",
    );
    assert_eq!(c.virtual_servers[0].real_servers.len(), 1);
}

#[test]
fn bfd_instance_without_neighbor_is_removed() {
    let l = load("bfd_instance B {\n    min_rx 100\n}\n");
    let c = recovered(
        &l,
        1,
        "bfd_instance B: no neighbor_ip: removing the bfd_instance",
    );
    assert!(c.bfd_instances.is_empty());
}

#[test]
fn vrrp_script_rise_and_weight_as_keepalived_reads_them() {
    let l = load("vrrp_script chk {\n    script \"/bin/true\"\n    rise x\n    weight 10x\n}\n");
    let c = recovered(&l, 3, "rise: 'x' is not a valid number: using 1");
    recovered(&l, 4, "weight: '10x' is not a valid number: using 10");
    assert_eq!(c.vrrp_scripts[0].rise, 1);
    assert_eq!(c.vrrp_scripts[0].weight, 10);
}

#[test]
fn strict_turns_each_recovery_into_an_error() {
    let l = load_strict(&instance("    priority 100,comment\n    state SLAVE"));
    let errors: Vec<String> = l.diagnostics.errors().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].starts_with(
        "r.conf:7: error: priority: '100,comment' is not a valid number: keepalived would recover by using 100 (refused by --strict)"
    ), "{errors:#?}");
    assert!(
        errors[1].starts_with("r.conf:8: error: state: 'SLAVE'"),
        "{errors:#?}"
    );
}

#[test]
fn what_keepalived_refuses_stays_an_error() {
    // No VRID at all, or one that keepalived ignored: "the virtual router id must be set".
    let l = load(&instance("").replace("    virtual_router_id 51\n", ""));
    assert!(l.diagnostics.has_errors());
    let l = load(&instance("").replace("virtual_router_id 51", "virtual_router_id 300"));
    let e: Vec<String> = l.diagnostics.errors().map(|d| d.to_string()).collect();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("r.conf:3: error: virtual_router_id"),
        "{e:#?}"
    );
    // No interface: "Unknown interface!".
    let l = load(&instance("").replace("    interface eth0\n", ""));
    assert!(l.diagnostics.has_errors());
    // Strict mode with unicast peers.
    let l = load(&instance(
        "    strict_mode on\n    unicast_peer {\n        10.0.0.3\n    }",
    ));
    assert!(l.diagnostics.has_errors());
    // A keyword without its value: keepalived exits.
    let l = load(&instance("    priority"));
    assert!(l.diagnostics.has_errors());
}

#[test]
fn notify_priority_changes_is_parsed_for_instances_and_groups() {
    let l = load(
        "vrrp_instance A {\n interface lo\n virtual_router_id 1\n notify_priority_changes off\n}\n\
         vrrp_instance B {\n interface lo\n virtual_router_id 2\n}\n\
         vrrp_sync_group G {\n group {\n A\n B\n }\n notify_priority_changes\n}\n",
    );
    assert_eq!(l.config.instances[0].notify.priority_changes, Some(false));
    assert_eq!(l.config.instances[1].notify.priority_changes, None);
    assert_eq!(l.config.sync_groups[0].notify.priority_changes, Some(true));
}

#[test]
fn process_scheduling_keywords_recover_as_keepalived() {
    let l = load(
        "global_defs {\n    vrrp_priority 30\n    checker_rt_priority 150\n    bfd_cpu_affinity 0 99999\n    vrrp_rlimit_rtime 1\n    checker_priority -3\n}\n",
    );
    let c = recovered(&l, 2, "Invalid vrrp process priority specified");
    assert_eq!(c.global.vrrp_sched.nice, 0);
    recovered(
        &l,
        3,
        "checker process real-time priority 150 greater than maximum 99",
    );
    assert_eq!(c.global.checker_sched.rt_priority, Some(99));
    recovered(&l, 4, "Invalid cpu_id:99999 specified for bfd process");
    assert!(c.global.bfd_sched.cpu_affinity.is_empty());
    // The old spelling is read; 1 us is raised to 2 (the soft limit is half).
    assert_eq!(c.global.vrrp_sched.rlimit_rttime, Some(2));
    assert_eq!(c.global.checker_sched.nice, -3);
}

#[test]
fn strict_vrrp2_resets_accept_mode() {
    let l = load(&instance("    strict_mode on\n    accept"));
    let c = recovered(&l, 8, "accept mode for VRRP version 2 does not comply");
    assert_eq!(vi(&c).accept, Some(false));
    // VRRPv3 keeps it; no_accept is read.
    let l = load(&instance("    strict_mode on\n    version 3\n    accept"));
    assert_eq!(vi(&l.config).accept, Some(true));
    let l = load(&instance("    no_accept"));
    assert_eq!(vi(&l.config).accept, Some(false));
}

#[test]
fn strict_mode_resets_lower_priority_settings() {
    let l = load(&instance(
        "    strict_mode on\n    lower_prio_no_advert off\n    higher_prio_send_advert on\n    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 3",
    ));
    recovered(
        &l,
        8,
        "strict mode requires lower_prio_no_advert: turning it on",
    );
    recovered(
        &l,
        9,
        "strict mode requires higher_prio_send_advert to be clear",
    );
    recovered(&l, 10, "strict mode requires no repeat garps: using 0");
    let c = recovered(&l, 11, "strict mode requires no repeat garp delay: using 0");
    let i = vi(&c);
    assert_eq!(i.lower_prio_no_advert, Some(true));
    assert_eq!(i.higher_prio_send_advert, Some(false));
    assert_eq!(i.garp_lower_prio_repeat, Some(0));
    assert_eq!(i.garp_lower_prio_delay, Some(Duration::ZERO));
}

#[test]
fn strict_mode_clears_vmac_mac_and_xmit_base() {
    let l = load(&instance(
        "    strict_mode on\n    use_vmac vrrp.51 02:00:00:00:00:01\n    vmac_xmit_base",
    ));
    recovered(
        &l,
        8,
        "cannot specify the vmac's MAC address with strict mode",
    );
    let c = recovered(&l, 9, "vmac_xmit_base is incompatible with strict mode");
    let i = vi(&c);
    assert_eq!(i.use_vmac.as_ref().and_then(|v| v.mac), None);
    assert!(!i.vmac_xmit_base);
}

#[test]
fn strict_or_vrrp3_without_vip_is_refused() {
    let bare = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n";
    for extra in ["    strict_mode on\n", "    version 3\n"] {
        let l = load(&format!("{bare}{extra}}}\n"));
        assert!(
            l.diagnostics.has_errors(),
            "{extra}: {:#?}",
            l.diagnostics.lines()
        );
    }
    // VRRPv2 without strict: keepalived warns ("at least one is sensible") and runs.
    let l = load(&format!("{bare}}}\n"));
    assert!(!l.diagnostics.has_errors(), "{:#?}", l.diagnostics.lines());
}

/// An HTTP_GET url whose block lines start at line 6 (`url {` is line 5).
fn http_url(lines: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  real_server 10.0.0.2 80 {{\n    HTTP_GET {{\n      url {{\n{lines}\n        path /\n      }}\n    }}\n  }}\n}}\n"
    )
}

fn url_regex(c: &Config) -> Option<super::model::UrlRegex> {
    match &c.virtual_servers[0].real_servers[0].checkers[0].kind {
        CheckKind::Http { urls, .. } => urls[0].regex.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn url_regex_and_its_options_are_kept() {
    let l = load(&http_url(
        "        regex \"^<b>(up|ok)\\\\s+\"\n        regex_no_match\n        regex_options caseless multiline no_auto_capture\n        regex_min_offset 3\n        regex_max_offset 40\n        regex_stack 32768 65536",
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics.lines());
    let r = url_regex(&l.config).expect("regex kept");
    assert_eq!(r.pattern, "^<b>(up|ok)\\s+");
    assert!(r.no_match);
    assert_eq!(r.options, ["caseless", "multiline", "no_auto_capture"]);
    assert_eq!((r.min_offset, r.max_offset), (3, Some(40)));
    let re = r.compile().unwrap();
    assert!(re.is_match(b"x\n<B>OK  "));
}

#[test]
fn unquoted_regex_gets_keepalived_escapes() {
    // keepalived reads the regex line with escapes outside quotes too: `\\.` is `\.`.
    let l = load(&http_url("        regex a\\\\.b"));
    assert_eq!(url_regex(&l.config).unwrap().pattern, "a\\.b");
}

#[test]
fn regex_recoveries_as_keepalived() {
    // Two words: ignored.
    let l = load(&http_url("        regex two words"));
    recovered(&l, 6, "regex missing or too many fields");
    assert_eq!(url_regex(&l.config), None);
    // Options without a regex: dropped at the url.
    let l = load(&http_url(
        "        regex_no_match\n        regex_min_offset 4",
    ));
    recovered(&l, 5, "regex parameters specified without regex");
    assert_eq!(url_regex(&l.config), None);
    // A bad max offset counts as 0 (keepalived adds one to what its parser returned).
    let l = load(&http_url("        regex ok\n        regex_max_offset x7"));
    recovered(&l, 7, "invalid regex_max_offset x7: using 0");
    assert_eq!(url_regex(&l.config).unwrap().max_offset, Some(0));
    // min > max: both dropped.
    let l = load(&http_url(
        "        regex ok\n        regex_min_offset 9\n        regex_max_offset 8",
    ));
    recovered(&l, 5, "regex min offset 9 > regex_max_offset 8");
    let r = url_regex(&l.config).unwrap();
    assert_eq!((r.min_offset, r.max_offset), (0, None));
    // An unknown option name: ignored (keepalived ignores it silently; we say so).
    let l = load(&http_url("        regex ok\n        regex_options caseles"));
    recovered(&l, 7, "unknown option 'caseles'");
    assert!(url_regex(&l.config).unwrap().options.is_empty());
}

#[test]
fn regex_the_engine_cannot_compile_is_located_and_fails_the_url() {
    // Look-ahead is PCRE2 syntax the linear-time engine refuses.
    let l = load(&http_url("        regex \"up(?=date)\""));
    assert!(!l.diagnostics.has_errors());
    let w: Vec<_> = l.diagnostics.iter().collect();
    assert!(
        w.iter().any(|d| d.location.line == 5
            && d.message.contains("cannot be compiled by keepalived-rs")
            && d.message.contains("this url's check fails")),
        "{:#?}",
        l.diagnostics.lines()
    );
    let r = url_regex(&l.config).expect("kept: the url must fail, not pass on its status");
    assert!(r.compile().is_err());
    // An unsupported option warns at its line.
    let l = load(&http_url(
        "        regex ok\n        regex_options firstline",
    ));
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.location.line == 7 && d.message.contains("'firstline' is not supported")));
}

fn smtp(lines: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 25 {{\n  protocol TCP\n  real_server 10.0.0.2 25 {{\n    SMTP_CHECK {{\n{lines}\n    }}\n  }}\n}}\n"
    )
}

#[test]
fn smtp_host_blocks_become_checkers_as_keepalived() {
    // No connection option at the top: the hosts are the checkers (the first replaces the
    // block's own connection); timing keywords inside a host set the whole SMTP_CHECK's.
    let l = load(&smtp(
        "      helo_name mx.example\n      retry 4\n      host {\n        connect_ip 10.0.0.3\n        connect_port 2525\n        connect_timeout 2\n        fwmark 7\n        delay_loop 9\n      }\n      host {\n        bindto 10.0.0.1\n      }",
    ));
    assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics.lines());
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.location.line == 7 && d.message.contains("deprecated")));
    let cs = &l.config.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(cs.len(), 2, "{cs:#?}");
    let (a, b) = (&cs[0].common, &cs[1].common);
    assert_eq!(a.connect_ip, Some("10.0.0.3".parse().unwrap()));
    assert_eq!(a.connect_port, Some(2525));
    assert_eq!(a.fwmark, Some(7));
    assert_eq!(a.defaults.connect_timeout, Some(Duration::from_secs(2)));
    assert_eq!(
        b.connect_ip, None,
        "the second host defaults to the real server"
    );
    assert_eq!(b.bindto, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(b.defaults.connect_timeout, None);
    for c in cs {
        assert_eq!(c.common.defaults.retry, Some(4));
        assert_eq!(c.common.defaults.delay_loop, Some(Duration::from_secs(9)));
        assert!(matches!(&c.kind, CheckKind::Smtp { helo_name: Some(h) } if h == "mx.example"));
    }
    // A connection option at the top: the block's own connection is checked too.
    let l = load(&smtp(
        "      connect_port 26\n      host {\n        connect_ip 10.0.0.3\n      }",
    ));
    let cs = &l.config.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0].common.connect_port, Some(26));
    assert_eq!(cs[1].common.connect_ip, Some("10.0.0.3".parse().unwrap()));
    assert_eq!(cs[1].common.connect_port, None);
    // No host block: one checker, as before.
    let l = load(&smtp("      connect_port 26"));
    assert_eq!(
        l.config.virtual_servers[0].real_servers[0].checkers.len(),
        1
    );
}

#[test]
fn sorry_server_lvs_method_before_its_sorry_server_is_ignored() {
    let l = load(
        "virtual_server 10.0.0.1 80 {\n  sorry_server_lvs_method DR\n  sorry_server 10.0.0.9 80\n}\n",
    );
    let c = recovered(&l, 2, "sorry_server forwarding used without sorry_server");
    assert_eq!(
        c.virtual_servers[0].sorry_server.as_ref().unwrap().forward,
        None
    );
    let l = load(
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  sorry_server 10.0.0.9 80\n  sorry_server_lvs_method DR\n}\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics.lines());
    assert_eq!(
        l.config.virtual_servers[0]
            .sorry_server
            .as_ref()
            .unwrap()
            .forward,
        Some(ForwardMethod::Dr)
    );
}

/// `default_interface`: a static address without `dev` goes to it, else to keepalived's eth0;
/// one with `dev` keeps its own; without a name keepalived reports an error and ignores it.
#[test]
fn default_interface_is_where_static_addresses_without_dev_go() {
    let text = "global_defs {\n    default_interface dummy7\n}\nstatic_ipaddress {\n    192.0.2.9/32\n    192.0.2.10/32 dev lo\n}\n";
    let l = load(text);
    let c = &l.config;
    assert_eq!(c.global.default_interface.as_deref(), Some("dummy7"));
    let devs: Vec<&str> = c
        .static_ipaddress
        .iter()
        .map(|a| c.global.static_address_dev(a.dev.as_deref()))
        .collect();
    assert_eq!(devs, ["dummy7", "lo"]);
    let l = load("static_ipaddress {\n    192.0.2.9/32\n}\n");
    let c = &l.config;
    assert_eq!(
        c.global
            .static_address_dev(c.static_ipaddress[0].dev.as_deref()),
        "eth0"
    );
    let l = load("global_defs {\n    default_interface\n}\n");
    assert_eq!(l.config.global.default_interface, None);
    assert!(
        l.diagnostics
            .lines()
            .iter()
            .any(|d| d.contains("2: error: 'default_interface' needs a value")),
        "{:?}",
        l.diagnostics.lines()
    );
}
