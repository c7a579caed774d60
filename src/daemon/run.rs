//! The daemon: load the configuration, start the actor tree on the actix runtime, run until
//! SIGTERM/SIGINT, reload on SIGHUP.

use crate::config::model::{Config, GlobalDefs};
use crate::config::{self, LoadOptions};
use crate::daemon::args::{exit, Args};
use crate::daemon::children::{children, in_place, ChildSpec, Subsystems};
use crate::daemon::settings::Settings;
use crate::mgmt::dumps::{Running, RunningConfig};
use crate::runtime::{
    listen_signals, spawn_child, ActorRuntime, Apply, ChildFactory, ChildHandle, ChildOptions,
    ChildView, Commit, Domain, DumpKind, Durable, EventBus, Loading, ObjectId, Reload,
    ReloadRefused, Root, RootOptions, RuntimeConfig, SupervisionEventKind,
};
use crate::vrrp::actor::claims::{owner_of, VipClaims};
use crate::vrrp::actor::instance::{
    virtual_set_of, Hold, HoldRelease, InstanceActor, ReleaseOptions, VrrpDurable,
};
use crate::vrrp::actor::kernel::Kernel;
use crate::vrrp::actor::sync::SyncHub;
use crate::vrrp::actor::trackers::TrackerHub;
use actix::ArbiterHandle;
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

/// Starts children on the right arbiter, renders dumps from the running snapshot, and hands
/// each reload to the daemon's [`Loader`].
pub struct Factory {
    vrrp: ArbiterHandle,
    bfd: ArbiterHandle,
    kernel: Arc<dyn Kernel>,
    notifier: Arc<crate::vrrp::actor::notifier::Notifier>,
    /// The daemon's metrics when they are served (`--metrics-listen`): only then do objects
    /// (instances, sync groups, BFD sessions, checkers) keep series of their own.
    object_metrics: Option<Arc<crate::telemetry::Metrics>>,
    /// Crashes and restarts of supervised children (logged by the supervisor, counted here).
    events: EventBus,
    /// keepalived's temporary directory (`$TMPDIR` or `/tmp`) for dumps.
    tmp: PathBuf,
    /// `-V`.
    release: ReleaseOptions,
    /// The file a reload plan is being made of, loaded (between `plan_load` and `plan_render`).
    planned: Option<(PathBuf, config::Loaded)>,
    /// `--take-over`: the state each VRRP instance starts from (keepalived's), by identity
    /// (shared with the daemon, which corrects it after stopping keepalived).
    seeds: HashMap<ObjectId, Durable<VrrpDurable>>,
    /// `--take-over`: instances start held until keepalived is stopped.
    hold: Option<Hold>,
    /// Loads reloads and keeps what they share with the children's starts.
    loader: Rc<Loader>,
}

/// The daemon's loader: reads a new configuration off the root's thread, prepares the
/// shared services (trackers, sync groups, VIP claims, checkers) for it, and gives the root
/// the desired children and the commit that stores the new [`Running`] snapshot.
struct Loader {
    path: PathBuf,
    load: LoadOptions,
    subsystems: Subsystems,
    registry: crate::bfd::BfdRegistry,
    /// Starts the checkers when a reload brings the first virtual server (keepalived starts
    /// its checker process then); `None` without the checker subsystem.
    lvs_starter: Option<LvsStarter>,
    hub: TrackerHub,
    sync: SyncHub,
    /// `lvs_sync_daemon`: the IPVS sync daemons, following a VRRP instance.
    syncd: crate::lvs::syncd::SyncdHandle,
    /// The VIP firewall's owner (its tables exist only once an instance needs them).
    firewall: Option<crate::firewall::FirewallHandle>,
    /// Which instance wants which VIP (shared by all instances).
    claims: VipClaims,
    /// The configuration watcher's file list, renewed by every load (None: not watching).
    watched_files: Option<tokio::sync::watch::Sender<Vec<PathBuf>>>,
    /// Where the running snapshot is stored (and what stores it).
    store: Store,
    state: RefCell<LoaderState>,
}

/// What the loader changes, reload after reload (borrowed briefly, never across an await).
struct LoaderState {
    /// The running configuration's global settings.
    global: Arc<GlobalDefs>,
    /// The durable state of every VRRP instance started, by identity.
    durables: HashMap<ObjectId, Durable<VrrpDurable>>,
    /// The LVS director, once started.
    lvs: Option<crate::lvs::LvsHandle>,
    /// The first configuration is being started (no reload yet): its VRRP instances remove,
    /// before anything else, what a previous run of the daemon may have left (keepalived's
    /// `vrrp_restore_interfaces_startup`).
    initial: bool,
    /// A reload happened: new instances are not part of the daemon's start.
    reloaded: bool,
    /// A shutdown began: reloads are not applied.
    stopping: bool,
    /// Reloads prepared.
    generation: u64,
}

/// Stores the [`Running`] snapshot once a configuration's children are reconciled, and says
/// so (systemd, metrics, log). Sendable: it is the commit the root calls.
#[derive(Clone)]
struct Store {
    running: RunningConfig,
    hub: TrackerHub,
    bfd: Option<crate::bfd::BfdRegistry>,
    metrics: Arc<crate::telemetry::Metrics>,
    /// systemd's notification socket (started by systemd with `Type=notify`).
    sd: Option<Arc<crate::telemetry::systemd::SdNotify>>,
    /// keepalived's DBus interface (`enable_dbus`), following each configuration.
    dbus: Arc<crate::mgmt::dbus::DbusSlot>,
}

