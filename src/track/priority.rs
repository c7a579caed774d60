//! Effective-priority arithmetic (sans-IO), as keepalived's `vrrp_track.c`.
//!
//! `total = base + Σ contributions`, `effective = clamp(total, 1, 254)`; an address owner (255)
//! keeps 255 and ignores weighted trackers (weight-0 trackers can still put it in FAULT).
//!
//! Boolean trackers (track_script, track_interface, track_bfd, track_process), with the
//! multiplier `m = -1` for `reverse` and `+1` otherwise:
//! - weight > 0: `+weight × m` while the tracker is up, nothing while down;
//! - weight < 0: `weight × m` (i.e. `-|weight|` unreversed) while down, nothing while up;
//! - weight 0: FAULT while down (reverse: while up).
//!
//! A script that has not reported yet ([`TrackerState::Unknown`]) contributes nothing; with
//! weight 0 it holds the instance in INIT ([`PriorityOutcome::pending`]).
//!
//! track_file: `value × weight × m` (weight 0: a non-zero value, or with reverse a zero value,
//! is FAULT); a contribution ≤ -254 is FAULT, and it is capped at +253.

use crate::config::model::{TrackFile, TrackRef, VrrpScript};
use serde::{Deserialize, Serialize};

/// keepalived's address-owner priority.
pub const PRIO_OWNER: u8 = 255;

/// Which kind of tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrackerKind {
    /// `track_script` (a `vrrp_script`).
    Script,
    /// `track_interface`.
    Interface,
    /// `track_bfd`.
    Bfd,
    /// `track_file`.
    File,
    /// `track_process`.
    Process,
}

/// State of a boolean tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrackerState {
    /// Not known yet (a script before its first result).
    Unknown,
    /// Up / OK / quorum reached.
    Up,
    /// Down / failed / quorum lost.
    Down,
}

impl From<bool> for TrackerState {
    fn from(up: bool) -> Self {
        if up {
            TrackerState::Up
        } else {
            TrackerState::Down
        }
    }
}

impl From<crate::track::script_state::ScriptStatus> for TrackerState {
    fn from(s: crate::track::script_state::ScriptStatus) -> Self {
        use crate::track::script_state::ScriptStatus;
        match s {
            ScriptStatus::Init => TrackerState::Unknown,
            ScriptStatus::Ok => TrackerState::Up,
            ScriptStatus::Failed => TrackerState::Down,
        }
    }
}

/// The current value of a tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackValue {
    /// Script, interface, BFD session, process quorum.
    Bool(TrackerState),
    /// The integer read from a tracked file.
    File(i64),
}

/// One tracker as an instance sees it (weight and reverse already resolved from the
/// `track_*` reference and the tracker's own defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInput {
    /// Kind.
    pub kind: TrackerKind,
    /// Name (script, interface, file, process or BFD instance).
    pub name: String,
    /// Weight (0: failure means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// Current value.
    pub value: TrackValue,
}

impl TrackInput {
    /// A boolean tracker.
    pub fn boolean(
        kind: TrackerKind,
        name: &str,
        weight: i32,
        reverse: bool,
        state: TrackerState,
    ) -> Self {
        Self {
            kind,
            name: name.to_string(),
            weight,
            reverse,
            value: TrackValue::Bool(state),
        }
    }

    /// A tracked file with its current value.
    pub fn file(name: &str, weight: i32, reverse: bool, value: i64) -> Self {
        Self {
            kind: TrackerKind::File,
            name: name.to_string(),
            weight,
            reverse,
            value: TrackValue::File(value),
        }
    }
}

/// What one tracker does to the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Adds this much (may be negative) to the total priority.
    Adjust(i64),
    /// Puts the instance in FAULT.
    Fault,
    /// Holds the instance in INIT (weight-0 script not reported yet).
    Pending,
}

/// A tracker that currently changes something, for logs and span attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Kind of tracker.
    pub kind: TrackerKind,
    /// Its name.
    pub name: String,
    /// What it does.
    pub effect: Effect,
}

