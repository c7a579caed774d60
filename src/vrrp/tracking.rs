//! Tracking, as keepalived decides it for one instance (sans-IO): from the values of its
//! trackers, the state of its interfaces and its sync group's members, to the effective
//! priority and the fault the state machine is fed.
//!
//! The arithmetic of one tracker (weight sign, `reverse`, weight 0, the 1..=254 clamp, the
//! address owner) is [`crate::track::priority`]'s; this module adds the instance's rules
//! around it:
//! - a tracker without a value yet is Unknown (a track_file without one reads 0);
//! - a script, process or BFD value given as a number is Up unless 0;
//! - the instance's own interface (and, with a vmac, the interface under it) down is FAULT
//!   unless `dont_track_primary`, before any tracker's FAULT;
//! - in a sync group, another member's own fault is this member's FAULT too (reason
//!   sync group), and a member publishes only its own fault (not the group's), so a fault does
//!   not echo around the group;
//! - a started instance is fed the fault change first, then the priority change.

use crate::config::model::VrrpInstance;
use crate::track::priority::{effective_priority, TrackInput, TrackerKind, TrackerState};
use crate::vrrp::events::{Event, FaultReason};

/// One tracker of an instance with its weight resolved (reference weight, else the
/// tracker's own, as keepalived).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackDef {
    /// Kind.
    pub kind: TrackerKind,
    /// Script / file / interface / BFD name.
    pub name: String,
    /// Weight (0: failure means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// Resolves the trackers of `i` (and of its sync group) against the configuration.
/// keepalived: a sync-group member's weighted trackers are ignored unless the group says
/// `sync_group_tracking_weight`; the group's own trackers apply to every member.
pub fn track_defs(cfg: &crate::config::model::Config, i: &VrrpInstance) -> Vec<TrackDef> {
    use crate::track::priority::{file_weight, ref_weight, script_weight};
    let group = cfg
        .sync_groups
        .iter()
        .find(|g| g.members.iter().any(|(m, _)| m == &i.name));
    // keepalived: weighted trackers of sync-group members are ignored unless
    // sync_group_tracking_weight; the group's own trackers apply to every member.
    let keep_weights = group.map(|g| g.sync_group_tracking_weight).unwrap_or(true);
    let mut out = Vec::new();
    let mut push = |kind, name: &str, (weight, reverse): (i32, bool), from_group: bool| {
        if !from_group && !keep_weights && weight != 0 {
            return;
        }
        out.push(TrackDef {
            kind,
            name: name.to_string(),
            weight,
            reverse,
        });
    };
    let lists: Vec<(&crate::config::model::Tracking, bool)> = std::iter::once((&i.tracking, false))
        .chain(group.map(|g| (&g.tracking, true)))
        .collect();
    for (t, from_group) in lists {
        for r in &t.scripts {
            if let Some(s) = cfg.script(&r.name) {
                push(
                    TrackerKind::Script,
                    &r.name,
                    script_weight(s, r),
                    from_group,
                );
            }
        }
        for r in &t.files {
            if let Some(f) = cfg.track_file(&r.name) {
                push(TrackerKind::File, &r.name, file_weight(f, r), from_group);
            }
        }
        for r in &t.processes {
            if let Some(p) = cfg.track_process(&r.name) {
                push(
                    TrackerKind::Process,
                    &r.name,
                    ref_weight(r, p.weight, p.reverse),
                    from_group,
                );
            }
        }
        for r in &t.interfaces {
            push(
                TrackerKind::Interface,
                &r.name,
                ref_weight(r, 0, false),
                from_group,
            );
        }
        for r in &t.bfd {
            if let Some(b) = cfg.bfd(&r.name) {
                push(
                    TrackerKind::Bfd,
                    &r.name,
                    ref_weight(r, b.weight, b.reverse),
                    from_group,
                );
            }
        }
    }
    out
}

/// What is tracked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrackKey {
    /// A vrrp_script.
    Script(String),
    /// A track_file.
    File(String),
    /// A vrrp_track_process (Up: the count of matching processes is within its quorum).
    Process(String),
    /// A bfd_instance (fed by the BFD side).
    Bfd(String),
    /// A sync-group member's own fault condition (Down = faulted for its own reasons).
    Member {
        /// The vrrp_sync_group.
        group: String,
        /// The member instance.
        instance: String,
    },
}

