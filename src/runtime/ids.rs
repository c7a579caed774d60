//! Identities of the daemon's supervised objects (keys of the [`Root`](super::Root) registry).
//!
//! Reload compares children by identity: same identity + equal config = unchanged (left
//! alone), same identity + different config = replaced, new identity = started, missing
//! identity = stopped. The root is generic over the key; this is the daemon's key.

use std::fmt;

/// Address family of a VRRP instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Identity of a supervised object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectId {
    /// A VRRP instance: VRID, family and interface identify it on the wire.
    VrrpInstance {
        /// Virtual router id.
        vrid: u8,
        /// Address family.
        family: Family,
        /// Interface name.
        ifname: String,
    },
    /// A vrrp_sync_group by name.
    SyncGroup(String),
    /// A vrrp_script by name.
    Script(String),
    /// A track_file by name.
    TrackFile(String),
    /// A virtual server (its textual key, e.g. `10.0.0.1:80/TCP` or `fwmark 5`).
    VirtualServer(String),
    /// A real-server checker (its textual key).
    Checker(String),
    /// A bfd_instance by name.
    BfdInstance(String),
    /// Anything else.
    Other(String),
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::VrrpInstance {
                vrid,
                family,
                ifname,
            } => write!(f, "vrrp {ifname}/{family:?}/{vrid}"),
            ObjectId::SyncGroup(n) => write!(f, "sync_group {n}"),
            ObjectId::Script(n) => write!(f, "script {n}"),
            ObjectId::TrackFile(n) => write!(f, "track_file {n}"),
            ObjectId::VirtualServer(n) => write!(f, "virtual_server {n}"),
            ObjectId::Checker(n) => write!(f, "checker {n}"),
            ObjectId::BfdInstance(n) => write!(f, "bfd {n}"),
            ObjectId::Other(n) => f.write_str(n),
        }
    }
}
