//! keepalived-rs: a drop-in, actor-based successor to keepalived.
//!
//! Layering, from the ground up (a module imports only from the ones listed before it):
//! - `sys`: the small FFI wrappers (raw socket calls, host name) the others call.
//! - [`config`]: keepalived.conf grammar -> typed, serde model with file:line on every value.
//! - [`netlink`], [`ipvs`]: the kernel-resource owners (addresses/routes/rules/links; IPVS).
//! - [`telemetry`]: logging, OpenTelemetry traces, the Prometheus metrics registry.
//! - [`runtime`]: the generic supervision runtime (actix, restart with backoff, the root).
//! - [`track`]: trackers, script execution, notify scripts, FIFOs and SMTP alerts.
//! - [`vrrp`], [`bfd`], [`lvs`]: one protocol each, its sans-IO core at the top of the folder
//!   and its actors (the shell owning IO and timers) in `actor/`; LVS's checkers in `lvs::check`.
//! - [`mgmt`]: the management interfaces (dumps, control socket, /metrics).
//! - [`daemon`]: the process (command line, composition root, reload, watch, take-over).
// FFI lives in `sys` alone (its small wrappers allow `unsafe`, each with its SAFETY argument).
#![deny(unsafe_code)]

pub mod bfd;
pub mod config;
pub mod daemon;
pub mod firewall;
pub mod ipvs;
pub mod lvs;
pub mod mgmt;
pub mod netlink;
pub mod runtime;
mod sys;
pub mod telemetry;
pub mod track;
pub mod vrrp;