/// A bound on the checkers' taking of a reloaded configuration before the VRRP side is
/// reconciled (past it, they finish applying it on their own).
const LVS_RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Store {
    /// The snapshot of `config` with the VRRP instances of `children`.
    fn snapshot(
        &self,
        config: Arc<Config>,
        generation: u64,
        lvs: Option<crate::lvs::LvsHandle>,
        children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> Running {
        Running {
            config,
            generation,
            vrrp: children
                .iter()
                .filter_map(|c| match c.config {
                    ChildSpec::Vrrp(spec) => Some((spec.clone(), c.handle.addr::<InstanceActor>())),
                    ChildSpec::Bfd(_) => None,
                })
                .collect(),
            hub: self.hub.clone(),
            bfd: self.bfd.clone(),
            lvs,
        }
    }

    /// The commit of the daemon's start: stores the first snapshot.
    fn start_commit(
        self,
        config: Arc<Config>,
        lvs: Option<crate::lvs::LvsHandle>,
    ) -> Commit<ObjectId, ChildSpec> {
        Box::new(move |outcome, children| {
            if outcome.is_ok() {
                let s = self.snapshot(config, 0, lvs, children);
                self.running.store(Arc::new(s));
            }
        })
    }

    /// The commit of a reload: stores its snapshot once applied, then reports it.
    fn reload_commit(
        self,
        config: Arc<Config>,
        generation: u64,
        lvs: Option<crate::lvs::LvsHandle>,
        started: std::time::Instant,
    ) -> Commit<ObjectId, ChildSpec> {
        Box::new(move |outcome, children| {
            if outcome.is_ok() {
                let dbus = config.global.dbus.clone();
                let s = self.snapshot(config, generation, lvs, children);
                self.running.store(Arc::new(s));
                self.dbus.follow(&dbus, true);
            }
            self.reported(started, outcome);
        })
    }

    /// A reload is over (applied, or refused because the daemon is stopping).
    fn reported(
        &self,
        started: std::time::Instant,
        outcome: Result<&crate::runtime::ReconcileReport<ObjectId>, ReloadRefused>,
    ) {
        if let Some(sd) = &self.sd {
            sd.notify(if outcome.is_ok() {
                "READY=1\nSTATUS=running; configuration reloaded"
            } else {
                "READY=1\nSTATUS=running; reload rejected, previous configuration kept"
            });
        }
        let took = started.elapsed();
        self.metrics.reload(took, outcome.is_ok());
        if let Ok(r) = outcome {
            tracing::info!(
                "reload complete in {:.1} ms: {} started, {} stopped, {} replaced, {} updated in place, {} unchanged",
                took.as_secs_f64() * 1000.0,
                r.started.len(),
                r.stopped.len(),
                r.replaced.len(),
                r.updated.len(),
                r.unchanged
            );
        }
    }
}

impl ChildFactory<ObjectId, ChildSpec> for Factory {
    fn dump(&mut self, kind: DumpKind, _children: &[ChildView<'_, ObjectId, ChildSpec>]) {
        let running = self.loader.store.running.load_full();
        let tmp = self.tmp.clone();
        actix::spawn(async move {
            let g = crate::mgmt::dumps::gather(kind, running).await;
            crate::mgmt::dumps::write_files(g.files(kind, &tmp)).await;
        });
    }

    fn render(
        &mut self,
        kind: DumpKind,
        _children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> LocalBoxFuture<'static, Result<String, String>> {
        let running = self.loader.store.running.clone();
        Box::pin(async move { Ok(crate::mgmt::dumps::render(&running, kind).await) })
    }

    fn shutdown_complete(&mut self, _report: &crate::runtime::ShutdownReport) {
        // Sync groups report STOP (their notifies run after the members'), checkers stop and
        // IPVS is released (unless -I) before the process exits; then the System stops (the
        // Root leaves that to us).
        let system = actix::System::current();
        let lvs = self.loader.state.borrow_mut().lvs.take();
        let groups = self.loader.sync.drained();
        let syncd = self.loader.syncd.clone();
        let firewall = self.loader.firewall.clone();
        let dbus = self.loader.store.dbus.take();
        actix::spawn(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), groups).await;
            // keepalived's dbus_stop: VrrpStopped once the instances have stopped.
            if let Some(d) = dbus {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), d.stop()).await;
            }
            // keepalived's firewall_fini: the tables go once every VIP is released.
            if let Some(f) = firewall {
                f.shutdown().await;
            }
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), syncd.shutdown()).await;
            if let Some(l) = lvs {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), l.shutdown()).await;
            }
            system.stop();
        });
    }

    fn start(
        &mut self,
        key: &ObjectId,
        config: &ChildSpec,
        previous: Option<&ChildHandle>,
    ) -> anyhow::Result<ChildHandle> {
        match config {
            ChildSpec::Vrrp(spec) => {
                let (initial, reloaded) = {
                    let s = self.loader.state.borrow();
                    (s.initial, s.reloaded)
                };
                let durable = previous
                    .and_then(|p| p.durable::<VrrpDurable>())
                    .or_else(|| self.seeds.remove(key))
                    .unwrap_or_else(|| {
                        Durable::new(VrrpDurable {
                            startup_clear: initial,
                            ..VrrpDurable::default()
                        })
                    });
                let (spec, kernel, d) = (spec.clone(), self.kernel.clone(), durable.clone());
                let hub = self.loader.hub.clone();
                let sync = self.loader.sync.clone();
                let notifier = self.notifier.clone();
                let metrics = self.object_metrics.clone();
                let claims = self.loader.claims.clone();
                let release = ReleaseOptions {
                    daemon_start: !reloaded,
                    ..self.release
                };
                let hold = self.hold.clone();
                let firewall = self.loader.firewall.clone();
                let opts = ChildOptions::new(key.to_string()).events(self.events.clone());
                let h = spawn_child(&self.vrrp, opts, move |_| {
                    let a = InstanceActor::new(spec, kernel, Some(hub), Some(notifier), metrics, d)
                        .with_sync(sync)
                        .with_claims(claims)
                        .with_release(release)
                        .with_firewall(firewall);
                    match hold.clone() {
                        Some(h) => a.with_hold(h),
                        None => a,
                    }
                })?;
                self.loader
                    .state
                    .borrow_mut()
                    .durables
                    .insert(key.clone(), durable.clone());
                Ok(h.with_durable(durable))
            }
            ChildSpec::Bfd(spec) => crate::bfd::start_session(
                &self.bfd,
                spec.clone(),
                self.loader.registry.clone(),
                previous,
            ),
        }
    }

    fn can_update(&self, _key: &ObjectId, old: &ChildSpec, new: &ChildSpec) -> bool {
        // Socket-level settings replace an instance; a BFD session hands itself over to its
        // replacement without a flap.
        in_place(old, new)
    }

    fn update(
        &mut self,
        _key: &ObjectId,
        _old: &ChildSpec,
        new: &ChildSpec,
        handle: &ChildHandle,
    ) -> bool {
        match (new, handle.addr::<InstanceActor>()) {
            // The actor applies it on its own thread.
            (ChildSpec::Vrrp(spec), Some(addr)) => {
                addr.do_send(crate::vrrp::actor::instance::Reconfigure(spec.clone()));
                true
            }
            _ => false,
        }
    }

    fn plan_load(&mut self, path: Option<&std::path::Path>) -> Option<Vec<(ObjectId, ChildSpec)>> {
        let path = path.unwrap_or(&self.loader.path).to_path_buf();
        let loaded = config::load(&path, &self.loader.load);
        let desired = (!loaded.diagnostics.has_errors()).then(|| {
            let global = self.loader.global_for(&loaded.config.global);
            children(&loaded.config, &global, self.loader.subsystems)
        });
        self.planned = Some((path, loaded));
        desired
    }

    fn plan_render(
        &mut self,
        decisions: Option<&crate::runtime::ReconcilePlan<ObjectId, ChildSpec>>,
        children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> Result<String, String> {
        let (path, loaded) = self.planned.take().ok_or("no plan loaded")?;
        let file = path.display().to_string();
        let plan = match decisions {
            None => crate::daemon::plan::rejected(&file, &loaded.diagnostics),
            Some(d) => {
                let state = self.loader.state.borrow();
                let durables = &state.durables;
                let installed =
                    |k: &ObjectId| durables.get(k).is_some_and(|d| d.get().vips_installed);
                let running = self.loader.store.running.load_full();
                let running = crate::daemon::plan::Running {
                    config: &running.config,
                    children: children.iter().map(|c| (c.key, c.config)).collect(),
                    installed: &installed,
                    check: self.loader.subsystems.check,
                };
                crate::daemon::plan::build(&file, &running, &loaded.config, &loaded.diagnostics, d)
            }
        };
        serde_json::to_string(&plan).map_err(|e| e.to_string())
    }

    fn shutdown_started(&mut self) {
        self.loader.state.borrow_mut().stopping = true;
        if let Some(sd) = &self.loader.store.sd {
            sd.notify("STOPPING=1\nSTATUS=stopping");
        }
    }

    fn reload(&mut self, watched: bool) -> Option<Loading<ObjectId, ChildSpec>> {
        Some(Box::pin(self.loader.clone().reload(watched)))
    }
}

impl Loader {
    /// The global settings for a new configuration: the running ones (shared, compared by
    /// pointer) when they did not change.
    fn global_for(&self, new: &GlobalDefs) -> Arc<GlobalDefs> {
        let running = &self.state.borrow().global;
        if crate::config::diff::same_ignoring_locations(&**running, new) {
            running.clone()
        } else {
            Arc::new(new.clone())
        }
    }

    /// Before any instance hears of the new configuration: every instance that is MASTER
    /// with its VIPs installed claims the addresses of its new configuration, so that a VIP
    /// moving to it from another instance is never removed by the other's update (#1854).
    /// What it ends up not installing, it releases when its update arrives.
    fn claim_for_masters(&self, wanted: &[(ObjectId, ChildSpec)]) {
        let keys: HashSet<&ObjectId> = wanted.iter().map(|(k, _)| k).collect();
        let mut state = self.state.borrow_mut();
        state.durables.retain(|k, _| keys.contains(k));
        for (key, spec) in wanted {
            let ChildSpec::Vrrp(spec) = spec else {
                continue;
            };
            let installed = state
                .durables
                .get(key)
                .is_some_and(|d| d.get().vips_installed);
            if installed {
                let i = &spec.instance;
                self.claims.claim(&owner_of(i), &virtual_set_of(i));
            }
        }
    }

