//! Sync groups: the group core alone, the state machine's side of it, and two routers with a
//! group of two instances each on a simulated link (injected time).

use std::collections::VecDeque;
use std::time::Instant;

use super::{at_ms, ip, ms, no_garp, t0};

use crate::vrrp::events::*;
use crate::vrrp::fsm::Instance;
use crate::vrrp::packet::Version;
use crate::vrrp::params::InstanceParams;
use crate::vrrp::sync::{SyncAction, SyncGroup};

fn cmd(member: &str, to: State) -> SyncAction {
    SyncAction::Command {
        member: member.into(),
        to,
    }
}

fn gtr(from: State, to: State, member: &str) -> SyncAction {
    SyncAction::Transition {
        from,
        to,
        member: member.into(),
    }
}

use State::{Backup, Fault, Initialize, Master, Stop};

// ----- the group core ------------------------------------------------------------------

#[test]
fn group_is_backup_once_every_member_is() {
    let mut g = SyncGroup::new(["A", "B"]);
    assert_eq!(g.state(), Initialize);
    assert_eq!(g.report("A", Backup, Backup), vec![]);
    assert_eq!(g.state(), Initialize);
    assert_eq!(
        g.report("B", Backup, Backup),
        vec![gtr(Initialize, Backup, "B")]
    );
}

#[test]
fn group_goes_master_only_when_every_member_wants_master() {
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Backup, Backup);
    }
    // A's down timer expired: it waits.
    assert_eq!(g.report("A", Backup, Master), vec![]);
    assert_eq!(g.report("B", Backup, Master), vec![]);
    // C still hears a master: nothing; then C wants MASTER too: everyone goes.
    assert_eq!(g.report("C", Backup, Backup), vec![]);
    assert_eq!(
        g.report("C", Backup, Master),
        vec![cmd("A", Master), cmd("B", Master), cmd("C", Master)]
    );
    // Members arrive: no second command, the group is MASTER with the last one.
    assert_eq!(g.report("A", Master, Master), vec![]);
    assert_eq!(g.report("C", Master, Master), vec![]);
    assert_eq!(g.state(), Backup);
    assert_eq!(
        g.report("B", Master, Master),
        vec![gtr(Backup, Master, "B")]
    );
}

#[test]
fn a_withdrawn_wish_holds_the_group_back() {
    let mut g = SyncGroup::new(["A", "B"]);
    g.report("A", Backup, Backup);
    g.report("B", Backup, Backup);
    g.report("A", Backup, Master);
    // A heard a master it accepts again before B wanted MASTER.
    g.report("A", Backup, Backup);
    assert_eq!(g.report("B", Backup, Master), vec![]);
    assert_eq!(g.member("A"), Some((Backup, Backup)));
}

#[test]
fn a_member_becoming_master_takes_the_waiting_backups_with_it() {
    // e.g. a MASTER instance resumed after a supervised restart.
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Backup, Backup);
    }
    assert_eq!(g.report("B", Backup, Master), vec![]);
    assert_eq!(g.report("C", Backup, Master), vec![]);
    assert_eq!(
        g.report("A", Master, Master),
        vec![cmd("B", Master), cmd("C", Master)]
    );
}

#[test]
fn a_member_becoming_master_alone_does_not_drag_members_hearing_a_master() {
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Backup, Backup);
    }
    // C is in FAULT: never commanded (its fault condition keeps it there).
    g.report("C", Fault, Fault);
    assert_eq!(g.state(), Backup);
    assert_eq!(g.report("A", Master, Master), vec![]);
    // A hears the better master and yields: nobody else to move.
    assert_eq!(g.report("A", Backup, Backup), vec![]);
}

#[test]
fn a_member_leaving_master_for_backup_takes_the_masters_with_it() {
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Master, Master);
    }
    assert_eq!(g.state(), Master);
    assert_eq!(
        g.report("B", Backup, Backup),
        vec![cmd("A", Backup), cmd("C", Backup)]
    );
    assert_eq!(g.report("A", Backup, Backup), vec![]);
    assert_eq!(
        g.report("C", Backup, Backup),
        vec![gtr(Master, Backup, "C")]
    );
}

