//! Maps a parsed `vrrp_instance` (plus `global_defs`) onto the core's [`InstanceParams`],
//! applying keepalived's defaults and strict-mode rules.

use super::kernel::VmacRequest;
use crate::config::model::{self, GlobalDefs, InitialState as CfgState, VrrpInstance, VrrpVersion};
use crate::vrrp::ah::AhKey;
use crate::vrrp::packet::{V2Auth, Version};
use crate::vrrp::params::{GarpParams, InitialState, InstanceParams};
use std::net::IpAddr;
use std::time::Duration;

/// Builds the state machine parameters; `primary` is the address adverts are sent from.
pub fn instance_params(i: &VrrpInstance, g: &GlobalDefs, primary: IpAddr) -> InstanceParams {
    let version = match i.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let mut p = InstanceParams::new(i.vrid, version, i.priority, i.advert_int, primary);
    p.initial_state = match i.initial_state {
        Some(CfgState::Master) => InitialState::Master,
        _ => InitialState::Backup,
    };
    // keepalived: nopreempt only with an initial BACKUP state and a non-owner priority.
    p.preempt = i.preempt || i.initial_state == Some(CfgState::Master) || i.priority == 255;
    p.preempt_delay = if i.strict {
        Duration::ZERO
    } else {
        i.preempt_delay
    };
    p.accept = i.accept;
    p.strict = i.strict;
    p.down_timer_adverts = if i.strict {
        3
    } else {
        u32::from(i.down_timer_adverts)
    };
    // keepalived: strict mode forces it on, even when the instance turns it off.
    p.lower_prio_no_advert = i.strict || i.lower_prio_no_advert.unwrap_or(false);
    p.higher_prio_send_advert = !i.strict && i.higher_prio_send_advert.unwrap_or(false);
    let master_delay = i.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
    let master_repeat = i.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    p.garp = GarpParams {
        master_delay,
        master_repeat: if g.vrrp_min_garp { 1 } else { master_repeat },
        master_refresh: i
            .garp_master_refresh
            .or(g.vrrp_garp_master_refresh)
            .unwrap_or(Duration::ZERO),
        master_refresh_repeat: i
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        lower_prio_delay: if i.strict {
            Duration::ZERO
        } else {
            i.garp_lower_prio_delay
                .or(g.vrrp_garp_lower_prio_delay)
                .unwrap_or(master_delay)
        },
        lower_prio_repeat: if i.strict {
            0
        } else {
            i.garp_lower_prio_repeat
                .or(g.vrrp_garp_lower_prio_repeat)
                .unwrap_or(master_repeat)
        },
    };
    if g.vrrp_min_garp {
        p.garp.master_delay = Duration::ZERO;
    }
    p
}

/// The `garp_master_delay` in effect (zero with `vrrp_min_garp`), as `instance_params` uses it.
pub fn garp_master_delay(i: &VrrpInstance, g: &GlobalDefs) -> Duration {
    if g.vrrp_min_garp {
        Duration::ZERO
    } else {
        i.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay)
    }
}

/// The daemon's advert grid (see `InstanceParams::advert_epoch`): fixed at first use, shared
/// by every instance of the process.
pub fn advert_epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// keepalived's `vrrp_startup_delay`: the end of the delay, fixed by the first call (the
/// daemon's start, see `daemon/run.rs`) from that configuration's delay and logged as
/// keepalived logs it; later calls (a reload) return the same instant, so a reload neither
/// delays again nor changes a running delay (keepalived sets it only when not reloading).
pub fn delayed_start(g: &GlobalDefs) -> Option<std::time::Instant> {
    static UNTIL: std::sync::OnceLock<Option<std::time::Instant>> = std::sync::OnceLock::new();
    *UNTIL.get_or_init(|| {
        let delay = g.vrrp_startup_delay;
        if delay.is_zero() {
            return None;
        }
        tracing::info!("Delaying startup for {} seconds", delay.as_secs_f64());
        std::time::Instant::now().checked_add(delay)
    })
}

/// The v2 authentication to send and expect (AH: type 2 in the VRRP header, the AH itself
/// comes from [`ah_key`]).
pub fn v2_auth(i: &VrrpInstance) -> V2Auth {
    match (&i.authentication, i.version) {
        (Some(model::Authentication::Pass(p)), VrrpVersion::V2) => V2Auth::pass(p.as_bytes()),
        (Some(model::Authentication::Ah(_)), VrrpVersion::V2) if ah_key(i).is_some() => V2Auth::AH,
        _ => V2Auth::NONE,
    }
}