    /// One reload, start to end: load off the root's thread, prepare, let the checkers take
    /// the new configuration, and hand the root the desired children with the commit that
    /// stores the snapshot. A rejected load is reported here (log, span, metrics, systemd).
    async fn reload(self: Rc<Self>, watched: bool) -> anyhow::Result<Reload<ObjectId, ChildSpec>> {
        let started = std::time::Instant::now();
        self.state.borrow_mut().initial = false;
        if let Some(sd) = &self.store.sd {
            use crate::telemetry::systemd::{monotonic_usec, reloading};
            sd.notify(&reloading(monotonic_usec()));
        }
        let (path, opts) = (self.path.clone(), self.load.clone());
        let outcome =
            crate::runtime::off_thread("config-load", move || load_settled(&path, &opts, watched))
                .await
                .unwrap_or_else(|| Err(anyhow::anyhow!("configuration load panicked")));
        let span = crate::telemetry::transition_span(
            crate::telemetry::TransitionKind::Reload,
            &self.path.display().to_string(),
        )
        .reason(if watched { "watch" } else { "sighup" });
        let prepared = span.in_scope(|| {
            let (loaded, changed) = outcome?;
            // A panic is a rejected reload like any other (systemd hears READY again).
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.prepare(loaded, changed)
            }))
            .unwrap_or_else(|p| {
                let m = crate::runtime::panic_message(p.as_ref());
                Err(anyhow::anyhow!("reload panicked: {m}"))
            })
        });
        let Prepared {
            desired,
            config,
            reload_lvs,
            generation,
        } = match prepared {
            Ok(p) => p,
            Err(e) => {
                span.fail(&e.to_string());
                tracing::error!("{e:#}");
                self.store.reported(started, Err(ReloadRefused::Rejected));
                return Err(e);
            }
        };
        if let Some(l) = reload_lvs {
            reload_checkers(&l, &config).await;
        }
        let lvs = self.state.borrow().lvs.clone();
        Ok(Reload {
            desired,
            commit: self
                .store
                .clone()
                .reload_commit(config, generation, lvs, started),
        })
    }

    /// A loaded configuration, checked and made ready: the watcher follows its files, the
    /// masters claim their new VIPs, trackers and sync groups take it, the checkers start if
    /// it brings the first virtual server (returned: the running checkers to reload).
    fn prepare(
        &self,
        loaded: config::Loaded,
        changed_while_read: bool,
    ) -> anyhow::Result<Prepared> {
        if self.state.borrow().stopping {
            anyhow::bail!("shutting down: the new configuration is not applied");
        }
        self.state.borrow_mut().reloaded = true;
        if let Some(w) = &self.watched_files {
            // Include globs may match other files now: the watcher follows the new list.
            w.send_if_modified(|l| {
                let changed = *l != loaded.files;
                if changed {
                    l.clone_from(&loaded.files);
                }
                changed
            });
        }
        if changed_while_read {
            anyhow::bail!(
                "{} changed again while being read: not applied; the watcher reloads once it settles",
                self.path.display()
            );
        }
        for d in loaded.diagnostics.iter() {
            tracing::warn!("{d}");
        }
        if loaded.diagnostics.has_errors() {
            anyhow::bail!(
                "{}: new configuration has {} error(s); keeping the running one",
                self.path.display(),
                loaded.diagnostics.error_count()
            );
        }
        tracing::info!("reloading {}", self.path.display());
        crate::firewall::model::warn_reload(&self.state.borrow().global, &loaded.config.global);
        let global = self.global_for(&loaded.config.global);
        self.state.borrow_mut().global = global.clone();
        let desired = children(&loaded.config, &global, self.subsystems);
        self.claim_for_masters(&desired);
        self.hub.reconcile(&loaded.config);
        self.sync.reconcile(&loaded.config);
        self.syncd.reload(&loaded.config);
        let config = Arc::new(loaded.config);
        let mut state = self.state.borrow_mut();
        let reload_lvs = match (&state.lvs, &self.lvs_starter) {
            (Some(l), _) => Some(l.clone()),
            (None, Some(starter)) if !config.virtual_servers.is_empty() => {
                tracing::info!("virtual servers configured: starting the checkers");
                let lvs = starter.start(&config, &self.registry, None);
                let (netlink, l) = (starter.netlink.clone(), lvs.clone());
                actix::spawn(async move { feed_vips(&netlink, l).await });
                state.lvs = Some(lvs);
                None
            }
            (None, _) => None,
        };
        state.generation += 1;
        Ok(Prepared {
            desired,
            config,
            reload_lvs,
            generation: state.generation,
        })
    }
}

/// A reload made ready ([`Loader::prepare`]).
struct Prepared {
    desired: Vec<(ObjectId, ChildSpec)>,
    config: Arc<Config>,
    /// The running checkers, to reload with `config`.
    reload_lvs: Option<crate::lvs::LvsHandle>,
    generation: u64,
}

/// The checkers take a reloaded configuration (awaited, bounded; the result logged).
async fn reload_checkers(lvs: &crate::lvs::LvsHandle, config: &Config) {
    match tokio::time::timeout(LVS_RELOAD_TIMEOUT, lvs.reload(config)).await {
        Ok(r) => tracing::info!(
            "checkers reloaded: {} virtual server(s) added, {} removed, {} kept; {} checker(s) started, {} kept",
            r.added,
            r.removed,
            r.kept,
            r.checkers_started,
            r.checkers_kept
        ),
        Err(_) => tracing::warn!(
            "checkers still applying the new configuration after {LVS_RELOAD_TIMEOUT:?}: the VRRP side goes on reloading"
        ),
    }
}

/// A reload's load (on its own thread): reads and builds the configuration. A watcher's
/// reload (`watched`) reads the main file once more around the load: empty, or different
/// after the load than before it (still being written: the `bool`), it is not applied.
/// SIGHUP applies whatever is there.
fn load_settled(
    path: &std::path::Path,
    opts: &LoadOptions,
    watched: bool,
) -> anyhow::Result<(config::Loaded, bool)> {
    let before = watched.then(|| std::fs::read(path).unwrap_or_default());
    if before
        .as_deref()
        .is_some_and(crate::daemon::watch::is_blank)
    {
        anyhow::bail!(
            "{} is empty: a change seen by the watcher is not applied (send SIGHUP to apply it)",
            path.display()
        );
    }
    let loaded = config::load(path, opts);
    let changed = before.is_some_and(|b| std::fs::read(path).unwrap_or_default() != b);
    Ok((loaded, changed))
}

/// What starting the LVS side needs, at start or on the first reload with virtual servers.
struct LvsStarter {
    checkers: tokio::runtime::Handle,
    writer: tokio::runtime::Handle,
    dont_release_ipvs: bool,
    object_metrics: Option<Arc<crate::telemetry::Metrics>>,
    metrics: Arc<crate::telemetry::Metrics>,
    netlink: crate::netlink::NetlinkHandle,
}

impl LvsStarter {
    /// Starts the director for `cfg`, fed with BFD states (the caller feeds the present
    /// addresses: [`feed_vips`]).
    /// `adopted`: with `--take-over`, the IPVS table keepalived left (reconciled, not flushed).
    fn start(
        &self,
        cfg: &Config,
        registry: &crate::bfd::BfdRegistry,
        adopted: Option<crate::lvs::Adopted>,
    ) -> crate::lvs::LvsHandle {
        let opts = crate::lvs::LvsOptions::new(cfg, self.checkers.clone())
            .with_writer_runtime(self.writer.clone())
            .dont_release_ipvs(self.dont_release_ipvs);
        let opts = match &self.object_metrics {
            Some(m) => opts.with_metrics(m.clone()),
            None => opts,
        };
        let opts = match adopted {
            Some(t) => opts.adopt(t),
            None => opts,
        };
        let lvs = crate::lvs::start_lvs(cfg, opts);
        // gen2brain/keepalived_exporter's IPVS counters, read from the kernel per scrape.
        self.metrics
            .add_scrape_hook(Arc::new(crate::lvs::stats::IpvsStatsHook::default()));
        feed_bfd_to_lvs(registry, lvs.clone());
        lvs
    }
}

