//! The daemon's state dumps: gather what the running actors report, format it with
//! [`crate::mgmt::dumps::format`], and write the files like keepalived (SIGUSR1 -> `keepalived.data`
//! and `keepalived_check.data` / `keepalived_bfd.data`, SIGUSR2 -> `keepalived.stats`,
//! SIGRTMIN+2 -> `keepalived.json`).
//!
//! Gathering never blocks an arbiter: each VRRP instance answers a [`GetStatus`] from its own
//! mailbox (a copy of a few fields), bounded by [`ASK_TIMEOUT`]; an instance that does not
//! answer is listed as INIT. Files are written off the actors' threads, to a temporary name
//! (mode 0600, never following a symlink) then renamed, so a reader never sees half a dump.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod format;

use actix::Addr;

use self::format::{JsonVersion, TrackedView, VrrpDump, VrrpView};
use crate::bfd::{BfdRegistry, BfdSnapshot};
use crate::config::model::{Config, Family};
use crate::lvs::{LvsHandle, LvsSnapshot};
use crate::runtime::root::DumpKind;
use crate::track::priority::TrackerState;
use crate::vrrp::actor::instance::{GetStatus, InstanceActor, InstanceSpec};
use crate::vrrp::actor::params::{destinations, instance_params};
use crate::vrrp::actor::trackers::{TrackKey, TrackValue, TrackerHub};

/// How long one actor may take to answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// The running configuration as dumps, the control socket and metrics read it: one snapshot,
/// stored whole by the daemon once per successful reload (and at start), read lock-free with
/// [`arc_swap::ArcSwap::load_full`]; never a mailbox round trip to read configuration. Only
/// the VRRP instances' run-time state is asked of their actors (each bounded by
/// [`ASK_TIMEOUT`]).
pub struct Running {
    /// The running configuration.
    pub config: Arc<Config>,
    /// Reloads applied since the start (0: the configuration the daemon started with).
    pub generation: u64,
    /// The VRRP instances running, in start order: their spec and their actor.
    pub vrrp: Vec<VrrpTarget>,
    /// Script and file results.
    pub hub: TrackerHub,
    /// BFD session states.
    pub bfd: Option<BfdRegistry>,
    /// The LVS director.
    pub lvs: Option<LvsHandle>,
}

/// Where the daemon keeps its [`Running`] snapshot.
pub type RunningConfig = Arc<arc_swap::ArcSwap<Running>>;

/// The /metrics scrape's view of the running snapshot: its generation and object counts,
/// read lock-free at each scrape (no actor asked).
pub struct RunningHook(pub RunningConfig);

impl crate::telemetry::metrics::ScrapeHook for RunningHook {
    fn refresh<'a>(
        &'a self,
        metrics: &'a crate::telemetry::Metrics,
    ) -> futures::future::BoxFuture<'a, ()> {
        let running = self.0.load_full();
        let c = &running.config;
        metrics.set_running_config(
            running.generation,
            &[
                ("vrrp_instance", c.instances.len()),
                ("vrrp_sync_group", c.sync_groups.len()),
                ("virtual_server", c.virtual_servers.len()),
                ("bfd_instance", crate::bfd::bfd_children(c).len()),
            ],
        );
        Box::pin(std::future::ready(()))
    }
}

/// A running VRRP instance: its spec and its actor.
pub type VrrpTarget = (InstanceSpec, Option<Addr<InstanceActor>>);

/// Everything gathered for one dump.
pub struct Gathered {
    config: Arc<Config>,
    views: Vec<VrrpView>,
    scripts: BTreeMap<String, TrackerState>,
    files: BTreeMap<String, i64>,
    lvs: Option<LvsSnapshot>,
    bfd: Vec<(String, BfdSnapshot)>,
    at: Instant,
}

/// The text of a `kind` dump of the running snapshot (what a control-socket client gets).
pub async fn render(running: &RunningConfig, kind: DumpKind) -> String {
    gather(kind, running.load_full()).await.text(kind)
}

