//! The VRRP instance actor: owns the state machine, its timers and its registration on the
//! shared socket; asks the kernel owner to add/remove VIPs and send GARPs, in order.
//! All protocol decisions are the sans-IO core's ([`crate::vrrp::fsm`]), and so are keepalived's
//! around it: tracking ([`crate::vrrp::tracking`]), start, resume and stop
//! ([`crate::vrrp::resume`]) and the reload of one instance ([`crate::vrrp::reconfigure`]).
//! This is the shell: it gathers their inputs, calls them and performs what they return.

use super::claims::{owner_of, VipClaims};
use super::kernel::LinkEvent;
use super::kernel::{InterfaceInfo, Kernel, VirtualSet, VmacRequest};
use super::kernel_queue::{KernelOp, KernelQueue};
use super::notifier::Notifier;
use super::params::{
    advert_epoch, ah_key, delayed_start, destinations, instance_params, v2_auth, vmac_request,
};
use super::pool::{self, Packet, Refresh, Registration, SocketKey};
use super::socket::SocketConfig;
use super::sync::{SyncCommand, SyncHub};
use super::trackers::{TrackEvent, TrackKey, TrackValue, TrackerHub};
use super::vrrp_state;
use crate::config::model::{Family as CfgFamily, GlobalDefs, VrrpInstance};
use crate::runtime::{guarded, Durable, Shutdown, ShutdownReason};
use crate::telemetry::{
    transition_span, Cause, Metrics, RxDrop, TransitionKind, VrrpMetrics, VrrpState,
};
use crate::track::notify::NotifyTarget;
use crate::track::priority::{BfdHoldDown, TrackInput, TrackerKind};
use crate::vrrp::ah::{self, AhKey};
use crate::vrrp::events::FaultReason;
use crate::vrrp::events::{Action, Event, ReceivedAdvert, State, Timer};
use crate::vrrp::fsm::{addr_order, Instance};
use crate::vrrp::packet::{
    self, Addresses, AdvertV2, AdvertV3, Advertisement, ChecksumMode, Family, V2Auth, Version,
};
use crate::vrrp::reconfigure::{vip_change, VipChange};
use crate::vrrp::resume::{self, StartInputs, Stop, StopInputs};
use crate::vrrp::timers::interval_to_wire;
use crate::vrrp::tracking::{
    assess, fault_change, member_value, other_member_faulted, priority_change, track_inputs,
    track_key, with_config_fault, Assessment, Links,
};
use crate::vrrp::validate::{allowed_sources, validate, RxContext, TtlCheck, Verdict};
use actix::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use crate::vrrp::tracking::{track_defs, TrackDef};

/// The configuration a child is started with (compared on reload, locations ignored).
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// The instance.
    pub instance: Arc<VrrpInstance>,
    /// Global defaults it uses.
    pub global: Arc<GlobalDefs>,
    /// Its trackers (own, plus its sync group's).
    pub trackers: Vec<TrackDef>,
    /// Its vrrp_sync_group, if any: members go MASTER / BACKUP / FAULT together.
    pub sync_group: Option<String>,
}

impl PartialEq for InstanceSpec {
    fn eq(&self, other: &Self) -> bool {
        use crate::config::diff::same_ignoring_locations as same;
        self.instance.name == other.instance.name
            && self.trackers == other.trackers
            && self.sync_group == other.sync_group
            // Equal with their locations (the usual case: nothing above moved) is cheap and
            // implies equal without them; only otherwise compare ignoring locations.
            && (*self.instance == *other.instance || same(&*self.instance, &*other.instance))
            && (Arc::ptr_eq(&self.global, &other.global) || same(&*self.global, &*other.global))
    }
}

/// Applies a changed configuration to the running instance in place. The daemon decided so
/// ([`crate::vrrp::reconfigure::needs_restart`], asked once by the supervisor): the instance
/// does not decide again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure(pub InstanceSpec);

pub use crate::vrrp::resume::VrrpDurable;

/// Instances started held (`--take-over` prepares them while keepalived still runs): each
/// looks up its interface, opens its socket and waits for its trackers' first results, says it
/// is ready, then keeps its state machine in Initialize (no advert sent, none acted on, no
/// timer) until the hold is released.
#[derive(Clone, Debug)]
pub struct Hold {
    held: tokio::sync::watch::Receiver<bool>,
    ready: tokio::sync::mpsc::UnboundedSender<String>,
    /// This instance said it is ready.
    said: bool,
}

/// The releasing end of a [`Hold`].
#[derive(Debug)]
pub struct HoldRelease {
    held: tokio::sync::watch::Sender<bool>,
    ready: tokio::sync::mpsc::UnboundedReceiver<String>,
    template: Hold,
}

impl HoldRelease {
    /// A new hold, held.
    pub fn new() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(true);
        let (rtx, rrx) = tokio::sync::mpsc::unbounded_channel();
        HoldRelease {
            held: tx,
            ready: rrx,
            template: Hold {
                held: rx,
                ready: rtx,
                said: false,
            },
        }
    }

    /// What an instance is started with.
    pub fn hold(&self) -> Hold {
        self.template.clone()
    }

    /// Waits until `n` instances have their socket open and their trackers' first results (or
    /// `timeout`); returns how many did.
    pub async fn ready(&mut self, n: usize, timeout: Duration) -> usize {
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + timeout;
        while seen < n {
            match tokio::time::timeout_at(deadline, self.ready.recv()).await {
                Ok(Some(_)) => seen += 1,
                _ => break,
            }
        }
        seen
    }

    /// Lets every instance start.
    pub fn release(&self) {
        let _ = self.held.send(false);
    }
}

impl Default for HoldRelease {
    fn default() -> Self {
        Self::new()
    }
}

pub use crate::vrrp::virtual_set::{set_minus, virtual_set_of};

/// Observable status (dumps, `--status`, tests).
pub type Status = crate::vrrp::InstanceStatus;

/// Asks for the current status. With `clear_counters` the dump counters start again from 0
/// after this answer (keepalived's STATS_CLEAR; the Prometheus counters are not touched).
#[derive(Message, Default)]
#[rtype(result = "Option<Status>")]
pub struct GetStatus {
    /// Reset the counters once read.
    pub clear_counters: bool,
}

/// The actor.
pub struct InstanceActor {
    spec: InstanceSpec,
    kernel: Arc<dyn Kernel>,
    durable: Durable<VrrpDurable>,
    core: Option<Instance>,
    reg: Option<Registration>,
    /// The interface adverts are sent and received on (the vmac unless `vmac_xmit_base`).
    iface: InterfaceInfo,
    /// `use_vmac`: the vmac the VIPs go on, created before the instance starts.
    vmac: Option<VmacRequest>,
    /// Armed actix timers by [`Timer::index`], with the instant each fires at. Armed lazily:
    /// a deadline pushed later (every advert a backup hears) keeps the earlier timer, which
    /// re-arms itself for the core's current deadline when it fires.
    timers: [Option<(SpawnHandle, Instant)>; Timer::ALL.len()],
    /// Reused for the core's actions (no allocation per packet).
    actions: Vec<Action>,
    /// The receive loop's filter for repeated identical adverts (see [`Refresh`]), and the
    /// advert it stands for.
    refresh: std::rc::Rc<Refresh>,
    refresh_adv: Option<ReceivedAdvert>,
    /// The latest time given to the core (events are fed in order of this clock).
    clock: Instant,
    /// Tasks forwarding tracker and link broadcasts into the mailbox (aborted on drop).
    forwarders: Vec<AbortOnDrop>,
    auth: V2Auth,
    /// `auth_type AH`: the HMAC key (adverts go out and come in inside an AH).
    ah: Option<AhKey>,
    dsts: Vec<IpAddr>,
    vips: Vec<IpAddr>,
    src: Option<IpAddr>,
    kq: Option<KernelQueue>,
    counters: BTreeMap<&'static str, u64>,
    /// When the current state was entered (for dumps).
    last_transition: SystemTime,
    last_master: Option<IpAddr>,
    /// Unicast peer addresses (kept to avoid a per-packet allocation).
    peers: Vec<IpAddr>,
    /// Encoded adverts by (priority, destination): the bytes only change with the config.
    adv_cache: Vec<(u8, IpAddr, Vec<u8>)>,
    hub: Option<TrackerHub>,
    notifier: Option<Arc<Notifier>>,
    queue: Option<crate::track::notify::NotifyQueue>,
    metrics: Option<Arc<Metrics>>,
    m: Option<VrrpMetrics>,
    cause: Cause,
    /// The last priority change, parent of the transition it leads to (e.g. the peer
    /// preempting a few adverts later).
    prio_cause: Option<(Cause, Instant)>,
    values: HashMap<TrackKey, TrackValue>,
    /// The BFD hold-down (`bfd_hold_down`): a track_bfd raise waits after a drop.
    bfd_hold: BfdHoldDown,
    /// The recompute at the end of a held BFD raise.
    bfd_hold_timer: Option<SpawnHandle>,
    links: HashMap<String, bool>,
    /// The VIPs' interface (the vmac, else the configured interface) is up.
    own_up: bool,
    /// With a vmac: the configured interface under it is up.
    base_up: bool,
    faulted: Option<FaultReason>,
    pending: bool,
    started_core: bool,
    /// The sync-group hub (with a `sync_group` in the spec, the group decides on MASTER).
    sync: Option<SyncHub>,
    /// Last (state, wanted state) reported to the sync group.
    sync_reported: Option<(State, State)>,
    /// Shared VIP claims (a VIP is removed only when no instance claims it).
    claims: Option<VipClaims>,
    /// Our name in the claims (the instance's identity).
    owner: String,
    /// keepalived's `-V`, and whether the instance belongs to the daemon's start.
    release: ReleaseOptions,
    /// Stopping under `-V`: the shutdown's priority-0 advert and removals are skipped.
    keeping: bool,
    /// Started held: the state machine starts once released.
    hold: Option<Hold>,
    /// The VIP firewall's owner (accept mode off: VIPs dropped while MASTER).
    firewall: Option<crate::firewall::FirewallHandle>,
}

