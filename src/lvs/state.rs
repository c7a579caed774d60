//! The state of one virtual server, purely (keepalived `check/ipwrapper.c`): which real servers
//! are alive (all their checkers up), their effective weights, the quorum with hysteresis, and
//! from these the destinations IPVS must hold, including the sorry server and
//! `inhibit_on_failure`. Every change returns the [`Effect`]s (notifies) it causes.

use super::plan::{CheckSpec, RsPlan, VsPlan};
use crate::ipvs::{DestKey, Destination};
use std::collections::BTreeMap;

/// Highest weight IPVS is given (keepalived's `IPVS_WEIGHT_LIMIT`).
pub const WEIGHT_LIMIT: i64 = 65_535;

/// How a checker changes its real server's weight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightAdj {
    /// Not at all.
    #[default]
    None,
    /// Sets it (MISC_CHECK `misc_dynamic`: exit status - 2).
    Absolute(u32),
    /// Adds to it (FILE_CHECK with a weight).
    Delta(i64),
}

/// One checker's contribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckerState {
    /// Up.
    pub up: bool,
    /// Weight adjustment while up.
    pub weight: WeightAdj,
}

/// One real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsState {
    /// Checkers, index-aligned with the plan's.
    pub checkers: Vec<CheckerState>,
    /// All checkers up.
    pub alive: bool,
}

impl RsState {
    fn compute_alive(&self) -> bool {
        self.checkers.iter().all(|c| c.up)
    }
}

/// A change that must be announced (scripts, FIFO, metrics, logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Real server `rs` (index) went up or down.
    Rs {
        /// Index in the plan.
        rs: usize,
        /// New state.
        up: bool,
    },
    /// A real server's effective weight changed.
    Weight {
        /// Index in the plan.
        rs: usize,
        /// New weight.
        weight: u32,
    },
    /// The quorum was gained or lost.
    Quorum {
        /// New state.
        up: bool,
        /// Sum of alive weights.
        weight_sum: i64,
        /// Threshold crossed.
        threshold: i64,
        /// At start (or reload).
        init: bool,
    },
}

/// One virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsState {
    /// Real servers, index-aligned with the plan's.
    pub rs: Vec<RsState>,
    /// Quorum state.
    pub quorum_up: bool,
}

/// keepalived's `real_weight`: clamped to 0..=65535.
pub fn real_weight(w: i64) -> u32 {
    w.clamp(0, WEIGHT_LIMIT) as u32
}

/// Effective weight of a real server: configured, or a dynamic MISC_CHECK value, plus FILE_CHECK
/// deltas.
pub fn effective_weight(plan: &RsPlan, st: &RsState) -> u32 {
    let mut w = plan.weight;
    for c in &st.checkers {
        match c.weight {
            WeightAdj::None => {}
            WeightAdj::Absolute(a) => w += i64::from(a) - plan.weight,
            WeightAdj::Delta(d) => w += d,
        }
    }
    real_weight(w)
}

fn fresh_checker(alpha: bool) -> CheckerState {
    CheckerState {
        up: !alpha,
        weight: WeightAdj::None,
    }
}

fn fresh_rs(p: &RsPlan) -> RsState {
    let checkers: Vec<CheckerState> = p
        .checkers
        .iter()
        .map(|c| match c.spec {
            // Cannot run: down for good.
            CheckSpec::Invalid(_) => CheckerState {
                up: false,
                weight: WeightAdj::None,
            },
            _ => fresh_checker(c.params.alpha),
        })
        .collect();
    let mut s = RsState {
        checkers,
        alive: false,
    };
    s.alive = s.compute_alive();
    s
}

impl VsState {
    /// The state at start: checkers up unless `alpha`; quorum as keepalived's
    /// `set_quorum_states`, then the start-up quorum update (which announces a quorum that
    /// starts down when a sorry server is configured).
    pub fn start(plan: &VsPlan) -> (Self, Vec<Effect>) {
        Self::start_seeded(plan, |_| None)
    }