/// `auth_type AH`: the HMAC key (first 8 bytes of `auth_pass`), for a VRRPv2 IPv4 instance
/// (keepalived ignores authentication with version 3, and AH with IPv6).
pub fn ah_key(i: &VrrpInstance) -> Option<AhKey> {
    match &i.authentication {
        Some(model::Authentication::Ah(p)) if crate::vrrp::reconfigure::uses_ah(i) => {
            Some(AhKey::from_pass(p.as_bytes()))
        }
        _ => None,
    }
}

/// Where adverts go: the unicast peers, or the multicast group of the family.
pub fn destinations(i: &VrrpInstance, g: &GlobalDefs) -> Vec<IpAddr> {
    if i.is_unicast() {
        i.unicast_peers.iter().map(|p| p.addr).collect()
    } else {
        vec![i.mcast_dst_ip.unwrap_or(match i.family {
            model::Family::V4 => g.vrrp_mcast_group4,
            model::Family::V6 => g.vrrp_mcast_group6,
        })]
    }
}

/// The vmac an instance with `use_vmac` sits on (name and MAC as [`resolve_vmacs`] left them,
/// else keepalived's defaults).
pub fn vmac_request(i: &VrrpInstance, g: &GlobalDefs) -> Option<VmacRequest> {
    let v = i.use_vmac.as_ref()?;
    let v6 = i.family == model::Family::V6;
    Some(VmacRequest {
        name: v
            .name
            .clone()
            .unwrap_or_else(|| vmac_name(&g.vmac_prefix, None, i.vrid)),
        parent: i.interface.clone().unwrap_or_default(),
        mac: v
            .mac
            .unwrap_or([0x00, 0x00, 0x5e, 0x00, if v6 { 0x02 } else { 0x01 }, i.vrid]),
        ipv6: v6,
        link_local: None,
    })
}

/// `PREFIX[N].VRID`, the prefix shortened to fit an interface name (15 bytes), as keepalived.
fn vmac_name(prefix: &str, n: Option<u16>, vrid: u8) -> String {
    let tail = match n {
        Some(n) => format!("{n}.{vrid}"),
        None => format!(".{vrid}"),
    };
    let keep = 15usize.saturating_sub(tail.len()).min(prefix.len());
    let mut cut = keep;
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tail}", &prefix[..cut])
}

