//! State machine: every transition and timer formula with injected time.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::{at_ms, ip, ms, no_garp, t0};

use crate::vrrp::events::*;
use crate::vrrp::fsm::{Instance, MasterInfo};
use crate::vrrp::packet::Version;
use crate::vrrp::params::{GarpParams, InitialState, InstanceParams};

fn at_us(us: u64) -> Instant {
    t0() + Duration::from_micros(us)
}

/// Our router is 10.0.0.5; peers below/above compare lower/higher.
fn params(version: Version, priority: u8, advert_int: Duration) -> InstanceParams {
    let mut p = InstanceParams::new(51, version, priority, advert_int, ip(5));
    // These tests pin RFC 5798 / keepalived timing: a backup waits out Master_Down_Interval.
    p.preempt_immediately = false;
    // Most tests do not care about GARP: no bursts, no timers.
    p.garp = no_garp();
    p
}

fn advert(from: u8, priority: u8, int: Duration) -> Event {
    Event::AdvertReceived(ReceivedAdvert {
        from: ip(from),
        priority,
        max_advert_int: int,
    })
}

fn tr(from: State, to: State, reason: Reason, priority: u8) -> Action {
    Action::Transition(Transition {
        from,
        to,
        reason,
        priority,
    })
}

fn set(timer: Timer, at: Instant) -> Action {
    Action::SetTimer { timer, at }
}

fn started(p: InstanceParams) -> Instance {
    let mut i = Instance::new(p);
    i.handle(t0(), Event::Startup);
    i
}

/// A master at t0 (took over when its first down timer expired).
fn master(p: InstanceParams) -> Instance {
    let mut i = started(p);
    let (_, at) = i.next_deadline().unwrap();
    i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(i.state(), State::Master);
    i
}

// ----- startup -----------------------------------------------------------------------

#[test]
fn startup_v3_10ms_prio_100_backup_with_exact_mdi() {
    let mut i = Instance::new(params(Version::V3, 100, ms(10)));
    assert_eq!(i.state(), State::Initialize);
    let a = i.handle(t0(), Event::Startup);
    // MDI = 3 * 10 ms + (256-100) * 10 ms / 256 = 30 ms + 6093 µs
    assert_eq!(
        a,
        vec![
            tr(State::Initialize, State::Backup, Reason::Startup, 100),
            set(Timer::MasterDown, at_us(36_093)),
            Action::Notify {
                state: State::Backup
            },
        ]
    );
    assert_eq!(i.skew_time(), Duration::from_micros(6093));
    assert_eq!(i.master_down_interval(), Duration::from_micros(36_093));
    assert_eq!(i.next_deadline(), Some((Timer::MasterDown, at_us(36_093))));
}

#[test]
fn startup_v2_skew_not_scaled() {
    let i = started(params(Version::V2, 100, ms(1000)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_us(3_609_375)));
    let i = started(params(Version::V2, 100, ms(3000)));
    // 3 * 3 s + 156/256 s (not 3 * 156/256)
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_us(9_609_375)));
    let mut p = params(Version::V2, 100, ms(1000));
    p.down_timer_adverts = 5;
    assert_eq!(
        started(p).deadline(Timer::MasterDown),
        Some(at_us(5_609_375))
    );
}

#[test]
fn state_master_non_owner_waits_the_full_down_interval_as_keepalived() {
    // keepalived 2.2.7 (vrrp_init_state) and RFC 5798 §6.4.1: a non-owner starts in BACKUP
    // with Master_Down_Interval whatever `state` says; only an owner starts as MASTER.
    for (version, prio, adv) in [(Version::V3, 100, ms(10)), (Version::V2, 150, ms(1000))] {
        let mut p = params(version, prio, adv);
        let backup = started(p.clone()).deadline(Timer::MasterDown);
        p.initial_state = InitialState::Master;
        let mut i = Instance::new(p);
        let a = i.handle(t0(), Event::Startup);
        assert_eq!(
            a[0],
            tr(State::Initialize, State::Backup, Reason::Startup, prio)
        );
        assert_eq!(i.deadline(Timer::MasterDown), backup);
    }
    // 3 × 10 ms + (256 - 100) × 10 ms / 256 = 36.09 ms.
    let mut p = params(Version::V3, 100, ms(10));
    p.initial_state = InitialState::Master;
    let d = started(p).deadline(Timer::MasterDown);
    assert!(d > Some(at_us(36_000)) && d < Some(at_us(36_200)), "{d:?}");
}

