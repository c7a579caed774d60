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
//! - [`service`]: the owner task ([`NetlinkService`]), its request type ([`Request`]) and the
//!   handle ([`NetlinkHandle`]); [`watch`]: the pure event/resync state.
//!
//! Every mutating call is idempotent: adding what exists answers
//! `Ok(Change::AlreadyPresent)`, removing what is missing `Ok(Change::AlreadyAbsent)`; only
//! real failures are [`NetlinkError`]s.
//!
//! ```no_run
//! use keepalived_rs::netlink::{self, AddressSpec, Change, GarpSender, NetlinkEvent};
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // once, on the runtime that should carry netlink IO (spawns the owner task there):
//! let (nl, _task) = netlink::spawn(netlink::NetlinkConfig::default()).await?;
//!
//! // a VRRP instance actor keeps a clone of `nl`
//! let mut events = nl.subscribe(); // subscribe first, then read the current state
//! let eth0 = nl.link("eth0").await?;
//! let vip = AddressSpec::vip("eth0", "10.0.0.100".parse()?, 32).with_label("eth0:vi_1");
//! if nl.add_address(&vip).await? == Change::Applied { /* count an address event */ }
//! let garp = GarpSender::new()?;
//! garp.send_garp(eth0.ifindex, eth0.mac.unwrap_or_default(), "10.0.0.100".parse()?)?;
//! nl.del_address(&vip).await?;
//! while let Ok(ev) = events.recv().await {
//!     if let NetlinkEvent::LinkDown { ifname, .. } = ev { /* track_interface -> FAULT */ }
//! }
//! # Ok(()) }
//! ```

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
