//! The daemon: load the configuration, start the actor tree on the actix runtime, run until
//! SIGTERM/SIGINT, reload on SIGHUP.

use super::vrrp::claims::{owner_of, VipClaims};
use super::vrrp::instance::{
    virtual_set_of, Hold, HoldRelease, InstanceActor, InstanceSpec, ReleaseOptions, VrrpDurable,
};
use super::vrrp::kernel::Kernel;
use super::vrrp::sync::SyncHub;
use super::vrrp::trackers::TrackerHub;
use super::{
    listen_signals, spawn_child, ActorRuntime, ChildFactory, ChildHandle, ChildOptions, ChildView,
    Domain, DumpKind, Durable, EventBus, ObjectId, Reconcile, ReloadRefused, Root, RootOptions,
    RuntimeConfig, SupervisionEventKind,
};
use crate::cli::{exit, Args};
use crate::config::model::{Config, Family, GlobalDefs};
use crate::config::{self, LoadOptions};
use actix::ArbiterHandle;
use futures::future::LocalBoxFuture;
use std::path::PathBuf;
use std::sync::Arc;

/// What a supervised child is configured with.
#[derive(Clone, Debug, PartialEq)]
pub enum ChildSpec {
    /// A VRRP instance.
    Vrrp(InstanceSpec),
    /// A BFD session.
    Bfd(crate::bfd::BfdSpec),
}

/// Which subsystems run (`-P`, `-C`, `-B`).
#[derive(Clone, Copy, Debug)]
pub struct Subsystems {
    /// VRRP.
    pub vrrp: bool,
    /// Health checkers and IPVS.
    pub check: bool,
    /// BFD.
    pub bfd: bool,
}

/// The desired children for a configuration; the VRRP instances share `global` (the running
/// configuration's own when the global settings did not change: instance specs then compare
/// it by pointer, which keeps a reload of 1000 instances from comparing it 1000 times).
pub fn children(
    cfg: &Config,
    global: &Arc<GlobalDefs>,
    subsystems: Subsystems,
) -> Vec<(ObjectId, ChildSpec)> {
    let mut out = Vec::new();
    if subsystems.bfd {
        out.extend(
            crate::bfd::bfd_children(cfg)
                .into_iter()
                .map(|(name, spec)| (ObjectId::BfdInstance(name), ChildSpec::Bfd(spec))),
        );
    }
    if subsystems.vrrp {
        out.extend(vrrp_children(cfg, global));
    }
    out
}

fn vrrp_children(cfg: &Config, global: &Arc<GlobalDefs>) -> Vec<(ObjectId, ChildSpec)> {
    // Every vmac named once for the whole configuration (a changed name restarts its
    // instance like any use_vmac change); the other instances are shared, not copied.
    let mut instances = cfg.instances.clone();
    super::vrrp::params::resolve_vmacs(&mut instances, global);
    instances
        .iter()
        .map(|i| {
            let id = ObjectId::VrrpInstance {
                vrid: i.vrid,
                family: if i.family == Family::V4 {
                    super::Family::V4
                } else {
                    super::Family::V6
                },
                ifname: i.interface.clone().unwrap_or_default(),
            };
            let trackers = super::vrrp::instance::track_defs(cfg, i);
            let group = cfg
                .sync_groups
                .iter()
                .find(|g| g.members.iter().any(|(m, _)| m == &i.name));
            let sync_group = group.map(|g| g.name.clone());
            // keepalived: the instance's notify_priority_changes, else its sync group's, else
            // the global vrrp_notify_priority_changes.
            let resolved = Some(
                i.notify
                    .priority_changes
                    .or(group.and_then(|g| g.notify.priority_changes))
                    .unwrap_or(global.vrrp_notify_priority_changes),
            );
            let mut i = i.clone();
            if i.notify.priority_changes != resolved {
                Arc::make_mut(&mut i).notify.priority_changes = resolved;
            }
            (
                id,
                ChildSpec::Vrrp(InstanceSpec {
                    instance: i.clone(),
                    global: global.clone(),
                    trackers,
                    sync_group,
                }),
            )
        })
        .collect()
}