/// Where the tracker hub keeps a tracker's value (a track_interface is a link, not a value).
pub fn track_key(kind: TrackerKind, name: &str) -> Option<TrackKey> {
    let name = name.to_string();
    match kind {
        TrackerKind::Script => Some(TrackKey::Script(name)),
        TrackerKind::File => Some(TrackKey::File(name)),
        TrackerKind::Process => Some(TrackKey::Process(name)),
        TrackerKind::Bfd => Some(TrackKey::Bfd(name)),
        TrackerKind::Interface => None,
    }
}

/// Whether a member of sync group `group` other than `me` published its own fault (Down)
/// among the tracker `values`: then `me` is in FAULT too (keepalived's sync group).
pub fn other_member_faulted<'a>(
    values: impl IntoIterator<Item = (&'a TrackKey, &'a TrackValue)>,
    group: &str,
    me: &str,
) -> bool {
    values.into_iter().any(|(k, v)| {
        matches!(k, TrackKey::Member { group: g, instance } if g == group && instance != me)
            && *v == TrackValue::State(TrackerState::Down)
    })
}

/// A tracker's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackValue {
    /// Up / down / not reported yet.
    State(TrackerState),
    /// A track_file value.
    Number(i64),
}

/// The state a boolean tracker's value stands for: a number is Up unless 0; no value yet is
/// Unknown.
pub fn value_state(v: Option<&TrackValue>) -> TrackerState {
    match v {
        Some(TrackValue::State(s)) => *s,
        Some(TrackValue::Number(n)) => {
            if *n == 0 {
                TrackerState::Down
            } else {
                TrackerState::Up
            }
        }
        None => TrackerState::Unknown,
    }
}

/// The priority arithmetic's inputs for `defs`, given the links seen so far (`link`: up or
/// not, None: not known yet) and the trackers' values (`value`, by kind and name).
pub fn track_inputs(
    defs: &[TrackDef],
    link: impl Fn(&str) -> Option<bool>,
    value: impl Fn(TrackerKind, &str) -> Option<TrackValue>,
) -> Vec<TrackInput> {
    defs.iter()
        .map(|t| match t.kind {
            TrackerKind::File => {
                let v = match value(TrackerKind::File, &t.name) {
                    Some(TrackValue::Number(n)) => n,
                    _ => 0,
                };
                TrackInput::file(&t.name, t.weight, t.reverse, v)
            }
            TrackerKind::Interface => {
                let state = link(&t.name).map_or(TrackerState::Unknown, TrackerState::from);
                TrackInput::boolean(t.kind, &t.name, t.weight, t.reverse, state)
            }
            kind => {
                let state = value_state(value(kind, &t.name).as_ref());
                TrackInput::boolean(kind, &t.name, t.weight, t.reverse, state)
            }
        })
        .collect()
}

/// The instance's own interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Links {
    /// The VIPs' interface (the vmac, else the configured interface) is up.
    pub own_up: bool,
    /// With a vmac: the configured interface under it is up (else as `own_up`).
    pub base_up: bool,
    /// `dont_track_primary`: the interfaces' state is not a fault.
    pub dont_track_primary: bool,
}

/// What tracking makes of an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// The priority to run with (1..=254, or 255 for an owner).
    pub effective: u8,
    /// A weight-0 tracker has not reported yet: the instance stays in INIT.
    pub pending: bool,
    /// Its own fault (interfaces, trackers): what it tells its sync group.
    pub own_fault: Option<FaultReason>,
    /// The fault it is in: its own, else its sync group's.
    pub fault: Option<FaultReason>,
}