#[test]
fn owner_becomes_master_at_once() {
    let mut p = params(Version::V3, 255, ms(100));
    p.garp = GarpParams::default();
    let mut i = Instance::new(p);
    let a = i.handle(t0(), Event::Startup);
    assert_eq!(
        a,
        vec![
            tr(State::Initialize, State::Master, Reason::Startup, 255),
            Action::SendAdvert { priority: 255 },
            Action::AddVips,
            Action::SendGratuitous { count: 5 },
            set(Timer::GarpDelay, at_ms(5000)),
            set(Timer::Advert, at_ms(100)),
            Action::Notify {
                state: State::Master
            },
        ]
    );
    // Owner skew uses 255: 100 ms / 256 = 390 µs.
    assert_eq!(i.skew_time(), Duration::from_micros(390));
}

#[test]
fn startup_with_fault_goes_fault() {
    let mut i = Instance::new(params(Version::V3, 100, ms(10)));
    assert!(i
        .handle(t0(), Event::FaultRaised(FaultReason::InterfaceDown))
        .is_empty());
    let a = i.handle(t0(), Event::Startup);
    assert_eq!(
        a,
        vec![
            tr(State::Initialize, State::Fault, Reason::InterfaceDown, 100),
            Action::Notify {
                state: State::Fault
            },
        ]
    );
    assert_eq!(i.next_deadline(), None);
    // Startup again is ignored outside Initialize/Stop.
    assert!(i.handle(t0(), Event::Startup).is_empty());
}

// ----- backup ------------------------------------------------------------------------

#[test]
fn master_down_timer_makes_master() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    // Early or unarmed expiries are ignored.
    assert!(i
        .handle(at_us(36_092), Event::TimerExpired(Timer::MasterDown))
        .is_empty());
    assert!(i
        .handle(at_us(40_000), Event::TimerExpired(Timer::Advert))
        .is_empty());
    let a = i.handle(at_us(36_093), Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        a,
        vec![
            tr(State::Backup, State::Master, Reason::MasterDownTimer, 100),
            Action::SendAdvert { priority: 100 },
            Action::AddVips,
            set(Timer::Advert, at_us(46_093)),
            Action::Notify {
                state: State::Master
            },
        ]
    );
    assert_eq!(i.deadline(Timer::MasterDown), None);
    // A duplicate expiry of the old timer is stale now.
    assert!(i
        .handle(at_us(36_093), Event::TimerExpired(Timer::MasterDown))
        .is_empty());
}

#[test]
fn backup_accepts_higher_and_equal_priority_and_resets_timer() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(20), advert(9, 200, ms(10)));
    assert_eq!(a, vec![set(Timer::MasterDown, at_us(20_000 + 36_093))]);
    assert_eq!(
        i.master(),
        Some(MasterInfo {
            addr: ip(9),
            priority: 200
        })
    );
    // Equal priority from a lower address is accepted by a backup too.
    let a = i.handle(at_ms(30), advert(1, 100, ms(10)));
    assert_eq!(a, vec![set(Timer::MasterDown, at_us(30_000 + 36_093))]);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn v3_backup_adopts_master_interval_v2_does_not() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(5), advert(9, 200, ms(100)));
    // MAI = 100 ms: 300 ms + 156 * 100 ms / 256 (60937 µs)
    assert_eq!(a, vec![set(Timer::MasterDown, at_us(5_000 + 360_937))]);
    assert_eq!(i.master_adver_int(), ms(100));
    // A master advertising 0 cs is treated as 1 cs.
    i.handle(at_ms(6), advert(9, 200, Duration::ZERO));
    assert_eq!(i.master_adver_int(), ms(10));

    let mut i = started(params(Version::V2, 100, ms(1000)));
    i.handle(at_ms(5), advert(9, 200, ms(2000)));
    assert_eq!(i.master_adver_int(), ms(1000));
    assert_eq!(
        i.deadline(Timer::MasterDown),
        Some(at_us(5_000 + 3_609_375))
    );
}

#[test]
fn priority_0_makes_backup_take_over_after_skew_not_mdi() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    i.handle(at_ms(20), advert(9, 200, ms(10)));
    let a = i.handle(at_ms(25), advert(9, 0, ms(10)));
    assert_eq!(a, vec![set(Timer::MasterDown, at_us(25_000 + 6_093))]);
    let a = i.handle(at_us(31_093), Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        a[0],
        tr(State::Backup, State::Master, Reason::Priority0Received, 100)
    );

    // v2: skew = 156/256 s.
    let mut i = started(params(Version::V2, 100, ms(1000)));
    i.handle(at_ms(100), advert(9, 0, ms(1000)));
    assert_eq!(
        i.deadline(Timer::MasterDown),
        Some(at_us(100_000 + 609_375))
    );
}

