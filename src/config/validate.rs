//! Whole-configuration checks: references between objects, uniqueness, protocol rules.

use super::diag::{Diagnostics, Location};
use super::model::{
    CheckKind, Config, Family, InitialState, TrackRef, VrrpInstance, VrrpVersion, VsAddress,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Completes the model as keepalived 2.2.7 does (objects it removes are removed, references it
/// ignores are dropped, settings it resets are reset, each with a recovery diagnostic), then runs
/// every check that needs more than one block; what remains an error is what keepalived refuses.
pub fn validate(cfg: &mut Config, d: &mut Diagnostics) {
    complete(cfg, d);
    let cfg: &Config = cfg;
    unique_names(cfg, d);
    instances(cfg, d);
    sync_groups(cfg, d);
    lvs(cfg, d);
}

/// keepalived's completion of a configuration (`vrrp_complete_init`, the parsers' end handlers).
pub fn complete(cfg: &mut Config, d: &mut Diagnostics) {
    remove_incomplete_objects(cfg, d);
    remove_duplicate_blocks(cfg, d);
    let known = Known::of(cfg);
    for i in cfg.instances.iter_mut() {
        complete_instance(Arc::make_mut(i), &known, d);
    }
    complete_sync_groups(cfg, &known, d);
    complete_virtual_servers(cfg, &known, d);
}

/// Names of the objects references can point to.
#[derive(Default)]
struct Known {
    scripts: HashSet<String>,
    files: HashSet<String>,
    processes: HashSet<String>,
    bfds: HashSet<String>,
    instances: HashSet<String>,
}

impl Known {
    fn of(cfg: &Config) -> Self {
        Self {
            scripts: cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect(),
            files: cfg.track_files.iter().map(|s| s.name.clone()).collect(),
            processes: cfg.track_processes.iter().map(|s| s.name.clone()).collect(),
            bfds: cfg.bfd_instances.iter().map(|s| s.name.clone()).collect(),
            instances: cfg.instances.iter().map(|s| s.name.clone()).collect(),
        }
    }
}

/// The objects keepalived removes at the end of their block: a vrrp_script without a script,
/// a track_file without a file, a vrrp_track_process without a process, a bfd_instance
/// without a neighbor or with a source of the other family.
fn remove_incomplete_objects(cfg: &mut Config, d: &mut Diagnostics) {
    cfg.vrrp_scripts.retain(|s| {
        if s.script.is_none() && s.spans.get("script").is_some() {
            d.recover(
                &s.loc,
                format!("vrrp_script {}: no usable 'script'", s.name),
                "removing the vrrp_script",
            );
        }
        s.script.is_some()
    });
    cfg.track_files.retain(|t| t.file.is_some());
    cfg.track_processes.retain(|p| p.process.is_some());
    cfg.bfd_instances
        .retain(|b| match (b.neighbor_ip, b.source_ip) {
            (None, _) => false,
            (Some(n), Some(s)) => n.is_ipv4() == s.is_ipv4(),
            _ => true,
        });
}

/// keepalived skips a second `vrrp_instance` or `vrrp_sync_group` block of the same name.
fn remove_duplicate_blocks(cfg: &mut Config, d: &mut Diagnostics) {
    let mut seen: HashMap<String, Location> = HashMap::new();
    cfg.instances.retain(|i| match seen.get(&i.name) {
        Some(first) => {
            d.recover(
                &i.loc,
                format!("vrrp_instance {} is already defined at {first}", i.name),
                "skipping this block",
            );
            false
        }
        None => {
            seen.insert(i.name.clone(), i.loc.clone());
            true
        }
    });
    let mut seen: HashMap<String, Location> = HashMap::new();
    cfg.sync_groups.retain(|g| match seen.get(&g.name) {
        Some(first) => {
            d.recover(
                &g.loc,
                format!("vrrp_sync_group {} is already defined at {first}", g.name),
                "skipping this block",
            );
            false
        }
        None => {
            seen.insert(g.name.clone(), g.loc.clone());
            true
        }
    });
}

/// Drops the references to objects that do not exist, as keepalived does ("not found,
/// ignoring").
fn drop_dangling(
    owner: &str,
    what: &str,
    refs: &mut Vec<TrackRef>,
    known: &HashSet<String>,
    d: &mut Diagnostics,
) {
    refs.retain(|r| {
        let ok = known.contains(&r.name);
        if !ok {
            d.recover(
                &r.loc,
                format!("{owner}: {what} '{}' is not defined", r.name),
                "ignoring the reference",
            );
        }
        ok
    });
}

/// keepalived's `vrrp_complete_instance` recoveries for one instance (pure on the model).
// Long by design: the recoveries one after another in keepalived's order, so each can be read
// against vrrp_complete_instance; each is one short step, tested in recovery_tests.rs.
fn complete_instance(i: &mut VrrpInstance, known: &Known, d: &mut Diagnostics) {
    let owner = format!("vrrp_instance {}", i.name);
    drop_dangling(
        &owner,
        "track_script",
        &mut i.tracking.scripts,
        &known.scripts,
        d,
    );
    drop_dangling(&owner, "track_file", &mut i.tracking.files, &known.files, d);
    drop_dangling(
        &owner,
        "track_process",
        &mut i.tracking.processes,
        &known.processes,
        d,
    );
    drop_dangling(&owner, "track_bfd", &mut i.tracking.bfd, &known.bfds, d);
    let at = |i: &VrrpInstance, k: &str| i.spans.get(k).cloned().unwrap_or_else(|| i.loc.clone());

    // A unicast peer of the other family than the source address is skipped.
    if let Some(src) = i.unicast_src_ip {
        i.unicast_peers.retain(|p| {
            let ok = p.addr.is_ipv4() == src.is_ipv4();
            if !ok {
                d.recover(
                    &p.loc,
                    format!(
                        "{owner}: unicast_peer {} and unicast_src_ip {src} are of different families",
                        p.addr
                    ),
                    "skipping the peer",
                );
            }
            ok
        });
    }
    // Strict mode: MASTER must be the address owner, and the other way round.
    if i.strict {
        if let Some(st) = i.initial_state {
            let owner_prio = i.priority == 255;
            if (st == InitialState::Master) != owner_prio {
                let want = if owner_prio {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
                d.recover(
                    &at(i, "state"),
                    format!("{owner}: strict mode needs state MASTER exactly when priority is 255"),
                    format!(
                        "using state {}",
                        if owner_prio { "MASTER" } else { "BACKUP" }
                    ),
                );
                i.initial_state = Some(want);
            }
        }
    }
    // Authentication: ignored in strict mode, with VRRPv3, or without a password.
    if let Some(auth) = &i.authentication {
        let problem = if i.strict {
            Some("strict mode does not allow authentication")
        } else if i.version == VrrpVersion::V3 {
            Some("VRRP version 3 has no authentication")
        } else if auth_password_empty(auth) {
            Some("authentication without a password")
        } else {
            None
        };
        if let Some(p) = problem {
            d.recover(
                &at(i, "authentication"),
                format!("{owner}: {p}"),
                "ignoring the authentication",
            );
            i.authentication = None;
        }
    }
    if i.priority == 255 && !i.preempt {
        d.recover(
            &at(i, "nopreempt"),
            format!("{owner}: nopreempt does not apply to the address owner (priority 255)"),
            "ignoring nopreempt",
        );
        i.preempt = true;
    }
    let master = i.initial_state == Some(InitialState::Master)
        || (i.initial_state.is_none() && i.priority == 255);
    if master && !i.preempt {
        d.recover(
            &at(i, "nopreempt"),
            format!("{owner}: nopreempt does not work with state MASTER"),
            "ignoring nopreempt",
        );
        i.preempt = true;
    }
    if !i.preempt_delay.is_zero() {
        let problem = if master {
            Some("preempt_delay does not work with state MASTER")
        } else if i.strict {
            Some("strict mode does not allow preempt_delay")
        } else if !i.preempt {
            Some("preempt_delay does not apply with nopreempt")
        } else {
            None
        };
        if let Some(p) = problem {
            d.recover(&at(i, "preempt_delay"), format!("{owner}: {p}"), "using 0");
            i.preempt_delay = Duration::ZERO;
        }
    }
    if i.strict {
        strict_recoveries(i, &owner, d);
    }
    if i.strict && i.down_timer_adverts != 3 {
        d.recover(
            &at(i, "down_timer_adverts"),
            format!("{owner}: strict mode does not allow down_timer_adverts"),
            "using 3",
        );
        i.down_timer_adverts = 3;
    }
    if i.is_unicast() && i.mcast_dst_ip.is_some() {
        d.recover(
            &at(i, "mcast_dst_ip"),
            format!("{owner}: mcast_dst_ip with unicast peers"),
            "ignoring mcast_dst_ip",
        );
        i.mcast_dst_ip = None;
    }
}

fn auth_password_empty(a: &super::model::Authentication) -> bool {
    match a {
        super::model::Authentication::Pass(p) => p.is_empty(),
        _ => false,
    }
}

/// Sync groups: members that are not instances, or already in another group, are ignored; a
/// group left without members is removed; dangling tracker references are ignored.
fn complete_sync_groups(cfg: &mut Config, known: &Known, d: &mut Diagnostics) {
    let mut member_of: HashMap<String, String> = HashMap::new();
    for g in cfg.sync_groups.iter_mut() {
        let gname = g.name.clone();
        g.members.retain(|(m, loc)| {
            if !known.instances.contains(m) {
                d.recover(
                    loc,
                    format!("vrrp_sync_group {gname}: member '{m}' is not a defined vrrp_instance"),
                    "ignoring the member",
                );
                return false;
            }
            if let Some(other) = member_of.get(m) {
                d.recover(
                    loc,
                    format!(
                        "vrrp_sync_group {gname}: instance '{m}' is already in sync group {other}"
                    ),
                    "ignoring the member",
                );
                return false;
            }
            member_of.insert(m.clone(), gname.clone());
            true
        });
        let owner = format!("vrrp_sync_group {gname}");
        drop_dangling(
            &owner,
            "track_script",
            &mut g.tracking.scripts,
            &known.scripts,
            d,
        );
        drop_dangling(&owner, "track_file", &mut g.tracking.files, &known.files, d);
        drop_dangling(
            &owner,
            "track_process",
            &mut g.tracking.processes,
            &known.processes,
            d,
        );
        drop_dangling(&owner, "track_bfd", &mut g.tracking.bfd, &known.bfds, d);
    }
    cfg.sync_groups.retain(|g| {
        if g.members.is_empty() {
            d.recover(
                &g.loc,
                format!("vrrp_sync_group {}: no member instances", g.name),
                "removing the sync group",
            );
        }
        !g.members.is_empty()
    });
}

/// Real servers of the other family than their virtual server are skipped; BFD_CHECK and
/// FILE_CHECK naming an undefined object are skipped.
fn complete_virtual_servers(cfg: &mut Config, known: &Known, d: &mut Diagnostics) {
    for vs in cfg.virtual_servers.iter_mut() {
        let vs_ip = match &vs.address {
            VsAddress::Addr { ip, .. } => Some(*ip),
            _ => None,
        };
        let tun = vs.forward == super::model::ForwardMethod::Tun;
        vs.real_servers.retain(|rs| {
            let ok = tun || vs_ip.is_none_or(|ip| ip.is_ipv4() == rs.ip.is_ipv4());
            if !ok {
                d.recover(
                    &rs.loc,
                    format!(
                        "real_server {} is not of the virtual server's family",
                        rs.ip
                    ),
                    "skipping the real_server",
                );
            }
            ok
        });
        for rs in vs.real_servers.iter_mut() {
            rs.checkers.retain(|c| {
                let problem = match &c.kind {
                    CheckKind::Bfd { name: Some(n) } if !known.bfds.contains(n) => {
                        Some(format!("BFD_CHECK: '{n}' is not a defined bfd_instance"))
                    }
                    CheckKind::File {
                        track_file: Some(n),
                        ..
                    } if !known.files.contains(n) => {
                        Some(format!("FILE_CHECK: '{n}' is not a defined track_file"))
                    }
                    _ => None,
                };
                if let Some(p) = &problem {
                    d.recover(&c.loc, p, "skipping the checker");
                }
                problem.is_none()
            });
        }
    }
}

fn dup<'a>(
    seen: &mut HashMap<&'a str, &'a Location>,
    what: &str,
    name: &'a str,
    loc: &'a Location,
    d: &mut Diagnostics,
) {
    if let Some(first) = seen.get(name) {
        d.error(
            loc,
            format!("duplicate {what} '{name}' (first defined at {first})"),
        );
    } else {
        seen.insert(name, loc);
    }
}

fn unique_names(cfg: &Config, d: &mut Diagnostics) {
    let mut seen = HashMap::new();
    for i in &cfg.instances {
        dup(&mut seen, "vrrp_instance", &i.name, &i.loc, d);
    }
    let mut seen = HashMap::new();
    for s in &cfg.vrrp_scripts {
        dup(&mut seen, "vrrp_script", &s.name, &s.loc, d);
    }
    let mut seen = HashMap::new();
    for s in &cfg.sync_groups {
        dup(&mut seen, "vrrp_sync_group", &s.name, &s.loc, d);
    }
    let mut seen = HashMap::new();
    for s in &cfg.bfd_instances {
        dup(&mut seen, "bfd_instance", &s.name, &s.loc, d);
    }
    let mut seen = HashMap::new();
    for s in &cfg.track_files {
        dup(&mut seen, "track_file", &s.name, &s.loc, d);
    }
    let mut seen = HashMap::new();
    for s in &cfg.virtual_server_groups {
        dup(&mut seen, "virtual_server_group", &s.name, &s.loc, d);
    }
}

/// (VRID, family, interface, multicast destination) of a multicast instance.
type McastKey<'a> = (u8, Family, Option<&'a str>, Option<std::net::IpAddr>);

// Long by design: keepalived's per-instance refusals (chk_min_cfg, duplicate VRIDs, dangling
// references) one rule after another in its order, each a few lines with its message.
fn instances(cfg: &Config, d: &mut Diagnostics) {
    // (vrid, family, interface, multicast destination) must be unique among multicast instances;
    // unicast instances may share a VRID when their peer sets do not overlap.
    let mut mcast: HashMap<McastKey<'_>, &VrrpInstance> = HashMap::new();
    let mut ucast: Vec<&VrrpInstance> = Vec::new();
    let scripts: HashSet<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let files: HashSet<&str> = cfg.track_files.iter().map(|s| s.name.as_str()).collect();
    let bfds: HashSet<&str> = cfg.bfd_instances.iter().map(|s| s.name.as_str()).collect();

    for i in &cfg.instances {
        let name = &i.name;
        // keepalived refuses to run an instance whose VRID was never set (or set badly).
        if i.vrid == 0 {
            d.error(
                &i.spans.get("virtual_router_id").cloned().unwrap_or_else(|| i.loc.clone()),
                format!("virtual_router_id: vrrp_instance {name} has no valid one (keepalived refuses to run it)"),
            );
        }
        // keepalived 2.2.7 checks the interface before it looks at unicast peers
        // (`chk_min_cfg`): an instance without one is refused ("Unknown interface!").
        if i.interface.is_none() {
            d.error(
                &i.loc,
                format!("vrrp_instance {name}: no interface given (keepalived 2.2.7 refuses an instance without one)"),
            );
        }
        if i.vrid == 0 {
            // Already reported; uniqueness is meaningless for it.
        } else if i.is_unicast() {
            for other in &ucast {
                let overlap = other.interface == i.interface
                    && other.family == i.family
                    && other.vrid == i.vrid
                    && other
                        .unicast_peers
                        .iter()
                        .any(|p| i.unicast_peers.iter().any(|q| q.addr == p.addr));
                if overlap {
                    d.error(
                        &i.loc,
                        format!(
                            "vrrp_instance {name}: virtual_router_id {} is already used by {} ({}) with the same unicast peers",
                            i.vrid, other.name, other.loc
                        ),
                    );
                }
            }
            ucast.push(i);
        } else {
            let key = (i.vrid, i.family, i.interface.as_deref(), i.mcast_dst_ip);
            if let Some(other) = mcast.get(&key) {
                d.error(
                    &i.spans.get("virtual_router_id").cloned().unwrap_or_else(|| i.loc.clone()),
                    format!(
                        "vrrp_instance {name}: virtual_router_id {} is already used on interface {} for {:?} by {} ({})",
                        i.vrid,
                        i.interface.as_deref().unwrap_or("-"),
                        i.family,
                        other.name,
                        other.loc
                    ),
                );
            } else {
                mcast.insert(key, i);
            }
        }
        for r in &i.tracking.scripts {
            if !scripts.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_instance {name}: track_script '{}' is not defined by any vrrp_script",
                        r.name
                    ),
                );
            }
        }
        for r in &i.tracking.files {
            if !files.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_instance {name}: track_file '{}' is not defined",
                        r.name
                    ),
                );
            }
        }
        for r in &i.tracking.bfd {
            if !bfds.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_instance {name}: track_bfd '{}' is not defined by any bfd_instance",
                        r.name
                    ),
                );
            }
        }
        // keepalived 2.2.7: "No VIP specified; at least one is required", and the VRRP
        // process exits with a configuration error.
        if i.virtual_ipaddress.is_empty() && (i.version == VrrpVersion::V3 || i.strict) {
            d.error(
                &i.loc,
                format!(
                    "vrrp_instance {name}: no virtual_ipaddress; at least one is required with {}",
                    if i.strict {
                        "strict mode"
                    } else {
                        "VRRP version 3"
                    }
                ),
            );
        }
        if !i.preempt && i.initial_state == Some(InitialState::Master) {
            let loc = i
                .spans
                .get("nopreempt")
                .cloned()
                .unwrap_or_else(|| i.loc.clone());
            d.warning(&loc, format!("vrrp_instance {name}: nopreempt needs 'state BACKUP'; keepalived ignores it with MASTER"));
        }
        if let Some(src) = i.unicast_src_ip {
            for p in &i.unicast_peers {
                if p.addr.is_ipv4() != src.is_ipv4() {
                    d.error(&p.loc, format!("vrrp_instance {name}: unicast_peer {} and unicast_src_ip {src} are of different families", p.addr));
                }
            }
        }
        if i.strict {
            let at = |k: &str| i.spans.get(k).cloned().unwrap_or_else(|| i.loc.clone());
            if i.is_unicast() {
                d.error(
                    &at("unicast_peer"),
                    format!("vrrp_instance {name}: strict mode does not allow unicast peers"),
                );
            }
            if i.authentication.is_some() {
                d.error(
                    &at("authentication"),
                    format!("vrrp_instance {name}: strict mode does not allow authentication"),
                );
            }
            if !i.preempt_delay.is_zero() {
                d.error(
                    &at("preempt_delay"),
                    format!("vrrp_instance {name}: strict mode does not allow preempt_delay"),
                );
            }
        }
        if i.version == VrrpVersion::V3 && i.authentication.is_some() {
            let loc = i
                .spans
                .get("authentication")
                .cloned()
                .unwrap_or_else(|| i.loc.clone());
            d.warning(
                &loc,
                format!("vrrp_instance {name}: authentication is ignored with VRRP version 3"),
            );
        }
        if i.priority == 255 {
            let weighted = i
                .tracking
                .scripts
                .iter()
                .chain(&i.tracking.interfaces)
                .chain(&i.tracking.bfd)
                .any(|r| r.weight.is_some_and(|w| w != 0));
            if weighted {
                d.warning(&i.loc, format!("vrrp_instance {name}: priority 255 (address owner) ignores tracker weights"));
            }
        }
    }
}

