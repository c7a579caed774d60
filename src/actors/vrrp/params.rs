//! Maps a parsed `vrrp_instance` (plus `global_defs`) onto the core's [`InstanceParams`],
//! applying keepalived's defaults and strict-mode rules.

use crate::config::model::{self, GlobalDefs, InitialState as CfgState, VrrpInstance, VrrpVersion};
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
    p.lower_prio_no_advert = i.lower_prio_no_advert.unwrap_or(i.strict);
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

/// The daemon's advert grid (see `InstanceParams::advert_epoch`): fixed at first use, shared
/// by every instance of the process.
pub fn advert_epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// The v2 authentication to send and expect.
pub fn v2_auth(i: &VrrpInstance) -> V2Auth {
    match (&i.authentication, i.version) {
        (Some(model::Authentication::Pass(p)), VrrpVersion::V2) => V2Auth::pass(p.as_bytes()),
        _ => V2Auth::NONE,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn inst(body: &str) -> (VrrpInstance, GlobalDefs) {
        let text = format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 9\n {body}\n virtual_ipaddress {{\n 10.1.1.1\n }}\n}}\n");
        let l = load_str("p.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        (l.config.instances[0].clone(), l.config.global)
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
        let (i, g) = inst("unicast_src_ip 10.1.1.10\n unicast_peer {\n 10.1.1.11\n 10.1.1.12\n }");
        assert_eq!(destinations(&i, &g).len(), 2);
    }
}
