//! Transmission rules of RFC 5880 §6.8.7: jitter, slow rate, remote Min RX 0, demand.

use std::time::Duration;

use super::harness::{params, Pair, MS};
use super::solo::{peer, transmitted, Solo, LOCAL};
use crate::bfd::{SessionParams, State, TimerKind};

#[test]
fn jitter_with_multiplier_1_stays_within_75_to_90_percent() {
    let mut p = Pair::new(params(20, 20, 1), params(20, 20, 1));
    p.bring_up(Duration::from_secs(5));
    let t = p.elapsed() + 100 * MS;
    p.run_until(t + Duration::from_secs(3));
    for n in &p.n {
        let gaps = n.periodic_gaps(t, t + Duration::from_secs(3));
        assert!(gaps.len() > 150);
        let (lo, hi) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
        assert!(*lo >= 15 * MS && *hi <= 18 * MS, "{lo:?} {hi:?}");
        // The spread is real, not a constant.
        assert!(*hi - *lo > 2 * MS, "{lo:?} {hi:?}");
    }
    assert_eq!(p.n[0].changes.len(), 3);
}

#[test]
fn slow_rate_while_not_up_respects_idle_tx_and_remote_rx() {
    let mut s = Solo::new(SessionParams {
        idle_tx: Duration::from_millis(300),
        ..SessionParams::default()
    });
    // idle_tx below 1 s is raised to 1 s.
    assert_eq!(s.s.build(false).desired_min_tx, 1_000_000);
    let mut pk = peer(State::AdminDown, 0);
    pk.required_min_rx = 3_000_000;
    s.rx(&pk);
    assert_eq!(s.s.tx_interval(), Duration::from_secs(3));
    let a = s.fire(TimerKind::Tx);
    assert_eq!(transmitted(&a).len(), 1);
    let gap = s.s.tx_deadline().unwrap() - s.now;
    assert!(gap >= Duration::from_millis(2_250) && gap <= Duration::from_secs(3));
}

#[test]
fn remote_min_rx_zero_stops_periodic_transmission() {
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Up);
    let mut pk = peer(State::Up, LOCAL);
    pk.required_min_rx = 0;
    s.rx(&pk);
    assert_eq!(s.s.tx_deadline(), None);
    // A poll is still answered.
    pk.flags.poll = true;
    let a = s.rx(&pk);
    assert!(transmitted(&a)[0].flags.final_);
    assert_eq!(s.s.tx_deadline(), None);
    // Peer asks for packets again: sending resumes at once.
    let a = s.rx(&peer(State::Up, LOCAL));
    assert_eq!(transmitted(&a).len(), 1);
    assert!(s.s.tx_deadline().is_some());
}

#[test]
fn remote_demand_mode_stops_periodic_transmission_when_both_up() {
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Up);
    s.rx(&{
        let mut p = peer(State::Up, LOCAL);
        p.flags.final_ = true;
        p
    });
    let mut pk = peer(State::Up, LOCAL);
    pk.flags.demand = true;
    s.rx(&pk);
    assert_eq!(s.s.tx_deadline(), None);
    // Never sets D itself.
    assert!(!s.s.build(false).flags.demand);
}

#[test]
fn packets_carry_rfc_fields() {
    let s = Solo::new(params(25, 35, 7));
    let p = s.s.build(false);
    assert_eq!(p.detect_mult, 7);
    assert_eq!(p.my_discr, LOCAL);
    assert_eq!(p.required_min_echo_rx, 0);
    assert!(p.auth.is_none() && !p.flags.cpi && !p.flags.multipoint && !p.flags.demand);
    assert_eq!((p.desired_min_tx, p.required_min_rx), (1_000_000, 35_000));
}
