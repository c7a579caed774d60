//! The root supervisor: owns every child by identity, reconciles them against a desired list
//! (this is what config reload drives) and stops them in order on shutdown.
//!
//! Reconcile (`desired` = list of `(key, config)`), compared with what is running:
//! - key absent before: **started**;
//! - key gone: **stopped** (`Shutdown { reason: Removed }`);
//! - key present with a different config (`!=`): **replaced** (`Shutdown { reason: Replaced }`
//!   to the old one, then the new one is started with the old handle passed as `previous`);
//! - key present with an equal config: **unchanged** — not touched, no message at all.
//!
//! Stops happen before starts, concurrently, each bounded by `RootOptions::stop_timeout`.
//! Handlers run atomically (`AtomicResponse`): a reload never interleaves with another
//! reload or with shutdown.
//!
//! Shutdown ([`StopAll`], or [`ControlSignal::Shutdown`] from SIGTERM/SIGINT): children get
//! `Shutdown { reason: Terminate }` stage by stage in ascending order (all children of one
//! stage concurrently; e.g. VRRP instances in stage 0 send their priority-0 adverts while the
//! netlink owner in a later stage can still remove addresses), each stage bounded by
//! `stop_timeout`; then every child is terminated and, if configured, the System stops.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use actix::prelude::*;
use futures::future::{join_all, LocalBoxFuture};
use futures::FutureExt as _;

use crate::runtime::signals::ControlSignal;
use crate::runtime::supervise::panic_message;
use crate::runtime::supervise::{ChildHandle, ShutdownOutcome, ShutdownReason};

/// Which dump a signal (or a control-socket client) asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// SIGUSR1: configuration and state (`keepalived.data`).
    Data,
    /// SIGUSR2: VRRP counters (`keepalived.stats`).
    Stats,
    /// SIGRTMAX-1 (keepalived's STATS_CLEAR): the stats, then the counters restart from 0.
    StatsClear,
    /// SIGRTMIN+2: the JSON state (`keepalived.json`).
    Json,
    /// The SNMP subagent's snapshot (JSON of `mgmt::snmp::mib::MibSnapshot`; never a file).
    Snmp,
}

/// A running child as the factory sees it when dumping.
#[derive(Debug)]
pub struct ChildView<'a, K, C> {
    /// Its key.
    pub key: &'a K,
    /// Its current configuration.
    pub config: &'a C,
    /// Its handle (e.g. `handle.addr::<A>()` to ask it for its status).
    pub handle: &'a ChildHandle,
    /// Its summary.
    pub info: ChildInfo,
}

/// Summary of one child (for dumps and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// Its key, formatted with `Debug`.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its shutdown stage.
    pub stage: u8,
    /// Times restarted by its supervisor.
    pub restarts: u64,
    /// Times it crashed.
    pub crashes: u64,
}

