//! Detection time expiry (diag 1) and what the peer sees (diag 3).

use std::time::Duration;

use super::harness::{params, Pair, MS};
use super::solo::{peer, state_changes, transmitted, Solo, LOCAL, PEER};
use crate::bfd::{Diag, Event, SessionParams, State, TimerKind};

#[test]
fn silence_for_detection_time_goes_down_with_diag_1_exactly_on_time() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.bring_up(Duration::from_secs(5));
    p.run_until(p.elapsed() + 200 * MS);
    // Cut B -> A. A last heard B at some instant; it must go down exactly 30 ms later.
    p.deliver[1] = false;
    let cut = p.elapsed();
    p.run_until(cut + 200 * MS);
    let last_from_b = p.n[1]
        .sent
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t < cut)
        .max()
        .unwrap();
    let (t, from, to, diag) = *p.n[0].changes.last().unwrap();
    assert_eq!(
        (from, to, diag),
        (State::Up, State::Down, Diag::ControlDetectionTimeExpired)
    );
    assert_eq!(t, last_from_b + p.latency + 30 * MS);
    // A forgets B's discriminator and says so; B hears A's Down and goes down with diag 3.
    assert_eq!(p.n[0].s.remote_discr(), 0);
    let down = p.n[0].sent.iter().find(|(tt, _)| *tt == t).unwrap();
    assert_eq!(
        (down.1.state, down.1.diag, down.1.your_discr),
        (State::Down, Diag::ControlDetectionTimeExpired, 0)
    );
    assert_eq!(
        p.n[1].last_change(),
        Some((State::Up, State::Down, Diag::NeighborSignaledDown))
    );
    // A went back to the slow rate.
    assert_eq!(p.n[0].s.tx_interval(), Duration::from_secs(1));
}

#[test]
fn link_restored_comes_back_up() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.bring_up(Duration::from_secs(5));
    p.deliver = [false, false];
    p.run_until(p.elapsed() + 100 * MS);
    assert_eq!(p.n[0].s.state(), State::Down);
    assert_eq!(p.n[1].s.state(), State::Down);
    p.deliver = [true, true];
    p.run_until(p.elapsed() + Duration::from_millis(2_100));
    assert_eq!(p.n[0].s.state(), State::Up);
    assert_eq!(p.n[1].s.state(), State::Up);
}

#[test]
fn detection_time_uses_remote_mult_and_slower_of_rx_and_remote_tx() {
    let mut s = Solo::new(params(10, 40, 3));
    s.drive_to(State::Up);
    // Peer: tx 10, mult 3 -> 3 × max(40, 10) = 120 ms.
    assert_eq!(s.s.detection_time(), Some(120 * MS));
    let mut pk = peer(State::Up, LOCAL);
    pk.desired_min_tx = 100_000;
    pk.detect_mult = 7;
    s.at(5 * MS).rx(&pk);
    assert_eq!(s.s.detection_time(), Some(700 * MS));
    assert_eq!(s.s.detect_deadline(), Some(s.t0 + 705 * MS));
    // Init also times out.
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Init);
    let a = s.fire(TimerKind::Detect);
    assert_eq!(
        state_changes(&a),
        vec![(State::Init, State::Down, Diag::ControlDetectionTimeExpired)]
    );
}

#[test]
fn expiry_while_down_only_forgets_the_peer() {
    let mut s = Solo::new(SessionParams::default());
    let mut pk = peer(State::AdminDown, LOCAL);
    pk.desired_min_tx = 1_000_000;
    s.rx(&pk);
    assert_eq!(s.s.remote_discr(), PEER);
    let a = s.fire(TimerKind::Detect);
    assert!(state_changes(&a).is_empty());
    assert_eq!(s.s.remote_discr(), 0);
    assert_eq!(s.s.detect_deadline(), None);
    // The next Down packet carries Your Discriminator 0 again.
    let a = s.fire(TimerKind::Tx);
    assert_eq!(transmitted(&a)[0].your_discr, 0);
}

#[test]
fn early_or_stale_timer_fire_changes_nothing_and_rearms() {
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Up);
    let tx = s.s.tx_deadline().unwrap();
    let det = s.s.detect_deadline().unwrap();
    s.at(Duration::from_micros(1));
    for kind in [TimerKind::Tx, TimerKind::Detect] {
        let a = s.ev(Event::Timer(kind));
        assert!(transmitted(&a).is_empty() && state_changes(&a).is_empty());
        assert!(a.contains(&crate::bfd::Action::SetTimer {
            timer: TimerKind::Tx,
            at: tx
        }));
        assert!(a.contains(&crate::bfd::Action::SetTimer {
            timer: TimerKind::Detect,
            at: det
        }));
    }
    assert_eq!(s.s.state(), State::Up);
}
