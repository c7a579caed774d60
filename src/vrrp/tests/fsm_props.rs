//! Random event sequences: the state machine never panics and keeps its invariants.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::vrrp::events::*;
use crate::vrrp::fsm::Instance;
use crate::vrrp::packet::Version;
use crate::vrrp::params::{InitialState, InstanceParams};

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Startup),
        Just(Event::Shutdown),
        Just(Event::FaultCleared),
        Just(Event::SyncMaster),
        Just(Event::SyncBackup),
        prop_oneof![
            Just(FaultReason::TrackFailed),
            Just(FaultReason::InterfaceDown),
            Just(FaultReason::SyncGroup)
        ]
        .prop_map(Event::FaultRaised),
        any::<u8>().prop_map(Event::PriorityChanged),
        (0usize..6).prop_map(|i| Event::TimerExpired(Timer::ALL[i])),
        (1u8..10, any::<u8>(), 0u64..500).prop_map(|(last, priority, cs)| {
            Event::AdvertReceived(ReceivedAdvert {
                from: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
                priority,
                max_advert_int: Duration::from_millis(cs * 10),
            })
        }),
    ]
}

fn arb_params() -> impl Strategy<Value = InstanceParams> {
    (
        prop_oneof![Just(Version::V2), Just(Version::V3)],
        1u8..=255,
        1u64..=100,
        any::<bool>(),
        any::<bool>(),
        0u64..3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(version, prio, int, preempt, master, delay, quiet, sync)| {
                let int = match version {
                    Version::V2 => Duration::from_secs(int.min(5)),
                    Version::V3 => Duration::from_millis(int * 10),
                };
                let mut p = InstanceParams::new(
                    1,
                    version,
                    prio,
                    int,
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
                );
                p.preempt = preempt;
                p.preempt_delay = Duration::from_secs(delay);
                p.lower_prio_no_advert = quiet;
                p.sync_group = sync;
                if master {
                    p.initial_state = InitialState::Master;
                }
                p
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn invariants_hold(params in arb_params(),
                       steps in proptest::collection::vec((0u64..2_000_000, arb_event(), any::<bool>()), 1..120)) {
        let owner = params.is_owner();
        let mut i = Instance::new(params);
        let mut now = Instant::now();
        let mut vips_added = false;
        for (dt, ev, fire_due) in steps {
            now += Duration::from_micros(dt);
            // Half the time deliver the due timer instead, as an actor would.
            let ev = match (fire_due, i.next_deadline()) {
                (true, Some((t, at))) => { now = now.max(at); Event::TimerExpired(t) }
                _ => ev,
            };
            let before = i.state();
            let actions = i.handle(now, ev);
            for a in &actions {
                match a {
                    Action::AddVips => { prop_assert!(!vips_added); vips_added = true; }
                    Action::RemoveVips => { prop_assert!(vips_added); vips_added = false; }
                    Action::SetTimer { at, .. } => prop_assert!(*at >= now || matches!(ev, Event::PriorityChanged(_))),
                    Action::Transition(t) => prop_assert_eq!(t.from, before),
                    _ => {}
                }
            }
            // Addresses are held exactly while MASTER.
            prop_assert_eq!(vips_added, i.state() == State::Master);
            // Each state arms exactly its own timers.
            let armed = |t| i.deadline(t).is_some();
            match i.state() {
                State::Backup => {
                    prop_assert!(armed(Timer::MasterDown));
                    prop_assert!(!armed(Timer::Advert));
                }
                State::Master => {
                    prop_assert!(armed(Timer::Advert));
                    prop_assert!(!armed(Timer::MasterDown));
                    prop_assert!(!armed(Timer::PreemptDelay));
                }
                State::Initialize | State::Fault | State::Stop => prop_assert_eq!(i.next_deadline(), None),
            }
            let p = i.effective_priority();
            if owner { prop_assert_eq!(p, 255) } else { prop_assert!((1..=254).contains(&p)) }
        }
    }
}
