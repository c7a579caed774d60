//! How an instance starts (sans-IO): fresh, or resuming what its predecessor left in the
//! durable state (a restart after a panic, a replacement on reload), keepalived's way.
//!
//! Rules:
//! - the start waits while a weight-0 tracker has not reported, and while the instance is held
//!   (`--take-over`);
//! - an instance in fault starts in FAULT (the fault is fed before the start);
//! - a predecessor that was MASTER with its VIPs installed is resumed: MASTER at once, no down
//!   timer, the VIPs stay (keepalived's reload keeps a matched MASTER); the trackers' priority
//!   is applied before it, and what the predecessor installed that this configuration does not
//!   have is removed after the resume's adds;
//! - any other start is fresh: the instance starts with its configured priority and takes the
//!   trackers' priority as a change right after (keepalived logs BACKUP, then the priority);
//!   what a predecessor left installed has no owner any more and is removed first;
//! - a fresh start at the daemon's start (or under `-V`) that does not end MASTER removes the
//!   VIPs a previous run may have left.
//!
//! And how it stops ([`stop`]):
//! - a MASTER replaced by a successor (reload, socket-level change) hands over: no priority 0,
//!   the VIPs stay for the successor to resume;
//! - under `-V` at the daemon's stop the instance stops keeping everything (no priority 0,
//!   VIPs, routes, rules and vmac stay);
//! - otherwise it releases (priority 0 if MASTER, its VIPs removed); a daemon that exits also
//!   removes its configured set when it does not hold it (a failed startup removal, an
//!   operator's copy).

use crate::vrrp::ah::SeqCounter;
use crate::vrrp::events::{Event, FaultReason, State};
use crate::vrrp::virtual_set::{set_minus, VirtualSet};

/// What survives a restart of the actor (after a panic) or a replacement on reload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VrrpDurable {
    /// Last state.
    pub state: Option<State>,
    /// VIPs are installed in the kernel.
    pub vips_installed: bool,
    /// What was installed (while `vips_installed`): a successor with another configuration
    /// removes what it does not want itself.
    pub installed: VirtualSet,
    /// Started with the daemon's first configuration and not yet cleaned: before anything
    /// else the instance removes its whole virtual set (VIPs, excluded VIPs, routes, rules)
    /// from the kernel, as keepalived does at start: a previous run killed without cleanup
    /// (kill -9, OOM, crash) may have left them, and an instance that comes up BACKUP would
    /// otherwise keep them for ever.
    pub startup_clear: bool,
    /// `auth_type AH`: the sequence-number counter and the last IP identification sent (a
    /// successor continues them, as keepalived keeps its counter across a reload: peers
    /// would drop a restarted count as replays).
    pub ah_seq: SeqCounter,
    /// See `ah_seq`.
    pub ah_ip_id: u16,
    /// VIPs this instance asked the firewall to drop (removed on leaving MASTER).
    pub firewalled: Vec<crate::firewall::FwAddr>,
}

/// What an instance that has not started yet knows.
#[derive(Clone, Copy, Debug)]
pub struct StartInputs<'a> {
    /// A weight-0 tracker has not reported yet.
    pub pending: bool,
    /// Held (`--take-over`) until released.
    pub held: bool,
    /// The fault tracking puts it in.
    pub fault: Option<FaultReason>,
    /// The priority tracking gives it.
    pub effective: u8,
    /// The priority its state machine has now (the configured one).
    pub priority: u8,
    /// What its predecessor left.
    pub previous: &'a VrrpDurable,
    /// What it installs as MASTER with this configuration.
    pub mine: &'a VirtualSet,
}

/// How to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    /// The events for the state machine, in order.
    pub events: Vec<Event>,
    /// Resuming as MASTER (not a fresh start).
    pub resume: bool,
    /// The priority the resume applies before it (in `events` too).
    pub priority_before: Option<u8>,
    /// The trackers' priority differs from the configured one: applied as a change once
    /// started.
    pub priority_after: bool,
    /// Not resuming: what the predecessor left installed, to remove now (no owner any more).
    pub give_up: Option<VirtualSet>,
    /// Resuming: what the predecessor installed that this configuration does not have, to
    /// remove after the resume's adds.
    pub stale: Option<VirtualSet>,
}

impl Start {
    /// Whether, once `events` are applied and the instance is MASTER or not (`master`), it
    /// removes the VIPs a previous run may have left (`clears_at_startup`: the daemon's start
    /// or `-V`).
    pub fn clears_leftovers(&self, master: bool, clears_at_startup: bool) -> bool {
        !self.resume && !master && clears_at_startup
    }
}