/// Whether a changed child takes its new configuration in place (the factory's
/// `can_update`): a VRRP instance unless a socket-level setting changed; a BFD session never
/// (it hands itself over to its replacement without a flap).
pub fn in_place(old: &ChildSpec, new: &ChildSpec) -> bool {
    match (old, new) {
        (ChildSpec::Vrrp(o), ChildSpec::Vrrp(n)) => {
            !super::vrrp::instance::needs_restart(&o.instance, &n.instance)
        }
        _ => false,
    }
}

/// Starts children on the right arbiter and reloads the configuration.
pub struct Factory {
    vrrp: ArbiterHandle,
    bfd: ArbiterHandle,
    registry: crate::bfd::BfdRegistry,
    subsystems: Subsystems,
    lvs: Option<crate::lvs::LvsHandle>,
    /// Starts the checkers when a reload brings the first virtual server (keepalived starts
    /// its checker process then); `None` without the checker subsystem.
    lvs_starter: Option<LvsStarter>,
    kernel: Arc<dyn Kernel>,
    /// The VIP firewall's owner (its tables exist only once an instance needs them).
    firewall: Option<crate::firewall::FirewallHandle>,
    hub: TrackerHub,
    sync: SyncHub,
    notifier: Arc<super::vrrp::notifier::Notifier>,
    metrics: Arc<crate::telemetry::Metrics>,
    /// The daemon's metrics when they are served (`--metrics-listen`): only then do objects
    /// (instances, sync groups, BFD sessions, checkers) keep series of their own.
    object_metrics: Option<Arc<crate::telemetry::Metrics>>,
    /// Crashes and restarts of supervised children (logged by the supervisor, counted here).
    events: EventBus,
    path: PathBuf,
    load: LoadOptions,
    /// The running configuration (what dumps show).
    config: Arc<Config>,
    /// keepalived's temporary directory (`$TMPDIR` or `/tmp`) for dumps.
    tmp: PathBuf,
    /// systemd's notification socket (started by systemd with `Type=notify`).
    sd: Option<Arc<crate::telemetry::systemd::SdNotify>>,
    /// When the reload being applied started (signal handled).
    reload_started: Option<std::time::Instant>,
    /// Which instance wants which VIP (shared by all instances).
    claims: VipClaims,
    /// The durable state of every VRRP instance started, by identity.
    durables: std::collections::HashMap<ObjectId, Durable<VrrpDurable>>,
    /// The running configuration's global settings.
    global: Arc<GlobalDefs>,
    /// The first configuration is being started (no reload yet): its VRRP instances remove,
    /// before anything else, what a previous run of the daemon may have left (keepalived's
    /// `vrrp_restore_interfaces_startup`).
    initial: bool,
    /// `-V`.
    release: ReleaseOptions,
    /// A reload happened: new instances are not part of the daemon's start.
    reloaded: bool,
    /// The configuration watcher's file list, renewed by every load (None: not watching).
    watched_files: Option<tokio::sync::watch::Sender<Vec<PathBuf>>>,
    /// The file a reload plan is being made of, loaded (between `plan_load` and `plan_render`).
    planned: Option<(PathBuf, config::Loaded)>,
    /// `--take-over`: the state each VRRP instance starts from (keepalived's), by identity
    /// (shared with the daemon, which corrects it after stopping keepalived).
    seeds: std::collections::HashMap<ObjectId, Durable<VrrpDurable>>,
    /// `--take-over`: instances start held until keepalived is stopped.
    hold: Option<Hold>,
}