#[test]
fn priority_0_then_normal_advert_restores_mdi_and_reason() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    i.handle(at_ms(1), advert(9, 0, ms(10)));
    i.handle(at_ms(2), advert(9, 200, ms(10)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_us(2_000 + 36_093)));
    let a = i.handle(at_us(38_093), Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        a[0],
        tr(State::Backup, State::Master, Reason::MasterDownTimer, 100)
    );
}

#[test]
fn preempt_discards_lower_priority_and_takes_over() {
    let mut i = started(params(Version::V3, 150, ms(10)));
    let first = i.deadline(Timer::MasterDown).unwrap();
    // skew(150) = 106 * 10 ms / 256 = 4140 µs
    assert_eq!(first, at_us(34_140));
    for t in [5, 15, 25] {
        assert!(i.handle(at_ms(t), advert(9, 100, ms(10))).is_empty());
    }
    assert_eq!(i.deadline(Timer::MasterDown), Some(first));
    assert_eq!(
        i.master(),
        Some(MasterInfo {
            addr: ip(9),
            priority: 100
        })
    );
    let a = i.handle(first, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        a[0],
        tr(
            State::Backup,
            State::Master,
            Reason::PreemptedLowerPriorityMaster,
            150
        )
    );
}

#[test]
fn nopreempt_follows_lower_priority_master() {
    let mut p = params(Version::V3, 150, ms(10));
    p.preempt = false;
    let mut i = started(p);
    for t in (5..500).step_by(10) {
        let a = i.handle(at_ms(t), advert(9, 100, ms(10)));
        assert_eq!(
            a,
            vec![set(
                Timer::MasterDown,
                at_ms(t) + ms(30) + Duration::from_micros(4140)
            )]
        );
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn preempt_delay_window() {
    // v2, advert_int 1 s, prio 150, preempt_delay 2 s: MDI = 3 s + 106/256 s = 3414062 µs.
    let mut p = params(Version::V2, 150, ms(1000));
    p.preempt_delay = ms(2000);
    let mut i = started(p);
    // First lower-priority advert is accepted and opens the window.
    let a = i.handle(at_ms(500), advert(9, 100, ms(1000)));
    assert_eq!(
        a,
        vec![
            set(Timer::MasterDown, at_us(500_000 + 3_414_062)),
            set(Timer::PreemptDelay, at_ms(2500)),
        ]
    );
    // Inside the window: accepted, window not extended.
    let a = i.handle(at_ms(1500), advert(9, 100, ms(1000)));
    assert_eq!(
        a,
        vec![set(Timer::MasterDown, at_us(1_500_000 + 3_414_062))]
    );
    // Window end (the timer event changes nothing by itself).
    assert!(i
        .handle(at_ms(2500), Event::TimerExpired(Timer::PreemptDelay))
        .is_empty());
    // After the window: discarded, down timer keeps running out.
    assert!(i.handle(at_ms(2500), advert(9, 100, ms(1000))).is_empty());
    assert!(i.handle(at_ms(3500), advert(9, 100, ms(1000))).is_empty());
    let a = i.handle(at_us(4_914_062), Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        a[0],
        tr(
            State::Backup,
            State::Master,
            Reason::PreemptedLowerPriorityMaster,
            150
        )
    );
}

#[test]
fn preempt_delay_cancelled_by_higher_priority_advert() {
    let mut p = params(Version::V2, 150, ms(1000));
    p.preempt_delay = ms(2000);
    let mut i = started(p);
    i.handle(at_ms(500), advert(9, 100, ms(1000)));
    let a = i.handle(at_ms(1000), advert(8, 200, ms(1000)));
    assert_eq!(
        a,
        vec![
            set(Timer::MasterDown, at_us(1_000_000 + 3_414_062)),
            Action::CancelTimer {
                timer: Timer::PreemptDelay
            },
        ]
    );
    // A later lower advert opens a fresh window.
    let a = i.handle(at_ms(1500), advert(9, 100, ms(1000)));
    assert_eq!(a.last(), Some(&set(Timer::PreemptDelay, at_ms(3500))));
}

// ----- master ------------------------------------------------------------------------

#[test]
fn master_sends_advert_every_interval() {
    let mut i = master(params(Version::V3, 100, ms(10)));
    let next = i.deadline(Timer::Advert).unwrap();
    let a = i.handle(next, Event::TimerExpired(Timer::Advert));
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 100 },
            set(Timer::Advert, next + ms(10))
        ]
    );
}

#[test]
fn master_yields_to_higher_priority() {
    let mut i = master(params(Version::V3, 100, ms(10)));
    let now = at_ms(100);
    let a = i.handle(now, advert(9, 200, ms(20)));
    // Adopts 20 ms: MDI = 60 ms + 156 * 20 ms / 256 (12187 µs).
    assert_eq!(
        a,
        vec![
            tr(
                State::Master,
                State::Backup,
                Reason::HigherPriorityAdvert,
                100
            ),
            Action::RemoveVips,
            Action::CancelTimer {
                timer: Timer::Advert
            },
            set(Timer::MasterDown, now + Duration::from_micros(72_187)),
            Action::Notify {
                state: State::Backup
            },
        ]
    );
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.master_adver_int(), ms(20));
}