/// keepalived's tracking decision for an instance of priority `base` with these `inputs`,
/// its `links`, and whether another member of its sync group is in fault for its own reasons.
pub fn assess(
    base: u8,
    inputs: &[TrackInput],
    links: Links,
    other_member_faulted: bool,
) -> Assessment {
    let out = effective_priority(base, inputs);
    let links_up = links.own_up && links.base_up;
    let own_fault = if !links_up && !links.dont_track_primary {
        Some(FaultReason::InterfaceDown)
    } else if out.fault {
        Some(FaultReason::TrackFailed)
    } else {
        None
    };
    let fault = match own_fault {
        None if other_member_faulted => Some(FaultReason::SyncGroup),
        f => f,
    };
    Assessment {
        effective: out.effective,
        pending: out.pending,
        own_fault,
        fault,
    }
}

/// keepalived's config fault (`num_config_faults`) on top of the tracking decision: an
/// instance whose configuration cannot run (`config_fault`) is in FAULT for its own reason
/// whatever its trackers say (its sync group follows), and waits for no tracker.
pub fn with_config_fault(a: Assessment, config_fault: bool) -> Assessment {
    if !config_fault {
        return a;
    }
    Assessment {
        pending: false,
        own_fault: Some(FaultReason::Config),
        fault: Some(FaultReason::Config),
        ..a
    }
}

/// The value a sync-group member publishes for the others: Down while in fault for its own
/// reasons.
pub fn member_value(a: &Assessment) -> TrackValue {
    TrackValue::State(if a.own_fault.is_some() {
        TrackerState::Down
    } else {
        TrackerState::Up
    })
}

/// The event that moves a started instance from fault condition `was` to `now`, if any.
pub fn fault_change(was: Option<FaultReason>, now: Option<FaultReason>) -> Option<Event> {
    match (was, now) {
        (None, Some(r)) => Some(Event::FaultRaised(r)),
        (Some(_), None) => Some(Event::FaultCleared),
        _ => None,
    }
}

