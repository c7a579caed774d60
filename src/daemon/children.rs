//! The desired children of a configuration: what the daemon hands to the
//! [`Root`](crate::runtime::Root) to reconcile (start, update in place, replace, stop), and what
//! `--reload-plan` compares. Each protocol builds its own ([`crate::vrrp::actor::vrrp_children`],
//! [`crate::bfd::bfd_children`]).

use crate::config::model::{Config, GlobalDefs};
use crate::runtime::ObjectId;
use crate::vrrp::actor::instance::InstanceSpec;
use std::sync::Arc;

/// What a supervised child is configured with.
#[derive(Clone, Debug, PartialEq)]
pub enum ChildSpec {
    /// A VRRP instance.
    Vrrp(InstanceSpec),
    /// A BFD session.
    Bfd(crate::bfd::BfdSpec),
}

/// Which subsystems run (`-P`, `-C`, `-B`).
#[derive(Clone, Copy, Debug)]
pub struct Subsystems {
    /// VRRP.
    pub vrrp: bool,
    /// Health checkers and IPVS.
    pub check: bool,
    /// BFD.
    pub bfd: bool,
}

/// The desired children for a configuration; the VRRP instances share `global` (the running
/// configuration's own when the global settings did not change: instance specs then compare
/// it by pointer, which keeps a reload of 1000 instances from comparing it 1000 times).
pub fn children(
    cfg: &Config,
    global: &Arc<GlobalDefs>,
    subsystems: Subsystems,
) -> Vec<(ObjectId, ChildSpec)> {
    let mut out = Vec::new();
    if subsystems.bfd {
        out.extend(
            crate::bfd::bfd_children(cfg)
                .into_iter()
                .map(|(name, spec)| (ObjectId::BfdInstance(name), ChildSpec::Bfd(spec))),
        );
    }
    if subsystems.vrrp {
        out.extend(
            crate::vrrp::actor::vrrp_children(cfg, global)
                .into_iter()
                .map(|(id, spec)| (id, ChildSpec::Vrrp(spec))),
        );
    }
    out
}

/// Whether a changed child takes its new configuration in place (the factory's
/// `can_update`): a VRRP instance unless a socket-level setting changed; a BFD session never
/// (it hands itself over to its replacement without a flap).
pub fn in_place(old: &ChildSpec, new: &ChildSpec) -> bool {
    match (old, new) {
        (ChildSpec::Vrrp(o), ChildSpec::Vrrp(n)) => {
            !crate::vrrp::reconfigure::needs_restart(&o.instance, &n.instance)
        }
        _ => false,
    }
}
