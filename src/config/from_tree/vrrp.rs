//! `vrrp_instance` and `vrrp_sync_group`.

use super::super::diag::{Diagnostics, Location};
use super::super::keywords;
use super::super::model::{
    Authentication, Family, GlobalDefs, InitialState, NotifyScripts, Spans, SyncGroup, Tracking,
    UnicastPeer, Vmac, VrrpInstance, VrrpVersion,
};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{block, net, not_handled, span, track_refs};
use std::time::Duration;

/// Handles a notify keyword shared by instances and groups; false when `n` is not one.
fn notify(ns: &mut NotifyScripts, n: &Node, d: &mut Diagnostics) -> bool {
    match n.keyword.as_str() {
        "notify_master" => ns.master = v::script(n, d),
        "notify_backup" => ns.backup = v::script(n, d),
        "notify_fault" => ns.fault = v::script(n, d),
        "notify_stop" => ns.stop = v::script(n, d),
        "notify" => ns.generic = v::script(n, d),
        "notify_master_rx_lower_pri" => ns.master_rx_lower_pri = v::script(n, d),
        "notify_priority_changes" => {
            if let Some(b) = v::bool_arg(n, d) {
                ns.priority_changes = Some(b);
            }
        }
        "notify_deleted" => {
            ns.deleted_state = true;
            if n.arg(0).is_some() {
                ns.deleted = v::script(n, d);
            }
        }
        _ => return false,
    }
    true
}

/// Handles a `track_*` block shared by instances and groups; false when `n` is not one.
fn tracking(t: &mut Tracking, n: &Node, d: &mut Diagnostics) -> bool {
    match n.keyword.as_str() {
        "track_interface" => t.interfaces.extend(track_refs(n, d, -254, 254)),
        "track_script" => t.scripts.extend(track_refs(n, d, -254, 254)),
        "track_file" => t.files.extend(track_refs(n, d, -254, 254)),
        "track_process" => t.processes.extend(track_refs(n, d, -254, 254)),
        "track_bfd" => t.bfd.extend(track_refs(n, d, -254, 254)),
        _ => return false,
    }
    true
}

