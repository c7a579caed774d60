//! FILE_CHECK: a real server follows a `track_file`'s value (keepalived
//! `trackers/track_file.c`, `process_update_checker_track_file_status`).
//!
//! With `weight 0`, a non-zero value fails the checker (with `reverse`, zero fails it). With a
//! non-zero weight `W` the value `v` adds `v * W` (negated with `reverse`) to the real server's
//! weight, and only a product at or below `i32::MIN` fails it. The file itself is watched by
//! [`crate::track::file::spawn_file_watcher`]; this module is the pure evaluation.

/// What a file value means for the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileVerdict {
    /// The checker is up.
    pub up: bool,
    /// Change to the real server's weight while up.
    pub delta: i64,
}

/// Evaluates a tracked file's `value` for a FILE_CHECK with `weight` and `reverse`.
pub fn evaluate(value: i64, weight: i32, reverse: bool) -> FileVerdict {
    if weight == 0 {
        let failed = (value != 0) != reverse;
        return FileVerdict {
            up: !failed,
            delta: 0,
        };
    }
    let mult: i64 = if reverse { -1 } else { 1 };
    let product = value
        .saturating_mul(i64::from(weight))
        .saturating_mul(mult)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if product <= i64::from(i32::MIN) {
        FileVerdict {
            up: false,
            delta: 0,
        }
    } else {
        FileVerdict {
            up: true,
            delta: product,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_zero_is_a_switch() {
        assert!(evaluate(0, 0, false).up);
        assert!(!evaluate(1, 0, false).up);
        assert!(!evaluate(-3, 0, false).up);
        assert!(!evaluate(0, 0, true).up);
        assert!(evaluate(5, 0, true).up);
    }

    #[test]
    fn weighted_values_adjust() {
        assert_eq!(evaluate(3, 2, false), FileVerdict { up: true, delta: 6 });
        assert_eq!(
            evaluate(3, 2, true),
            FileVerdict {
                up: true,
                delta: -6
            }
        );
        assert_eq!(evaluate(0, 5, false), FileVerdict { up: true, delta: 0 });
        assert!(!evaluate(i64::from(i32::MIN), 1, false).up);
        assert!(!evaluate(-4_000_000_000, 1, false).up);
    }
}