#[test]
fn fault_once_the_members_followed_the_faulty_one() {
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Master, Master);
    }
    // FAULT is spread by the members themselves (their fault condition), not commanded; the
    // group reports it after its members (as keepalived's FIFO lines show).
    assert_eq!(g.report("A", Fault, Fault), vec![]);
    assert_eq!(g.report("B", Fault, Fault), vec![]);
    assert_eq!(g.state(), Master);
    // A member that cannot follow (no interface yet, stopping) does not hold FAULT back.
    g.report("C", Initialize, Initialize);
    assert_eq!(g.state(), Fault);
    assert_eq!(g.report("C", Fault, Fault), vec![]);
    // Recovery: BACKUP once every member is.
    assert_eq!(g.report("A", Backup, Backup), vec![]);
    assert_eq!(g.report("B", Backup, Backup), vec![]);
    assert_eq!(g.state(), Fault);
    assert_eq!(g.report("C", Backup, Backup), vec![gtr(Fault, Backup, "C")]);
}

#[test]
fn stop_once_every_member_stopped() {
    let mut g = SyncGroup::new(["A", "B"]);
    g.report("A", Master, Master);
    g.report("B", Master, Master);
    assert_eq!(g.report("A", Stop, Stop), vec![]);
    assert_eq!(g.state(), Master);
    assert_eq!(g.report("B", Stop, Stop), vec![gtr(Master, Stop, "B")]);
}

#[test]
fn unknown_members_are_ignored_and_membership_changes_keep_reports() {
    let mut g = SyncGroup::new(["A", "B"]);
    assert_eq!(g.report("X", Master, Master), vec![]);
    g.report("A", Master, Master);
    g.report("B", Master, Master);
    g.set_members(["A", "C", "A"]);
    assert_eq!(g.members().collect::<Vec<_>>(), vec!["A", "C"]);
    assert_eq!(g.member("A"), Some((Master, Master)));
    assert_eq!(g.member("C"), Some((Initialize, Initialize)));
    assert_eq!(g.member("B"), None);
    assert_eq!(g.state(), Master);
    // The new member C is the only one not wanting MASTER: its own wish moves it.
    assert_eq!(g.report("C", Backup, Master), vec![cmd("C", Master)]);
}

#[test]
fn a_pending_command_is_not_repeated() {
    let mut g = SyncGroup::new(["A", "B", "C"]);
    for m in ["A", "B", "C"] {
        g.report(m, Master, Master);
    }
    assert_eq!(
        g.report("A", Backup, Backup),
        vec![cmd("B", Backup), cmd("C", Backup)]
    );
    // B went BACKUP on its own command... and before C got its command, B re-reports.
    assert_eq!(g.report("B", Backup, Backup), vec![]);
    // C is still MASTER in our view but already commanded.
    assert_eq!(g.report("A", Backup, Backup), vec![]);
}

// ----- the state machine's side ------------------------------------------------------

fn member_params(prio: u8, last: u8) -> InstanceParams {
    let mut p = InstanceParams::new(1, Version::V3, prio, ms(100), ip(last));
    p.garp = no_garp();
    p.sync_group = true;
    p
}

fn advert(from: u8, priority: u8) -> Event {
    Event::AdvertReceived(ReceivedAdvert {
        from: ip(from),
        priority,
        max_advert_int: ms(100),
    })
}

