//! Property: any sequence of events (valid peer packets with arbitrary fields, timer
//! fires, reconfiguration, enable/disable) at non-decreasing times never panics and keeps
//! the session's outputs well-formed.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::bfd::{
    Action, ControlPacket, Diag, Event, Flags, Session, SessionParams, SplitMix64, State, TimerKind,
};

const LOCAL: u32 = 0x1234;

#[derive(Debug, Clone)]
enum Ev {
    Packet(ControlPacket),
    Timer(TimerKind, bool),
    Params(SessionParams),
    Enable,
    Disable,
}

fn state() -> impl Strategy<Value = State> {
    (0u8..4).prop_map(State::from_bits)
}

fn packet() -> impl Strategy<Value = ControlPacket> {
    (
        state(),
        0u8..32,
        any::<(bool, bool, bool)>(),
        1u8..=255,
        prop_oneof![Just(7u32), Just(8u32), any::<u32>()],
        prop_oneof![Just(0u32), Just(LOCAL), any::<u32>()],
        prop_oneof![Just(0u32), 1u32..2_000_000, any::<u32>()],
        prop_oneof![Just(0u32), 1u32..2_000_000, any::<u32>()],
    )
        .prop_map(
            |(state, diag, (p, f, d), mult, my, your, tx, rx)| ControlPacket {
                diag: Diag::from_bits(diag),
                state,
                flags: Flags {
                    poll: p,
                    final_: f && !p,
                    cpi: false,
                    demand: d,
                    multipoint: false,
                },
                detect_mult: mult,
                my_discr: my.max(1),
                your_discr: your,
                desired_min_tx: tx,
                required_min_rx: rx,
                required_min_echo_rx: 0,
                auth: None,
            },
        )
}

fn params() -> impl Strategy<Value = SessionParams> {
    (
        0u64..3_000_000,
        0u64..3_000_000,
        0u64..3_000_000,
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(tx, rx, idle, multiplier, passive)| SessionParams {
            min_tx: Duration::from_micros(tx),
            min_rx: Duration::from_micros(rx),
            idle_tx: Duration::from_micros(idle),
            multiplier,
            passive,
        })
}

fn event() -> impl Strategy<Value = Ev> {
    prop_oneof![
        6 => packet().prop_map(Ev::Packet),
        3 => (prop_oneof![Just(TimerKind::Tx), Just(TimerKind::Detect)], any::<bool>())
            .prop_map(|(k, on_time)| Ev::Timer(k, on_time)),
        1 => params().prop_map(Ev::Params),
        1 => Just(Ev::Enable),
        1 => Just(Ev::Disable),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn random_event_sequences_keep_invariants(
        initial in params(),
        evs in proptest::collection::vec((0u64..50_000, event()), 1..120),
    ) {
        let mut s = Session::new(initial, LOCAL);
        let mut rng = SplitMix64(1);
        let start = Instant::now();
        let mut now = start;
        s.handle(Event::Enable, now, &mut rng);
        for (dt, ev) in evs {
            now += Duration::from_micros(dt);
            let actions = match &ev {
                // Only packets that survive decoding reach a session.
                Ev::Packet(p) => match ControlPacket::decode(&p.to_bytes()) {
                    Ok(p) => s.handle(Event::Packet(&p), now, &mut rng),
                    Err(_) => continue,
                },
                Ev::Timer(k, on_time) => {
                    let deadline = match k {
                        TimerKind::Tx => s.tx_deadline(),
                        TimerKind::Detect => s.detect_deadline(),
                    };
                    if *on_time {
                        if let Some(d) = deadline {
                            now = now.max(d);
                        }
                    }
                    s.handle(Event::Timer(*k), now, &mut rng)
                }
                Ev::Params(p) => s.handle(Event::SetParams(p), now, &mut rng),
                Ev::Enable => s.handle(Event::Enable, now, &mut rng),
                Ev::Disable => s.handle(Event::Disable, now, &mut rng),
            };
            for a in &actions {
                match a {
                    Action::Transmit(p) => {
                        // Our own packets pass the peer's reception checks.
                        let decoded = ControlPacket::decode(&p.to_bytes());
                        prop_assert_eq!(decoded.as_ref(), Ok(p));
                        prop_assert_eq!(p.state, s.state());
                        prop_assert_eq!(p.my_discr, LOCAL);
                    }
                    // A deadline may already be due (fire at once), but never
                    // earlier than the start of the session's activity.
                    Action::SetTimer { at, .. } => prop_assert!(*at >= start),
                    _ => {}
                }
            }
            if matches!(s.state(), State::Init | State::Up) {
                prop_assert!(s.remote_discr() != 0);
            }
            if s.state() != State::Up {
                prop_assert!(s.build(false).desired_min_tx >= 1_000_000);
            }
        }
    }
}
