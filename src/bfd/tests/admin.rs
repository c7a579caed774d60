//! AdminDown (RFC 5880 §6.8.16) on either side.

use std::time::Duration;

use super::harness::{params, Pair, MS};
use super::solo::{peer, transmitted, Solo, LOCAL};
use crate::bfd::{Action, Diag, DiscardReason, Event, SessionParams, State, TimerKind};

#[test]
fn disabling_one_side_brings_the_other_down_with_diag_3() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.bring_up(Duration::from_secs(5));
    p.run_until(p.elapsed() + 100 * MS);
    p.event(1, Event::Disable);
    assert_eq!(
        p.n[1].last_change(),
        Some((State::Up, State::AdminDown, Diag::AdministrativelyDown))
    );
    let t = p.elapsed();
    p.run_until(t + MS);
    assert_eq!(
        p.n[0].last_change(),
        Some((State::Up, State::Down, Diag::NeighborSignaledDown))
    );
    // B keeps announcing AdminDown at the slow rate; A stays Down (no timeout flapping).
    p.run_until(t + Duration::from_secs(5));
    let admin: Vec<_> = p.n[1].sent.iter().filter(|(tt, _)| *tt >= t).collect();
    assert!((5..=7).contains(&admin.len()), "{}", admin.len());
    assert!(admin
        .iter()
        .all(|(_, pk)| pk.state == State::AdminDown && pk.diag == Diag::AdministrativelyDown));
    assert_eq!(p.n[0].s.state(), State::Down);
    assert_eq!(p.n[0].changes.len(), 4);
    // Re-enable: back Up.
    p.event(1, Event::Enable);
    p.run_until(p.elapsed() + Duration::from_millis(1_100));
    assert_eq!(p.n[0].s.state(), State::Up);
    assert_eq!(p.n[1].s.state(), State::Up);
}

#[test]
fn admin_down_ignores_packets_and_polls() {
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Up);
    let a = s.ev(Event::Disable);
    assert_eq!(transmitted(&a)[0].state, State::AdminDown);
    let mut pk = peer(State::Up, LOCAL);
    pk.flags.poll = true;
    let a = s.rx(&pk);
    assert!(transmitted(&a).is_empty(), "no Final while AdminDown");
    assert!(a.contains(&Action::Discarded(DiscardReason::LocalAdminDown)));
    assert_eq!(s.s.state(), State::AdminDown);
    // Slow rate while AdminDown.
    let a = s.fire(TimerKind::Tx);
    assert_eq!(transmitted(&a)[0].desired_min_tx, 1_000_000);
    // Disable twice is a no-op; Enable goes Down with no diagnostic.
    assert!(s.ev(Event::Disable).is_empty());
    let a = s.ev(Event::Enable);
    assert!(a.contains(&Action::StateChanged {
        from: State::AdminDown,
        to: State::Down,
        diag: Diag::None
    }));
}