/// The priority a started instance running with `current` changes to, if it does.
pub fn priority_change(current: u8, a: &Assessment) -> Option<u8> {
    (a.effective != current).then_some(a.effective)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use crate::track::priority::TrackerKind::*;

    fn def(kind: TrackerKind, name: &str, weight: i32, reverse: bool) -> TrackDef {
        TrackDef {
            kind,
            name: name.into(),
            weight,
            reverse,
        }
    }

    const UP: Links = Links {
        own_up: true,
        base_up: true,
        dont_track_primary: false,
    };

    /// `assess` over these defs and values, links all up, no group.
    fn run(base: u8, defs: &[TrackDef], values: &[(&str, TrackValue)]) -> Assessment {
        let inputs = track_inputs(
            defs,
            |_| Some(true),
            |_, n| values.iter().find(|(k, _)| *k == n).map(|(_, v)| *v),
        );
        assess(base, &inputs, UP, false)
    }

    fn st(s: TrackerState) -> TrackValue {
        TrackValue::State(s)
    }

    /// `unicast_fault_no_peer` without peers: FAULT for its own reason (its sync group
    /// follows), even with every tracker up or a weight-0 script not reported yet; with a
    /// peer, or without the keyword, tracking decides as before.
    #[test]
    fn a_config_fault_is_fault_whatever_the_trackers() {
        let cfg = |body: &str| {
            let text = format!(
                "vrrp_instance VI {{\n interface lo\n virtual_router_id 51\n{body}\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
            );
            let l = load_str("t.conf", &text, &LoadOptions::default());
            l.config.instances[0].config_fault().is_some()
        };
        assert!(cfg(" unicast_fault_no_peer"));
        assert!(cfg(" unicast_src_ip 192.0.2.2\n unicast_fault_no_peer"));
        assert!(!cfg(
            " unicast_fault_no_peer\n unicast_peer {\n  192.0.2.3\n }"
        ));
        // keepalived 2.2.7 without the keyword: multicast, not FAULT.
        assert!(!cfg(" unicast_src_ip 192.0.2.2"));

        let d = [def(Script, "s", 0, false)];
        let pending = run(100, &d, &[]);
        assert!(pending.pending);
        let a = with_config_fault(pending.clone(), true);
        assert_eq!(
            (a.pending, a.own_fault, a.fault),
            (false, Some(FaultReason::Config), Some(FaultReason::Config))
        );
        assert_eq!(member_value(&a), TrackValue::State(TrackerState::Down));
        let up = run(100, &d, &[("s", st(TrackerState::Up))]);
        assert_eq!(
            with_config_fault(up.clone(), true).fault,
            Some(FaultReason::Config)
        );
        assert_eq!(with_config_fault(up.clone(), false), up);
    }

    #[test]
    fn positive_weight_adds_while_up() {
        let d = [def(Script, "s", 20, false)];
        assert_eq!(run(100, &d, &[("s", st(TrackerState::Up))]).effective, 120);
        assert_eq!(
            run(100, &d, &[("s", st(TrackerState::Down))]).effective,
            100
        );
    }

    #[test]
    fn negative_weight_subtracts_while_down() {
        let d = [def(Script, "s", -30, false)];
        assert_eq!(run(100, &d, &[("s", st(TrackerState::Up))]).effective, 100);
        assert_eq!(run(100, &d, &[("s", st(TrackerState::Down))]).effective, 70);
    }

    #[test]
    fn reverse_inverts_the_tracker() {
        let d = [def(Script, "s", 20, true)];
        assert_eq!(run(100, &d, &[("s", st(TrackerState::Up))]).effective, 80);
        assert_eq!(
            run(100, &d, &[("s", st(TrackerState::Down))]).effective,
            100
        );
    }

    #[test]
    fn weight_zero_failure_is_fault() {
        let d = [def(Process, "p", 0, false)];
        let a = run(100, &d, &[("p", st(TrackerState::Down))]);
        assert_eq!(a.fault, Some(FaultReason::TrackFailed));
        assert_eq!(a.own_fault, Some(FaultReason::TrackFailed));
        assert_eq!(run(100, &d, &[("p", st(TrackerState::Up))]).fault, None);
        // reverse: FAULT while up.
        let r = [def(Process, "p", 0, true)];
        assert_eq!(
            run(100, &r, &[("p", st(TrackerState::Up))]).fault,
            Some(FaultReason::TrackFailed)
        );
    }

    #[test]
    fn priority_is_clamped_to_1_through_254() {
        let d = [def(Script, "a", 200, false), def(Script, "b", -200, false)];
        let up = st(TrackerState::Up);
        let down = st(TrackerState::Down);
        assert_eq!(run(100, &d, &[("a", up), ("b", up)]).effective, 254);
        assert_eq!(run(100, &d, &[("a", down), ("b", down)]).effective, 1);
    }

    #[test]
    fn owner_keeps_255_but_a_weight_zero_failure_still_faults() {
        let d = [def(Script, "w", -50, false), def(Script, "z", 0, false)];
        let down = st(TrackerState::Down);
        let a = run(255, &d, &[("w", down), ("z", st(TrackerState::Up))]);
        assert_eq!((a.effective, a.fault), (255, None));
        let a = run(255, &d, &[("w", down), ("z", down)]);
        assert_eq!(
            (a.effective, a.fault),
            (255, Some(FaultReason::TrackFailed))
        );
    }

    /// init_fail (the script starts failed) and a first failure look the same here: Down.
    /// A script that has not reported at all holds a weight-0 tracker's instance in INIT.
    #[test]
    fn an_unreported_weight_zero_script_holds_the_start() {
        let d = [def(Script, "s", 0, false)];
        let a = run(100, &d, &[]);
        assert!(a.pending);
        assert_eq!(a.fault, None);
        let a = run(100, &d, &[("s", st(TrackerState::Down))]);
        assert!(!a.pending);
        assert_eq!(a.fault, Some(FaultReason::TrackFailed));
    }

    #[test]
    fn an_unreported_weighted_tracker_contributes_nothing() {
        let d = [def(Script, "s", -40, false), def(Bfd, "b", 10, false)];
        let a = run(100, &d, &[]);
        assert_eq!((a.effective, a.pending, a.fault), (100, false, None));
    }

    #[test]
    fn a_number_value_is_up_unless_zero() {
        assert_eq!(value_state(Some(&TrackValue::Number(3))), TrackerState::Up);
        assert_eq!(
            value_state(Some(&TrackValue::Number(0))),
            TrackerState::Down
        );
        assert_eq!(value_state(None), TrackerState::Unknown);
    }

    #[test]
    fn track_file_value_times_weight_and_missing_reads_zero() {
        let d = [def(File, "f", 5, false)];
        assert_eq!(run(100, &d, &[("f", TrackValue::Number(-4))]).effective, 80);
        assert_eq!(run(100, &d, &[]).effective, 100);
        // A contribution of -254 or less is FAULT.
        let d = [def(File, "f", 127, false)];
        assert_eq!(
            run(100, &d, &[("f", TrackValue::Number(-2))]).fault,
            Some(FaultReason::TrackFailed)
        );
    }

    #[test]
    fn track_interface_down_with_weight_zero_is_fault() {
        let d = [def(Interface, "eth9", 0, false)];
        let inputs = track_inputs(&d, |n| (n != "eth9").then_some(true), |_, _| None);
        // Not seen yet: Unknown holds a weight-0 tracker's instance in INIT.
        assert!(assess(100, &inputs, UP, false).pending);
        let inputs = track_inputs(&d, |_| Some(false), |_, _| None);
        assert_eq!(
            assess(100, &inputs, UP, false).fault,
            Some(FaultReason::TrackFailed)
        );
        let w = [def(Interface, "eth9", -10, false)];
        let inputs = track_inputs(&w, |_| Some(false), |_, _| None);
        let a = assess(100, &inputs, UP, false);
        assert_eq!((a.effective, a.fault), (90, None));
    }

    #[test]
    fn own_interface_down_is_fault_unless_dont_track_primary() {
        let down = Links {
            own_up: false,
            ..UP
        };
        assert_eq!(
            assess(100, &[], down, false).fault,
            Some(FaultReason::InterfaceDown)
        );
        let base_down = Links {
            base_up: false,
            ..UP
        };
        assert_eq!(
            assess(100, &[], base_down, false).fault,
            Some(FaultReason::InterfaceDown)
        );
        let ignored = Links {
            dont_track_primary: true,
            ..down
        };
        assert_eq!(assess(100, &[], ignored, false).fault, None);
    }

    #[test]
    fn interface_down_comes_before_a_tracker_fault() {
        let d = [def(Script, "s", 0, false)];
        let inputs = track_inputs(&d, |_| Some(true), |_, _| Some(st(TrackerState::Down)));
        let down = Links {
            own_up: false,
            ..UP
        };
        assert_eq!(
            assess(100, &inputs, down, false).fault,
            Some(FaultReason::InterfaceDown)
        );
    }

    #[test]
    fn another_members_fault_is_the_groups_fault() {
        let a = assess(100, &[], UP, true);
        assert_eq!(a.fault, Some(FaultReason::SyncGroup));
        // Not our own: we publish Up, so the fault does not echo around the group.
        assert_eq!(a.own_fault, None);
        assert_eq!(member_value(&a), TrackValue::State(TrackerState::Up));
        // Our own reason wins over the group's.
        let down = Links {
            own_up: false,
            ..UP
        };
        let a = assess(100, &[], down, true);
        assert_eq!(a.fault, Some(FaultReason::InterfaceDown));
        assert_eq!(member_value(&a), TrackValue::State(TrackerState::Down));
    }

    #[test]
    fn a_started_instance_is_fed_fault_changes_only() {
        let r = Some(FaultReason::TrackFailed);
        assert_eq!(
            fault_change(None, r),
            Some(Event::FaultRaised(FaultReason::TrackFailed))
        );
        assert_eq!(fault_change(r, None), Some(Event::FaultCleared));
        assert_eq!(fault_change(r, Some(FaultReason::InterfaceDown)), None);
        assert_eq!(fault_change(None, None), None);
    }

    #[test]
    fn a_started_instance_is_fed_priority_changes_only() {
        let a = run(
            100,
            &[def(Script, "s", 10, false)],
            &[("s", st(TrackerState::Up))],
        );
        assert_eq!(priority_change(100, &a), Some(110));
        assert_eq!(priority_change(110, &a), None);
    }

    /// track_process in an instance (reference weight over the block's) and in a sync group
    /// (applied to every member) become Process trackers with keepalived's weight and reverse.
    #[test]
    fn instance_and_group_track_process() {
        let text = "vrrp_track_process a {\n process sleep\n weight -60\n}\n\
            vrrp_track_process b {\n process nginx\n weight 10 reverse\n}\n\
            vrrp_instance VI {\n interface lo\n virtual_router_id 1\n track_process {\n  a\n  b weight 5\n }\n}\n\
            vrrp_instance VI2 {\n interface lo\n virtual_router_id 2\n}\n\
            vrrp_instance VI3 {\n interface lo\n virtual_router_id 3\n track_process {\n  a\n  b weight 5\n }\n}\n\
            vrrp_sync_group G {\n group {\n  VI\n  VI2\n }\n track_process {\n  a weight 0\n }\n}\n";
        let l = load_str("t.conf", text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        let c = &l.config;
        let defs = |name: &str| {
            let i = c
                .instances
                .iter()
                .find(|i| i.name == name)
                .expect("instance");
            track_defs(c, i)
                .into_iter()
                .filter(|t| t.kind == TrackerKind::Process)
                .map(|t| (t.name, t.weight, t.reverse))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            defs("VI3"),
            vec![("a".to_string(), -60, false), ("b".to_string(), 5, true)]
        );
        // In a group, a member's weighted trackers are ignored (no sync_group_tracking_weight),
        // as keepalived does; the group's weight-0 tracker applies to every member.
        assert_eq!(defs("VI"), vec![("a".to_string(), 0, false)]);
        assert_eq!(defs("VI2"), vec![("a".to_string(), 0, false)]);
    }

    /// With `sync_group_tracking_weight` a member keeps its weighted trackers.
    #[test]
    fn sync_group_tracking_weight_keeps_member_weights() {
        let text = "vrrp_script s {\n script /bin/true\n weight -20\n}\n\
            vrrp_instance VI {\n interface lo\n virtual_router_id 1\n track_script {\n  s\n }\n}\n\
            vrrp_instance VI2 {\n interface lo\n virtual_router_id 2\n}\n\
            vrrp_sync_group G {\n group {\n  VI\n  VI2\n }\n sync_group_tracking_weight\n}\n";
        let l = load_str("t.conf", text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        let c = &l.config;
        let got: Vec<(String, i32)> = track_defs(c, &c.instances[0])
            .into_iter()
            .map(|t| (t.name, t.weight))
            .collect();
        assert_eq!(got, vec![("s".to_string(), -20)]);
    }

    #[test]
    fn another_members_own_fault_is_ours_and_our_own_is_not_counted_twice() {
        let member = |group: &str, instance: &str| TrackKey::Member {
            group: group.into(),
            instance: instance.into(),
        };
        let down = st(TrackerState::Down);
        let up = st(TrackerState::Up);
        let values = [
            (member("G", "VI_1"), down),
            (member("G", "VI_2"), up),
            (member("H", "VI_3"), down),
            (TrackKey::Script("VI_2".into()), down),
        ];
        let faulted = |group: &str, me: &str| {
            other_member_faulted(values.iter().map(|(k, v)| (k, v)), group, me)
        };
        // VI_1 is down in G: VI_2 follows, VI_1 itself is not faulted by its own value.
        assert!(faulted("G", "VI_2"));
        assert!(!faulted("G", "VI_1"));
        // Another group's member, or a tracker with a member's name, does not count.
        assert!(!faulted("X", "VI_2"));
        assert!(faulted("H", "VI_9"));
        assert!(!faulted("H", "VI_3"));
    }

    #[test]
    fn a_trackers_value_is_kept_under_its_kind_and_a_link_under_none() {
        assert_eq!(track_key(Script, "s"), Some(TrackKey::Script("s".into())));
        assert_eq!(track_key(File, "f"), Some(TrackKey::File("f".into())));
        assert_eq!(track_key(Process, "p"), Some(TrackKey::Process("p".into())));
        assert_eq!(track_key(Bfd, "b"), Some(TrackKey::Bfd("b".into())));
        assert_eq!(track_key(Interface, "eth0"), None);
    }
}
