//! One async task per polled checker: drives [`Schedule`] with an attempt function and reports
//! only *changes* (state, dynamic weight) to its owner, so thousands of checkers cost one timer
//! and one attempt each per `delay_loop` and nothing else.
//!
//! A checker pauses while its `suspended` flag is set (`ha_suspend`), keeping its state.

use super::http::HttpProtocol;
use super::http_get::{Tls, UrlSpec};
use super::misc::MiscTarget;
use super::schedule::{Action, CheckParams, Outcome, Schedule};
use super::tcp::TcpTarget;
use super::udp::UdpSpec;
use crate::telemetry::metrics::CheckerMetrics;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// One attempt of a checker, ready to run.
#[derive(Clone)]
pub enum Attempt {
    /// TCP_CHECK.
    Tcp(TcpTarget),
    /// HTTP_GET / SSL_GET.
    Http {
        /// Connection.
        target: TcpTarget,
        /// URLs (all must pass).
        urls: Vec<UrlSpec>,
        /// SSL_GET.
        tls: Option<Tls>,
        /// `http_protocol`.
        proto: HttpProtocol,
    },
    /// SMTP_CHECK.
    Smtp {
        /// Connection.
        target: TcpTarget,
        /// HELO name.
        helo: String,
    },
    /// DNS_CHECK.
    Dns {
        /// Server.
        server: SocketAddr,
        /// Query name.
        name: String,
        /// Query type.
        qtype: String,
        /// `bindto`, `bind_port`, `bind_if`, `fwmark`.
        source: super::udp::Source,
        /// Timeout.
        timeout: Duration,
    },
    /// MISC_CHECK.
    Misc(MiscTarget),
    /// UDP_CHECK.
    Udp(UdpSpec),
    /// PING_CHECK.
    Ping {
        /// Target.
        ip: IpAddr,
        /// Timeout.
        timeout: Duration,
    },
    /// Always fails with this reason (a checker that cannot be prepared, e.g. a refused script).
    Broken(String),
}

impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Tcp(t) => write!(f, "Tcp({})", t.addr),
            Attempt::Http { target, tls, .. } => {
                write!(f, "Http({}, tls={})", target.addr, tls.is_some())
            }
            Attempt::Smtp { target, .. } => write!(f, "Smtp({})", target.addr),
            Attempt::Dns { server, .. } => write!(f, "Dns({server})"),
            Attempt::Misc(m) => write!(f, "Misc({:?})", m.script.command.argv),
            Attempt::Udp(u) => write!(f, "Udp({})", u.addr),
            Attempt::Ping { ip, .. } => write!(f, "Ping({ip})"),
            Attempt::Broken(r) => write!(f, "Broken({r})"),
        }
    }
}

impl Attempt {
    /// Runs one attempt. `seq` numbers attempts (DNS id, ICMP sequence).
    pub async fn run(&self, id: u16, seq: u16) -> Outcome {
        match self {
            Attempt::Tcp(t) => super::tcp::check(t).await,
            Attempt::Http {
                target,
                urls,
                tls,
                proto,
            } => super::http_get::check(target, urls, tls.as_ref(), *proto).await,
            Attempt::Smtp { target, helo } => super::smtp::check(target, helo).await,
            Attempt::Dns {
                server,
                name,
                qtype,
                timeout,
                source,
            } => super::dns::check(*server, name, qtype, *timeout, id ^ seq, source).await,
            Attempt::Misc(m) => super::misc::check(m).await,
            Attempt::Udp(u) => super::udp::check(u).await,
            Attempt::Ping { ip, timeout } => super::ping::check(*ip, *timeout, id, seq).await,
            Attempt::Broken(reason) => Outcome::Failure {
                reason: reason.clone(),
            },
        }
    }
}

/// A change reported by a checker task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The checker went up or down.
    State {
        /// New state.
        up: bool,
        /// Why (the failure reason, or "check succeeded").
        reason: String,
    },
    /// MISC_CHECK `misc_dynamic`: the raw exit status (0 or 2..=255) changed.
    Weight(u32),
}

/// How a checker starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// As configured: up unless `alpha`, first check after a random part of `warmup`.
    Fresh,
    /// Carrying a state over (reload): first check at once.
    Resume {
        /// Current state.
        up: bool,
        /// Current raw dynamic weight.
        weight: Option<u32>,
    },
}