/// keepalived's `-V/--dont-release-vrrp`, and whether the instance is part of the daemon's
/// start. (keepalived's `-X/--release-vips` makes it remove, on leaving MASTER, VIPs it
/// added but lost track of after a reload; here leaving MASTER always removes them.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// `-V`: when the daemon stops, VIPs, virtual routes/rules and the vmac stay, and no
    /// priority-0 advert is sent (keepalived skips its whole restore at exit).
    pub dont_release_vrrp: bool,
    /// The instance belongs to the daemon's first configuration (not added by a reload).
    pub daemon_start: bool,
}

impl ReleaseOptions {
    /// Whether a shutdown for `reason` gives the addresses up (priority 0, removals,
    /// vmac deleted). keepalived's `-V` only spares the daemon's stop: an instance removed
    /// by a reload releases as always.
    pub fn releases_on(self, reason: ShutdownReason) -> bool {
        !(self.dont_release_vrrp && reason == ShutdownReason::Terminate)
    }

    /// Whether an instance that starts as BACKUP or FAULT removes its configured VIPs even
    /// though it did not add them (left by a previous run, killed or stopped with `-V`).
    /// keepalived does at daemon start, whatever the flags (its startup restore of the
    /// interfaces that already existed); for an instance a reload adds, its init goes
    /// through the "leave MASTER" path, which removes addresses it did not add only under
    /// `-V` (measured: not under `-X`).
    pub fn clears_at_startup(self) -> bool {
        self.daemon_start || self.dont_release_vrrp
    }
}

impl InstanceActor {
    /// A new actor for `spec`; `durable` carries state across restarts.
    pub fn new(
        spec: InstanceSpec,
        kernel: Arc<dyn Kernel>,
        hub: Option<TrackerHub>,
        notifier: Option<Arc<Notifier>>,
        metrics: Option<Arc<Metrics>>,
        durable: Durable<VrrpDurable>,
    ) -> Self {
        let i = &spec.instance;
        let vips = i.virtual_ipaddress.iter().map(|a| a.addr.addr()).collect();
        let auth = v2_auth(i);
        let ah = ah_key(i);
        let dsts = destinations(i, &spec.global);
        let vmac = vmac_request(i, &spec.global);
        let owner = owner_of(i);
        InstanceActor {
            spec,
            kernel,
            durable,
            core: None,
            reg: None,
            iface: InterfaceInfo::default(),
            vmac,
            timers: Default::default(),
            actions: Vec::new(),
            refresh: Default::default(),
            refresh_adv: None,
            clock: Instant::now(),
            forwarders: Vec::new(),
            auth,
            ah,
            dsts,
            vips,
            src: None,
            kq: None,
            counters: BTreeMap::new(),
            last_transition: SystemTime::now(),
            last_master: None,
            peers: Vec::new(),
            adv_cache: Vec::new(),
            hub,
            notifier,
            queue: None,
            metrics,
            m: None,
            cause: Cause::none(),
            prio_cause: None,
            values: HashMap::new(),
            bfd_hold: BfdHoldDown::default(),
            bfd_hold_timer: None,
            links: HashMap::new(),
            own_up: true,
            base_up: true,
            faulted: None,
            pending: false,
            started_core: false,
            sync: None,
            sync_reported: None,
            claims: None,
            owner,
            release: ReleaseOptions::default(),
            keeping: false,
            hold: None,
            firewall: None,
        }
    }

    /// Drops traffic to the VIPs while MASTER through `fw` when accept mode is off.
    pub fn with_firewall(mut self, fw: Option<crate::firewall::FirewallHandle>) -> Self {
        self.firewall = fw;
        self
    }

    /// keepalived: the drop rule goes in just before the addresses and out just after them;
    /// the firewall owner is not waited for.
    fn firewall_vips(&mut self, set: &VirtualSet, add: bool) {
        let Some(fw) = &self.firewall else { return };
        let old = self.durable.update(|d| std::mem::take(&mut d.firewalled));
        let i = &self.spec.instance;
        let now = if add && crate::firewall::blocks_vips(i) {
            let by_name = i.dont_track_primary && !self.spec.global.nftables_ifindex;
            crate::firewall::fw_addrs(&set.addresses, &set.ifname, by_name)
        } else {
            Vec::new()
        };
        let (gone, new) = crate::firewall::model::diff(&old, &now);
        if !new.is_empty() {
            fw.add(new);
        }
        if !gone.is_empty() {
            fw.remove(gone);
        }
        self.durable.update(|d| d.firewalled = now);
    }

    /// keepalived's `-V` and the daemon's start, for this instance.
    pub fn with_release(mut self, release: ReleaseOptions) -> Self {
        self.release = release;
        self
    }

    /// Starts held until `hold` is released (see [`Hold`]).
    pub fn with_hold(mut self, hold: Hold) -> Self {
        self.hold = Some(hold);
        self
    }

    fn held(&self) -> bool {
        self.hold.as_ref().is_some_and(|h| *h.held.borrow())
    }

    /// While held: once released, start (the trackers' values gathered meanwhile count).
    fn await_release(&mut self, ctx: &mut Context<Self>) {
        let Some(h) = self.hold.clone() else {
            return;
        };
        if !*h.held.borrow() {
            self.hold = None;
            return;
        }
        let mut rx = h.held.clone();
        ctx.spawn(
            async move {
                let _ = rx.wait_for(|held| !*held).await;
            }
            .into_actor(self)
            .map(|_, act, ctx| {
                act.hold = None;
                guarded(act, ctx, |act, ctx| act.recompute(ctx));
            }),
        );
    }

    /// Shares VIP ownership with the other instances through `claims`.
    pub fn with_claims(mut self, claims: VipClaims) -> Self {
        self.claims = Some(claims);
        self
    }

    fn claim(&self, set: &VirtualSet) {
        if let Some(c) = &self.claims {
            c.claim(&self.owner, set);
        }
    }

    fn release(&self, set: &VirtualSet) {
        if let Some(c) = &self.claims {
            c.release(&self.owner, set);
        }
    }

    /// Coordinates with the instance's `vrrp_sync_group` through `hub` (without it, a member
    /// of a sync group behaves like a lone instance except for FAULT).
    pub fn with_sync(mut self, hub: SyncHub) -> Self {
        self.sync = Some(hub);
        self
    }

    /// In a sync group whose hub decides when to become MASTER.
    fn group_decides(&self) -> bool {
        self.sync.is_some() && self.spec.sync_group.is_some()
    }

    /// Tells the sync group our (state, wanted state) if it changed.
    fn report_sync(&mut self) {
        let (Some(hub), Some(group), Some(core)) =
            (&self.sync, &self.spec.sync_group, self.core.as_ref())
        else {
            return;
        };
        let view = (core.state(), core.want_state());
        if self.sync_reported != Some(view) {
            self.sync_reported = Some(view);
            hub.report(group, &self.spec.instance.name, view.0, view.1);
        }
    }

    fn on_sync(&mut self, ctx: &mut Context<Self>, cmd: SyncCommand) {
        if Some(&*cmd.group) != self.spec.sync_group.as_deref()
            || *cmd.member != *self.spec.instance.name
        {
            return;
        }
        let ev = match cmd.to {
            State::Master => Event::SyncMaster,
            State::Backup => Event::SyncBackup,
            _ => return,
        };
        self.event(ctx, ev);
    }

    fn name(&self) -> &str {
        &self.spec.instance.name
    }

    fn count(&mut self, c: &'static str) {
        *self.counters.entry(c).or_default() += 1;
    }

    /// A received packet dropped under `counter`: counted for the stats dump and /metrics.
    fn drop_rx(&mut self, counter: &'static str, src: IpAddr, e: &dyn std::fmt::Display) {
        self.count_drop(counter);
        tracing::debug!(instance = %self.spec.instance.name, "dropped packet from {src}: {e}");
    }

