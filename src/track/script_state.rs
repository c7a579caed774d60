//! The `vrrp_script` result state machine (sans-IO), with keepalived's rise/fall semantics
//! (`vrrp_scheduler.c`, `vrrp_script_child_thread`).
//!
//! keepalived keeps one counter `result` in `0 ..= rise + fall - 1`; the script is OK when
//! `result >= rise`. It starts at `rise - 1` ("one success away from OK") or, with `init_fail`,
//! at 0 (failed). Until the first run has finished the script is [`ScriptStatus::Init`]: a weighted
//! tracker contributes nothing and a weight-0 tracker holds the instance in INIT. The first
//! result then always decides the status (a failure reports FAILED at once even with `fall > 1`).
//! After that:
//! - `fall` consecutive failures (a timeout or a kill by signal counts as a failure) take an OK
//!   script to FAILED;
//! - `rise` consecutive successes take a FAILED script to OK;
//! - a success while OK restores the full failure budget; a failure while FAILED restarts the
//!   rise count.

use serde::{Deserialize, Serialize};

/// What a tracked script currently reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScriptStatus {
    /// Not run yet (keepalived `SCRIPT_INIT_STATE_INIT`): no weight applied; a weight-0 tracker
    /// keeps the instance waiting in INIT.
    Init,
    /// Reported success (`result >= rise`).
    Ok,
    /// Reported failure.
    Failed,
}

impl ScriptStatus {
    /// `Some(true)` for OK, `Some(false)` for FAILED, `None` before the first result.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            ScriptStatus::Init => None,
            ScriptStatus::Ok => Some(true),
            ScriptStatus::Failed => Some(false),
        }
    }
}

/// A reported transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Status before this result.
    pub from: ScriptStatus,
    /// Status now.
    pub to: ScriptStatus,
}

/// The rise/fall counter of one `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    result: u32,
    status: ScriptStatus,
}

