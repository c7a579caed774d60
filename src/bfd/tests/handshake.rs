//! Three-way handshake between two sessions wired back to back.

use std::time::Duration;

use super::harness::{params, Pair, DISCR_A, DISCR_B, MS};
use crate::bfd::{Diag, Event, SessionParams, State};

#[test]
fn simultaneous_start_goes_down_init_up_on_both_sides() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.bring_up(Duration::from_secs(5));
    for (i, n) in p.n.iter().enumerate() {
        let seq: Vec<_> = n.changes.iter().map(|c| (c.1, c.2, c.3)).collect();
        assert_eq!(
            seq,
            vec![
                (State::AdminDown, State::Down, Diag::None),
                (State::Down, State::Init, Diag::None),
                (State::Init, State::Up, Diag::None),
            ],
            "node {i}"
        );
    }
    // Up within a few one-way latencies: each step is answered at once, not on the timer.
    assert!(p.elapsed() <= 2 * MS, "{:?}", p.elapsed());
    assert_eq!(p.n[0].s.remote_discr(), DISCR_B);
    assert_eq!(p.n[1].s.remote_discr(), DISCR_A);
    // The first packets were Down with Your Discriminator 0 at the slow rate.
    let first = &p.n[0].sent[0].1;
    assert_eq!(
        (first.state, first.your_discr, first.desired_min_tx),
        (State::Down, 0, 1_000_000)
    );
    assert_eq!(first.required_min_rx, 10_000);
}

#[test]
fn staggered_start_second_side_goes_straight_down_to_up() {
    let mut p = Pair::new(params(10, 10, 3), params(10, 10, 3));
    p.event(0, Event::Enable);
    p.run_until(Duration::from_millis(3_500));
    // A alone: Down packets every 0.75–1 s, 1 s desired TX, no state change.
    let n = p.n[0].sent.len();
    assert!((4..=5).contains(&n), "{n} packets in 3.5 s");
    for g in p.n[0].periodic_gaps(Duration::ZERO, Duration::from_secs(4)) {
        assert!(g >= 750 * MS && g <= 1000 * MS, "{g:?}");
    }
    assert!(p.n[0]
        .sent
        .iter()
        .all(|(_, pk)| pk.state == State::Down && pk.your_discr == 0));
    assert_eq!(p.n[0].changes.len(), 1);

    p.event(1, Event::Enable);
    p.run_until(Duration::from_millis(3_510));
    assert_eq!(p.n[0].s.state(), State::Up);
    assert_eq!(p.n[1].s.state(), State::Up);
    let b: Vec<_> = p.n[1].changes.iter().map(|c| (c.1, c.2)).collect();
    assert_eq!(
        b,
        vec![(State::AdminDown, State::Down), (State::Down, State::Up)]
    );
    let a: Vec<_> = p.n[0].changes.iter().map(|c| (c.1, c.2)).collect();
    assert_eq!(
        a,
        vec![
            (State::AdminDown, State::Down),
            (State::Down, State::Init),
            (State::Init, State::Up)
        ]
    );
}

#[test]
fn up_negotiates_intervals_and_polls_to_the_fast_rate() {
    // A: tx 10 rx 20 ×3, B: tx 30 rx 15 ×4.
    let mut p = Pair::new(params(10, 20, 3), params(30, 15, 4));
    p.bring_up(Duration::from_secs(5));
    p.run_until(p.elapsed() + 100 * MS);
    let (a, b) = (&p.n[0].s, &p.n[1].s);
    assert!(!a.poll_active() && !b.poll_active());
    // A sends at max(10, B rx 15) = 15; B at max(30, A rx 20) = 30.
    assert_eq!(a.tx_interval(), 15 * MS);
    assert_eq!(b.tx_interval(), 30 * MS);
    // A detects with B's mult 4 × max(A rx 20, B tx 30) = 120; B: 3 × max(15, 10) = 45.
    assert_eq!(a.detection_time(), Some(120 * MS));
    assert_eq!(b.detection_time(), Some(45 * MS));
    // Going Up changed Desired Min TX from 1 s, so each side ran a Poll Sequence that
    // the other answered with a Final.
    for i in 0..2 {
        let polls = p.n[i].sent.iter().filter(|(_, pk)| pk.flags.poll).count();
        let finals = p.n[1 - i]
            .sent
            .iter()
            .filter(|(_, pk)| pk.flags.final_)
            .count();
        assert!(
            polls >= 1 && finals >= 1,
            "node {i}: {polls} polls, {finals} finals"
        );
    }
    assert!(p.n.iter().all(|n| n
        .sent
        .iter()
        .all(|(_, pk)| !(pk.flags.poll && pk.flags.final_))));
    // Steady state for 2 s: no change, gaps within 75–100% of the interval.
    let t = p.elapsed();
    p.run_until(t + Duration::from_secs(2));
    assert_eq!(p.n[0].s.state(), State::Up);
    assert_eq!(p.n[0].changes.len(), 3);
    let gaps = p.n[0].periodic_gaps(t, t + Duration::from_secs(2));
    assert!(gaps.len() > 100);
    for g in gaps {
        assert!(g >= Duration::from_micros(11_250) && g <= 15 * MS, "{g:?}");
    }
}

#[test]
fn keepalived_defaults_come_up_at_10ms() {
    let mut p = Pair::new(SessionParams::default(), SessionParams::default());
    p.bring_up(Duration::from_secs(5));
    p.run_until(p.elapsed() + 50 * MS);
    assert_eq!(p.n[0].s.tx_interval(), 10 * MS);
    assert_eq!(p.n[0].s.detection_time(), Some(50 * MS));
    let last = &p.n[0].sent.last().unwrap().1;
    assert_eq!(
        (last.desired_min_tx, last.required_min_rx, last.detect_mult),
        (10_000, 10_000, 5)
    );
}
