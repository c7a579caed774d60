//! `vrrp_instance` and `vrrp_sync_group`.

use super::common::{ScriptSpec, Spans, TrackRef};
use super::net::{AddressSpec, RouteSpec, RuleSpec};
use crate::config::diag::Location;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// `state MASTER|BACKUP`: the initial state only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// Start as master (short first down timer, or at once for the owner).
    Master,
    /// Start as backup.
    Backup,
}

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VrrpVersion {
    /// RFC 3768 (IPv4 only).
    V2,
    /// RFC 5798.
    V3,
}

/// Address family of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// VRRPv2 authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authentication {
    /// `auth_type PASS`: up to 8 bytes of clear-text password.
    Pass(String),
    /// `auth_type AH`: IPsec AH (keepalived-specific, IPv4 only).
    Ah(String),
}

/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] }` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// `min_ttl`.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
    /// Where.
    pub loc: Location,
}

/// `use_vmac [[name] IFNAME] [MAC]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vmac {
    /// Interface name (default `vrrp.VRID`).
    pub name: Option<String>,
    /// MAC (default 00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID).
    pub mac: Option<[u8; 6]>,
}

/// The notify scripts of an instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyScripts {
    /// `notify_master`.
    pub master: Option<ScriptSpec>,
    /// `notify_backup`.
    pub backup: Option<ScriptSpec>,
    /// `notify_fault`.
    pub fault: Option<ScriptSpec>,
    /// `notify_stop`.
    pub stop: Option<ScriptSpec>,
    /// `notify_deleted` (the bare keyword sets `deleted_state` only).
    pub deleted: Option<ScriptSpec>,
    /// `notify_deleted` was given: report DELETED instead of FAULT.
    pub deleted_state: bool,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<ScriptSpec>,
    /// `notify`: gets `GROUP|INSTANCE name state priority` appended.
    pub generic: Option<ScriptSpec>,
    /// `notify_priority_changes` (None: the sync group's, else the global
    /// `vrrp_notify_priority_changes`): `MASTER_PRIORITY` / `BACKUP_PRIORITY` FIFO lines.
    #[serde(default)]
    pub priority_changes: Option<bool>,
}

/// The tracker references of an instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    /// `track_interface`.
    pub interfaces: Vec<TrackRef>,
    /// `track_script`.
    pub scripts: Vec<TrackRef>,
    /// `track_file`.
    pub files: Vec<TrackRef>,
    /// `track_process`.
    pub processes: Vec<TrackRef>,
    /// `track_bfd`.
    pub bfd: Vec<TrackRef>,
}

/// `vrrp_instance NAME { ... }` with keepalived's defaults applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    /// The name (not part of identity: keepalived matches by VRID, family, interface).
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Where each keyword was given.
    pub spans: Spans,
    /// `state` (initial only).
    pub initial_state: Option<InitialState>,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id` (1..255).
    pub vrid: u8,
    /// `priority` (default 100; 255 when `state MASTER` without priority, as keepalived).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Duration,
    /// `version` (default: global `vrrp_version`; IPv6 is always v3).
    pub version: VrrpVersion,
    /// Address family, from the VIPs (or peers when there are none).
    pub family: Family,
    /// Preempt (default true; `nopreempt` clears it).
    pub preempt: bool,
    /// `preempt_delay` (0..1000 s).
    pub preempt_delay: Duration,
    /// `accept` / `no_accept` (None: keepalived's default, on unless strict).
    pub accept: Option<bool>,
    /// `strict_mode` or global `vrrp_strict`.
    pub strict: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<AddressSpec>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddress_excluded: Vec<AddressSpec>,
    /// `virtual_routes`.
    pub virtual_routes: Vec<RouteSpec>,
    /// `virtual_rules`.
    pub virtual_rules: Vec<RuleSpec>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer`.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `check_unicast_src`: adverts from a source that is not a `unicast_peer` are dropped
    /// (also set by global `vrrp_check_unicast_src`, read where the advert is checked).
    #[serde(default)]
    pub check_unicast_src: bool,
    /// `unicast_fault_no_peer`: unicast configured without any peer is FAULT (keepalived's
    /// config fault) instead of falling back to multicast.
    #[serde(default)]
    pub unicast_fault_no_peer: bool,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip` (default: the global group of the family).
    pub mcast_dst_ip: Option<IpAddr>,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `track_*`.
    pub tracking: Tracking,
    /// `notify*`.
    pub notify: NotifyScripts,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `garp_master_delay` (default: global).
    pub garp_master_delay: Option<Duration>,
    /// `garp_master_repeat` (default: global).
    pub garp_master_repeat: Option<u32>,
    /// `garp_master_refresh` (default: global).
    pub garp_master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`.
    pub garp_master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_delay`.
    pub garp_lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_repeat: Option<u32>,
    /// `down_timer_adverts` (default 3).
    pub down_timer_adverts: u8,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: Option<bool>,
}

impl VrrpInstance {
    /// keepalived's identity of an instance: what must stay equal for a reload to keep it.
    pub fn identity(&self) -> InstanceIdentity {
        InstanceIdentity {
            vrid: self.vrid,
            family: self.family,
            interface: self.interface.clone(),
            unicast: !self.unicast_peers.is_empty(),
            unicast_src: self.unicast_src_ip,
            vmac: self.use_vmac.is_some(),
            mcast_dst: self.mcast_dst_ip,
        }
    }

    /// True when any unicast peer is configured.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// keepalived's configuration fault of the instance: with `unicast_fault_no_peer` and no
    /// unicast peer it cannot run (neither unicast without peers nor multicast), so it stays
    /// in FAULT ("Cannot use unicast without any peers - going to fault state").
    pub fn config_fault(&self) -> Option<&'static str> {
        (self.unicast_fault_no_peer && self.unicast_peers.is_empty())
            .then_some("Cannot use unicast without any peers - going to fault state")
    }
}

/// Identity of a VRRP instance across reloads (keepalived's rule: not the name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstanceIdentity {
    /// VRID.
    pub vrid: u8,
    /// Family.
    pub family: Family,
    /// Configured interface.
    pub interface: Option<String>,
    /// Unicast or multicast.
    pub unicast: bool,
    /// Unicast source.
    pub unicast_src: Option<IpAddr>,
    /// VMAC used.
    pub vmac: bool,
    /// Multicast destination.
    pub mcast_dst: Option<IpAddr>,
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// Member instance names with where each was named.
    pub members: Vec<(String, Location)>,
    /// Group-level trackers (apply to all members).
    pub tracking: Tracking,
    /// Group notify scripts.
    pub notify: NotifyScripts,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `sync_group_tracking_weight` / `global_tracking`.
    pub sync_group_tracking_weight: bool,
}