/// What the daemon provides to the root: how to start a child for a `(key, config)`, and
/// (optionally) how to load a new desired list on reload and where dumps go.
pub trait ChildFactory<K, C>: 'static {
    /// Starts the child for `key` with `config` (normally `spawn_child` on the right arbiter).
    /// On replacement `previous` is the old child's handle (already shut down and terminated),
    /// e.g. to take over its `Durable` state. An error or a panic is reported, not fatal.
    fn start(
        &mut self,
        key: &K,
        config: &C,
        previous: Option<&ChildHandle>,
    ) -> anyhow::Result<ChildHandle>;

    /// Whether a child whose config changed (same identity) can take `new` in place: the
    /// decision [`decide`] asks, for a reload and for a reload plan alike (so it must not act).
    /// The default leaves it to [`update`](Self::update).
    fn can_update(&self, key: &K, old: &C, new: &C) -> bool {
        let _ = (key, old, new);
        true
    }

    /// A child's config changed but its identity did not, and [`can_update`](Self::can_update)
    /// said yes: apply `new` to the running child in place (no restart, no state change) and
    /// return true, or return false to have it replaced (e.g. the child is gone). The default
    /// replaces.
    fn update(&mut self, key: &K, old: &C, new: &C, handle: &ChildHandle) -> bool {
        let _ = (key, old, new, handle);
        false
    }

    /// A reload plan ([`PlanQuery`]): load `path` (None: the running configuration's file)
    /// without applying anything and return its desired list, or None when the file would be
    /// rejected. [`plan_render`](Self::plan_render) follows.
    fn plan_load(&mut self, path: Option<&std::path::Path>) -> Option<Vec<(K, C)>> {
        let _ = path;
        None
    }

    /// The reload plan's text: `decisions` is what a reconcile would do with the desired list
    /// of [`plan_load`](Self::plan_load) (None: rejected).
    fn plan_render(
        &mut self,
        decisions: Option<&ReconcilePlan<K, C>>,
        children: &[ChildView<'_, K, C>],
    ) -> Result<String, String> {
        let _ = (decisions, children);
        Err("reload plans are not supported".to_string())
    }

    /// A reload (SIGHUP; `watched`: asked by the configuration watcher, which a factory may
    /// refuse where an operator's SIGHUP would apply): the factory's loader, asked once per
    /// reload. Its future is polled on the root's thread while the root goes on answering
    /// (signals, `--status`, shutdown), so a slow load runs elsewhere ([`off_thread`]); it
    /// resolves to the desired children and the commit to call once they are reconciled, or
    /// to an error (the running configuration goes on; the factory has said why). None (the
    /// default): reloads are not supported.
    fn reload(&mut self, watched: bool) -> Option<Loading<K, C>> {
        let _ = watched;
        None
    }

    /// A dump signal (SIGUSR1, SIGUSR2, ...): write it (normally in the background, with
    /// [`ChildFactory::render`]). Must not block.
    fn dump(&mut self, kind: DumpKind, children: &[ChildView<'_, K, C>]) {
        let _ = (kind, children);
    }

    /// The text of a dump (for the control socket and for [`ChildFactory::dump`]): a future
    /// that gathers what it needs from the children without blocking the root.
    fn render(
        &mut self,
        kind: DumpKind,
        children: &[ChildView<'_, K, C>],
    ) -> LocalBoxFuture<'static, Result<String, String>> {
        let _ = (kind, children);
        Box::pin(futures::future::ready(Err(
            "dumps are not supported".to_string()
        )))
    }

    /// A shutdown begins (before any child is stopped).
    fn shutdown_started(&mut self) {}

    /// Called after a shutdown stopped every child.
    fn shutdown_complete(&mut self, report: &ShutdownReport) {
        let _ = report;
    }
}

/// What a factory's reload ([`ChildFactory::reload`]) produced.
pub struct Reload<K, C> {
    /// The new desired children.
    pub desired: Vec<(K, C)>,
    /// Called once, after the reconcile (`Ok`: every stop, start and in-place update was
    /// requested) or instead of it (the root is stopping), with the children then running:
    /// the factory stores what it loaded as the running configuration.
    pub commit: Commit<K, C>,
}

/// See [`Reload::commit`].
pub type Commit<K, C> = Box<
    dyn for<'a> FnOnce(Result<&ReconcileReport<K>, ReloadRefused>, &[ChildView<'a, K, C>]) + Send,
>;

/// Apply a loaded configuration: reconcile to its desired children, then call its commit (the
/// daemon's start goes through here, as its reloads do).
pub struct Apply<K, C>(pub Reload<K, C>);

impl<K: 'static, C: 'static> Message for Apply<K, C> {
    type Result = Result<ReconcileReport<K>, RootStopping>;
}

/// A reload being loaded ([`ChildFactory::reload`]).
pub type Loading<K, C> = LocalBoxFuture<'static, anyhow::Result<Reload<K, C>>>;

/// Runs `job` on a thread of its own named `name` (a slow or hostile file never holds up the
/// caller's thread); None when the job panicked or no thread could be started (logged).
pub fn off_thread<T: Send + 'static>(
    name: &str,
    job: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Option<T>> {
    let (tx, rx) = futures::channel::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(job));
            if let Err(p) = &r {
                tracing::error!(panic = %panic_message(p.as_ref()), "off-thread job panicked");
            }
            let _ = tx.send(r.ok());
        });
    if let Err(e) = &spawned {
        tracing::error!(error = %e, "cannot start the {name} thread");
    }
    async move { rx.await.ok().flatten() }
}