/// Names every instance's vmac as keepalived does: configured names first, then in
/// configuration order `PREFIX.VRID`, or when an earlier instance took it `PREFIX6.VRID`
/// (IPv6 tries it first), `PREFIX1.VRID`, `PREFIX2.VRID` ...; the default MAC is filled in.
pub fn resolve_vmacs(instances: &mut [std::sync::Arc<VrrpInstance>], g: &GlobalDefs) {
    let mut taken: std::collections::HashSet<String> = instances
        .iter()
        .filter_map(|i| i.use_vmac.as_ref()?.name.clone())
        .collect();
    for i in instances.iter_mut() {
        let Some(req) = vmac_request(i, g) else {
            continue;
        };
        let v6 = i.family == model::Family::V6;
        // Copied only here (the configuration keeps the instance as written).
        let i = std::sync::Arc::make_mut(i);
        let Some(v) = i.use_vmac.as_mut() else {
            continue;
        };
        v.mac = Some(req.mac);
        if v.name.is_some() {
            continue;
        }
        let mut tries = std::iter::once(None)
            .chain(v6.then_some(Some(6)))
            .chain((1..=u16::MAX).filter(|n| !v6 || *n != 6).map(Some));
        let name = loop {
            match tries.next() {
                Some(n) => {
                    let name = vmac_name(&g.vmac_prefix, n, i.vrid);
                    if !taken.contains(&name) {
                        break name;
                    }
                }
                None => break req.name,
            }
        };
        taken.insert(name.clone());
        v.name = Some(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn inst(body: &str) -> (VrrpInstance, GlobalDefs) {
        let text = format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 9\n {body}\n virtual_ipaddress {{\n 10.1.1.1\n }}\n}}\n");
        let l = load_str("p.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        ((*l.config.instances[0]).clone(), l.config.global)
    }

    #[test]
    fn defaults_and_options() {
        let (i, g) = inst("priority 150\n version 3\n advert_int 0.03");
        let p = instance_params(&i, &g, "10.1.1.10".parse().unwrap());
        assert!(p.check().is_ok(), "{:?}", p.check());
        assert_eq!(p.advert_int, Duration::from_millis(30));
        assert_eq!(p.garp.master_repeat, 5);
        assert!(p.accept_mode());
        let (i, g) = inst("nopreempt\n state BACKUP");
        assert!(!instance_params(&i, &g, "10.1.1.10".parse().unwrap()).preempt);
        let (i, g) = inst("nopreempt\n state MASTER\n priority 100");
        assert!(instance_params(&i, &g, "10.1.1.10".parse().unwrap()).preempt);
    }

    #[test]
    fn auth_and_destinations() {
        let (i, g) = inst("authentication {\n auth_type PASS\n auth_pass secret12\n }");
        assert_eq!(v2_auth(&i), V2Auth::pass(b"secret12"));
        assert_eq!(
            destinations(&i, &g),
            ["224.0.0.18".parse::<IpAddr>().unwrap()]
        );
        let (i, _) = inst("authentication {\n auth_type AH\n auth_pass ahsecret99\n }");
        assert_eq!(v2_auth(&i), V2Auth::AH);
        assert_eq!(ah_key(&i), Some(AhKey::from_pass(b"ahsecret")));
        let (i, _) = inst("version 3\n authentication {\n auth_type AH\n auth_pass x\n }");
        assert_eq!((v2_auth(&i), ah_key(&i)), (V2Auth::NONE, None));
        let (i, g) = inst("unicast_src_ip 10.1.1.10\n unicast_peer {\n 10.1.1.11\n 10.1.1.12\n }");
        assert_eq!(destinations(&i, &g).len(), 2);
    }

    #[test]
    fn ah_config_adjustments_like_keepalived() {
        let load = |body: &str| {
            let text = format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 9\n{body}\n virtual_ipaddress {{\n 10.1.1.1\n }}\n}}\n");
            let l = load_str("ah.conf", &text, &LoadOptions::default());
            assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
            let warnings: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
            ((*l.config.instances[0]).clone(), l.config.global, warnings)
        };
        let ah = " authentication {\n auth_type AH\n auth_pass ahsecret99\n }";
        // state MASTER is cleared (located warning); nopreempt then works as with BACKUP.
        let (i, g, w) = load(&format!(" state MASTER\n priority 150\n nopreempt\n{ah}"));
        assert_eq!(i.initial_state, Some(CfgState::Backup));
        let p = instance_params(&i, &g, "10.1.1.10".parse().unwrap());
        assert_eq!((p.initial_state, p.preempt), (InitialState::Backup, false));
        assert!(
            w.iter().any(|w| w.starts_with("ah.conf:4: warning:")
                && w.contains("initial state MASTER is incompatible with AH")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|w| w.contains("longer than 8 characters")),
            "{w:?}"
        );
        // The address owner keeps MASTER.
        let (i, _, _) = load(&format!(" state MASTER\n{ah}"));
        assert_eq!((i.initial_state, i.priority), (Some(CfgState::Master), 255));
        // Version 3: authentication ignored, state kept.
        let (i, _, _) = load(&format!(" state MASTER\n priority 150\n version 3\n{ah}"));
        assert_eq!(i.initial_state, Some(CfgState::Master));
        assert_eq!(ah_key(&i), None);
        // No password: authentication ignored, as keepalived, with a warning.
        let (i, _, w) = load(" authentication {\n auth_type AH\n }");
        assert_eq!((i.authentication.clone(), ah_key(&i)), (None, None));
        assert!(w.iter().any(|w| w.contains("without auth_pass")), "{w:?}");
    }

    #[test]
    fn vmac_names_and_macs_like_keepalived() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n\
            vrrp_instance B {\n interface eth1\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n 10.1.2.1\n }\n}\n\
            vrrp_instance C {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n fd00::1\n }\n}\n\
            vrrp_instance D {\n interface eth0\n virtual_router_id 7\n use_vmac mine\n virtual_ipaddress {\n 10.1.3.1\n }\n}\n\
            vrrp_instance E {\n interface eth0\n virtual_router_id 8\n virtual_ipaddress {\n 10.1.4.1\n }\n}\n";
        let l = load_str("v.conf", text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        let mut is = l.config.instances.clone();
        resolve_vmacs(&mut is, &l.config.global);
        let names: Vec<Option<String>> = is
            .iter()
            .map(|i| i.use_vmac.as_ref().and_then(|v| v.name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                Some("vrrp.51".into()),
                Some("vrrp1.51".into()),
                Some("vrrp6.51".into()),
                Some("mine".into()),
                None
            ]
        );
        let r = vmac_request(&is[2], &l.config.global).expect("vmac");
        assert_eq!(r.mac, [0, 0, 0x5e, 0, 2, 51]);
        assert!(r.ipv6);
        assert_eq!(r.parent, "eth0");
        assert_eq!(
            vmac_request(&is[0], &l.config.global).map(|r| r.mac),
            Some([0, 0, 0x5e, 0, 1, 51])
        );
        assert_eq!(
            vmac_name("averyveryverylongprefix", Some(3), 255),
            "averyveryv3.255"
        );
    }
}