    /// Counts a drop under `counter` (stats dump and /metrics).
    fn count_drop(&mut self, counter: &'static str) {
        self.count(counter);
        if let Some(m) = &self.m {
            if let Some(r) = RxDrop::for_counter(counter) {
                m.rx_drop(r);
            }
        }
    }

    /// The configured interface.
    fn ifname(&self) -> String {
        self.spec
            .instance
            .interface
            .clone()
            .unwrap_or_else(|| "eth0".into())
    }

    /// Where the VIPs go: the vmac, else the configured interface.
    fn vip_ifname(&self) -> String {
        match &self.vmac {
            Some(v) => v.name.clone(),
            None => self.ifname(),
        }
    }

    /// Where adverts are sent and received: the vmac unless `vmac_xmit_base`.
    fn socket_ifname(&self) -> String {
        if self.spec.instance.vmac_xmit_base {
            self.ifname()
        } else {
            self.vip_ifname()
        }
    }

    fn virtual_set(&self) -> VirtualSet {
        let mut set = virtual_set_of(&self.spec.instance);
        set.ifname = self.vip_ifname();
        set
    }

    /// The instance's queue on this thread's kernel executor (its add/remove order is kept).
    fn start_kernel_queue(&mut self) {
        self.kq = Some(KernelQueue::new(
            &self.kernel,
            self.name(),
            self.claims.clone(),
        ));
    }

    /// The GARP / NA spacing for this instance's family.
    fn garp_interval(&self) -> Duration {
        if self.spec.instance.family == CfgFamily::V4 {
            self.spec.global.vrrp_garp_interval
        } else {
            self.spec.global.vrrp_gna_interval
        }
    }

    fn kernel_op(&self, op: KernelOp) {
        if let Some(q) = &self.kq {
            q.push(op);
        }
    }

    /// At the daemon's start, removes what a previous run may have left of this instance's
    /// virtual set (queued first, so any later add comes after it; an address another
    /// instance claims by then is kept).
    fn clear_at_startup(&mut self) {
        let pending = self
            .durable
            .update(|d| std::mem::take(&mut d.startup_clear));
        if !pending {
            return;
        }
        let set = self.virtual_set();
        if set.is_empty() {
            return;
        }
        tracing::info!(
            instance = %self.name(),
            "removing at start what a previous run may have left: {} address(es), {} route(s), {} rule(s)",
            set.addresses.len(),
            set.routes.len(),
            set.rules.len()
        );
        self.kernel_op(KernelOp::Remove(set));
    }

    /// Opens the socket and starts the state machine, given the configured interface
    /// (`base`, whose addresses are the instance's own) and, with `use_vmac`, the vmac.
    fn bring_up(
        &mut self,
        ctx: &mut Context<Self>,
        base: InterfaceInfo,
        vmac: Option<InterfaceInfo>,
    ) {
        let i = self.spec.instance.clone();
        let v6 = i.family == CfgFamily::V6;
        // Adverts leave from the configured interface's address (copied onto an IPv6 vmac).
        let primary: Option<IpAddr> = i.unicast_src_ip.or(i.mcast_src_ip).or_else(|| {
            if v6 {
                base.ipv6_link_local.map(IpAddr::V6)
            } else {
                base.ipv4.first().copied()
            }
        });
        let Some(primary) = primary else {
            tracing::warn!(instance = %i.name, "interface {} has no usable address yet; FAULT until it has one", self.ifname());
            self.schedule_retry(ctx);
            return;
        };
        self.base_up = base.up;
        self.own_up = vmac.as_ref().map_or(base.up, |v| v.up);
        self.iface = match vmac {
            Some(v) if !i.vmac_xmit_base => v,
            _ => base,
        };
        self.src = Some(primary);
        self.peers = i.unicast_peers.iter().map(|p| p.addr).collect();
        self.adv_cache.clear();
        let group = (!i.is_unicast()).then(|| self.dsts[0]);
        let cfg = SocketConfig {
            ifname: self.socket_ifname(),
            ifindex: self.iface.ifindex,
            src: i.unicast_src_ip.or(i.mcast_src_ip),
            group,
            unicast_ttl: i.unicast_ttl.unwrap_or(255),
            ah: self.ah.is_some(),
        };
        let key = SocketKey {
            ifname: cfg.ifname.clone(),
            v6,
            src: cfg.src,
            ah: cfg.ah,
        };
        self.refresh.disarm();
        if let Some(m) = &self.metrics {
            pool::set_metrics(m.clone());
        }
        match pool::register(
            key,
            &cfg,
            i.vrid,
            ctx.address().recipient(),
            self.refresh.clone(),
        ) {
            Ok(r) => self.reg = Some(r),
            Err(e) => {
                tracing::error!(instance = %i.name, "cannot open VRRP socket on {}: {e}", cfg.ifname);
                self.schedule_retry(ctx);
                return;
            }
        }
        let mut params = core_params(&i, &self.spec.global, primary);
        params.sync_group = self.group_decides();
        if let Err(e) = params.check() {
            tracing::error!(instance = %i.name, "invalid parameters: {e}");
            return;
        }
        if let Some(why) = i.config_fault() {
            // keepalived's words (LOG_INFO); the instance then enters FAULT.
            tracing::info!(instance = %i.name, "({}) {why}", i.name);
        }
        self.core = Some(Instance::new(params));
        self.recompute(ctx);
    }

    /// Recomputes the effective priority and fault condition from every tracker and feeds
    /// the changes to the core (starting it once nothing is pending).
    fn recompute(&mut self, ctx: &mut Context<Self>) {
        self.settle(ctx);
        let a = self.assessment(ctx);
        self.publish_member(&a);
        self.pending = a.pending;
        if self.core.is_none() {
            return;
        }
        let now = Instant::now();
        let mut actions = Vec::new();
        if self.started_core {
            self.track_changes(now, &a, &mut actions);
            self.apply(ctx, &mut actions);
            return;
        }
        let Some(start) = self.start_core(now, &a, &mut actions) else {
            return;
        };
        self.apply(ctx, &mut actions);
        self.after_start(ctx, start);
    }

    /// keepalived's tracking decision now: the trackers' values and the links (a BFD raise
    /// held down), and whether another member of the sync group is in fault for its own reasons.
    fn assessment(&mut self, ctx: &mut Context<Self>) -> Assessment {
        let (values, links) = (&self.values, &self.links);
        let mut inputs = track_inputs(
            &self.spec.trackers,
            |name| links.get(name).copied(),
            |kind, name| track_key(kind, name).and_then(|k| values.get(&k).copied()),
        );
        self.hold_bfd_raises(ctx, &mut inputs);
        let other_member_faulted = self.spec.sync_group.as_ref().is_some_and(|group| {
            other_member_faulted(&self.values, group, &self.spec.instance.name)
        });
        let links = Links {
            own_up: self.own_up,
            base_up: self.base_up,
            dont_track_primary: self.spec.instance.dont_track_primary,
        };
        let a = assess(
            self.spec.instance.priority,
            &inputs,
            links,
            other_member_faulted,
        );
        with_config_fault(a, self.spec.instance.config_fault().is_some())
    }

    /// Sync group: publishes our own fault (the others make it theirs) when it changed.
    fn publish_member(&mut self, a: &Assessment) {
        let Some(group) = self.spec.sync_group.clone() else {
            return;
        };
        let me = TrackKey::Member {
            group,
            instance: self.spec.instance.name.clone(),
        };
        let mine = member_value(a);
        if self.values.get(&me) != Some(&mine) {
            self.values.insert(me.clone(), mine);
            if let Some(hub) = &self.hub {
                hub.set(me, mine);
            }
        }
    }

    /// The first pass with a core: keepalived's start ([`resume::start`]: wait, resume as
    /// MASTER, or start from INIT, giving up what a predecessor left), its events handled into
    /// `actions`. None while it waits.
    fn start_core(
        &mut self,
        now: Instant,
        a: &Assessment,
        actions: &mut Vec<Action>,
    ) -> Option<resume::Start> {
        let held = self.held();
        if held && !a.pending {
            // Socket open (there is a core), trackers settled: ready to start at once.
            if let Some(h) = self.hold.as_mut().filter(|h| !h.said) {
                h.said = true;
                let _ = h.ready.send(self.spec.instance.name.clone());
            }
        }
        let prev = self.durable.get();
        let mine = self.virtual_set();
        let start = resume::start(StartInputs {
            pending: a.pending,
            held,
            fault: a.fault,
            effective: a.effective,
            priority: self.core.as_ref()?.effective_priority(),
            previous: &prev,
            mine: &mine,
        })?;
        if let (Some(p), Some(m)) = (start.priority_before, &self.m) {
            m.priority(p, self.spec.instance.priority);
        }
        if let Some(left) = &start.give_up {
            // Not resuming: what the predecessor left installed has no owner now.
            self.release(left);
            if let Some(q) = &self.kq {
                q.push(KernelOp::Remove(left.clone()));
            }
            self.durable.update(|d| d.vips_installed = false);
        }
        let core = self.core.as_mut()?;
        for ev in &start.events {
            actions.extend(core.handle(now, *ev));
        }
        self.started_core = true;
        self.faulted = a.fault;
        Some(start)
    }