/// Result of [`effective_priority`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityOutcome {
    /// Priority to advertise (1..=254, or 255 for an owner).
    pub effective: u8,
    /// Unclamped total (base + contributions; owner: 255).
    pub total: i64,
    /// A tracker demands FAULT.
    pub fault: bool,
    /// A weight-0 script has not reported yet: keepalived keeps the instance in INIT.
    pub pending: bool,
    /// Every tracker with a non-zero effect, in input order.
    pub reasons: Vec<Reason>,
}

/// The effect of one tracker (owner handling is done by [`effective_priority`]).
pub fn contribution(t: &TrackInput) -> Effect {
    let m: i64 = if t.reverse { -1 } else { 1 };
    let w = i64::from(t.weight);
    match t.value {
        TrackValue::Bool(state) => {
            if w == 0 {
                return match state {
                    TrackerState::Unknown => Effect::Pending,
                    TrackerState::Up if t.reverse => Effect::Fault,
                    TrackerState::Down if !t.reverse => Effect::Fault,
                    _ => Effect::Adjust(0),
                };
            }
            match state {
                TrackerState::Unknown => Effect::Adjust(0),
                TrackerState::Up if w > 0 => Effect::Adjust(w * m),
                TrackerState::Down if w < 0 => Effect::Adjust(w * m),
                _ => Effect::Adjust(0),
            }
        }
        TrackValue::File(value) => {
            let status = if w == 0 {
                if (value != 0) != t.reverse {
                    return Effect::Fault;
                }
                0
            } else {
                value.saturating_mul(w).saturating_mul(m)
            };
            if status <= -254 {
                Effect::Fault
            } else {
                Effect::Adjust(status.min(253))
            }
        }
    }
}

/// keepalived's effective priority for an instance with base priority `base` and these trackers.
pub fn effective_priority(base: u8, trackers: &[TrackInput]) -> PriorityOutcome {
    let owner = base == PRIO_OWNER;
    let mut total = i64::from(base);
    let mut fault = false;
    let mut pending = false;
    let mut reasons = Vec::new();
    for t in trackers {
        let effect = contribution(t);
        match effect {
            Effect::Adjust(0) => continue,
            Effect::Adjust(_) if owner => continue,
            Effect::Adjust(d) => total += d,
            Effect::Fault => fault = true,
            Effect::Pending => pending = true,
        }
        reasons.push(Reason {
            kind: t.kind,
            name: t.name.clone(),
            effect,
        });
    }
    let effective = if owner {
        PRIO_OWNER
    } else {
        // Lossless: clamped into 1..=254.
        total.clamp(1, i64::from(PRIO_OWNER) - 1) as u8
    };
    PriorityOutcome {
        effective,
        total,
        fault,
        pending,
        reasons,
    }
}

/// keepalived's rule for a reference's reverse flag: `reverse`/`noreverse` after `weight W`
/// override the tracker's own setting.
fn resolve_reverse(r: &TrackRef, own: bool) -> bool {
    if r.reverse {
        true
    } else if r.noreverse {
        false
    } else {
        own
    }
}

/// Weight and reverse of a `track_script` reference to `script` (±254 becomes ±253 as
/// keepalived does).
pub fn script_weight(script: &VrrpScript, r: &TrackRef) -> (i32, bool) {
    let w = r.weight.unwrap_or(script.weight).clamp(-253, 253);
    (w, resolve_reverse(r, script.weight_reverse))
}

/// Weight and reverse of a `track_file` reference to `file`.
pub fn file_weight(file: &TrackFile, r: &TrackRef) -> (i32, bool) {
    (
        r.weight.unwrap_or(file.weight),
        resolve_reverse(r, file.reverse),
    )
}

/// Weight and reverse of a `track_interface` / `track_bfd` / `track_process` reference (their
/// default weight is 0 unless the tracker block gives one: pass it as `own_weight`).
pub fn ref_weight(r: &TrackRef, own_weight: i32, own_reverse: bool) -> (i32, bool) {
    (
        r.weight.unwrap_or(own_weight),
        resolve_reverse(r, own_reverse),
    )
}

/// keepalived-rs's default BFD hold-down (`bfd_hold_down` in `global_defs`).
pub use crate::config::model::DEFAULT_BFD_HOLD_DOWN;

