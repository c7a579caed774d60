//! The `vrrp_script` runner task: runs the script every `interval` (the first run at once),
//! applies the timeout, feeds [`ScriptState`] and sends a [`ScriptEvent`] on every status
//! change.
//!
//! A run still going when the next tick is due makes that tick skipped (keepalived: "already
//! running - skipping run"). A hanging script is killed at its timeout (a failure). A script that
//! cannot be started (missing file, not executable, unknown user) is a failure, logged once until
//! the error changes. A script refused by `enable_script_security` is disabled as keepalived does:
//! one event with `disabled: true`, then the task ends (the instance should drop the tracker).
//! Dropping the handle stops the task and kills a running script's process group.

use crate::config::model::{ScriptUser, VrrpScript};
use crate::telemetry::Metrics;
use crate::track::exec::{
    ExecError, PreparedScript, RunOptions, ScriptCommand, ScriptContext, ScriptOutcome,
    DEFAULT_KILL_GRACE,
};
use crate::track::script_state::{ScriptState, ScriptStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// A status change of a `vrrp_script`, for the instances tracking it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptEvent {
    /// The `vrrp_script` name.
    pub name: String,
    /// The script is OK now.
    pub ok: bool,
    /// Status before.
    pub from: ScriptStatus,
    /// Status now ([`ScriptStatus::Ok`] or [`ScriptStatus::Failed`]).
    pub status: ScriptStatus,
    /// The run that caused the change.
    pub outcome: ScriptOutcome,
    /// The script was refused by `enable_script_security` and will not run again.
    pub disabled: bool,
}

/// What the runner needs from a `vrrp_script` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRunnerConfig {
    /// Name.
    pub name: String,
    /// Command.
    pub command: ScriptCommand,
    /// `user` of the block.
    pub user: Option<ScriptUser>,
    /// `interval`.
    pub interval: Duration,
    /// `timeout`.
    pub timeout: Duration,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// `init_fail`.
    pub init_fail: bool,
    /// SIGTERM -> SIGKILL grace on timeout.
    pub kill_grace: Duration,
}

impl ScriptRunnerConfig {
    /// From the config block (None when it has no `script`).
    pub fn from_script(s: &VrrpScript) -> Option<Self> {
        let spec = s.script.as_ref()?;
        Some(Self {
            name: s.name.clone(),
            command: ScriptCommand::from_spec(spec),
            user: s.user.clone().or_else(|| spec.user.clone()),
            interval: s.interval,
            timeout: s.timeout,
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
            kill_grace: DEFAULT_KILL_GRACE,
        })
    }

    /// The status an instance should assume before the first event.
    pub fn initial_status(&self) -> ScriptStatus {
        ScriptState::new(self.rise, self.fall, self.init_fail).status()
    }
}

/// A running script task. Dropping it stops the task (and kills a running script).
#[derive(Debug)]
pub struct ScriptRunner {
    task: JoinHandle<()>,
}

impl ScriptRunner {
    /// Stops the task.
    pub fn stop(self) {}