/// A reload's load has resolved, back on the root's thread.
struct Loaded<K, C>(std::thread::Result<anyhow::Result<Reload<K, C>>>);

impl<K: 'static, C: 'static> Message for Loaded<K, C> {
    type Result = ();
}

/// Root settings.
#[derive(Debug, Clone)]
pub struct RootOptions {
    /// Bound on each child's (reconcile) or each stage's (shutdown) `Shutdown` reply.
    pub stop_timeout: Duration,
    /// Stop the actix System once a shutdown has completed.
    pub stop_system_on_shutdown: bool,
}

impl Default for RootOptions {
    fn default() -> Self {
        RootOptions {
            stop_timeout: Duration::from_secs(2),
            stop_system_on_shutdown: true,
        }
    }
}

/// Apply a desired list of children.
#[derive(Debug, Clone)]
pub struct Reconcile<K, C>(pub Vec<(K, C)>);

impl<K: 'static, C: 'static> Message for Reconcile<K, C> {
    type Result = Result<ReconcileReport<K>, RootStopping>;
}

/// The root is shutting down and refuses changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("root supervisor is shutting down")]
pub struct RootStopping;

/// Why a reload was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadRefused {
    /// The new configuration was rejected; the running one goes on.
    Rejected,
    /// The root is stopping.
    Stopping,
}

/// What a reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileReport<K> {
    /// Newly started keys.
    pub started: Vec<K>,
    /// Stopped (removed) keys.
    pub stopped: Vec<K>,
    /// Replaced (changed) keys.
    pub replaced: Vec<K>,
    /// Number of unchanged children (not touched).
    pub unchanged: usize,
    /// Changed children updated in place (not restarted).
    pub updated: Vec<K>,
    /// Keys whose start failed (not running now), with the error.
    pub failed: Vec<(K, String)>,
    /// Stopped/replaced keys that did not acknowledge `Shutdown` in time (ended anyway).
    pub timed_out: Vec<K>,
}

impl<K> Default for ReconcileReport<K> {
    fn default() -> Self {
        ReconcileReport {
            started: Vec::new(),
            stopped: Vec::new(),
            replaced: Vec::new(),
            unchanged: 0,
            updated: Vec::new(),
            failed: Vec::new(),
            timed_out: Vec::new(),
        }
    }
}

/// What a reconcile does with one desired child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Same key, equal config: not touched.
    Unchanged,
    /// Same key, changed config the factory can take in place.
    Update,
    /// Same key, changed config the factory cannot take in place: stopped, started again.
    Replace,
    /// New key: started.
    Start,
}

/// The decisions of one reconcile, before anything is done ([`decide`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcilePlan<K, C> {
    /// The desired children in order (later duplicates dropped), each with its decision.
    pub desired: Vec<(K, C, Decision)>,
    /// Running keys no longer desired: stopped.
    pub removed: Vec<K>,
}

impl<K, C> ReconcilePlan<K, C> {
    /// How many desired children get `d`.
    pub fn count(&self, d: Decision) -> usize {
        self.desired.iter().filter(|(_, _, x)| *x == d).count()
    }

    /// True when the reconcile would touch nothing.
    pub fn is_noop(&self) -> bool {
        self.removed.is_empty() && self.count(Decision::Unchanged) == self.desired.len()
    }
}

