//! The VRRP instance state machine (RFC 5798 §6.4 with RFC 9568 and keepalived behaviour).
//!
//! Sans-IO: [`Instance::handle`] takes the current time and one [`Event`] and returns the
//! [`Action`]s to perform; it owns no socket, clock or timer. Timer deadlines are kept here
//! too, so a late or stale `TimerExpired` (one re-armed or cancelled since) is ignored.
//!
//! keepalived behaviour kept on purpose (see notes/keepalived-reference.md §3):
//! - every non-owner starts BACKUP; `state MASTER` only shortens the first down timer to
//!   1 × advert_int + minimum skew; the owner (priority 255) becomes MASTER at once;
//! - v2 skew is not scaled by advert_int; a v3 backup adopts the master's interval;
//! - a backup accepts adverts of priority ≥ its own, or any advert with `nopreempt`, or any
//!   while the `preempt_delay` window (started by the first lower priority advert) is open;
//!   discarded lower priority adverts leave the down timer running (preemption);
//! - priority 0 heard: backup sets the down timer to Skew_Time, master answers at once;
//! - master hearing a lower priority advert (or equal priority from a lower address) sends an
//!   advert at once (RFC 9568; not with `lower_prio_no_advert`) and optional GARPs;
//! - MASTER → FAULT and shutdown send a priority-0 advert; yielding to a better master does not.
//!
//! A `vrrp_sync_group` member (`params.sync_group`) never becomes MASTER on its own, as in
//! keepalived's `vrrp_sync_can_goto_master`: when its down timer expires (or it would preempt)
//! it stays BACKUP, records that it wants MASTER ([`Instance::want_state`]) and re-arms the
//! down timer; its group (`super::sync`) answers with [`Event::SyncMaster`] once every member
//! wants MASTER. An accepted advert from a master withdraws the wish. [`Event::SyncBackup`]
//! makes a MASTER yield to BACKUP (no priority-0 advert) when another member did.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::events::{Action, Event, FaultReason, Reason, ReceivedAdvert, State, Timer, Transition};
use super::packet::{Version, PRIORITY_OWNER, PRIORITY_STOP};
use super::params::InstanceParams;
use super::timers;

/// Smallest Master_Adver_Interval a v3 backup adopts (1 cs): a peer advertising 0 would
/// otherwise make the down timer fire at once.
const MIN_MASTER_ADVER_INT: Duration = Duration::from_millis(10);

/// The master a backup currently follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterInfo {
    /// Its address.
    pub addr: IpAddr,
    /// Its last advertised priority.
    pub priority: u8,
}

/// One VRRP instance's protocol state.
#[derive(Debug, Clone)]
pub struct Instance {
    params: InstanceParams,
    state: State,
    effective_priority: u8,
    master_adver_int: Duration,
    deadlines: [Option<Instant>; Timer::ALL.len()],
    preempt_until: Option<Instant>,
    master: Option<MasterInfo>,
    next_master_reason: Reason,
    fault: Option<FaultReason>,
    /// Sync-group member in BACKUP that would be MASTER but for its group.
    sync_wait: bool,
}

impl Instance {
    /// A new instance in Initialize.
    pub fn new(params: InstanceParams) -> Self {
        let effective_priority = params.priority;
        let master_adver_int = params.advert_int;
        Instance {
            params,
            state: State::Initialize,
            effective_priority,
            master_adver_int,
            deadlines: [None; Timer::ALL.len()],
            preempt_until: None,
            master: None,
            next_master_reason: Reason::MasterDownTimer,
            fault: None,
            sync_wait: false,
        }
    }