/// Builds a vrrp_instance with keepalived's defaults.
// Long by design: one match arm per vrrp_instance keyword (the registry's rows for the block),
// each with keepalived's recovery; tests/keyword_registry.rs reads these arms.
pub fn instance(
    name: &str,
    blk: &Node,
    children: &[Node],
    g: &GlobalDefs,
    d: &mut Diagnostics,
) -> VrrpInstance {
    let mut i = VrrpInstance {
        name: name.to_string(),
        loc: blk.loc.clone(),
        spans: Spans::default(),
        initial_state: None,
        interface: None,
        vrid: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: if g.vrrp_version == 3 {
            VrrpVersion::V3
        } else {
            VrrpVersion::V2
        },
        family: Family::V4,
        preempt: true,
        preempt_delay: Duration::ZERO,
        accept: None,
        strict: g.vrrp_strict,
        skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
        dont_track_primary: false,
        authentication: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        unicast_ttl: None,
        check_unicast_src: false,
        unicast_fault_no_peer: false,
        mcast_src_ip: None,
        mcast_dst_ip: None,
        use_vmac: None,
        vmac_xmit_base: false,
        tracking: Tracking::default(),
        notify: NotifyScripts::default(),
        smtp_alert: None,
        garp_master_delay: None,
        garp_master_repeat: None,
        garp_master_refresh: None,
        garp_master_refresh_repeat: None,
        garp_lower_prio_delay: None,
        garp_lower_prio_repeat: None,
        down_timer_adverts: g.vrrp_down_timer_adverts,
        lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
        higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
    };
    let mut version_given = false;
    let mut advert_raw: Option<(f64, Location)> = None;
    for n in children {
        if !keywords::accept("vrrp_instance", n, d) {
            continue;
        }
        span(&mut i.spans, n);
        if notify(&mut i.notify, n, d) || tracking(&mut i.tracking, n, d) {
            continue;
        }
        match n.keyword.as_str() {
            "state" => {
                if let Some(s) = v::arg(n, 0, d) {
                    i.initial_state = Some(v::initial_state(&n.loc, s, d));
                }
            }
            "interface" => i.interface = v::arg(n, 0, d).map(str::to_string),
            "virtual_router_id" => i.vrid = v::int_arg(n, 1u8, 255, d).unwrap_or(0),
            "priority" => {
                i.priority = d
                    .with_recovery("using 100", |d| v::int_arg(n, 1u8, 255, d))
                    .unwrap_or(100)
            }
            "advert_int" => {
                if let Some(t) = v::secs_arg(n, 0.01, 255.0, d) {
                    advert_raw = Some((t.as_secs_f64(), n.loc.clone()));
                }
            }
            "version" => {
                i.version = match v::int_arg::<u8>(n, 2, 3, d) {
                    Some(2) => VrrpVersion::V2,
                    Some(_) => VrrpVersion::V3,
                    None => i.version,
                };
                version_given = true;
            }
            "nopreempt" => i.preempt = false,
            "preempt_delay" => {
                i.preempt_delay = d
                    .with_recovery("using 0", |d| v::secs_arg(n, 0.0, 1000.0, d))
                    .unwrap_or_default()
            }
            "strict_mode" => i.strict = v::bool_arg(n, d).unwrap_or(true),
            "accept" => i.accept = Some(true),
            "no_accept" => i.accept = Some(false),
            // keepalived quirk: any valid BOOL, even "false", sets it. We honour the value.
            "skip_check_adv_addr" => i.skip_check_adv_addr = v::bool_arg(n, d).unwrap_or(true),
            "dont_track_primary" => i.dont_track_primary = true,
            // Read by build/mod.rs into global_defs' lvs_sync_daemon.
            "lvs_sync_daemon_interface" => {}
            "authentication" => i.authentication = authentication(n, d),
            "virtual_ipaddress" => {
                if let Some(c) = block(n, d) {
                    i.virtual_ipaddress
                        .extend(c.iter().filter_map(|l| net::address(l, d)));
                }
            }
            "virtual_ipaddress_excluded" => {
                if let Some(c) = block(n, d) {
                    i.virtual_ipaddress_excluded
                        .extend(c.iter().filter_map(|l| net::address(l, d)));
                }
            }
            "virtual_routes" => {
                if let Some(c) = block(n, d) {
                    i.virtual_routes
                        .extend(c.iter().filter_map(|l| net::route(l, d)));
                }
            }
            "virtual_rules" => {
                if let Some(c) = block(n, d) {
                    i.virtual_rules
                        .extend(c.iter().filter_map(|l| net::rule(l, d)));
                }
            }
            "unicast_src_ip" => i.unicast_src_ip = v::ip_arg(n, d),
            "unicast_peer" => {
                if let Some(c) = block(n, d) {
                    for p in c {
                        if let Some(peer) = unicast_peer(p, d) {
                            i.unicast_peers.push(peer);
                        }
                    }
                }
            }
            "unicast_ttl" => i.unicast_ttl = v::int_arg(n, 0u8, 255, d),
            // keepalived: flags without arguments (any words after them are ignored).
            "check_unicast_src" => i.check_unicast_src = true,
            "unicast_fault_no_peer" => i.unicast_fault_no_peer = true,
            "mcast_src_ip" => i.mcast_src_ip = v::ip_arg(n, d),
            "mcast_dst_ip" => {
                i.mcast_dst_ip = v::ip_arg(n, d);
                if let Some(a) = i.mcast_dst_ip {
                    if !a.is_multicast() {
                        d.bad_value(
                            &n.loc,
                            format!("mcast_dst_ip: {a} is not a multicast address"),
                        );
                        i.mcast_dst_ip = None;
                    }
                }
            }
            "use_vmac" => i.use_vmac = Some(vmac(n, d)),
            "vmac_xmit_base" => i.vmac_xmit_base = true,
            "smtp_alert" => i.smtp_alert = v::bool_arg(n, d),
            "garp_master_delay" => i.garp_master_delay = v::secs_arg(n, 0.0, 255.0, d),
            "garp_master_repeat" => i.garp_master_repeat = v::int_arg(n, 0u32, 255, d),
            "garp_master_refresh" => i.garp_master_refresh = v::secs_arg(n, 0.0, 1e6, d),
            "garp_master_refresh_repeat" => {
                i.garp_master_refresh_repeat = v::int_arg(n, 1u32, 255, d)
            }
            "garp_lower_prio_delay" => i.garp_lower_prio_delay = v::secs_arg(n, 0.0, 255.0, d),
            "garp_lower_prio_repeat" => i.garp_lower_prio_repeat = v::int_arg(n, 0u32, 255, d),
            "down_timer_adverts" => i.down_timer_adverts = v::int_arg(n, 1u8, 100, d).unwrap_or(3),
            "lower_prio_no_advert" => i.lower_prio_no_advert = v::bool_arg(n, d),
            "higher_prio_send_advert" => i.higher_prio_send_advert = v::bool_arg(n, d),
            _ => not_handled(n, d),
        }
    }

    // keepalived: `state MASTER` without an explicit priority means the address owner (255).
    if i.initial_state == Some(InitialState::Master) && i.spans.get("priority").is_none() {
        i.priority = 255;
    }
    // keepalived: strict VRRPv2 (RFC 3768) has no accept mode for a non-owner.
    if i.accept == Some(true) && i.priority != 255 && i.strict && i.version == VrrpVersion::V2 {
        let loc = i
            .spans
            .get("accept")
            .cloned()
            .unwrap_or_else(|| i.loc.clone());
        d.recover(
            &loc,
            format!(
                "vrrp_instance {}: accept mode for VRRP version 2 does not comply with RFC 3768 (strict mode)",
                i.name
            ),
            "turning accept mode off",
        );
        i.accept = Some(false);
    }
    // Family from the first VIP, else from the addresses used to talk to peers.
    let first = i
        .virtual_ipaddress
        .first()
        .map(|a| a.addr.addr())
        .or(i.unicast_src_ip)
        .or_else(|| i.unicast_peers.first().map(|p| p.addr))
        .or(i.mcast_src_ip);
    if let Some(a) = first {
        i.family = Family::of(&a);
    }
    if i.family == Family::V6 {
        if version_given && i.version == VrrpVersion::V2 {
            let loc = i
                .spans
                .get("version")
                .cloned()
                .unwrap_or_else(|| i.loc.clone());
            d.error(
                &loc,
                format!("vrrp_instance {name}: VRRP version 2 does not support IPv6"),
            );
        }
        i.version = VrrpVersion::V3;
    }
    if let Some((secs, loc)) = advert_raw {
        let given = Duration::from_secs_f64(secs);
        let (t, problem) = v::advert_interval(given, i.version == VrrpVersion::V3);
        if let Some(problem) = problem {
            d.recover(
                &loc,
                format!("advert_int: {problem}"),
                format!("using {} s", t.as_secs_f64()),
            );
        }
        i.advert_int = t;
    }
    // keepalived ignores a VIP of the other family than the instance's (excluded addresses
    // may be of either family).
    let family = i.family;
    {
        i.virtual_ipaddress.retain(|a| {
            let ok = Family::of(&a.addr.addr()) == family;
            if !ok {
                d.recover(
                    &a.loc,
                    format!(
                        "vrrp_instance {name}: address {} is not of the instance's family",
                        a.addr
                    ),
                    "ignoring the address",
                );
            }
            ok
        });
    }
    if let Some(Authentication::Pass(p) | Authentication::Ah(p)) = &i.authentication {
        let loc = i
            .spans
            .get("authentication")
            .cloned()
            .unwrap_or_else(|| i.loc.clone());
        if p.len() > 8 {
            d.recover(
                &loc,
                format!("vrrp_instance {name}: auth_pass is longer than 8 characters"),
                "using its first 8",
            );
        }
        if p.is_empty() && i.version == VrrpVersion::V2 {
            // keepalived: "Authentication specified but no password given. Ignoring".
            d.recover(
                &loc,
                format!("vrrp_instance {name}: authentication without auth_pass"),
                "ignoring the authentication (adverts go out unauthenticated)",
            );
            i.authentication = None;
        }
    }
    ah_initial_state(&mut i, name, d);
    unicast_without_peers(&i, d);
    i
}

