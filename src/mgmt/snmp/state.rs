//! The MIB snapshot from what a dump gathers (the configuration and each instance's
//! [`VrrpView`]), plus the few kernel facts the MIBs show that the dumps do not: interface
//! indexes (`if_nametoindex`) and hardware addresses (`/sys/class/net/IF/address`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use std::collections::BTreeMap;

use super::mib::{AddrRow, GlobalRow, GroupRow, InstanceRow, KaState, MibSnapshot, ScriptRow};
use crate::config::model::{
    AddressSpec, Authentication, Broadcast, Config, GlobalDefs, InitialState, NotifyScripts,
    ScriptSpec,
};
use crate::mgmt::dumps::format::VrrpView;
use crate::track::priority::{TrackerKind, TrackerState};
use crate::vrrp::events::State;

/// The version string served as KEEPALIVED-MIB `version`.
pub fn version_string() -> String {
    format!("keepalived-rs v{}", env!("CARGO_PKG_VERSION"))
}

fn ka_state(s: State) -> KaState {
    match s {
        State::Backup => KaState::Backup,
        State::Master => KaState::Master,
        State::Fault => KaState::Fault,
        State::Initialize | State::Stop => KaState::Init,
    }
}

/// The interface index of `name` (0 when there is none).
pub fn ifindex(name: &str) -> u32 {
    crate::sys::if_index(name)
}