/// How an instance starts, or None while it may not (pending or held).
pub fn start(i: StartInputs<'_>) -> Option<Start> {
    if i.pending || i.held {
        return None;
    }
    let mut events = Vec::new();
    if let Some(r) = i.fault {
        events.push(Event::FaultRaised(r));
    }
    let prev = i.previous;
    let resume = i.fault.is_none() && prev.state == Some(State::Master) && prev.vips_installed;
    let changed = i.effective != i.priority;
    let priority_before = (resume && changed).then_some(i.effective);
    if let Some(p) = priority_before {
        events.push(Event::PriorityChanged(p));
    }
    let (give_up, stale) = if resume {
        events.push(Event::Resume);
        let stale = set_minus(&prev.installed, i.mine);
        (None, (!stale.is_empty()).then_some(stale))
    } else {
        events.push(Event::Startup);
        (prev.vips_installed.then(|| prev.installed.clone()), None)
    };
    Some(Start {
        events,
        resume,
        priority_before,
        priority_after: !resume && changed,
        give_up,
        stale,
    })
}

/// What an instance that stops knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopInputs {
    /// A successor with the same identity starts right after (a reload's replacement).
    pub replaced: bool,
    /// The daemon is exiting.
    pub terminate: bool,
    /// It gives its addresses up on this stop (false: `-V` at the daemon's stop).
    pub releases: bool,
    /// It is MASTER.
    pub master: bool,
    /// Its VIPs are installed (by it or its predecessor).
    pub vips_installed: bool,
}

/// How an instance stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A replaced MASTER: nothing sent or removed, its successor resumes.
    HandOver,
    /// `-V`: stop (notified), nothing sent or removed, the vmac kept.
    Keep,
    /// Stop: priority 0 if MASTER and the VIPs removed by the state machine; with
    /// `remove_configured`, also the configured set it does not hold.
    Release {
        /// Remove the instance's configured virtual set too.
        remove_configured: bool,
    },
}

