//! The director task: owns the plan, the per-virtual-server state and the checker tasks;
//! turns checker changes into effects and desired IPVS tables.

use super::fifo;
use super::plan::{self, CheckSpec, CheckerPlan, Plan, VsKey, VsPlan};
use super::state::CheckerFate;
use super::state::{effective_weight, Effect, VsState, WeightAdj};
use super::{IpvsSink, LvsOptions};
use crate::config::model::Config;
use crate::ipvs::writer::{spawn_writer_on, DesiredService, KernelBackend, WriterHandle};
use crate::ipvs::{DestKey, Destination, ServiceKey};
use crate::lvs::check::file::evaluate;
use crate::lvs::check::http_get::Tls;
use crate::lvs::check::misc::{dynamic_weight, MiscTarget};
use crate::lvs::check::runner::{self, Attempt, Change, CheckerTask, Start};
use crate::telemetry::spans::{transition_span, TransitionKind};
use crate::track::exec::{resolve_user, PreparedScript, ScriptCommand, ScriptContext};
use crate::track::file::{spawn_file_watcher, FileEvent, FileWatcher, WatchedFile};
use crate::track::notify::{NotifyFifo, NotifyInvocation, NotifyQueue, DEFAULT_NOTIFY_MAX_WAIT};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Virtual servers added.
    pub added: usize,
    /// Virtual servers removed.
    pub removed: usize,
    /// Virtual servers kept (possibly with changes).
    pub kept: usize,
    /// Checker tasks kept running untouched.
    pub checkers_kept: usize,
    /// Checker tasks (re)started.
    pub checkers_started: usize,
}

/// One real server, as the director sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsSnapshot {
    /// `[ip]:tcp:port`.
    pub name: String,
    /// All checkers up.
    pub alive: bool,
    /// Effective weight.
    pub weight: u32,
    /// Each checker's state.
    pub checkers: Vec<bool>,
}

/// One virtual server, as the director sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsSnapshot {
    /// keepalived's name of it.
    pub name: String,
    /// Its IPVS services.
    pub services: Vec<ServiceKey>,
    /// Quorum state.
    pub quorum_up: bool,
    /// Checks paused (`ha_suspend`).
    pub suspended: bool,
    /// Real servers.
    pub real_servers: Vec<RsSnapshot>,
    /// Destinations it wants in IPVS.
    pub desired: BTreeMap<DestKey, Destination>,
}

/// Everything the director knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LvsSnapshot {
    /// Virtual servers in configuration order.
    pub virtual_servers: Vec<VsSnapshot>,
}

impl LvsSnapshot {
    /// The virtual server named `name`.
    pub fn vs(&self, name: &str) -> Option<&VsSnapshot> {
        self.virtual_servers.iter().find(|v| v.name == name)
    }
}

enum Cmd {
    Reload(Box<Config>, oneshot::Sender<ReloadReport>),
    Shutdown(oneshot::Sender<()>),
    VipPresent(IpAddr, bool),
    Bfd(String, bool),
    Snapshot(oneshot::Sender<LvsSnapshot>),
}

/// The daemon's handle on the director. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LvsHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    writer: WriterHandle,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Reload(..) => f.write_str("Reload"),
            Cmd::Shutdown(_) => f.write_str("Shutdown"),
            Cmd::VipPresent(ip, p) => write!(f, "VipPresent({ip}, {p})"),
            Cmd::Bfd(n, s) => write!(f, "Bfd({n}, {s})"),
            Cmd::Snapshot(_) => f.write_str("Snapshot"),
        }
    }
}