    /// A started instance: tracking's changes of fault and priority as events for the core.
    fn track_changes(&mut self, now: Instant, a: &Assessment, actions: &mut Vec<Action>) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        if let Some(ev) = fault_change(self.faulted, a.fault) {
            actions.extend(core.handle(now, ev));
        }
        self.faulted = a.fault;
        let Some(effective) = priority_change(core.effective_priority(), a) else {
            return;
        };
        let (from, state) = (core.effective_priority(), core.state());
        self.priority_changed(from, effective, state);
        if let Some(core) = self.core.as_mut() {
            actions.extend(core.handle(now, Event::PriorityChanged(effective)));
        }
    }

    /// Tracking moved the effective priority `from` -> `to` while in `state`: the span, the
    /// log line, the metric and the notify line (before the change acts).
    fn priority_changed(&mut self, from: u8, to: u8, state: State) {
        let i = &self.spec.instance;
        let span = transition_span(TransitionKind::VrrpPriority, &i.name)
            .vrid(i.vrid)
            .from(&from.to_string())
            .to(&to.to_string())
            .reason("track_priority")
            .priority(i64::from(to))
            .caused_by(&self.cause);
        span.in_scope(|| {
            tracing::info!(instance = %i.name, "effective priority {} -> {}", from, to);
        });
        self.cause = span.cause();
        self.prio_cause = Some((span.cause(), Instant::now()));
        if let Some(m) = &self.m {
            m.priority(to, i.priority);
        }
        // keepalived writes the line in the state held before the change acts.
        if let (Some(n), Some(true)) = (&self.notifier, i.notify.priority_changes) {
            n.priority(&i.name, state, to);
        }
    }

    /// After the start's actions: leftovers of a previous run removed when not MASTER, the
    /// stale part of a resumed set removed, and the trackers' priority taken as a change.
    fn after_start(&mut self, ctx: &mut Context<Self>, start: resume::Start) {
        let master = self.core.as_ref().map(|c| c.state()) == Some(State::Master);
        if start.clears_leftovers(master, self.release.clears_at_startup()) {
            let mut leftovers = self.virtual_set();
            leftovers.routes.clear();
            leftovers.rules.clear();
            tracing::info!(instance = %self.name(), "not MASTER at start: removing VIPs a previous run may have left");
            self.kernel_op(KernelOp::Remove(leftovers));
        }
        if let Some(stale) = start.stale {
            // After the adds the resume queued.
            self.release(&stale);
            self.kernel_op(KernelOp::Remove(stale));
        }
        if start.priority_after {
            // Started now: this pass takes the trackers' priority as a change.
            self.recompute(ctx);
        }
    }

    /// The BFD hold-down: a drop acts at once; a raise after it waits (a recompute is
    /// scheduled for when it may be applied).
    fn hold_bfd_raises(&mut self, ctx: &mut Context<Self>, inputs: &mut [TrackInput]) {
        if self.bfd_hold.hold() != self.spec.global.bfd_hold_down {
            self.bfd_hold = BfdHoldDown::new(self.spec.global.bfd_hold_down);
        }
        let now = Instant::now();
        let o = self.bfd_hold.apply(now, inputs);
        for name in &o.held {
            tracing::info!(
                instance = %self.name(),
                "track_bfd {name} is up again: priority held down for bfd_hold_down ({:?} after its last Down)",
                self.bfd_hold.hold()
            );
        }
        for name in &o.released {
            tracing::info!(instance = %self.name(), "track_bfd {name}: hold-down over, priority raised");
        }
        if let Some(h) = self.bfd_hold_timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = o.next {
            let wait = at.saturating_duration_since(now) + Duration::from_millis(1);
            self.bfd_hold_timer = Some(ctx.run_later(wait, |act, ctx| {
                act.bfd_hold_timer = None;
                guarded(act, ctx, |act, ctx| act.recompute(ctx));
            }));
        }
    }

    fn on_track(&mut self, ctx: &mut Context<Self>, ev: TrackEvent) {
        let member_of_my_group = matches!(&ev.key, TrackKey::Member { group, instance }
            if Some(group) == self.spec.sync_group.as_ref() && *instance != self.spec.instance.name);
        let relevant = member_of_my_group
            || self.spec.trackers.iter().any(|t| match (&ev.key, t.kind) {
                (TrackKey::Script(n), TrackerKind::Script)
                | (TrackKey::File(n), TrackerKind::File)
                | (TrackKey::Process(n), TrackerKind::Process)
                | (TrackKey::Bfd(n), TrackerKind::Bfd) => n == &t.name,
                _ => false,
            });
        // Kept even when not tracked (yet): a reload may add the tracker right after the
        // result arrived (the hub starts new scripts before instances are reconfigured).
        self.values.insert(ev.key, ev.value);
        if relevant {
            self.cause = ev.cause;
            self.recompute(ctx);
            self.cause = Cause::none();
        }
    }

    fn on_link(&mut self, ctx: &mut Context<Self>, ev: LinkEvent) {
        let mut changed = false;
        if ev.ifname == self.vip_ifname() && self.own_up != ev.up {
            tracing::info!(instance = %self.name(), "interface {} is {}", ev.ifname, if ev.up { "up" } else { "down" });
            self.own_up = ev.up;
            changed = true;
        }
        // Without a vmac this is the same interface as above.
        if ev.ifname == self.ifname() && self.base_up != ev.up {
            if self.vmac.is_some() {
                tracing::info!(instance = %self.name(), "interface {} (under {}) is {}", ev.ifname, self.vip_ifname(), if ev.up { "up" } else { "down" });
            }
            self.base_up = ev.up;
            changed = true;
        }
        if self
            .spec
            .trackers
            .iter()
            .any(|t| t.kind == TrackerKind::Interface && t.name == ev.ifname)
            && self.links.insert(ev.ifname.clone(), ev.up) != Some(ev.up)
        {
            changed = true;
        }
        if changed {
            self.recompute(ctx);
        }
    }

    /// Tracker events were missed: the hub's values are the truth.
    fn resync_trackers(&mut self, ctx: &mut Context<Self>) {
        if let Some(hub) = &self.hub {
            self.values = hub.values();
            self.recompute(ctx);
        }
    }

    /// The interfaces named by `track_interface` (the instance's and its group's).
    fn tracked_interfaces(&self) -> Vec<String> {
        self.spec
            .trackers
            .iter()
            .filter(|t| t.kind == TrackerKind::Interface)
            .map(|t| t.name.clone())
            .collect()
    }

    /// Link events were missed: looks up the interfaces this instance depends on again.
    fn refresh_links(&mut self, ctx: &mut Context<Self>) {
        let mut names = self.tracked_interfaces();
        names.push(self.ifname());
        names.push(self.vip_ifname());
        names.sort();
        names.dedup();
        for ifname in names {
            let fut = self.kernel.interface(&ifname);
            ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
                let up = res.map(|i| i.up).unwrap_or(false);
                act.on_link(ctx, LinkEvent { ifname, up });
            }));
        }
    }

    fn subscribe(&mut self, ctx: &mut Context<Self>) {
        let track = self.hub.as_ref().map(|hub| {
            let (snapshot, rx) = hub.subscribe();
            self.values = snapshot;
            rx
        });
        let feeds = Feeds {
            track,
            link: self.kernel.link_events(),
            // Also outside a group: a reload may put the instance in one.
            sync: self.sync.as_ref().map(|hub| hub.subscribe()),
            // Test builds of the environment only (see runtime::fault): panic on request.
            fault: crate::runtime::fault::subscribe(),
        };
        self.forwarders.push(feeds.forward(ctx.address()));
        self.query_tracked_interfaces(ctx);
    }

    /// Asks for the state of tracked interfaces not known yet (at start, and for trackers a
    /// reload adds: link events only report changes); forgets untracked ones.
    fn query_tracked_interfaces(&mut self, ctx: &mut Context<Self>) {
        let tracked = self.tracked_interfaces();
        self.links.retain(|n, _| tracked.contains(n));
        let names: Vec<String> = tracked
            .into_iter()
            .filter(|n| !self.links.contains_key(n))
            .collect();
        for n in names {
            let fut = self.kernel.interface(&n);
            ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
                let still = act
                    .spec
                    .trackers
                    .iter()
                    .any(|t| t.kind == TrackerKind::Interface && t.name == n);
                if still {
                    act.links
                        .entry(n)
                        .or_insert(res.map(|i| i.up).unwrap_or(false));
                    act.recompute(ctx);
                }
            }));
        }
    }

    fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(Duration::from_secs(1), |act, ctx| act.lookup(ctx));
    }

    /// Looks up the interface (creating the vmac on it, if any), then brings the instance up.
    fn lookup(&mut self, ctx: &mut Context<Self>) {
        let kernel = self.kernel.clone();
        let base = self.ifname();
        let vmac = self.vmac.clone();
        let fut = async move {
            let info = kernel.interface(&base).await?;
            let Some(mut req) = vmac else {
                return Ok::<_, anyhow::Error>((info, None));
            };
            req.link_local = info.ipv6_link_local;
            let v = kernel.vmac(req).await?;
            Ok((info, Some(v)))
        };
        ctx.wait(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((base, vmac)) => act.bring_up(ctx, base, vmac),
            Err(e) => {
                tracing::warn!(instance = %act.name(), "interface {}: {e:#}; retrying", act.ifname());
                act.schedule_retry(ctx);
            }
        }));
    }

    fn advert(&self, priority: u8) -> Advertisement {
        let i = &self.spec.instance;
        match i.version {
            crate::config::model::VrrpVersion::V2 => Advertisement::V2(AdvertV2 {
                vrid: i.vrid,
                priority,
                advert_int_s: i.advert_int.as_secs().clamp(1, 255) as u8,
                auth: self.auth,
                addresses: self
                    .vips
                    .iter()
                    .filter_map(|a| match a {
                        IpAddr::V4(v) => Some(*v),
                        IpAddr::V6(_) => None,
                    })
                    .collect(),
            }),
            crate::config::model::VrrpVersion::V3 => Advertisement::V3(AdvertV3 {
                vrid: i.vrid,
                priority,
                max_advert_int_cs: interval_to_wire(Version::V3, i.advert_int),
                addresses: if i.family == CfgFamily::V6 {
                    Addresses::V6(
                        self.vips
                            .iter()
                            .filter_map(|a| {
                                if let IpAddr::V6(v) = a {
                                    Some(*v)
                                } else {
                                    None
                                }
                            })
                            .collect(),
                    )
                } else {
                    Addresses::V4(
                        self.vips
                            .iter()
                            .filter_map(|a| {
                                if let IpAddr::V4(v) = a {
                                    Some(*v)
                                } else {
                                    None
                                }
                            })
                            .collect(),
                    )
                },
            }),
        }
    }

    fn send_advert(&mut self, priority: u8) {
        let Some(src) = self.src else { return };
        if self.reg.is_none() {
            return;
        }
        let ifindex = self.iface.ifindex;
        let mut sent = 0;
        let mut failed = 0;
        // AH: one IP identification and sequence number per advert (every unicast peer gets
        // the same ones, as from keepalived).
        let ah = self.ah.map(|key| {
            let (seq, id) = self
                .durable
                .update(|d| (d.ah_seq.next_send(), ah::next_ip_id(&mut d.ah_ip_id)));
            (key, seq, id)
        });
        let unicast = self.spec.instance.is_unicast();
        let ttl = if unicast {
            self.spec.instance.unicast_ttl.unwrap_or(255)
        } else {
            255
        };
        for k in 0..self.dsts.len() {
            let dst = self.dsts[k];
            if !self
                .adv_cache
                .iter()
                .any(|(p, d, _)| *p == priority && *d == dst)
            {
                let adv = self.advert(priority);
                let mode = match (adv.version(), dst) {
                    (Version::V2, _) => ChecksumMode::MessageOnly,
                    (Version::V3, IpAddr::V6(_)) => ChecksumMode::Kernel,
                    (Version::V3, IpAddr::V4(_)) => ChecksumMode::Standard { src, dst },
                };
                match packet::encode(&adv, mode) {
                    Ok(bytes) => {
                        // Keep the cache small: a handful of priorities at most.
                        if self.adv_cache.len() >= 8 {
                            self.adv_cache.remove(0);
                        }
                        self.adv_cache.push((priority, dst, bytes));
                    }
                    Err(e) => {
                        failed += 1;
                        tracing::error!(instance = %self.spec.instance.name, "cannot encode advert: {e}");
                        continue;
                    }
                }
            }
            let Some((_, _, bytes)) = self
                .adv_cache
                .iter()
                .find(|(p, d, _)| *p == priority && *d == dst)
            else {
                continue;
            };
            let Some(reg) = &self.reg else { return };
            let res = match (ah, src, dst) {
                (Some((key, seq, id)), IpAddr::V4(s4), IpAddr::V4(d4)) => {
                    let p = ah::SendParams {
                        src: s4,
                        dst: d4,
                        id,
                        ttl,
                        seq,
                        unicast,
                    };
                    reg.sock
                        .try_send_from(&ah::encode(bytes, &p, &key), src, dst, ifindex)
                }
                _ => reg.sock.try_send_from(bytes, src, dst, ifindex),
            };
            match res {
                Ok(()) => sent += 1,
                Err(e) => {
                    failed += 1;
                    tracing::debug!(instance = %self.spec.instance.name, "send to {dst}: {e}");
                }
            }
        }
        for _ in 0..sent {
            self.count("advert_sent");
            if let Some(m) = &self.m {
                m.advert_sent(priority);
            }
        }
        for _ in 0..failed {
            self.count("advert_send_err");
        }
        if priority == 0 && sent > 0 {
            self.count("pri_zero_sent");
        }
    }

    fn set_timer(&mut self, ctx: &mut Context<Self>, timer: Timer, at: Instant) {
        let slot = timer.index();
        if let Some((h, armed_at)) = self.timers[slot].take() {
            if armed_at <= at {
                // Lazy: the armed timer fires first and re-arms for the core's deadline.
                self.timers[slot] = Some((h, armed_at));
                return;
            }
            ctx.cancel_future(h);
        }
        self.arm(ctx, timer, at);
    }

    fn cancel_timer(&mut self, ctx: &mut Context<Self>, timer: Timer) {
        if let Some((h, _)) = self.timers[timer.index()].take() {
            ctx.cancel_future(h);
        }
    }

    fn arm(&mut self, ctx: &mut Context<Self>, timer: Timer, at: Instant) {
        let delay = at.saturating_duration_since(Instant::now());
        // tokio's timer wheel has 1 ms granularity and rounds up: the master-down timer (the
        // one failover speed depends on) wakes 2 ms early and sleeps the remainder precisely.
        // It fires once per failover, so the short block of this thread costs nothing.
        let precise = timer == Timer::MasterDown && delay > Duration::from_millis(3);
        let wake = if precise {
            delay - Duration::from_millis(2)
        } else {
            delay
        };
        let h = ctx.run_later(wake, move |act, ctx| {
            act.timers[timer.index()] = None;
            // Catching up changes nothing but the deadline: the repeat filter stays armed.
            act.catch_up(ctx);
            if act.timers[timer.index()].is_some() {
                // Catching up re-armed it (a later deadline).
                return;
            }
            // The core's deadline may have moved on since this timer was armed.
            let deadline = act.core.as_ref().and_then(|c| c.deadline(timer));
            match deadline {
                Some(d) if d > at => act.arm(ctx, timer, d),
                Some(_) => {
                    if precise {
                        let rest = at.saturating_duration_since(Instant::now());
                        if !rest.is_zero() && rest < Duration::from_millis(3) {
                            std::thread::sleep(rest);
                        }
                    }
                    act.event(ctx, Event::TimerExpired(timer));
                }
                None => {}
            }
        });
        self.timers[timer.index()] = Some((h, at));
    }

    fn event(&mut self, ctx: &mut Context<Self>, ev: Event) {
        self.event_at(ctx, Instant::now(), ev);
    }

    /// Handles `ev` at `now`; true when all the core did was push the master-down deadline
    /// of a BACKUP (what a repeated advert from the same master does).
    fn event_at(&mut self, ctx: &mut Context<Self>, now: Instant, ev: Event) -> bool {
        self.settle(ctx);
        let now = self.tick(now);
        let Some(core) = self.core.as_mut() else {
            return false;
        };
        let mut actions = std::mem::take(&mut self.actions);
        core.handle_into(now, ev, &mut actions);
        let refresh_only = core.state() == State::Backup
            && matches!(
                actions.as_slice(),
                [Action::SetTimer {
                    timer: Timer::MasterDown,
                    ..
                }]
            );
        self.apply(ctx, &mut actions);
        if self.actions.capacity() < actions.capacity() {
            self.actions = actions;
        }
        refresh_only
    }

    /// The time the core sees for an event at `at`: never earlier than the last one (an
    /// advert that arrived before a timer fired may be read after it).
    fn tick(&mut self, at: Instant) -> Instant {
        self.clock = self.clock.max(at);
        self.clock
    }

    /// Catches up with adverts the receive loop filtered (see [`Refresh`]) and disarms the
    /// filter: called before the core handles anything else.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        self.refresh.disarm();
        self.catch_up(ctx);
    }

    /// Feeds the core the last advert the receive loop filtered, at its arrival time (the
    /// filter stays as it is: the outcome is the one that armed it, a later deadline).
    fn catch_up(&mut self, ctx: &mut Context<Self>) {
        let (last, hits) = self.refresh.take();
        if hits == 0 {
            return;
        }
        *self.counters.entry("advert_rcvd").or_default() += hits;
        if let Some(m) = &self.m {
            m.adverts_received(hits);
        }
        let (Some(at), Some(adv)) = (last, self.refresh_adv) else {
            return;
        };
        let at = self.tick(at);
        if let Some(core) = self.core.as_mut() {
            let mut actions = std::mem::take(&mut self.actions);
            core.handle_into(at, Event::AdvertReceived(adv), &mut actions);
            self.apply(ctx, &mut actions);
            self.actions = actions;
        }
    }

    /// Performs (and drains) the core's actions.
    fn apply(&mut self, ctx: &mut Context<Self>, actions: &mut Vec<Action>) {
        // A resumed MASTER is not a new state for the outside world: no notify.
        let resumed = actions.iter().any(|a| matches!(a, Action::Transition(t) if t.reason == crate::vrrp::events::Reason::Resume));
        for a in actions.drain(..) {
            if resumed && matches!(a, Action::Notify { .. }) {
                continue;
            }
            match a {
                Action::Transition(t) => {
                    if !self.cause.is_some() {
                        // A priority change shortly before is what led here.
                        if let Some((c, at)) = self.prio_cause.take() {
                            if at.elapsed()
                                < self.spec.instance.advert_int * 10 + Duration::from_secs(1)
                            {
                                self.cause = c;
                            }
                        }
                    }
                    let i = &self.spec.instance;
                    let span = transition_span(TransitionKind::Vrrp, &i.name)
                        .vrid(i.vrid)
                        .interface(i.interface.as_deref().unwrap_or(""))
                        .from(t.from.as_str())
                        .to(t.to.as_str())
                        .reason(t.reason.as_str())
                        .priority(i64::from(t.priority))
                        .caused_by(&self.cause);
                    span.in_scope(|| {
                        // One readable line (the span carries the same words as attributes).
                        tracing::info!("{}", t.describe(&i.name));
                    });
                    // A resumed MASTER (restart, replacement) never stopped being one.
                    let new_master = t.to == State::Master && !resumed;
                    if let Some(m) = &self.m {
                        m.transition(vrrp_state(t.from), vrrp_state(t.to), t.reason.as_str());
                        m.state(vrrp_state(t.to));
                        if new_master {
                            m.master_changed();
                        }
                    }
                    if new_master {
                        self.count("become_master");
                    }
                    if t.to == State::Master && self.ah.is_some() {
                        self.durable.update(|d| d.ah_seq.becoming_master());
                    }
                    if t.from == State::Master {
                        self.count("release_master");
                    }
                    self.durable.update(|d| d.state = Some(t.to));
                    self.last_transition = SystemTime::now();
                }
                // -V: a stopping MASTER says nothing; the VIPs stay where they are.
                Action::SendAdvert { .. } if self.keeping => {}
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::SetTimer { timer, at } => self.set_timer(ctx, timer, at),
                Action::CancelTimer { timer } => self.cancel_timer(ctx, timer),
                Action::AddVips => {
                    let set = self.virtual_set();
                    self.claim(&set);
                    self.firewall_vips(&set, true);
                    self.kernel_op(KernelOp::Add(set.clone()));
                    self.durable.update(|d| {
                        d.vips_installed = true;
                        d.installed = set;
                    });
                }
                Action::RemoveVips if self.keeping => {}
                Action::RemoveVips => {
                    let set = self.virtual_set();
                    self.release(&set);
                    self.kernel_op(KernelOp::Remove(set.clone()));
                    self.firewall_vips(&set, false);
                    self.durable.update(|d| d.vips_installed = false);
                }
                Action::SendGratuitous { count } => self.kernel_op(KernelOp::Garp(
                    self.virtual_set(),
                    count,
                    self.garp_interval(),
                )),
                Action::Notify { state } => {
                    if let Some(n) = &self.notifier {
                        let i = &self.spec.instance;
                        if crate::track::smtp::smtp_alert_enabled(i.smtp_alert, &self.spec.global) {
                            n.email(NotifyTarget::Instance, &i.name, state);
                        }
                    }
                    if let Some(n) = &self.notifier {
                        let prio = self
                            .core
                            .as_ref()
                            .map(|c| c.effective_priority())
                            .unwrap_or(0);
                        n.state(
                            &mut self.queue,
                            &self.spec.instance.notify,
                            NotifyTarget::Instance,
                            &self.spec.instance.name,
                            state,
                            prio,
                        );
                    }
                }
                Action::NotifyMasterRxLowerPri => {
                    tracing::info!(instance = %self.spec.instance.name, "master received lower priority advert");
                }
            }
        }
        self.report_sync();
    }

    /// One received packet: decoded, checked against the configuration, then given to the core
    /// (the AH counter and the statistics follow the verdict).
    fn receive(&mut self, ctx: &mut Context<Self>, rx: super::socket::Received) {
        // Per packet: no clone of the config, no allocation (the hot path of a backup).
        let Some((adv, ah_rx)) = self.decode_rx(&rx) else {
            return;
        };
        // ICV, SPI, then the sequence number above the counter.
        let ah = ah_rx.map(|(p, key)| {
            p.verify(&key, self.spec.instance.is_unicast())
                .and_then(|()| self.durable.lock().ah_seq.check(p.seq))
        });
        let verdict = validate(&adv, &self.rx_context(&rx, ah));
        if let (Some((p, _)), Some(Ok(()))) = (ah_rx, ah) {
            if verdict.passed_auth() {
                self.ah_heard(p.seq, &adv, &verdict, rx.src);
            }
        }
        match verdict {
            Verdict::Drop(crate::vrrp::validate::DropReason::UnknownSource) => {
                self.count_drop("unicast_src_err");
                // keepalived logs each one (LOG_INFO).
                tracing::info!(instance = %self.spec.instance.name, "unicast source address {} not a unicast peer", rx.src);
            }
            Verdict::Drop(r) => {
                self.count_drop(r.counter());
                tracing::debug!(instance = %self.spec.instance.name, "dropped advert from {}: {r}", rx.src);
            }
            Verdict::Accept(notes) => self.accepted(ctx, &rx, &adv, notes),
        }
    }

    /// The advert in a received packet (after the AH with `auth_type AH`, with the AH and our
    /// key), or None when it is not ours or not well formed (counted).
    fn decode_rx<'a>(
        &mut self,
        rx: &'a super::socket::Received,
    ) -> Option<(Advertisement, Option<(ah::AhPacket<'a>, AhKey)>)> {
        let i = &self.spec.instance;
        let family = if i.family == CfgFamily::V6 {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        if Family::of(rx.src) != family {
            return None;
        }
        let v2 = i.version == crate::config::model::VrrpVersion::V2;
        // AH: the socket hands on the whole datagram; the VRRP message follows the AH.
        let mut ah_rx = None;
        let vrrp: &[u8] = match self.ah {
            Some(key) => match ah::split(&rx.payload) {
                // An AH for another protocol is not ours: ignored (as keepalived).
                Ok(p) if p.next_header != ah::IPPROTO_VRRP => return None,
                Ok(p) => {
                    ah_rx = Some((p, key));
                    p.vrrp
                }
                Err(e) => {
                    self.drop_rx(e.counter(), rx.src, &e);
                    return None;
                }
            },
            None => &rx.payload,
        };
        let mode = ChecksumMode::for_received(v2, rx.src, rx.dst);
        match packet::decode(vrrp, family, mode) {
            Ok(adv) => Some((adv, ah_rx)),
            Err(e) => {
                self.drop_rx(e.counter(), rx.src, &e);
                None
            }
        }
    }

    /// What [`validate`] compares a packet from `rx.src` with (`ah`: the AH checks' outcome).
    fn rx_context<'a>(
        &'a self,
        rx: &super::socket::Received,
        ah: Option<Result<(), crate::vrrp::validate::DropReason>>,
    ) -> RxContext<'a> {
        let i = &self.spec.instance;
        let unicast = i.is_unicast();
        let peer = i.unicast_peers.iter().find(|p| p.addr == rx.src);
        RxContext {
            version: if i.version == crate::config::model::VrrpVersion::V2 {
                Version::V2
            } else {
                Version::V3
            },
            vrid: i.vrid,
            ttl_check: TtlCheck::for_source(unicast, peer.map(|p| (p.min_ttl, p.max_ttl))),
            ttl: rx.ttl,
            auth: self.auth,
            advert_int: i.advert_int,
            vips: &self.vips,
            check_vips: !(i.skip_check_adv_addr && self.last_master == Some(rx.src)),
            src: rx.src,
            allowed_sources: allowed_sources(
                unicast,
                i.check_unicast_src,
                self.spec.global.vrrp_check_unicast_src,
                &self.peers,
            ),
            owner_ignores_adverts: false,
            ah,
        }
    }

    /// An advert numbered `seq` from `src` passed the AH checks: the shared counter moves.
    fn ah_heard(&mut self, seq: u32, adv: &Advertisement, verdict: &Verdict, src: IpAddr) {
        let core = self.core.as_ref();
        let heard = ah::Heard {
            state: core.map(|c| c.state()),
            accepted: matches!(verdict, Verdict::Accept(_)),
            priority: adv.priority(),
            ours: core.map(|c| c.effective_priority()),
            order: self
                .src
                .map_or(std::cmp::Ordering::Equal, |ours| addr_order(src, ours)),
        };
        self.durable.update(|d| d.ah_seq.heard(seq, heard));
    }

    /// An accepted advert: counted, then an event for the core (or, when it only refreshes the
    /// master's timer, armed for the socket's fast path).
    fn accepted(
        &mut self,
        ctx: &mut Context<Self>,
        rx: &super::socket::Received,
        adv: &Advertisement,
        notes: crate::vrrp::validate::AcceptNotes,
    ) {
        self.count("advert_rcvd");
        if let Some(m) = &self.m {
            m.advert_received(adv.priority());
        }
        if notes.vip_mismatch {
            self.count("addr_list_err");
            // Accepted (RFC 9568): counted apart from the drops.
            if let Some(m) = &self.m {
                m.addr_list_mismatch();
            }
            tracing::warn!(instance = %self.spec.instance.name, "advert from {} has a different address list (accepted)", rx.src);
        }
        if notes.priority_zero {
            self.count("pri_zero_rcvd");
        }
        self.last_master = Some(rx.src);
        let radv = ReceivedAdvert::from_packet(rx.src, adv);
        // Timed from its arrival in the kernel, however late it was read.
        let refresh_only = self.event_at(ctx, rx.at, Event::AdvertReceived(radv));
        // Never with AH: each advert's sequence number must be checked.
        if refresh_only && !notes.vip_mismatch && !notes.priority_zero && self.ah.is_none() {
            // The next identical adverts only need their arrival time recorded.
            self.refresh.arm(rx);
            self.refresh_adv = Some(radv);
        }
    }

    /// The configured values the exporters' metrics carry: garp_master_delay and the excluded
    /// addresses (`keepalived_vrrp_garp_master_delay_seconds`, `keepalived_vrrp_excluded_state`).
    fn metric_config(&self) {
        let Some(m) = &self.m else { return };
        let i = &self.spec.instance;
        let dev = i.interface.as_deref().unwrap_or("");
        let excluded: Vec<(String, String)> = i
            .virtual_ipaddress_excluded
            .iter()
            .map(|a| (a.text(), a.dev.clone().unwrap_or_else(|| dev.to_string())))
            .collect();
        m.config(
            super::params::garp_master_delay(i, &self.spec.global),
            &excluded,
        );
    }

    /// Applies `new` in place (the supervisor decided it needs no restart).
    fn reconfigure(&mut self, ctx: &mut Context<Self>, new: InstanceSpec) {
        self.settle(ctx);
        let old_set = self.virtual_set();
        let installed = self.durable.get().vips_installed;
        self.spec = new;
        let i = self.spec.instance.clone();
        self.vips = i.virtual_ipaddress.iter().map(|a| a.addr.addr()).collect();
        self.auth = v2_auth(&i);
        self.ah = ah_key(&i);
        self.dsts = destinations(&i, &self.spec.global);
        self.peers = i.unicast_peers.iter().map(|p| p.addr).collect();
        self.adv_cache.clear();
        let new_set = self.virtual_set();
        if let Some(VipChange { remove, add, garp }) = vip_change(&old_set, &new_set, installed) {
            self.release(&remove);
            self.claim(&add);
            // keepalived's clear_diff_vrrp_vip: new VIPs dropped, old ones not, and an
            // accept-mode change adds or removes them all.
            self.firewall_vips(&new_set, true);
            if !remove.is_empty() {
                self.kernel_op(KernelOp::Remove(remove));
            }
            if !add.is_empty() {
                self.kernel_op(KernelOp::Add(add.clone()));
                if garp {
                    let repeat = i
                        .garp_master_repeat
                        .unwrap_or(self.spec.global.vrrp_garp_master_repeat);
                    self.kernel_op(KernelOp::Garp(add, repeat, self.garp_interval()));
                }
            }
            self.durable.update(|d| d.installed = new_set);
        } else if let Some(c) = &self.claims {
            // The reload claimed our new addresses while we were MASTER; we are not (any
            // more): let them go (a removal skips what others still claim).
            let freed = c.release_all(&self.owner, &new_set.ifname);
            if !freed.addresses.is_empty() {
                self.kernel_op(KernelOp::Remove(freed));
            }
        }
        let sync_group = self.group_decides();
        // The group may have changed: tell it (again) where we are.
        self.sync_reported = None;
        if let (Some(core), Some(src)) = (self.core.as_mut(), self.src) {
            let mut params = core_params(&i, &self.spec.global, src);
            params.sync_group = sync_group;
            core.update_params(params);
        }
        self.metric_config();
        tracing::info!(instance = %i.name, "configuration applied in place");
        self.query_tracked_interfaces(ctx);
        self.recompute(ctx);
    }

    fn status(&self) -> Option<Status> {
        let core = self.core.as_ref();
        let state = core.map(|c| c.state()).unwrap_or(State::Initialize);
        Some(Status {
            name: self.name().to_string(),
            state,
            want_state: core.map(|c| c.want_state()).unwrap_or(state),
            priority: core
                .map(|c| c.effective_priority())
                .unwrap_or(self.spec.instance.priority),
            master: core.and_then(|c| c.master()).map(|m| (m.addr, m.priority)),
            last_advert_src: self.last_master,
            master_adver_int: core
                .map(|c| c.master_adver_int())
                .unwrap_or(self.spec.instance.advert_int),
            last_transition: self.last_transition,
            vips_set: self.durable.get().vips_installed,
            src_ip: self.src,
            counters: self.counters.clone(),
        })
    }
}