/// What a reconcile decides (pure; the root's reconcile and the reload plan both use it):
/// against the `running` children, each desired `(key, config)` is unchanged (equal config),
/// updated in place (`in_place(key, old, new)` says it can be), replaced, or started; running
/// keys not desired are removed. Later duplicates in `desired` win, the first one's place kept.
pub fn decide<'a, K, C>(
    running: impl IntoIterator<Item = (&'a K, &'a C)>,
    desired: Vec<(K, C)>,
    mut in_place: impl FnMut(&K, &C, &C) -> bool,
) -> ReconcilePlan<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    let running: HashMap<&K, &C> = running.into_iter().collect();
    let mut wanted: HashMap<K, C> = HashMap::with_capacity(desired.len());
    let mut order: Vec<K> = Vec::with_capacity(desired.len());
    for (k, c) in desired {
        if wanted.insert(k.clone(), c).is_some() {
            tracing::warn!(key = ?k, "duplicate child key in desired list; last one wins");
        } else {
            order.push(k);
        }
    }
    let mut removed: Vec<K> = running
        .keys()
        .filter(|k| !wanted.contains_key(**k))
        .map(|k| (*k).clone())
        .collect();
    removed.sort_by_key(|k| format!("{k:?}"));
    let mut out = Vec::with_capacity(order.len());
    for k in order {
        let c = wanted.remove(&k).expect("ordered keys are in the map");
        let d = match running.get(&k) {
            Some(o) if **o == c => Decision::Unchanged,
            Some(o) if in_place(&k, o, &c) => Decision::Update,
            Some(_) => Decision::Replace,
            None => Decision::Start,
        };
        out.push((k, c, d));
    }
    ReconcilePlan {
        desired: out,
        removed,
    }
}

/// Ask for a reload plan of a file (None: the running configuration's own) without applying
/// it: answered with the factory's rendering ([`ChildFactory::plan_render`]).
#[derive(Debug, Clone)]
pub struct PlanQuery(pub Option<std::path::PathBuf>);

impl Message for PlanQuery {
    type Result = Result<String, String>;
}

/// Stop every child (graceful shutdown) and reply with a report.
#[derive(Debug, Clone, Copy)]
pub struct StopAll;

impl Message for StopAll {
    type Result = ShutdownReport;
}

/// What a shutdown did, by child name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Children that acknowledged `Shutdown`, in the order their stages ran.
    pub acked: Vec<String>,
    /// Children that did not reply in time.
    pub timed_out: Vec<String>,
    /// Children that were already gone.
    pub closed: Vec<String>,
}

/// List the running children.
#[derive(Debug, Clone, Copy)]
pub struct ListChildren;

/// Render a dump and answer with its text ([`ChildFactory::render`]).
#[derive(Debug, Clone, Copy)]
pub struct Query(pub DumpKind);

impl Message for Query {
    type Result = Result<String, String>;
}

/// Answered as soon as the root handles it: proof that the control arbiter and the root's
/// mailbox are alive (the systemd watchdog).
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat;

impl Message for Heartbeat {
    type Result = ();
}

impl Message for ListChildren {
    type Result = Vec<ChildInfo>;
}

/// Bounds of a child key (blanket-implemented).
pub trait ChildKey: Hash + Eq + Clone + Debug + Send + Unpin + 'static {}
impl<T: Hash + Eq + Clone + Debug + Send + Unpin + 'static> ChildKey for T {}

/// Bounds of a child config (blanket-implemented): `==` decides "unchanged".
pub trait ChildConfig: PartialEq + Send + Unpin + 'static {}
impl<T: PartialEq + Send + Unpin + 'static> ChildConfig for T {}

struct Entry<C> {
    config: C,
    handle: ChildHandle,
    seq: u64,
}

/// The root supervisor actor (runs on the control arbiter).
pub struct Root<K, C> {
    children: HashMap<K, Entry<C>>,
    factory: Box<dyn ChildFactory<K, C>>,
    opts: RootOptions,
    next_seq: u64,
    stopping: bool,
    /// A reload job is running on its thread.
    loading: bool,
    /// A reload asked while one was loading: (watched only) done once the load is applied.
    again: Option<ControlSignal>,
}

