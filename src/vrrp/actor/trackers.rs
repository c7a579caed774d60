//! The tracker hub: one runner per `vrrp_script` and one watcher for all `track_file`s, shared
//! by every instance that tracks them. Results are kept (a late subscriber gets the current
//! values) and broadcast to instances, which compute their own effective priority.

use crate::config::model::Config;
use crate::telemetry::{transition_span, Cause, TransitionKind};
use crate::track::exec::ScriptContext;
use crate::track::file::{spawn_file_watcher, FileWatcher, WatchedFile};
use crate::track::priority::TrackerState;
use crate::track::proc_watch::{spawn_process_watcher, ProcWatcher};
use crate::track::process::ProcSpec;
use crate::track::runner::{
    spawn_script_runner_with_metrics, ScriptEvent, ScriptRunner, ScriptRunnerConfig,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

pub use crate::vrrp::tracking::{TrackKey, TrackValue};

/// One change.
#[derive(Clone, Debug)]
pub struct TrackEvent {
    /// What changed.
    pub key: TrackKey,
    /// New value.
    pub value: TrackValue,
    /// The span of the tracker's own transition (parent of what it causes).
    pub cause: Cause,
}

struct Inner {
    values: HashMap<TrackKey, TrackValue>,
    scripts: HashMap<String, (ScriptRunnerConfig, ScriptRunner)>,
    files: Option<FileWatcher>,
    file_set: Vec<WatchedFile>,
    processes: Option<ProcWatcher>,
    process_set: Vec<ProcSpec>,
    /// Whether the first configuration was applied (`init_file ... overwrite` only at start).
    reconciled: bool,
}

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct TrackerHub {
    tx: broadcast::Sender<TrackEvent>,
    inner: Arc<Mutex<Inner>>,
    script_tx: mpsc::Sender<ScriptEvent>,
    file_tx: mpsc::Sender<crate::track::file::FileEvent>,
    process_tx: mpsc::Sender<(String, bool)>,
    metrics: Option<Arc<crate::telemetry::Metrics>>,
}

/// The runnable vrrp_scripts of a configuration, by name.
pub fn script_configs(cfg: &Config) -> HashMap<String, ScriptRunnerConfig> {
    cfg.vrrp_scripts
        .iter()
        .filter_map(|s| ScriptRunnerConfig::from_script(s).map(|c| (s.name.clone(), c)))
        .collect()
}

/// What a reload does with one vrrp_script (the hub's reconcile and the reload plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptFate {
    /// Same settings: the runner goes on, with its result.
    Kept,
    /// Same command and user, other settings (interval, timeout, rise, fall...): restarted
    /// with the new settings, its result kept (keepalived #366: a script starting over made
    /// the priority dip on reload).
    Resumed,
    /// Another command or user: restarted from its initial state.
    Restarted,
    /// New.
    Started,
    /// Gone.
    Stopped,
}

/// The fate of a script configured `old` before and `new` after a reload (None: neither).
pub fn script_fate(
    old: Option<&ScriptRunnerConfig>,
    new: Option<&ScriptRunnerConfig>,
) -> Option<ScriptFate> {
    Some(match (old, new) {
        (None, None) => return None,
        (None, Some(_)) => ScriptFate::Started,
        (Some(_), None) => ScriptFate::Stopped,
        (Some(o), Some(n)) if o == n => ScriptFate::Kept,
        (Some(o), Some(n)) if o.command == n.command && o.user == n.user => ScriptFate::Resumed,
        (Some(_), Some(_)) => ScriptFate::Restarted,
    })
}

impl TrackerHub {
    /// Starts the hub (inside a tokio runtime) for `cfg`.
    pub fn start(cfg: &Config) -> Self {
        Self::start_with_metrics(cfg, None)
    }

