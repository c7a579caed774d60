//! The daemon's state dumps: gather what the running actors report, format it with
//! [`crate::telemetry::dump`], and write the files like keepalived (SIGUSR1 -> `keepalived.data`
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

use actix::Addr;

use super::root::DumpKind;
use super::vrrp::instance::{GetStatus, InstanceActor, InstanceSpec};
use super::vrrp::params::{destinations, instance_params};
use super::vrrp::trackers::{TrackKey, TrackValue, TrackerHub};
use crate::bfd::{BfdRegistry, BfdSnapshot};
use crate::config::model::{Config, Family};
use crate::lvs::{LvsHandle, LvsSnapshot};
use crate::telemetry::dump::{self, JsonVersion, TrackedView, VrrpDump, VrrpView};
use crate::track::priority::TrackerState;

/// How long one actor may take to answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// What a dump reads besides the VRRP instances.
#[derive(Clone)]
pub struct DumpSources {
    /// The running configuration.
    pub config: Arc<Config>,
    /// Script and file results.
    pub hub: TrackerHub,
    /// BFD session states.
    pub bfd: Option<BfdRegistry>,
    /// The LVS director.
    pub lvs: Option<LvsHandle>,
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

/// Asks every instance for its status (concurrently, each bounded) and reads the other
/// sources. `kind` decides what is needed (and STATS_CLEAR clears the counters).
pub async fn gather(kind: DumpKind, targets: Vec<VrrpTarget>, src: DumpSources) -> Gathered {
    let clear = kind == DumpKind::StatsClear;
    let asks = targets.into_iter().map(|(spec, addr)| async move {
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
                .map(|(s, st)| (s.clone(), st.clone()))?;
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
                    dump::dump_path(setting, "keepalived.data", "", tmp),
                    dump::data(&self.vrrp()),
                )];
                if let Some(l) = &self.lvs {
                    out.push((
                        dump::dump_path(setting, "keepalived.data", "_check", tmp),
                        dump::lvs_data(l),
                    ));
                }
                if !self.bfd.is_empty() {
                    out.push((
                        dump::dump_path(setting, "keepalived.data", "_bfd", tmp),
                        dump::bfd_data(&self.bfd, self.at),
                    ));
                }
                out
            }
            DumpKind::Stats | DumpKind::StatsClear => vec![
                (
                    dump::dump_path(g.stats_dump_file.as_deref(), "keepalived.stats", "", tmp),
                    dump::stats(&self.vrrp()),
                ),
                // Every drop by reason, beside keepalived's layout (which exporters parse).
                (
                    dump::dump_path(
                        g.stats_dump_file.as_deref(),
                        "keepalived.stats",
                        "_drops",
                        tmp,
                    ),
                    dump::drops_stats(&self.vrrp()),
                ),
            ],
            DumpKind::Json => vec![(
                dump::dump_path(g.json_dump_file.as_deref(), "keepalived.json", "", tmp),
                dump::json(&self.vrrp(), JsonVersion::of(&self.config)) + "\n",
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