impl<K, C> Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    /// A root with no children yet (send [`Reconcile`] to start them).
    pub fn new(factory: impl ChildFactory<K, C>, opts: RootOptions) -> Self {
        Root {
            children: HashMap::new(),
            factory: Box::new(factory),
            opts,
            next_seq: 0,
            stopping: false,
            loading: false,
            again: None,
        }
    }

    fn infos(&self) -> Vec<ChildInfo> {
        Self::views(&self.children)
            .into_iter()
            .map(|v| v.info)
            .collect()
    }

    fn views(children: &HashMap<K, Entry<C>>) -> Vec<ChildView<'_, K, C>> {
        let mut v: Vec<(u64, ChildView<'_, K, C>)> = children
            .iter()
            .map(|(k, e)| {
                (
                    e.seq,
                    ChildView {
                        key: k,
                        config: &e.config,
                        handle: &e.handle,
                        info: ChildInfo {
                            key: format!("{k:?}"),
                            name: e.handle.name().to_owned(),
                            stage: e.handle.stage(),
                            restarts: e.handle.restarts(),
                            crashes: e.handle.crashes(),
                        },
                    },
                )
            })
            .collect();
        v.sort_by_key(|(seq, _)| *seq);
        v.into_iter().map(|(_, c)| c).collect()
    }

    fn start_child(
        &mut self,
        key: &K,
        config: C,
        previous: Option<&ChildHandle>,
    ) -> Result<(), String> {
        let factory = &mut self.factory;
        let started = catch_unwind(AssertUnwindSafe(|| factory.start(key, &config, previous)));
        let handle = match started {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(format!("{e:#}")),
            Err(p) => return Err(format!("factory panicked: {}", panic_message(p.as_ref()))),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.children.insert(
            key.clone(),
            Entry {
                config,
                handle,
                seq,
            },
        );
        Ok(())
    }

    fn reconcile(
        &mut self,
        desired: Vec<(K, C)>,
    ) -> ResponseActFuture<Self, Result<ReconcileReport<K>, RootStopping>> {
        if self.stopping {
            return Box::pin(fut::ready(Err(RootStopping)));
        }
        // Later duplicates win (the config layer should have rejected them already).
        let factory = &self.factory;
        let plan = decide(
            self.children.iter().map(|(k, e)| (k, &e.config)),
            desired,
            |k, o, n| factory.can_update(k, o, n),
        );
        let mut report = ReconcileReport::default();
        let mut leaving: Vec<(K, Entry<C>, ShutdownReason)> = Vec::new();
        for k in plan.removed {
            let e = self.children.remove(&k).expect("key listed from the map");
            leaving.push((k, e, ShutdownReason::Removed));
        }
        let mut to_start: Vec<(K, C)> = Vec::new();
        for (k, c, d) in plan.desired {
            match d {
                Decision::Unchanged => report.unchanged += 1,
                Decision::Update => {
                    let e = self
                        .children
                        .get_mut(&k)
                        .expect("decided on a running child");
                    if self.factory.update(&k, &e.config, &c, &e.handle) {
                        e.config = c;
                        report.updated.push(k);
                    } else {
                        // It could not take it after all (e.g. it is gone): replaced.
                        let e = self.children.remove(&k).expect("just looked up");
                        leaving.push((k.clone(), e, ShutdownReason::Replaced));
                        to_start.push((k, c));
                    }
                }
                Decision::Replace => {
                    let e = self
                        .children
                        .remove(&k)
                        .expect("decided on a running child");
                    leaving.push((k.clone(), e, ShutdownReason::Replaced));
                    to_start.push((k, c));
                }
                Decision::Start => to_start.push((k, c)),
            }
        }
        leaving.sort_by_key(|(_, e, _)| std::cmp::Reverse(e.seq));
        let timeout = self.opts.stop_timeout;
        let stops = join_all(
            leaving
                .iter()
                .map(|(_, e, reason)| e.handle.shutdown(*reason, timeout)),
        );
        Box::pin(
            fut::wrap_future::<_, Self>(stops).map(move |outcomes, act, _ctx| {
                let mut previous: HashMap<K, ChildHandle> = HashMap::new();
                for ((k, e, reason), outcome) in leaving.into_iter().zip(outcomes) {
                    e.handle.terminate();
                    if outcome == ShutdownOutcome::TimedOut {
                        tracing::warn!(key = ?k, "child did not acknowledge Shutdown in time");
                        report.timed_out.push(k.clone());
                    }
                    match reason {
                        ShutdownReason::Replaced => {
                            previous.insert(k, e.handle);
                        }
                        _ => report.stopped.push(k),
                    }
                }
                for (k, c) in to_start {
                    let prev = previous.remove(&k);
                    match act.start_child(&k, c, prev.as_ref()) {
                        Ok(()) if prev.is_some() => report.replaced.push(k),
                        Ok(()) => report.started.push(k),
                        Err(e) => {
                            tracing::error!(key = ?k, error = %e, "child failed to start");
                            report.failed.push((k, e));
                        }
                    }
                }
                tracing::info!(
                    started = report.started.len(),
                    stopped = report.stopped.len(),
                    replaced = report.replaced.len(),
                    updated = report.updated.len(),
                    unchanged = report.unchanged,
                    failed = report.failed.len(),
                    "reconciled children"
                );
                Ok(report)
            }),
        )
    }

    fn stop_all(&mut self) -> ResponseActFuture<Self, ShutdownReport> {
        self.stopping = true;
        let factory = &mut self.factory;
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| factory.shutdown_started())) {
            tracing::error!(panic = %panic_message(p.as_ref()), "shutdown hook panicked");
        }
        let mut entries: Vec<(K, Entry<C>)> = self.children.drain().collect();
        // Stage ascending; inside a stage, most recently started first.
        entries.sort_by_key(|(_, e)| (e.handle.stage(), std::cmp::Reverse(e.seq)));
        let mut stages: Vec<Vec<ChildHandle>> = Vec::new();
        let mut current: Option<u8> = None;
        for (_, e) in entries {
            if current != Some(e.handle.stage()) {
                current = Some(e.handle.stage());
                stages.push(Vec::new());
            }
            stages.last_mut().expect("pushed above").push(e.handle);
        }
        let timeout = self.opts.stop_timeout;
        let work = async move {
            let mut report = ShutdownReport::default();
            for stage in stages {
                let outcomes = join_all(
                    stage
                        .iter()
                        .map(|h| h.shutdown(ShutdownReason::Terminate, timeout)),
                )
                .await;
                for (h, outcome) in stage.iter().zip(outcomes) {
                    h.terminate();
                    let name = h.name().to_owned();
                    match outcome {
                        ShutdownOutcome::Acked => report.acked.push(name),
                        ShutdownOutcome::TimedOut => {
                            tracing::warn!(child = %name, "child did not acknowledge Shutdown in time");
                            report.timed_out.push(name)
                        }
                        ShutdownOutcome::Closed => report.closed.push(name),
                    }
                }
            }
            report
        };
        Box::pin(fut::wrap_future::<_, Self>(work).map(|report, act, _ctx| {
            tracing::info!(
                acked = report.acked.len(),
                timed_out = report.timed_out.len(),
                "all children stopped"
            );
            act.factory.shutdown_complete(&report);
            if act.opts.stop_system_on_shutdown {
                System::current().stop();
            }
            report
        }))
    }
}