impl Actor for InstanceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            act.start_kernel_queue();
            act.clear_at_startup();
            let i = act.spec.instance.clone();
            act.m = act.metrics.as_ref().map(|m| {
                let h = m.vrrp_instance(&i.name, i.interface.as_deref().unwrap_or(""), i.vrid);
                h.state(VrrpState::Init);
                h.priority(i.priority, i.priority);
                h
            });
            act.metric_config();
            act.subscribe(ctx);
            act.await_release(ctx);
            act.lookup(ctx);
        });
    }
}

impl Supervised for InstanceActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Rebuild everything but the configuration and the durable state.
        let fresh = InstanceActor::new(
            self.spec.clone(),
            self.kernel.clone(),
            self.hub.clone(),
            self.notifier.clone(),
            self.metrics.clone(),
            self.durable.clone(),
        );
        let sync = self.sync.take();
        let claims = self.claims.take();
        let hold = self.hold.take();
        let firewall = self.firewall.take();
        *self = fresh;
        self.sync = sync;
        self.claims = claims;
        self.hold = hold;
        self.firewall = firewall;
    }
}

impl Handler<Packet> for InstanceActor {
    type Result = ();

    fn handle(&mut self, msg: Packet, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| act.receive(ctx, msg.0));
    }
}

impl Handler<Reconfigure> for InstanceActor {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Context<Self>) {
        let _ = guarded(self, ctx, |act, ctx| act.reconfigure(ctx, msg.0));
    }
}

