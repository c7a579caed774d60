//! The VRRP instance actor and its IO: sockets and timers around the sans-IO core.

pub mod claims;
pub mod instance;
pub mod kernel;
pub mod kernel_queue;
pub mod netlink_kernel;
pub mod notifier;
pub mod params;
pub mod pool;
pub mod socket;
pub mod sync;
pub mod trackers;

use crate::config::model::{Config, Family, GlobalDefs};
use crate::runtime::ObjectId;
use instance::InstanceSpec;
use std::sync::Arc;

/// The VRRP instances to run for a configuration, each with its identity (VRID, family,
/// interface) and everything it is configured with: its trackers, its sync group, the resolved
/// vmac name and notify_priority_changes.
pub fn vrrp_children(cfg: &Config, global: &Arc<GlobalDefs>) -> Vec<(ObjectId, InstanceSpec)> {
    // Every vmac named once for the whole configuration (a changed name restarts its
    // instance like any use_vmac change); the other instances are shared, not copied.
    let mut instances = cfg.instances.clone();
    params::resolve_vmacs(&mut instances, global);
    instances
        .iter()
        .map(|i| {
            let id = ObjectId::VrrpInstance {
                vrid: i.vrid,
                family: if i.family == Family::V4 {
                    crate::runtime::Family::V4
                } else {
                    crate::runtime::Family::V6
                },
                ifname: i.interface.clone().unwrap_or_default(),
            };
            let trackers = instance::track_defs(cfg, i);
            let group = cfg
                .sync_groups
                .iter()
                .find(|g| g.members.iter().any(|(m, _)| m == &i.name));
            let sync_group = group.map(|g| g.name.clone());
            // keepalived: the instance's notify_priority_changes, else its sync group's, else
            // the global vrrp_notify_priority_changes.
            let resolved = Some(
                i.notify
                    .priority_changes
                    .or(group.and_then(|g| g.notify.priority_changes))
                    .unwrap_or(global.vrrp_notify_priority_changes),
            );
            let mut i = i.clone();
            if i.notify.priority_changes != resolved {
                Arc::make_mut(&mut i).notify.priority_changes = resolved;
            }
            (
                id,
                InstanceSpec {
                    instance: i.clone(),
                    global: global.clone(),
                    trackers,
                    sync_group,
                },
            )
        })
        .collect()
}

/// The state /metrics shows for a VRRP state (INIT for both Initialize and Stop).
pub(crate) fn vrrp_state(s: crate::vrrp::events::State) -> crate::telemetry::VrrpState {
    use crate::telemetry::VrrpState;
    use crate::vrrp::events::State;
    match s {
        State::Initialize | State::Stop => VrrpState::Init,
        State::Backup => VrrpState::Backup,
        State::Master => VrrpState::Master,
        State::Fault => VrrpState::Fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_priority_changes_instance_then_group_then_global() {
        let l = crate::config::load_str(
            "p.conf",
            "global_defs {\n vrrp_notify_priority_changes\n}\n\
             vrrp_instance A {\n interface lo\n virtual_router_id 1\n}\n\
             vrrp_instance B {\n interface lo\n virtual_router_id 2\n notify_priority_changes on\n}\n\
             vrrp_instance C {\n interface lo\n virtual_router_id 3\n}\n\
             vrrp_sync_group G {\n group {\n B\n C\n }\n notify_priority_changes off\n}\n",
            &crate::config::LoadOptions::default(),
        );
        let global = Arc::new(l.config.global.clone());
        let got: Vec<(String, Option<bool>)> = vrrp_children(&l.config, &global)
            .into_iter()
            .map(|(_, s)| (s.instance.name.clone(), s.instance.notify.priority_changes))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A".to_string(), Some(true)),
                ("B".to_string(), Some(true)),
                ("C".to_string(), Some(false)),
            ]
        );
    }
}