/// Asks every instance of `src` for its status (concurrently, each bounded) and reads the
/// other sources. `kind` decides what is needed (and STATS_CLEAR clears the counters).
pub async fn gather(kind: DumpKind, src: Arc<Running>) -> Gathered {
    let clear = kind == DumpKind::StatsClear;
    let asks = src.vrrp.iter().map(|(spec, addr)| async move {
        let status = match addr {
            Some(a) => tokio::time::timeout(
                ASK_TIMEOUT,
                a.send(GetStatus {
                    clear_counters: clear,
                }),
            )
            .await
            .ok()
            .and_then(Result::ok)
            .flatten(),
            None => None,
        };
        (spec, status)
    });
    let answered = futures::future::join_all(asks).await;
    let cfg = src.config.clone();
    // Configuration order; instances that run (not with -C, not after a failed start).
    let views: Vec<VrrpView> = cfg
        .instances
        .iter()
        .filter_map(|i| {
            let (spec, status) = answered
                .iter()
                .find(|(s, _)| s.instance.name == i.name)
                .map(|(s, st)| ((*s).clone(), st.clone()))?;
            Some(view(spec, status))
        })
        .collect();
    let mut scripts = BTreeMap::new();
    let mut files = BTreeMap::new();
    for (k, v) in src.hub.values() {
        match (k, v) {
            (TrackKey::Script(n), TrackValue::State(s)) => {
                scripts.insert(n, s);
            }
            (TrackKey::File(n), TrackValue::Number(x)) => {
                files.insert(n, x);
            }
            _ => {}
        }
    }
    let lvs = match (&src.lvs, kind) {
        (Some(l), DumpKind::Data) => tokio::time::timeout(ASK_TIMEOUT, l.snapshot()).await.ok(),
        _ => None,
    };
    let bfd = src.bfd.as_ref().map(BfdRegistry::all).unwrap_or_default();
    Gathered {
        config: cfg,
        views,
        scripts,
        files,
        lvs,
        bfd,
        at: Instant::now(),
    }
}