#[test]
fn master_equal_priority_tie_break_on_address() {
    // Higher address (10.0.0.9 > 10.0.0.5) wins.
    let mut i = master(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(100), advert(9, 100, ms(10)));
    assert_eq!(
        a[0],
        tr(
            State::Master,
            State::Backup,
            Reason::EqualPriorityHigherAddress,
            100
        )
    );
    // Lower address: treated as a lower priority advert (we re-assert).
    let mut i = master(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(100), advert(1, 100, ms(10)));
    assert_eq!(a[0], Action::SendAdvert { priority: 100 });
    assert_eq!(i.state(), State::Master);
    // Our own address (looped back): ignored.
    let mut i = master(params(Version::V3, 100, ms(10)));
    assert!(i.handle(at_ms(100), advert(5, 100, ms(10))).is_empty());
}

#[test]
fn ipv6_tie_break_compares_addresses_unsigned() {
    let me: IpAddr = "fe80::5".parse().unwrap();
    let mut p = InstanceParams::new(1, Version::V3, 100, ms(10), me);
    p.garp.master_repeat = 0;
    p.garp.master_delay = Duration::ZERO;
    let mut i = master(p);
    let higher = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xff00));
    let a = i.handle(
        at_ms(50),
        Event::AdvertReceived(ReceivedAdvert {
            from: higher,
            priority: 100,
            max_advert_int: ms(10),
        }),
    );
    assert_eq!(
        a[0],
        tr(
            State::Master,
            State::Backup,
            Reason::EqualPriorityHigherAddress,
            100
        )
    );
}

#[test]
fn master_reasserts_on_lower_priority_rfc9568() {
    let mut p = params(Version::V3, 100, ms(10));
    p.garp.lower_prio_repeat = 2;
    p.garp.lower_prio_delay = ms(5000);
    let mut i = master(p);
    let now = at_ms(100);
    let a = i.handle(now, advert(9, 50, ms(10)));
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 100 },
            set(Timer::Advert, now + ms(10)),
            Action::SendGratuitous { count: 2 },
            set(Timer::LowerPrioGarp, now + ms(5000)),
            Action::NotifyMasterRxLowerPri,
        ]
    );
    let a = i.handle(now + ms(5000), Event::TimerExpired(Timer::LowerPrioGarp));
    assert_eq!(a, vec![Action::SendGratuitous { count: 2 }]);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn lower_prio_no_advert_stays_silent() {
    let mut p = params(Version::V3, 100, ms(10));
    p.lower_prio_no_advert = true;
    let mut i = master(p);
    let a = i.handle(at_ms(100), advert(9, 50, ms(10)));
    assert_eq!(a, vec![Action::NotifyMasterRxLowerPri]);
}

#[test]
fn master_answers_priority_0_at_once() {
    let mut i = master(params(Version::V3, 100, ms(10)));
    let now = at_ms(100);
    let a = i.handle(now, advert(9, 0, ms(10)));
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 100 },
            set(Timer::Advert, now + ms(10))
        ]
    );
    assert_eq!(i.state(), State::Master);
}

#[test]
fn higher_prio_send_advert_sends_before_yielding() {
    let mut p = params(Version::V3, 100, ms(10));
    p.higher_prio_send_advert = true;
    let mut i = master(p);
    let a = i.handle(at_ms(100), advert(9, 200, ms(10)));
    assert_eq!(a[0], Action::SendAdvert { priority: 100 });
    assert_eq!(
        a[1],
        tr(
            State::Master,
            State::Backup,
            Reason::HigherPriorityAdvert,
            100
        )
    );
}

#[test]
fn garp_bursts_delay_and_refresh() {
    let mut p = params(Version::V3, 255, ms(100));
    p.garp = GarpParams {
        master_delay: ms(5000),
        master_repeat: 3,
        master_refresh: ms(60_000),
        master_refresh_repeat: 2,
        lower_prio_delay: Duration::ZERO,
        lower_prio_repeat: 0,
    };
    let mut i = Instance::new(p);
    let a = i.handle(t0(), Event::Startup);
    assert!(a.contains(&Action::SendGratuitous { count: 3 }));
    assert!(a.contains(&set(Timer::GarpDelay, at_ms(5000))));
    assert!(a.contains(&set(Timer::GarpRefresh, at_ms(65_000))));
    let a = i.handle(at_ms(5000), Event::TimerExpired(Timer::GarpDelay));
    assert_eq!(a, vec![Action::SendGratuitous { count: 3 }]);
    let a = i.handle(at_ms(65_000), Event::TimerExpired(Timer::GarpRefresh));
    assert_eq!(
        a,
        vec![
            Action::SendGratuitous { count: 2 },
            set(Timer::GarpRefresh, at_ms(125_000))
        ]
    );
    // Leaving MASTER cancels them all.
    let a = i.handle(at_ms(70_000), Event::Shutdown);
    assert!(a.contains(&Action::CancelTimer {
        timer: Timer::GarpRefresh
    }));
    assert!(a.contains(&Action::CancelTimer {
        timer: Timer::Advert
    }));
    assert_eq!(i.next_deadline(), None);
}