    /// [`VsState::start`], but a real server for which `seed` knows whether it was up (a
    /// takeover: keepalived's result, from the IPVS table it left) starts with every checker
    /// in that state (a checker that cannot run stays down).
    pub fn start_seeded(
        plan: &VsPlan,
        seed: impl Fn(&RsPlan) -> Option<bool>,
    ) -> (Self, Vec<Effect>) {
        let rs: Vec<RsState> = plan
            .real_servers
            .iter()
            .map(|p| match seed(p) {
                None => fresh_rs(p),
                Some(up) => {
                    let mut s = RsState {
                        checkers: p
                            .checkers
                            .iter()
                            .map(|c| CheckerState {
                                up: up && !matches!(c.spec, CheckSpec::Invalid(_)),
                                weight: WeightAdj::None,
                            })
                            .collect(),
                        alive: false,
                    };
                    s.alive = s.compute_alive();
                    s
                }
            })
            .collect();
        let mut s = VsState {
            rs,
            quorum_up: false,
        };
        s.quorum_up = s.weight_sum(plan) >= i64::from(plan.quorum) + i64::from(plan.hysteresis);
        let mut fx = Vec::new();
        s.update_quorum(plan, true, &mut fx);
        (s, fx)
    }

    /// Carries state over a reload: real servers matched by address and port keep their
    /// checkers' states (matched by identical spec, else by type and order), new ones start
    /// fresh; the quorum state is kept and re-evaluated with the new settings.
    pub fn migrate(old_plan: &VsPlan, old: &VsState, new_plan: &VsPlan) -> (Self, Vec<Effect>) {
        let mut rs = Vec::with_capacity(new_plan.real_servers.len());
        for p in &new_plan.real_servers {
            let Some(oi) = old_plan.real_servers.iter().position(|o| o.key == p.key) else {
                rs.push(fresh_rs(p));
                continue;
            };
            let (op, os) = (&old_plan.real_servers[oi], &old.rs[oi]);
            let matches = match_checkers(op, p);
            let checkers = p
                .checkers
                .iter()
                .enumerate()
                .map(|(i, c)| match (matches[i], &c.spec) {
                    (_, CheckSpec::Invalid(_)) => CheckerState {
                        up: false,
                        weight: WeightAdj::None,
                    },
                    (Some(j), _) => os.checkers[j],
                    (None, _) => fresh_checker(c.params.alpha),
                })
                .collect();
            let mut s = RsState {
                checkers,
                alive: false,
            };
            s.alive = s.compute_alive();
            rs.push(s);
        }
        let mut s = VsState {
            rs,
            quorum_up: old.quorum_up,
        };
        let mut fx = Vec::new();
        for (i, r) in s.rs.iter().enumerate() {
            let was = old_plan
                .real_servers
                .iter()
                .position(|o| o.key == new_plan.real_servers[i].key)
                .map(|oi| old.rs[oi].alive);
            if was.is_some_and(|w| w != r.alive) {
                fx.push(Effect::Rs { rs: i, up: r.alive });
            }
        }
        s.update_quorum(new_plan, false, &mut fx);
        (s, fx)
    }

    /// Sum of the effective weights of alive real servers.
    pub fn weight_sum(&self, plan: &VsPlan) -> i64 {
        plan.real_servers
            .iter()
            .zip(&self.rs)
            .filter(|(_, s)| s.alive)
            .map(|(p, s)| i64::from(effective_weight(p, s)))
            .sum()
    }

    /// Whether the sorry server is in use (quorum down and one is configured).
    pub fn sorry_active(&self, plan: &VsPlan) -> bool {
        !self.quorum_up && plan.sorry.is_some()
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, plan: &VsPlan, init: bool, fx: &mut Vec<Effect>) {
        let sum = self.weight_sum(plan);
        let h = i64::from(plan.hysteresis);
        let threshold = i64::from(plan.quorum) + if self.quorum_up { -h } else { h };
        if !self.quorum_up && sum >= threshold {
            self.quorum_up = true;
            fx.push(Effect::Quorum {
                up: true,
                weight_sum: sum,
                threshold,
                init,
            });
        } else if (self.quorum_up && (sum == 0 || sum < threshold))
            || (init && !self.quorum_up && plan.sorry.is_some())
        {
            self.quorum_up = false;
            fx.push(Effect::Quorum {
                up: false,
                weight_sum: sum,
                threshold,
                init,
            });
        }
    }

