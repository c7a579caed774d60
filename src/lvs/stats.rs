//! IPVS counters for `/metrics`: at each scrape, the kernel's services and real servers with
//! their packet, byte and connection counters (what gen2brain/keepalived_exporter reads with
//! its own IPVS handle), as `keepalived_ipvs_service_*_total{vs}` and
//! `keepalived_ipvs_real_server_*_total{vs,rs}`.
//!
//! Read-only, on its own generic-netlink socket (the IPVS writer keeps its own), bounded by a
//! timeout; a failed read empties the series and is logged once until it changes.

use crate::ipvs::{Family, IpvsClient, IpvsError, Protocol, ServiceKey, Stats};
use crate::telemetry::metrics::{IpvsCounters, IpvsServiceStats, Metrics, ScrapeHook};
use futures::future::BoxFuture;
use std::net::IpAddr;
use std::time::Duration;

/// A scrape hook that reads the IPVS counters from the kernel.
pub struct IpvsStatsHook {
    client: tokio::sync::Mutex<Option<IpvsClient>>,
    timeout: Duration,
    last_error: std::sync::Mutex<Option<String>>,
}

impl Default for IpvsStatsHook {
    fn default() -> Self {
        Self::new(Duration::from_secs(2))
    }
}

impl IpvsStatsHook {
    /// A hook whose read (connect included) is bounded by `timeout`.
    pub fn new(timeout: Duration) -> Self {
        IpvsStatsHook {
            client: tokio::sync::Mutex::new(None),
            timeout,
            last_error: std::sync::Mutex::new(None),
        }
    }

    /// The kernel's services and real servers with their counters.
    pub async fn read(&self) -> Result<Vec<IpvsServiceStats>, IpvsError> {
        let mut guard = self.client.lock().await;
        if guard.is_none() {
            *guard = Some(IpvsClient::connect_with_timeout(self.timeout).await?);
        }
        let Some(client) = guard.as_mut() else {
            return Ok(Vec::new());
        };
        let result = async {
            let mut out = Vec::new();
            for svc in client.services().await? {
                let key = svc.service.key;
                let mut real_servers = Vec::new();
                for d in client.destinations(&key).await? {
                    real_servers
                        .push((rs_name(&key, d.dest.addr, d.dest.port), counters(&d.stats)));
                }
                out.push(IpvsServiceStats {
                    vs: vs_name(&key),
                    counters: counters(&svc.stats),
                    real_servers,
                });
            }
            Ok(out)
        }
        .await;
        if result.is_err() {
            // Reconnect next time (a socket that timed out may hold a late reply).
            *guard = None;
        }
        result
    }

    fn note(&self, err: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            if *last != err {
                match &err {
                    Some(e) => tracing::warn!("cannot read IPVS counters for /metrics: {e}"),
                    None if last.is_some() => tracing::info!("reading IPVS counters again"),
                    None => {}
                }
                *last = err;
            }
        }
    }
}

impl ScrapeHook for IpvsStatsHook {
    fn refresh<'a>(&'a self, metrics: &'a Metrics) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout * 2, self.read()).await {
                Ok(Ok(services)) => {
                    self.note(None);
                    metrics.set_ipvs_stats(services);
                }
                Ok(Err(e)) => {
                    self.note(Some(e.to_string()));
                    metrics.set_ipvs_stats(Vec::new());
                }
                Err(_) => {
                    self.note(Some("timed out".into()));
                    metrics.set_ipvs_stats(Vec::new());
                    if let Ok(mut g) = self.client.try_lock() {
                        *g = None;
                    }
                }
            }
        })
    }
}

fn counters(s: &Stats) -> IpvsCounters {
    IpvsCounters {
        connections: s.conns,
        in_packets: s.in_packets,
        out_packets: s.out_packets,
        in_bytes: s.in_bytes,
        out_bytes: s.out_bytes,
    }
}

fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
        Protocol::Other(_) => "none",
    }
}

/// keepalived's name of a kernel service, as the `vs` label of `keepalived_real_server_up`
/// (`[10.0.0.1]:tcp:80`, `FWM 5`); an IPv6 fwmark service is `FWM 5 v6` (the IPv4 one with the
/// same mark is another service).
pub fn vs_name(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("[{addr}]:{}:{port}", proto_name(protocol)),
        ServiceKey::Fwmark {
            family: Family::V6,
            mark,
        } => format!("FWM {mark} v6"),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// A real server's name: `[192.168.0.10]:tcp:8080` (the service's protocol), `[ip]:port` for
/// a fwmark service (the kernel has no protocol for those).
pub fn rs_name(key: &ServiceKey, addr: IpAddr, port: u16) -> String {
    match *key {
        ServiceKey::Addr { protocol, .. } => format!("[{addr}]:{}:{port}", proto_name(protocol)),
        ServiceKey::Fwmark { .. } => format!("[{addr}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_director() {
        use crate::config::model as cm;
        let k = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        };
        // The director names the same service and real server this way.
        assert_eq!(
            vs_name(&k),
            crate::lvs::plan::fmt_trio("10.0.0.1".parse().unwrap(), Some(cm::Protocol::Tcp), 80)
        );
        assert_eq!(
            rs_name(&k, "192.168.0.10".parse().unwrap(), 8080),
            crate::lvs::plan::fmt_trio(
                "192.168.0.10".parse().unwrap(),
                Some(cm::Protocol::Tcp),
                8080
            )
        );
        let k6 = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "fd00::1".parse().unwrap(),
            port: 53,
        };
        assert_eq!(vs_name(&k6), "[fd00::1]:udp:53");
        let f = ServiceKey::Fwmark {
            family: Family::V4,
            mark: 7,
        };
        assert_eq!(vs_name(&f), "FWM 7");
        assert_eq!(
            vs_name(&ServiceKey::Fwmark {
                family: Family::V6,
                mark: 7
            }),
            "FWM 7 v6"
        );
        assert_eq!(rs_name(&f, "10.1.1.1".parse().unwrap(), 0), "[10.1.1.1]:0");
    }
}