/// keepalived: a unicast keyword (`unicast_src_ip`, `unicast_peer`, `check_unicast_src`,
/// `unicast_fault_no_peer`, `old_unicast_checksum`) without any unicast peer runs the instance
/// with multicast (deprecated, warned), unless `unicast_fault_no_peer` puts it in FAULT
/// ([`VrrpInstance::config_fault`]).
fn unicast_without_peers(i: &VrrpInstance, d: &mut Diagnostics) {
    if !i.unicast_peers.is_empty() || i.unicast_fault_no_peer {
        return;
    }
    let given = [
        "unicast_src_ip",
        "unicast_peer",
        "check_unicast_src",
        "old_unicast_checksum",
    ]
    .iter()
    .find_map(|k| i.spans.get(k));
    if let Some(loc) = given {
        d.warning(
            loc,
            format!(
                "vrrp_instance {}: a unicast keyword has been specified without any unicast peers; defaulting to multicast (deprecated by keepalived)",
                i.name
            ),
        );
    }
}

/// keepalived: with `auth_type AH` (VRRPv2) an initial `state MASTER` is cleared unless the
/// instance is the address owner: a backup must hear an advert (its AH sequence number) before
/// it takes over, or the current master would drop its adverts as replays.
fn ah_initial_state(i: &mut VrrpInstance, name: &str, d: &mut Diagnostics) {
    if matches!(i.authentication, Some(Authentication::Ah(_)))
        && i.version == VrrpVersion::V2
        && i.family == Family::V4
        && i.initial_state == Some(InitialState::Master)
        && i.priority != 255
    {
        let loc = i
            .spans
            .get("state")
            .cloned()
            .unwrap_or_else(|| i.loc.clone());
        d.recover(
            &loc,
            format!(
                "vrrp_instance {name}: initial state MASTER is incompatible with AH \
                 authentication (the AH sequence number is learnt from the master's adverts)"
            ),
            "starting as BACKUP",
        );
        i.initial_state = Some(InitialState::Backup);
    }
}

