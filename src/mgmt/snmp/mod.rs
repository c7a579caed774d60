//! The SNMP AgentX subagent (RFC 2741): KEEPALIVED-MIB and VRRP-MIB (RFC 2787) served from
//! the daemon's state snapshot, and keepalived's notifications on VRRP transitions.
//!
//! Layers: [`agentx`] is the pure PDU codec; [`mib`] the pure OID table built from a snapshot.

pub mod agentx;
pub mod mib;
