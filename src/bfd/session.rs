//! One BFD session (RFC 5880 §6.8, asynchronous mode, no echo, no authentication) as a
//! sans-IO state machine.
//!
//! The owner (an actor) feeds [`Event`]s with the current time and a [`RandomSource`] and
//! carries out the returned [`Action`]s: it sends [`Action::Transmit`] packets, keeps one
//! timer per [`TimerKind`] armed at the last [`Action::SetTimer`] deadline (replacing the
//! previous one) and reports [`Action::StateChanged`] to trackers. Nothing here reads a
//! clock, sleeps or touches a socket.

use std::time::{Duration, Instant};

use super::packet::{ControlPacket, Diag, Flags, State};
use super::params::{from_micros, to_micros, SessionParams};
use super::timers::{detection_time, jittered, tx_interval, RandomSource};

/// The two timers a session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// Periodic transmission.
    Tx,
    /// Control detection time (no packet from the peer).
    Detect,
}

/// Input to [`Session::handle`].
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Leave AdminDown (a new session starts AdminDown): go Down and start sending.
    Enable,
    /// Administratively disable: AdminDown, diag 7 (RFC 5880 §6.8.16).
    Disable,
    /// A control packet that passed [`ControlPacket::decode`] and was demultiplexed to
    /// this session (by Your Discriminator, or by addresses when it is zero).
    Packet(&'a ControlPacket),
    /// A timer armed by [`Action::SetTimer`] fired.
    Timer(TimerKind),
    /// New local parameters (reload); applied per RFC 5880 §6.8.3 with a Poll Sequence.
    SetParams(&'a SessionParams),
}

/// Why a packet handed to the session was not acted upon (for counters and debug logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardReason {
    /// Your Discriminator is neither 0 nor ours.
    WrongDiscriminator {
        /// Value in the packet.
        got: u32,
    },
    /// The A bit is set but this session uses no authentication.
    AuthenticationNotInUse,
    /// We are AdminDown: the peer's values were recorded but the packet ignored (§6.8.6).
    LocalAdminDown,
}

/// Output of [`Session::handle`], to be carried out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this packet to the peer now.
    Transmit(ControlPacket),
    /// (Re)arm the timer to fire at `at`, replacing any earlier deadline of that kind. The
    /// deadline may already have passed (e.g. a shorter detection time after a
    /// reconfiguration): fire at once.
    SetTimer {
        /// Which timer.
        timer: TimerKind,
        /// Absolute deadline.
        at: Instant,
    },
    /// Disarm the timer.
    CancelTimer(TimerKind),
    /// The local session state changed; `diag` is the local diagnostic now advertised.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Reason.
        diag: Diag,
    },
    /// The packet was dropped.
    Discarded(DiscardReason),
}

/// What we last heard from the peer (the `bfd.Remote*` variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RemoteInfo {
    /// bfd.RemoteDiscr (0 until heard, and again after a detection time of silence).
    pub discr: u32,
    /// bfd.RemoteSessionState.
    pub state: State,
    /// Peer's last Diag.
    pub diag: Diag,
    /// bfd.RemoteMinRxInterval (initially 1 µs).
    pub min_rx: Duration,
    /// Peer's last Desired Min TX Interval.
    pub desired_min_tx: Duration,
    /// Peer's last Detect Mult.
    pub detect_mult: u8,
    /// bfd.RemoteDemandMode.
    pub demand: bool,
}

/// A read-only view of a session for state dumps and telemetry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionStatus {
    /// Local state.
    pub state: State,
    /// Local diagnostic.
    pub local_diag: Diag,
    /// Our discriminator.
    pub local_discr: u32,
    /// Peer's values.
    pub remote: RemoteInfo,
    /// Desired Min TX we advertise.
    pub desired_min_tx: Duration,
    /// Required Min RX we advertise.
    pub required_min_rx: Duration,
    /// Negotiated transmit interval before jitter.
    pub tx_interval: Duration,
    /// Current detection time, once the peer has been heard.
    pub detection_time: Option<Duration>,
    /// A Poll Sequence is in progress.
    pub poll_active: bool,
}