impl LvsHandle {
    /// Applies a new (already validated) configuration: unchanged checkers keep running with
    /// their state, real servers keep their state, a changed checker on a known real server
    /// inherits the old checker's state and checks at once (so a fixed, failed server comes back
    /// after one successful check), new servers start fresh, removed ones leave IPVS.
    pub async fn reload(&self, cfg: &Config) -> ReloadReport {
        self.writer.set_timeouts(super::timeouts_of(cfg));
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(Cmd::Reload(Box::new(cfg.clone()), tx))
            .is_err()
        {
            return ReloadReport::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Stops every checker, runs `omega` notifies, and releases IPVS (unless
    /// `--dont-release-ipvs`). Returns when done.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// `ha_suspend`: a virtual address appeared (VRRP MASTER) or went away. Virtual servers with
    /// `ha_suspend` check only while one of their addresses is present.
    pub fn set_vip_present(&self, ip: IpAddr, present: bool) {
        let _ = self.tx.send(Cmd::VipPresent(ip, present));
    }

    /// A BFD session (bfd_instance `name`) went up or down: drives its BFD_CHECKs.
    pub fn set_bfd(&self, name: &str, up: bool) {
        let _ = self.tx.send(Cmd::Bfd(name.to_string(), up));
    }

    /// The director's view (for dumps and tests).
    pub async fn snapshot(&self) -> LvsSnapshot {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Snapshot(tx));
        rx.await.unwrap_or_default()
    }

    /// The IPVS writer.
    pub fn writer(&self) -> &WriterHandle {
        &self.writer
    }
}

/// A checker slot: where it is in the plan, and its task if polled.
struct Slot {
    vs: usize,
    rs: usize,
    chk: usize,
    task: Option<JoinHandle<()>>,
}

/// The previous plan while a new one is applied: its plans, states, checker ids and running
/// checker slots (taken as they are kept), and which virtual servers the new plan kept.
struct Previous {
    plans: Vec<Arc<VsPlan>>,
    states: Vec<VsState>,
    ids: Vec<Vec<Vec<u64>>>,
    slots: HashMap<u64, Slot>,
    used: Vec<bool>,
}

/// Per-virtual-server runtime (kept across reloads by key).
struct VsRuntime {
    suspend_tx: watch::Sender<bool>,
}

struct Director {
    opts: LvsOptions,
    plans: Vec<Arc<VsPlan>>,
    states: Vec<VsState>,
    ids: Vec<Vec<Vec<u64>>>,
    slots: HashMap<u64, Slot>,
    next_id: u64,
    runtimes: HashMap<VsKey, VsRuntime>,
    absent_vips: HashSet<IpAddr>,
    bfd: HashMap<String, bool>,
    events_tx: mpsc::UnboundedSender<(u64, Change)>,
    writer: WriterHandle,
    ctx: ScriptContext,
    notify: NotifyQueue,
    fifos: Vec<NotifyFifo>,
    fifo_paths: Vec<String>,
    file_values: HashMap<String, i64>,
    file_watcher: Option<FileWatcher>,
    file_tx: mpsc::Sender<FileEvent>,
    dirty: BTreeSet<usize>,
    services: BTreeMap<ServiceKey, usize>,
}

pub(super) fn start(cfg: &Config, opts: LvsOptions) -> LvsHandle {
    let writer = match &opts.sink {
        IpvsSink::Kernel => spawn_writer_on(
            &opts.writer,
            KernelBackend::new(),
            opts.writer_config.clone(),
        ),
        IpvsSink::Memory(m) => spawn_writer_on(&opts.writer, m.clone(), opts.writer_config.clone()),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let cfg = cfg.clone();
    let w = writer.clone();
    opts.checkers.clone().spawn(async move {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (file_tx, file_rx) = mpsc::channel(256);
        let ctx = ScriptContext::from_global(&cfg.global);
        let mut d = Director {
            opts,
            plans: Vec::new(),
            states: Vec::new(),
            ids: Vec::new(),
            slots: HashMap::new(),
            next_id: 1,
            runtimes: HashMap::new(),
            absent_vips: HashSet::new(),
            bfd: HashMap::new(),
            events_tx,
            writer: w,
            notify: NotifyQueue::spawn(ctx.clone(), DEFAULT_NOTIFY_MAX_WAIT),
            ctx,
            fifos: Vec::new(),
            fifo_paths: Vec::new(),
            file_values: HashMap::new(),
            file_watcher: None,
            file_tx,
            dirty: BTreeSet::new(),
            services: BTreeMap::new(),
        };
        d.apply(&cfg, true);
        d.run(rx, events_rx, file_rx).await;
    });
    LvsHandle { tx, writer }
}

fn script_invocation(spec: &crate::config::model::ScriptSpec) -> NotifyInvocation {
    NotifyInvocation {
        command: ScriptCommand::from_spec(spec),
        user: spec.user.clone(),
        timeout: None,
        generic: false,
    }
}

impl Director {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut events: mpsc::UnboundedReceiver<(u64, Change)>,
        mut files: mpsc::Receiver<FileEvent>,
    ) {
        loop {
            tokio::select! {
                c = cmds.recv() => {
                    let Some(c) = c else {
                        // Every handle dropped: stop checking, leave IPVS as it is.
                        self.stop_all_checkers();
                        return;
                    };
                    match c {
                        Cmd::Reload(cfg, done) => {
                            let r = self.apply(&cfg, false);
                            let _ = done.send(r);
                        }
                        Cmd::Shutdown(done) => {
                            self.shutdown().await;
                            let _ = done.send(());
                            return;
                        }
                        Cmd::VipPresent(ip, present) => {
                            if present {
                                self.absent_vips.remove(&ip);
                            } else {
                                self.absent_vips.insert(ip);
                            }
                            self.update_suspension();
                        }
                        Cmd::Bfd(name, up) => {
                            self.bfd.insert(name.clone(), up);
                            self.refresh_event_checkers(|s| matches!(s, CheckSpec::Bfd { name: n } if *n == name));
                        }
                        Cmd::Snapshot(tx) => {
                            let _ = tx.send(self.snapshot());
                        }
                    }
                }
                Some((id, change)) = events.recv() => {
                    self.on_change(id, change);
                    while let Ok((id, change)) = events.try_recv() {
                        self.on_change(id, change);
                    }
                }
                Some(ev) = files.recv() => {
                    self.file_values.insert(ev.name.clone(), ev.value);
                    tracing::info!("track_file {} changed {} -> {}", ev.name, ev.previous, ev.value);
                    let name = ev.name;
                    self.refresh_event_checkers(|s| matches!(s, CheckSpec::File { name: n, .. } if *n == name));
                }
            }
            self.flush();
        }
    }

    fn snapshot(&self) -> LvsSnapshot {
        LvsSnapshot {
            virtual_servers: self
                .plans
                .iter()
                .zip(&self.states)
                .map(|(p, s)| VsSnapshot {
                    name: p.name.clone(),
                    services: p.services.iter().map(|s| s.key).collect(),
                    quorum_up: s.quorum_up,
                    suspended: self
                        .runtimes
                        .get(&p.key)
                        .map(|r| *r.suspend_tx.borrow())
                        .unwrap_or(false),
                    real_servers: p
                        .real_servers
                        .iter()
                        .zip(&s.rs)
                        .map(|(rp, rs)| RsSnapshot {
                            name: rp.name.clone(),
                            alive: rs.alive,
                            weight: effective_weight(rp, rs),
                            checkers: rs.checkers.iter().map(|c| c.up).collect(),
                        })
                        .collect(),
                    desired: s.desired(p),
                })
                .collect(),
        }
    }

    // ---- configuration --------------------------------------------------------------------

    /// Applies a configuration (start or reload): each virtual server of the new plan is
    /// started or migrated with its checkers ([`Self::apply_vs`]), what the old plan had and the
    /// new one lacks is retired ([`Self::retire`]), then IPVS, metrics and watchers follow.
    fn apply(&mut self, cfg: &Config, initial: bool) -> ReloadReport {
        let span = (!initial).then(|| transition_span(TransitionKind::Reload, "lvs"));
        let new_plan: Plan = plan::plan(cfg);
        // A takeover's first configuration starts from the IPVS table keepalived left.
        let adopted = if initial {
            self.opts.adopted.clone()
        } else {
            None
        };
        for w in &new_plan.warnings {
            tracing::warn!("{w}");
        }
        self.ctx = ScriptContext::from_global(&cfg.global);
        self.open_fifos(cfg);
        let mut report = ReloadReport::default();
        let mut old = Previous {
            used: vec![false; self.plans.len()],
            plans: std::mem::take(&mut self.plans),
            states: std::mem::take(&mut self.states),
            ids: std::mem::take(&mut self.ids),
            slots: std::mem::take(&mut self.slots),
        };
        let mut effects: Vec<(usize, Vec<Effect>)> = Vec::new();
        for (vi, p) in new_plan.virtual_servers.iter().enumerate() {
            let fx = self.apply_vs(vi, p, &mut old, adopted.as_deref(), &mut report);
            effects.push((vi, fx));
        }
        // Whatever is left of the old checkers stops.
        for (_, slot) in old.slots.drain() {
            if let Some(t) = slot.task {
                t.abort();
            }
        }
        self.retire(&old, &mut report);
        self.drop_unwanted_services();
        // Announce what start/migration found.
        for (vi, fx) in effects {
            self.announce(vi, fx, "configuration");
        }
        if let Some(m) = self.opts.metrics.clone() {
            for (p, s) in self.plans.iter().zip(&self.states) {
                m.virtual_server_quorum(&p.name, s.quorum_up);
                for (rp, rs) in p.real_servers.iter().zip(&s.rs) {
                    m.real_server(&p.name, &rp.name, rs.alive, effective_weight(rp, rs) as i32);
                }
            }
        }
        self.restart_file_watcher();
        self.refresh_event_checkers(|s| {
            matches!(s, CheckSpec::File { .. } | CheckSpec::Bfd { .. })
        });
        self.update_suspension();
        self.flush();
        self.log_applied(span, &report);
        report
    }

    /// Starts (or migrates from the previous plan) virtual server `vi` and its checkers: a
    /// checker whose plan is unchanged keeps its running task, a changed one resumes from the
    /// old state, a new one starts fresh (or from the adopted IPVS table at a takeover).
    fn apply_vs(
        &mut self,
        vi: usize,
        p: &Arc<VsPlan>,
        old: &mut Previous,
        adopted: Option<&super::Adopted>,
        report: &mut ReloadReport,
    ) -> Vec<Effect> {
        let rt = self
            .runtimes
            .entry(p.key.clone())
            .or_insert_with(|| VsRuntime {
                suspend_tx: watch::channel(false).0,
            });
        let suspend_rx = rt.suspend_tx.subscribe();
        let old_i = old.plans.iter().position(|o| o.key == p.key);
        let (state, fx) = match old_i {
            Some(oi) => {
                old.used[oi] = true;
                report.kept += 1;
                VsState::migrate(&old.plans[oi], &old.states[oi], p)
            }
            None => {
                report.added += 1;
                match adopted {
                    Some(t) => VsState::start_seeded(p, |rs| super::adopted_up(t, p, rs)),
                    None => VsState::start(p),
                }
            }
        };
        let mut vs_ids = Vec::with_capacity(p.real_servers.len());
        for (ri, rp) in p.real_servers.iter().enumerate() {
            let old_rs = old_i.and_then(|oi| {
                old.plans[oi]
                    .real_servers
                    .iter()
                    .position(|o| o.key == rp.key)
                    .map(|ori| (oi, ori))
            });
            let fates = super::state::checker_fates(
                old_rs.map(|(oi, ori)| &old.plans[oi].real_servers[ori]),
                rp,
            );
            let mut rs_ids = Vec::with_capacity(rp.checkers.len());
            for (ci, cp) in rp.checkers.iter().enumerate() {
                let inherited = match (old_rs, fates[ci]) {
                    (Some((oi, ori)), CheckerFate::Keep(oc) | CheckerFate::Resume(oc)) => {
                        Some((oi, ori, oc))
                    }
                    _ => None,
                };
                // Same plan (and same real server): keep the running task.
                if let (Some((oi, ori, oc)), CheckerFate::Keep(_)) = (inherited, fates[ci]) {
                    let old_id = old.ids[oi][ori][oc];
                    if let Some(mut slot) = old.slots.remove(&old_id) {
                        slot.vs = vi;
                        slot.rs = ri;
                        slot.chk = ci;
                        self.slots.insert(old_id, slot);
                        rs_ids.push(old_id);
                        report.checkers_kept += 1;
                        continue;
                    }
                }
                let id = self.next_id;
                self.next_id += 1;
                let start = match inherited {
                    Some((oi, ori, oc)) => {
                        let c = old.states[oi].rs[ori].checkers[oc];
                        Start::Resume {
                            up: c.up,
                            weight: match c.weight {
                                WeightAdj::Absolute(a) => Some(a + 2),
                                _ => None,
                            },
                        }
                    }
                    None => match adopted.and_then(|t| super::adopted_up(t, p, rp)) {
                        Some(up) => Start::Resume { up, weight: None },
                        None => Start::Fresh,
                    },
                };
                let task = self.spawn_checker(id, p, rp, cp, start, suspend_rx.clone());
                if task.is_some() {
                    report.checkers_started += 1;
                }
                self.slots.insert(
                    id,
                    Slot {
                        vs: vi,
                        rs: ri,
                        chk: ci,
                        task,
                    },
                );
                rs_ids.push(id);
            }
            vs_ids.push(rs_ids);
        }
        self.ids.push(vs_ids);
        self.plans.push(p.clone());
        self.states.push(state);
        self.dirty.insert(vi);
        fx
    }

    /// Removed real servers and virtual servers: down notifies, metrics cleanup.
    fn retire(&mut self, old: &Previous, report: &mut ReloadReport) {
        for (oi, op) in old.plans.iter().enumerate() {
            let kept = self.plans.iter().find(|p| p.key == op.key).cloned();
            for (ori, orp) in op.real_servers.iter().enumerate() {
                if kept
                    .as_ref()
                    .is_some_and(|p| p.real_servers.iter().any(|r| r.key == orp.key))
                {
                    continue;
                }
                if old.states[oi].rs[ori].alive {
                    self.announce_rs(
                        op,
                        orp,
                        false,
                        effective_weight(orp, &old.states[oi].rs[ori]),
                        "removed from the configuration",
                    );
                }
                if let Some(m) = &self.opts.metrics {
                    m.remove_real_server(&op.name, &orp.name);
                }
            }
            if !old.used[oi] {
                report.removed += 1;
                if old.states[oi].quorum_up && !op.real_servers.is_empty() {
                    self.announce_quorum(op, false, 0, i64::from(op.quorum), false);
                }
                if let Some(m) = &self.opts.metrics {
                    m.remove_virtual_server(&op.name);
                }
                self.runtimes.remove(&op.key);
            }
        }
    }

    /// Services the new plan no longer wants go out of IPVS.
    fn drop_unwanted_services(&mut self) {
        let wanted: BTreeMap<ServiceKey, usize> = self
            .plans
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.services.iter().map(move |s| (s.key, i)))
            .collect();
        let gone: Vec<(ServiceKey, Option<DesiredService>)> = self
            .services
            .keys()
            .filter(|k| !wanted.contains_key(k))
            .map(|k| (*k, None))
            .collect();
        self.writer.set_services(gone);
        self.services = wanted;
    }

    fn log_applied(&self, span: Option<crate::telemetry::TransitionSpan>, report: &ReloadReport) {
        if let Some(s) = span {
            s.in_scope(|| {
                tracing::info!(
                    "LVS reload: {} virtual server(s) added, {} removed, {} kept; {} checker(s) kept, {} started",
                    report.added,
                    report.removed,
                    report.kept,
                    report.checkers_kept,
                    report.checkers_started
                )
            });
        } else {
            tracing::info!(
                "LVS: {} virtual server(s), {} checker(s)",
                self.plans.len(),
                self.slots.len()
            );
        }
    }

    fn open_fifos(&mut self, cfg: &Config) {
        let wanted: Vec<&crate::config::model::NotifyFifo> = [
            cfg.global.notify_fifo.as_ref(),
            cfg.global.lvs_notify_fifo.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let paths: Vec<String> = wanted.iter().map(|f| f.path.clone()).collect();
        if paths == self.fifo_paths {
            return;
        }
        self.fifos.clear();
        for (i, f) in wanted.iter().enumerate() {
            let owner = f.user.as_ref().and_then(|u| resolve_user(u).ok());
            // The generic notify_fifo's reader script is the VRRP side's to start.
            let r = match (
                &f.script,
                i == wanted.len() - 1 && cfg.global.lvs_notify_fifo.is_some(),
            ) {
                (Some(s), true) => {
                    NotifyFifo::open_with_script(Path::new(&f.path), owner.as_ref(), s, &self.ctx)
                }
                _ => NotifyFifo::open(Path::new(&f.path), owner.as_ref()),
            };
            match r {
                Ok(fifo) => self.fifos.push(fifo),
                Err(e) => tracing::error!("cannot open notify FIFO {}: {e}", f.path),
            }
        }
        self.fifo_paths = paths;
    }

    fn spawn_checker(
        &self,
        id: u64,
        vp: &VsPlan,
        rp: &plan::RsPlan,
        cp: &CheckerPlan,
        start: Start,
        suspended: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>> {
        let attempt = match &cp.spec {
            CheckSpec::Tcp(t) => Attempt::Tcp(t.clone()),
            CheckSpec::Http {
                target,
                urls,
                tls,
                sni,
                proto,
            } => Attempt::Http {
                target: target.clone(),
                urls: urls.clone(),
                tls: tls.then(|| Tls::insecure(sni.clone())),
                proto: *proto,
            },
            CheckSpec::Smtp { target, helo } => Attempt::Smtp {
                target: target.clone(),
                helo: helo.clone(),
            },
            CheckSpec::Dns {
                server,
                name,
                qtype,
                timeout,
                source,
            } => Attempt::Dns {
                server: *server,
                name: name.clone(),
                qtype: qtype.clone(),
                timeout: *timeout,
                source: source.clone(),
            },
            CheckSpec::Misc {
                script,
                timeout,
                dynamic,
            } => match PreparedScript::from_spec(script, &self.ctx) {
                Ok(p) => Attempt::Misc(MiscTarget {
                    script: p,
                    timeout: *timeout,
                    dynamic: *dynamic,
                }),
                Err(e) => {
                    tracing::error!(
                        "{} of {}: MISC_CHECK {}: {e}",
                        rp.name,
                        vp.name,
                        script.command
                    );
                    Attempt::Broken(e.to_string())
                }
            },
            CheckSpec::Udp(u) => Attempt::Udp(u.clone()),
            CheckSpec::Ping { ip, timeout } => Attempt::Ping {
                ip: *ip,
                timeout: *timeout,
            },
            CheckSpec::File { .. } | CheckSpec::Bfd { .. } | CheckSpec::Invalid(_) => return None,
        };
        let task = CheckerTask {
            id,
            attempt,
            params: cp.params.clone(),
            start,
            events: self.events_tx.clone(),
            suspended,
            metrics: self
                .opts
                .metrics
                .as_ref()
                .map(|m| m.checker(&vp.name, &rp.name, cp.kind)),
            label: format!("{} {} of VS {}", cp.kind, rp.name, vp.name),
        };
        Some(runner::spawn(&self.opts.checkers, task))
    }

    fn restart_file_watcher(&mut self) {
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        for p in &self.plans {
            for r in &p.real_servers {
                for c in &r.checkers {
                    if let CheckSpec::File {
                        name,
                        path: Some(path),
                        ..
                    } = &c.spec
                    {
                        files.insert(name.clone(), path.clone());
                    }
                }
            }
        }
        self.file_watcher = None;
        if files.is_empty() {
            return;
        }
        let list = files
            .iter()
            .map(|(n, p)| WatchedFile {
                name: n.clone(),
                path: p.into(),
            })
            .collect();
        match spawn_file_watcher(list, self.file_tx.clone()) {
            Ok((w, initial)) => {
                self.file_watcher = Some(w);
                self.file_values = initial.into_iter().collect();
            }
            Err(e) => {
                tracing::error!("FILE_CHECK: cannot watch files: {e}");
                self.file_values = files
                    .iter()
                    .map(|(n, p)| {
                        (
                            n.clone(),
                            crate::track::file::read_value(Path::new(p)).unwrap_or(0),
                        )
                    })
                    .collect();
            }
        }
    }

    /// Re-evaluates event-driven checkers (FILE_CHECK, BFD_CHECK) selected by `pick`.
    fn refresh_event_checkers(&mut self, pick: impl Fn(&CheckSpec) -> bool) {
        let mut updates = Vec::new();
        for (vi, p) in self.plans.iter().enumerate() {
            for (ri, r) in p.real_servers.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if !pick(&c.spec) {
                        continue;
                    }
                    let (up, w) = match &c.spec {
                        CheckSpec::File {
                            name,
                            path,
                            weight,
                            reverse,
                        } => {
                            if path.is_none() {
                                (false, WeightAdj::None)
                            } else {
                                let v = self.file_values.get(name).copied().unwrap_or(0);
                                let verdict = evaluate(v, *weight, *reverse);
                                (verdict.up, WeightAdj::Delta(verdict.delta))
                            }
                        }
                        CheckSpec::Bfd { name } => match self.bfd.get(name) {
                            Some(up) => (*up, WeightAdj::None),
                            // No news yet: keep the current state.
                            None => (self.states[vi].rs[ri].checkers[ci].up, WeightAdj::None),
                        },
                        _ => continue,
                    };
                    updates.push((vi, ri, ci, up, w, c.kind));
                }
            }
        }
        for (vi, ri, ci, up, w, kind) in updates {
            let plan = self.plans[vi].clone();
            let fx = self.states[vi].set_checker(&plan, ri, ci, up, Some(w));
            if !fx.is_empty() {
                self.dirty.insert(vi);
                self.announce(vi, fx, kind);
            }
        }
    }

    fn update_suspension(&mut self) {
        for p in &self.plans {
            let Some(rt) = self.runtimes.get(&p.key) else {
                continue;
            };
            let auto = p.ha_suspend
                && !p.addresses.is_empty()
                && p.addresses.iter().all(|a| self.absent_vips.contains(a));
            let s = auto;
            rt.suspend_tx.send_if_modified(|v| {
                if *v != s {
                    tracing::info!(
                        "{} checks of VS {}",
                        if s { "Suspending" } else { "Resuming" },
                        p.name
                    );
                    *v = s;
                    true
                } else {
                    false
                }
            });
        }
    }

    // ---- checker changes --------------------------------------------------------------------

    fn on_change(&mut self, id: u64, change: Change) {
        let Some(slot) = self.slots.get(&id) else {
            return; // a stopped checker's last words
        };
        let (vi, ri, ci) = (slot.vs, slot.rs, slot.chk);
        let plan = self.plans[vi].clone();
        let cur = self.states[vi].rs[ri].checkers[ci];
        let (up, weight, reason) = match change {
            Change::State { up, reason } => (up, None, reason),
            Change::Weight(code) => (
                cur.up,
                Some(match dynamic_weight(code) {
                    Some(w) => WeightAdj::Absolute(w),
                    None => WeightAdj::None,
                }),
                format!("misc_dynamic exit status {code}"),
            ),
        };
        let cp = &plan.real_servers[ri].checkers[ci];
        if up != cur.up {
            let rs_name = &plan.real_servers[ri].name;
            let s = transition_span(
                TransitionKind::Checker,
                &format!("{}/{}/{}", plan.name, rs_name, cp.kind),
            )
            .from(if cur.up { "UP" } else { "DOWN" })
            .to(if up { "UP" } else { "DOWN" })
            .reason(&reason);
            s.in_scope(|| {
                tracing::info!(
                    "{} {} of VS {}: {} ({reason})",
                    cp.kind,
                    rs_name,
                    plan.name,
                    if up { "success" } else { "failed" }
                )
            });
        }
        let fx = self.states[vi].set_checker(&plan, ri, ci, up, weight);
        if !fx.is_empty() {
            self.dirty.insert(vi);
            self.announce(vi, fx, &reason);
        }
    }

    // ---- effects ------------------------------------------------------------------------------

    fn announce(&mut self, vi: usize, fx: Vec<Effect>, reason: &str) {
        let plan = self.plans[vi].clone();
        for e in fx {
            match e {
                Effect::Rs { rs, up } => {
                    let rp = &plan.real_servers[rs];
                    let w = effective_weight(rp, &self.states[vi].rs[rs]);
                    self.announce_rs(&plan, rp, up, w, reason);
                }
                Effect::Weight { rs, weight } => {
                    let rp = &plan.real_servers[rs];
                    let alive = self.states[vi].rs[rs].alive;
                    tracing::info!(
                        "Changing weight to {weight} for {}active service {} of VS {}",
                        if alive { "" } else { "in" },
                        rp.name,
                        plan.name
                    );
                    if let Some(m) = &self.opts.metrics {
                        m.real_server(&plan.name, &rp.name, alive, weight as i32);
                    }
                }
                Effect::Quorum {
                    up,
                    weight_sum,
                    threshold,
                    init,
                } => self.announce_quorum(&plan, up, weight_sum, threshold, init),
            }
        }
    }

    fn announce_rs(&mut self, vp: &VsPlan, rp: &plan::RsPlan, up: bool, weight: u32, reason: &str) {
        let s = transition_span(TransitionKind::Ipvs, &format!("{}/{}", vp.name, rp.name))
            .from(if up { "DOWN" } else { "UP" })
            .to(if up { "UP" } else { "DOWN" })
            .reason(reason)
            .priority(i64::from(weight));
        s.in_scope(|| {
            tracing::info!(
                "{} service {} {} VS {}",
                match (up, rp.inhibit) {
                    (true, true) => "Enabling",
                    (true, false) => "Adding",
                    (false, true) => "Disabling",
                    (false, false) => "Removing",
                },
                rp.name,
                if rp.inhibit {
                    "of"
                } else if up {
                    "to"
                } else {
                    "from"
                },
                vp.name
            )
        });
        let script = if up { &rp.notify_up } else { &rp.notify_down };
        if let Some(sc) = script {
            self.notify.push(vec![script_invocation(sc)]);
        }
        self.fifo_write(&fifo::rs_line(&rp.name, &vp.name, up));
        if let Some(m) = &self.opts.metrics {
            m.real_server(&vp.name, &rp.name, up, weight as i32);
        }
    }

    fn announce_quorum(&mut self, vp: &VsPlan, up: bool, sum: i64, threshold: i64, init: bool) {
        let s = transition_span(TransitionKind::Ipvs, &vp.name)
            .from(if up { "QUORUM_DOWN" } else { "QUORUM_UP" })
            .to(if up { "QUORUM_UP" } else { "QUORUM_DOWN" })
            .reason("quorum")
            .priority(sum);
        s.in_scope(|| {
            if up {
                tracing::info!(
                    "{} {}+{}={threshold} <= {sum} for VS {}",
                    if init {
                        "Starting with quorum up"
                    } else {
                        "Gained quorum"
                    },
                    vp.quorum,
                    vp.hysteresis,
                    vp.name
                );
            } else {
                tracing::warn!(
                    "{} {}-{}={threshold} > {sum} for VS {}",
                    if init {
                        "Starting with quorum down"
                    } else {
                        "Lost quorum"
                    },
                    vp.quorum,
                    vp.hysteresis,
                    vp.name
                );
            }
            if let Some(sorry) = &vp.sorry {
                tracing::info!(
                    "{} sorry server {} {} VS {}",
                    if up { "Removing" } else { "Adding" },
                    sorry.dest.key(),
                    if up { "from" } else { "to" },
                    vp.name
                );
            }
        });
        let script = if up { &vp.quorum_up } else { &vp.quorum_down };
        if let Some(sc) = script {
            self.notify.push(vec![script_invocation(sc)]);
        }
        self.fifo_write(&fifo::vs_line(&vp.name, up));
        if let Some(m) = &self.opts.metrics {
            m.virtual_server_quorum(&vp.name, up);
        }
    }

    fn fifo_write(&self, line: &str) {
        let bytes = fifo::with_terminator(line);
        for f in &self.fifos {
            if let Err(e) = f.write_line(&bytes) {
                tracing::warn!("notify FIFO {}: {e}", f.path().display());
            }
        }
    }

    /// Hands the desired tables of changed virtual servers to the writer.
    fn flush(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let mut batch = Vec::new();
        for vi in std::mem::take(&mut self.dirty) {
            let (Some(p), Some(s)) = (self.plans.get(vi), self.states.get(vi)) else {
                continue;
            };
            let dests = s.desired(p);
            for svc in &p.services {
                batch.push((
                    svc.key,
                    Some(DesiredService {
                        service: svc.clone(),
                        dests: dests.clone(),
                    }),
                ));
            }
        }
        self.writer.set_services(batch);
    }

    fn stop_all_checkers(&mut self) {
        for (_, s) in self.slots.drain() {
            if let Some(t) = s.task {
                t.abort();
            }
        }
        self.file_watcher = None;
    }

    async fn shutdown(&mut self) {
        self.stop_all_checkers();
        // omega: RS and quorum down notifies on the way out (keepalived's clear_services).
        for vi in 0..self.plans.len() {
            let p = self.plans[vi].clone();
            if !p.omega {
                continue;
            }
            for (ri, rp) in p.real_servers.iter().enumerate() {
                if self.states[vi].rs[ri].alive {
                    self.announce_rs(&p, rp, false, 0, "shutdown");
                }
            }
            if self.states[vi].quorum_up {
                self.announce_quorum(&p, false, 0, i64::from(p.quorum), false);
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.notify.drained()).await;
        self.writer.shutdown().await;
        self.fifos.clear();
        tracing::info!("LVS director stopped");
    }
}