fn sync_groups(cfg: &Config, d: &mut Diagnostics) {
    let names: HashSet<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    let scripts: HashSet<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let bfds: HashSet<&str> = cfg.bfd_instances.iter().map(|s| s.name.as_str()).collect();
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for g in &cfg.sync_groups {
        if g.members.is_empty() {
            d.error(
                &g.loc,
                format!(
                    "vrrp_sync_group {}: no member instances (group {{ ... }})",
                    g.name
                ),
            );
        }
        for (m, loc) in &g.members {
            if !names.contains(m.as_str()) {
                d.error(
                    loc,
                    format!(
                        "vrrp_sync_group {}: member '{m}' is not a defined vrrp_instance",
                        g.name
                    ),
                );
            } else if let Some(other) = member_of.insert(m.as_str(), g.name.as_str()) {
                d.error(
                    loc,
                    format!(
                        "vrrp_sync_group {}: instance '{m}' is already in sync group {other}",
                        g.name
                    ),
                );
            }
        }
        for r in &g.tracking.scripts {
            if !scripts.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_sync_group {}: track_script '{}' is not defined by any vrrp_script",
                        g.name, r.name
                    ),
                );
            }
        }
        for r in &g.tracking.bfd {
            if !bfds.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_sync_group {}: track_bfd '{}' is not defined by any bfd_instance",
                        g.name, r.name
                    ),
                );
            }
        }
    }
}

