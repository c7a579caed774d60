//! Effective priority from tracked objects (keepalived's vrrp_track.c arithmetic).
//!
//! `total = base + Σ contributions`, `effective = clamp(total, 1, 254)`; an address owner
//! (base 255) always stays 255 and only weight-0 trackers (FAULT) affect it.

use super::packet::PRIORITY_OWNER;

/// Current state of one tracked object as seen by an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    /// An up/down tracker: track_script, track_interface, track_bfd, track_process (quorum).
    Binary {
        /// Configured weight (0 = failure means FAULT).
        weight: i32,
        /// `reverse` keyword: invert the effect.
        reverse: bool,
        /// Tracker currently OK / up.
        up: bool,
    },
    /// A track_file: the file's integer value times the weight.
    File {
        /// Configured weight (0 = non-zero value means FAULT).
        weight: i32,
        /// `reverse` keyword.
        reverse: bool,
        /// Last value read from the file.
        value: i64,
    },
}

/// What one tracker does to the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Adds this amount (may be negative or zero) to the total priority.
    Weight(i64),
    /// Puts the instance into FAULT.
    Fault,
}

/// Result of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// Unclamped total (base + weights).
    pub total: i64,
    /// Priority to advertise: owner 255, else total clamped to 1..=254.
    pub effective: u8,
    /// Some tracker demands FAULT.
    pub fault: bool,
}

/// Effect of one tracker.
///
/// Binary, weight > 0: `+w` while up (reverse: `-w` while up). Weight < 0: `w` while down
/// (reverse: `-w`, i.e. added, while down). Weight 0: FAULT while down (reverse: while up).
/// File: `value × weight × (reverse ? -1 : 1)` capped at 253; ≤ -254 means FAULT;
/// weight 0: FAULT when the value is non-zero (reverse: when zero).
pub fn effect(t: &Tracked) -> Effect {
    match *t {
        Tracked::Binary {
            weight,
            reverse,
            up,
        } => {
            let m: i64 = if reverse { -1 } else { 1 };
            let w = i64::from(weight);
            if weight == 0 {
                if up == reverse {
                    Effect::Fault
                } else {
                    Effect::Weight(0)
                }
            } else if weight > 0 {
                Effect::Weight(if up { w * m } else { 0 })
            } else {
                Effect::Weight(if up { 0 } else { w * m })
            }
        }
        Tracked::File {
            weight,
            reverse,
            value,
        } => {
            let m: i64 = if reverse { -1 } else { 1 };
            let status = if weight == 0 {
                if (value != 0) != reverse {
                    -254
                } else {
                    0
                }
            } else {
                value.saturating_mul(i64::from(weight)).saturating_mul(m)
            };
            if status <= -254 {
                Effect::Fault
            } else {
                Effect::Weight(status.min(253))
            }
        }
    }
}

/// Clamp a total priority of a non-owner to the advertisable range 1..=254.
pub fn clamp(total: i64) -> u8 {
    u8::try_from(total.clamp(1, i64::from(PRIORITY_OWNER - 1))).unwrap_or(1)
}

/// Effective priority and fault flag of an instance with base priority `base`.
pub fn evaluate<'a>(base: u8, trackers: impl IntoIterator<Item = &'a Tracked>) -> Evaluation {
    let mut total = i64::from(base);
    let mut fault = false;
    for t in trackers {
        match effect(t) {
            Effect::Fault => fault = true,
            Effect::Weight(w) => total = total.saturating_add(w),
        }
    }
    let effective = if base == PRIORITY_OWNER {
        // Owner: weights ignored (keepalived drops weighted trackers of owners).
        total = i64::from(PRIORITY_OWNER);
        PRIORITY_OWNER
    } else {
        clamp(total)
    };
    Evaluation {
        total,
        effective,
        fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(weight: i32, reverse: bool, up: bool) -> Tracked {
        Tracked::Binary {
            weight,
            reverse,
            up,
        }
    }

    fn file(weight: i32, reverse: bool, value: i64) -> Tracked {
        Tracked::File {
            weight,
            reverse,
            value,
        }
    }

    #[test]
    fn binary_effects() {
        assert_eq!(effect(&bin(10, false, true)), Effect::Weight(10));
        assert_eq!(effect(&bin(10, false, false)), Effect::Weight(0));
        assert_eq!(effect(&bin(-10, false, true)), Effect::Weight(0));
        assert_eq!(effect(&bin(-10, false, false)), Effect::Weight(-10));
        assert_eq!(effect(&bin(10, true, true)), Effect::Weight(-10));
        assert_eq!(effect(&bin(10, true, false)), Effect::Weight(0));
        assert_eq!(effect(&bin(-10, true, true)), Effect::Weight(0));
        assert_eq!(effect(&bin(-10, true, false)), Effect::Weight(10));
        assert_eq!(effect(&bin(0, false, false)), Effect::Fault);
        assert_eq!(effect(&bin(0, false, true)), Effect::Weight(0));
        assert_eq!(effect(&bin(0, true, true)), Effect::Fault);
        assert_eq!(effect(&bin(0, true, false)), Effect::Weight(0));
    }

    #[test]
    fn file_effects() {
        assert_eq!(effect(&file(2, false, 5)), Effect::Weight(10));
        assert_eq!(effect(&file(2, true, 5)), Effect::Weight(-10));
        assert_eq!(effect(&file(1, false, 1000)), Effect::Weight(253));
        assert_eq!(effect(&file(1, false, -253)), Effect::Weight(-253));
        assert_eq!(effect(&file(1, false, -254)), Effect::Fault);
        assert_eq!(effect(&file(0, false, 3)), Effect::Fault);
        assert_eq!(effect(&file(0, false, 0)), Effect::Weight(0));
        assert_eq!(effect(&file(0, true, 0)), Effect::Fault);
        assert_eq!(
            effect(&file(i32::MAX, false, i64::MAX)),
            Effect::Weight(253)
        );
    }

    #[test]
    fn clamps_to_1_254() {
        let e = evaluate(100, &[bin(-50, false, false), bin(-80, false, false)]);
        assert_eq!((e.total, e.effective, e.fault), (-30, 1, false));
        let e = evaluate(200, &[bin(100, false, true)]);
        assert_eq!((e.total, e.effective), (300, 254));
        let e = evaluate(100, &[bin(20, false, true), bin(-5, false, false)]);
        assert_eq!(e.effective, 115);
        assert_eq!(evaluate(254, &[]).effective, 254);
    }

    #[test]
    fn owner_never_changes_but_can_fault() {
        let e = evaluate(255, &[bin(-50, false, false)]);
        assert_eq!((e.effective, e.fault), (255, false));
        let e = evaluate(255, &[bin(0, false, false)]);
        assert_eq!((e.effective, e.fault), (255, true));
    }

    #[test]
    fn fault_with_weights() {
        let e = evaluate(100, &[bin(10, false, true), bin(0, false, false)]);
        assert!(e.fault);
        assert_eq!(e.effective, 110);
    }
}
