//! One session driven by hand-made peer packets, for exact checks.

use std::time::{Duration, Instant};

use crate::bfd::{
    Action, ControlPacket, Diag, Event, Flags, Session, SessionParams, SplitMix64, State, TimerKind,
};

pub const LOCAL: u32 = 0x1111_0001;
pub const PEER: u32 = 0x2222_0002;

pub struct Solo {
    pub s: Session,
    pub t0: Instant,
    pub now: Instant,
    pub rng: SplitMix64,
}

impl Solo {
    /// A session with `params`, enabled at t0.
    pub fn new(params: SessionParams) -> Solo {
        let t0 = Instant::now();
        let mut s = Solo {
            s: Session::new(params, LOCAL),
            t0,
            now: t0,
            rng: SplitMix64(7),
        };
        s.ev(Event::Enable);
        s
    }

    pub fn at(&mut self, since_start: Duration) -> &mut Self {
        assert!(self.t0 + since_start >= self.now);
        self.now = self.t0 + since_start;
        self
    }

    pub fn ev(&mut self, ev: Event<'_>) -> Vec<Action> {
        self.s.handle(ev, self.now, &mut self.rng)
    }

    pub fn rx(&mut self, p: &ControlPacket) -> Vec<Action> {
        self.ev(Event::Packet(p))
    }

    /// Fires the session's own timer at its deadline.
    pub fn fire(&mut self, kind: TimerKind) -> Vec<Action> {
        let at = match kind {
            TimerKind::Tx => self.s.tx_deadline(),
            TimerKind::Detect => self.s.detect_deadline(),
        }
        .expect("timer armed");
        self.now = at;
        self.ev(Event::Timer(kind))
    }

    /// Drives the session to `target` with peer packets.
    pub fn drive_to(&mut self, target: State) {
        match target {
            State::AdminDown => {
                self.ev(Event::Disable);
            }
            State::Down => {}
            State::Init => {
                self.rx(&peer(State::Down, 0));
            }
            State::Up => {
                self.rx(&peer(State::Init, LOCAL));
            }
        }
        assert_eq!(self.s.state(), target);
    }
}

/// A peer packet: 10 ms / 10 ms, multiplier 3.
pub fn peer(state: State, your: u32) -> ControlPacket {
    ControlPacket {
        diag: Diag::None,
        state,
        flags: Flags::default(),
        detect_mult: 3,
        my_discr: PEER,
        your_discr: your,
        desired_min_tx: 10_000,
        required_min_rx: 10_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

pub fn transmitted(actions: &[Action]) -> Vec<&ControlPacket> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit(p) => Some(p),
            _ => None,
        })
        .collect()
}

pub fn state_changes(actions: &[Action]) -> Vec<(State, State, Diag)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChanged { from, to, diag } => Some((*from, *to, *diag)),
            _ => None,
        })
        .collect()
}