fn view(spec: InstanceSpec, status: Option<crate::vrrp::InstanceStatus>) -> VrrpView {
    let i = spec.instance.clone();
    let primary = status
        .as_ref()
        .and_then(|s| s.src_ip)
        .unwrap_or(match i.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
    VrrpView {
        params: instance_params(&i, &spec.global, primary),
        destinations: destinations(&i, &spec.global),
        trackers: spec
            .trackers
            .iter()
            .map(|t| TrackedView {
                kind: t.kind,
                name: t.name.clone(),
                weight: t.weight,
                reverse: t.reverse,
            })
            .collect(),
        sync_group: spec.sync_group.clone(),
        instance: i,
        status,
    }
}

impl Gathered {
    fn vrrp(&self) -> VrrpDump<'_> {
        VrrpDump {
            config: &self.config,
            instances: &self.views,
            scripts: &self.scripts,
            files: &self.files,
        }
    }

    /// The text a control-socket client gets (the data dump's files one after the other).
    pub fn text(&self, kind: DumpKind) -> String {
        if kind == DumpKind::Snmp {
            let snap = crate::mgmt::snmp::state::snapshot(&self.config, &self.views, &self.scripts);
            return serde_json::to_string(&snap).unwrap_or_default();
        }
        self.files(kind, Path::new("/"))
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// The files a signal writes (path from the global `*_dump_file` settings and `tmp`).
    pub fn files(&self, kind: DumpKind, tmp: &Path) -> Vec<(PathBuf, String)> {
        let g = &self.config.global;
        match kind {
            DumpKind::Data => {
                let setting = g.state_dump_file.as_deref();
                let mut out = vec![(
                    format::dump_path(setting, "keepalived.data", "", tmp),
                    format::data(&self.vrrp()),
                )];
                if let Some(l) = &self.lvs {
                    out.push((
                        format::dump_path(setting, "keepalived.data", "_check", tmp),
                        format::lvs_data(l),
                    ));
                }
                if !self.bfd.is_empty() {
                    out.push((
                        format::dump_path(setting, "keepalived.data", "_bfd", tmp),
                        format::bfd_data(&self.bfd, self.at),
                    ));
                }
                out
            }
            DumpKind::Stats | DumpKind::StatsClear => vec![
                (
                    format::dump_path(g.stats_dump_file.as_deref(), "keepalived.stats", "", tmp),
                    format::stats(&self.vrrp()),
                ),
                // Every drop by reason, beside keepalived's layout (which exporters parse).
                (
                    format::dump_path(
                        g.stats_dump_file.as_deref(),
                        "keepalived.stats",
                        "_drops",
                        tmp,
                    ),
                    format::drops_stats(&self.vrrp()),
                ),
            ],
            DumpKind::Json => vec![(
                format::dump_path(g.json_dump_file.as_deref(), "keepalived.json", "", tmp),
                format::json(&self.vrrp(), JsonVersion::of(&self.config)) + "\n",
            )],
            DumpKind::Snmp => Vec::new(),
        }
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes `text` to `path` atomically: a new temporary file in the same directory (mode 0600,
/// `O_EXCL`, so never through a planted symlink), then a rename over `path`.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dump".into());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes each file off the actors' threads; logs what was written.
pub async fn write_files(files: Vec<(PathBuf, String)>) {
    let r = tokio::task::spawn_blocking(move || {
        for (p, t) in files {
            match write_atomic(&p, &t) {
                Ok(()) => tracing::info!("state dump written to {}", p.display()),
                Err(e) => tracing::error!("cannot write dump file {}: {e}", p.display()),
            }
        }
    })
    .await;
    if let Err(e) = r {
        tracing::error!("dump writer failed: {e}");
    }
}

/// A snapshot of one VRRP instance `VI_1` with `priority`, no actor (for tests).
#[cfg(test)]
pub(crate) fn test_running(priority: u8, generation: u64) -> Running {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 51\n priority {priority}\n \
         virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
    );
    let cfg = crate::config::load_str("k.conf", &text, &Default::default()).config;
    let global = Arc::new(cfg.global.clone());
    Running {
        vrrp: crate::vrrp::actor::vrrp_children(&cfg, &global)
            .into_iter()
            .map(|(_, spec)| (spec, None))
            .collect(),
        hub: TrackerHub::start(&cfg),
        config: Arc::new(cfg),
        generation,
        bfd: None,
        lvs: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn a_dump_reads_the_configuration_of_the_snapshot_stored_last() {
        // No actor is asked (none here): the configuration part comes from the snapshot alone,
        // the one stored last, as a reload stores it.
        let shared: RunningConfig = Arc::new(arc_swap::ArcSwap::from_pointee(test_running(150, 0)));
        let text = render(&shared, DumpKind::Json).await;
        assert!(text.contains("\"base_priority\":150"), "{text}");
        let reader = shared.clone();
        shared.store(Arc::new(test_running(120, 1)));
        let text = render(&reader, DumpKind::Json).await;
        assert!(text.contains("\"base_priority\":120"), "{text}");
        assert_eq!(reader.load().generation, 1);
        // An instance that did not answer is listed from its configuration, as INIT.
        let data = render(&reader, DumpKind::Data).await;
        assert!(data.contains("VI_1"), "{data}");
        // /metrics reads the same snapshot.
        let metrics = crate::telemetry::Metrics::new();
        metrics.add_scrape_hook(Arc::new(RunningHook(reader.clone())));
        metrics.refresh().await;
        let text = metrics.encode(crate::telemetry::metrics::Format::Text);
        assert!(text.contains("keepalived_config_generation 1"), "{text}");
        assert!(
            text.contains("keepalived_config_objects{kind=\"vrrp_instance\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keepalived.json");
        write_atomic(&p, "one").unwrap();
        write_atomic(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn atomic_write_replaces_a_symlink_instead_of_following_it() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = d.path().join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_atomic(&p, "dump").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "dump");
        assert!(!std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