// ----- shutdown / fault / priority ----------------------------------------------------

#[test]
fn shutdown_from_each_state() {
    let mut i = master(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(100), Event::Shutdown);
    assert_eq!(
        a,
        vec![
            tr(State::Master, State::Stop, Reason::Shutdown, 100),
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::Notify { state: State::Stop },
        ]
    );
    assert!(i.handle(at_ms(101), Event::Shutdown).is_empty());
    // Restart from Stop.
    let a = i.handle(at_ms(200), Event::Startup);
    assert_eq!(a[0], tr(State::Stop, State::Backup, Reason::Startup, 100));

    let mut i = started(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(1), Event::Shutdown);
    assert_eq!(
        a,
        vec![
            tr(State::Backup, State::Stop, Reason::Shutdown, 100),
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::Notify { state: State::Stop },
        ]
    );

    let mut i = Instance::new(params(Version::V3, 100, ms(10)));
    assert_eq!(
        i.handle(t0(), Event::Shutdown),
        vec![tr(State::Initialize, State::Stop, Reason::Shutdown, 100)]
    );
}

#[test]
fn master_fault_sends_priority_0_and_recovers_as_backup() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    i.handle(at_ms(1), advert(9, 200, ms(50))); // adopt 50 ms
    i.handle(at_ms(2), advert(9, 0, ms(50)));
    let at = i.deadline(Timer::MasterDown).unwrap();
    i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(i.state(), State::Master);
    let a = i.handle(at_ms(100), Event::FaultRaised(FaultReason::TrackFailed));
    assert_eq!(
        a,
        vec![
            tr(State::Master, State::Fault, Reason::TrackFailed, 100),
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::Notify {
                state: State::Fault
            },
        ]
    );
    assert_eq!(i.fault(), Some(FaultReason::TrackFailed));
    // In FAULT: adverts and stray timers do nothing.
    assert!(i.handle(at_ms(110), advert(9, 200, ms(10))).is_empty());
    assert!(i
        .handle(at_ms(110), Event::TimerExpired(Timer::Advert))
        .is_empty());
    // Cleared: BACKUP with our own interval again (10 ms), full MDI.
    let a = i.handle(at_ms(200), Event::FaultCleared);
    assert_eq!(
        a,
        vec![
            tr(State::Fault, State::Backup, Reason::FaultCleared, 100),
            set(Timer::MasterDown, at_us(200_000 + 36_093)),
            Action::Notify {
                state: State::Backup
            },
        ]
    );
    assert_eq!(i.master_adver_int(), ms(10));
}

#[test]
fn backup_fault_and_owner_recovery() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(1), Event::FaultRaised(FaultReason::InterfaceDown));
    assert_eq!(
        a,
        vec![
            tr(State::Backup, State::Fault, Reason::InterfaceDown, 100),
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::Notify {
                state: State::Fault
            },
        ]
    );
    // A second fault while in FAULT changes nothing visible.
    assert!(i
        .handle(at_ms(2), Event::FaultRaised(FaultReason::TrackFailed))
        .is_empty());

    let mut o = started(params(Version::V3, 255, ms(10)));
    o.handle(at_ms(1), Event::FaultRaised(FaultReason::TrackFailed));
    let a = o.handle(at_ms(2), Event::FaultCleared);
    assert_eq!(
        a[0],
        tr(State::Fault, State::Master, Reason::FaultCleared, 255)
    );
}

#[test]
fn priority_change_in_backup_shifts_down_timer_by_skew_delta() {
    let mut i = started(params(Version::V3, 100, ms(10)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_us(36_093)));
    // 100 -> 200: skew 6093 -> 2187 µs (56 * 10 ms / 256).
    let a = i.handle(at_ms(1), Event::PriorityChanged(200));
    assert_eq!(
        a,
        vec![set(Timer::MasterDown, at_us(36_093 - 6_093 + 2_187))]
    );
    assert_eq!(i.effective_priority(), 200);
    // Same priority: nothing. Out of range: clamped to 254.
    assert!(i.handle(at_ms(1), Event::PriorityChanged(200)).is_empty());
    i.handle(at_ms(1), Event::PriorityChanged(255));
    assert_eq!(i.effective_priority(), 254);
    i.handle(at_ms(1), Event::PriorityChanged(0));
    assert_eq!(i.effective_priority(), 1);
}

