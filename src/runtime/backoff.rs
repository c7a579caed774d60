//! Restart bookkeeping: how long a crashed actor waits before it is restarted.
//!
//! Pure and clock-free (callers pass `now`), so it is unit-tested without sleeping.
//! A burst of `burst` crashes inside `window` restarts at once; every further crash inside
//! the window doubles the delay from `initial` up to `max`. Crashes older than `window` are
//! forgotten, so an actor that has been quiet for a while starts again from zero delay.
//! The supervisor never gives up: a crash-looping actor is restarted every `max` at worst and
//! never takes the daemon down.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restart policy of one supervised child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Crashes older than this are forgotten.
    pub window: Duration,
    /// Number of crashes inside `window` that are restarted immediately.
    pub burst: u32,
    /// Delay before the first restart beyond the burst.
    pub initial: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
}

impl Default for RestartPolicy {
    /// 2 immediate restarts per 10 s, then 100 ms, 200 ms, ... capped at 5 s.
    fn default() -> Self {
        RestartPolicy {
            window: Duration::from_secs(10),
            burst: 2,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// Crash history of one child under a [`RestartPolicy`].
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RestartPolicy,
    crashes: VecDeque<Instant>,
}

impl Backoff {
    /// Empty history.
    pub fn new(policy: RestartPolicy) -> Self {
        Backoff {
            policy,
            crashes: VecDeque::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RestartPolicy {
        &self.policy
    }

    /// Crashes currently remembered (inside the window as of the last call).
    pub fn crashes_in_window(&self) -> u32 {
        u32::try_from(self.crashes.len()).unwrap_or(u32::MAX)
    }

    /// Records a crash at `now` and returns how long to wait before restarting.
    pub fn on_crash(&mut self, now: Instant) -> Duration {
        while let Some(&oldest) = self.crashes.front() {
            if now.saturating_duration_since(oldest) > self.policy.window {
                self.crashes.pop_front();
            } else {
                break;
            }
        }
        self.crashes.push_back(now);
        // Bounded memory: beyond burst + 64 the delay is capped anyway.
        let keep = self.policy.burst as usize + 64;
        while self.crashes.len() > keep {
            self.crashes.pop_front();
        }
        let n = self.crashes_in_window();
        if n <= self.policy.burst {
            return Duration::ZERO;
        }
        let exp = (n - self.policy.burst - 1).min(31);
        self.policy
            .initial
            .checked_mul(1u32 << exp)
            .unwrap_or(self.policy.max)
            .min(self.policy.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            window: Duration::from_secs(10),
            burst: 2,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
        }
    }

    #[test]
    fn burst_then_doubling_then_cap() {
        let mut b = Backoff::new(policy());
        let t0 = Instant::now();
        let delays: Vec<u128> = (0..7)
            .map(|i| b.on_crash(t0 + Duration::from_millis(i)).as_millis())
            .collect();
        assert_eq!(delays, vec![0, 0, 100, 200, 400, 500, 500]);
    }

    #[test]
    fn quiet_period_forgets_crashes() {
        let mut b = Backoff::new(policy());
        let t0 = Instant::now();
        for i in 0..5 {
            b.on_crash(t0 + Duration::from_millis(i));
        }
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.on_crash(later), Duration::ZERO);
        assert_eq!(b.crashes_in_window(), 1);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let mut b = Backoff::new(RestartPolicy {
            burst: 0,
            max: Duration::from_secs(3600),
            ..policy()
        });
        let t0 = Instant::now();
        let mut last = Duration::ZERO;
        for i in 0..200 {
            last = b.on_crash(t0 + Duration::from_micros(i));
        }
        assert_eq!(last, Duration::from_secs(3600));
        assert!(b.crashes_in_window() <= 64);
    }
}
