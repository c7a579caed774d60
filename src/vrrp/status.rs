//! What one running instance reports about itself (state dumps, `--status`, tests): a plain
//! value copied out of the instance actor, formatted elsewhere
//! ([`crate::mgmt::dumps::format`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::events::State;

/// The observable status of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Instance name.
    pub name: String,
    /// State.
    pub state: State,
    /// keepalived's `wantstate` (MASTER for a member held back by its sync group).
    pub want_state: State,
    /// Effective priority.
    pub priority: u8,
    /// The master a backup follows: its address and last advertised priority.
    pub master: Option<(IpAddr, u8)>,
    /// The source of the last advert accepted, kept across transitions (keepalived's
    /// `master_saddr`, which SNMP shows as vrrpOperMasterIpAddr).
    pub last_advert_src: Option<IpAddr>,
    /// Master_Adver_Interval (a v3 backup adopts the master's).
    pub master_adver_int: Duration,
    /// When the current state was entered (the actor's start before any transition).
    pub last_transition: SystemTime,
    /// The VIPs are installed.
    pub vips_set: bool,
    /// Source address of our adverts, once the interface is up.
    pub src_ip: Option<IpAddr>,
    /// Counters by keepalived's names (`advert_rcvd`, `become_master`, `ip_ttl_err` ...).
    pub counters: BTreeMap<&'static str, u64>,
}

impl InstanceStatus {
    /// A counter, 0 when it never moved.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}