impl<K, C> Actor for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Context = Context<Self>;
}

impl<K, C> Handler<Reconcile<K, C>> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = AtomicResponse<Self, Result<ReconcileReport<K>, RootStopping>>;

    fn handle(&mut self, msg: Reconcile<K, C>, _ctx: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(self.reconcile(msg.0))
    }
}

impl<K, C> Handler<StopAll> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = AtomicResponse<Self, ShutdownReport>;

    fn handle(&mut self, _msg: StopAll, _ctx: &mut Context<Self>) -> Self::Result {
        if self.stopping && self.children.is_empty() {
            return AtomicResponse::new(Box::pin(fut::ready(ShutdownReport::default())));
        }
        AtomicResponse::new(self.stop_all())
    }
}

impl<K, C> Handler<ListChildren> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = MessageResult<ListChildren>;

    fn handle(&mut self, _msg: ListChildren, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.infos())
    }
}

impl<K, C> Handler<ControlSignal> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: ControlSignal, ctx: &mut Context<Self>) -> Self::Result {
        let done = || AtomicResponse::new(Box::pin(fut::ready(())));
        match msg {
            ControlSignal::Reload | ControlSignal::WatchReload => {
                if self.stopping {
                    return done();
                }
                if self.loading {
                    // Coalesced: one more load once this one is applied (SIGHUP wins).
                    if self.again != Some(ControlSignal::Reload) {
                        self.again = Some(msg);
                    }
                    return done();
                }
                let watched = msg == ControlSignal::WatchReload;
                let factory = &mut self.factory;
                let mut loading = match catch_unwind(AssertUnwindSafe(|| factory.reload(watched))) {
                    Ok(Some(l)) => l,
                    Ok(None) => {
                        tracing::warn!("reload is not supported");
                        return done();
                    }
                    Err(p) => return self.apply_reload(Err(p)),
                };
                // A loader that is ready at once is applied in this very handler (nothing
                // else interleaves); otherwise the root answers on while it loads.
                let mut cx = std::task::Context::from_waker(futures::task::noop_waker_ref());
                let first = catch_unwind(AssertUnwindSafe(|| loading.as_mut().poll(&mut cx)));
                match first {
                    Ok(std::task::Poll::Ready(r)) => self.apply_reload(Ok(r)),
                    Err(p) => self.apply_reload(Err(p)),
                    Ok(std::task::Poll::Pending) => {
                        self.loading = true;
                        let guarded = AssertUnwindSafe(loading).catch_unwind();
                        ctx.spawn(fut::wrap_future(guarded).map(|r, _act: &mut Self, ctx| {
                            ctx.notify(Loaded(r));
                        }));
                        done()
                    }
                }
            }
            ControlSignal::Shutdown => {
                if self.stopping {
                    return done();
                }
                AtomicResponse::new(Box::pin(self.stop_all().map(|_, _, _| ())))
            }
            ControlSignal::DumpData
            | ControlSignal::DumpStats
            | ControlSignal::StatsClear
            | ControlSignal::DumpJson => {
                let kind = match msg {
                    ControlSignal::DumpData => DumpKind::Data,
                    ControlSignal::DumpStats => DumpKind::Stats,
                    ControlSignal::StatsClear => DumpKind::StatsClear,
                    _ => DumpKind::Json,
                };
                let views = Self::views(&self.children);
                let factory = &mut self.factory;
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| factory.dump(kind, &views))) {
                    tracing::error!(panic = %panic_message(p.as_ref()), "dump panicked");
                }
                done()
            }
        }
    }
}