/// One BFD session. See the module documentation for how to drive it.
#[derive(Debug, Clone)]
pub struct Session {
    params: SessionParams,
    local_discr: u32,
    state: State,
    local_diag: Diag,
    remote: RemoteInfo,
    heard: bool,
    /// bfd.DesiredMinTxInterval, as advertised.
    desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval, as advertised.
    required_min_rx: Duration,
    /// Desired Min TX used for our transmit interval (an increase waits for the Final).
    tx_in_use: Duration,
    /// Required Min RX used for our detection time (a decrease waits for the Final).
    rx_in_use: Duration,
    poll_active: bool,
    /// Set by the first [`Event::Enable`]; nothing is sent before.
    started: bool,
    /// Time of the last accepted packet (reference of the detection timer).
    last_rx: Option<Instant>,
    tx_at: Option<Instant>,
    /// Negotiated interval the pending `tx_at` was computed from.
    tx_at_interval: Duration,
    detect_at: Option<Instant>,
}

impl Session {
    /// A new session in AdminDown with no timers; send [`Event::Enable`] to start it.
    /// `local_discr` must be non-zero and unique on this system (the owner allocates it).
    pub fn new(params: SessionParams, local_discr: u32) -> Session {
        let slow = params.slow_tx();
        let rx = params.min_rx;
        Session {
            params,
            local_discr: local_discr.max(1),
            state: State::AdminDown,
            local_diag: Diag::None,
            remote: RemoteInfo {
                discr: 0,
                state: State::Down,
                diag: Diag::None,
                min_rx: Duration::from_micros(1),
                desired_min_tx: Duration::ZERO,
                detect_mult: 0,
                demand: false,
            },
            heard: false,
            desired_min_tx: slow,
            required_min_rx: rx,
            tx_in_use: slow,
            rx_in_use: rx,
            poll_active: false,
            started: false,
            last_rx: None,
            tx_at: None,
            tx_at_interval: Duration::ZERO,
            detect_at: None,
        }
    }

    /// Local state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Local diagnostic (reason of the last state change).
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    /// Our discriminator.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// The peer's discriminator (0 if not known).
    pub fn remote_discr(&self) -> u32 {
        self.remote.discr
    }

    /// What we last heard from the peer.
    pub fn remote(&self) -> &RemoteInfo {
        &self.remote
    }

    /// Current local parameters.
    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    /// Deadline of the transmit timer, if armed.
    pub fn tx_deadline(&self) -> Option<Instant> {
        self.tx_at
    }

    /// Deadline of the detection timer, if armed.
    pub fn detect_deadline(&self) -> Option<Instant> {
        self.detect_at
    }

    /// Negotiated transmit interval before jitter (§6.8.2).
    pub fn tx_interval(&self) -> Duration {
        tx_interval(self.tx_in_use, self.remote.min_rx)
    }

    /// Detection time (§6.8.4), once the peer has been heard.
    pub fn detection_time(&self) -> Option<Duration> {
        self.heard.then(|| {
            detection_time(
                self.remote.detect_mult,
                self.rx_in_use,
                self.remote.desired_min_tx,
            )
        })
    }

    /// A Poll Sequence is in progress.
    pub fn poll_active(&self) -> bool {
        self.poll_active
    }

