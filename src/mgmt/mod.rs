//! Management interfaces: how operators and other programs read the running daemon's state
//! (SNMP AgentX subagent today; dumps, the control socket and /metrics are moving here).

pub mod snmp;