    /// [`TrackerHub::start`], with the scripts feeding `keepalived_script_*` in `metrics`.
    pub fn start_with_metrics(
        cfg: &Config,
        metrics: Option<Arc<crate::telemetry::Metrics>>,
    ) -> Self {
        // Small: an instance that falls behind takes the current values (see `values`).
        let (tx, _) = broadcast::channel(256);
        let (script_tx, mut script_rx) = mpsc::channel::<ScriptEvent>(1024);
        let (file_tx, mut file_rx) = mpsc::channel(1024);
        let (process_tx, mut process_rx) = mpsc::channel::<(String, bool)>(1024);
        let inner = Arc::new(Mutex::new(Inner {
            values: HashMap::new(),
            scripts: HashMap::new(),
            files: None,
            file_set: Vec::new(),
            processes: None,
            process_set: Vec::new(),
            reconciled: false,
        }));
        let hub = TrackerHub {
            tx,
            inner,
            script_tx,
            file_tx,
            process_tx,
            metrics,
        };
        let h = hub.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = script_rx.recv() => match ev {
                        Some(ev) => {
                            let state = if ev.ok { TrackerState::Up } else { TrackerState::Down };
                            let span = transition_span(TransitionKind::Script, &ev.name)
                                .from(if ev.ok { "FAILED" } else { "OK" })
                                .to(if ev.ok { "OK" } else { "FAILED" })
                                .reason(if ev.ok { "script_succeeded" } else { "script_failed" });
                            span.in_scope(|| {
                                tracing::info!(script = %ev.name, "VRRP_Script({}) {}", ev.name, if ev.ok { "succeeded" } else { "failed" });
                            });
                            h.publish_caused(TrackKey::Script(ev.name), TrackValue::State(state), span.cause());
                        }
                        None => break,
                    },
                    ev = file_rx.recv() => match ev {
                        Some(crate::track::file::FileEvent { name, value, .. }) => {
                            tracing::info!(track_file = %name, "track_file {name} value {value}");
                            h.publish(TrackKey::File(name), TrackValue::Number(value));
                        }
                        None => break,
                    },
                    ev = process_rx.recv() => match ev {
                        Some((name, up)) => {
                            tracing::info!(track_process = %name, "track_process {name} {}", if up { "has quorum" } else { "lost quorum" });
                            h.publish(TrackKey::Process(name), TrackValue::State(up.into()));
                        }
                        None => break,
                    },
                }
            }
        });
        hub.reconcile(cfg);
        hub
    }

    fn publish(&self, key: TrackKey, value: TrackValue) {
        self.publish_caused(key, value, Cause::none());
    }

    fn publish_caused(&self, key: TrackKey, value: TrackValue, cause: Cause) {
        if let Ok(mut i) = self.inner.lock() {
            i.values.insert(key.clone(), value);
        }
        let _ = self.tx.send(TrackEvent { key, value, cause });
    }

    /// Sets a value from outside (BFD sessions).
    pub fn set(&self, key: TrackKey, value: TrackValue) {
        self.publish(key, value);
    }

    /// Current values (for dumps).
    pub fn values(&self) -> HashMap<TrackKey, TrackValue> {
        self.inner
            .lock()
            .map(|i| i.values.clone())
            .unwrap_or_default()
    }

    /// Current values and a receiver for changes after them.
    pub fn subscribe(
        &self,
    ) -> (
        HashMap<TrackKey, TrackValue>,
        broadcast::Receiver<TrackEvent>,
    ) {
        let rx = self.tx.subscribe();
        let snapshot = self
            .inner
            .lock()
            .map(|i| i.values.clone())
            .unwrap_or_default();
        (snapshot, rx)
    }

    /// Applies a (new) configuration: scripts whose name and command are unchanged keep running
    /// and keep their result; others are restarted; removed ones stop.
    pub fn reconcile(&self, cfg: &Config) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        self.reconcile_scripts(&mut inner, cfg);
        init_track_files(cfg, !inner.reconciled);
        inner.reconciled = true;
        self.reconcile_files(&mut inner, cfg);
        self.reconcile_processes(&mut inner, cfg);
    }

    /// The vrrp_scripts: each goes by its [`script_fate`] (a resumed one carries its result).
    fn reconcile_scripts(&self, inner: &mut Inner, cfg: &Config) {
        let ctx = ScriptContext::from_global(&cfg.global);
        let wanted = script_configs(cfg);
        let carried: HashMap<String, bool> = inner
            .scripts
            .iter()
            .filter(|(name, (old, _))| {
                script_fate(Some(old), wanted.get(*name)) == Some(ScriptFate::Resumed)
            })
            .filter_map(|(name, _)| {
                let value = inner.values.get(&TrackKey::Script(name.clone()));
                script_result(value).map(|ok| (name.clone(), ok))
            })
            .collect();
        let metrics = self.metrics.clone();
        inner.scripts.retain(|name, (c, _)| {
            let keep = script_fate(Some(c), wanted.get(name)) == Some(ScriptFate::Kept);
            if !keep && !wanted.contains_key(name) {
                if let Some(m) = &metrics {
                    m.remove_script(name);
                }
            }
            keep
        });
        inner.values.retain(|k, _| match k {
            TrackKey::Script(n) => wanted.contains_key(n),
            _ => true,
        });
        let start: Vec<_> = wanted
            .into_iter()
            .filter(|(name, _)| !inner.scripts.contains_key(name))
            .collect();
        for (name, c) in start {
            let resumed = carried.get(&name).copied();
            if resumed.is_none() {
                let initial = c.initial_status();
                inner.values.insert(
                    TrackKey::Script(name.clone()),
                    TrackValue::State(initial.into()),
                );
            }
            let runner = spawn_script_runner_with_metrics(
                c.clone(),
                ctx.clone(),
                self.script_tx.clone(),
                self.metrics.clone(),
                resumed,
            );
            inner.scripts.insert(name, (c, runner));
        }
    }

    /// The track_files: one watcher for all, restarted when the set changes (its first reading
    /// becomes the values).
    fn reconcile_files(&self, inner: &mut Inner, cfg: &Config) {
        let files: Vec<WatchedFile> = cfg
            .track_files
            .iter()
            .filter_map(WatchedFile::from_config)
            .collect();
        if files == inner.file_set {
            return;
        }
        inner.files = None;
        if !files.is_empty() {
            match spawn_file_watcher(files.clone(), self.file_tx.clone()) {
                Ok((w, initial)) => {
                    for (name, v) in initial {
                        inner
                            .values
                            .insert(TrackKey::File(name), TrackValue::Number(v));
                    }
                    inner.files = Some(w);
                }
                Err(e) => tracing::error!("cannot watch track files: {e}"),
            }
        }
        inner.file_set = files;
    }

    /// vrrp_track_process: one watcher for all; restarted (with a fresh scan) when the set
    /// changes. Only processes that some instance or group tracks are watched.
    fn reconcile_processes(&self, inner: &mut Inner, cfg: &Config) {
        let procs: Vec<ProcSpec> = cfg
            .track_processes
            .iter()
            .filter_map(ProcSpec::from_config)
            .collect();
        if procs == inner.process_set {
            return;
        }
        inner.processes = None;
        inner
            .values
            .retain(|k, _| !matches!(k, TrackKey::Process(_)));
        if !procs.is_empty() {
            let (w, initial) = spawn_process_watcher(procs.clone(), self.process_tx.clone());
            for (name, up) in initial {
                let (key, value) = (TrackKey::Process(name), TrackValue::State(up.into()));
                inner.values.insert(key.clone(), value);
                // Instances already running (a reload adding the tracker) learn it now.
                let _ = self.tx.send(TrackEvent {
                    key,
                    value,
                    cause: Cause::none(),
                });
            }
            inner.processes = Some(w);
        }
        inner.process_set = procs;
    }
}