impl ChildFactory<ObjectId, ChildSpec> for Factory {
    fn dump(&mut self, kind: DumpKind, children: &[ChildView<'_, ObjectId, ChildSpec>]) {
        let gathering = self.gather(kind, children);
        let tmp = self.tmp.clone();
        actix::spawn(async move {
            let g = gathering.await;
            super::dumps::write_files(g.files(kind, &tmp)).await;
        });
    }

    fn render(
        &mut self,
        kind: DumpKind,
        children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> LocalBoxFuture<'static, Result<String, String>> {
        let gathering = self.gather(kind, children);
        Box::pin(async move { Ok(gathering.await.text(kind)) })
    }

    fn shutdown_complete(&mut self, _report: &super::ShutdownReport) {
        // Sync groups report STOP (their notifies run after the members'), checkers stop and
        // IPVS is released (unless -I) before the process exits; then the System stops (the
        // Root leaves that to us).
        let system = actix::System::current();
        let lvs = self.lvs.take();
        let groups = self.sync.drained();
        let firewall = self.firewall.take();
        actix::spawn(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), groups).await;
            // keepalived's firewall_fini: the tables go once every VIP is released.
            if let Some(f) = firewall {
                f.shutdown().await;
            }
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
                let durable = previous
                    .and_then(|p| p.durable::<VrrpDurable>())
                    .or_else(|| self.seeds.remove(key))
                    .unwrap_or_else(|| {
                        Durable::new(VrrpDurable {
                            startup_clear: self.initial,
                            ..VrrpDurable::default()
                        })
                    });
                let (spec, kernel, d) = (spec.clone(), self.kernel.clone(), durable.clone());
                let hub = self.hub.clone();
                let sync = self.sync.clone();
                let notifier = self.notifier.clone();
                let metrics = self.object_metrics.clone();
                let claims = self.claims.clone();
                let release = ReleaseOptions {
                    daemon_start: !self.reloaded,
                    ..self.release
                };
                let hold = self.hold.clone();
                let firewall = self.firewall.clone();
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
                self.durables.insert(key.clone(), durable.clone());
                Ok(h.with_durable(durable))
            }
            ChildSpec::Bfd(spec) => {
                crate::bfd::start_session(&self.bfd, spec.clone(), self.registry.clone(), previous)
            }
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
                addr.do_send(super::vrrp::instance::Reconfigure(spec.clone()));
                true
            }
            _ => false,
        }
    }

    fn plan_load(&mut self, path: Option<&std::path::Path>) -> Option<Vec<(ObjectId, ChildSpec)>> {
        let path = path.unwrap_or(&self.path).to_path_buf();
        let loaded = config::load(&path, &self.load);
        let desired = (!loaded.diagnostics.has_errors()).then(|| {
            let global = self.global_for(&loaded.config.global);
            children(&loaded.config, &global, self.subsystems)
        });
        self.planned = Some((path, loaded));
        desired
    }

    fn plan_render(
        &mut self,
        decisions: Option<&super::ReconcilePlan<ObjectId, ChildSpec>>,
        children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> Result<String, String> {
        let (path, loaded) = self.planned.take().ok_or("no plan loaded")?;
        let file = path.display().to_string();
        let plan = match decisions {
            None => super::plan::rejected(&file, &loaded.diagnostics),
            Some(d) => {
                let durables = &self.durables;
                let installed =
                    |k: &ObjectId| durables.get(k).is_some_and(|d| d.get().vips_installed);
                let running = super::plan::Running {
                    config: &self.config,
                    children: children.iter().map(|c| (c.key, c.config)).collect(),
                    installed: &installed,
                    check: self.subsystems.check,
                };
                super::plan::build(&file, &running, &loaded.config, &loaded.diagnostics, d)
            }
        };
        serde_json::to_string(&plan).map_err(|e| e.to_string())
    }

    fn shutdown_started(&mut self) {
        if let Some(sd) = &self.sd {
            sd.notify("STOPPING=1\nSTATUS=stopping");
        }
    }

    fn reload(&mut self) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        let job = self.load_job(false);
        self.reload_loaded(job())
    }

    fn reload_watched(&mut self) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        let job = self.load_job(true);
        self.reload_loaded(job())
    }

    fn reload_job(&mut self, watched: bool) -> Option<super::root::LoadJob> {
        Some(self.load_job(watched))
    }

    fn reload_loaded(
        &mut self,
        loaded: Box<dyn std::any::Any + Send>,
    ) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        match loaded.downcast::<LoadDone>() {
            Ok(done) => self.reload_as(*done),
            Err(_) => anyhow::bail!("reload: unexpected load result"),
        }
    }

    fn reload_complete(
        &mut self,
        report: Result<&super::ReconcileReport<ObjectId>, ReloadRefused>,
    ) {
        if let Some(sd) = &self.sd {
            sd.notify(if report.is_ok() {
                "READY=1\nSTATUS=running; configuration reloaded"
            } else {
                "READY=1\nSTATUS=running; reload rejected, previous configuration kept"
            });
        }
        let Some(start) = self.reload_started.take() else {
            return;
        };
        let took = start.elapsed();
        self.metrics.reload(took, report.is_ok());
        if let Ok(r) = report {
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

impl Factory {
    /// Starts gathering a dump from the running children (the future does the asking).
    fn gather(
        &self,
        kind: DumpKind,
        children: &[ChildView<'_, ObjectId, ChildSpec>],
    ) -> impl std::future::Future<Output = super::dumps::Gathered> + 'static {
        let targets: Vec<super::dumps::VrrpTarget> = children
            .iter()
            .filter_map(|c| match c.config {
                ChildSpec::Vrrp(spec) => Some((spec.clone(), c.handle.addr::<InstanceActor>())),
                ChildSpec::Bfd(_) => None,
            })
            .collect();
        let sources = super::dumps::DumpSources {
            config: self.config.clone(),
            hub: self.hub.clone(),
            bfd: self.subsystems.bfd.then(|| self.registry.clone()),
            lvs: self.lvs.clone(),
        };
        super::dumps::gather(kind, targets, sources)
    }

    /// The global settings for a new configuration: the running ones (shared, compared by
    /// pointer) when they did not change.
    fn global_for(&self, new: &GlobalDefs) -> Arc<GlobalDefs> {
        if crate::config::diff::same_ignoring_locations(&*self.global, new) {
            self.global.clone()
        } else {
            Arc::new(new.clone())
        }
    }

    /// Before any instance hears of the new configuration: every instance that is MASTER
    /// with its VIPs installed claims the addresses of its new configuration, so that a VIP
    /// moving to it from another instance is never removed by the other's update (#1854).
    /// What it ends up not installing, it releases when its update arrives.
    fn claim_for_masters(&mut self, wanted: &[(ObjectId, ChildSpec)]) {
        let keys: std::collections::HashSet<&ObjectId> = wanted.iter().map(|(k, _)| k).collect();
        self.durables.retain(|k, _| keys.contains(k));
        for (key, spec) in wanted {
            let ChildSpec::Vrrp(spec) = spec else {
                continue;
            };
            let installed = self
                .durables
                .get(key)
                .is_some_and(|d| d.get().vips_installed);
            if installed {
                let i = &spec.instance;
                self.claims.claim(&owner_of(i), &virtual_set_of(i));
            }
        }
    }

    /// A reload's load (run on a thread of its own by the root): reads and builds the
    /// configuration. A watcher's reload (`watched`) reads the main file once more around the
    /// load: empty, or different after the load than before it (still being written), it is
    /// not applied. SIGHUP applies whatever is there.
    fn load_job(&mut self, watched: bool) -> super::root::LoadJob {
        self.initial = false;
        if let Some(sd) = &self.sd {
            use crate::telemetry::systemd::{monotonic_usec, reloading};
            sd.notify(&reloading(monotonic_usec()));
        }
        let (path, opts) = (self.path.clone(), self.load.clone());
        Box::new(move || {
            let start = std::time::Instant::now();
            let outcome = (|| {
                let before = watched.then(|| std::fs::read(&path).unwrap_or_default());
                if before.as_deref().is_some_and(super::watch::is_blank) {
                    anyhow::bail!(
                        "{} is empty: a change seen by the watcher is not applied (send SIGHUP to apply it)",
                        path.display()
                    );
                }
                let loaded = config::load(&path, &opts);
                let changed = before.is_some_and(|b| std::fs::read(&path).unwrap_or_default() != b);
                Ok((loaded, changed))
            })();
            Box::new(LoadDone {
                watched,
                start,
                outcome,
            }) as Box<dyn std::any::Any + Send>
        })
    }

    /// Applies a reload's load.
    fn reload_as(&mut self, done: LoadDone) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        let LoadDone {
            watched,
            start,
            outcome,
        } = done;
        let span = crate::telemetry::transition_span(
            crate::telemetry::TransitionKind::Reload,
            &self.path.display().to_string(),
        )
        .reason(if watched { "watch" } else { "sighup" });
        let r = span.in_scope(|| {
            let (loaded, changed) = outcome?;
            self.reload_inner(loaded, changed)
        });
        if let Err(e) = &r {
            span.fail(&e.to_string());
            tracing::error!("{e:#}");
            self.metrics.reload(start.elapsed(), false);
        } else {
            self.reload_started = Some(start);
        }
        r
    }

    fn reload_inner(
        &mut self,
        loaded: config::Loaded,
        changed_while_read: bool,
    ) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        self.reloaded = true;
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
        {
            if changed_while_read {
                anyhow::bail!(
                    "{} changed again while being read: not applied; the watcher reloads once it settles",
                    self.path.display()
                );
            }
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
        crate::firewall::model::warn_reload(&self.global, &loaded.config.global);
        self.global = self.global_for(&loaded.config.global);
        let desired = children(&loaded.config, &self.global, self.subsystems);
        self.claim_for_masters(&desired);
        self.hub.reconcile(&loaded.config);
        self.sync.reconcile(&loaded.config);
        if let Some(l) = &self.lvs {
            let (l, c) = (l.clone(), loaded.config.clone());
            actix::spawn(async move {
                l.reload(&c).await;
            });
        } else if let Some(starter) = self
            .lvs_starter
            .as_ref()
            .filter(|_| !loaded.config.virtual_servers.is_empty())
        {
            tracing::info!("virtual servers configured: starting the checkers");
            let lvs = starter.start(&loaded.config, &self.registry, None);
            let (netlink, l) = (starter.netlink.clone(), lvs.clone());
            actix::spawn(async move { feed_vips(&netlink, l).await });
            self.lvs = Some(lvs);
        }
        self.config = Arc::new(loaded.config);
        Ok(desired)
    }
}

/// What a reload's load produced, on its thread ([`Factory::load_job`]).
struct LoadDone {
    watched: bool,
    start: std::time::Instant,
    outcome: anyhow::Result<(config::Loaded, bool)>,
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
    use super::vrrp::trackers::{TrackKey, TrackValue};
    use crate::track::priority::TrackerState;
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
                        // SAFETY: raise only queues a signal to ourselves; the signal
                        // listener turns it into the normal stop.
                        unsafe {
                            libc::raise(libc::SIGTERM);
                        }
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
    use super::vrrp::netlink_kernel::{address_spec, route_spec, rule_spec};
    for a in &cfg.static_ipaddress {
        let Some(dev) = a.dev.as_deref() else {
            tracing::error!("static_ipaddress {} ({}): no dev", a.addr, a.loc);
            continue;
        };
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
    let rlim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &rlim) } != 0 {
        tracing::warn!(
            "Failed to set core file size: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// `--take-over`: how each VRRP child starts, from keepalived's state and the kernel's
/// addresses; refused (nothing touched) when the configuration cannot adopt it.
async fn takeover_seeds(
    netlink: &crate::netlink::NetlinkHandle,
    ka: &[crate::takeover::KaInstance],
    desired: &[(ObjectId, ChildSpec)],
) -> anyhow::Result<(
    crate::takeover::Plan,
    std::collections::HashMap<ObjectId, Durable<VrrpDurable>>,
)> {
    use crate::takeover::{plan, Start};
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
/// since its dump corrects their starting state ([`crate::takeover::recheck`]).
async fn takeover_recheck(
    netlink: &crate::netlink::NetlinkHandle,
    plan: &crate::takeover::Plan,
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
    let changes = crate::takeover::recheck(plan, &vrrp_instances(desired), &plan.kernel, &kernel);
    for (name, start) in changes {
        let Some((id, i)) = desired.iter().find_map(|(id, c)| match c {
            ChildSpec::Vrrp(s) if s.instance.name == name => Some((id, &s.instance)),
            _ => None,
        }) else {
            continue;
        };
        let master = start == crate::takeover::Start::Resume;
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

/// Runs the daemon in the foreground until SIGTERM/SIGINT.
pub fn run(args: Args) -> i32 {
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
    };
    let tmp = crate::telemetry::dump::tmp_dir(std::env::var("TMPDIR").ok().as_deref());
    if let Some(ns) = &args.namespace {
        crate::telemetry::logging::set_namespace(ns);
    }
    if let Some(name) = &args.log_file {
        let path = crate::telemetry::logging::log_file_path(name, &tmp, args.namespace.as_deref());
        if let Err(e) = crate::telemetry::logging::open_log_file(&path) {
            eprintln!("{e}");
        }
    }
    let telemetry = match crate::telemetry::init(&opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return exit::FATAL;
        }
    };
    super::panic_hook::install();
    let load = args.load_options(true);
    let loaded = config::load(&args.use_file, &load);
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
    let config_ns = loaded.config.net_namespace.clone();
    match (&config_ns, &args.namespace) {
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
        return exit::CONFIG;
    }
    // --take-over: keepalived's state first (its JSON dump, a signal away); nothing of ours
    // starts if it cannot be read.
    let takeover = match &args.take_over {
        Some(pidfile) => {
            let found = crate::takeover::process::Keepalived::find(pidfile).and_then(|k| {
                if !k.runs_vrrp() {
                    tracing::info!(
                        "take-over: keepalived (pid {}) runs no VRRP socket: no VRRP state to adopt",
                        k.pid
                    );
                    return Ok((k, Vec::new()));
                }
                let text = k.json_dump(std::time::Duration::from_secs(5))?;
                Ok((k, crate::takeover::parse_dump(&text)?))
            });
            match found {
                Ok(t) => {
                    tracing::info!(
                        "take-over: keepalived pid {} reports {} VRRP instance(s)",
                        t.0.pid,
                        t.1.len()
                    );
                    Some(t)
                }
                Err(e) => {
                    tracing::error!("take-over refused: {e}");
                    eprintln!("take-over refused: {e}");
                    return exit::FATAL;
                }
            }
        }
        None => None,
    };
    let pid_file = args.pid_file();
    let _pid = match super::pidfile::PidFile::acquire(&pid_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::FATAL;
        }
    };
    // keepalived: -P only VRRP, -C only checkers, -B no BFD, --all all of them even without
    // configuration (in command-line order).
    let mode = crate::cli::daemon_mode(&args.mode_flags);
    let subsystems = Subsystems {
        vrrp: mode.vrrp,
        check: mode.check,
        bfd: mode.bfd,
    };
    let run_all = mode.all;
    // -r/-c/-b: one process runs every subsystem; its pid goes in the file of each one that
    // runs, as keepalived writes its children's.
    let cfg_ref = &loaded.config;
    let mut _child_pids = Vec::new();
    for (file, runs) in [
        (
            &args.vrrp_pid,
            subsystems.vrrp && (run_all || !cfg_ref.instances.is_empty()),
        ),
        (
            &args.checkers_pid,
            subsystems.check && (run_all || !cfg_ref.virtual_servers.is_empty()),
        ),
        (
            &args.bfd_pid,
            subsystems.bfd && (run_all || !crate::bfd::bfd_children(cfg_ref).is_empty()),
        ),
    ] {
        if let (Some(f), true) = (file, runs) {
            match super::pidfile::PidFile::acquire(f) {
                Ok(p) => _child_pids.push(p),
                Err(e) => {
                    eprintln!("{e}");
                    return exit::FATAL;
                }
            }
        }
    }
    let _core_pattern = args.core_dump_pattern.as_deref().map(|p| {
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
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes allocator tuning; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
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
    let arbiters = rt.arbiters();
    let cfg = loaded.config;
    let watch_files = (!args.no_config_watch && !loaded.files.is_empty())
        .then(|| tokio::sync::watch::channel(loaded.files.clone()));
    let path = args.use_file.clone();
    let metrics_listen = args.metrics_listen;
    let dont_release_ipvs = args.dont_release_ipvs;
    let release = ReleaseOptions {
        dont_release_vrrp: args.dont_release_vrrp,
        daemon_start: false,
    };
    let (address_monitoring, dont_respawn) = (args.address_monitoring, args.dont_respawn);
    let control_path = super::control::socket_path(&pid_file);
    let sd = match crate::telemetry::systemd::SdNotify::from_env() {
        Ok(s) => s.map(Arc::new),
        Err(e) => {
            tracing::warn!("not notifying systemd: {e}");
            None
        }
    };
    let watchdog = crate::telemetry::systemd::watchdog_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    );
    let start_stop_ctx = crate::track::exec::ScriptContext::from_global(&cfg.global);
    let shutdown_script = cfg
        .global
        .shutdown_script
        .clone()
        .map(|s| (s, cfg.global.shutdown_script_timeout));
    if let Some(s) = &cfg.global.startup_script {
        // keepalived: before any subsystem starts, waited for (bounded by its timeout).
        rt.block_on(crate::track::exec::run_start_stop_script(
            "startup",
            s,
            &start_stop_ctx,
            cfg.global.startup_script_timeout,
        ));
    }
    let started = rt.block_on(async move {
        let (netlink, _netlink_task) =
            crate::netlink::spawn(crate::netlink::NetlinkConfig::default()).await?;
        let global = Arc::new(cfg.global.clone());
        // --take-over: decided before anything touches the kernel; refused, keepalived runs on.
        let (seeds, plan, mut hold_release) = match &takeover {
            Some((_, ka)) => {
                let desired = children(&cfg, &global, subsystems);
                match takeover_seeds(&netlink, ka, &desired).await {
                    Ok((p, s)) => (s, Some(p), Some(HoldRelease::new())),
                    Err(e) => return Err(anyhow::anyhow!("take-over refused: {e:#}")),
                }
            }
            None => (Default::default(), None, None),
        };
        let shared_seeds = seeds.clone();
        let kernel: Arc<dyn Kernel> = Arc::new(super::vrrp::netlink_kernel::NetlinkKernel::new(
            netlink.clone(),
        ));
        if address_monitoring {
            log_address_changes(&netlink);
        }
        install_static(&netlink, &cfg).await;
        let firewall = subsystems.vrrp.then(|| {
            crate::firewall::spawn(
                crate::firewall::config_for(&cfg.global, cfg.instances.iter().map(|i| &**i))
                    .unwrap_or_else(|| crate::firewall::FirewallConfig::of(&cfg.global)),
            )
        });
        let metrics = Arc::new(crate::telemetry::Metrics::new());
        // Nobody reads per-object series without the endpoint: they would only cost memory
        // (about 5 KB per VRRP instance).
        let object_metrics = metrics_listen.map(|_| metrics.clone());
        let registry = match &object_metrics {
            Some(m) => crate::bfd::BfdRegistry::with_metrics(m.clone()),
            None => crate::bfd::BfdRegistry::new(),
        };
        let hub = TrackerHub::start_with_metrics(&cfg, object_metrics.clone());
        let lvs_starter = if subsystems.check {
            Some(LvsStarter {
                checkers: crate::lvs::runtime_of(arbiters.get(Domain::Checkers))
                    .await
                    .ok_or_else(|| anyhow::anyhow!("checker arbiter is not running"))?,
                writer: crate::lvs::runtime_of(arbiters.get(Domain::Netlink))
                    .await
                    .ok_or_else(|| anyhow::anyhow!("netlink arbiter is not running"))?,
                dont_release_ipvs,
                object_metrics: object_metrics.clone(),
                metrics: metrics.clone(),
                netlink: netlink.clone(),
            })
        } else {
            None
        };
        // --all: the checkers run even without virtual servers (a reload adding the first
        // one starts them otherwise).
        let lvs_wanted = lvs_starter.is_some() && (run_all || !cfg.virtual_servers.is_empty());
        let adopted = match (&takeover, lvs_wanted) {
            (Some(_), true) => read_ipvs().await,
            _ => None,
        };
        let lvs = lvs_starter
            .as_ref()
            .filter(|_| lvs_wanted)
            .map(|s| s.start(&cfg, &registry, adopted));
        feed_bfd(&registry, &hub);
        if let Some(l) = lvs.clone() {
            feed_vips(&netlink, l).await;
        }
        let notifier = super::vrrp::notifier::Notifier::new(&cfg.global);
        let sync = SyncHub::start(&cfg, Some(notifier.clone()), object_metrics.clone());
        let server = match metrics_listen {
            Some(addr) => {
                let s = crate::telemetry::http::MetricsServer::bind(addr, metrics.clone()).await?;
                tracing::info!("serving Prometheus metrics on http://{addr}/metrics");
                Some(s)
            }
            None => None,
        };
        let claims = VipClaims::new();
        let events = EventBus::default();
        count_supervision(&events, metrics.clone(), dont_respawn);
        super::trim::start();
        let factory = Factory {
            vrrp: arbiters.get(Domain::Vrrp).clone(),
            bfd: arbiters.get(Domain::Bfd).clone(),
            registry,
            subsystems,
            lvs,
            lvs_starter,
            kernel,
            firewall,
            hub,
            sync,
            notifier,
            metrics,
            object_metrics,
            events,
            path,
            load,
            config: Arc::new(cfg.clone()),
            tmp,
            sd: sd.clone(),
            reload_started: None,
            claims,
            durables: Default::default(),
            global: global.clone(),
            // A takeover adopts what keepalived installed: nothing is removed at start.
            initial: takeover.is_none(),
            release,
            reloaded: false,
            watched_files: watch_files.as_ref().map(|(tx, _)| tx.clone()),
            planned: None,
            seeds,
            hold: hold_release.as_ref().map(HoldRelease::hold),
        };
        let root = actix::Actor::start(Root::new(
            factory,
            // The factory stops the System once the LVS side has released IPVS.
            RootOptions {
                stop_system_on_shutdown: false,
                ..RootOptions::default()
            },
        ));
        let desired = children(&cfg, &global, subsystems);
        let vrrp_count = desired
            .iter()
            .filter(|(_, c)| matches!(c, ChildSpec::Vrrp(_)))
            .count();
        let report = root.send(Reconcile(desired.clone())).await?;
        if let (Some(release), Some((ka, _))) = (hold_release.as_mut(), &takeover) {
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
        if let Ok(r) = &report {
            for (k, e) in &r.failed {
                tracing::error!("{k}: failed to start: {e}");
            }
            tracing::info!("started {} object(s)", r.started.len());
        }
        let watcher = match watch_files {
            None => None,
            Some((_, files)) => match super::watch::watch(
                files,
                root.clone().recipient(),
                std::time::Duration::from_millis(200),
            ) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("cannot watch the configuration files: {e}");
                    None
                }
            },
        };
        let control = match super::control::bind(
            &control_path,
            root.clone().recipient(),
            root.clone().recipient(),
        ) {
            Ok(c) => {
                tracing::info!("control socket {}", c.path().display());
                Some(c)
            }
            Err(e) => {
                tracing::warn!("no control socket (--status will not work): {e}");
                None
            }
        };
        let listener = listen_signals(root.clone().recipient())?;
        if let Some(sd) = &sd {
            let n = report.as_ref().map(|r| r.started.len()).unwrap_or(0);
            sd.notify(&format!("READY=1\nSTATUS=running; {n} object(s) started"));
            if let Some(every) = watchdog {
                tracing::info!("systemd watchdog: pinging every {every:?}");
                super::watchdog::start(
                    sd.clone(),
                    every,
                    root.clone().recipient(),
                    [Domain::Vrrp, Domain::Checkers, Domain::Bfd, Domain::Netlink]
                        .iter()
                        .map(|d| arbiters.get(*d).clone())
                        .collect(),
                );
            }
        }
        let faults = super::fault::listen()?;
        anyhow::Ok((listener, server, watcher, control, faults))
    });
    let _signals = match started {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_priority_changes_instance_then_group_then_global() {
        let l = crate::config::load_str(
            "p.conf",
            "global_defs {\n vrrp_notify_priority_changes\n}\n\
             vrrp_instance A {\n interface lo\n virtual_router_id 1\n}\n\
             vrrp_instance B {\n interface lo\n virtual_router_id 2\n notify_priority_changes on\n}\n\
             vrrp_instance C {\n interface lo\n virtual_router_id 3\n}\n\
             vrrp_sync_group G {\n group {\n B\n C\n }\n notify_priority_changes off\n}\n",
            &crate::config::LoadOptions::default(),
        );
        let global = Arc::new(l.config.global.clone());
        let got: Vec<(String, Option<bool>)> = vrrp_children(&l.config, &global)
            .into_iter()
            .filter_map(|(_, c)| match c {
                ChildSpec::Vrrp(s) => {
                    Some((s.instance.name.clone(), s.instance.notify.priority_changes))
                }
                ChildSpec::Bfd(_) => None,
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("A".to_string(), Some(true)),
                ("B".to_string(), Some(true)),
                ("C".to_string(), Some(false)),
            ]
        );
    }
}