fn hw_addr(name: &str) -> Vec<u8> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .ok()
        .map(|s| {
            s.trim()
                .split(':')
                .filter_map(|h| u8::from_str_radix(h, 16).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn addr_row(a: &AddressSpec, default_if: Option<&str>, set: bool) -> AddrRow {
    let ifname = a
        .dev
        .clone()
        .or(default_if.map(str::to_string))
        .unwrap_or_default();
    let broadcast = match (a.broadcast, a.addr) {
        (Some(Broadcast::Addr(IpAddr::V4(b))), _) => b,
        (Some(Broadcast::Computed), ipnet::IpNet::V4(n)) => n.broadcast(),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    AddrRow {
        addr: a.addr.addr(),
        prefix: a.addr.prefix_len(),
        broadcast,
        scope: a.scope.map(|s| s.value()).unwrap_or(0),
        ifindex: ifindex(&ifname),
        ifname,
        label: a.label.clone(),
        peer: a.peer.map(|p| p.addr()),
        set,
    }
}

fn v4(a: Option<IpAddr>) -> Ipv4Addr {
    match a {
        Some(IpAddr::V4(v)) => v,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// One instance's row.
pub fn instance_row(v: &VrrpView, g: &GlobalDefs, now: SystemTime) -> InstanceRow {
    let i = &v.instance;
    let st = v.status.as_ref();
    let state = st.map(|s| ka_state(s.state)).unwrap_or(KaState::Init);
    // keepalived's configured_state: `state`, else MASTER for the address owner.
    let initial_state = match i.initial_state {
        Some(InitialState::Master) => KaState::Master,
        Some(InitialState::Backup) => KaState::Backup,
        None if v.params.priority == 255 => KaState::Master,
        None => KaState::Backup,
    };
    let (ifname, hw) = match (&i.use_vmac, &i.interface) {
        (Some(vm), _) => {
            let n = vm
                .name
                .clone()
                .unwrap_or_else(|| format!("vrrp.{}", i.vrid));
            let mac = match vm.mac {
                Some(m) => m.to_vec(),
                None => hw_addr(&n),
            };
            (Some(n), mac)
        }
        (None, Some(n)) => (Some(n.clone()), hw_addr(n)),
        (None, None) => (None, Vec::new()),
    };
    let vips_set = st.is_some_and(|s| s.vips_set);
    let dev = i.interface.as_deref();
    let up_cs = st
        .and_then(|s| now.duration_since(s.last_transition).ok())
        .map(|d| (d.as_millis() / 10).min(u128::from(u32::MAX)) as u32)
        .unwrap_or(0);
    InstanceRow {
        name: i.name.clone(),
        vrid: i.vrid,
        version: match i.version {
            crate::config::model::VrrpVersion::V2 => 2,
            crate::config::model::VrrpVersion::V3 => 3,
        },
        ipv6: matches!(i.family, crate::config::model::Family::V6),
        state,
        initial_state,
        wanted_state: st.map(|s| ka_state(s.want_state)).unwrap_or(initial_state),
        base_priority: v.params.priority,
        effective_priority: st.map(|s| s.priority).unwrap_or(v.params.priority),
        vips_set,
        interface: ifname,
        ifindex: dev.map(ifindex).unwrap_or(0),
        hw_addr: hw,
        advert_int: v.params.advert_int,
        preempt: v.params.preempt,
        preempt_delay: v.params.preempt_delay,
        auth_type: match &i.authentication {
            Some(Authentication::Pass(_)) => 1,
            Some(Authentication::Ah(_)) => 2,
            None => 0,
        },
        sync_group: v.sync_group.clone(),
        garp_delay: v.params.garp.master_delay,
        mcast: if i.is_unicast() {
            None
        } else {
            v.destinations.first().copied()
        },
        master_ip: v4(st.and_then(|s| s.last_advert_src)),
        primary_ip: v4(st.and_then(|s| s.src_ip)),
        up_cs,
        vips: i
            .virtual_ipaddress
            .iter()
            .map(|a| addr_row(a, dev, vips_set))
            .collect(),
        evips: i
            .virtual_ipaddress_excluded
            .iter()
            .map(|a| addr_row(a, dev, vips_set))
            .collect(),
        counters: st
            .map(|s| {
                s.counters
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect()
            })
            .unwrap_or_default(),
        // keepalived drops the instance's own interface from its track list.
        track_primary_if: i
            .tracking
            .interfaces
            .iter()
            .any(|t| Some(&t.name) != i.interface.as_ref()),
        smtp_alert: i
            .smtp_alert
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false),
        notify_exec: notify_exec(&i.notify),
        accept: v.params.accept_mode(),
        notify_deleted: i.notify.deleted_state,
        tracked_scripts: v
            .trackers
            .iter()
            .filter(|t| t.kind == TrackerKind::Script)
            .map(|t| (t.name.clone(), t.weight, t.reverse))
            .collect(),
        scripts: [
            (22, &i.notify.master),
            (23, &i.notify.backup),
            (24, &i.notify.fault),
            (25, &i.notify.stop),
            (26, &i.notify.generic),
            (31, &i.notify.master_rx_lower_pri),
            (32, &i.notify.deleted),
        ]
        .into_iter()
        .filter_map(|(c, s)| s.as_ref().map(|s| (c, script_text(s))))
        .collect(),
    }
}

/// A notify script as keepalived shows it: its program resolved (PATH search, symbolic links
/// followed, as keepalived does when it loads the script), each word quoted.
fn script_text(s: &ScriptSpec) -> String {
    let mut s = s.clone();
    if let Some(prog) = s.argv.first_mut() {
        if let Some(p) = resolve_program(prog) {
            *prog = p;
        }
    }
    crate::mgmt::dumps::format::cmd_str(&s)
}

fn resolve_program(prog: &str) -> Option<String> {
    let candidate = if prog.contains('/') {
        std::path::PathBuf::from(prog)
    } else {
        let path = std::env::var("PATH").unwrap_or_else(|_| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        path.split(':')
            .map(|d| std::path::Path::new(d).join(prog))
            .find(|p| p.is_file())?
    };
    std::fs::canonicalize(candidate)
        .ok()
        .map(|p| p.display().to_string())
}

/// keepalived's `notify_exec`: any notify script configured.
fn notify_exec(n: &NotifyScripts) -> bool {
    [
        &n.master,
        &n.backup,
        &n.fault,
        &n.stop,
        &n.deleted,
        &n.generic,
        &n.master_rx_lower_pri,
    ]
    .iter()
    .any(|s| s.is_some())
}

fn global_row(g: &GlobalDefs) -> GlobalRow {
    let server = g.smtp_server.as_ref();
    let ip = server.and_then(|s| s.host.parse::<IpAddr>().ok());
    GlobalRow {
        smtp_server: ip,
        smtp_server_is_name: server.is_some() && ip.is_none(),
        smtp_port: server.map(|s| s.port).unwrap_or(0),
        smtp_timeout: if server.is_some() {
            g.smtp_connect_timeout.as_secs().min(u64::from(u32::MAX)) as u32
        } else {
            0
        },
        email_from: g.notification_email_from.clone(),
        emails: g.notification_email.clone(),
        email_faults: !g.no_email_faults,
        smtp_alert: [g.smtp_alert, g.smtp_alert_vrrp, None],
        lvs_flush: g.lvs_flush,
        lvs_flush_on_stop: g.lvs_flush_on_stop != crate::config::model::LvsFlushOnStop::No,
    }
}

/// The snapshot of the running configuration, the instances' views and the scripts' states.
pub fn snapshot(
    config: &Config,
    views: &[VrrpView],
    script_states: &BTreeMap<String, TrackerState>,
) -> MibSnapshot {
    let now = SystemTime::now();
    MibSnapshot {
        version: version_string(),
        router_id: config.global.router_id.clone().unwrap_or_else(host_name),
        traps: config.global.snmp.traps,
        net_namespace: config.net_namespace.clone().unwrap_or_default(),
        instances: views
            .iter()
            .map(|v| instance_row(v, &config.global, now))
            .collect(),
        global: global_row(&config.global),
        scripts: config
            .vrrp_scripts
            .iter()
            .map(|sc| ScriptRow {
                name: sc.name.clone(),
                command: sc.script.as_ref().map(script_text).unwrap_or_default(),
                interval: sc.interval.as_secs().min(i32::MAX as u64) as u32,
                weight: sc.weight,
                reverse: sc.weight_reverse,
                result: match script_states.get(&sc.name) {
                    Some(TrackerState::Up) => 3,
                    Some(TrackerState::Down) => 2,
                    Some(TrackerState::Unknown) | None => 1,
                },
                rise: sc.rise,
                fall: sc.fall,
            })
            .collect(),
        groups: config
            .sync_groups
            .iter()
            .map(|grp| {
                let g = &config.global;
                // The group's state is its members' (they move together), as the data dump.
                let state = grp
                    .members
                    .iter()
                    .filter_map(|(m, _)| views.iter().find(|v| v.instance.name == *m))
                    .filter_map(|v| v.status.as_ref().map(|s| ka_state(s.state)))
                    .next();
                GroupRow {
                    name: grp.name.clone(),
                    state,
                    smtp_alert: grp
                        .smtp_alert
                        .or(g.smtp_alert_vrrp)
                        .or(g.smtp_alert)
                        .unwrap_or(false),
                    notify_exec: notify_exec(&grp.notify),
                    tracking_weight: grp.sync_group_tracking_weight,
                    scripts: [
                        (6, &grp.notify.master),
                        (7, &grp.notify.backup),
                        (8, &grp.notify.fault),
                        (9, &grp.notify.generic),
                        (11, &grp.notify.stop),
                    ]
                    .into_iter()
                    .filter_map(|(c, s)| s.as_ref().map(|s| (c, script_text(s))))
                    .collect(),
                    members: grp.members.iter().map(|(m, _)| m.clone()).collect(),
                }
            })
            .collect(),
    }
}