fn authentication(n: &Node, d: &mut Diagnostics) -> Option<Authentication> {
    let children = block(n, d)?;
    let mut kind: Option<(String, Location)> = None;
    let mut pass: Option<String> = None;
    for c in children {
        if !keywords::accept("vrrp_instance>authentication", c, d) {
            continue;
        }
        match c.keyword.as_str() {
            "auth_type" => kind = v::arg(c, 0, d).map(|s| (s.to_string(), c.loc.clone())),
            "auth_pass" => pass = v::arg(c, 0, d).map(str::to_string),
            _ => not_handled(c, d),
        }
    }
    let pass = pass.unwrap_or_default();
    match kind {
        Some((k, _)) if k.eq_ignore_ascii_case("PASS") => Some(Authentication::Pass(pass)),
        Some((k, _)) if k.eq_ignore_ascii_case("AH") => Some(Authentication::Ah(pass)),
        Some((k, loc)) => {
            d.recover(
                &loc,
                format!("auth_type: '{k}' is not PASS or AH"),
                "ignoring the authentication",
            );
            None
        }
        None => {
            d.recover(
                &n.loc,
                "authentication: no auth_type given",
                "ignoring the authentication",
            );
            None
        }
    }
}

fn unicast_peer(p: &Node, d: &mut Diagnostics) -> Option<UnicastPeer> {
    let addr = d.with_recovery("skipping this peer", |d| {
        v::ip(&p.loc, "unicast_peer", &p.keyword, d)
    })?;
    let mut peer = UnicastPeer {
        addr,
        min_ttl: None,
        max_ttl: None,
        loc: p.loc.clone(),
    };
    let mut k = 0;
    while let Some(a) = p.arg(k) {
        match a {
            "min_ttl" | "max_ttl" => {
                k += 1;
                let val = p
                    .arg(k)
                    .and_then(|s| v::int_in::<u8>(&p.loc, a, s, 0, 255, d));
                if a == "min_ttl" {
                    peer.min_ttl = val;
                } else {
                    peer.max_ttl = val;
                }
            }
            // A second peer on the same line.
            other => {
                d.bad_value(
                    &p.loc,
                    format!(
                        "unicast_peer {}: unexpected '{other}' (one peer per line)",
                        p.keyword
                    ),
                );
            }
        }
        k += 1;
    }
    Some(peer)
}

