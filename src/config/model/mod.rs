//! The typed configuration model: what the actors consume.
//!
//! Addresses are `IpAddr`/`IpNet`, intervals `Duration`, states enums. Every object keeps the
//! location of its defining line (`loc`) and of each keyword it was given (`spans`), so any
//! later check can point at `file:line`.

mod bfd;
mod common;
mod global;
mod lvs;
mod net;
mod track;
mod vrrp;

pub use bfd::*;
pub use common::*;
pub use global::*;
pub use lvs::*;
pub use net::*;
pub use track::*;
pub use vrrp::*;

use serde::{Deserialize, Serialize};

/// A whole keepalived.conf after preprocessing and defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// `static_ipaddress` entries.
    pub static_ipaddress: Vec<AddressSpec>,
    /// `static_routes` entries.
    pub static_routes: Vec<RouteSpec>,
    /// `static_rules` entries.
    pub static_rules: Vec<RuleSpec>,
    /// `vrrp_script` blocks.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file` / `vrrp_track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_instance` blocks (shared with the instance actors running them).
    pub instances: Vec<std::sync::Arc<VrrpInstance>>,
    /// `virtual_server_group` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks.
    pub virtual_servers: Vec<VirtualServer>,
    /// `bfd_instance` blocks.
    pub bfd_instances: Vec<BfdInstance>,
    /// `net_namespace NAME` (not entered by the daemon itself: `-s NAME` does, and overrides it).
    pub net_namespace: Option<String>,
}

impl Config {
    /// The vrrp_script named `name`.
    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    /// The vrrp_instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|s| s.name == name).map(|i| &**i)
    }

    /// The bfd_instance named `name`.
    pub fn bfd(&self, name: &str) -> Option<&BfdInstance> {
        self.bfd_instances.iter().find(|s| s.name == name)
    }

    /// The track_file named `name`.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|s| s.name == name)
    }

    /// A vrrp_track_process by name.
    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|s| s.name == name)
    }
}
