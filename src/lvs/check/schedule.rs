//! The life of one health checker, sans-IO: when to check next and when the real server changes
//! state, with keepalived's semantics for `retry`, `delay_before_retry`, `delay_loop`, `warmup`
//! and `alpha`.
//!
//! A server starts up (or down with `alpha`). A success marks it up and waits `delay_loop`.
//! A failure is retried `retry` times, each after `delay_before_retry`; when the retries are used
//! up the server is marked down and the next check is after `delay_loop`.
//!
//! HTTP_GET/SSL_GET (check_http.c's epilog): a server taken down by its failures needs a second
//! success to come back: the first only clears the failed url and the urls are checked again
//! after `delay_loop`, or at once with `fast_recovery`. `log_all_failures` (or the global
//! `checker_log_all_failures`) logs every failed attempt while the server is still up, not only
//! the state change.

use std::time::Duration;

/// Timing and retry parameters of one checker (defaults already resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckParams {
    /// Time between checks.
    pub delay_loop: Duration,
    /// Retries after a failure before declaring the server down.
    pub retry: u32,
    /// Time before a retry.
    pub delay_before_retry: Duration,
    /// The server starts down and needs a success (`alpha`).
    pub alpha: bool,
    /// Upper bound of the random delay before the first check (`warmup`).
    pub warmup: Duration,
    /// How a failed server comes back.
    pub recovery: Recovery,
    /// `log_all_failures`: report every failed attempt while the server is up.
    pub log_all_failures: bool,
}

/// How a server taken down by its checker's failures comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recovery {
    /// At the first success (TCP, SMTP, DNS, UDP, PING, MISC, ...).
    #[default]
    FirstSuccess,
    /// HTTP_GET/SSL_GET: a first success clears the failure, a second one `delay_loop` later
    /// brings the server back.
    Confirm,
    /// HTTP_GET/SSL_GET with `fast_recovery`: the confirming check runs at once.
    Fast,
}

/// What a check attempt concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered correctly; `weight` is a MISC_CHECK dynamic weight if any.
    Success {
        /// New weight from `misc_dynamic` (exit code - 2).
        weight: Option<u32>,
    },
    /// The check failed.
    Failure {
        /// Short reason for logs, metrics and traces.
        reason: String,
    },
}

/// What the runner must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the next check after this delay.
    CheckAfter(Duration),
    /// The real server changed state.
    StateChanged {
        /// New state.
        up: bool,
        /// Why.
        reason: String,
    },
    /// A dynamic weight changed.
    WeightChanged(u32),
    /// `log_all_failures`: log this failed attempt.
    LogFailure(String),
}

/// The checker's state.
#[derive(Clone, Debug)]
pub struct Schedule {
    params: CheckParams,
    up: bool,
    failures: u32,
    weight: Option<u32>,
    /// Down by failures: the next success only clears this (check_http.c's `failed_url`).
    failed: bool,
}

impl Schedule {
    /// A new checker; `rand01` is a uniform random number in [0, 1) for the warmup delay.
    pub fn start(params: CheckParams, rand01: f64) -> (Self, Vec<Action>) {
        let first = params.warmup.mul_f64(rand01.clamp(0.0, 1.0));
        let up = !params.alpha;
        (
            Self {
                params,
                up,
                failures: 0,
                weight: None,
                failed: false,
            },
            vec![Action::CheckAfter(first)],
        )
    }

    /// Restores a checker across a reload, keeping its state (keepalived's `migrate_checkers`).
    pub fn resume(params: CheckParams, up: bool, weight: Option<u32>) -> (Self, Vec<Action>) {
        let delay = params.delay_loop;
        (
            Self {
                params,
                up,
                failures: 0,
                weight,
                failed: false,
            },
            vec![Action::CheckAfter(delay)],
        )
    }