impl<K, C> Handler<Apply<K, C>> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = AtomicResponse<Self, Result<ReconcileReport<K>, RootStopping>>;

    fn handle(&mut self, msg: Apply<K, C>, _ctx: &mut Context<Self>) -> Self::Result {
        let Reload { desired, commit } = msg.0;
        if self.stopping {
            Self::commit(commit, Err(ReloadRefused::Stopping), &self.children);
            return AtomicResponse::new(Box::pin(fut::ready(Err(RootStopping))));
        }
        AtomicResponse::new(Box::pin(self.reconcile(desired).map(|r, act, _| {
            let outcome = r.as_ref().map_err(|_| ReloadRefused::Stopping);
            Self::commit(commit, outcome, &act.children);
            r
        })))
    }
}

impl<K, C> Handler<Loaded<K, C>> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: Loaded<K, C>, ctx: &mut Context<Self>) -> Self::Result {
        self.loading = false;
        if let Some(again) = self.again.take() {
            if !self.stopping {
                // Handled after this one's reconcile (the reconcile holds the mailbox).
                ctx.notify(again);
            }
        }
        self.apply_reload(msg.0)
    }
}

impl<K, C> Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    /// Reconciles to a reload's desired children, then commits it; or reports why not.
    fn apply_reload(
        &mut self,
        loaded: std::thread::Result<anyhow::Result<Reload<K, C>>>,
    ) -> AtomicResponse<Self, ()> {
        let done = || AtomicResponse::new(Box::pin(fut::ready(())));
        match loaded {
            Ok(Ok(reload)) if self.stopping => {
                Self::commit(reload.commit, Err(ReloadRefused::Stopping), &self.children);
                done()
            }
            Ok(Ok(Reload { desired, commit })) => {
                AtomicResponse::new(Box::pin(self.reconcile(desired).map(|r, act, _| {
                    if let Err(e) = &r {
                        tracing::warn!(error = %e, "reload ignored");
                    }
                    let outcome = r.as_ref().map_err(|_| ReloadRefused::Stopping);
                    Self::commit(commit, outcome, &act.children);
                })))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "reload rejected; keeping the running configuration");
                done()
            }
            Err(p) => {
                tracing::error!(panic = %panic_message(p.as_ref()), "reload panicked; keeping the running configuration");
                done()
            }
        }
    }

    fn commit(
        commit: Commit<K, C>,
        outcome: Result<&ReconcileReport<K>, ReloadRefused>,
        children: &HashMap<K, Entry<C>>,
    ) {
        let views = Self::views(children);
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| commit(outcome, &views))) {
            tracing::error!(panic = %panic_message(p.as_ref()), "reload commit panicked");
        }
    }
}