impl Handler<GetStatus> for InstanceActor {
    type Result = Option<Status>;

    fn handle(&mut self, msg: GetStatus, ctx: &mut Context<Self>) -> Option<Status> {
        // Counters include the adverts the receive loop only time-stamped.
        self.catch_up(ctx);
        let status = self.status();
        if msg.clear_counters {
            self.counters.clear();
        }
        status
    }
}

/// DBus `SendGarp`: one round of gratuitous ARPs/NAs for the VIPs, when they are set
/// (keepalived's `vrrp_send_link_update(vrrp, 1)`; nothing otherwise).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendGarp;

impl Handler<SendGarp> for InstanceActor {
    type Result = ();

    fn handle(&mut self, _msg: SendGarp, _ctx: &mut Context<Self>) {
        if self.durable.get().vips_installed {
            tracing::info!(instance = %self.name(), "sending gratuitous ARP/NA on DBus request");
            self.kernel_op(KernelOp::Garp(self.virtual_set(), 1, self.garp_interval()));
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
enum TrackMsg {
    Event(TrackEvent),
    /// Events were missed: take the hub's current values.
    Lagged,
}
#[derive(Message)]
#[rtype(result = "()")]
enum LinkMsg {
    Event(LinkEvent),
    /// Events were missed: look the interfaces up again.
    Lagged,
}
#[derive(Message)]
#[rtype(result = "()")]
struct SyncMsg(SyncCommand);
#[derive(Message)]
#[rtype(result = "()")]
struct FaultMsg(crate::runtime::fault::Inject);

impl Handler<FaultMsg> for InstanceActor {
    type Result = ();

    fn handle(&mut self, _msg: FaultMsg, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, _ctx| {
            if crate::runtime::fault::targets(act.name()) {
                panic!(
                    "fault injection: VRRP instance {} panics on request",
                    act.name()
                );
            }
        });
    }
}

impl Handler<SyncMsg> for InstanceActor {
    type Result = ();

    fn handle(&mut self, msg: SyncMsg, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| act.on_sync(ctx, msg.0));
    }
}

impl Handler<TrackMsg> for InstanceActor {
    type Result = ();