/// Feeds BFD session states (the current ones, then every change) to the checkers.
fn feed_bfd_to_lvs(registry: &crate::bfd::BfdRegistry, lvs: crate::lvs::LvsHandle) {
    let mut rx = registry.subscribe();
    for (name, _) in registry.all() {
        lvs.set_bfd(&name, registry.is_up(&name));
    }
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => lvs.set_bfd(&ev.name, ev.up),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Feeds BFD session states into the tracker hub (`track_bfd`).
fn feed_bfd(registry: &crate::bfd::BfdRegistry, hub: &TrackerHub) {
    use crate::track::priority::TrackerState;
    use crate::vrrp::actor::trackers::{TrackKey, TrackValue};
    let mut rx = registry.subscribe();
    let hub = hub.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    let s = if ev.up {
                        TrackerState::Up
                    } else {
                        TrackerState::Down
                    };
                    hub.set(TrackKey::Bfd(ev.name), TrackValue::State(s));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Counts crashes and restarts of supervised children in the metrics; with `-R`
/// (`dont_respawn`) a crash stops the daemon, as keepalived exits when a child dies.
fn count_supervision(
    events: &EventBus,
    metrics: Arc<crate::telemetry::Metrics>,
    dont_respawn: bool,
) {
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => match ev.kind {
                    SupervisionEventKind::Crashed { .. } if dont_respawn => {
                        metrics.actor_crashed(&ev.child);
                        tracing::error!("{} crashed: exiting (--dont-respawn)", ev.child);
                        // The signal listener turns it into the normal stop.
                        crate::sys::process::raise(libc::SIGTERM);
                    }
                    SupervisionEventKind::Crashed { .. } => metrics.actor_crashed(&ev.child),
                    SupervisionEventKind::Restarted { .. } => metrics.actor_restarted(&ev.child),
                    SupervisionEventKind::Terminated => {}
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("supervision events: {n} not counted");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// `static_ipaddress`, `static_routes`, `static_rules`: installed once at start, whatever the
/// VRRP state (idempotent: present ones are left alone).
async fn install_static(netlink: &crate::netlink::NetlinkHandle, cfg: &Config) {
    use crate::vrrp::actor::netlink_kernel::{address_spec, route_spec, rule_spec};
    // Subscribed before looking, so an interface that appears meanwhile is not missed.
    let mut links = netlink.subscribe();
    let mut waiting: Vec<(String, crate::netlink::AddressSpec, String)> = Vec::new();
    for a in &cfg.static_ipaddress {
        // No dev: default_interface (else eth0). A missing one is waited for, as keepalived
        // does with dynamic_interfaces (always on here): "will use if created".
        let dev = cfg.global.static_address_dev(a.dev.as_deref());
        if a.dev.is_none() && !crate::config::validate::host_has_interface(dev) {
            tracing::warn!(
                "{}: static address {}: default interface {dev} does not exist (keepalived without dynamic_interfaces: 'Static address requires either an interface or default interface must exist'); Configuration specifies interface {dev} which doesn't currently exist - will use if created",
                a.loc,
                a.addr
            );
            let what = format!("static_ipaddress {} ({})", a.addr, a.loc);
            waiting.push((dev.to_string(), address_spec(a, dev), what));
            continue;
        }
        if let Err(e) = netlink.add_address(&address_spec(a, dev)).await {
            tracing::error!("static_ipaddress {} ({}): {e}", a.addr, a.loc);
        }
    }
    for r in &cfg.static_routes {
        let mut spec = route_spec(r, "");
        if spec.dev.as_deref() == Some("") {
            spec.dev = None;
        }
        if let Err(e) = netlink.add_route(&spec).await {
            tracing::error!("static_routes {} ({}): {e}", r.to, r.loc);
        }
    }
    for r in &cfg.static_rules {
        if let Err(e) = netlink.add_rule(&rule_spec(r)).await {
            tracing::error!("static_rules ({}): {e}", r.loc);
        }
    }
    if waiting.is_empty() {
        return;
    }
    let netlink = netlink.clone();
    tokio::spawn(async move {
        use crate::netlink::NetlinkEvent;
        use tokio::sync::broadcast::error::RecvError;
        while !waiting.is_empty() {
            let name = match links.recv().await {
                Ok(NetlinkEvent::LinkAdded(l)) => l.name,
                Ok(_) => continue,
                // Missed events: look again at what exists now.
                Err(RecvError::Lagged(_)) => match waiting
                    .iter()
                    .find(|(dev, ..)| crate::config::validate::host_has_interface(dev))
                {
                    Some((dev, ..)) => dev.clone(),
                    None => continue,
                },
                Err(RecvError::Closed) => break,
            };
            let (now, later): (Vec<_>, Vec<_>) =
                waiting.into_iter().partition(|(dev, ..)| *dev == name);
            waiting = later;
            for (_, spec, what) in now {
                tracing::info!("{what}: interface {name} appeared, adding the address");
                if let Err(e) = netlink.add_address(&spec).await {
                    tracing::error!("{what}: {e}");
                }
            }
        }
    });
}

/// `ha_suspend`: tells the LVS side which addresses are present (a virtual server's checks
/// pause while its VIP is absent, i.e. while the VRRP instance owning it is not MASTER).
async fn feed_vips(netlink: &crate::netlink::NetlinkHandle, lvs: crate::lvs::LvsHandle) {
    use crate::netlink::NetlinkEvent;
    let mut rx = netlink.subscribe();
    if let Ok(addrs) = netlink.addresses(None).await {
        for a in addrs {
            lvs.set_vip_present(a.addr, true);
        }
    }
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(NetlinkEvent::AddressAdded(a)) => lvs.set_vip_present(a.addr, true),
                Ok(NetlinkEvent::AddressRemoved(a)) => lvs.set_vip_present(a.addr, false),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// `-a`: logs every address added or removed, as keepalived's netlink reflector does.
fn log_address_changes(netlink: &crate::netlink::NetlinkHandle) {
    use crate::netlink::NetlinkEvent;
    let mut rx = netlink.subscribe();
    tokio::spawn(async move {
        loop {
            let (a, what) = match rx.recv().await {
                Ok(NetlinkEvent::AddressAdded(a)) => (a, "added to"),
                Ok(NetlinkEvent::AddressRemoved(a)) => (a, "removed from"),
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("address monitoring: {n} netlink event(s) not logged");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let dev = a
                .ifname
                .clone()
                .unwrap_or_else(|| format!("if{}", a.ifindex));
            tracing::info!("Netlink reflector reports IP {} {what} {dev}", a.addr);
        }
    });
}

/// `-M`: sets the kernel's core_pattern while we run, and puts the previous one back.
struct CorePattern(Option<String>);

impl CorePattern {
    const PATH: &'static str = "/proc/sys/kernel/core_pattern";

    fn set(pattern: &str) -> Self {
        let orig = std::fs::read_to_string(Self::PATH).ok();
        match std::fs::write(Self::PATH, pattern) {
            Ok(()) => CorePattern(orig),
            Err(e) => {
                tracing::warn!("Unable to read/write core_pattern: {e}");
                CorePattern(None)
            }
        }
    }
}

impl Drop for CorePattern {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::write(Self::PATH, p.trim_end_matches('\n'));
        }
    }
}

/// `-m`: no limit on the core file size.
fn unlimited_core() {
    if let Err(e) = crate::sys::process::unlimited_core() {
        tracing::warn!("Failed to set core file size: {e}");
    }
}

/// `--take-over`: how each VRRP child starts, from keepalived's state and the kernel's
/// addresses; refused (nothing touched) when the configuration cannot adopt it.
async fn takeover_seeds(
    netlink: &crate::netlink::NetlinkHandle,
    ka: &[crate::daemon::takeover::KaInstance],
    desired: &[(ObjectId, ChildSpec)],
) -> anyhow::Result<(
    crate::daemon::takeover::Plan,
    std::collections::HashMap<ObjectId, Durable<VrrpDurable>>,
)> {
    use crate::daemon::takeover::{plan, Start};
    let kernel = kernel_addresses(netlink).await?;
    let plan = plan(&vrrp_instances(desired), ka, &kernel)?;
    for n in &plan.notes {
        tracing::warn!("take-over: {n}");
    }
    let mut seeds = std::collections::HashMap::new();
    for (id, c) in desired {
        let ChildSpec::Vrrp(s) = c else { continue };
        let start = plan.start_of(&s.instance.name);
        tracing::info!(instance = %s.instance.name, "take-over: {}", match start {
            Some(Start::Resume) => "resumes as MASTER, VIPs kept",
            Some(Start::Backup) => "starts as BACKUP",
            _ => "starts as a new instance",
        });
        seeds.insert(
            id.clone(),
            Durable::new(seed_of(&s.instance, start == Some(&Start::Resume))),
        );
    }
    Ok((plan, seeds))
}

/// The state a taken-over instance starts from: MASTER with its VIPs installed (it resumes),
/// or nothing (it starts as BACKUP); never a removal at start.
fn seed_of(i: &crate::config::model::VrrpInstance, master: bool) -> VrrpDurable {
    if master {
        VrrpDurable {
            state: Some(crate::vrrp::events::State::Master),
            vips_installed: true,
            installed: virtual_set_of(i),
            startup_clear: false,
            // AH: our sequence numbers start afresh (keepalived's are not in its dump).
            ..VrrpDurable::default()
        }
    } else {
        VrrpDurable::default()
    }
}

async fn kernel_addresses(
    netlink: &crate::netlink::NetlinkHandle,
) -> anyhow::Result<Vec<(String, std::net::IpAddr)>> {
    Ok(netlink
        .addresses(None)
        .await?
        .into_iter()
        .map(|a| (a.ifname.unwrap_or_default(), a.addr))
        .collect())
}

fn vrrp_instances(desired: &[(ObjectId, ChildSpec)]) -> Vec<&crate::config::model::VrrpInstance> {
    desired
        .iter()
        .filter_map(|(_, c)| match c {
            ChildSpec::Vrrp(s) => Some(&*s.instance),
            ChildSpec::Bfd(_) => None,
        })
        .collect()
}

/// After keepalived is stopped, before the held instances start: what changed in the kernel
/// since its dump corrects their starting state ([`crate::daemon::takeover::recheck`]).
async fn takeover_recheck(
    netlink: &crate::netlink::NetlinkHandle,
    plan: &crate::daemon::takeover::Plan,
    desired: &[(ObjectId, ChildSpec)],
    seeds: &std::collections::HashMap<ObjectId, Durable<VrrpDurable>>,
) {
    let kernel = match kernel_addresses(netlink).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!("take-over: cannot read the kernel's addresses again: {e}");
            return;
        }
    };
    let changes =
        crate::daemon::takeover::recheck(plan, &vrrp_instances(desired), &plan.kernel, &kernel);
    for (name, start) in changes {
        let Some((id, i)) = desired.iter().find_map(|(id, c)| match c {
            ChildSpec::Vrrp(s) if s.instance.name == name => Some((id, &s.instance)),
            _ => None,
        }) else {
            continue;
        };
        let master = start == crate::daemon::takeover::Start::Resume;
        tracing::warn!(
            instance = %name,
            "take-over: keepalived's state changed after its dump (its VIPs are {} the kernel): {}",
            if master { "all in" } else { "no longer all in" },
            if master { "resumes as MASTER" } else { "starts as BACKUP" }
        );
        if let Some(d) = seeds.get(id) {
            d.set(seed_of(i, master));
        }
    }
}

/// `--take-over`: the IPVS table keepalived left (None when it cannot be read: the checkers
/// then start as configured).
async fn read_ipvs() -> Option<crate::lvs::Adopted> {
    let read = async {
        let mut c = crate::ipvs::IpvsClient::connect().await?;
        let mut table = crate::lvs::Adopted::new();
        for s in c.services().await? {
            let key = s.service.key;
            let dests = c.destinations(&key).await?;
            table.insert(
                key,
                dests
                    .into_iter()
                    .map(|d| (d.dest.key(), d.dest.weight))
                    .collect(),
            );
        }
        Ok::<_, crate::ipvs::IpvsError>(table)
    };
    match read.await {
        Ok(t) => {
            tracing::info!(
                "take-over: IPVS: {} service(s), {} real server(s) adopted",
                t.len(),
                t.values().map(|d| d.len()).sum::<usize>()
            );
            Some(t)
        }
        Err(e) => {
            tracing::warn!(
                "take-over: cannot read the IPVS table ({e}); checkers start as configured"
            );
            None
        }
    }
}

/// Runs `shutdown_script` on a runtime of its own (the daemon's is gone by then).
fn run_shutdown_script(
    s: &crate::config::model::ScriptSpec,
    ctx: &crate::track::exec::ScriptContext,
    timeout: std::time::Duration,
) {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            rt.block_on(crate::track::exec::run_start_stop_script(
                "shutdown", s, ctx, timeout,
            ));
        }
        Err(e) => tracing::error!("shutdown script not run: cannot start a runtime: {e}"),
    }
}