fn vmac(n: &Node, d: &mut Diagnostics) -> Vmac {
    let mut out = Vmac {
        name: None,
        mac: None,
    };
    let mut k = 0;
    while let Some(a) = n.arg(k) {
        if a == "name" {
            k += 1;
            out.name = n.arg(k).map(str::to_string);
        } else if a.contains(':') {
            let parts: Vec<Option<u8>> = a
                .split(':')
                .map(|x| u8::from_str_radix(x, 16).ok())
                .collect();
            if parts.iter().any(Option::is_none) || !(5..=6).contains(&parts.len()) {
                d.bad_value(&n.loc, format!("use_vmac: '{a}' is not a MAC address"));
            } else {
                let mut mac = [0u8; 6];
                for (j, b) in parts.into_iter().flatten().enumerate() {
                    mac[j] = b;
                }
                out.mac = Some(mac);
            }
        } else if a != "netlink_notify_msg" && a != "group" {
            out.name = Some(a.to_string());
        }
        k += 1;
    }
    out
}

/// Builds a vrrp_sync_group.
pub fn sync_group(name: &str, blk: &Node, children: &[Node], d: &mut Diagnostics) -> SyncGroup {
    let mut g = SyncGroup {
        name: name.to_string(),
        loc: blk.loc.clone(),
        spans: Spans::default(),
        members: Vec::new(),
        tracking: Tracking::default(),
        notify: NotifyScripts::default(),
        smtp_alert: None,
        sync_group_tracking_weight: false,
    };
    for n in children {
        // Old form without `group { }`: a bare member name in the block. keepalived 2.2.7
        // treats it as an unknown keyword (the instance is not a member); so do we, saying so.
        if n.args.is_empty()
            && n.children.is_none()
            && keywords::lookup("vrrp_sync_group", &n.keyword).is_none()
        {
            d.recover(
                &n.loc,
                format!(
                    "vrrp_sync_group {name}: '{}' outside 'group {{ }}' is not a member (list \
                     members in 'group {{ ... }}')",
                    n.keyword
                ),
                "ignoring it",
            );
            continue;
        }
        if !keywords::accept("vrrp_sync_group", n, d) {
            continue;
        }
        span(&mut g.spans, n);
        if notify(&mut g.notify, n, d) || tracking(&mut g.tracking, n, d) {
            continue;
        }
        match n.keyword.as_str() {
            "group" => {
                g.members
                    .extend(n.flat_words().into_iter().map(|(l, w)| (w, l)));
                g.members
                    .extend(n.arg_texts().map(|a| (a.to_string(), n.loc.clone())));
            }
            "smtp_alert" => g.smtp_alert = v::bool_arg(n, d),
            "sync_group_tracking_weight" | "global_tracking" => g.sync_group_tracking_weight = true,
            _ => not_handled(n, d),
        }
    }
    if g.members.len() == 1 {
        d.warning(
            &g.loc,
            format!("vrrp_sync_group {name} has only one member"),
        );
    }
    g
}
