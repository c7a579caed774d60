//! The management interfaces: how operators and their tools read the running daemon.
//!
//! - [`dumps`]: keepalived's state dumps (SIGUSR1 data, SIGUSR2 stats, JSON), gathered from the
//!   actors and formatted like keepalived's ([`dumps::format`]).
//! - [`control`]: the local control socket behind `keepalived-rs --status` and `--reload-plan`.
//! - [`http`]: the `--metrics-listen` endpoint exposing the Prometheus registry
//!   ([`crate::telemetry::metrics`]).
//! - [`snmp`]: the AgentX subagent (KEEPALIVED-MIB, VRRP-MIB, notifications), only when
//!   enabled.
//! - [`dbus`]: keepalived's DBus interface (`org.keepalived.Vrrp1`), only with `enable_dbus`.
#![forbid(unsafe_code)]

pub mod control;
pub mod dbus;
pub mod dumps;
pub mod http;
pub mod snmp;