/// How an instance stops, keepalived's way.
pub fn stop(i: StopInputs) -> Stop {
    if i.replaced && i.master {
        Stop::HandOver
    } else if !i.releases {
        Stop::Keep
    } else {
        Stop::Release {
            remove_configured: i.terminate && !i.vips_installed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::virtual_set::virtual_set_of;

    fn set(vips: &[&str]) -> VirtualSet {
        let body: String = vips.iter().map(|v| format!("  {v}\n")).collect();
        let text = format!(
            "vrrp_instance VI {{\n interface lo\n virtual_router_id 1\n virtual_ipaddress {{\n{body} }}\n}}\n"
        );
        let l = crate::config::load_str("t.conf", &text, &crate::config::LoadOptions::default());
        virtual_set_of(&l.config.instances[0])
    }

    fn master(installed: VirtualSet) -> VrrpDurable {
        VrrpDurable {
            state: Some(State::Master),
            vips_installed: true,
            installed,
            ..VrrpDurable::default()
        }
    }

    fn inputs<'a>(prev: &'a VrrpDurable, mine: &'a VirtualSet) -> StartInputs<'a> {
        StartInputs {
            pending: false,
            held: false,
            fault: None,
            effective: 100,
            priority: 100,
            previous: prev,
            mine,
        }
    }

    #[test]
    fn a_pending_or_held_instance_does_not_start() {
        let (prev, mine) = (VrrpDurable::default(), set(&["10.0.0.1"]));
        let pending = StartInputs {
            pending: true,
            ..inputs(&prev, &mine)
        };
        assert_eq!(start(pending), None);
        let held = StartInputs {
            held: true,
            ..inputs(&prev, &mine)
        };
        assert_eq!(start(held), None);
    }

    #[test]
    fn a_first_start_is_fresh() {
        let (prev, mine) = (VrrpDurable::default(), set(&["10.0.0.1"]));
        let s = start(inputs(&prev, &mine)).expect("starts");
        assert_eq!(s.events, vec![Event::Startup]);
        assert!(!s.resume);
        assert_eq!((s.give_up, s.stale), (None, None));
    }

    #[test]
    fn a_faulty_instance_starts_in_fault() {
        let (prev, mine) = (VrrpDurable::default(), set(&["10.0.0.1"]));
        let s = start(StartInputs {
            fault: Some(FaultReason::InterfaceDown),
            ..inputs(&prev, &mine)
        })
        .expect("starts");
        assert_eq!(
            s.events,
            vec![
                Event::FaultRaised(FaultReason::InterfaceDown),
                Event::Startup
            ]
        );
    }

    #[test]
    fn a_master_with_its_vips_resumes_as_master_and_keeps_them() {
        let mine = set(&["10.0.0.1"]);
        let prev = master(mine.clone());
        let s = start(inputs(&prev, &mine)).expect("starts");
        assert_eq!(s.events, vec![Event::Resume]);
        assert!(s.resume);
        // Nothing removed: the VIPs never move.
        assert!(!s.clears_leftovers(true, true));
        assert_eq!((s.give_up, s.stale), (None, None));
    }

    #[test]
    fn a_resume_applies_the_trackers_priority_before_it() {
        let mine = set(&["10.0.0.1"]);
        let prev = master(mine.clone());
        let s = start(StartInputs {
            effective: 80,
            ..inputs(&prev, &mine)
        })
        .expect("starts");
        assert_eq!(s.events, vec![Event::PriorityChanged(80), Event::Resume]);
        assert_eq!((s.priority_before, s.priority_after), (Some(80), false));
    }

    #[test]
    fn a_fresh_start_takes_the_trackers_priority_after_it() {
        let (prev, mine) = (VrrpDurable::default(), set(&["10.0.0.1"]));
        let s = start(StartInputs {
            effective: 120,
            ..inputs(&prev, &mine)
        })
        .expect("starts");
        assert_eq!(s.events, vec![Event::Startup]);
        assert_eq!((s.priority_before, s.priority_after), (None, true));
    }

    #[test]
    fn a_resume_removes_what_this_configuration_dropped() {
        let prev = master(set(&["10.0.0.1", "10.0.0.2"]));
        let mine = set(&["10.0.0.1", "10.0.0.3"]);
        let s = start(inputs(&prev, &mine)).expect("starts");
        let stale = s.stale.expect("10.0.0.2 is stale");
        let addrs: Vec<String> = stale.addresses.iter().map(|a| a.addr.to_string()).collect();
        assert_eq!(addrs, ["10.0.0.2/32"]);
    }

    #[test]
    fn a_faulty_master_does_not_resume_and_gives_its_vips_up() {
        let mine = set(&["10.0.0.1"]);
        let prev = master(mine.clone());
        let s = start(StartInputs {
            fault: Some(FaultReason::TrackFailed),
            ..inputs(&prev, &mine)
        })
        .expect("starts");
        assert!(!s.resume);
        assert_eq!(s.give_up, Some(mine));
        assert_eq!(
            s.events,
            vec![Event::FaultRaised(FaultReason::TrackFailed), Event::Startup]
        );
    }

    #[test]
    fn a_backup_predecessor_is_not_resumed() {
        let mine = set(&["10.0.0.1"]);
        let prev = VrrpDurable {
            state: Some(State::Backup),
            ..VrrpDurable::default()
        };
        let s = start(inputs(&prev, &mine)).expect("starts");
        assert_eq!(s.events, vec![Event::Startup]);
        assert_eq!(s.give_up, None);
        // A master whose VIPs were not installed is not resumed either.
        let prev = VrrpDurable {
            vips_installed: false,
            ..master(mine.clone())
        };
        assert!(!start(inputs(&prev, &mine)).expect("starts").resume);
    }

    #[test]
    fn a_fresh_start_that_is_not_master_clears_leftovers_at_daemon_start_only() {
        let (prev, mine) = (VrrpDurable::default(), set(&["10.0.0.1"]));
        let s = start(inputs(&prev, &mine)).expect("starts");
        assert!(s.clears_leftovers(false, true));
        assert!(!s.clears_leftovers(true, true));
        assert!(!s.clears_leftovers(false, false));
    }

    fn stopping(replaced: bool, terminate: bool, releases: bool, master: bool) -> Stop {
        stop(StopInputs {
            replaced,
            terminate,
            releases,
            master,
            vips_installed: master,
        })
    }

    #[test]
    fn a_replaced_master_hands_over_and_keeps_its_vips() {
        assert_eq!(stopping(true, false, true, true), Stop::HandOver);
        // A replaced backup releases as usual (nothing installed to remove).
        assert_eq!(
            stopping(true, false, true, false),
            Stop::Release {
                remove_configured: false
            }
        );
    }

    #[test]
    fn dont_release_vrrp_keeps_everything_at_the_daemons_stop() {
        assert_eq!(stopping(false, true, false, true), Stop::Keep);
        assert_eq!(stopping(false, true, false, false), Stop::Keep);
    }

    #[test]
    fn a_stopping_master_releases_its_vips() {
        assert_eq!(
            stopping(false, true, true, true),
            Stop::Release {
                remove_configured: false
            }
        );
        assert_eq!(
            stopping(false, false, true, true),
            Stop::Release {
                remove_configured: false
            }
        );
    }

    #[test]
    fn an_exiting_daemon_removes_what_an_instance_does_not_hold() {
        assert_eq!(
            stopping(false, true, true, false),
            Stop::Release {
                remove_configured: true
            }
        );
        // Removed by a reload: only what it holds goes.
        assert_eq!(
            stopping(false, false, true, false),
            Stop::Release {
                remove_configured: false
            }
        );
    }
}