    fn handle(&mut self, msg: TrackMsg, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| match msg {
            TrackMsg::Event(ev) => act.on_track(ctx, ev),
            TrackMsg::Lagged => act.resync_trackers(ctx),
        });
    }
}

impl Handler<LinkMsg> for InstanceActor {
    type Result = ();

    fn handle(&mut self, msg: LinkMsg, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| match msg {
            LinkMsg::Event(ev) => act.on_link(ctx, ev),
            LinkMsg::Lagged => act.refresh_links(ctx),
        });
    }
}

/// The core's parameters for this daemon: the config's, with adverts on the daemon's grid.
fn core_params(
    i: &VrrpInstance,
    g: &GlobalDefs,
    primary: IpAddr,
) -> crate::vrrp::params::InstanceParams {
    let mut p = instance_params(i, g, primary);
    p.advert_epoch = Some(advert_epoch());
    p.delayed_start = delayed_start(g);
    p
}

/// The broadcasts an instance listens to, forwarded into its mailbox by one task of its own
/// (not context streams: actix polls every stream of a context each time the actor wakes,
/// i.e. for every received advert; one task, not one per broadcast, keeps an idle instance
/// small).
struct Feeds {
    track: Option<tokio::sync::broadcast::Receiver<TrackEvent>>,
    link: Option<tokio::sync::broadcast::Receiver<LinkEvent>>,
    sync: Option<tokio::sync::broadcast::Receiver<SyncCommand>>,
    fault: Option<tokio::sync::broadcast::Receiver<crate::runtime::fault::Inject>>,
}

