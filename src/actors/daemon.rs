//! The daemon: load the configuration, start the actor tree on the actix runtime, run until
//! SIGTERM/SIGINT, reload on SIGHUP.

use super::vrrp::claims::{owner_of, VipClaims};
use super::vrrp::instance::{
    virtual_set_of, Hold, HoldRelease, InstanceActor, InstanceSpec, VrrpDurable,
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
            let sync_group = cfg
                .sync_groups
                .iter()
                .find(|g| g.members.iter().any(|(m, _)| m == &i.name))
                .map(|g| g.name.clone());
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

/// Starts children on the right arbiter and reloads the configuration.
pub struct Factory {
    vrrp: ArbiterHandle,
    bfd: ArbiterHandle,
    registry: crate::bfd::BfdRegistry,
    subsystems: Subsystems,
    lvs: Option<crate::lvs::LvsHandle>,
    kernel: Arc<dyn Kernel>,
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
        actix::spawn(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), groups).await;
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
                let hold = self.hold.clone();
                let opts = ChildOptions::new(key.to_string()).events(self.events.clone());
                let h = spawn_child(&self.vrrp, opts, move |_| {
                    let a = InstanceActor::new(spec, kernel, Some(hub), Some(notifier), metrics, d)
                        .with_sync(sync)
                        .with_claims(claims);
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

    fn update(
        &mut self,
        _key: &ObjectId,
        _old: &ChildSpec,
        new: &ChildSpec,
        handle: &ChildHandle,
    ) -> bool {
        match new {
            ChildSpec::Vrrp(spec) => match handle.addr::<InstanceActor>() {
                // The actor applies it on its own thread; a change it cannot apply in place is
                // reported, and the next reload replaces it (rare: socket-level settings).
                Some(addr) => {
                    if Self::needs_restart(_old, new) {
                        return false;
                    }
                    addr.do_send(super::vrrp::instance::Reconfigure(spec.clone()));
                    true
                }
                None => false,
            },
            // A BFD session hands itself over to its replacement without a flap.
            ChildSpec::Bfd(_) => false,
        }
    }

    fn shutdown_started(&mut self) {
        if let Some(sd) = &self.sd {
            sd.notify("STOPPING=1\nSTATUS=stopping");
        }
    }

    fn reload(&mut self) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        self.reload_as(None)
    }

    fn reload_watched(&mut self) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        // The watcher saw the files settle; the main file is read once more around the load:
        // empty, or different after the load than before it (still being written), it is not
        // applied. SIGHUP applies whatever is there.
        let before = std::fs::read(&self.path).unwrap_or_default();
        if super::watch::is_blank(&before) {
            anyhow::bail!(
                "{} is empty: a change seen by the watcher is not applied (send SIGHUP to apply it)",
                self.path.display()
            );
        }
        self.reload_as(Some(before))
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

    /// Socket-level settings that an instance cannot change in place.
    fn needs_restart(old: &ChildSpec, new: &ChildSpec) -> bool {
        let (ChildSpec::Vrrp(o), ChildSpec::Vrrp(n)) = (old, new) else {
            return true;
        };
        super::vrrp::instance::needs_restart(&o.instance, &n.instance)
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

    /// A reload: SIGHUP (`watched` None), or the watcher's with the main file's content as
    /// read before the load.
    fn reload_as(
        &mut self,
        watched: Option<Vec<u8>>,
    ) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        self.initial = false;
        if let Some(sd) = &self.sd {
            use crate::telemetry::systemd::{monotonic_usec, reloading};
            sd.notify(&reloading(monotonic_usec()));
        }
        let start = std::time::Instant::now();
        let span = crate::telemetry::transition_span(
            crate::telemetry::TransitionKind::Reload,
            &self.path.display().to_string(),
        )
        .reason(if watched.is_some() { "watch" } else { "sighup" });
        let r = span.in_scope(|| self.reload_inner(watched.as_deref()));
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
        watched: Option<&[u8]>,
    ) -> anyhow::Result<Vec<(ObjectId, ChildSpec)>> {
        let loaded = config::load(&self.path, &self.load);
        if let Some(before) = watched {
            if std::fs::read(&self.path).unwrap_or_default() != before {
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
        if !crate::config::diff::same_ignoring_locations(&*self.global, &loaded.config.global) {
            self.global = Arc::new(loaded.config.global.clone());
        }
        let desired = children(&loaded.config, &self.global, self.subsystems);
        self.claim_for_masters(&desired);
        self.hub.reconcile(&loaded.config);
        self.sync.reconcile(&loaded.config);
        if let Some(l) = &self.lvs {
            let (l, c) = (l.clone(), loaded.config.clone());
            actix::spawn(async move {
                l.reload(&c).await;
            });
        }
        self.config = Arc::new(loaded.config);
        Ok(desired)
    }
}

/// Feeds BFD session states into the tracker hub (`track_bfd`).
fn feed_bfd(
    registry: &crate::bfd::BfdRegistry,
    hub: &TrackerHub,
    lvs: Option<crate::lvs::LvsHandle>,
) {
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
                    if let Some(l) = &lvs {
                        l.set_bfd(&ev.name, ev.up);
                    }
                    hub.set(TrackKey::Bfd(ev.name), TrackValue::State(s));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Counts crashes and restarts of supervised children in the metrics.
fn count_supervision(events: &EventBus, metrics: Arc<crate::telemetry::Metrics>) {
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => match ev.kind {
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

/// Runs the daemon in the foreground until SIGTERM/SIGINT.
pub fn run(args: Args) -> i32 {
    let opts = crate::telemetry::logging::LogOptions {
        console: args.log_console,
        detail: args.log_detail,
        no_syslog: args.no_syslog,
        facility: args.log_facility.clone(),
    };
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
    let _pid = match super::pidfile::PidFile::acquire(&args.pid) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::FATAL;
        }
    };
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
    let watch_files = if args.no_config_watch {
        Vec::new()
    } else {
        loaded.files.clone()
    };
    let path = args.use_file.clone();
    let metrics_listen = args.metrics_listen;
    // keepalived: -P only VRRP, -C only checkers, -B no BFD.
    let subsystems = Subsystems {
        vrrp: !args.check || args.vrrp,
        check: !args.vrrp || args.check,
        bfd: !args.no_bfd && (!args.check || args.vrrp),
    };
    let dont_release_ipvs = args.dont_release_ipvs;
    let control_path = super::control::socket_path(&args.pid);
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
    let tmp = crate::telemetry::dump::tmp_dir(std::env::var("TMPDIR").ok().as_deref());
    let started = rt.block_on(async move {
        let (netlink, _netlink_task) =
            crate::netlink::spawn(crate::netlink::NetlinkConfig::default()).await?;
        let global = Arc::new(cfg.global.clone());
        // --take-over: decided before anything touches the kernel; refused, keepalived runs on.
        let (seeds, plan, mut release) = match &takeover {
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
        install_static(&netlink, &cfg).await;
        let metrics = Arc::new(crate::telemetry::Metrics::new());
        // Nobody reads per-object series without the endpoint: they would only cost memory
        // (about 5 KB per VRRP instance).
        let object_metrics = metrics_listen.map(|_| metrics.clone());
        let registry = match &object_metrics {
            Some(m) => crate::bfd::BfdRegistry::with_metrics(m.clone()),
            None => crate::bfd::BfdRegistry::new(),
        };
        let hub = TrackerHub::start_with_metrics(&cfg, object_metrics.clone());
        let lvs = if subsystems.check && !cfg.virtual_servers.is_empty() {
            let checkers = crate::lvs::runtime_of(arbiters.get(Domain::Checkers))
                .await
                .ok_or_else(|| anyhow::anyhow!("checker arbiter is not running"))?;
            let netlink_rt = crate::lvs::runtime_of(arbiters.get(Domain::Netlink))
                .await
                .ok_or_else(|| anyhow::anyhow!("netlink arbiter is not running"))?;
            let opts = crate::lvs::LvsOptions::new(&cfg, checkers)
                .with_writer_runtime(netlink_rt)
                .dont_release_ipvs(dont_release_ipvs);
            let opts = match &object_metrics {
                Some(m) => opts.with_metrics(m.clone()),
                None => opts,
            };
            let adopted = match takeover {
                Some(_) => read_ipvs().await,
                None => None,
            };
            let opts = match adopted {
                Some(t) => opts.adopt(t),
                None => opts,
            };
            Some(crate::lvs::start_lvs(&cfg, opts))
        } else {
            None
        };
        if lvs.is_some() {
            // gen2brain/keepalived_exporter's IPVS counters, read from the kernel per scrape.
            metrics.add_scrape_hook(Arc::new(crate::lvs::stats::IpvsStatsHook::default()));
        }
        feed_bfd(&registry, &hub, lvs.clone());
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
        count_supervision(&events, metrics.clone());
        super::trim::start();
        let factory = Factory {
            vrrp: arbiters.get(Domain::Vrrp).clone(),
            bfd: arbiters.get(Domain::Bfd).clone(),
            registry,
            subsystems,
            lvs,
            kernel,
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
            seeds,
            hold: release.as_ref().map(HoldRelease::hold),
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
        if let (Some(release), Some((ka, _))) = (release.as_mut(), &takeover) {
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
        let watcher = if watch_files.is_empty() {
            None
        } else {
            match super::watch::watch(
                &watch_files,
                root.clone().recipient(),
                std::time::Duration::from_millis(200),
            ) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("cannot watch the configuration files: {e}");
                    None
                }
            }
        };
        let control = match super::control::bind(&control_path, root.clone().recipient()) {
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