/// Runs the daemon in the foreground until SIGTERM/SIGINT: settings and logging, the first
/// configuration, `--take-over`'s reading of keepalived, pid files and process settings, the
/// runtime, then [`start_actors`] and the runtime's loop; the shutdown script last.
pub fn run(args: Args) -> i32 {
    let settings = match Settings::for_args(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return exit::CONFIG;
        }
    };
    let tmp = crate::mgmt::dumps::format::tmp_dir(std::env::var("TMPDIR").ok().as_deref());
    let telemetry = match init_telemetry(&args, &settings, &tmp) {
        Ok(t) => t,
        Err(code) => return code,
    };
    crate::daemon::panic_hook::install();
    let load = args.load_options(true);
    let loaded = match load_first(&args, &load) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let takeover = match read_keepalived(&args) {
        Ok(t) => t,
        Err(code) => return code,
    };
    // keepalived: -P only VRRP, -C only checkers, -B no BFD, --all all of them even without
    // configuration (in command-line order).
    let mode = crate::daemon::args::daemon_mode(&args.mode_flags);
    let subsystems = Subsystems {
        vrrp: mode.vrrp,
        check: mode.check,
        bfd: mode.bfd,
    };
    let pid_file = args.pid_file();
    let _pid_files = match acquire_pid_files(&args, &pid_file, subsystems, mode.all, &loaded.config)
    {
        Ok(p) => p,
        Err(code) => return code,
    };
    let _core_pattern = set_up_process(&args);
    let rt = match ActorRuntime::new(RuntimeConfig {
        worker_threads: 1,
        ..RuntimeConfig::default()
    }) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return exit::FATAL;
        }
    };
    let cfg = loaded.config;
    crate::daemon::sched::apply(&rt.arbiters(), &cfg.global);
    let start_stop_ctx = crate::track::exec::ScriptContext::from_global(&cfg.global);
    let shutdown_script = cfg
        .global
        .shutdown_script
        .clone()
        .map(|s| (s, cfg.global.shutdown_script_timeout));
    if let Some(s) = &cfg.global.startup_script {
        // keepalived: before any subsystem starts, waited for (bounded by its timeout).
        let timeout = cfg.global.startup_script_timeout;
        let script =
            crate::track::exec::run_start_stop_script("startup", s, &start_stop_ctx, timeout);
        rt.block_on(script);
    }
    let launch = Launch {
        watch_files: (settings.config_watch && !loaded.files.is_empty())
            .then(|| tokio::sync::watch::channel(loaded.files.clone())),
        cfg,
        path: args.use_file.clone(),
        load,
        tmp,
        control_path: settings.control_socket(&pid_file),
        settings,
        subsystems,
        run_all: mode.all,
        takeover,
        release: ReleaseOptions {
            dont_release_vrrp: args.dont_release_vrrp,
            daemon_start: false,
        },
        dont_release_ipvs: args.dont_release_ipvs,
        address_monitoring: args.address_monitoring,
        dont_respawn: args.dont_respawn,
        snmp_cli: (args.snmp, args.snmp_agent_socket.clone()),
        namespace: args.namespace.clone(),
        arbiters: rt.arbiters(),
        sd: systemd_notify(),
    };
    let _running = match rt.block_on(start_actors(launch)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot start: {e:#}");
            return exit::FATAL;
        }
    };
    tracing::info!(
        "keepalived-rs {} running (pid {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let result = rt.run();
    if let Some((s, timeout)) = shutdown_script {
        // keepalived: after every subsystem stopped (VIPs released), waited for.
        run_shutdown_script(&s, &start_stop_ctx, timeout);
    }
    telemetry.shutdown();
    match result {
        Ok(code) => {
            tracing::info!("stopped");
            code
        }
        Err(e) => {
            eprintln!("runtime error: {e}");
            exit::FATAL
        }
    }
}

