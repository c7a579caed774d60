//! The single owner of kernel network resources: addresses, routes, rules, links.
//!
//! Nobody else in keepalived-rs talks rtnetlink. VRRP instance actors (and the static
//! address/route code) hold a cheap, cloneable [`NetlinkHandle`] and *ask* the owner task to
//! add or remove things; the owner task serialises every change and also runs the
//! link/address watch, broadcasting [`NetlinkEvent`]s.
//!
//! - [`types`]: specs (what to add/remove), snapshots and events.
//! - [`msg`]: pure spec -> netlink message translation.
//! - [`garp`]: gratuitous ARP / unsolicited NA frames and senders (these do not go through
//!   the owner: they only send packets).
//! - [`sysctl`]: the `/proc/sys` knobs keepalived sets for VMACs.

pub mod error;
pub mod garp;
pub mod msg;
pub mod types;

pub use error::{NetlinkError, Result};
pub use types::*;
pub mod service;
pub mod sysctl;
pub mod watch;

pub use garp::GarpSender;
pub use service::{spawn, NetlinkConfig, NetlinkHandle, NetlinkService, Reply, Request};