fn lvs(cfg: &Config, d: &mut Diagnostics) {
    let groups: HashSet<&str> = cfg
        .virtual_server_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let bfds: HashSet<&str> = cfg.bfd_instances.iter().map(|s| s.name.as_str()).collect();
    let files: HashSet<&str> = cfg.track_files.iter().map(|s| s.name.as_str()).collect();
    let mut seen: HashMap<(VsAddress, super::model::Protocol), &Location> = HashMap::new();
    for vs in &cfg.virtual_servers {
        if let VsAddress::Group(g) = &vs.address {
            if !groups.contains(g.as_str()) {
                d.error(
                    &vs.loc,
                    format!("virtual_server group '{g}' is not a defined virtual_server_group"),
                );
            }
        }
        if let Some(first) = seen.insert((vs.address.clone(), vs.protocol), &vs.loc) {
            d.error(
                &vs.loc,
                format!("duplicate virtual_server (first defined at {first})"),
            );
        }
        let mut rs_seen: HashMap<(std::net::IpAddr, Option<u16>), &Location> = HashMap::new();
        for rs in &vs.real_servers {
            if let Some(first) = rs_seen.insert((rs.ip, rs.port), &rs.loc) {
                d.error(
                    &rs.loc,
                    format!(
                        "duplicate real_server {} in this virtual_server (first at {first})",
                        rs.ip
                    ),
                );
            }
            if let VsAddress::Addr { ip, .. } = &vs.address {
                if ip.is_ipv4() != rs.ip.is_ipv4() && vs.forward != super::model::ForwardMethod::Tun
                {
                    d.error(
                        &rs.loc,
                        format!(
                            "real_server {} is not of the virtual server's family",
                            rs.ip
                        ),
                    );
                }
            }
            for c in &rs.checkers {
                match &c.kind {
                    CheckKind::Bfd { name: Some(n) } if !bfds.contains(n.as_str()) => {
                        d.error(
                            &c.loc,
                            format!("BFD_CHECK: '{n}' is not a defined bfd_instance"),
                        );
                    }
                    CheckKind::File {
                        track_file: Some(n),
                        ..
                    } if !files.contains(n.as_str()) => {
                        d.error(
                            &c.loc,
                            format!("FILE_CHECK: '{n}' is not a defined track_file"),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Warns about interfaces the configuration names that this host does not have.
/// Configurations are often checked off-host, so this is never an error.
pub fn check_interfaces(cfg: &Config, exists: &dyn Fn(&str) -> bool, d: &mut Diagnostics) {
    let mut warned = HashSet::new();
    // One lookup per name (a big configuration names the same few interfaces many times).
    let mut known: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut check = |name: &str, loc: &Location, d: &mut Diagnostics| {
        let present = match known.get(name) {
            Some(&p) => p,
            None => *known
                .entry(name.to_string())
                .or_insert_with(|| exists(name)),
        };
        if !present && warned.insert(name.to_string()) {
            d.warning(
                loc,
                format!("interface '{name}' does not exist on this host"),
            );
        }
    };
    for i in &cfg.instances {
        if let Some(ifname) = &i.interface {
            let loc = i
                .spans
                .get("interface")
                .cloned()
                .unwrap_or_else(|| i.loc.clone());
            check(ifname, &loc, d);
        }
        for r in &i.tracking.interfaces {
            check(&r.name, &r.loc, d);
        }
        for a in i
            .virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
        {
            if let Some(dev) = &a.dev {
                check(dev, &a.loc, d);
            }
        }
    }
    for a in &cfg.static_ipaddress {
        // Without dev: the default interface (keepalived drops the address if it is missing).
        check(cfg.global.static_address_dev(a.dev.as_deref()), &a.loc, d);
    }
}

/// True when `/sys/class/net/NAME` exists.
pub fn host_has_interface(name: &str) -> bool {
    !name.contains('/') && std::path::Path::new("/sys/class/net").join(name).exists()
}

/// keepalived 2.2.7's strict-mode resets of settings given in the instance (values inherited
/// from `global_defs` are overridden silently, as keepalived does).
fn strict_recoveries(i: &mut VrrpInstance, owner: &str, d: &mut Diagnostics) {
    let at = |i: &VrrpInstance, k: &str| i.spans.get(k).cloned();
    if let (Some(loc), Some(n)) = (at(i, "garp_lower_prio_repeat"), i.garp_lower_prio_repeat) {
        if n != 0 {
            d.recover(
                &loc,
                format!("{owner}: strict mode requires no repeat garps"),
                "using 0",
            );
            i.garp_lower_prio_repeat = Some(0);
        }
    }
    if let (Some(loc), Some(t)) = (at(i, "garp_lower_prio_delay"), i.garp_lower_prio_delay) {
        if !t.is_zero() {
            d.recover(
                &loc,
                format!("{owner}: strict mode requires no repeat garp delay"),
                "using 0",
            );
            i.garp_lower_prio_delay = Some(Duration::ZERO);
        }
    }
    if let Some(loc) = at(i, "lower_prio_no_advert") {
        if i.lower_prio_no_advert == Some(false) {
            d.recover(
                &loc,
                format!("{owner}: strict mode requires lower_prio_no_advert"),
                "turning it on",
            );
        }
    }
    i.lower_prio_no_advert = Some(true);
    if let Some(loc) = at(i, "higher_prio_send_advert") {
        if i.higher_prio_send_advert == Some(true) {
            d.recover(
                &loc,
                format!("{owner}: strict mode requires higher_prio_send_advert to be clear"),
                "turning it off",
            );
        }
    }
    i.higher_prio_send_advert = Some(false);
    if let Some(v) = &mut i.use_vmac {
        if v.mac.is_some() {
            let loc = at(i, "use_vmac").unwrap_or_else(|| i.loc.clone());
            d.recover(
                &loc,
                format!("{owner}: cannot specify the vmac's MAC address with strict mode"),
                "using 00:00:5e:00:0x:VRID",
            );
            if let Some(v) = &mut i.use_vmac {
                v.mac = None;
            }
        }
    }
    if i.vmac_xmit_base && i.use_vmac.is_some() {
        let loc = at(i, "vmac_xmit_base").unwrap_or_else(|| i.loc.clone());
        d.recover(
            &loc,
            format!("{owner}: vmac_xmit_base is incompatible with strict mode"),
            "sending from the vmac",
        );
        i.vmac_xmit_base = false;
    }
    // RFC 5798 5.2.9: the first IPv6 address is the link-local one (keepalived reports it and
    // carries on).
    if !i.is_unicast() {
        if let Some(a) = i.virtual_ipaddress.first() {
            if let std::net::IpAddr::V6(v6) = a.addr.addr() {
                if (v6.segments()[0] & 0xffc0) != 0xfe80 {
                    d.warning(
                        &a.loc,
                        format!(
                            "{owner}: the first IPv6 VIP address must be link local (strict mode)"
                        ),
                    );
                }
            }
        }
    }
}
