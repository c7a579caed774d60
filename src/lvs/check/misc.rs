//! MISC_CHECK: run `misc_path` (as keepalived: own process group, script user, killed after
//! `misc_timeout`). Exit 0 is a success; with `misc_dynamic`, exit 2..=255 is a success that
//! sets the real server's weight to `exit - 2`, and exit 1 (or anything else) a failure.
//! Without `misc_dynamic`, any non-zero exit is a failure.

use super::schedule::Outcome;
use crate::track::exec::{PreparedScript, RunOptions, ScriptOutcome};
use std::time::Duration;

/// A prepared MISC_CHECK.
#[derive(Clone, Debug)]
pub struct MiscTarget {
    /// The script, resolved (user, path, security) once at configuration time.
    pub script: PreparedScript,
    /// `misc_timeout`.
    pub timeout: Duration,
    /// `misc_dynamic`.
    pub dynamic: bool,
}

/// What an exit status means. `Success { weight: Some(code) }` carries the raw exit status of a
/// dynamic check (0 or 2..=255); [`dynamic_weight`] turns it into a weight.
pub fn judge(outcome: &ScriptOutcome, dynamic: bool) -> Outcome {
    match outcome {
        ScriptOutcome::Exited(0) => Outcome::Success {
            weight: dynamic.then_some(0),
        },
        ScriptOutcome::Exited(c) if dynamic && (2..=255).contains(c) => Outcome::Success {
            weight: Some(*c as u32),
        },
        ScriptOutcome::Exited(c) => Outcome::Failure {
            reason: format!("exited with status {c}"),
        },
        ScriptOutcome::Signaled(s) => Outcome::Failure {
            reason: format!("killed by signal {s}"),
        },
        ScriptOutcome::TimedOut => Outcome::Failure {
            reason: "timed out".into(),
        },
        ScriptOutcome::Error(e) => Outcome::Failure {
            reason: format!("cannot run: {e}"),
        },
    }
}

/// The weight a dynamic exit status asks for: `None` for 0 (the configured weight), else
/// `status - 2`.
pub fn dynamic_weight(status: u32) -> Option<u32> {
    (status >= 2).then(|| status - 2)
}

/// Runs one MISC_CHECK attempt.
pub async fn check(t: &MiscTarget) -> Outcome {
    let run = t
        .script
        .run(&RunOptions {
            timeout: Some(t.timeout),
            kill_grace: Duration::from_secs(1),
        })
        .await;
    judge(&run.outcome, t.dynamic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let ok = |w| Outcome::Success { weight: w };
        assert_eq!(judge(&ScriptOutcome::Exited(0), false), ok(None));
        assert_eq!(judge(&ScriptOutcome::Exited(0), true), ok(Some(0)));
        assert_eq!(judge(&ScriptOutcome::Exited(7), true), ok(Some(7)));
        assert_eq!(judge(&ScriptOutcome::Exited(255), true), ok(Some(255)));
        assert!(matches!(
            judge(&ScriptOutcome::Exited(1), true),
            Outcome::Failure { .. }
        ));
        assert!(matches!(
            judge(&ScriptOutcome::Exited(7), false),
            Outcome::Failure { .. }
        ));
        assert!(matches!(
            judge(&ScriptOutcome::TimedOut, true),
            Outcome::Failure { .. }
        ));
        assert_eq!(dynamic_weight(0), None);
        assert_eq!(dynamic_weight(2), Some(0));
        assert_eq!(dynamic_weight(12), Some(10));
    }
}