    /// Parameters.
    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Priority we advertise (255 for the owner; tracking-adjusted otherwise).
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// Master_Adver_Interval (v3 backups adopt the master's).
    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }

    /// The master a backup follows (last accepted or discarded advert's sender).
    pub fn master(&self) -> Option<MasterInfo> {
        self.master
    }

    /// The recorded fault, if any.
    pub fn fault(&self) -> Option<FaultReason> {
        self.fault
    }

    /// The state the instance would be in if it were not in a sync group (keepalived's
    /// `wantstate`): MASTER for a BACKUP member held back by its group, else its state.
    pub fn want_state(&self) -> State {
        if self.state == State::Backup && self.sync_wait {
            State::Master
        } else {
            self.state
        }
    }

    /// Deadline of `timer`, if armed.
    pub fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer.index()).copied().flatten()
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<(Timer, Instant)> {
        Timer::ALL
            .iter()
            .filter_map(|t| self.deadline(*t).map(|at| (*t, at)))
            .min_by_key(|(_, at)| *at)
    }

    /// Priority used in Skew_Time (255 for an owner).
    fn skew_priority(&self) -> u8 {
        if self.params.is_owner() {
            PRIORITY_OWNER
        } else {
            self.effective_priority
        }
    }

    /// Current Skew_Time.
    pub fn skew_time(&self) -> Duration {
        timers::skew_time(
            self.params.version,
            self.skew_priority(),
            self.master_adver_int,
        )
    }

    /// Current Master_Down_Interval.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.params.version,
            self.skew_priority(),
            self.master_adver_int,
            self.params.down_timer_adverts,
        )
    }

    /// Process one event at time `now`; returns the actions to perform, in order.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(now, event, &mut out);
        out
    }

    /// [`Instance::handle`] appending to a caller-owned buffer (no allocation per event once
    /// the buffer has grown).
    pub fn handle_into(&mut self, now: Instant, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::Startup => self.on_startup(now, out),
            Event::AdvertReceived(adv) => match self.state {
                State::Backup => self.backup_rx(now, adv, out),
                State::Master => self.master_rx(now, adv, out),
                State::Initialize | State::Fault | State::Stop => {}
            },
            Event::TimerExpired(timer) => self.on_timer(now, timer, out),
            Event::Shutdown => self.on_shutdown(out),
            Event::FaultRaised(reason) => self.on_fault(reason, out),
            Event::FaultCleared => self.on_fault_cleared(now, out),
            Event::PriorityChanged(p) => self.on_priority(now, p, out),
            Event::Resume => {
                if self.state == State::Initialize {
                    self.become_master(now, Reason::Resume, out);
                }
            }
            Event::SyncMaster => {
                if self.state == State::Backup {
                    // The member whose own wish moved the group keeps its own reason.
                    let reason = if self.sync_wait {
                        self.next_master_reason
                    } else {
                        Reason::SyncGroup
                    };
                    self.become_master(now, reason, out);
                }
            }
            Event::SyncBackup => {
                if self.state == State::Master {
                    self.yield_master(now, Reason::SyncGroup, out);
                }
            }
        }
    }

    /// Applies new parameters to the running instance (reload of a changed instance whose
    /// identity — VRID, version, family — is the same). State and timers are kept; the new
    /// values are used from the next timer on. The base priority is applied by the caller
    /// through [`Event::PriorityChanged`] (tracking recomputes the effective priority).
    pub fn update_params(&mut self, params: InstanceParams) {
        let keep = (self.params.vrid, self.params.version, self.params.family);
        if keep != (params.vrid, params.version, params.family) {
            return;
        }
        if self.state == State::Master {
            self.master_adver_int = params.advert_int;
        }
        self.params = params;
    }

    // ----- helpers -------------------------------------------------------------------

    fn set_timer(&mut self, timer: Timer, at: Instant, out: &mut Vec<Action>) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = Some(at);
        }
        out.push(Action::SetTimer { timer, at });
    }

    /// When a Master_Down timer of `down` armed at `now` expires: while keepalived's
    /// `vrrp_startup_delay` runs ([`InstanceParams::delayed_start`]), `down` counts from the
    /// end of the delay (vrrp_init_instance_sands), so no instance leaves BACKUP before it.
    fn down_at(&self, now: Instant, down: Duration) -> Instant {
        match self.params.delayed_start {
            Some(until) if now < until => until + down,
            _ => now + down,
        }
    }

    /// `vrrp_startup_delay` is still running at `now`.
    fn delaying(&self, now: Instant) -> bool {
        self.params.delayed_start.is_some_and(|until| now < until)
    }

    fn cancel_timer(&mut self, timer: Timer, out: &mut Vec<Action>) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            if slot.take().is_some() {
                out.push(Action::CancelTimer { timer });
            }
        }
    }

    fn cancel_all(&mut self, out: &mut Vec<Action>) {
        for t in Timer::ALL {
            self.cancel_timer(t, out);
        }
    }

    fn transition(&mut self, to: State, reason: Reason, out: &mut Vec<Action>) {
        out.push(Action::Transition(Transition {
            from: self.state,
            to,
            reason,
            priority: self.effective_priority,
        }));
        self.state = to;
    }

    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.sync_wait = false;
        self.transition(State::Master, reason, out);
        self.cancel_timer(Timer::MasterDown, out);
        self.cancel_timer(Timer::PreemptDelay, out);
        self.preempt_until = None;
        self.master = None;
        self.master_adver_int = self.params.advert_int;
        // Advert first so the old master drops the addresses before our GARPs.
        out.push(Action::SendAdvert {
            priority: self.effective_priority,
        });
        out.push(Action::AddVips);
        let g = self.params.garp;
        if g.master_repeat > 0 {
            out.push(Action::SendGratuitous {
                count: g.master_repeat,
            });
        }
        if !g.master_delay.is_zero() {
            self.set_timer(Timer::GarpDelay, now + g.master_delay, out);
        }
        if !g.master_refresh.is_zero() {
            self.set_timer(
                Timer::GarpRefresh,
                now + g.master_delay + g.master_refresh,
                out,
            );
        }
        self.set_timer(Timer::Advert, now + self.params.advert_int, out);
        out.push(Action::Notify {
            state: State::Master,
        });
    }

    fn enter_backup(
        &mut self,
        now: Instant,
        reason: Reason,
        down: Duration,
        out: &mut Vec<Action>,
    ) {
        self.transition(State::Backup, reason, out);
        self.cancel_all(out);
        self.preempt_until = None;
        self.sync_wait = false;
        self.next_master_reason = Reason::MasterDownTimer;
        self.set_timer(Timer::MasterDown, self.down_at(now, down), out);
        out.push(Action::Notify {
            state: State::Backup,
        });
    }

    /// Sync-group member: would become MASTER (for `reason`) but its group decides. Stays
    /// BACKUP with the down timer re-armed, as keepalived does while other members do not
    /// want MASTER yet.
    fn want_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.sync_wait = true;
        self.next_master_reason = reason;
        if self.deadline(Timer::MasterDown).is_none() {
            let at = self.down_at(now, self.master_down_interval());
            self.set_timer(Timer::MasterDown, at, out);
        }
    }

    /// MASTER → BACKUP without a better master heard (the sync group moved): addresses
    /// removed, no priority-0 advert, a full down timer.
    fn yield_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.transition(State::Backup, reason, out);
        out.push(Action::RemoveVips);
        self.cancel_all(out);
        self.master = None;
        self.preempt_until = None;
        self.sync_wait = false;
        self.next_master_reason = Reason::MasterDownTimer;
        let at = self.down_at(now, self.master_down_interval());
        self.set_timer(Timer::MasterDown, at, out);
        out.push(Action::Notify {
            state: State::Backup,
        });
    }

    /// Owner start (or recovery): MASTER at once, unless a sync group decides (then a short
    /// down timer as for `state MASTER`) or `vrrp_startup_delay` runs (BACKUP until its end).
    fn owner_up(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        if self.params.sync_group {
            let down =
                timers::initial_master_down_interval(self.params.version, self.master_adver_int);
            self.enter_backup(now, reason, down, out);
        } else if self.delaying(now) {
            // keepalived starts the owner in BACKUP with a 1 µs down timer, counted from the
            // end of `vrrp_startup_delay`.
            self.enter_backup(now, reason, Duration::from_micros(1), out);
        } else {
            self.become_master(now, reason, out);
        }
    }

    /// Leave MASTER for FAULT or STOP: priority-0 advert, addresses removed.
    fn abandon_master(&mut self, to: State, reason: Reason, out: &mut Vec<Action>) {
        self.transition(to, reason, out);
        out.push(Action::SendAdvert {
            priority: PRIORITY_STOP,
        });
        out.push(Action::RemoveVips);
        self.cancel_all(out);
    }

    fn adopt_interval(&mut self, adv: &ReceivedAdvert) {
        if self.params.version == Version::V3 {
            self.master_adver_int = adv.max_advert_int.max(MIN_MASTER_ADVER_INT);
        }
    }

    /// Compare a sender's address with our primary address.
    fn cmp_addr(&self, from: IpAddr) -> Ordering {
        addr_order(from, self.params.primary_addr)
    }

    // ----- events --------------------------------------------------------------------

    fn on_startup(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Initialize | State::Stop) {
            return;
        }
        self.master_adver_int = self.params.advert_int;
        self.master = None;
        if let Some(fault) = self.fault {
            self.transition(State::Fault, fault.into(), out);
            out.push(Action::Notify {
                state: State::Fault,
            });
        } else if self.params.is_owner() {
            self.owner_up(now, Reason::Startup, out);
        } else {
            // A non-owner starts in BACKUP with the full Master_Down_Interval whatever its
            // `state` says (RFC 5798 §6.4.1; keepalived 2.2.7's vrrp_init_state does the same:
            // measured 3.76 s to MASTER at advert_int 1, priority 100, no peer).
            let down = self.master_down_interval();
            self.enter_backup(now, Reason::Startup, down, out);
        }
    }

    fn backup_rx(&mut self, now: Instant, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.priority == PRIORITY_STOP {
            // The master is stopping: take over after Skew_Time only.
            self.next_master_reason = Reason::Priority0Received;
            let at = self.down_at(now, self.skew_time());
            self.set_timer(Timer::MasterDown, at, out);
            return;
        }
        let delay = self.params.preempt_delay;
        let window_open = !delay.is_zero() && self.preempt_until.is_none_or(|until| now < until);
        if !self.params.preempt || adv.priority >= self.effective_priority || window_open {
            self.adopt_interval(&adv);
            self.master = Some(MasterInfo {
                addr: adv.from,
                priority: adv.priority,
            });
            self.next_master_reason = Reason::MasterDownTimer;
            // A master we accept: a waiting sync-group member no longer wants MASTER.
            self.sync_wait = false;
            let at = self.down_at(now, self.master_down_interval());
            self.set_timer(Timer::MasterDown, at, out);
            if !delay.is_zero() {
                if adv.priority >= self.effective_priority {
                    self.preempt_until = None;
                    self.cancel_timer(Timer::PreemptDelay, out);
                } else if self.preempt_until.is_none() {
                    self.preempt_until = Some(now + delay);
                    self.set_timer(Timer::PreemptDelay, now + delay, out);
                }
            }
        } else if self.params.preempt_immediately && !self.params.sync_group {
            // Lower priority master and we preempt: take over now.
            self.become_master(now, Reason::PreemptedLowerPriorityMaster, out);
        } else {
            // Lower priority master and we preempt: discard, let the down timer run out
            // (a sync-group member that would take over now asks its group instead).
            self.master = Some(MasterInfo {
                addr: adv.from,
                priority: adv.priority,
            });
            self.next_master_reason = Reason::PreemptedLowerPriorityMaster;
            if self.params.preempt_immediately {
                self.want_master(now, Reason::PreemptedLowerPriorityMaster, out);
            }
        }
    }

    fn master_rx(&mut self, now: Instant, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        let ours = self.effective_priority;
        let addr_cmp = self.cmp_addr(adv.from);
        let advert_now = |s: &mut Self, out: &mut Vec<Action>| {
            out.push(Action::SendAdvert {
                priority: s.effective_priority,
            });
            s.set_timer(Timer::Advert, now + s.params.advert_int, out);
        };

        if adv.priority == PRIORITY_STOP {
            // Another router is stopping: assert ourselves at once (RFC 5798 §6.4.3).
            advert_now(self, out);
            return;
        }
        let higher = adv.priority > ours || (adv.priority == ours && addr_cmp == Ordering::Greater);
        let lower = adv.priority < ours || (adv.priority == ours && addr_cmp == Ordering::Less);
        if higher {
            if self.params.higher_prio_send_advert {
                out.push(Action::SendAdvert { priority: ours });
            }
            let reason = if adv.priority > ours {
                Reason::HigherPriorityAdvert
            } else {
                Reason::EqualPriorityHigherAddress
            };
            self.transition(State::Backup, reason, out);
            out.push(Action::RemoveVips);
            self.cancel_all(out);
            self.sync_wait = false;
            self.adopt_interval(&adv);
            self.master = Some(MasterInfo {
                addr: adv.from,
                priority: adv.priority,
            });
            self.preempt_until = None;
            self.next_master_reason = Reason::MasterDownTimer;
            let at = self.down_at(now, self.master_down_interval());
            self.set_timer(Timer::MasterDown, at, out);
            out.push(Action::Notify {
                state: State::Backup,
            });
        } else if lower {
            // RFC 9568: re-assert at once so the lower priority router backs off.
            if !self.params.lower_prio_no_advert {
                advert_now(self, out);
            }
            let g = self.params.garp;
            if g.lower_prio_repeat > 0 {
                out.push(Action::SendGratuitous {
                    count: g.lower_prio_repeat,
                });
                if !g.lower_prio_delay.is_zero() {
                    self.set_timer(Timer::LowerPrioGarp, now + g.lower_prio_delay, out);
                }
            }
            out.push(Action::NotifyMasterRxLowerPri);
        }
        // Equal priority from our own address: nothing to do (a looped-back advert).
    }

    fn on_timer(&mut self, now: Instant, timer: Timer, out: &mut Vec<Action>) {
        match self.deadline(timer) {
            Some(at) if at <= now => {}
            _ => return, // not armed, or re-armed later: stale expiry
        }
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = None;
        }
        let g = self.params.garp;
        match (timer, self.state) {
            (Timer::MasterDown, State::Backup) => {
                let reason = self.next_master_reason;
                if self.params.sync_group {
                    self.want_master(now, reason, out);
                } else {
                    self.become_master(now, reason, out);
                }
            }
            (Timer::Advert, State::Master) => {
                out.push(Action::SendAdvert {
                    priority: self.effective_priority,
                });
                let next =
                    timers::next_aligned(now, self.params.advert_int, self.params.advert_epoch);
                self.set_timer(Timer::Advert, next, out);
            }
            (Timer::GarpDelay, State::Master) if g.master_repeat > 0 => {
                out.push(Action::SendGratuitous {
                    count: g.master_repeat,
                });
            }
            (Timer::GarpRefresh, State::Master) => {
                if g.master_refresh_repeat > 0 {
                    out.push(Action::SendGratuitous {
                        count: g.master_refresh_repeat,
                    });
                }
                self.set_timer(Timer::GarpRefresh, now + g.master_refresh, out);
            }
            (Timer::LowerPrioGarp, State::Master) if g.lower_prio_repeat > 0 => {
                out.push(Action::SendGratuitous {
                    count: g.lower_prio_repeat,
                });
            }
            // PreemptDelay: the window is closed (preempt_until is in the past); the next
            // lower priority advert is discarded and the down timer takes us to MASTER.
            _ => {}
        }
    }

    fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Stop => {}
            State::Initialize => self.transition(State::Stop, Reason::Shutdown, out),
            State::Master => {
                self.abandon_master(State::Stop, Reason::Shutdown, out);
                out.push(Action::Notify { state: State::Stop });
            }
            State::Backup | State::Fault => {
                self.transition(State::Stop, Reason::Shutdown, out);
                self.cancel_all(out);
                out.push(Action::Notify { state: State::Stop });
            }
        }
        self.preempt_until = None;
        self.master = None;
        self.sync_wait = false;
    }

    fn on_fault(&mut self, reason: FaultReason, out: &mut Vec<Action>) {
        self.fault = Some(reason);
        match self.state {
            State::Master => {
                self.abandon_master(State::Fault, reason.into(), out);
                out.push(Action::Notify {
                    state: State::Fault,
                });
            }
            State::Backup => {
                self.transition(State::Fault, reason.into(), out);
                self.cancel_all(out);
                out.push(Action::Notify {
                    state: State::Fault,
                });
            }
            State::Initialize | State::Fault | State::Stop => {}
        }
        self.preempt_until = None;
        self.master = None;
        self.sync_wait = false;
    }

    fn on_fault_cleared(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.fault = None;
        if self.state != State::Fault {
            return;
        }
        self.master_adver_int = self.params.advert_int;
        if self.params.is_owner() {
            self.owner_up(now, Reason::FaultCleared, out);
        } else {
            let down = self.master_down_interval();
            self.enter_backup(now, Reason::FaultCleared, down, out);
        }
    }

    fn on_priority(&mut self, now: Instant, requested: u8, out: &mut Vec<Action>) {
        if self.params.is_owner() {
            return;
        }
        // Tracking computes the effective priority (crate::track::priority); a non-owner
        // advertises 1..=254.
        let new = requested.clamp(1, PRIORITY_OWNER - 1);
        if new == self.effective_priority {
            return;
        }
        let old_skew = self.skew_time();
        self.effective_priority = new;
        if self.state == State::Backup {
            // Keep the elapsed part of the down timer; only the skew term changes.
            if let Some(at) = self.deadline(Timer::MasterDown) {
                let new_skew = self.skew_time();
                let at = if new_skew >= old_skew {
                    at + (new_skew - old_skew)
                } else {
                    at.checked_sub(old_skew - new_skew).unwrap_or(at)
                };
                self.set_timer(Timer::MasterDown, at, out);
            }
        } else if self.state == State::Master {
            // Tell the backups now (as keepalived does): a preempting backup with a higher
            // priority takes over on this advert instead of a full interval later.
            out.push(Action::SendAdvert {
                priority: self.effective_priority,
            });
            self.set_timer(Timer::Advert, now + self.params.advert_int, out);
        }
    }
}

/// How elections compare a sender's address `theirs` with `ours`: unsigned, in network order,
/// only within one family (across families: equal).
pub fn addr_order(theirs: IpAddr, ours: IpAddr) -> Ordering {
    match (theirs, ours) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.cmp(&b),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.cmp(&b),
        _ => Ordering::Equal,
    }
}
