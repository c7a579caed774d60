//! The SNMP AgentX subagent (RFC 2741): KEEPALIVED-MIB and VRRP-MIB (RFC 2787) served from
//! the daemon's state snapshot, and keepalived's notifications on VRRP transitions.
//!
//! Layers: [`agentx`] is the pure PDU codec; [`mib`] the pure OID table built from a snapshot.

pub mod agent;
pub mod agentx;
pub mod mib;
pub mod state;

use std::time::Duration;

use crate::config::model::SnmpSettings;
use crate::runtime::root::{DumpKind, Query};
use agent::{AgentConfig, SnapshotSource};
use mib::Enabled;

/// How long one snapshot may take (the root asks every instance, each bounded by 1 s).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(3);

/// What the subagent serves, from `global_defs` and the command line (`-x`: every MIB, as
/// keepalived; `-A`: the master's address, over `snmp_socket`). None: SNMP is off (no task,
/// no socket).
pub fn agent_config(
    s: &SnmpSettings,
    cli_all: bool,
    cli_socket: Option<&str>,
) -> Option<AgentConfig> {
    let mut s = s.clone();
    if cli_all {
        s.vrrp = true;
        s.rfcv2 = true;
        s.rfcv3 = true;
        s.checker = true;
        tracing::warn!(
            "-x/--snmp: VRRPv3-MIB (RFC 6527) and KEEPALIVED-MIB's check subtree are not served \
             by keepalived-rs; KEEPALIVED-MIB (global, vrrp) and VRRP-MIB (RFC 2787) are"
        );
    }
    if !s.any() {
        return None;
    }
    let text = cli_socket
        .or(s.socket.as_deref())
        .unwrap_or(agent::DEFAULT_SOCKET);
    let address = match agent::parse_address(text) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("SNMP subagent not started: {e}");
            return None;
        }
    };
    Some(AgentConfig {
        address,
        enabled: Enabled {
            keepalived: s.vrrp,
            rfcv2: s.rfcv2,
            rfcv3: false,
        },
        traps: s.traps,
    })
}

/// Snapshots gathered by the root the way dumps are ([`DumpKind::Snmp`]).
pub fn root_source(root: actix::Recipient<Query>) -> SnapshotSource {
    Box::new(move || {
        let r = root.clone();
        Box::pin(async move {
            let text = tokio::time::timeout(SNAPSHOT_TIMEOUT, r.send(Query(DumpKind::Snmp)))
                .await
                .ok()?
                .ok()?
                .ok()?;
            serde_json::from_str(&text).ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_a_mib_is_enabled() {
        let mut s = SnmpSettings::default();
        assert!(agent_config(&s, false, None).is_none(), "nothing enabled");
        s.traps = true;
        s.socket = Some("tcp:localhost:705".into());
        assert!(
            agent_config(&s, false, None).is_none(),
            "traps alone run nothing"
        );
        s.rfcv2 = true;
        let c = agent_config(&s, false, None).unwrap();
        assert_eq!(c.address, agent::Address::Tcp("localhost:705".into()));
        assert!(c.enabled.rfcv2 && !c.enabled.keepalived && c.traps);
        // -x enables every MIB; -A wins over snmp_socket (as keepalived).
        let c = agent_config(&SnmpSettings::default(), true, Some("/run/ax")).unwrap();
        assert!(c.enabled.keepalived && c.enabled.rfcv2);
        assert_eq!(c.address, agent::Address::Unix("/run/ax".into()));
        let c = agent_config(&SnmpSettings::default(), true, None).unwrap();
        assert_eq!(c.address, agent::Address::Unix("/var/agentx/master".into()));
        // A bad address: no agent (logged).
        assert!(agent_config(&SnmpSettings::default(), true, Some("udp:161")).is_none());
    }
}
