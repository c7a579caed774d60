//! Poll/Final sequences and the RFC 5880 §6.8.3 timing rules for parameter changes.

use std::time::Duration;

use super::harness::{params, Pair, MS};
use super::solo::{peer, transmitted, Solo, LOCAL};
use crate::bfd::{ControlPacket, Event, SessionParams, State, TimerKind};

fn final_from_peer() -> ControlPacket {
    let mut p = peer(State::Up, LOCAL);
    p.flags.final_ = true;
    p
}

/// An Up session whose going-Up Poll Sequence is complete.
fn up(params: SessionParams) -> Solo {
    let mut s = Solo::new(params);
    s.drive_to(State::Up);
    assert!(
        s.s.poll_active(),
        "going Up changes Desired Min TX and starts a poll"
    );
    s.rx(&final_from_peer());
    assert!(!s.s.poll_active());
    s
}

#[test]
fn going_up_polls_then_the_final_ends_it() {
    let mut s = Solo::new(params(10, 10, 3));
    let a = s.rx(&peer(State::Init, LOCAL));
    let tx = transmitted(&a);
    // The Up announcement carries the new 10 ms Desired Min TX with P.
    assert_eq!(tx.len(), 1);
    assert!(tx[0].flags.poll && !tx[0].flags.final_);
    assert_eq!(tx[0].desired_min_tx, 10_000);
    // Periodic packets keep P until a Final arrives.
    for _ in 0..3 {
        let a = s.fire(TimerKind::Tx);
        assert!(transmitted(&a)[0].flags.poll);
    }
    s.rx(&final_from_peer());
    let a = s.fire(TimerKind::Tx);
    assert!(!transmitted(&a)[0].flags.poll);
}

#[test]
fn tx_increase_waits_for_final() {
    let mut s = up(params(10, 10, 3));
    let deadline = s.s.tx_deadline();
    let a = s.ev(Event::SetParams(&params(50, 10, 3)));
    // No extra packet: the poll rides on the scheduled transmissions (§6.5).
    assert!(transmitted(&a).is_empty());
    assert_eq!(s.s.tx_deadline(), deadline);
    assert!(s.s.poll_active());
    assert_eq!(s.s.tx_interval(), 10 * MS, "old rate until the Final");
    for _ in 0..3 {
        let a = s.fire(TimerKind::Tx);
        let p = transmitted(&a)[0].clone();
        assert!(p.flags.poll);
        assert_eq!(p.desired_min_tx, 50_000, "new value advertised at once");
        // Still scheduled at the old rate.
        let gap = s.s.tx_deadline().unwrap() - s.now;
        assert!(
            gap <= 10 * MS && gap >= Duration::from_micros(7_500),
            "{gap:?}"
        );
    }
    s.rx(&final_from_peer());
    assert!(!s.s.poll_active());
    assert_eq!(s.s.tx_interval(), 50 * MS);
    let a = s.fire(TimerKind::Tx);
    assert!(!transmitted(&a)[0].flags.poll);
    let gap = s.s.tx_deadline().unwrap() - s.now;
    assert!(
        gap >= Duration::from_micros(37_500) && gap <= 50 * MS,
        "{gap:?}"
    );
}

#[test]
fn tx_decrease_applies_at_once() {
    let mut s = up(params(100, 10, 3));
    assert_eq!(s.s.tx_interval(), 100 * MS);
    let before = s.s.tx_deadline().unwrap();
    s.ev(Event::SetParams(&params(20, 10, 3)));
    assert!(s.s.poll_active());
    assert_eq!(s.s.tx_interval(), 20 * MS);
    let after = s.s.tx_deadline().unwrap();
    assert!(after <= before && after <= s.now + 20 * MS);
}

#[test]
fn rx_decrease_waits_for_final_and_increase_applies_at_once() {
    let mut s = up(params(10, 100, 3));
    assert_eq!(s.s.detection_time(), Some(300 * MS));
    s.ev(Event::SetParams(&params(10, 20, 3)));
    assert_eq!(
        s.s.build(false).required_min_rx,
        20_000,
        "advertised at once"
    );
    assert_eq!(
        s.s.detection_time(),
        Some(300 * MS),
        "old detection until the Final"
    );
    s.at(MS).rx(&final_from_peer());
    assert_eq!(s.s.detection_time(), Some(60 * MS));
    assert_eq!(s.s.detect_deadline(), Some(s.t0 + 61 * MS));

    s.ev(Event::SetParams(&params(10, 200, 3)));
    assert!(s.s.poll_active());
    assert_eq!(
        s.s.detection_time(),
        Some(600 * MS),
        "an increase is safe at once"
    );
    // Measured from the last reception, not from the change.
    assert_eq!(s.s.detect_deadline(), Some(s.t0 + 601 * MS));
}

#[test]
fn peer_poll_is_answered_at_once_with_final_in_any_state() {
    for local in [State::Down, State::Init, State::Up] {
        let mut s = Solo::new(SessionParams::default());
        s.drive_to(local);
        let mut p = peer(State::Up, LOCAL);
        p.flags.poll = true;
        s.at(Duration::from_micros(300));
        let a = s.rx(&p);
        let tx = transmitted(&a);
        assert_eq!(tx.len(), 1, "{local}");
        assert!(tx[0].flags.final_ && !tx[0].flags.poll, "{local}");
    }
}

#[test]
fn lost_finals_keep_polling_on_scheduled_packets_only() {
    let mut s = up(params(10, 10, 3));
    s.ev(Event::SetParams(&params(30, 10, 3)));
    let mut last = s.now;
    for _ in 0..20 {
        let a = s.fire(TimerKind::Tx);
        assert!(s.now - last >= Duration::from_micros(7_500));
        last = s.now;
        assert!(transmitted(&a)[0].flags.poll);
        // Peer packets without F keep the session up but do not end the poll.
        s.rx(&peer(State::Up, LOCAL));
    }
    assert!(s.s.poll_active());
}

#[test]
fn changes_while_not_up_need_no_poll() {
    let mut s = Solo::new(params(10, 10, 3));
    s.ev(Event::SetParams(&SessionParams {
        idle_tx: Duration::from_secs(2),
        ..params(10, 30, 3)
    }));
    assert!(!s.s.poll_active());
    let p = s.s.build(false);
    assert_eq!((p.desired_min_tx, p.required_min_rx), (2_000_000, 30_000));
    assert_eq!(s.s.tx_interval(), Duration::from_secs(2));
}

#[test]
fn live_retune_between_two_sessions_never_flaps() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.bring_up(Duration::from_secs(5));
    p.run_until(p.elapsed() + 100 * MS);
    for (tx, rx) in [(100, 10), (10, 100), (5, 5), (200, 200), (10, 10)] {
        p.event(0, Event::SetParams(&params(tx, rx, 3)));
        p.run_until(p.elapsed() + Duration::from_secs(1));
        assert!(!p.n[0].s.poll_active() && !p.n[1].s.poll_active());
        assert_eq!(p.n[0].s.tx_interval(), tx.max(10) * MS);
        assert_eq!(p.n[1].s.tx_interval(), rx.max(10) * MS);
        assert_eq!(p.n[1].s.detection_time(), Some(3 * tx.max(10) * MS));
    }
    assert_eq!(p.n[0].changes.len(), 3, "{:?}", p.n[0].changes);
    assert_eq!(p.n[1].changes.len(), 3, "{:?}", p.n[1].changes);
}