#[test]
fn priority_change_in_master_shows_in_next_advert() {
    let mut i = master(params(Version::V3, 100, ms(10)));
    // A master advertises a changed priority at once and restarts its advert timer.
    assert_eq!(
        i.handle(at_ms(50), Event::PriorityChanged(90)),
        [
            Action::SendAdvert { priority: 90 },
            Action::SetTimer {
                timer: Timer::Advert,
                at: at_ms(60)
            }
        ]
    );
    let next = i.deadline(Timer::Advert).unwrap();
    let a = i.handle(next, Event::TimerExpired(Timer::Advert));
    assert_eq!(a[0], Action::SendAdvert { priority: 90 });
    // And the lower priority now loses to a 95 advert.
    let a = i.handle(next, advert(1, 95, ms(10)));
    assert_eq!(
        a[0],
        tr(
            State::Master,
            State::Backup,
            Reason::HigherPriorityAdvert,
            90
        )
    );
}

#[test]
fn owner_ignores_priority_changes() {
    let mut i = started(params(Version::V3, 255, ms(10)));
    assert!(i.handle(at_ms(1), Event::PriorityChanged(10)).is_empty());
    assert_eq!(i.effective_priority(), 255);
}

#[test]
fn adverts_ignored_before_startup_and_after_stop() {
    let mut i = Instance::new(params(Version::V3, 100, ms(10)));
    assert!(i.handle(t0(), advert(9, 200, ms(10))).is_empty());
    i.handle(t0(), Event::Shutdown);
    assert!(i.handle(t0(), advert(9, 0, ms(10))).is_empty());
    assert!(i.handle(t0(), Event::FaultCleared).is_empty());
}

// ----- two routers on a simulated link ------------------------------------------------

/// Zero-latency LAN of instances driven by their own timers.
struct Lan {
    nodes: Vec<Instance>,
    up: Vec<bool>,
    log: Vec<(Instant, usize, Transition)>,
}

impl Lan {
    fn new(nodes: Vec<InstanceParams>) -> Self {
        let n = nodes.len();
        Lan {
            nodes: nodes.into_iter().map(Instance::new).collect(),
            up: vec![true; n],
            log: Vec::new(),
        }
    }