    /// The task has ended (disabled script, or the receiver was dropped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the runner on the current tokio runtime.
pub fn spawn_script_runner(
    cfg: ScriptRunnerConfig,
    ctx: ScriptContext,
    tx: mpsc::Sender<ScriptEvent>,
) -> ScriptRunner {
    spawn_script_runner_with_metrics(cfg, ctx, tx, None, None)
}

/// [`spawn_script_runner`], also feeding `keepalived_script_*`: `script_state` 1 while a run
/// is going, every run's result and duration, and `script_status` as keepalived reports it
/// (GOOD = 1 once `rise` runs succeeded, BAD = 0 otherwise, also before the first result).
///
/// `resumed`: a script carried over a reload with a known result (ok or not): its rise/fall
/// counting continues from that result instead of starting over, so the tracking instances see
/// no change (keepalived keeps a script's result when its command is unchanged).
pub fn spawn_script_runner_with_metrics(
    cfg: ScriptRunnerConfig,
    ctx: ScriptContext,
    tx: mpsc::Sender<ScriptEvent>,
    metrics: Option<Arc<Metrics>>,
    resumed: Option<bool>,
) -> ScriptRunner {
    let state = match resumed {
        Some(ok) => ScriptState::resumed(cfg.rise, cfg.fall, ok),
        None => ScriptState::new(cfg.rise, cfg.fall, cfg.init_fail),
    };
    ScriptRunner {
        task: tokio::spawn(run_loop(cfg, ctx, tx, metrics, state)),
    }
}

async fn run_loop(
    cfg: ScriptRunnerConfig,
    ctx: ScriptContext,
    tx: mpsc::Sender<ScriptEvent>,
    metrics: Option<Arc<Metrics>>,
    mut state: ScriptState,
) {
    if let Some(m) = &metrics {
        m.script_status(&cfg.name, state.status() == ScriptStatus::Ok);
        m.script_running(&cfg.name, false);
    }
    let mut ticker = tokio::time::interval(cfg.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let opts = RunOptions {
        timeout: Some(cfg.timeout.max(Duration::from_millis(1))),
        kill_grace: cfg.kill_grace,
    };
    let mut last_error: Option<ExecError> = None;
    let mut last_code: Option<i32> = None;
    let mut user = None;
    loop {
        ticker.tick().await;
        // The identity is looked up once (and again while it does not resolve).
        let resolved = match user.clone() {
            Some(u) => Ok(u),
            None => ctx.user_for(cfg.user.as_ref()),
        };
        if let Ok(u) = &resolved {
            user = Some(u.clone());
        }
        let prepared = resolved.and_then(|u| {
            PreparedScript::prepare(cfg.command.clone(), u, ctx.enable_script_security)
        });
        let started = Instant::now();
        if let Some(m) = &metrics {
            m.script_running(&cfg.name, true);
        }
        let outcome = match prepared {
            Ok(p) => p.run(&opts).await.outcome,
            Err(e) => ScriptOutcome::Error(e),
        };
        if let Some(m) = &metrics {
            m.script_result(&cfg.name, outcome.success(), started.elapsed());
        }
        match &outcome {
            ScriptOutcome::Error(ExecError::Insecure { .. }) => {
                tracing::error!(script = %cfg.name, "Disabling track script {} due to insecure: {outcome:?}", cfg.name);
                if let Some(m) = &metrics {
                    m.script_status(&cfg.name, false);
                }
                let from = state.status();
                let _ = tx
                    .send(ScriptEvent {
                        name: cfg.name.clone(),
                        ok: false,
                        from,
                        status: ScriptStatus::Failed,
                        outcome,
                        disabled: true,
                    })
                    .await;
                return;
            }
            ScriptOutcome::Error(e) => {
                if last_error.as_ref() != Some(e) {
                    tracing::warn!(script = %cfg.name, "VRRP_Script({}) cannot run: {e}", cfg.name);
                    last_error = Some(e.clone());
                }
            }
            ScriptOutcome::Exited(c) => {
                last_error = None;
                if last_code != Some(*c) {
                    tracing::info!(script = %cfg.name, "Script `{}` now returning {c}", cfg.name);
                    last_code = Some(*c);
                }
            }
            _ => last_error = None,
        }
        let change = state.record(outcome.success());
        if let Some(m) = &metrics {
            m.script_status(&cfg.name, state.status() == ScriptStatus::Ok);
        }
        if let Some(change) = change {
            let how = match (&outcome, change.to) {
                (ScriptOutcome::TimedOut, _) => "timed_out",
                (_, ScriptStatus::Ok) => "succeeded",
                _ => "failed",
            };
            tracing::info!(script = %cfg.name, "VRRP_Script({}) {how}", cfg.name);
            let ev = ScriptEvent {
                name: cfg.name.clone(),
                ok: change.to == ScriptStatus::Ok,
                from: change.from,
                status: change.to,
                outcome,
                disabled: false,
            };
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    }
}
