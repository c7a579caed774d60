//! The LVS director: health-checks real servers and keeps IPVS in step with the results. The
//! pure core at the top of this folder, the shell in `actor` (the director task) and
//! [`check`] (the checkers: sans-IO protocol cores and their runners).
//!
//! - [`plan`]: pure, configuration → [`plan::Plan`] (group expansion, service settings,
//!   destinations, resolved checkers).
//! - [`state`]: pure, keepalived's virtual-server semantics (alive = all checkers up, effective
//!   weights, quorum with hysteresis, sorry server, `inhibit_on_failure`) → desired destinations
//!   and [`state::Effect`]s.
//! - [`fifo`]: the LVS notify-FIFO lines.
//! - `actor`: the director task tying them together: checker tasks ([`crate::lvs::check::runner`]) report
//!   changes, the director updates the state, announces effects (notify scripts, FIFO, logs,
//!   spans, metrics) and hands the desired table to the IPVS writer
//!   ([`crate::ipvs::writer`]), which owns the kernel table.
//!
//! The daemon calls [`start_lvs`] once, [`LvsHandle::reload`] on every configuration reload and
//! [`LvsHandle::shutdown`] on SIGTERM; VRRP calls [`LvsHandle::set_vip_present`] for `ha_suspend`.
//!
//! ```no_run
//! # async fn f(cfg: keepalived_rs::config::model::Config) {
//! use keepalived_rs::lvs::{start_lvs, LvsOptions};
//! let opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current());
//! let lvs = start_lvs(&cfg, opts);
//! // ... on SIGHUP with a new valid configuration:
//! let _report = lvs.reload(&cfg).await;
//! // ... on SIGTERM:
//! lvs.shutdown().await;
//! # }
//! ```

mod actor;
pub mod check;
pub mod fifo;
pub mod plan;
pub mod state;
pub mod stats;
pub mod syncd;

pub use actor::{LvsHandle, LvsSnapshot, ReloadReport, RsSnapshot, VsSnapshot};

use crate::config::model::Config;
use crate::ipvs::writer::{MemoryBackend, WriterConfig};
use crate::telemetry::metrics::Metrics;
use std::sync::Arc;

/// Where the IPVS writer sends its requests.
#[derive(Clone, Debug)]
pub enum IpvsSink {
    /// The kernel (generic netlink).
    Kernel,
    /// An in-memory table (hosts without IPVS: tests, benchmarks).
    Memory(MemoryBackend),
}

/// How to run the director.
#[derive(Clone, Debug)]
pub struct LvsOptions {
    /// Runtime for the director and its checkers (the Checkers arbiter's, see
    /// [`runtime_of`]).
    pub checkers: tokio::runtime::Handle,
    /// Runtime for the IPVS writer (the Netlink arbiter's, or the same).
    pub writer: tokio::runtime::Handle,
    /// The IPVS side.
    pub sink: IpvsSink,
    /// Writer settings (`--dont-release-ipvs` → `release_on_shutdown = false`).
    pub writer_config: WriterConfig,
    /// Prometheus metrics.
    pub metrics: Option<Arc<Metrics>>,
    /// `--take-over`: the IPVS table keepalived left (see [`LvsOptions::adopt`]).
    pub adopted: Option<Arc<Adopted>>,
}

/// An IPVS table as found in the kernel: each service's destinations and their weights.
pub type Adopted = std::collections::HashMap<
    crate::ipvs::ServiceKey,
    std::collections::HashMap<crate::ipvs::DestKey, u32>,
>;

/// Whether real server `rs` of `vs` was alive in the adopted table: present with a weight
/// (or configured with weight 0), down when its service is there without it or with weight 0
/// (`inhibit_on_failure`), unknown (None) when the service is not there at all.
pub fn adopted_up(table: &Adopted, vs: &plan::VsPlan, rs: &plan::RsPlan) -> Option<bool> {
    let dests = table.get(&vs.services.first()?.key)?;
    Some(match dests.get(&rs.dest_key()) {
        Some(w) => *w > 0 || rs.weight == 0,
        None => false,
    })
}

impl LvsOptions {
    /// Kernel IPVS, everything on `rt`, writer settings from `global_defs` (`lvs_flush`,
    /// `lvs_flush_on_stop`, `lvs_timeouts`), services released on shutdown. (`lvs_flush_on_stop
    /// VS` is the default release: deleting a service deletes its real servers.)
    pub fn new(cfg: &Config, rt: tokio::runtime::Handle) -> Self {
        Self {
            checkers: rt.clone(),
            writer: rt,
            sink: IpvsSink::Kernel,
            writer_config: WriterConfig {
                flush_on_start: cfg.global.lvs_flush,
                flush_on_stop: cfg.global.lvs_flush_on_stop
                    == crate::config::model::LvsFlushOnStop::Full,
                timeouts: timeouts_of(cfg),
                ..WriterConfig::default()
            },
            metrics: None,
            adopted: None,
        }
    }

    /// `--take-over`: start from the IPVS table keepalived left (`table`, read from the
    /// kernel): its real servers' checkers start up or down as keepalived's left them (so the
    /// writer finds nothing to change), and the table is never flushed at start.
    pub fn adopt(mut self, table: Adopted) -> Self {
        self.adopted = Some(Arc::new(table));
        self.writer_config.flush_on_start = false;
        self
    }

    /// keepalived's `--dont-release-ipvs`: leave our services in the kernel on shutdown.
    pub fn dont_release_ipvs(mut self, yes: bool) -> Self {
        self.writer_config.release_on_shutdown = !yes;
        self
    }

    /// Run the IPVS writer on `rt` (the Netlink arbiter's runtime).
    pub fn with_writer_runtime(mut self, rt: tokio::runtime::Handle) -> Self {
        self.writer = rt;
        self
    }

    /// Use an in-memory IPVS table.
    pub fn with_sink(mut self, sink: IpvsSink) -> Self {
        self.sink = sink;
        self
    }

    /// Record metrics.
    pub fn with_metrics(mut self, m: Arc<Metrics>) -> Self {
        self.metrics = Some(m);
        self
    }
}

/// `lvs_timeouts` as the IPVS writer applies them.
pub fn timeouts_of(cfg: &Config) -> crate::ipvs::Timeouts {
    let t = cfg.global.lvs_timeouts;
    crate::ipvs::Timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    }
}

/// The tokio runtime handle an actix arbiter runs on (to spawn the director and checkers on the
/// Checkers arbiter and the writer on the Netlink arbiter).
pub async fn runtime_of(arbiter: &actix::prelude::ArbiterHandle) -> Option<tokio::runtime::Handle> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    arbiter.spawn(async move {
        let _ = tx.send(tokio::runtime::Handle::current());
    });
    rx.await.ok()
}

/// Starts the director (and its writer) for the `virtual_server`s of `cfg`. Call from within a
/// tokio runtime or not: everything is spawned on the handles in `opts`.
pub fn start_lvs(cfg: &Config, opts: LvsOptions) -> LvsHandle {
    actor::start(cfg, opts)
}

#[cfg(test)]
mod tests;
