//! `vrrp_sync_group`: members go MASTER / BACKUP / FAULT together (keepalived `vrrp_sync.c`).
//!
//! Sans-IO: [`SyncGroup::report`] takes one member's new (state, wanted state) and returns the
//! [`SyncAction`]s: commands for other members ([`super::events::Event::SyncMaster`] /
//! [`super::events::Event::SyncBackup`]) and the group's own transitions (group notifies).
//! No clock is involved: the group reacts to member reports only; the members' timers do the
//! rest.
//!
//! keepalived's rules kept:
//! - the group goes MASTER only when every member wants MASTER ("prefer backup to avoid
//!   thrashing"): a member whose down timer expired waits in BACKUP (see
//!   [`super::fsm::Instance::want_state`]) until the last one does; then all go MASTER;
//! - a member that becomes MASTER anyway (it resumed MASTER after a restart or reload) takes
//!   the BACKUP members with it once they all want MASTER;
//! - a member leaving MASTER for BACKUP (it heard a better master) takes the MASTER members
//!   with it;
//! - FAULT: any member in FAULT is a fault of every member (the instances see each other's own
//!   fault condition; see `crate::vrrp::actor::instance`), so it is not commanded here.
//!
//! Group state (for notify scripts, FIFO lines, e-mails, metrics): FAULT once a member is in
//! FAULT and none is still MASTER or BACKUP (they follow it; keepalived reports the group after
//! its members too); MASTER / BACKUP / STOP once every member is; otherwise (members on their
//! way) unchanged. Commands only follow a member's own transition or its new wish, and a command to
//! a member already there is ignored by its state machine, so members never ping-pong.

use super::events::State;

/// What the group asks for or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Deliver [`super::events::Event::SyncMaster`] (`to` MASTER) or
    /// [`super::events::Event::SyncBackup`] (`to` BACKUP) to `member`.
    Command {
        /// Member instance name.
        member: String,
        /// MASTER or BACKUP.
        to: State,
    },
    /// The group changed state (notify scripts, FIFO, e-mail).
    Transition {
        /// Previous group state.
        from: State,
        /// New group state.
        to: State,
        /// The member whose report caused it.
        member: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    name: String,
    state: State,
    want: State,
    /// Commanded to this state and not reported since (no second command).
    pending: Option<State>,
}

/// One sync group's view of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    members: Vec<Member>,
    state: State,
}

impl SyncGroup {
    /// A group of `members` (instance names), all in Initialize.
    pub fn new<I, S>(members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut g = SyncGroup {
            members: Vec::new(),
            state: State::Initialize,
        };
        g.set_members(members);
        g
    }

    /// The group state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Member names, in configuration order.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.name.as_str())
    }

    /// A member's last reported (state, wanted state).
    pub fn member(&self, name: &str) -> Option<(State, State)> {
        self.members
            .iter()
            .find(|m| m.name == name)
            .map(|m| (m.state, m.want))
    }

    /// Changes the membership (reload): known members keep their last report, new ones start
    /// in Initialize, removed ones are forgotten. The group state is kept.
    pub fn set_members<I, S>(&mut self, members: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let old = std::mem::take(&mut self.members);
        for name in members.into_iter().map(Into::into) {
            if self.members.iter().any(|m| m.name == name) {
                continue;
            }
            let m = old
                .iter()
                .find(|m| m.name == name)
                .cloned()
                .unwrap_or(Member {
                    name,
                    state: State::Initialize,
                    want: State::Initialize,
                    pending: None,
                });
            self.members.push(m);
        }
    }

    /// A member reports its state and the state it would be in on its own
    /// ([`super::fsm::Instance::want_state`]). Unknown members are ignored.
    pub fn report(&mut self, member: &str, state: State, want: State) -> Vec<SyncAction> {
        let mut out = Vec::new();
        let Some(idx) = self.members.iter().position(|m| m.name == member) else {
            return out;
        };
        let me = &mut self.members[idx];
        let prev = me.state;
        me.state = state;
        me.want = want;
        if me.pending.is_some_and(|p| p == state || prev != state) {
            me.pending = None;
        }

        let command =
            |out: &mut Vec<SyncAction>, members: &mut [Member], from: State, to: State| {
                for m in members
                    .iter_mut()
                    .filter(|m| m.state == from && m.pending != Some(to))
                {
                    m.pending = Some(to);
                    out.push(SyncAction::Command {
                        member: m.name.clone(),
                        to,
                    });
                }
            };
        let all_want_master = self.members.iter().all(|m| m.want == State::Master);
        if state == State::Master && prev != State::Master {
            // One member is MASTER: the BACKUP ones follow, if they all want to (keepalived
            // checks this too: a member that resumed MASTER does not drag members that hear
            // a better master into a fight they lose).
            if all_want_master {
                command(&mut out, &mut self.members, State::Backup, State::Master);
            }
        } else if state == State::Backup && prev == State::Master {
            // One member yielded to a better master: the MASTER ones follow.
            command(&mut out, &mut self.members, State::Master, State::Backup);
        } else if state == State::Backup && want == State::Master && all_want_master {
            // The last member to want MASTER moves the whole group (itself included).
            command(&mut out, &mut self.members, State::Backup, State::Master);
        }

        let next = self.computed_state();
        if next != self.state {
            out.push(SyncAction::Transition {
                from: self.state,
                to: next,
                member: member.to_string(),
            });
            self.state = next;
        }
        out
    }

    fn computed_state(&self) -> State {
        let all = |s: State| !self.members.is_empty() && self.members.iter().all(|m| m.state == s);
        let any = |s: State| self.members.iter().any(|m| m.state == s);
        if any(State::Fault) && !any(State::Master) && !any(State::Backup) {
            State::Fault
        } else if all(State::Master) {
            State::Master
        } else if all(State::Backup) {
            State::Backup
        } else if all(State::Stop) {
            State::Stop
        } else {
            self.state
        }
    }
}