impl ScriptState {
    /// A fresh script: `rise`/`fall` (0 is taken as 1, as keepalived's parser enforces >= 1),
    /// `init_fail` starts it FAILED instead of "one success away from OK".
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        if init_fail {
            Self {
                rise,
                fall,
                result: 0,
                status: ScriptStatus::Failed,
            }
        } else {
            Self {
                rise,
                fall,
                result: rise - 1,
                status: ScriptStatus::Init,
            }
        }
    }

    /// A script carried over a reload with a known status (keeps the instance's priority stable:
    /// OK restarts with the full failure budget, FAILED with the rise count at zero).
    pub fn resumed(rise: u32, fall: u32, ok: bool) -> Self {
        let mut s = Self::new(rise, fall, !ok);
        if ok {
            s.result = s.top();
            s.status = ScriptStatus::Ok;
        }
        s
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Current status.
    pub fn status(&self) -> ScriptStatus {
        self.status
    }

    /// keepalived's raw counter (`0 ..= rise + fall - 1`), for state dumps.
    pub fn counter(&self) -> u32 {
        self.result
    }

    /// Feeds one run's result (`true` = exit 0; a non-zero exit, a signal or a timeout is
    /// `false`). Returns the transition, if this result changed the status.
    pub fn record(&mut self, success: bool) -> Option<StatusChange> {
        let from = self.status;
        if success {
            if self.result + 1 < self.rise {
                // Still rising (only reachable from FAILED: Init starts at rise - 1).
                self.result += 1;
            } else {
                self.result = self.top();
                self.status = ScriptStatus::Ok;
            }
        } else if self.result > self.rise {
            // OK, but losing its failure budget.
            self.result -= 1;
        } else {
            self.result = 0;
            self.status = ScriptStatus::Failed;
        }
        (self.status != from).then_some(StatusChange {
            from,
            to: self.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ScriptStatus::{Failed, Init, Ok};
    use super::*;

    /// Feeds a sequence; returns the status after each step and whether it was reported.
    fn run(mut s: ScriptState, seq: &str) -> Vec<(ScriptStatus, bool)> {
        seq.chars()
            .map(|c| {
                let ch = s.record(c == '+');
                (s.status(), ch.is_some())
            })
            .collect()
    }

    fn statuses(s: ScriptState, seq: &str) -> Vec<ScriptStatus> {
        run(s, seq).into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn starts_init_or_failed() {
        assert_eq!(ScriptState::new(3, 2, false).status(), Init);
        assert_eq!(ScriptState::new(3, 2, false).counter(), 2);
        assert_eq!(ScriptState::new(3, 2, true).status(), Failed);
        assert_eq!(ScriptState::new(3, 2, true).counter(), 0);
        assert_eq!(Init.as_bool(), None);
        assert_eq!(Ok.as_bool(), Some(true));
        assert_eq!(Failed.as_bool(), Some(false));
    }

    #[test]
    fn one_success_is_enough_from_init_whatever_rise() {
        for rise in 1..6 {
            for fall in 1..6 {
                let mut s = ScriptState::new(rise, fall, false);
                assert_eq!(
                    s.record(true),
                    Some(StatusChange { from: Init, to: Ok }),
                    "rise {rise} fall {fall}"
                );
                assert_eq!(s.counter(), rise + fall - 1);
            }
        }
    }

    #[test]
    fn first_failure_from_init_reports_failed_at_once() {
        for rise in 1..6 {
            for fall in 1..6 {
                let mut s = ScriptState::new(rise, fall, false);
                assert_eq!(
                    s.record(false),
                    Some(StatusChange {
                        from: Init,
                        to: Failed
                    })
                );
                assert_eq!(s.counter(), 0);
            }
        }
    }

    #[test]
    fn fall_consecutive_failures_take_ok_to_failed() {
        for rise in 1..5 {
            for fall in 1..6 {
                let mut s = ScriptState::new(rise, fall, false);
                s.record(true);
                for i in 1..fall {
                    assert_eq!(s.record(false), None, "failure {i} of {fall}");
                    assert_eq!(s.status(), Ok);
                }
                assert_eq!(
                    s.record(false),
                    Some(StatusChange {
                        from: Ok,
                        to: Failed
                    })
                );
                // Further failures are silent.
                assert_eq!(s.record(false), None);
                assert_eq!(s.status(), Failed);
            }
        }
    }

    #[test]
    fn rise_consecutive_successes_take_failed_to_ok() {
        for rise in 1..6 {
            for fall in 1..5 {
                let mut s = ScriptState::new(rise, fall, true);
                for i in 1..rise {
                    assert_eq!(s.record(true), None, "success {i} of {rise}");
                    assert_eq!(s.status(), Failed);
                }
                assert_eq!(
                    s.record(true),
                    Some(StatusChange {
                        from: Failed,
                        to: Ok
                    })
                );
                assert_eq!(s.record(true), None);
            }
        }
    }

    #[test]
    fn success_while_ok_restores_failure_budget() {
        // fall 3: two failures, a success, then two more failures must not fail it.
        let s = ScriptState::new(2, 3, false);
        assert_eq!(
            statuses(s, "+--+--"),
            vec![Ok, Ok, Ok, Ok, Ok, Ok],
            "budget restored"
        );
        let s = ScriptState::new(2, 3, false);
        assert_eq!(statuses(s, "+---"), vec![Ok, Ok, Ok, Failed]);
    }

    #[test]
    fn failure_while_rising_restarts_rise_count() {
        // rise 3 from FAILED: ++ - +++ -> OK only at the last success.
        let s = ScriptState::new(3, 1, true);
        let r = run(s, "++-+++");
        assert_eq!(
            r,
            vec![
                (Failed, false),
                (Failed, false),
                (Failed, false),
                (Failed, false),
                (Failed, false),
                (Ok, true)
            ]
        );
    }

    #[test]
    fn init_fail_with_rise_one_goes_ok_on_first_success() {
        let mut s = ScriptState::new(1, 1, true);
        assert_eq!(
            s.record(true),
            Some(StatusChange {
                from: Failed,
                to: Ok
            })
        );
    }

    #[test]
    fn reports_only_transitions() {
        let s = ScriptState::new(2, 2, false);
        let r = run(s, "+++--++--+");
        let reported: Vec<_> = r.iter().filter(|x| x.1).map(|x| x.0).collect();
        // + (Init->Ok), -- (Ok->Failed at 2nd), ++ (Failed->Ok at 2nd), -- (->Failed), + stays.
        assert_eq!(reported, vec![Ok, Failed, Ok, Failed]);
    }

    #[test]
    fn zero_rise_fall_treated_as_one() {
        let s = ScriptState::new(0, 0, false);
        assert_eq!(statuses(s, "+-+-"), vec![Ok, Failed, Ok, Failed]);
    }

    #[test]
    fn resumed_keeps_status_without_reporting() {
        let mut s = ScriptState::resumed(2, 2, true);
        assert_eq!(s.status(), Ok);
        assert_eq!(s.record(false), None);
        assert!(s.record(false).is_some());
        let mut s = ScriptState::resumed(2, 2, false);
        assert_eq!(s.status(), Failed);
        assert_eq!(s.record(true), None);
        assert!(s.record(true).is_some());
    }

    #[test]
    fn counter_stays_in_range_exhaustively() {
        // All sequences of length 8 for small rise/fall: counter within bounds, status matches
        // keepalived's `result >= rise` rule after the first result.
        for rise in 1..4u32 {
            for fall in 1..4u32 {
                for init_fail in [false, true] {
                    for bits in 0u32..256 {
                        let mut s = ScriptState::new(rise, fall, init_fail);
                        for i in 0..8 {
                            s.record(bits & (1 << i) != 0);
                            assert!(s.counter() < rise + fall);
                            assert_eq!(s.status() == Ok, s.counter() >= rise);
                            assert_ne!(s.status(), Init);
                        }
                    }
                }
            }
        }
    }
}
