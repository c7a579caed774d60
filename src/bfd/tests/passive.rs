//! Passive role: nothing is sent until the peer has been heard (RFC 5880 §6.8.7).

use std::time::Duration;

use super::harness::{params, Pair, MS};
use super::solo::{peer, transmitted, Solo};
use crate::bfd::{Event, SessionParams, State, TimerKind};

fn passive(p: SessionParams) -> SessionParams {
    SessionParams { passive: true, ..p }
}

#[test]
fn passive_waits_for_the_active_side() {
    let mut p = Pair::new(passive(params(10, 10, 3)), params(10, 10, 3));
    p.event(0, Event::Enable);
    p.run_until(Duration::from_secs(3));
    assert!(p.n[0].sent.is_empty());
    assert_eq!(p.n[0].tx_at, None);
    p.event(1, Event::Enable);
    p.run_until(Duration::from_millis(3_010));
    let first_a = p.n[0].sent[0].0;
    let first_b = p.n[1].sent[0].0;
    assert!(first_a > first_b);
    assert_eq!(p.n[0].s.state(), State::Up);
    assert_eq!(p.n[1].s.state(), State::Up);
}

#[test]
fn two_passive_sessions_stay_silent() {
    let mut p = Pair::new(passive(params(10, 10, 3)), passive(params(10, 10, 3)));
    p.event(0, Event::Enable);
    p.event(1, Event::Enable);
    p.run_until(Duration::from_secs(10));
    assert!(p.n[0].sent.is_empty() && p.n[1].sent.is_empty());
    assert_eq!(p.n[0].s.state(), State::Down);
}

#[test]
fn passive_falls_silent_again_after_the_peer_times_out() {
    let mut s = Solo::new(passive(SessionParams::default()));
    assert_eq!(s.s.tx_deadline(), None);
    let a = s.rx(&peer(State::Down, 0));
    assert_eq!(transmitted(&a).len(), 1, "Init announced at once");
    assert!(s.s.tx_deadline().is_some());
    s.fire(TimerKind::Detect);
    assert_eq!(s.s.state(), State::Down);
    assert_eq!(s.s.remote_discr(), 0);
    // The Down announcement was the last packet.
    assert_eq!(s.s.tx_deadline(), None);
    let _ = MS;
}