impl Feeds {
    fn forward(mut self, addr: Addr<InstanceActor>) -> AbortOnDrop {
        AbortOnDrop(actix_rt::spawn(async move {
            while self.track.is_some()
                || self.link.is_some()
                || self.sync.is_some()
                || self.fault.is_some()
            {
                tokio::select! {
                    r = next(&mut self.track) => {
                        deliver(r, &mut self.track, &addr, TrackMsg::Event, Some(TrackMsg::Lagged))
                    }
                    r = next(&mut self.link) => {
                        deliver(r, &mut self.link, &addr, LinkMsg::Event, Some(LinkMsg::Lagged))
                    }
                    r = next(&mut self.sync) => deliver(r, &mut self.sync, &addr, SyncMsg, None),
                    r = next(&mut self.fault) => deliver(r, &mut self.fault, &addr, FaultMsg, None),
                }
                if !addr.connected() {
                    return;
                }
            }
        }))
    }
}

/// The next event of an optional receiver (never, without one).
async fn next<T: Clone>(
    rx: &mut Option<tokio::sync::broadcast::Receiver<T>>,
) -> Result<T, tokio::sync::broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Puts one received event into the mailbox (unbounded: a tracker change must never be
/// dropped); after missed events, `lagged` (the actor catches up from the source, if it
/// can); a closed broadcast is forgotten.
fn deliver<A, T, M>(
    r: Result<T, tokio::sync::broadcast::error::RecvError>,
    rx: &mut Option<tokio::sync::broadcast::Receiver<T>>,
    addr: &Addr<A>,
    wrap: fn(T) -> M,
    lagged: Option<M>,
) where
    A: Actor<Context = Context<A>> + Handler<M>,
    M: Message<Result = ()> + Send + 'static,
{
    use tokio::sync::broadcast::error::RecvError;
    match r {
        Ok(v) => addr.do_send(wrap(v)),
        Err(RecvError::Lagged(n)) => {
            tracing::debug!("instance forwarder lagged: {n} event(s) missed");
            if let Some(m) = lagged {
                addr.do_send(m);
            }
        }
        Err(RecvError::Closed) => *rx = None,
    }
}

/// A task handle that aborts the task when dropped (the actor's forwarders die with it,
/// including when the supervisor rebuilds it after a panic).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Handler<Shutdown> for InstanceActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        let _ = guarded(self, ctx, |act, ctx| {
            tracing::debug!(instance = %act.name(), "shutdown ({:?})", msg.reason);
            let master = act.core.as_ref().map(|c| c.state()) == Some(State::Master);
            let how = resume::stop(StopInputs {
                replaced: msg.reason == ShutdownReason::Replaced,
                terminate: msg.reason == ShutdownReason::Terminate,
                releases: act.release.releases_on(msg.reason),
                master,
                vips_installed: act.durable.get().vips_installed,
            });
            match how {
                Stop::HandOver => {
                    // Its successor (same identity, new socket-level settings) resumes as
                    // MASTER from the durable state: no priority 0, the VIPs stay.
                    tracing::info!(instance = %act.name(), "replaced: handing over as MASTER, VIPs kept");
                }
                Stop::Keep => {
                    // -V: STOP is still notified; no priority 0, addresses and vmac stay.
                    act.keeping = true;
                    if master {
                        tracing::info!(instance = %act.name(), "stopping as MASTER with --dont-release-vrrp: no priority 0, VIPs and virtual routes/rules kept");
                    }
                    act.event(ctx, Event::Shutdown);
                }
                Stop::Release { remove_configured } => {
                    // The core sends the priority-0 advert (if MASTER) and asks to remove the VIPs.
                    act.event(ctx, Event::Shutdown);
                    if remove_configured {
                        // Not holding them: whatever of its virtual set is in the kernel anyway
                        // (a startup removal that failed, an operator's copy) is not left behind
                        // by a daemon that exits; an address another instance claims stays.
                        let set = act.virtual_set();
                        if !set.is_empty() {
                            act.kernel_op(KernelOp::Remove(set));
                        }
                    }
                }
            }
        });
        // Stop receiving, then wait until the kernel queue has done everything asked so far.
        self.reg = None;
        // The vmac goes with the instance, after its VIPs (a restarted or replaced instance
        // adopts it).
        if msg.reason != ShutdownReason::Replaced && !self.keeping {
            if let Some(v) = &self.vmac {
                self.kernel_op(KernelOp::DeleteVmac(v.name.clone()));
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.kernel_op(KernelOp::Flush(tx));
        self.kq = None;
        let drained = self.queue.as_ref().map(|q| q.drained());
        Box::pin(
            async move {
                let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
                if let Some(d) = drained {
                    let _ = tokio::time::timeout(Duration::from_secs(2), d).await;
                }
            }
            .into_actor(self),
        )
    }
}

#[cfg(test)]
mod release_tests {
    use super::*;

    #[test]
    fn dont_release_vrrp_spares_only_the_daemon_stop() {
        let v = ReleaseOptions {
            dont_release_vrrp: true,
            ..ReleaseOptions::default()
        };
        assert!(!v.releases_on(ShutdownReason::Terminate));
        assert!(v.releases_on(ShutdownReason::Removed));
        assert!(v.releases_on(ShutdownReason::Replaced));
        assert!(v.clears_at_startup());
        let d = ReleaseOptions::default();
        assert!(d.releases_on(ShutdownReason::Terminate));
        assert!(!d.clears_at_startup());
        let start = ReleaseOptions {
            daemon_start: true,
            ..ReleaseOptions::default()
        };
        assert!(start.clears_at_startup());
    }
}

#[cfg(test)]
mod forward_tests {
    use super::*;

    #[derive(Message, Clone, Debug, PartialEq)]
    #[rtype(result = "()")]
    enum Msg {
        Event(u32),
        Lagged,
    }

    #[derive(Default)]
    struct Rec(Vec<Msg>);
    impl Actor for Rec {
        type Context = Context<Self>;
    }
    impl Handler<Msg> for Rec {
        type Result = ();
        fn handle(&mut self, m: Msg, _: &mut Context<Self>) {
            self.0.push(m);
        }
    }
    #[derive(Message)]
    #[rtype(result = "Vec<Msg>")]
    struct Take;
    impl Handler<Take> for Rec {
        type Result = Vec<Msg>;
        fn handle(&mut self, _: Take, _: &mut Context<Self>) -> Vec<Msg> {
            std::mem::take(&mut self.0)
        }
    }

    #[test]
    fn a_lagging_forwarder_says_so_and_goes_on() {
        actix_rt::System::new().block_on(async {
            let addr = Rec::default().start();
            let (tx, rx) = tokio::sync::broadcast::channel(2);
            // Five events before anything is received: only the last two are left.
            for i in 0..5 {
                let _ = tx.send(i);
            }
            drop(tx);
            let mut rx = Some(rx);
            while rx.is_some() {
                let r = next(&mut rx).await;
                deliver(r, &mut rx, &addr, Msg::Event, Some(Msg::Lagged));
            }
            let got = addr.send(Take).await.unwrap_or_default();
            assert_eq!(got, [Msg::Lagged, Msg::Event(3), Msg::Event(4)]);
        });
    }
}