    /// A checker's state or weight changed (`weight: None` leaves the weight as is).
    pub fn set_checker(
        &mut self,
        plan: &VsPlan,
        rs: usize,
        checker: usize,
        up: bool,
        weight: Option<WeightAdj>,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let (Some(p), Some(s)) = (plan.real_servers.get(rs), self.rs.get_mut(rs)) else {
            return fx;
        };
        if checker >= s.checkers.len() {
            return fx;
        }
        let before_w = effective_weight(p, s);
        let c = &mut s.checkers[checker];
        c.up = up;
        if let Some(w) = weight {
            c.weight = w;
        }
        let alive = s.compute_alive();
        if alive != s.alive {
            s.alive = alive;
            fx.push(Effect::Rs { rs, up: alive });
        }
        let after_w = effective_weight(p, s);
        if after_w != before_w {
            fx.push(Effect::Weight {
                rs,
                weight: after_w,
            });
        }
        if !fx.is_empty() {
            self.update_quorum(plan, false, &mut fx);
        }
        fx
    }

    /// The destinations IPVS must hold for this virtual server (same for each of its services).
    pub fn desired(&self, plan: &VsPlan) -> BTreeMap<DestKey, Destination> {
        let mut out = BTreeMap::new();
        let sorry = self.sorry_active(plan);
        if let Some(s) = &plan.sorry {
            if !sorry && s.inhibit {
                out.insert(
                    s.dest.key(),
                    Destination {
                        weight: 0,
                        ..s.dest
                    },
                );
            }
        }
        for (p, s) in plan.real_servers.iter().zip(&self.rs) {
            let weight = if sorry {
                // Quorum lost: alive servers leave the pool for the sorry server.
                if p.inhibit {
                    Some(0)
                } else {
                    None
                }
            } else if s.alive {
                Some(effective_weight(p, s))
            } else if p.inhibit {
                Some(0)
            } else {
                None
            };
            if let Some(weight) = weight {
                out.insert(p.dest_key(), Destination { weight, ..p.dest });
            }
        }
        if let (true, Some(s)) = (sorry, &plan.sorry) {
            out.insert(s.dest.key(), s.dest);
        }
        out
    }
}

/// What a reload does with one checker of a real server (the director's reload and the
/// reload plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckerFate {
    /// The same plan on the same real server: the running task goes on (old index).
    Keep(usize),
    /// Matched to an old checker with other settings: restarted, inheriting its state and
    /// checking at once (old index).
    Resume(usize),
    /// New: starts fresh.
    Fresh,
}

/// The fate of each checker of `new`, the same real server's plan before being `old` (None: a
/// new real server).
pub fn checker_fates(old: Option<&RsPlan>, new: &RsPlan) -> Vec<CheckerFate> {
    let Some(old) = old else {
        return vec![CheckerFate::Fresh; new.checkers.len()];
    };
    match_checkers(old, new)
        .into_iter()
        .zip(&new.checkers)
        .map(|(m, c)| match m {
            Some(j) if old.checkers[j] == *c => CheckerFate::Keep(j),
            Some(j) => CheckerFate::Resume(j),
            None => CheckerFate::Fresh,
        })
        .collect()
}

/// For each new checker, the index of the old checker whose state it inherits: the first
/// unused one with an identical plan, else the unused one of the same type at the same rank.
pub fn match_checkers(old: &RsPlan, new: &RsPlan) -> Vec<Option<usize>> {
    let mut used = vec![false; old.checkers.len()];
    let mut out = vec![None; new.checkers.len()];
    for (i, c) in new.checkers.iter().enumerate() {
        if let Some(j) = (0..old.checkers.len()).find(|&j| !used[j] && old.checkers[j] == *c) {
            used[j] = true;
            out[i] = Some(j);
        }
    }
    for (i, c) in new.checkers.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let rank = new.checkers[..i]
            .iter()
            .filter(|x| x.kind == c.kind)
            .count();
        let same_kind: Vec<usize> = (0..old.checkers.len())
            .filter(|&j| old.checkers[j].kind == c.kind)
            .collect();
        if let Some(&j) = same_kind.get(rank) {
            if !used[j] {
                used[j] = true;
                out[i] = Some(j);
            }
        }
    }
    out
}
