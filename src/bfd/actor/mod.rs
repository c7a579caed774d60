//! The BFD session actor: one per `bfd_instance`, on the BFD arbiter. It owns the sans-IO
//! [`Session`], its send socket, its place in the receive [`dispatch`]
//! table and one timer per [`TimerKind`]; it reports state changes to the
//! [`BfdRegistry`] (broadcast for `track_bfd` / `BFD_CHECK`, metrics, transition spans).
//!
//! Started by the daemon's child factory with [`start_session`] for each entry of
//! [`bfd_children`]. With `-B` the daemon simply starts none (the registry stays empty).
//!
//! - A crash (panic caught by `guarded`) restarts the actor with a fresh session but the same
//!   local discriminator.
//! - `Shutdown { Replaced }` (reload with changed parameters) hands the running session over
//!   to the successor through [`BfdDurable`]: the successor keeps the discriminator, source
//!   port and state and applies the new timers with a Poll Sequence (RFC 5880 §6.8.3), so the
//!   peer sees no flap.
//! - `Shutdown { Removed | Terminate }` sends AdminDown (diag 7), so the peer goes Down with
//!   "neighbor signaled session down" instead of waiting for its detection time.

pub mod dispatch;
pub mod registry;
pub mod socket;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rt::ArbiterHandle;

use self::dispatch::{PeerKey, Registration, RxPacket};
use self::registry::BfdRegistry;
use self::socket::TxSocket;
use super::packet::{Diag, State, PORT_MULTI_HOP, PORT_SINGLE_HOP};
use super::params::SessionParams;
use super::session::{Action, DiscardReason, Event, Session, SessionStatus, TimerKind};
use super::timers::SplitMix64;
use crate::config::model::{BfdInstance, Config};
use crate::runtime::{
    guarded, spawn_child, ChildHandle, ChildOptions, Durable, Shutdown, ShutdownReason,
};
use crate::telemetry::metrics::{count_bfd_drop, BfdDrop};
use crate::telemetry::{transition_span, TransitionKind};

/// Shutdown stage of BFD sessions: after the VRRP instances (stage 0), so that a stopping
/// daemon's trackers do not see its own sessions go AdminDown first.
pub const BFD_STAGE: u8 = 1;

/// TTL / hop limit of single-hop control packets (RFC 5881 §5).
pub const SINGLE_HOP_TTL: u8 = 255;

