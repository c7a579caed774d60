//! Whole-configuration checks: references between objects, uniqueness, protocol rules.

use super::diag::{Diagnostics, Location};
use super::model::{CheckKind, Config, Family, InitialState, VrrpInstance, VrrpVersion, VsAddress};
use std::collections::{HashMap, HashSet};

/// Runs every check that needs more than one block.
pub fn validate(cfg: &Config, d: &mut Diagnostics) {
    unique_names(cfg, d);
    instances(cfg, d);
    sync_groups(cfg, d);
    lvs(cfg, d);
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

fn instances(cfg: &Config, d: &mut Diagnostics) {
    // (vrid, family, interface, multicast destination) must be unique among multicast instances;
    // unicast instances may share a VRID when their peer sets do not overlap.
    let mut mcast: HashMap<McastKey<'_>, &VrrpInstance> = HashMap::new();
    let mut ucast: Vec<&VrrpInstance> = Vec::new();
    let scripts: HashSet<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let files: HashSet<&str> = cfg.track_files.iter().map(|s| s.name.as_str()).collect();
    let procs: HashSet<&str> = cfg
        .track_processes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let bfds: HashSet<&str> = cfg.bfd_instances.iter().map(|s| s.name.as_str()).collect();

    for i in &cfg.instances {
        let name = &i.name;
        if i.vrid == 0 && i.spans.get("virtual_router_id").is_none() {
            d.error(
                &i.loc,
                format!("vrrp_instance {name}: virtual_router_id is required"),
            );
        }
        if i.interface.is_none() && i.unicast_src_ip.is_none() {
            d.warning(
                &i.loc,
                format!("vrrp_instance {name}: no interface given (keepalived would use eth0)"),
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
        for r in &i.tracking.processes {
            if !procs.contains(r.name.as_str()) {
                d.error(
                    &r.loc,
                    format!(
                        "vrrp_instance {name}: track_process '{}' is not defined",
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
        if i.virtual_ipaddress.is_empty() && (i.version == VrrpVersion::V3 || i.strict) {
            d.warning(
                &i.loc,
                format!("vrrp_instance {name}: no virtual_ipaddress"),
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
        if let Some(dev) = &a.dev {
            check(dev, &a.loc, d);
        }
    }
}

/// True when `/sys/class/net/NAME` exists.
pub fn host_has_interface(name: &str) -> bool {
    !name.contains('/') && std::path::Path::new("/sys/class/net").join(name).exists()
}