/// One BFD tracker as [`BfdHoldDown`] remembers it.
#[derive(Clone, Debug)]
struct Held {
    /// The state the priority is computed from.
    shown: TrackerState,
    /// The state last reported by the session.
    observed: TrackerState,
    /// When the session last went from a known state to a worse one.
    last_drop: Option<std::time::Instant>,
    /// A raise is being held (logged once per hold).
    holding: bool,
}

/// What [`BfdHoldDown::apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldOutcome {
    /// When the earliest held raise may be applied (recompute then).
    pub next: Option<std::time::Instant>,
    /// Trackers whose raise has just started being held.
    pub held: Vec<String>,
    /// Trackers whose held raise has just been applied.
    pub released: Vec<String>,
}

/// The BFD hold-down (issue #19): a `track_bfd` whose state got worse for the instance
/// (Down with a weight, or FAULT with weight 0) acts at once, but the raise that follows is
/// applied only `hold` after the last drop. A single transient or spoofed Down then moves the
/// VIP once at most, instead of to the backup and back within milliseconds, and a train of
/// Downs keeps the priority low until `hold` after the last one. A first state after Unknown
/// (start, new session) is never held. `hold` zero switches it off.
#[derive(Clone, Debug, Default)]
pub struct BfdHoldDown {
    hold: std::time::Duration,
    trackers: std::collections::HashMap<String, Held>,
}

/// How good an effect is for the instance (FAULT worst).
fn rank(e: Effect) -> i64 {
    match e {
        Effect::Fault => i64::MIN,
        Effect::Pending => 0,
        Effect::Adjust(d) => d,
    }
}

impl BfdHoldDown {
    /// A hold-down of `hold`.
    pub fn new(hold: std::time::Duration) -> Self {
        Self {
            hold,
            trackers: Default::default(),
        }
    }

    /// The configured hold.
    pub fn hold(&self) -> std::time::Duration {
        self.hold
    }