/// What a session actor is started with (compared on reload: equal = left alone).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BfdSpec {
    /// `bfd_instance` name (the key for `track_bfd` / `BFD_CHECK` and in events).
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip` (sent from, and matched for demultiplexing when set).
    pub source: Option<IpAddr>,
    /// Timers, multiplier, passive.
    pub params: SessionParams,
    /// `multihop`: port 4784 instead of 3784.
    pub multihop: bool,
    /// TTL / hop limit on send (`ttl` / `hoplimit`; 255 unless configured).
    pub tx_ttl: u8,
    /// Smallest TTL / hop limit accepted (`ttl - max_hops`; `None` with `max_hops 255`).
    pub min_rx_ttl: Option<u8>,
    /// `disabled`: stays AdminDown and sends nothing.
    pub disabled: bool,
}

impl BfdSpec {
    /// The spec of a configured `bfd_instance` (`None` without `neighbor_ip`, which the
    /// configuration check already reported as an error).
    ///
    /// TTL: keepalived keeps `ttl` and `hoplimit` in one field (the last one given wins),
    /// defaulting to 255 for IPv4 and 64 for IPv6. We send 255 for both families unless one of
    /// them is configured, because RFC 5881 §5 requires 255 on single-hop sessions and FRR
    /// drops anything else. Receive check (keepalived's GTSM extension): a packet whose TTL /
    /// hop limit is below `ttl - max_hops` is dropped; `max_hops 255` disables the check.
    pub fn from_config(b: &BfdInstance) -> Option<BfdSpec> {
        let neighbor = b.neighbor_ip?;
        let (ttl_set, hop_set) = (b.spans.get("ttl"), b.spans.get("hoplimit"));
        let tx_ttl = match (ttl_set, hop_set) {
            (Some(t), Some(h)) => {
                if h.line > t.line {
                    b.hoplimit
                } else {
                    b.ttl
                }
            }
            (Some(_), None) => b.ttl,
            (None, Some(_)) => b.hoplimit,
            (None, None) => SINGLE_HOP_TTL,
        };
        let min_rx_ttl = (b.max_hops != u8::MAX).then(|| tx_ttl - b.max_hops.min(tx_ttl));
        Some(BfdSpec {
            name: b.name.clone(),
            neighbor,
            source: b.source_ip,
            params: SessionParams {
                min_tx: b.min_tx,
                min_rx: b.min_rx,
                idle_tx: b.idle_tx,
                multiplier: b.multiplier,
                passive: b.passive,
            },
            multihop: b.multihop,
            tx_ttl,
            min_rx_ttl,
            disabled: b.disabled,
        })
    }

    /// A single-hop spec with keepalived's defaults (tests, tools).
    pub fn new(name: &str, neighbor: IpAddr, params: SessionParams) -> BfdSpec {
        BfdSpec {
            name: name.to_string(),
            neighbor,
            source: None,
            params,
            multihop: false,
            tx_ttl: SINGLE_HOP_TTL,
            min_rx_ttl: Some(SINGLE_HOP_TTL),
            disabled: false,
        }
    }

    /// Destination (and receive) port.
    pub fn port(&self) -> u16 {
        if self.multihop {
            PORT_MULTI_HOP
        } else {
            PORT_SINGLE_HOP
        }
    }

    fn peer_key(&self) -> PeerKey {
        PeerKey {
            port: self.port(),
            peer: self.neighbor,
            local: self.source,
        }
    }
}

/// The sessions to run for a configuration, keyed by `bfd_instance` name.
pub fn bfd_children(cfg: &Config) -> Vec<(String, BfdSpec)> {
    cfg.bfd_instances
        .iter()
        .filter_map(|b| BfdSpec::from_config(b).map(|s| (b.name.clone(), s)))
        .collect()
}

/// What survives a restart (after a panic) or is handed to a successor on reload.
#[derive(Clone, Debug, Default)]
pub struct BfdDurable {
    /// Our discriminator (kept across restarts and replacements).
    pub local_discr: u32,
    /// Source port of the send socket (reused by a successor when free).
    pub tx_port: Option<u16>,
    /// Set by a predecessor shut down with `Replaced`: its discriminator is ours now.
    pub inherit: bool,
    /// The predecessor's session and the peer it belongs to (taken by the successor).
    pub handover: Option<(PeerKey, Session)>,
}

/// Status of a session actor (dumps, tests).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BfdSessionStatus {
    /// `bfd_instance` name.
    pub name: String,
    /// The session, once the sockets are open.
    pub session: Option<SessionStatus>,
    /// Local address and source port of the send socket.
    pub local: Option<SocketAddr>,
    /// Counters.
    pub counters: BTreeMap<&'static str, u64>,
}

/// Asks for the [`BfdSessionStatus`].
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "Option<BfdSessionStatus>")]
pub struct GetStatus;

/// Applies new local timers to the running session (Poll Sequence when Up).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct SetParams(pub SessionParams);

/// Administratively enables (leave AdminDown) or disables (AdminDown, diag 7) the session.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub struct SetEnabled(pub bool);

/// Starts the session actor for `spec` on `arbiter` (the BFD arbiter) under supervision,
/// with name `bfd_instance NAME` and shutdown stage [`BFD_STAGE`]. `previous` is the handle
/// of the child this one replaces (reload), whose session is taken over.
pub fn start_session(
    arbiter: &ArbiterHandle,
    spec: BfdSpec,
    registry: BfdRegistry,
    previous: Option<&ChildHandle>,
) -> anyhow::Result<ChildHandle> {
    let opts = ChildOptions::new(format!("bfd_instance {}", spec.name)).stage(BFD_STAGE);
    start_session_with(arbiter, opts, spec, registry, previous)
}

/// [`start_session`] with explicit child options (event bus, policy, stage).
pub fn start_session_with(
    arbiter: &ArbiterHandle,
    opts: ChildOptions,
    spec: BfdSpec,
    registry: BfdRegistry,
    previous: Option<&ChildHandle>,
) -> anyhow::Result<ChildHandle> {
    let durable = previous
        .and_then(|p| p.durable::<BfdDurable>())
        .unwrap_or_default();
    let d = durable.clone();
    let h = spawn_child(arbiter, opts, move |_| {
        BfdSessionActor::new(spec, registry, d)
    })?;
    Ok(h.with_durable(durable))
}

/// The actor. See the module documentation.
pub struct BfdSessionActor {
    spec: BfdSpec,
    registry: BfdRegistry,
    durable: Durable<BfdDurable>,
    discr: u32,
    /// The discriminator and registry entry were released, or now belong to a successor.
    released: bool,
    session: Option<Session>,
    tx: Option<TxSocket>,
    reg: Option<Registration>,
    timers: [Option<SpawnHandle>; 2],
    retry: Option<SpawnHandle>,
    rng: SplitMix64,
    buf: Vec<u8>,
    counters: BTreeMap<&'static str, u64>,
}

fn timer_index(t: TimerKind) -> usize {
    match t {
        TimerKind::Tx => 0,
        TimerKind::Detect => 1,
    }
}

/// A snake_case token for a diagnostic (span `reason` attribute).
pub fn diag_token(d: Diag) -> &'static str {
    match d {
        Diag::None => "none",
        Diag::ControlDetectionTimeExpired => "detection_time_expired",
        Diag::EchoFunctionFailed => "echo_failed",
        Diag::NeighborSignaledDown => "neighbor_signaled_down",
        Diag::ForwardingPlaneReset => "forwarding_plane_reset",
        Diag::PathDown => "path_down",
        Diag::ConcatenatedPathDown => "concatenated_path_down",
        Diag::AdministrativelyDown => "admin_down",
        Diag::ReverseConcatenatedPathDown => "reverse_concatenated_path_down",
        Diag::Reserved(_) => "reserved",
    }
}

impl BfdSessionActor {
    /// A new actor; takes its discriminator from `durable` (restart, handover) or the
    /// registry.
    pub fn new(spec: BfdSpec, registry: BfdRegistry, durable: Durable<BfdDurable>) -> Self {
        let (old, inherit) = {
            let d = durable.lock();
            (d.local_discr, d.inherit)
        };
        let discr = if old != 0 && (inherit || registry.reserve_discr(old)) {
            old
        } else {
            registry.allocate_discr()
        };
        durable.update(|d| {
            d.local_discr = discr;
            d.inherit = false;
        });
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ (u64::from(discr) << 32)
            ^ u64::from(std::process::id());
        BfdSessionActor {
            spec,
            registry,
            durable,
            discr,
            released: false,
            session: None,
            tx: None,
            reg: None,
            timers: [None, None],
            retry: None,
            rng: SplitMix64(seed),
            buf: Vec::with_capacity(64),
            counters: BTreeMap::new(),
        }
    }

    fn count(&mut self, c: &'static str) {
        *self.counters.entry(c).or_default() += 1;
    }

    /// Opens the sockets and starts (or takes over) the session; retries every second
    /// while the source address is missing or a socket cannot be opened.
    fn bring_up(&mut self, ctx: &mut Context<Self>) {
        self.retry = None;
        if self.tx.is_none() {
            let preferred = self.durable.lock().tx_port;
            let peer = SocketAddr::new(self.spec.neighbor, self.spec.port());
            match TxSocket::open(
                peer,
                self.spec.source,
                self.spec.tx_ttl,
                preferred,
                &mut self.rng,
            ) {
                Ok(tx) => {
                    let port = tx.local().port();
                    self.durable.update(|d| d.tx_port = Some(port));
                    self.tx = Some(tx);
                }
                Err(e) => return self.retry_later(ctx, format!("cannot open send socket: {e}")),
            }
        }
        if self.reg.is_none() {
            match dispatch::register(self.discr, self.spec.peer_key(), ctx.address().recipient()) {
                Ok(r) => self.reg = Some(r),
                Err(e) => return self.retry_later(ctx, format!("cannot receive: {e}")),
            }
        }
        if self.session.is_some() {
            return;
        }
        let handover = self.durable.update(|d| d.handover.take());
        let now = Instant::now();
        match handover {
            Some((key, mut s)) if key == self.spec.peer_key() && s.local_discr() == self.discr => {
                tracing::info!(
                    "BFD_Instance({}) taking over the running session ({})",
                    self.spec.name,
                    s.state()
                );
                self.registry
                    .set_quiet(&self.spec.name, s.state(), s.local_diag(), self.discr);
                let mut actions = Vec::new();
                for (kind, at) in [
                    (TimerKind::Tx, s.tx_deadline()),
                    (TimerKind::Detect, s.detect_deadline()),
                ] {
                    if let Some(at) = at {
                        actions.push(Action::SetTimer { timer: kind, at });
                    }
                }
                if s.params() != &self.spec.params {
                    actions.extend(s.handle(
                        Event::SetParams(&self.spec.params),
                        now,
                        &mut self.rng,
                    ));
                }
                let enable = !self.spec.disabled && s.state() == State::AdminDown;
                let disable = self.spec.disabled && s.state() != State::AdminDown;
                if enable {
                    actions.extend(s.handle(Event::Enable, now, &mut self.rng));
                } else if disable {
                    actions.extend(s.handle(Event::Disable, now, &mut self.rng));
                }
                self.session = Some(s);
                self.apply(ctx, actions);
            }
            _ => {
                let mut s = Session::new(self.spec.params.clone(), self.discr);
                self.registry
                    .set_quiet(&self.spec.name, State::AdminDown, Diag::None, self.discr);
                let actions = if self.spec.disabled {
                    Vec::new()
                } else {
                    s.handle(Event::Enable, now, &mut self.rng)
                };
                self.session = Some(s);
                self.apply(ctx, actions);
            }
        }
    }

    fn retry_later(&mut self, ctx: &mut Context<Self>, why: String) {
        self.count("socket_error");
        tracing::warn!("BFD_Instance({}) {why}; retrying in 1 s", self.spec.name);
        if self.registry.state(&self.spec.name).is_none() {
            self.registry
                .set_quiet(&self.spec.name, State::AdminDown, Diag::None, self.discr);
        }
        let h = ctx.run_later(Duration::from_secs(1), |act, ctx| {
            guarded(act, ctx, |act, ctx| act.bring_up(ctx));
        });
        self.retry = Some(h);
    }

    fn event(&mut self, ctx: &mut Context<Self>, ev: Event<'_>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let actions = s.handle(ev, Instant::now(), &mut self.rng);
        self.apply(ctx, actions);
    }

    fn apply(&mut self, ctx: &mut Context<Self>, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Transmit(p) => {
                    self.buf.clear();
                    p.encode(&mut self.buf);
                    self.send_buf();
                }
                Action::SetTimer { timer, at } => self.set_timer(ctx, timer, at),
                Action::CancelTimer(timer) => {
                    if let Some(h) = self.timers[timer_index(timer)].take() {
                        ctx.cancel_future(h);
                    }
                }
                Action::StateChanged { from, to, diag } => self.state_changed(from, to, diag),
                Action::Discarded(r) => {
                    let (counter, reason) = match r {
                        DiscardReason::WrongDiscriminator { .. } => {
                            ("rx_wrong_discriminator", BfdDrop::WrongDiscriminator)
                        }
                        DiscardReason::AuthenticationNotInUse => {
                            ("rx_auth_not_in_use", BfdDrop::Auth)
                        }
                        DiscardReason::LocalAdminDown => {
                            ("rx_while_admin_down", BfdDrop::AdminDown)
                        }
                    };
                    self.count(counter);
                    count_bfd_drop(reason);
                }
            }
        }
    }

    fn send_buf(&mut self) {
        let Some(tx) = &self.tx else { return };
        match tx.send(&self.buf) {
            Ok(()) => self.count("tx_packets"),
            Err(e) => {
                self.count("tx_errors");
                tracing::debug!("BFD_Instance({}) send: {e}", self.spec.name);
            }
        }
    }

    fn set_timer(&mut self, ctx: &mut Context<Self>, timer: TimerKind, at: Instant) {
        let i = timer_index(timer);
        if let Some(h) = self.timers[i].take() {
            ctx.cancel_future(h);
        }
        let delay = at.saturating_duration_since(Instant::now());
        let h = ctx.run_later(delay, move |act, ctx| {
            guarded(act, ctx, |act, ctx| {
                act.timers[i] = None;
                act.event(ctx, Event::Timer(timer));
            });
        });
        self.timers[i] = Some(h);
    }

    fn state_changed(&mut self, from: State, to: State, diag: Diag) {
        let remote_diag = self
            .session
            .as_ref()
            .map(|s| s.remote().diag)
            .unwrap_or(Diag::None);
        let span = transition_span(TransitionKind::Bfd, &self.spec.name)
            .from(&from.to_string())
            .to(&to.to_string())
            .reason(diag_token(diag));
        span.in_scope(|| {
            tracing::info!(
                bfd = %self.spec.name,
                from = %from,
                to = %to,
                diag = diag_token(diag),
                "BFD_Instance({}) Entering {} state (local diag - {}, remote diag - {})",
                self.spec.name,
                to,
                diag,
                remote_diag
            );
        });
        if to == State::Up {
            self.count("up");
        } else if from == State::Up {
            self.count("down");
        }
        self.registry
            .publish(&self.spec.name, from, to, diag, self.discr);
    }

    fn receive(&mut self, ctx: &mut Context<Self>, rx: RxPacket) {
        self.count("rx_packets");
        if rx.src.ip() != self.spec.neighbor || rx.port != self.spec.port() {
            self.count("rx_wrong_source");
            count_bfd_drop(BfdDrop::WrongSource);
            tracing::debug!(
                "BFD_Instance({}) discarding packet from {} (not the neighbor)",
                self.spec.name,
                rx.src
            );
            return;
        }
        if let Some(min) = self.spec.min_rx_ttl {
            match rx.ttl {
                Some(t) if t < min => {
                    self.count("rx_ttl_drop");
                    count_bfd_drop(BfdDrop::Ttl);
                    tracing::debug!(
                        "BFD_Instance({}) packet {}({t}) < {min} - discarding",
                        self.spec.name,
                        if rx.src.is_ipv4() { "ttl" } else { "hop_limit" }
                    );
                    return;
                }
                Some(_) => {}
                // keepalived accepts a packet whose TTL was not reported.
                None => self.count("rx_no_ttl"),
            }
        }
        self.event(ctx, Event::Packet(&rx.packet));
    }

    fn status(&self) -> BfdSessionStatus {
        BfdSessionStatus {
            name: self.spec.name.clone(),
            session: self.session.as_ref().map(|s| s.status()),
            local: self.tx.as_ref().map(|t| t.local()),
            counters: self.counters.clone(),
        }
    }

    fn cancel_all(&mut self, ctx: &mut Context<Self>) {
        for t in &mut self.timers {
            if let Some(h) = t.take() {
                ctx.cancel_future(h);
            }
        }
        if let Some(h) = self.retry.take() {
            ctx.cancel_future(h);
        }
    }

    fn shutdown(&mut self, ctx: &mut Context<Self>, reason: ShutdownReason) {
        tracing::debug!("BFD_Instance({}) shutdown ({reason:?})", self.spec.name);
        self.cancel_all(ctx);
        if reason == ShutdownReason::Replaced {
            let key = self.spec.peer_key();
            let session = self.session.take();
            self.durable.update(|d| {
                d.inherit = true;
                d.handover = session.map(|s| (key, s));
            });
            self.released = true;
        } else if let Some(s) = self.session.as_mut() {
            if s.state() != State::AdminDown {
                let actions = s.handle(Event::Disable, Instant::now(), &mut self.rng);
                self.apply(ctx, actions);
                // The AdminDown packet went out once; two more copies make its loss unlikely
                // (identical packets are harmless).
                for _ in 0..2 {
                    self.send_buf();
                }
                self.cancel_all(ctx);
            }
        }
        if reason != ShutdownReason::Replaced && !self.released {
            self.registry.remove(&self.spec.name);
            self.registry.release_discr(self.discr);
            self.released = true;
        }
        self.reg = None;
        self.tx = None;
    }
}

impl Drop for BfdSessionActor {
    fn drop(&mut self) {
        if !self.released {
            self.registry.remove(&self.spec.name);
            self.registry.release_discr(self.discr);
        }
    }
}

impl Actor for BfdSessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| act.bring_up(ctx));
    }
}

impl Supervised for BfdSessionActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // The context's timers are gone; rebuild everything but the spec and discriminator.
        tracing::warn!(
            "BFD_Instance({}) restarting with a fresh session",
            self.spec.name
        );
        self.timers = [None, None];
        self.retry = None;
        self.session = None;
        self.reg = None;
        self.tx = None;
        self.counters.clear();
    }
}

impl Handler<RxPacket> for BfdSessionActor {
    type Result = ();

    fn handle(&mut self, msg: RxPacket, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| act.receive(ctx, msg));
    }
}

impl Handler<GetStatus> for BfdSessionActor {
    type Result = Option<BfdSessionStatus>;

    fn handle(&mut self, _: GetStatus, ctx: &mut Context<Self>) -> Option<BfdSessionStatus> {
        guarded(self, ctx, |act, _| act.status())
    }
}

impl Handler<SetParams> for BfdSessionActor {
    type Result = ();

    fn handle(&mut self, msg: SetParams, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            act.spec.params = msg.0.clone();
            act.event(ctx, Event::SetParams(&msg.0));
        });
    }
}

impl Handler<SetEnabled> for BfdSessionActor {
    type Result = ();

    fn handle(&mut self, msg: SetEnabled, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            act.spec.disabled = !msg.0;
            act.event(ctx, if msg.0 { Event::Enable } else { Event::Disable });
        });
    }
}

impl Handler<Shutdown> for BfdSessionActor {
    type Result = ();

    fn handle(&mut self, msg: Shutdown, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| act.shutdown(ctx, msg.reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, LoadOptions};

    fn load(text: &str) -> Config {
        let loaded = config::load_str("k.conf", text, &LoadOptions::default());
        assert!(
            !loaded.diagnostics.has_errors(),
            "{:?}",
            loaded.diagnostics.sorted()
        );
        loaded.config
    }

    #[test]
    fn specs_follow_keepalived_defaults_and_ttl_rules() {
        let cfg = load(
            "bfd_instance a {\n neighbor_ip 10.0.0.2\n}\n\
             bfd_instance b {\n neighbor_ip fd00::2\n source_ip fd00::1\n min_rx 50\n min_tx 20\n idle_tx 2000\n multiplier 3\n passive\n max_hops 10\n}\n\
             bfd_instance c {\n neighbor_ip 10.0.0.3\n ttl 200\n max_hops 255\n multihop\n disabled\n}\n\
             bfd_instance d {\n neighbor_ip fd00::3\n hoplimit 64\n max_hops 100\n}\n\
             bfd_instance e {\n neighbor_ip 10.0.0.4\n ttl 10\n hoplimit 20\n}\n",
        );
        let specs: BTreeMap<String, BfdSpec> = bfd_children(&cfg).into_iter().collect();
        let a = &specs["a"];
        assert_eq!(a.params, SessionParams::default());
        assert_eq!((a.tx_ttl, a.min_rx_ttl, a.port()), (255, Some(255), 3784));
        assert_eq!(a.source, None);
        assert!(!a.disabled);
        let b = &specs["b"];
        assert_eq!(b.source, Some("fd00::1".parse().unwrap()));
        assert_eq!(
            b.params,
            SessionParams {
                min_tx: Duration::from_millis(20),
                min_rx: Duration::from_millis(50),
                idle_tx: Duration::from_millis(2000),
                multiplier: 3,
                passive: true
            }
        );
        assert_eq!((b.tx_ttl, b.min_rx_ttl), (255, Some(245)));
        let c = &specs["c"];
        assert_eq!((c.tx_ttl, c.min_rx_ttl, c.port()), (200, None, 4784));
        assert!(c.disabled);
        let d = &specs["d"];
        // max_hops above ttl is clamped to ttl: everything accepted.
        assert_eq!((d.tx_ttl, d.min_rx_ttl), (64, Some(0)));
        // Both given: the later one wins (one field in keepalived).
        assert_eq!(specs["e"].tx_ttl, 20);
    }

    #[test]
    fn diag_tokens_are_snake_case() {
        for b in 0..32u8 {
            let t = diag_token(Diag::from_bits(b));
            assert!(t.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{t}");
        }
    }
}