    /// A serialisable snapshot.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            local_diag: self.local_diag,
            local_discr: self.local_discr,
            remote: self.remote,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            tx_interval: self.tx_interval(),
            detection_time: self.detection_time(),
            poll_active: self.poll_active,
        }
    }

    /// Feeds one event at time `now`; returns what to do, in order.
    pub fn handle(
        &mut self,
        event: Event<'_>,
        now: Instant,
        rng: &mut dyn RandomSource,
    ) -> Vec<Action> {
        let before = (self.tx_at, self.detect_at);
        let mut out = Vec::new();
        match event {
            Event::Enable => self.enable(now, rng, &mut out),
            Event::Disable => self.disable(now, rng, &mut out),
            Event::Packet(pkt) => self.receive(pkt, now, rng, &mut out),
            Event::Timer(TimerKind::Tx) => self.tx_timer(now, rng, &mut out),
            Event::Timer(TimerKind::Detect) => self.detect_timer(now, rng, &mut out),
            Event::SetParams(p) => self.set_params(p.clone(), now, rng, &mut out),
        }
        let stale_fire = matches!(event, Event::Timer(_));
        Self::sync_timer(TimerKind::Tx, before.0, self.tx_at, stale_fire, &mut out);
        Self::sync_timer(
            TimerKind::Detect,
            before.1,
            self.detect_at,
            stale_fire,
            &mut out,
        );
        out
    }

    /// Emits timer actions for a changed deadline. After any timer event the deadline is
    /// re-announced so an early or stale fire can never leave a timer disarmed.
    fn sync_timer(
        timer: TimerKind,
        old: Option<Instant>,
        new: Option<Instant>,
        reannounce: bool,
        out: &mut Vec<Action>,
    ) {
        if old == new && !reannounce {
            return;
        }
        match new {
            Some(at) => out.push(Action::SetTimer { timer, at }),
            None if old.is_some() => out.push(Action::CancelTimer(timer)),
            None => {}
        }
    }

    fn enable(&mut self, now: Instant, rng: &mut dyn RandomSource, out: &mut Vec<Action>) {
        if self.state != State::AdminDown {
            return;
        }
        self.started = true;
        self.set_state(State::Down, Diag::None, out);
        self.tx_at = None;
        self.arm_tx(now, rng, out);
    }

    fn disable(&mut self, now: Instant, rng: &mut dyn RandomSource, out: &mut Vec<Action>) {
        if self.state == State::AdminDown {
            return;
        }
        // AdminDown packets keep going at the slow rate (§6.8.16 asks for at least a
        // detection time's worth; going silent would let the peer time out with diag 1
        // instead of seeing AdminDown). The detection timer keeps running but is no longer
        // refreshed, so bfd.RemoteDiscr is forgotten after a detection time.
        self.set_state(State::AdminDown, Diag::AdministrativelyDown, out);
        self.transmit_now(false, now, rng, out);
    }

    /// RFC 5880 §6.8.6 from "Your Discriminator nonzero" on; the packet-local checks were
    /// done by the decoder.
    fn receive(
        &mut self,
        pkt: &ControlPacket,
        now: Instant,
        rng: &mut dyn RandomSource,
        out: &mut Vec<Action>,
    ) {
        if pkt.your_discr != 0 && pkt.your_discr != self.local_discr {
            out.push(Action::Discarded(DiscardReason::WrongDiscriminator {
                got: pkt.your_discr,
            }));
            return;
        }
        if pkt.auth.is_some() {
            out.push(Action::Discarded(DiscardReason::AuthenticationNotInUse));
            return;
        }
        self.heard = true;
        self.remote = RemoteInfo {
            discr: pkt.my_discr,
            state: pkt.state,
            diag: pkt.diag,
            min_rx: from_micros(pkt.required_min_rx),
            desired_min_tx: from_micros(pkt.desired_min_tx),
            detect_mult: pkt.detect_mult,
            demand: pkt.flags.demand,
        };
        if pkt.flags.final_ && self.poll_active {
            self.poll_active = false;
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
        }
        if self.state == State::AdminDown {
            self.arm_tx(now, rng, out);
            out.push(Action::Discarded(DiscardReason::LocalAdminDown));
            return;
        }

        let from = self.state;
        match (from, pkt.state) {
            (State::Init | State::Up, State::AdminDown) => {
                self.set_state(State::Down, Diag::NeighborSignaledDown, out)
            }
            (_, State::AdminDown) => {}
            (State::Down, State::Down) => self.set_state(State::Init, Diag::None, out),
            (State::Down, State::Init) => self.set_state(State::Up, Diag::None, out),
            (State::Init, State::Init | State::Up) => self.set_state(State::Up, Diag::None, out),
            (State::Up, State::Down) => {
                self.set_state(State::Down, Diag::NeighborSignaledDown, out)
            }
            _ => {}
        }

        self.last_rx = Some(now);
        self.detect_at = self.detection_time().map(|d| now + d);

        if pkt.flags.poll || self.state != from {
            // A Final is sent at once regardless of the transmit timer (§6.8.6); a state
            // change is announced at once too, and periodic sending restarts from it.
            self.transmit_now(pkt.flags.poll, now, rng, out);
        } else {
            self.arm_tx(now, rng, out);
        }
    }

    fn tx_timer(&mut self, now: Instant, rng: &mut dyn RandomSource, out: &mut Vec<Action>) {
        match self.tx_at {
            Some(at) if now >= at => {
                self.tx_at = None;
                self.arm_tx(now, rng, out);
            }
            _ => {}
        }
    }

    fn detect_timer(&mut self, now: Instant, rng: &mut dyn RandomSource, out: &mut Vec<Action>) {
        match self.detect_at {
            Some(at) if now >= at => {}
            _ => return,
        }
        self.detect_at = None;
        // §6.8.1: bfd.RemoteDiscr is zeroed after a detection time without packets.
        self.remote.discr = 0;
        if matches!(self.state, State::Init | State::Up) {
            self.last_rx = None;
            self.set_state(State::Down, Diag::ControlDetectionTimeExpired, out);
            self.transmit_now(false, now, rng, out);
        } else {
            self.arm_tx(now, rng, out);
        }
    }

    fn set_params(
        &mut self,
        params: SessionParams,
        now: Instant,
        rng: &mut dyn RandomSource,
        out: &mut Vec<Action>,
    ) {
        self.params = params;
        if self.state == State::Up {
            let mut changed = false;
            let tx = self.params.min_tx;
            if tx != self.desired_min_tx {
                changed = true;
                self.desired_min_tx = tx;
                // §6.8.3: an increase waits for the end of the Poll Sequence.
                if tx < self.tx_in_use {
                    self.tx_in_use = tx;
                }
            }
            let rx = self.params.min_rx;
            if rx != self.required_min_rx {
                changed = true;
                self.required_min_rx = rx;
                // §6.8.3: a decrease waits for the end of the Poll Sequence.
                if rx > self.rx_in_use {
                    self.rx_in_use = rx;
                }
            }
            if changed {
                self.poll_active = true;
            }
        } else {
            self.desired_min_tx = self.params.slow_tx();
            self.tx_in_use = self.desired_min_tx;
            self.required_min_rx = self.params.min_rx;
            self.rx_in_use = self.required_min_rx;
        }
        if let (Some(d), Some(last), Some(_)) =
            (self.detection_time(), self.last_rx, self.detect_at)
        {
            if self.state != State::AdminDown {
                self.detect_at = Some(last + d);
            }
        }
        self.arm_tx(now, rng, out);
    }

    /// Changes state and the advertised TX interval that goes with it (§6.8.3).
    fn set_state(&mut self, to: State, diag: Diag, out: &mut Vec<Action>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diag;
        if to == State::Up {
            let tx = self.params.min_tx;
            if tx != self.desired_min_tx {
                self.desired_min_tx = tx;
                self.poll_active = true;
                if tx < self.tx_in_use {
                    self.tx_in_use = tx;
                }
            }
        } else if from == State::Up || self.desired_min_tx != self.params.slow_tx() {
            self.poll_active = false;
            self.desired_min_tx = self.params.slow_tx();
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
        }
        out.push(Action::StateChanged { from, to, diag });
    }

    /// §6.8.7: may we send periodic packets now?
    fn may_transmit(&self) -> bool {
        if !self.started || (self.params.passive && self.remote.discr == 0) {
            return false;
        }
        if self.remote.min_rx.is_zero() {
            return false;
        }
        let remote_demand =
            self.remote.demand && self.state == State::Up && self.remote.state == State::Up;
        !remote_demand || self.poll_active
    }

    /// Keeps the periodic timer consistent: disarmed when sending is not allowed, sends at
    /// once when it becomes allowed, and pulls the deadline in when the interval shrank.
    fn arm_tx(&mut self, now: Instant, rng: &mut dyn RandomSource, out: &mut Vec<Action>) {
        if !self.may_transmit() {
            self.tx_at = None;
            return;
        }
        match self.tx_at {
            None => self.transmit_now(false, now, rng, out),
            Some(at) => {
                let interval = self.tx_interval();
                if interval < self.tx_at_interval {
                    let next = now + jittered(interval, self.params.detect_mult(), rng);
                    self.tx_at = Some(next.min(at));
                    self.tx_at_interval = interval;
                }
            }
        }
    }

    /// Sends one packet now (with F if answering a Poll) and restarts the periodic timer.
    fn transmit_now(
        &mut self,
        final_: bool,
        now: Instant,
        rng: &mut dyn RandomSource,
        out: &mut Vec<Action>,
    ) {
        let may = self.may_transmit();
        if !may && !final_ {
            self.tx_at = None;
            return;
        }
        out.push(Action::Transmit(self.build(final_)));
        let interval = self.tx_interval();
        self.tx_at_interval = interval;
        self.tx_at = may.then(|| now + jittered(interval, self.params.detect_mult(), rng));
    }

    /// The control packet describing our current state (§6.8.7).
    pub fn build(&self, final_: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            flags: Flags {
                poll: self.poll_active && !final_,
                final_,
                cpi: false,
                demand: false,
                multipoint: false,
            },
            detect_mult: self.params.detect_mult(),
            my_discr: self.local_discr,
            your_discr: self.remote.discr,
            desired_min_tx: to_micros(self.desired_min_tx),
            required_min_rx: to_micros(self.required_min_rx),
            required_min_echo_rx: 0,
            auth: None,
        }
    }
}