    /// Whether the server is currently considered up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The dynamic weight, if a MISC_CHECK set one.
    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// Feeds the outcome of a check attempt.
    pub fn on_outcome(&mut self, outcome: Outcome) -> Vec<Action> {
        let mut out = Vec::new();
        match outcome {
            Outcome::Success { weight } => {
                self.failures = 0;
                if weight.is_some() && weight != self.weight {
                    self.weight = weight;
                    if let Some(w) = weight {
                        out.push(Action::WeightChanged(w));
                    }
                }
                if !self.up && self.failed && self.params.recovery != Recovery::FirstSuccess {
                    self.failed = false;
                    out.push(Action::CheckAfter(
                        if self.params.recovery == Recovery::Fast {
                            Duration::ZERO
                        } else {
                            self.params.delay_loop
                        },
                    ));
                    return out;
                }
                if !self.up {
                    self.up = true;
                    out.push(Action::StateChanged {
                        up: true,
                        reason: "check succeeded".into(),
                    });
                }
                out.push(Action::CheckAfter(self.params.delay_loop));
            }
            Outcome::Failure { reason } => {
                if self.up && self.params.log_all_failures {
                    out.push(Action::LogFailure(reason.clone()));
                }
                if self.failures < self.params.retry {
                    self.failures += 1;
                    out.push(Action::CheckAfter(self.params.delay_before_retry));
                } else {
                    self.failures = 0;
                    if self.up {
                        self.up = false;
                        self.failed = true;
                        out.push(Action::StateChanged { up: false, reason });
                    }
                    out.push(Action::CheckAfter(self.params.delay_loop));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(retry: u32, alpha: bool) -> CheckParams {
        CheckParams {
            delay_loop: Duration::from_secs(6),
            retry,
            delay_before_retry: Duration::from_secs(2),
            alpha,
            warmup: Duration::from_secs(4),
            recovery: Recovery::FirstSuccess,
            log_all_failures: false,
        }
    }

    #[test]
    fn http_recovery_needs_a_confirming_success() {
        let mut p = params(0, false);
        p.recovery = Recovery::Confirm;
        let (mut s, _) = Schedule::start(p.clone(), 0.0);
        let down = s.on_outcome(fail());
        assert!(matches!(down[0], Action::StateChanged { up: false, .. }));
        // The first success clears the failure only; the urls are checked again after
        // delay_loop, and that second success brings the server back.
        assert_eq!(
            s.on_outcome(ok()),
            [Action::CheckAfter(Duration::from_secs(6))]
        );
        assert!(!s.is_up());
        assert!(matches!(
            s.on_outcome(ok())[0],
            Action::StateChanged { up: true, .. }
        ));
        // A failed confirmation: the next success is enough (the failed url was cleared).
        s.on_outcome(fail());
        assert!(!s.is_up());
        s.on_outcome(ok());
        s.on_outcome(fail());
        assert!(matches!(
            s.on_outcome(ok())[0],
            Action::StateChanged { up: true, .. }
        ));
        // fast_recovery: the confirming check runs at once.
        p.recovery = Recovery::Fast;
        let (mut s, _) = Schedule::start(p, 0.0);
        s.on_outcome(fail());
        assert_eq!(s.on_outcome(ok()), [Action::CheckAfter(Duration::ZERO)]);
        assert!(matches!(
            s.on_outcome(ok())[0],
            Action::StateChanged { up: true, .. }
        ));
        // alpha: a server that was never up comes up at its first success.
        let mut p = params(0, true);
        p.recovery = Recovery::Confirm;
        let (mut s, _) = Schedule::start(p, 0.0);
        assert!(matches!(
            s.on_outcome(ok())[0],
            Action::StateChanged { up: true, .. }
        ));
    }

    #[test]
    fn log_all_failures_reports_each_attempt_while_up() {
        let reason = |a: &[Action]| {
            a.iter()
                .filter(|x| matches!(x, Action::LogFailure(_)))
                .count()
        };
        let (mut s, _) = Schedule::start(params(2, false), 0.0);
        for _ in 0..3 {
            assert_eq!(reason(&s.on_outcome(fail())), 0);
        }
        let mut p = params(2, false);
        p.log_all_failures = true;
        let (mut s, _) = Schedule::start(p, 0.0);
        // Two retries and the failure that takes the server down: three lines.
        assert_eq!(reason(&s.on_outcome(fail())), 1);
        assert_eq!(reason(&s.on_outcome(fail())), 1);
        let last = s.on_outcome(fail());
        assert_eq!(reason(&last), 1);
        assert!(!s.is_up());
        // Already down: keepalived logs no more attempts.
        assert_eq!(reason(&s.on_outcome(fail())), 0);
    }

    fn fail() -> Outcome {
        Outcome::Failure {
            reason: "connection refused".into(),
        }
    }

    fn ok() -> Outcome {
        Outcome::Success { weight: None }
    }

    #[test]
    fn warmup_spreads_first_check() {
        let (_, a) = Schedule::start(params(1, false), 0.5);
        assert_eq!(a, [Action::CheckAfter(Duration::from_secs(2))]);
        let (_, a) = Schedule::start(params(1, false), 7.0);
        assert_eq!(a, [Action::CheckAfter(Duration::from_secs(4))]);
    }

    #[test]
    fn retries_then_down_then_up() {
        let (mut s, _) = Schedule::start(params(2, false), 0.0);
        assert!(s.is_up());
        assert_eq!(
            s.on_outcome(fail()),
            [Action::CheckAfter(Duration::from_secs(2))]
        );
        assert_eq!(
            s.on_outcome(fail()),
            [Action::CheckAfter(Duration::from_secs(2))]
        );
        assert_eq!(
            s.on_outcome(fail()),
            [
                Action::StateChanged {
                    up: false,
                    reason: "connection refused".into()
                },
                Action::CheckAfter(Duration::from_secs(6))
            ]
        );
        assert!(!s.is_up());
        // Still down: no repeated state change, back to delay_loop cadence after retries.
        assert_eq!(
            s.on_outcome(fail()),
            [Action::CheckAfter(Duration::from_secs(2))]
        );
        assert_eq!(
            s.on_outcome(ok()),
            [
                Action::StateChanged {
                    up: true,
                    reason: "check succeeded".into()
                },
                Action::CheckAfter(Duration::from_secs(6))
            ]
        );
    }

    #[test]
    fn a_success_resets_the_retry_count() {
        let (mut s, _) = Schedule::start(params(1, false), 0.0);
        s.on_outcome(fail());
        s.on_outcome(ok());
        assert_eq!(
            s.on_outcome(fail()),
            [Action::CheckAfter(Duration::from_secs(2))]
        );
        assert!(s.is_up());
    }

    #[test]
    fn retry_zero_fails_at_once() {
        let (mut s, _) = Schedule::start(params(0, false), 0.0);
        assert!(matches!(
            s.on_outcome(fail())[0],
            Action::StateChanged { up: false, .. }
        ));
    }

    #[test]
    fn alpha_starts_down() {
        let (mut s, _) = Schedule::start(params(1, true), 0.0);
        assert!(!s.is_up());
        assert!(matches!(
            s.on_outcome(ok())[0],
            Action::StateChanged { up: true, .. }
        ));
    }

    #[test]
    fn dynamic_weight() {
        let (mut s, _) = Schedule::start(params(0, false), 0.0);
        assert_eq!(
            s.on_outcome(Outcome::Success { weight: Some(5) })[0],
            Action::WeightChanged(5)
        );
        assert_eq!(
            s.on_outcome(Outcome::Success { weight: Some(5) }),
            [Action::CheckAfter(Duration::from_secs(6))]
        );
    }

    #[test]
    fn resume_keeps_state() {
        let (s, a) = Schedule::resume(params(1, false), false, Some(3));
        assert!(!s.is_up());
        assert_eq!(s.weight(), Some(3));
        assert_eq!(a, [Action::CheckAfter(Duration::from_secs(6))]);
    }
}
