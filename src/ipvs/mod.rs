//! Our own IPVS (LVS) generic-netlink module: typed services and
//! destinations, their wire encoding (`include/uapi/linux/ip_vs.h`), and an
//! async client that programs the kernel.
//!
//! Layout, one idea per file:
//! - [`constants`]: the UAPI numbers.
//! - [`attrs`], [`stats`]: wire attributes (`ServiceNla`, `DestNla`, stats nests).
//! - [`service`], [`dest`]: the typed model (`Service`, `Destination`, keys).
//! - [`message`]: commands + first-level attributes, request builders.
//! - [`settings`]: connection timeouts and sync daemons (kernel-wide settings).
//! - [`syncd`]: the sync daemons' owner (`lvs_sync_daemon`), following a VRRP instance.
//! - [`family`]: resolving the "IPVS" family id.
//! - `transport`: one socket, send + read until ACK/DONE (private).
//! - [`client`]: [`IpvsClient`], what the IPVS writer actor calls.
//! - [`error`]: [`IpvsError`], carrying operation, service/destination, errno.
//!
//! Decoding never panics: malformed replies become [`IpvsError::Decode`].
#![forbid(unsafe_code)]

pub mod attrs;
pub mod client;
pub mod constants;
pub mod dest;
pub mod error;
pub mod family;
pub mod message;
pub mod service;
pub mod settings;
pub mod stats;
mod transport;
pub mod writer;

#[cfg(test)]
mod golden_tests;

/// Deterministic pseudo-random bytes (xorshift32) for the decoders' no-panic tests.
#[cfg(test)]
pub(crate) struct Garbage(pub u32);

#[cfg(test)]
impl Garbage {
    /// The next `len` bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 17;
                self.0 ^= self.0 << 5;
                (self.0 & 0xff) as u8
            })
            .collect()
    }
}

pub use client::{IpvsClient, IpvsInfo, DEFAULT_TIMEOUT};
pub use dest::{DestKey, Destination, DestinationEntry, ForwardMethod, Tunnel, TunnelType};
pub use error::{IpvsError, Operation, Subject};
pub use message::{IpvsAttr, IpvsCmd, IpvsMessage};
pub use service::{
    Family, Persistence, Protocol, Scheduler, Service, ServiceEntry, ServiceFlags, ServiceKey,
};
pub use settings::{SyncDaemon, SyncRole, Timeouts};
pub use stats::Stats;