/// systemd's notification socket, when started by systemd with `Type=notify`.
fn systemd_notify() -> Option<Arc<crate::telemetry::systemd::SdNotify>> {
    match crate::telemetry::systemd::SdNotify::from_env() {
        Ok(s) => s.map(Arc::new),
        Err(e) => {
            tracing::warn!("not notifying systemd: {e}");
            None
        }
    }
}

/// Logging (console, syslog at the settings' socket, `-g` file) and trace export (the
/// settings' OTLP endpoint unless `OTEL_*` says otherwise). Err: the exit code.
fn init_telemetry(
    args: &Args,
    settings: &Settings,
    tmp: &std::path::Path,
) -> Result<crate::telemetry::Telemetry, i32> {
    // keepalived reports a bad -S and logs with its default facility.
    let facility = args.log_facility.clone().filter(|f| {
        let ok = crate::telemetry::logging::facility(Some(f)).is_ok();
        if !ok {
            eprintln!("Invalid log facility '{f}'");
        }
        ok
    });
    let opts = crate::telemetry::logging::LogOptions {
        console: args.log_console,
        detail: args.log_detail,
        no_syslog: args.no_syslog,
        facility,
        syslog_socket: Some(settings.syslog_socket.clone()),
        otlp_endpoint: settings.otlp_endpoint.clone(),
    };
    if let Some(ns) = &args.namespace {
        crate::telemetry::logging::set_namespace(ns);
    }
    if let Some(name) = &args.log_file {
        let path = crate::telemetry::logging::log_file_path(name, tmp, args.namespace.as_deref());
        if let Err(e) = crate::telemetry::logging::open_log_file(&path) {
            eprintln!("{e}");
        }
    }
    crate::telemetry::init(&opts).map_err(|e| {
        eprintln!("{e}");
        exit::FATAL
    })
}

/// The configuration the daemon starts with, its diagnostics reported; refused (the exit
/// code) when it has errors.
fn load_first(args: &Args, load: &LoadOptions) -> Result<config::Loaded, i32> {
    let loaded = config::load(&args.use_file, load);
    for d in loaded.diagnostics.sorted() {
        if d.severity == config::Severity::Error {
            tracing::error!("{d}");
        } else {
            tracing::warn!("{d}");
        }
        if !args.log_console {
            eprintln!("{d}");
        }
    }
    match (&loaded.config.net_namespace, &args.namespace) {
        (Some(c), Some(ns)) => tracing::info!(
            "Overriding config net_namespace '{c}' with command line namespace '{ns}'"
        ),
        (Some(c), None) => tracing::warn!(
            "net_namespace '{c}' in the configuration is not acted on: running in the \
             current network namespace (start with -s {c} to run in it)"
        ),
        _ => {}
    }
    if loaded.diagnostics.has_errors() {
        eprintln!(
            "{}: configuration has errors, not starting (see keepalived-rs -t)",
            args.use_file.display()
        );
        return Err(exit::CONFIG);
    }
    Ok(loaded)
}

/// `--take-over`'s keepalived and the VRRP state it reports.
type TakenOver = (
    crate::daemon::takeover::process::Keepalived,
    Vec<crate::daemon::takeover::KaInstance>,
);

/// `--take-over`: keepalived's state first (its JSON dump, a signal away); nothing of ours
/// starts if it cannot be read (Err: the exit code).
fn read_keepalived(args: &Args) -> Result<Option<TakenOver>, i32> {
    let Some(pidfile) = &args.take_over else {
        return Ok(None);
    };
    let found = crate::daemon::takeover::process::Keepalived::find(pidfile).and_then(|k| {
        if !k.runs_vrrp() {
            tracing::info!(
                "take-over: keepalived (pid {}) runs no VRRP socket: no VRRP state to adopt",
                k.pid
            );
            return Ok((k, Vec::new()));
        }
        let text = k.json_dump(std::time::Duration::from_secs(5))?;
        Ok((k, crate::daemon::takeover::parse_dump(&text)?))
    });
    match found {
        Ok(t) => {
            tracing::info!(
                "take-over: keepalived pid {} reports {} VRRP instance(s)",
                t.0.pid,
                t.1.len()
            );
            Ok(Some(t))
        }
        Err(e) => {
            tracing::error!("take-over refused: {e}");
            eprintln!("take-over refused: {e}");
            Err(exit::FATAL)
        }
    }
}

/// The pid file, and with -r/-c/-b the file of each subsystem that runs: one process runs
/// every subsystem, and its pid goes in each one's file, as keepalived writes its children's.
/// Held until the process ends (Err: the exit code).
fn acquire_pid_files(
    args: &Args,
    pid_file: &std::path::Path,
    subsystems: Subsystems,
    run_all: bool,
    cfg: &Config,
) -> Result<Vec<crate::daemon::pidfile::PidFile>, i32> {
    let acquire = |f: &std::path::Path| {
        crate::daemon::pidfile::PidFile::acquire(f).map_err(|e| {
            eprintln!("{e}");
            exit::FATAL
        })
    };
    let mut held = vec![acquire(pid_file)?];
    for (file, runs) in [
        (
            &args.vrrp_pid,
            subsystems.vrrp && (run_all || !cfg.instances.is_empty()),
        ),
        (
            &args.checkers_pid,
            subsystems.check && (run_all || !cfg.virtual_servers.is_empty()),
        ),
        (
            &args.bfd_pid,
            subsystems.bfd && (run_all || !crate::bfd::bfd_children(cfg).is_empty()),
        ),
    ] {
        if let (Some(f), true) = (file, runs) {
            held.push(acquire(f)?);
        }
    }
    Ok(held)
}

/// Core dumps (`-m`, `-M`: the pattern is put back when the result is dropped), `-g` checks
/// and the allocator's tuning.
fn set_up_process(args: &Args) -> Option<CorePattern> {
    let core_pattern = args.core_dump_pattern.as_deref().map(|p| {
        unlimited_core();
        CorePattern::set(p)
    });
    if args.core_dump {
        unlimited_core();
    }
    if args.flush_log_file && args.log_file.is_none() {
        tracing::warn!("--flush-log-file without -g: there is no log file to flush");
    }
    // Few threads, each allocating little: one malloc arena per thread would be most of our
    // resident memory (glibc default: 8 per core).
    crate::sys::process::limit_malloc_arenas(2);
    core_pattern
}