/// The result a script's value stands for (None: not reported yet), carried when it resumes.
fn script_result(value: Option<&TrackValue>) -> Option<bool> {
    match value {
        Some(TrackValue::State(TrackerState::Up)) => Some(true),
        Some(TrackValue::State(TrackerState::Down)) => Some(false),
        _ => None,
    }
}

/// `init_file [V] [overwrite]`, as keepalived: a missing file is created (at start and on
/// reload); an existing one is overwritten only at start (`first`) and only with `overwrite`.
fn init_track_files(cfg: &Config, first: bool) {
    for t in &cfg.track_files {
        let (Some((value, overwrite)), Some(path)) = (t.init_file, &t.file) else {
            continue;
        };
        let overwrite = overwrite && first;
        match crate::track::file::init_file(std::path::Path::new(path), value, overwrite) {
            Ok(true) => tracing::info!("track_file {}: initialised {path} to {value}", t.name),
            Ok(false) => {}
            Err(e) => tracing::error!("track_file {}: cannot initialise {path}: {e}", t.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use std::time::{Duration, Instant};

    fn cfg(cmd: &str, interval: u32) -> Config {
        let text = format!("vrrp_script chk {{\n script \"{cmd}\"\n interval {interval}\n}}\n");
        let l = load_str("t.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    fn value(hub: &TrackerHub) -> Option<TrackValue> {
        hub.subscribe()
            .0
            .get(&TrackKey::Script("chk".into()))
            .copied()
    }

    #[tokio::test]
    async fn a_script_whose_timing_changes_keeps_its_result() {
        let hub = TrackerHub::start(&cfg("/bin/true", 1));
        let up = Some(TrackValue::State(TrackerState::Up));
        let deadline = Instant::now() + Duration::from_secs(10);
        while value(&hub) != up {
            assert!(Instant::now() < deadline, "never OK: {:?}", value(&hub));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Interval changed, same command: restarted, result kept (keepalived #366).
        let (_, mut rx) = hub.subscribe();
        hub.reconcile(&cfg("/bin/true", 5));
        assert_eq!(value(&hub), up);
        // Its next success is no change: nothing is published.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.try_recv().is_err());
        // Another command is another script: it starts over.
        hub.reconcile(&cfg("/bin/echo", 5));
        assert_eq!(value(&hub), Some(TrackValue::State(TrackerState::Unknown)));
    }

    /// The hub with a vrrp_track_process (run as root in the initial network namespace: kernel
    /// process events; elsewhere the /proc scan): a `sleep` started after the hub makes it Up,
    /// killed Down, each within 3 s (the scan interval is 1 s).
    #[tokio::test]
    async fn a_tracked_process_goes_up_and_down() {
        let arg = format!("100000.{:05}9", std::process::id() % 100_000);
        let text = format!("vrrp_track_process tp {{\n process sleep {arg}\n}}\n");
        let l = load_str("t.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        // Added by a reload: running instances are told its initial value.
        let empty = load_str("t.conf", "", &LoadOptions::default());
        let hub = TrackerHub::start(&empty.config);
        let (_, mut rx) = hub.subscribe();
        hub.reconcile(&l.config);
        let key = TrackKey::Process("tp".into());
        let ev = rx.try_recv().expect("initial value broadcast");
        assert_eq!(ev.key, key);
        assert_eq!(ev.value, TrackValue::State(TrackerState::Down));
        let get = |hub: &TrackerHub| hub.values().get(&key).copied();
        assert_eq!(get(&hub), Some(TrackValue::State(TrackerState::Down)));
        let wait = |want: TrackerState| {
            let hub = hub.clone();
            let key = key.clone();
            async move {
                let deadline = Instant::now() + Duration::from_secs(3);
                while hub.values().get(&key).copied() != Some(TrackValue::State(want)) {
                    assert!(Instant::now() < deadline, "never {want:?}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        let mut child = std::process::Command::new("sleep")
            .arg(&arg)
            .spawn()
            .expect("sleep");
        wait(TrackerState::Up).await;
        child.kill().expect("kill");
        let _ = child.wait();
        wait(TrackerState::Down).await;
    }
}