    /// Replaces each BFD input's state by the one the priority is computed from at `now`.
    pub fn apply(&mut self, now: std::time::Instant, inputs: &mut [TrackInput]) -> HoldOutcome {
        let mut out = HoldOutcome::default();
        for t in inputs.iter_mut() {
            let TrackValue::Bool(observed) = t.value else {
                continue;
            };
            if t.kind != TrackerKind::Bfd {
                continue;
            }
            let effect = |s: TrackerState| {
                rank(contribution(&TrackInput {
                    value: TrackValue::Bool(s),
                    ..t.clone()
                }))
            };
            let h = self.trackers.entry(t.name.clone()).or_insert(Held {
                shown: observed,
                observed,
                last_drop: None,
                holding: false,
            });
            if h.observed != TrackerState::Unknown && effect(observed) < effect(h.observed) {
                h.last_drop = Some(now);
            }
            h.observed = observed;
            let until = h.last_drop.map(|d| d + self.hold);
            if effect(observed) > effect(h.shown) {
                match until {
                    Some(u) if now < u && !self.hold.is_zero() => {
                        if !h.holding {
                            h.holding = true;
                            out.held.push(t.name.clone());
                        }
                        out.next = Some(out.next.map_or(u, |n: std::time::Instant| n.min(u)));
                    }
                    _ => {
                        if h.holding {
                            out.released.push(t.name.clone());
                        }
                        h.holding = false;
                        h.shown = observed;
                    }
                }
            } else {
                if h.holding && effect(observed) == effect(h.shown) {
                    // Back to what is shown before the hold ended: nothing to release.
                    h.holding = false;
                }
                h.shown = observed;
            }
            t.value = TrackValue::Bool(h.shown);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::TrackerKind::*;
    use super::TrackerState::*;
    use super::*;

    fn b(kind: TrackerKind, w: i32, rev: bool, s: TrackerState) -> TrackInput {
        TrackInput::boolean(kind, "t", w, rev, s)
    }

    #[test]
    fn no_trackers_is_base() {
        let o = effective_priority(100, &[]);
        assert_eq!(
            (o.effective, o.total, o.fault, o.pending),
            (100, 100, false, false)
        );
        assert!(o.reasons.is_empty());
    }

    #[test]
    fn man_page_example_positive_weight() {
        // keepalived.conf(5): weight 2 on chk_haproxy: master 101 + 2 while OK = 103.
        let ok = effective_priority(101, &[b(Script, 2, false, Up)]);
        assert_eq!(ok.effective, 103);
        let failed = effective_priority(101, &[b(Script, 2, false, Down)]);
        assert_eq!(failed.effective, 101);
        // Backup 100 + 2 = 102 < 103 master; when master's script fails 101 < 102 -> failover.
        assert!(effective_priority(100, &[b(Script, 2, false, Up)]).effective > failed.effective);
    }

    #[test]
    fn negative_weight_subtracts_while_failed() {
        assert_eq!(
            effective_priority(150, &[b(Script, -60, false, Down)]).effective,
            90
        );
        assert_eq!(
            effective_priority(150, &[b(Script, -60, false, Up)]).effective,
            150
        );
    }

    #[test]
    fn reverse_inverts() {
        // +ve weight reversed: subtract while UP.
        assert_eq!(
            effective_priority(100, &[b(Script, 10, true, Up)]).effective,
            90
        );
        assert_eq!(
            effective_priority(100, &[b(Script, 10, true, Down)]).effective,
            100
        );
        // -ve weight reversed: add |w| while DOWN.
        assert_eq!(
            effective_priority(100, &[b(Script, -10, true, Down)]).effective,
            110
        );
        assert_eq!(
            effective_priority(100, &[b(Script, -10, true, Up)]).effective,
            100
        );
    }

    #[test]
    fn weight_zero_failure_is_fault() {
        for kind in [Script, Interface, Bfd, Process] {
            let o = effective_priority(100, &[b(kind, 0, false, Down)]);
            assert!(o.fault, "{kind:?}");
            assert_eq!(o.effective, 100);
            assert_eq!(o.reasons[0].effect, Effect::Fault);
            assert!(!effective_priority(100, &[b(kind, 0, false, Up)]).fault);
            // reverse: FAULT while up.
            assert!(effective_priority(100, &[b(kind, 0, true, Up)]).fault);
            assert!(!effective_priority(100, &[b(kind, 0, true, Down)]).fault);
        }
    }

    #[test]
    fn unknown_script_contributes_nothing_and_weight_zero_is_pending() {
        let o = effective_priority(100, &[b(Script, 50, false, Unknown)]);
        assert_eq!((o.effective, o.fault, o.pending), (100, false, false));
        let o = effective_priority(100, &[b(Script, -50, false, Unknown)]);
        assert_eq!(o.effective, 100);
        let o = effective_priority(100, &[b(Script, 0, false, Unknown)]);
        assert_eq!((o.fault, o.pending), (false, true));
        assert_eq!(o.reasons[0].effect, Effect::Pending);
    }

    #[test]
    fn clamps_to_1_and_254() {
        assert_eq!(
            effective_priority(250, &[b(Script, 100, false, Up)]).effective,
            254
        );
        let o = effective_priority(10, &[b(Script, -100, false, Down)]);
        assert_eq!((o.effective, o.total, o.fault), (1, -90, false));
        // Sums of several trackers, then clamp.
        let o = effective_priority(
            200,
            &[
                b(Script, 30, false, Up),
                b(Interface, 30, false, Up),
                b(Bfd, -5, false, Down),
            ],
        );
        assert_eq!((o.total, o.effective), (255, 254));
        assert_eq!(o.reasons.len(), 3);
    }

    #[test]
    fn owner_ignores_weights_but_not_faults() {
        let o = effective_priority(255, &[b(Script, -100, false, Down)]);
        assert_eq!((o.effective, o.fault), (255, false));
        assert!(o.reasons.is_empty());
        let o = effective_priority(255, &[b(Interface, 0, false, Down)]);
        assert_eq!((o.effective, o.fault), (255, true));
        let o = effective_priority(255, &[TrackInput::file("f", 1, false, -300)]);
        assert_eq!((o.effective, o.fault), (255, true));
    }

    #[test]
    fn track_file_value_times_weight() {
        // man page: value * weight added.
        assert_eq!(
            effective_priority(100, &[TrackInput::file("f", 1, false, 5)]).effective,
            105
        );
        assert_eq!(
            effective_priority(100, &[TrackInput::file("f", -2, false, 10)]).effective,
            80
        );
        assert_eq!(
            effective_priority(100, &[TrackInput::file("f", 3, true, 10)]).effective,
            70
        );
        // Capped at +253 per tracker, then the instance clamp.
        let o = effective_priority(1, &[TrackInput::file("f", 1, false, 1000)]);
        assert_eq!((o.total, o.effective), (254, 254));
        // -253 still fine (priority 1), -254 is FAULT.
        let o = effective_priority(100, &[TrackInput::file("f", 1, false, -253)]);
        assert_eq!((o.effective, o.fault), (1, false));
        let o = effective_priority(100, &[TrackInput::file("f", 1, false, -254)]);
        assert!(o.fault);
        let o = effective_priority(100, &[TrackInput::file("f", 254, false, -1)]);
        assert!(o.fault);
        // Huge values saturate instead of overflowing.
        let o = effective_priority(100, &[TrackInput::file("f", i32::MAX, false, i64::MIN)]);
        assert!(o.fault);
    }

    #[test]
    fn track_file_weight_zero() {
        assert!(effective_priority(100, &[TrackInput::file("f", 0, false, 1)]).fault);
        assert!(effective_priority(100, &[TrackInput::file("f", 0, false, -7)]).fault);
        let o = effective_priority(100, &[TrackInput::file("f", 0, false, 0)]);
        assert_eq!((o.fault, o.effective), (false, 100));
        // reverse: zero is FAULT, non-zero fine.
        assert!(effective_priority(100, &[TrackInput::file("f", 0, true, 0)]).fault);
        assert!(!effective_priority(100, &[TrackInput::file("f", 0, true, 3)]).fault);
    }

    #[test]
    fn contributions_match_keepalived_deltas() {
        // keepalived applies deltas on each transition: ok -> +|w|*m, failed -> -|w|*m. The
        // absolute contributions must differ by exactly that.
        for w in [-253, -10, -1, 1, 10, 253] {
            for rev in [false, true] {
                let m = if rev { -1 } else { 1 };
                let up = contribution(&b(Script, w, rev, Up));
                let down = contribution(&b(Script, w, rev, Down));
                match (up, down) {
                    (Effect::Adjust(u), Effect::Adjust(d)) => {
                        assert_eq!(u - d, i64::from(w).abs() * m, "w {w} rev {rev}")
                    }
                    x => panic!("{x:?}"),
                }
            }
        }
    }

    #[test]
    fn reference_weight_resolution() {
        use crate::config::diag::Location;
        let loc = Location::new(&std::sync::Arc::from("k.conf"), 1);
        let r = |weight: Option<i32>, reverse, noreverse| TrackRef {
            name: "s".into(),
            weight,
            reverse,
            noreverse,
            loc: loc.clone(),
        };
        let script = VrrpScript {
            name: "s".into(),
            loc: loc.clone(),
            spans: Default::default(),
            script: None,
            interval: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(1),
            weight: -20,
            weight_reverse: true,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        };
        assert_eq!(script_weight(&script, &r(None, false, false)), (-20, true));
        assert_eq!(script_weight(&script, &r(Some(5), false, true)), (5, false));
        assert_eq!(
            script_weight(&script, &r(Some(254), false, false)),
            (253, true)
        );
        assert_eq!(
            script_weight(&script, &r(Some(-254), true, false)),
            (-253, true)
        );
        let file = TrackFile {
            name: "f".into(),
            loc: loc.clone(),
            spans: Default::default(),
            file: None,
            weight: 1,
            reverse: false,
            init_file: None,
        };
        assert_eq!(file_weight(&file, &r(None, false, false)), (1, false));
        assert_eq!(file_weight(&file, &r(Some(-3), true, false)), (-3, true));
        assert_eq!(ref_weight(&r(None, false, false), 0, false), (0, false));
        assert_eq!(ref_weight(&r(Some(7), true, false), 0, false), (7, true));
    }

    fn bfd(weight: i32, up: bool) -> Vec<TrackInput> {
        vec![TrackInput::boolean(
            TrackerKind::Bfd,
            "b",
            weight,
            false,
            TrackerState::from(up),
        )]
    }

    fn shown(
        h: &mut BfdHoldDown,
        now: std::time::Instant,
        weight: i32,
        up: bool,
    ) -> (u8, HoldOutcome) {
        let mut i = bfd(weight, up);
        let o = h.apply(now, &mut i);
        (effective_priority(100, &i).effective, o)
    }

    #[test]
    fn bfd_drop_is_immediate_and_the_raise_waits_for_the_hold_down() {
        use std::time::{Duration, Instant};
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut h = BfdHoldDown::new(Duration::from_secs(1));
        // Start: Unknown -> Up is not held.
        let mut i = vec![TrackInput::boolean(
            TrackerKind::Bfd,
            "b",
            -20,
            false,
            TrackerState::Unknown,
        )];
        h.apply(t0, &mut i);
        assert_eq!(shown(&mut h, t0, -20, true).0, 100);
        // One Down: the drop at once.
        assert_eq!(shown(&mut h, ms(10), -20, false).0, 80);
        // Up 9 ms later: held, until 1 s after the drop.
        let (p, o) = shown(&mut h, ms(19), -20, true);
        assert_eq!(p, 80);
        assert_eq!(o.held, ["b"]);
        assert_eq!(o.next, Some(ms(1010)));
        let (p, o) = shown(&mut h, ms(500), -20, true);
        assert_eq!((p, o.held.len(), o.next), (80, 0, Some(ms(1010))));
        // Another Down during the hold restarts it.
        assert_eq!(shown(&mut h, ms(600), -20, false).0, 80);
        let (p, o) = shown(&mut h, ms(610), -20, true);
        assert_eq!((p, o.next), (80, Some(ms(1600))));
        assert_eq!(shown(&mut h, ms(1599), -20, true).0, 80);
        // The hold has passed: raised, once.
        let (p, o) = shown(&mut h, ms(1600), -20, true);
        assert_eq!(
            (p, o.released.clone(), o.next),
            (100, vec!["b".to_string()], None)
        );
        let (p, o) = shown(&mut h, ms(1700), -20, true);
        assert_eq!((p, o), (100, HoldOutcome::default()));
    }

    #[test]
    fn bfd_hold_down_covers_fault_and_positive_weights_and_can_be_off() {
        use std::time::{Duration, Instant};
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // weight 0: FAULT at once, cleared after the hold.
        let mut h = BfdHoldDown::new(Duration::from_secs(1));
        let fault = |h: &mut BfdHoldDown, t, up| {
            let mut i = bfd(0, up);
            h.apply(t, &mut i);
            effective_priority(100, &i).fault
        };
        assert!(!fault(&mut h, t0, true));
        assert!(fault(&mut h, ms(1), false));
        assert!(fault(&mut h, ms(5), true));
        assert!(!fault(&mut h, ms(1001), true));
        // weight +20: Down loses the bonus at once; it comes back after the hold.
        let mut h = BfdHoldDown::new(Duration::from_secs(1));
        assert_eq!(shown(&mut h, t0, 20, true).0, 120);
        assert_eq!(shown(&mut h, ms(1), 20, false).0, 100);
        assert_eq!(shown(&mut h, ms(2), 20, true).0, 100);
        assert_eq!(shown(&mut h, ms(1001), 20, true).0, 120);
        // Off: the raise is immediate.
        let mut h = BfdHoldDown::new(Duration::ZERO);
        assert_eq!(shown(&mut h, t0, -20, true).0, 100);
        assert_eq!(shown(&mut h, ms(1), -20, false).0, 80);
        assert_eq!(shown(&mut h, ms(2), -20, true).0, 100);
        // Other kinds are never held.
        let mut h = BfdHoldDown::new(Duration::from_secs(1));
        let mut i = vec![TrackInput::boolean(
            TrackerKind::Script,
            "s",
            -20,
            false,
            TrackerState::Up,
        )];
        h.apply(t0, &mut i);
        i[0].value = TrackValue::Bool(TrackerState::Down);
        h.apply(ms(1), &mut i);
        i[0].value = TrackValue::Bool(TrackerState::Up);
        h.apply(ms(2), &mut i);
        assert_eq!(effective_priority(100, &i).effective, 100);
    }
}
