//! keepalived-rs: a drop-in, actor-based successor to keepalived.
//!
//! Layering (each folder is one domain):
//! - [`config`]: keepalived.conf grammar -> typed, serde model with file:line on every value.
//! - [`vrrp`], [`bfd`]: sans-IO protocol cores (codecs + pure state machines).
//! - [`check`]: real-server health-checker state machines.
//! - [`ipvs`]: our own IPVS generic-netlink module.
//! - [`netlink`]: the single owner of addresses, routes, rules and links.
//! - [`actors`]: the supervised actix actors, thin shells that own IO and timers.
//! - [`telemetry`]: logging, OpenTelemetry traces, Prometheus metrics.
//! - [`cli`]: keepalived's command line.
//! - [`takeover`]: `--take-over`, replacing a running keepalived without moving a VIP.
//! - `rawsock`: the raw socket calls (`setsockopt(2)`, `recvmsg(2)`) the socket-owning modules share.

pub mod actors;
pub mod bfd;
pub mod check;
pub mod cli;
pub mod config;
/// The VIP firewall (nftables accept-mode rules), its nf_tables netlink encoding and owner.
pub mod firewall;
pub mod ipvs;
pub mod lvs;
pub mod netlink;
mod rawsock;
pub mod takeover;
pub mod telemetry;
pub mod track;
pub mod vrrp;
