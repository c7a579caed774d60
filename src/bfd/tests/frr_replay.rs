//! Replays the FRR 8.4 bfdd packets of tests/fixtures/bfd into our session and compares
//! our answers with what FRR itself sent at that point of the capture (identical except
//! Required Min Echo RX: FRR advertises 50 ms echo, we do not support echo and send 0).

use super::solo::transmitted;
use crate::bfd::{Action, ControlPacket, Diag, Event, Session, SplitMix64, State, TimerKind};
use std::time::{Duration, Instant};

const FRR_A: u32 = 0x6d70_b58a;
const FRR_B: u32 = 0x089d_4f63;

fn hex(text: &str) -> Vec<u8> {
    let line: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    let line = line.trim();
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
        .collect()
}

macro_rules! golden {
    ($name:literal) => {
        hex(include_str!(concat!(
            "../../../tests/fixtures/bfd/",
            $name,
            ".hex"
        )))
    };
}

fn decode(bytes: &[u8]) -> ControlPacket {
    ControlPacket::decode(bytes).unwrap()
}

/// Our encoding with the echo interval replaced by FRR's 50 ms.
fn as_frr(p: &ControlPacket) -> Vec<u8> {
    let mut p = p.clone();
    p.required_min_echo_rx = 50_000;
    p.to_bytes()
}

fn only_tx(a: &[Action]) -> ControlPacket {
    let t = transmitted(a);
    assert_eq!(t.len(), 1, "{a:?}");
    t[0].clone()
}

#[test]
fn we_play_frr_side_a() {
    // A's configuration in capture.sh: 300/300 ms ×3.
    let mut s = Session::new(super::harness::params(300, 300, 3), FRR_A);
    let mut rng = SplitMix64(3);
    let t0 = Instant::now();
    s.handle(Event::Enable, t0, &mut rng);
    // B's Init (frame 5) -> we go Up and announce it with P: FRR's frame 6, byte for byte.
    let a = s.handle(Event::Packet(&decode(&golden!("init"))), t0, &mut rng);
    assert_eq!(s.state(), State::Up);
    assert_eq!(as_frr(&only_tx(&a)), golden!("up_poll"));
    // B's Final (frame 8) ends the poll; the next periodic packet is FRR's frame 11.
    s.handle(Event::Packet(&decode(&golden!("up_final"))), t0, &mut rng);
    assert!(!s.poll_active());
    let at = s.tx_deadline().unwrap();
    let a = s.handle(Event::Timer(TimerKind::Tx), at, &mut rng);
    assert_eq!(as_frr(&only_tx(&a)), golden!("up"));
    // B's interval 200 ms × 4, our rx 300 -> detection 4 × 300 ms.
    assert_eq!(s.detection_time(), Some(Duration::from_millis(1_200)));
    // `transmit-interval 100` (frame 71): FRR polls with the new value; so do we.
    let a = s.handle(
        Event::SetParams(&super::harness::params(100, 300, 3)),
        at,
        &mut rng,
    );
    assert!(transmitted(&a).is_empty());
    let at = s.tx_deadline().unwrap();
    let a = s.handle(Event::Timer(TimerKind::Tx), at, &mut rng);
    assert_eq!(as_frr(&only_tx(&a)), golden!("up_poll_tx100"));
    // B's answer (frame 72, a Final) and B's shutdown (frame 96): Down, diag 3.
    s.handle(Event::Packet(&decode(&golden!("up_final"))), at, &mut rng);
    assert_eq!(
        s.tx_interval(),
        Duration::from_millis(250),
        "max(100, B rx 250)"
    );
    let a = s.handle(Event::Packet(&decode(&golden!("admin_down"))), at, &mut rng);
    assert_eq!(s.state(), State::Down);
    let down = only_tx(&a);
    assert_eq!(
        (down.state, down.diag),
        (State::Down, Diag::NeighborSignaledDown)
    );
}

#[test]
fn we_play_frr_side_b() {
    // B's configuration in capture.sh: tx 200, rx 250 ms ×4.
    let mut s = Session::new(super::harness::params(200, 250, 4), FRR_B);
    let mut rng = SplitMix64(4);
    let t0 = Instant::now();
    s.handle(Event::Enable, t0, &mut rng);
    // A's Down (frame 1) -> Init, answering with Your Discriminator = A.
    let a = s.handle(Event::Packet(&decode(&golden!("down_your0"))), t0, &mut rng);
    let init = only_tx(&a);
    assert_eq!(
        (init.state, init.your_discr, init.detect_mult),
        (State::Init, FRR_A, 4)
    );
    // A's Up+Poll (frame 6) -> Up, and the immediate Final is FRR's frame 8 byte for byte.
    let a = s.handle(Event::Packet(&decode(&golden!("up_poll"))), t0, &mut rng);
    assert_eq!(s.state(), State::Up);
    assert_eq!(as_frr(&only_tx(&a)), golden!("up_final"));
    // A's Down with diag 3 (frame 97) takes us Down with diag 3 as well.
    let a = s.handle(Event::Packet(&decode(&golden!("down_diag3"))), t0, &mut rng);
    assert_eq!(s.state(), State::Down);
    assert_eq!(only_tx(&a).diag, Diag::NeighborSignaledDown);
}