    fn apply(&mut self, now: Instant, node: usize, ev: Event) {
        let mut queue = vec![(node, ev)];
        while let Some((n, ev)) = queue.pop() {
            let actions = self.nodes[n].handle(now, ev);
            for a in actions {
                match a {
                    Action::Transition(t) => self.log.push((now, n, t)),
                    Action::SendAdvert { priority } if self.up[n] => {
                        let from = self.nodes[n].params().primary_addr;
                        let max_advert_int = self.nodes[n].params().advert_int;
                        for m in 0..self.nodes.len() {
                            if m != n && self.up[m] {
                                queue.push((
                                    m,
                                    Event::AdvertReceived(ReceivedAdvert {
                                        from,
                                        priority,
                                        max_advert_int,
                                    }),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Run timers until `end`.
    fn run_until(&mut self, end: Instant) {
        loop {
            let next = (0..self.nodes.len())
                .filter_map(|n| self.nodes[n].next_deadline().map(|(t, at)| (at, n, t)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, n, t)) if at <= end => self.apply(at, n, Event::TimerExpired(t)),
                _ => break,
            }
        }
    }

    fn states(&self) -> Vec<State> {
        self.nodes.iter().map(|n| n.state()).collect()
    }
}

fn lan_params(prio: u8, last: u8, int: Duration) -> InstanceParams {
    let mut p = params(Version::V3, prio, int);
    p.primary_addr = ip(last);
    p
}

#[test]
fn lan_failover_at_10ms_is_exactly_mdi() {
    let mut lan = Lan::new(vec![lan_params(150, 1, ms(10)), lan_params(100, 2, ms(10))]);
    lan.apply(t0(), 0, Event::Startup);
    lan.apply(t0(), 1, Event::Startup);
    lan.run_until(at_ms(200));
    assert_eq!(lan.states(), vec![State::Master, State::Backup]);
    // Node 0 took over at its MDI (30 ms + 4140 µs) and node 1 never did.
    assert_eq!(lan.log.len(), 3);
    assert_eq!(lan.log[2].0, at_us(34_140));
    assert_eq!(lan.log[2].2.reason, Reason::MasterDownTimer);

    // Cut the master's link: it keeps sending into the void; the backup takes over
    // Master_Down_Interval after the last advert it heard (30 ms + 6093 µs).
    lan.up[0] = false;
    let last_advert = lan.nodes[0].deadline(Timer::Advert).unwrap() - ms(10);
    lan.run_until(at_ms(400));
    let (when, node, t) = lan.log[3];
    assert_eq!(
        (node, t.to, t.reason),
        (1, State::Master, Reason::MasterDownTimer)
    );
    assert_eq!(when - last_advert, Duration::from_micros(36_093));

    // Link back: the higher priority router re-asserts, the lower one yields at once.
    lan.up[0] = true;
    lan.run_until(at_ms(500));
    assert_eq!(lan.states(), vec![State::Master, State::Backup]);
    let yielded = lan
        .log
        .iter()
        .find(|(_, n, t)| *n == 1 && t.from == State::Master)
        .unwrap();
    assert_eq!(yielded.2.reason, Reason::HigherPriorityAdvert);
}

#[test]
fn lan_shutdown_hands_over_after_skew() {
    let mut lan = Lan::new(vec![lan_params(150, 1, ms(10)), lan_params(100, 2, ms(10))]);
    lan.apply(t0(), 0, Event::Startup);
    lan.apply(t0(), 1, Event::Startup);
    lan.run_until(at_ms(100));
    lan.apply(at_ms(100), 0, Event::Shutdown);
    lan.run_until(at_ms(200));
    let (when, node, t) = *lan.log.last().unwrap();
    assert_eq!(
        (node, t.to, t.reason),
        (1, State::Master, Reason::Priority0Received)
    );
    assert_eq!(when, at_ms(100) + Duration::from_micros(6093));
}

#[test]
fn lan_equal_priority_higher_address_wins() {
    let mut lan = Lan::new(vec![lan_params(100, 1, ms(10)), lan_params(100, 2, ms(10))]);
    // Split brain: both links down, both become master.
    lan.up = vec![false, false];
    lan.apply(t0(), 0, Event::Startup);
    lan.apply(t0(), 1, Event::Startup);
    lan.run_until(at_ms(100));
    assert_eq!(lan.states(), vec![State::Master, State::Master]);
    // Healed: the lower address yields to the equal-priority higher address.
    lan.up = vec![true, true];
    lan.run_until(at_ms(300));
    assert_eq!(lan.states(), vec![State::Backup, State::Master]);
    let (_, n, t) = *lan.log.last().unwrap();
    assert_eq!((n, t.reason), (0, Reason::EqualPriorityHigherAddress));
}

#[test]
fn lan_backup_follows_equal_priority_master_whatever_its_address() {
    // With one master already elected, an equal priority backup of higher address does not
    // preempt (RFC 5798: backup accepts priority >= its own).
    let mut lan = Lan::new(vec![lan_params(100, 1, ms(10)), lan_params(100, 2, ms(10))]);
    lan.apply(t0(), 0, Event::Startup);
    lan.run_until(at_ms(50));
    lan.apply(at_ms(50), 1, Event::Startup);
    lan.run_until(at_ms(500));
    assert_eq!(lan.states(), vec![State::Master, State::Backup]);
}

#[test]
fn lan_preempt_and_nopreempt() {
    // The higher priority router starts later.
    let mut lan = Lan::new(vec![lan_params(100, 1, ms(10)), lan_params(200, 2, ms(10))]);
    lan.apply(t0(), 0, Event::Startup);
    lan.run_until(at_ms(100));
    lan.apply(at_ms(100), 1, Event::Startup);
    lan.run_until(at_ms(300));
    assert_eq!(lan.states(), vec![State::Backup, State::Master]);
    let t = lan
        .log
        .iter()
        .find(|(_, n, t)| *n == 1 && t.to == State::Master)
        .unwrap();
    assert_eq!(t.2.reason, Reason::PreemptedLowerPriorityMaster);
    // skew(200) at 10 ms = 2187 µs: takes over one MDI after its startup.
    assert_eq!(t.0, at_ms(100) + Duration::from_micros(32_187));

    let mut p = lan_params(200, 2, ms(10));
    p.preempt = false;
    let mut lan = Lan::new(vec![lan_params(100, 1, ms(10)), p]);
    lan.apply(t0(), 0, Event::Startup);
    lan.run_until(at_ms(100));
    lan.apply(at_ms(100), 1, Event::Startup);
    lan.run_until(at_ms(1000));
    assert_eq!(lan.states(), vec![State::Master, State::Backup]);
}

#[test]
fn preempt_immediately_takes_over_on_the_first_lower_priority_advert() {
    let mut p = params(Version::V3, 150, ms(10));
    p.preempt_immediately = true;
    let mut i = started(p);
    // The master's priority dropped (e.g. track_bfd): its next advert says 100 < 150.
    let a = i.handle(at_ms(5), advert(9, 100, ms(10)));
    assert_eq!(
        a[0],
        tr(
            State::Backup,
            State::Master,
            Reason::PreemptedLowerPriorityMaster,
            150
        )
    );
    assert!(a.contains(&Action::SendAdvert { priority: 150 }));
    assert!(a.contains(&Action::AddVips));
    assert_eq!(i.state(), State::Master);
    // nopreempt still waits.
    let mut p = params(Version::V3, 150, ms(10));
    p.preempt_immediately = true;
    p.preempt = false;
    let mut i = started(p);
    i.handle(at_ms(5), advert(9, 100, ms(10)));
    assert_eq!(i.state(), State::Backup);
    // An equal or higher priority master is followed as usual.
    let mut p = params(Version::V3, 150, ms(10));
    p.preempt_immediately = true;
    let mut i = started(p);
    i.handle(at_ms(5), advert(9, 200, ms(10)));
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn resume_goes_master_at_once_and_update_params_keeps_state() {
    let mut i = Instance::new(params(Version::V3, 100, ms(10)));
    let a = i.handle(at_ms(0), Event::Resume);
    assert_eq!(
        a[0],
        tr(State::Initialize, State::Master, Reason::Resume, 100)
    );
    assert!(a.contains(&Action::SendAdvert { priority: 100 }));
    // A second Resume (not from Initialize) does nothing.
    assert!(i.handle(at_ms(1), Event::Resume).is_empty());
    let mut p = params(Version::V3, 100, ms(20));
    p.preempt = false;
    i.update_params(p);
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.master_adver_int(), ms(20));
    // Identity changes are refused.
    let mut q = params(Version::V3, 100, ms(20));
    q.vrid = 9;
    i.update_params(q);
    assert_eq!(i.params().vrid, 51);
}

#[test]
fn transition_log_line_carries_the_span_words() {
    let t = Transition {
        from: State::Backup,
        to: State::Master,
        reason: Reason::MasterDownTimer,
        priority: 100,
    };
    assert_eq!(
        t.describe("VI_1"),
        "VRRP_Instance(VI_1) BACKUP -> MASTER (master_down_timer), priority 100"
    );
}

// ----- vrrp_startup_delay ------------------------------------------------------------

/// keepalived's `vrrp_startup_delay`: while it runs, a backup's down timer counts from its
/// end (vrrp_init_instance_sands), for the first timer and for adverts heard during it; after
/// it, timers count from now again.
#[test]
fn startup_delay_pushes_the_down_timer_past_its_end() {
    let mut p = params(Version::V2, 100, Duration::from_secs(1));
    let until = at_ms(5_000);
    p.delayed_start = Some(until);
    let mdi = Duration::from_micros(3_609_375);
    let mut i = Instance::new(p);
    i.handle(t0(), Event::Startup);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.deadline(Timer::MasterDown), Some(until + mdi));
    // An advert heard during the delay re-arms from its end too.
    i.handle(at_ms(1_000), advert(9, 150, Duration::from_secs(1)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(until + mdi));
    // A stopping master's Skew_Time also counts from the end of the delay.
    i.handle(at_ms(2_000), advert(9, 0, Duration::from_secs(1)));
    assert_eq!(
        i.deadline(Timer::MasterDown),
        Some(until + Duration::from_micros(609_375))
    );
    // After the delay: from now.
    i.handle(at_ms(6_000), advert(9, 150, Duration::from_secs(1)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_ms(6_000) + mdi));
    // Without the delay the first timer is the plain Master_Down_Interval.
    let i = started(params(Version::V2, 100, Duration::from_secs(1)));
    assert_eq!(i.deadline(Timer::MasterDown), Some(t0() + mdi));
}

/// The address owner, MASTER at once without the delay, waits in BACKUP for its end (1 µs
/// after it, as keepalived's owner start), then becomes MASTER.
#[test]
fn startup_delay_holds_the_owner_in_backup() {
    let mut p = params(Version::V2, 255, Duration::from_secs(1));
    let until = at_ms(3_000);
    p.delayed_start = Some(until);
    let mut i = Instance::new(p.clone());
    i.handle(t0(), Event::Startup);
    assert_eq!(i.state(), State::Backup);
    let at = until + Duration::from_micros(1);
    assert_eq!(i.deadline(Timer::MasterDown), Some(at));
    i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(i.state(), State::Master);
    // Started after the delay ended: MASTER at once.
    let mut late = Instance::new(p);
    late.handle(at_ms(4_000), Event::Startup);
    assert_eq!(late.state(), State::Master);
}