/// The configuration watcher's file list: renewed by the loader, followed by the watcher.
type WatchedFiles = (
    tokio::sync::watch::Sender<Vec<PathBuf>>,
    tokio::sync::watch::Receiver<Vec<PathBuf>>,
);

/// What the actor side of the start needs, decided before the runtime runs.
struct Launch {
    cfg: Config,
    /// The configuration watcher's file list (None: not watching).
    watch_files: Option<WatchedFiles>,
    path: PathBuf,
    load: LoadOptions,
    tmp: PathBuf,
    control_path: PathBuf,
    settings: Settings,
    subsystems: Subsystems,
    run_all: bool,
    takeover: Option<TakenOver>,
    release: ReleaseOptions,
    dont_release_ipvs: bool,
    address_monitoring: bool,
    dont_respawn: bool,
    /// `-x` (every MIB) and `-A SOCKET` (the AgentX master's address).
    snmp_cli: (bool, Option<String>),
    /// `-s NAME`: the network namespace (keepalived puts it in its DBus paths).
    namespace: Option<String>,
    arbiters: crate::runtime::Arbiters,
    /// systemd's notification socket (started by systemd with `Type=notify`).
    sd: Option<Arc<crate::telemetry::systemd::SdNotify>>,
}

/// What keeps the daemon's interfaces open while it runs (dropped at exit).
struct Interfaces {
    _signals: crate::runtime::SignalListener,
    _metrics: Option<crate::mgmt::http::MetricsServer>,
    _watcher: Option<crate::daemon::watch::ConfigWatcher>,
    _control: Option<crate::mgmt::control::ControlSocket>,
    _faults: Option<tokio::task::JoinHandle<()>>,
}

/// The shared services a configuration's children use, started before them.
struct Services {
    netlink: crate::netlink::NetlinkHandle,
    kernel: Arc<dyn Kernel>,
    metrics: Arc<crate::telemetry::Metrics>,
    object_metrics: Option<Arc<crate::telemetry::Metrics>>,
    registry: crate::bfd::BfdRegistry,
    hub: TrackerHub,
    lvs_starter: Option<LvsStarter>,
    lvs: Option<crate::lvs::LvsHandle>,
    notifier: Arc<crate::vrrp::actor::notifier::Notifier>,
    sync: SyncHub,
    syncd: crate::lvs::syncd::SyncdHandle,
    firewall: Option<crate::firewall::FirewallHandle>,
}

/// Inside the runtime: the shared services, `--take-over`'s decision, the root with every
/// child of the first configuration, keepalived stopped (take-over), then the interfaces
/// (watcher, control socket, signals, systemd).
async fn start_actors(l: Launch) -> anyhow::Result<Interfaces> {
    let (netlink, _netlink_task) =
        crate::netlink::spawn(crate::netlink::NetlinkConfig::default()).await?;
    let global = Arc::new(l.cfg.global.clone());
    // vrrp_startup_delay counts from here (the daemon's start, not a reload).
    if l.subsystems.vrrp {
        crate::vrrp::actor::params::delayed_start(&global);
    }
    let desired = children(&l.cfg, &global, l.subsystems);
    // --take-over: decided before anything touches the kernel; refused, keepalived runs on.
    let (seeds, plan, mut hold_release) = match &l.takeover {
        Some((_, ka)) => match takeover_seeds(&netlink, ka, &desired).await {
            Ok((p, s)) => (s, Some(p), Some(HoldRelease::new())),
            Err(e) => return Err(anyhow::anyhow!("take-over refused: {e:#}")),
        },
        None => (Default::default(), None, None),
    };
    let shared_seeds = seeds.clone();
    let services = start_services(&l, netlink).await?;
    let metrics_server = match l.settings.metrics_listen {
        Some(addr) => {
            let s = crate::mgmt::http::MetricsServer::bind(addr, services.metrics.clone()).await?;
            tracing::info!("serving Prometheus metrics on http://{addr}/metrics");
            Some(s)
        }
        None => None,
    };
    let events = EventBus::default();
    count_supervision(&events, services.metrics.clone(), l.dont_respawn);
    crate::daemon::trim::start();
    let netlink = services.netlink.clone();
    let snmp_notifier = services.notifier.clone();
    let (factory, store) = factory(&l, services, global, events, seeds, hold_release.as_ref());
    let running = store.running.clone();
    store
        .metrics
        .add_scrape_hook(Arc::new(crate::mgmt::dumps::RunningHook(running.clone())));
    let root = actix::Actor::start(Root::new(
        factory,
        // The factory stops the System once the LVS side has released IPVS.
        RootOptions {
            stop_system_on_shutdown: false,
            ..RootOptions::default()
        },
    ));
    start_snmp(&l, &root, &snmp_notifier);
    start_dbus(&l, &root, &snmp_notifier, &store);
    let vrrp_count = desired
        .iter()
        .filter(|(_, c)| matches!(c, ChildSpec::Vrrp(_)))
        .count();
    let lvs = running.load().lvs.clone();
    let commit = store.start_commit(Arc::new(l.cfg.clone()), lvs);
    let report = root
        .send(Apply(Reload {
            desired: desired.clone(),
            commit,
        }))
        .await?;
    if let (Some(release), Some((ka, _))) = (hold_release.as_mut(), &l.takeover) {
        // Everything is ready (sockets open, trackers running): only now is keepalived
        // stopped, and the instances start at once.
        let ready = release
            .ready(vrrp_count, std::time::Duration::from_secs(5))
            .await;
        if ready < vrrp_count {
            tracing::warn!(
                "take-over: {} of {vrrp_count} VRRP instance(s) ready; the others start when their interface is",
                ready
            );
        }
        let stopped = ka.stop_silently();
        if let Some(plan) = &plan {
            takeover_recheck(&netlink, plan, &desired, &shared_seeds).await;
        }
        release.release();
        match stopped {
            Ok(pids) => tracing::info!(
                "take-over: keepalived stopped silently (pids {pids:?}); {vrrp_count} VRRP instance(s) carry on"
            ),
            Err(e) => tracing::error!("take-over: {e}"),
        }
    }
    let started = match &report {
        Ok(r) => {
            for (k, e) in &r.failed {
                tracing::error!("{k}: failed to start: {e}");
            }
            tracing::info!("started {} object(s)", r.started.len());
            r.started.len()
        }
        Err(_) => 0,
    };
    open_interfaces(&l, root, running, metrics_server, started)
}

/// The SNMP subagent (mgmt/snmp), only when a MIB is enabled and VRRP runs here (the MIBs
/// it serves are VRRP's): started before the instances, so their first transitions are
/// notified.
fn start_snmp(
    l: &Launch,
    root: &actix::Addr<Root<ObjectId, ChildSpec>>,
    notifier: &crate::vrrp::actor::notifier::Notifier,
) {
    let config = l
        .subsystems
        .vrrp
        .then(|| {
            crate::mgmt::snmp::agent_config(
                &l.cfg.global.snmp,
                l.snmp_cli.0,
                l.snmp_cli.1.as_deref(),
            )
        })
        .flatten();
    if let Some(ac) = config {
        let source = crate::mgmt::snmp::root_source(root.clone().recipient());
        if let Some(tx) = crate::mgmt::snmp::agent::spawn(ac, source) {
            crate::mgmt::snmp::agent::forward(tx, notifier.subscribe());
        }
    }
}

/// keepalived's DBus interface, when VRRP runs here (its objects are VRRP's): armed with what
/// it serves, started now if `enable_dbus` is set (before the instances, so that their first
/// transitions are signalled), or by the reload that sets it.
fn start_dbus(
    l: &Launch,
    root: &actix::Addr<Root<ObjectId, ChildSpec>>,
    notifier: &crate::vrrp::actor::notifier::Notifier,
    store: &Store,
) {
    if !l.subsystems.vrrp {
        return;
    }
    let namespace = l.namespace.clone();
    let running = store.running.clone();
    let root = root.clone().recipient();
    let transitions = notifier.transitions();
    store.dbus.arm(Box::new(move |service| {
        crate::mgmt::dbus::spawn(
            service,
            namespace.clone(),
            crate::mgmt::dbus::Sources {
                running: running.clone(),
                root: root.clone(),
                transitions: transitions.subscribe(),
            },
        )
    }));
    store.dbus.follow(&l.cfg.global.dbus, false);
}

