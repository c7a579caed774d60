//! A deterministic two-node simulator: two [`Session`]s wired back to back through the
//! codec, with injected time, a fixed one-way latency and per-direction packet loss.

use std::time::{Duration, Instant};

use crate::bfd::{
    Action, ControlPacket, Diag, Event, Session, SessionParams, SplitMix64, State, TimerKind,
};

pub const MS: Duration = Duration::from_millis(1);

/// One simulated system: the session plus the timers and a log of what it did.
pub struct Node {
    pub s: Session,
    pub tx_at: Option<Instant>,
    pub detect_at: Option<Instant>,
    /// (time since start, packet) for every packet sent.
    pub sent: Vec<(Duration, ControlPacket)>,
    /// (time since start, from, to, diag) for every state change.
    pub changes: Vec<(Duration, State, State, Diag)>,
    pub discarded: usize,
}

impl Node {
    fn new(params: SessionParams, discr: u32) -> Node {
        Node {
            s: Session::new(params, discr),
            tx_at: None,
            detect_at: None,
            sent: Vec::new(),
            changes: Vec::new(),
            discarded: 0,
        }
    }

    pub fn last_change(&self) -> Option<(State, State, Diag)> {
        self.changes.last().map(|c| (c.1, c.2, c.3))
    }

    /// Gaps between consecutive packets sent in `[from, to)` that carry no Final bit and
    /// are not the first packet after a state change.
    pub fn periodic_gaps(&self, from: Duration, to: Duration) -> Vec<Duration> {
        let times: Vec<Duration> = self
            .sent
            .iter()
            .filter(|(t, p)| *t >= from && *t < to && !p.flags.final_)
            .map(|(t, _)| *t)
            .collect();
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// Two nodes, A (index 0) and B (index 1).
pub struct Pair {
    pub t0: Instant,
    pub now: Instant,
    pub n: [Node; 2],
    /// (arrival, destination, encoded packet).
    in_flight: Vec<(Instant, usize, Vec<u8>)>,
    pub latency: Duration,
    /// `deliver[i]`: packets sent by node i reach the other node.
    pub deliver: [bool; 2],
    pub rng: SplitMix64,
}

pub const DISCR_A: u32 = 0xa0a0_0001;
pub const DISCR_B: u32 = 0xb0b0_0002;

impl Pair {
    pub fn new(a: SessionParams, b: SessionParams) -> Pair {
        let t0 = Instant::now();
        Pair {
            t0,
            now: t0,
            n: [Node::new(a, DISCR_A), Node::new(b, DISCR_B)],
            in_flight: Vec::new(),
            latency: Duration::from_micros(100),
            deliver: [true, true],
            rng: SplitMix64(0x5eed),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Feeds `ev` to node `i` now and carries out the actions.
    pub fn event(&mut self, i: usize, ev: Event<'_>) {
        let actions = self.n[i].s.handle(ev, self.now, &mut self.rng);
        self.apply(i, actions);
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        let el = self.elapsed();
        for a in actions {
            let node = &mut self.n[i];
            match a {
                Action::Transmit(p) => {
                    let bytes = p.to_bytes();
                    node.sent.push((el, p));
                    if self.deliver[i] {
                        self.in_flight.push((self.now + self.latency, 1 - i, bytes));
                    }
                }
                Action::SetTimer { timer, at } => {
                    assert!(at >= self.now, "timer set in the past");
                    match timer {
                        TimerKind::Tx => node.tx_at = Some(at),
                        TimerKind::Detect => node.detect_at = Some(at),
                    }
                }
                Action::CancelTimer(TimerKind::Tx) => node.tx_at = None,
                Action::CancelTimer(TimerKind::Detect) => node.detect_at = None,
                Action::StateChanged { from, to, diag } => node.changes.push((el, from, to, diag)),
                Action::Discarded(_) => node.discarded += 1,
            }
        }
        // The actor's view of the timers always matches the session's.
        assert_eq!(self.n[i].tx_at, self.n[i].s.tx_deadline());
        assert_eq!(self.n[i].detect_at, self.n[i].s.detect_deadline());
    }

    /// Runs events in time order until `until` (since start).
    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        loop {
            // Earliest of: deliveries, timers.
            let mut next: Option<(Instant, u8, usize)> = None;
            let mut consider = |t: Instant, kind: u8, i: usize| {
                if next.is_none_or(|(nt, _, _)| t < nt) {
                    next = Some((t, kind, i));
                }
            };
            for (k, (t, _, _)) in self.in_flight.iter().enumerate() {
                consider(*t, 0, k);
            }
            for i in 0..2 {
                if let Some(t) = self.n[i].tx_at {
                    consider(t, 1, i);
                }
                if let Some(t) = self.n[i].detect_at {
                    consider(t, 2, i);
                }
            }
            let Some((t, kind, idx)) = next else { break };
            if t > end {
                break;
            }
            self.now = t;
            match kind {
                0 => {
                    let (_, dst, bytes) = self.in_flight.remove(idx);
                    let pkt = ControlPacket::decode(&bytes).expect("own packets decode");
                    self.event(dst, Event::Packet(&pkt));
                }
                1 => {
                    self.n[idx].tx_at = None;
                    self.event(idx, Event::Timer(TimerKind::Tx));
                }
                _ => {
                    self.n[idx].detect_at = None;
                    self.event(idx, Event::Timer(TimerKind::Detect));
                }
            }
        }
        self.now = end;
    }

    /// Enables both and runs until both are Up (panics after `limit`).
    pub fn bring_up(&mut self, limit: Duration) {
        self.event(0, Event::Enable);
        self.event(1, Event::Enable);
        let step = MS;
        while !(self.n[0].s.state() == State::Up && self.n[1].s.state() == State::Up) {
            assert!(self.elapsed() < limit, "no Up within {limit:?}");
            let t = self.elapsed() + step;
            self.run_until(t);
        }
    }
}

/// Parameters with the given intervals (ms) and multiplier.
pub fn params(tx_ms: u32, rx_ms: u32, mult: u8) -> SessionParams {
    SessionParams {
        min_tx: tx_ms * MS,
        min_rx: rx_ms * MS,
        multiplier: mult,
        ..SessionParams::default()
    }
}
