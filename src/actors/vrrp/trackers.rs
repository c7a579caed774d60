//! The tracker hub: one runner per `vrrp_script` and one watcher for all `track_file`s, shared
//! by every instance that tracks them. Results are kept (a late subscriber gets the current
//! values) and broadcast to instances, which compute their own effective priority.

use crate::config::model::Config;
use crate::telemetry::{transition_span, Cause, TransitionKind};
use crate::track::exec::ScriptContext;
use crate::track::file::{spawn_file_watcher, FileWatcher, WatchedFile};
use crate::track::priority::TrackerState;
use crate::track::runner::{
    spawn_script_runner_with_metrics, ScriptEvent, ScriptRunner, ScriptRunnerConfig,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

/// What is tracked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrackKey {
    /// A vrrp_script.
    Script(String),
    /// A track_file.
    File(String),
    /// A bfd_instance (fed by the BFD side).
    Bfd(String),
    /// A sync-group member's own fault condition (Down = faulted for its own reasons).
    Member {
        /// The vrrp_sync_group.
        group: String,
        /// The member instance.
        instance: String,
    },
}

/// A tracker's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackValue {
    /// Up / down / not reported yet.
    State(TrackerState),
    /// A track_file value.
    Number(i64),
}

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
}

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct TrackerHub {
    tx: broadcast::Sender<TrackEvent>,
    inner: Arc<Mutex<Inner>>,
    script_tx: mpsc::Sender<ScriptEvent>,
    file_tx: mpsc::Sender<crate::track::file::FileEvent>,
    metrics: Option<Arc<crate::telemetry::Metrics>>,
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
        let (tx, _) = broadcast::channel(4096);
        let (script_tx, mut script_rx) = mpsc::channel::<ScriptEvent>(1024);
        let (file_tx, mut file_rx) = mpsc::channel(1024);
        let inner = Arc::new(Mutex::new(Inner {
            values: HashMap::new(),
            scripts: HashMap::new(),
            files: None,
            file_set: Vec::new(),
        }));
        let hub = TrackerHub {
            tx,
            inner,
            script_tx,
            file_tx,
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
        let ctx = ScriptContext::from_global(&cfg.global);
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let wanted: HashMap<String, ScriptRunnerConfig> = cfg
            .vrrp_scripts
            .iter()
            .filter_map(|s| ScriptRunnerConfig::from_script(s).map(|c| (s.name.clone(), c)))
            .collect();
        let metrics = self.metrics.clone();
        inner.scripts.retain(|name, (c, _)| {
            let keep = wanted.get(name) == Some(c);
            if !keep && !wanted.contains_key(name) {
                if let Some(m) = &metrics {
                    m.remove_script(name);
                }
            }
            keep
        });
        let values = &mut inner.values;
        values.retain(|k, _| match k {
            TrackKey::Script(n) => wanted.contains_key(n),
            _ => true,
        });
        let mut start = Vec::new();
        for (name, c) in wanted {
            if !inner.scripts.contains_key(&name) {
                start.push((name, c));
            }
        }
        for (name, c) in start {
            let initial = c.initial_status();
            inner.values.insert(
                TrackKey::Script(name.clone()),
                TrackValue::State(initial.into()),
            );
            let runner = spawn_script_runner_with_metrics(
                c.clone(),
                ctx.clone(),
                self.script_tx.clone(),
                self.metrics.clone(),
            );
            inner.scripts.insert(name, (c, runner));
        }
        let files: Vec<WatchedFile> = cfg
            .track_files
            .iter()
            .filter_map(WatchedFile::from_config)
            .collect();
        if files != inner.file_set {
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
    }
}