/// The services every configuration's children share: kernel access, metrics, BFD registry,
/// trackers, the checkers (when the configuration has virtual servers, or `--all`), sync
/// groups; the static addresses installed.
async fn start_services(
    l: &Launch,
    netlink: crate::netlink::NetlinkHandle,
) -> anyhow::Result<Services> {
    let cfg = &l.cfg;
    let kernel: Arc<dyn Kernel> = Arc::new(crate::vrrp::actor::netlink_kernel::NetlinkKernel::new(
        netlink.clone(),
    ));
    if l.address_monitoring {
        log_address_changes(&netlink);
    }
    install_static(&netlink, cfg).await;
    let firewall = l.subsystems.vrrp.then(|| {
        crate::firewall::spawn(
            crate::firewall::config_for(&cfg.global, cfg.instances.iter().map(|i| &**i))
                .unwrap_or_else(|| crate::firewall::FirewallConfig::of(&cfg.global)),
        )
    });
    let metrics = Arc::new(crate::telemetry::Metrics::new());
    // Nobody reads per-object series without the endpoint: they would only cost memory
    // (about 5 KB per VRRP instance).
    let object_metrics = l.settings.metrics_listen.map(|_| metrics.clone());
    let registry = match &object_metrics {
        Some(m) => crate::bfd::BfdRegistry::with_metrics(m.clone()),
        None => crate::bfd::BfdRegistry::new(),
    };
    let hub = TrackerHub::start_with_metrics(cfg, object_metrics.clone());
    let lvs_starter = if l.subsystems.check {
        Some(LvsStarter {
            checkers: crate::lvs::runtime_of(l.arbiters.get(Domain::Checkers))
                .await
                .ok_or_else(|| anyhow::anyhow!("checker arbiter is not running"))?,
            writer: crate::lvs::runtime_of(l.arbiters.get(Domain::Netlink))
                .await
                .ok_or_else(|| anyhow::anyhow!("netlink arbiter is not running"))?,
            dont_release_ipvs: l.dont_release_ipvs,
            object_metrics: object_metrics.clone(),
            metrics: metrics.clone(),
            netlink: netlink.clone(),
        })
    } else {
        None
    };
    // --all: the checkers run even without virtual servers (a reload adding the first
    // one starts them otherwise).
    let lvs_wanted = lvs_starter.is_some() && (l.run_all || !cfg.virtual_servers.is_empty());
    let adopted = match (&l.takeover, lvs_wanted) {
        (Some(_), true) => read_ipvs().await,
        _ => None,
    };
    let lvs = lvs_starter
        .as_ref()
        .filter(|_| lvs_wanted)
        .map(|s| s.start(cfg, &registry, adopted));
    feed_bfd(&registry, &hub);
    if let Some(lvs) = lvs.clone() {
        feed_vips(&netlink, lvs).await;
    }
    let notifier = crate::vrrp::actor::notifier::Notifier::new(&cfg.global);
    let sync = SyncHub::start(cfg, Some(notifier.clone()), object_metrics.clone());
    let syncd = crate::lvs::syncd::start(
        cfg,
        crate::lvs::syncd::Owners {
            vrrp: l.subsystems.vrrp,
            check: l.subsystems.check,
        },
        notifier.subscribe(),
    );
    Ok(Services {
        netlink,
        kernel,
        metrics,
        object_metrics,
        registry,
        hub,
        lvs_starter,
        lvs,
        notifier,
        sync,
        syncd,
        firewall,
    })
}

/// The root's factory over the started services, and the store of the running snapshot
/// (holding the first configuration, without its VRRP instances until they are started).
fn factory(
    l: &Launch,
    s: Services,
    global: Arc<GlobalDefs>,
    events: EventBus,
    seeds: HashMap<ObjectId, Durable<VrrpDurable>>,
    hold: Option<&HoldRelease>,
) -> (Factory, Store) {
    let bfd = l.subsystems.bfd.then(|| s.registry.clone());
    let first = Running {
        config: Arc::new(l.cfg.clone()),
        generation: 0,
        vrrp: Vec::new(),
        hub: s.hub.clone(),
        bfd: bfd.clone(),
        lvs: s.lvs.clone(),
    };
    let store = Store {
        running: Arc::new(arc_swap::ArcSwap::from_pointee(first)),
        hub: s.hub.clone(),
        bfd,
        metrics: s.metrics,
        sd: l.sd.clone(),
        dbus: Default::default(),
    };
    let loader = Loader {
        path: l.path.clone(),
        load: l.load.clone(),
        subsystems: l.subsystems,
        registry: s.registry,
        lvs_starter: s.lvs_starter,
        hub: s.hub,
        sync: s.sync,
        syncd: s.syncd,
        firewall: s.firewall,
        claims: VipClaims::new(),
        watched_files: l.watch_files.as_ref().map(|(tx, _)| tx.clone()),
        store: store.clone(),
        state: RefCell::new(LoaderState {
            global,
            durables: HashMap::new(),
            lvs: s.lvs,
            // A takeover adopts what keepalived installed: nothing is removed at start.
            initial: l.takeover.is_none(),
            reloaded: false,
            stopping: false,
            generation: 0,
        }),
    };
    let factory = Factory {
        vrrp: l.arbiters.get(Domain::Vrrp).clone(),
        bfd: l.arbiters.get(Domain::Bfd).clone(),
        kernel: s.kernel,
        notifier: s.notifier,
        object_metrics: s.object_metrics,
        events,
        tmp: l.tmp.clone(),
        release: l.release,
        planned: None,
        seeds,
        hold: hold.map(HoldRelease::hold),
        loader: Rc::new(loader),
    };
    (factory, store)
}

/// The daemon's interfaces, once its children run: the configuration watcher, the control
/// socket, the signals, systemd's readiness and watchdog, fault injection.
fn open_interfaces(
    l: &Launch,
    root: actix::Addr<Root<ObjectId, ChildSpec>>,
    running: RunningConfig,
    metrics: Option<crate::mgmt::http::MetricsServer>,
    started: usize,
) -> anyhow::Result<Interfaces> {
    let watcher = match &l.watch_files {
        None => None,
        Some((_, files)) => match crate::daemon::watch::watch(
            files.clone(),
            root.clone().recipient(),
            l.settings.watch_debounce(),
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("cannot watch the configuration files: {e}");
                None
            }
        },
    };
    let control =
        match crate::mgmt::control::bind(&l.control_path, running, root.clone().recipient()) {
            Ok(c) => {
                tracing::info!("control socket {}", c.path().display());
                Some(c)
            }
            Err(e) => {
                tracing::warn!("no control socket (--status will not work): {e}");
                None
            }
        };
    let signals = listen_signals(root.clone().recipient())?;
    if let Some(sd) = l.sd.clone() {
        sd.notify(&format!(
            "READY=1\nSTATUS=running; {started} object(s) started"
        ));
        let watchdog = crate::telemetry::systemd::watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        if let Some(every) = watchdog {
            tracing::info!("systemd watchdog: pinging every {every:?}");
            crate::daemon::watchdog::start(
                sd.clone(),
                every,
                root.clone().recipient(),
                [Domain::Vrrp, Domain::Checkers, Domain::Bfd, Domain::Netlink]
                    .iter()
                    .map(|d| l.arbiters.get(*d).clone())
                    .collect(),
            );
        }
    }
    Ok(Interfaces {
        _signals: signals,
        _metrics: metrics,
        _watcher: watcher,
        _control: control,
        _faults: crate::runtime::fault::listen()?,
    })
}