/// Everything a checker task needs.
pub struct CheckerTask {
    /// Reported with every change.
    pub id: u64,
    /// What to run.
    pub attempt: Attempt,
    /// Timing.
    pub params: CheckParams,
    /// How to start.
    pub start: Start,
    /// Where changes go.
    pub events: mpsc::UnboundedSender<(u64, Change)>,
    /// While true, no attempts are made.
    pub suspended: watch::Receiver<bool>,
    /// Per-attempt result metrics.
    pub metrics: Option<CheckerMetrics>,
    /// For logs: `[rs]:tcp:80 of [vs]:tcp:80 TCP_CHECK`.
    pub label: String,
}

/// A cheap uniform number in [0, 1) for the warmup spread (no RNG dependency needed).
fn spread(id: u64) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = id ^ nanos.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Starts the task on `rt`. Abort the handle to stop it.
pub fn spawn(rt: &tokio::runtime::Handle, task: CheckerTask) -> JoinHandle<()> {
    rt.spawn(run(task))
}

/// The checker loop.
pub async fn run(mut t: CheckerTask) {
    let (mut sched, first) = match t.start {
        Start::Fresh => Schedule::start(t.params.clone(), spread(t.id)),
        Start::Resume { up, weight } => {
            let (s, _) = Schedule::resume(t.params.clone(), up, weight);
            (s, vec![Action::CheckAfter(Duration::ZERO)])
        }
    };
    let mut delay = first
        .iter()
        .find_map(|a| match a {
            Action::CheckAfter(d) => Some(*d),
            _ => None,
        })
        .unwrap_or(t.params.delay_loop);
    let id16 = (t.id as u16) ^ (std::process::id() as u16);
    let mut seq: u16 = 0;
    loop {
        tokio::time::sleep(delay).await;
        while *t.suspended.borrow_and_update() {
            if t.suspended.changed().await.is_err() {
                return;
            }
        }
        seq = seq.wrapping_add(1);
        let t0 = Instant::now();
        // Boxed: the attempt future (sized for the largest checker type, TLS included) lives
        // only while an attempt runs, not in every idle checker task.
        let outcome = Box::pin(t.attempt.run(id16, seq)).await;
        let ok = matches!(outcome, Outcome::Success { .. });
        if let Some(m) = &t.metrics {
            m.result(ok, t0.elapsed());
        }
        if let Outcome::Failure { reason } = &outcome {
            tracing::debug!("{}: check failed: {reason}", t.label);
        }
        for a in sched.on_outcome(outcome) {
            match a {
                Action::CheckAfter(d) => delay = d,
                Action::StateChanged { up, reason } => {
                    if t.events.send((t.id, Change::State { up, reason })).is_err() {
                        return;
                    }
                }
                Action::WeightChanged(w) => {
                    if t.events.send((t.id, Change::Weight(w))).is_err() {
                        return;
                    }
                }
                Action::LogFailure(reason) => {
                    tracing::info!("{}: check failed: {reason}", t.label);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_in_range() {
        for i in 0..1000 {
            let x = spread(i);
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[tokio::test]
    async fn reports_changes_only() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_stx, srx) = watch::channel(false);
        let task = CheckerTask {
            id: 7,
            attempt: Attempt::Tcp(TcpTarget {
                addr,
                bindto: None,
                bind_port: None,
                bind_if: None,
                fwmark: None,
                timeout: Duration::from_millis(500),
            }),
            params: CheckParams {
                delay_loop: Duration::from_millis(50),
                retry: 0,
                delay_before_retry: Duration::from_millis(10),
                alpha: true,
                warmup: Duration::ZERO,
                recovery: Default::default(),
                log_all_failures: false,
            },
            start: Start::Fresh,
            events: tx,
            suspended: srx,
            metrics: None,
            label: "t".into(),
        };
        let h = tokio::spawn(run(task));
        let (id, c) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(id, 7);
        assert!(matches!(c, Change::State { up: true, .. }));
        drop(l);
        let (_, c) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(c, Change::State { up: false, .. }));
        h.abort();
    }
}