impl<K, C> Handler<Query> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = ResponseFuture<Result<String, String>>;

    fn handle(&mut self, msg: Query, _ctx: &mut Context<Self>) -> Self::Result {
        let views = Self::views(&self.children);
        let factory = &mut self.factory;
        match catch_unwind(AssertUnwindSafe(|| factory.render(msg.0, &views))) {
            Ok(f) => f,
            Err(p) => {
                let m = format!("dump panicked: {}", panic_message(p.as_ref()));
                Box::pin(futures::future::ready(Err(m)))
            }
        }
    }
}

impl<K, C> Handler<PlanQuery> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = Result<String, String>;

    fn handle(&mut self, msg: PlanQuery, _ctx: &mut Context<Self>) -> Self::Result {
        let children = &self.children;
        let factory = &mut self.factory;
        let planned = catch_unwind(AssertUnwindSafe(|| {
            let desired = factory.plan_load(msg.0.as_deref());
            let decisions = desired.map(|d| {
                let f = &*factory;
                decide(
                    children.iter().map(|(k, e)| (k, &e.config)),
                    d,
                    |k, o, n| f.can_update(k, o, n),
                )
            });
            let views = Self::views(children);
            factory.plan_render(decisions.as_ref(), &views)
        }));
        planned.unwrap_or_else(|p| {
            Err(format!(
                "reload plan panicked: {}",
                panic_message(p.as_ref())
            ))
        })
    }
}

impl<K, C> Handler<Heartbeat> for Root<K, C>
where
    K: ChildKey,
    C: ChildConfig,
{
    type Result = ();

    fn handle(&mut self, _msg: Heartbeat, _ctx: &mut Context<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decide_sorts_children_into_unchanged_updated_replaced_started_removed() {
        let running: Vec<(u32, &str)> = vec![(1, "a"), (2, "b"), (3, "c"), (4, "d")];
        let desired = vec![(1, "a"), (2, "B"), (3, "x"), (5, "e"), (5, "E")];
        // In place only when the new config is upper case.
        let plan = decide(running.iter().map(|(k, c)| (k, c)), desired, |_, _, n| {
            n.chars().all(|c| c.is_ascii_uppercase())
        });
        assert_eq!(
            plan.desired,
            [
                (1, "a", Decision::Unchanged),
                (2, "B", Decision::Update),
                (3, "x", Decision::Replace),
                (5, "E", Decision::Start),
            ]
        );
        assert_eq!(plan.removed, [4]);
        assert!(!plan.is_noop());
        assert_eq!(plan.count(Decision::Unchanged), 1);
        let same = decide(
            running.iter().map(|(k, c)| (k, c)),
            running.clone(),
            |_, _, _| panic!("equal configs are never asked about"),
        );
        assert!(same.is_noop());
    }

    #[test]
    fn report_default_is_empty() {
        let r: ReconcileReport<u32> = ReconcileReport::default();
        assert!(r.started.is_empty() && r.unchanged == 0);
    }
}