fn transitions(a: &[Action]) -> Vec<(State, State, Reason)> {
    a.iter()
        .filter_map(|a| match a {
            Action::Transition(t) => Some((t.from, t.to, t.reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn member_down_timer_waits_for_the_group() {
    let mut i = Instance::new(member_params(100, 5));
    i.handle(t0(), Event::Startup);
    let (timer, at) = i.next_deadline().unwrap();
    assert_eq!(timer, Timer::MasterDown);
    let a = i.handle(at, Event::TimerExpired(Timer::MasterDown));
    // Still BACKUP, wants MASTER, down timer re-armed for a full interval; nothing else.
    assert_eq!(i.state(), Backup);
    assert_eq!(i.want_state(), Master);
    let mdi = i.master_down_interval();
    assert_eq!(
        a,
        vec![Action::SetTimer {
            timer: Timer::MasterDown,
            at: at + mdi
        }]
    );
    // The group says go: MASTER with the instance's own reason.
    let a = i.handle(at + ms(1), Event::SyncMaster);
    assert_eq!(
        transitions(&a),
        vec![(Backup, Master, Reason::MasterDownTimer)]
    );
    assert!(a.contains(&Action::AddVips));
    assert_eq!(i.deadline(Timer::MasterDown), None);
    assert_eq!(i.want_state(), Master);
}

#[test]
fn an_accepted_advert_withdraws_the_wish() {
    let mut i = Instance::new(member_params(100, 5));
    i.handle(t0(), Event::Startup);
    let (_, at) = i.next_deadline().unwrap();
    i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(i.want_state(), Master);
    // A lower priority advert is discarded: still wants MASTER.
    i.handle(at + ms(10), advert(9, 50));
    assert_eq!(i.want_state(), Master);
    i.handle(at + ms(20), advert(9, 120));
    assert_eq!(i.want_state(), Backup);
    assert_eq!(i.state(), Backup);
}

#[test]
fn a_member_told_to_follow_reports_sync_group() {
    let mut i = Instance::new(member_params(100, 5));
    i.handle(t0(), Event::Startup);
    i.handle(at_ms(10), advert(9, 120));
    let a = i.handle(at_ms(20), Event::SyncMaster);
    assert_eq!(transitions(&a), vec![(Backup, Master, Reason::SyncGroup)]);
    // Yield when the group goes BACKUP: no priority-0 advert, addresses removed.
    let a = i.handle(at_ms(30), Event::SyncBackup);
    assert_eq!(transitions(&a), vec![(Master, Backup, Reason::SyncGroup)]);
    assert!(a.contains(&Action::RemoveVips));
    assert!(!a.contains(&Action::SendAdvert { priority: 0 }));
    assert!(a.contains(&Action::Notify { state: Backup }));
    let mdi = i.master_down_interval();
    assert_eq!(i.deadline(Timer::MasterDown), Some(at_ms(30) + mdi));
    assert_eq!(i.deadline(Timer::Advert), None);
}

#[test]
fn sync_commands_are_ignored_where_they_do_not_apply() {
    let mut i = Instance::new(member_params(100, 5));
    assert!(i.handle(t0(), Event::SyncMaster).is_empty());
    i.handle(t0(), Event::FaultRaised(FaultReason::SyncGroup));
    let a = i.handle(t0(), Event::Startup);
    assert_eq!(
        transitions(&a),
        vec![(Initialize, Fault, Reason::SyncGroup)]
    );
    assert!(i.handle(at_ms(1), Event::SyncMaster).is_empty());
    assert!(i.handle(at_ms(1), Event::SyncBackup).is_empty());
    i.handle(at_ms(2), Event::FaultCleared);
    assert_eq!(i.state(), Backup);
    assert!(i.handle(at_ms(3), Event::SyncBackup).is_empty());
}

#[test]
fn preempting_member_asks_the_group_instead_of_taking_over() {
    let mut p = member_params(150, 5);
    p.preempt_immediately = true;
    let mut i = Instance::new(p);
    i.handle(t0(), Event::Startup);
    let a = i.handle(at_ms(10), advert(9, 100));
    assert!(transitions(&a).is_empty());
    assert_eq!(i.want_state(), Master);
    let a = i.handle(at_ms(11), Event::SyncMaster);
    assert_eq!(
        transitions(&a),
        vec![(Backup, Master, Reason::PreemptedLowerPriorityMaster)]
    );
}

#[test]
fn owner_in_a_sync_group_waits_like_state_master() {
    let mut i = Instance::new(member_params(255, 5));
    let a = i.handle(t0(), Event::Startup);
    assert_eq!(transitions(&a), vec![(Initialize, Backup, Reason::Startup)]);
    let (_, at) = i.next_deadline().unwrap();
    assert!(at - t0() < i.master_down_interval());
    i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!((i.state(), i.want_state()), (Backup, Master));
}

#[test]
fn without_sync_group_the_commands_change_nothing_else() {
    // A plain instance still takes over by itself.
    let mut p = member_params(100, 5);
    p.sync_group = false;
    let mut i = Instance::new(p);
    i.handle(t0(), Event::Startup);
    let (_, at) = i.next_deadline().unwrap();
    let a = i.handle(at, Event::TimerExpired(Timer::MasterDown));
    assert_eq!(
        transitions(&a),
        vec![(Backup, Master, Reason::MasterDownTimer)]
    );
}

// ----- two routers, a sync group of two instances on each -----------------------------

/// One instance on a host: (host, vrid) with its state machine and group.
struct Node {
    host: u8,
    vrid: u8,
    name: String,
    group: Option<usize>,
    inst: Instance,
    reported: Option<(State, State)>,
}

/// Zero-latency LAN: adverts reach every other host's instance with the same VRID; group
/// reports and commands are delivered at once, as the actors do (in order).
struct SyncLan {
    nodes: Vec<Node>,
    groups: Vec<SyncGroup>,
    up: Vec<bool>,
    log: Vec<(Instant, String, Transition)>,
    group_log: Vec<(Instant, usize, State)>,
}

impl SyncLan {
    fn new() -> Self {
        SyncLan {
            nodes: Vec::new(),
            groups: Vec::new(),
            up: vec![true; 8],
            log: Vec::new(),
            group_log: Vec::new(),
        }
    }

    fn add(&mut self, host: u8, vrid: u8, prio: u8, group: Option<usize>) {
        let mut p = InstanceParams::new(vrid, Version::V3, prio, ms(100), ip(host));
        p.garp = member_params(prio, host).garp;
        p.sync_group = group.is_some();
        self.nodes.push(Node {
            host,
            vrid,
            name: format!("h{host}_VI_{vrid}"),
            group,
            inst: Instance::new(p),
            reported: None,
        });
    }

    fn group(&mut self, names: &[&str]) -> usize {
        self.groups.push(SyncGroup::new(names.iter().copied()));
        self.groups.len() - 1
    }

    fn idx(&self, name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == name).unwrap()
    }

    fn apply(&mut self, now: Instant, node: usize, ev: Event) {
        let mut queue = VecDeque::from([(node, ev)]);
        while let Some((n, ev)) = queue.pop_front() {
            let actions = self.nodes[n].inst.handle(now, ev);
            for a in actions {
                match a {
                    Action::Transition(t) => self.log.push((now, self.nodes[n].name.clone(), t)),
                    Action::SendAdvert { priority } if self.up[usize::from(self.nodes[n].host)] => {
                        let (host, vrid) = (self.nodes[n].host, self.nodes[n].vrid);
                        for m in 0..self.nodes.len() {
                            let o = &self.nodes[m];
                            if o.host != host && o.vrid == vrid && self.up[usize::from(o.host)] {
                                queue.push_back((
                                    m,
                                    Event::AdvertReceived(ReceivedAdvert {
                                        from: ip(host),
                                        priority,
                                        max_advert_int: ms(100),
                                    }),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
            // The actor's report to its group after each event, if anything changed.
            let view = (self.nodes[n].inst.state(), self.nodes[n].inst.want_state());
            if let Some(g) = self.nodes[n].group {
                if self.nodes[n].reported != Some(view) {
                    self.nodes[n].reported = Some(view);
                    let name = self.nodes[n].name.clone();
                    for a in self.groups[g].report(&name, view.0, view.1) {
                        match a {
                            SyncAction::Command { member, to } => {
                                let m = self.idx(&member);
                                let ev = if to == Master {
                                    Event::SyncMaster
                                } else {
                                    Event::SyncBackup
                                };
                                queue.push_back((m, ev));
                            }
                            SyncAction::Transition { to, .. } => self.group_log.push((now, g, to)),
                        }
                    }
                }
            }
        }
    }

    fn run_until(&mut self, end: Instant) {
        loop {
            let next = (0..self.nodes.len())
                .filter_map(|n| self.nodes[n].inst.next_deadline().map(|(t, at)| (at, n, t)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, n, t)) if at <= end => self.apply(at, n, Event::TimerExpired(t)),
                _ => break,
            }
        }
    }

    fn start_all(&mut self, now: Instant) {
        for n in 0..self.nodes.len() {
            self.apply(now, n, Event::Startup);
        }
    }

    fn state(&self, name: &str) -> State {
        self.nodes[self.idx(name)].inst.state()
    }

    fn states(&self, names: &[&str]) -> Vec<State> {
        names.iter().map(|n| self.state(n)).collect()
    }
}

/// h1 (priority 150) and h2 (priority 100), VRIDs 1 and 2 in a group on each host.
fn two_grouped_hosts() -> SyncLan {
    let mut lan = SyncLan::new();
    let g1 = lan.group(&["h1_VI_1", "h1_VI_2"]);
    let g2 = lan.group(&["h2_VI_1", "h2_VI_2"]);
    lan.add(1, 1, 150, Some(g1));
    lan.add(1, 2, 150, Some(g1));
    lan.add(2, 1, 100, Some(g2));
    lan.add(2, 2, 100, Some(g2));
    lan
}

const H1: [&str; 2] = ["h1_VI_1", "h1_VI_2"];
const H2: [&str; 2] = ["h2_VI_1", "h2_VI_2"];

#[test]
fn lan_groups_elect_together() {
    let mut lan = two_grouped_hosts();
    lan.start_all(t0());
    lan.run_until(at_ms(2000));
    assert_eq!(lan.states(&H1), vec![Master, Master]);
    assert_eq!(lan.states(&H2), vec![Backup, Backup]);
    assert_eq!(lan.groups[0].state(), Master);
    assert_eq!(lan.groups[1].state(), Backup);
    // Each group reported BACKUP (startup) then h1's MASTER, once each.
    let g: Vec<(usize, State)> = lan.group_log.iter().map(|(_, g, s)| (*g, *s)).collect();
    assert_eq!(g, vec![(0, Backup), (1, Backup), (0, Master)]);
}

#[test]
fn lan_member_fault_moves_the_whole_group_and_back() {
    let mut lan = two_grouped_hosts();
    lan.start_all(t0());
    lan.run_until(at_ms(2000));
    // h1_VI_1's tracker fails; the actor of h1_VI_2 sees its member's fault.
    let (a, b) = (lan.idx("h1_VI_1"), lan.idx("h1_VI_2"));
    lan.apply(at_ms(2000), a, Event::FaultRaised(FaultReason::TrackFailed));
    lan.apply(at_ms(2000), b, Event::FaultRaised(FaultReason::SyncGroup));
    lan.run_until(at_ms(4000));
    assert_eq!(lan.states(&H1), vec![Fault, Fault]);
    assert_eq!(lan.states(&H2), vec![Master, Master]);
    assert_eq!(lan.groups[0].state(), Fault);
    assert_eq!(lan.groups[1].state(), Master);
    // h2 took over after the priority-0 adverts: one member by its own timer, both close.
    let took: Vec<&(Instant, String, Transition)> = lan
        .log
        .iter()
        .filter(|(_, n, t)| n.starts_with("h2") && t.to == Master)
        .collect();
    assert_eq!(took.len(), 2);
    assert!(took[1].0 - at_ms(2000) < ms(500), "{took:?}");

    // Recovery: both come back to h1 together.
    lan.apply(at_ms(4000), a, Event::FaultCleared);
    lan.apply(at_ms(4000), b, Event::FaultCleared);
    lan.run_until(at_ms(6000));
    assert_eq!(lan.states(&H1), vec![Master, Master]);
    assert_eq!(lan.states(&H2), vec![Backup, Backup]);
    let g: Vec<(usize, State)> = lan.group_log.iter().map(|(_, g, s)| (*g, *s)).collect();
    assert_eq!(
        g,
        vec![
            (0, Backup),
            (1, Backup),
            (0, Master),
            (0, Fault),
            (1, Master),
            (0, Backup),
            (0, Master),
            (1, Backup)
        ]
    );
}

#[test]
fn lan_a_member_outranked_takes_its_group_to_backup_and_holds_it_there() {
    // h1: a group (150). h2: two plain instances, VI_1 at 100 for now, VI_2 at 100.
    let mut lan = SyncLan::new();
    let g1 = lan.group(&["h1_VI_1", "h1_VI_2"]);
    lan.add(1, 1, 150, Some(g1));
    lan.add(1, 2, 150, Some(g1));
    lan.add(2, 1, 100, None);
    lan.add(2, 2, 100, None);
    lan.start_all(t0());
    lan.run_until(at_ms(2000));
    assert_eq!(lan.states(&H1), vec![Master, Master]);

    // h2's VI_1 gains priority (a tracker): it preempts h1_VI_1, whose group follows.
    let b1 = lan.idx("h2_VI_1");
    lan.apply(at_ms(2000), b1, Event::PriorityChanged(200));
    lan.run_until(at_ms(5000));
    assert_eq!(lan.states(&H1), vec![Backup, Backup]);
    assert_eq!(lan.states(&H2), vec![Master, Master]);
    let yielded = lan
        .log
        .iter()
        .find(|(_, n, t)| n == "h1_VI_2" && t.from == Master)
        .unwrap();
    assert_eq!(yielded.2.reason, Reason::SyncGroup);
    // h1_VI_2 hears a lower priority master and wants MASTER, but h1_VI_1 does not: held.
    let h1v2 = lan.idx("h1_VI_2");
    assert_eq!(lan.nodes[h1v2].inst.want_state(), Master);
    assert_eq!(lan.groups[0].state(), Backup);

    // h2's VI_1 drops back: h1_VI_1 preempts and the group goes MASTER together.
    lan.apply(at_ms(5000), b1, Event::PriorityChanged(100));
    lan.run_until(at_ms(7000));
    assert_eq!(lan.states(&H1), vec![Master, Master]);
    assert_eq!(lan.states(&H2), vec![Backup, Backup]);
    assert_eq!(lan.groups[0].state(), Master);
    // And it did so at once (preemption on the first lower priority advert), both members.
    let back: Vec<&(Instant, String, Transition)> = lan
        .log
        .iter()
        .filter(|(at, n, t)| *at >= at_ms(5000) && n.starts_with("h1") && t.to == Master)
        .collect();
    assert_eq!(back.len(), 2, "{back:?}");
    assert!(back.iter().all(|(at, _, _)| *at == at_ms(5000)), "{back:?}");
}
