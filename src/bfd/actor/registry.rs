//! The daemon-wide view of the BFD sessions: current state by name, a broadcast of state
//! changes for `track_bfd` (VRRP) and `BFD_CHECK` (checkers), and the allocator of local
//! discriminators. Cheap to clone, `Send + Sync`: the session actors on the BFD arbiter
//! write it, consumers on other arbiters read it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::broadcast;

use crate::bfd::packet::{Diag, State};
use crate::telemetry::{BfdState, Metrics};

/// A session state change, as published to subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdEvent {
    /// The `bfd_instance` name.
    pub name: String,
    /// `state == Up` (what `track_bfd` and `BFD_CHECK` care about).
    pub up: bool,
    /// The new local state.
    pub state: State,
    /// The local diagnostic (why it changed).
    pub diag: Diag,
}

/// The last known state of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdSnapshot {
    /// `state == Up`.
    pub up: bool,
    /// Local state.
    pub state: State,
    /// Local diagnostic.
    pub diag: Diag,
    /// Our discriminator.
    pub local_discr: u32,
    /// When the state was entered.
    pub since: Instant,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<BfdEvent>,
    states: RwLock<HashMap<String, BfdSnapshot>>,
    discr: Mutex<Discriminators>,
    metrics: Option<Arc<Metrics>>,
}

#[derive(Debug)]
struct Discriminators {
    next: u32,
    used: HashSet<u32>,
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct BfdRegistry(Arc<Inner>);

impl Default for BfdRegistry {
    fn default() -> Self {
        BfdRegistry::new()
    }
}

/// Capacity of the event channel per subscriber (a subscriber lagging further gets
/// `RecvError::Lagged` and should re-read [`BfdRegistry::state`]).
pub const EVENT_CAPACITY: usize = 1024;

impl BfdRegistry {
    /// An empty registry without metrics.
    pub fn new() -> BfdRegistry {
        BfdRegistry::build(None)
    }

    /// An empty registry that also records `keepalived_bfd_state` / `_transitions_total`.
    pub fn with_metrics(metrics: Arc<Metrics>) -> BfdRegistry {
        BfdRegistry::build(Some(metrics))
    }

    fn build(metrics: Option<Arc<Metrics>>) -> BfdRegistry {
        // Start the discriminators somewhere different on every run, so that a restarted
        // daemon does not reuse the values its peers may still remember.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(16))
            .unwrap_or(1)
            ^ std::process::id().rotate_left(8);
        BfdRegistry(Arc::new(Inner {
            tx: broadcast::channel(EVENT_CAPACITY).0,
            states: RwLock::new(HashMap::new()),
            discr: Mutex::new(Discriminators {
                next: seed.max(1),
                used: HashSet::new(),
            }),
            metrics,
        }))
    }

    /// A new listener of state changes published from now on. Read [`state`](Self::state)
    /// after subscribing for the current values.
    pub fn subscribe(&self) -> broadcast::Receiver<BfdEvent> {
        self.0.tx.subscribe()
    }

    /// The current state of session `name` (`None` if no such session runs, e.g. `-B`).
    pub fn state(&self, name: &str) -> Option<BfdSnapshot> {
        self.read().get(name).cloned()
    }

    /// Whether session `name` is Up.
    pub fn is_up(&self, name: &str) -> bool {
        self.state(name).is_some_and(|s| s.up)
    }

    /// All running sessions and their state, by name.
    pub fn all(&self) -> Vec<(String, BfdSnapshot)> {
        let mut v: Vec<_> = self
            .read()
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, BfdSnapshot>> {
        self.0.states.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, BfdSnapshot>> {
        self.0.states.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A new non-zero local discriminator not used by any live session.
    pub fn allocate_discr(&self) -> u32 {
        let mut d = self.0.discr.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let v = d.next;
            d.next = d.next.wrapping_add(1).max(1);
            if v != 0 && d.used.insert(v) {
                return v;
            }
        }
    }

    /// Claims `discr` again (a restarted or replacing session keeps its predecessor's).
    /// Returns false if another live session holds it.
    pub fn reserve_discr(&self, discr: u32) -> bool {
        discr != 0
            && self
                .0
                .discr
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .used
                .insert(discr)
    }

    /// Frees `discr`.
    pub fn release_discr(&self, discr: u32) {
        self.0
            .discr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .used
            .remove(&discr);
    }

    /// Records the state of `name` without publishing (start-up, handover).
    pub(crate) fn set_quiet(&self, name: &str, state: State, diag: Diag, local_discr: u32) {
        self.write().insert(
            name.to_string(),
            BfdSnapshot {
                up: state == State::Up,
                state,
                diag,
                local_discr,
                since: Instant::now(),
            },
        );
        if let Some(m) = &self.0.metrics {
            m.bfd_state(name, metric_state(state));
        }
    }

    /// Records a state change of `name` and publishes it.
    pub(crate) fn publish(&self, name: &str, from: State, to: State, diag: Diag, discr: u32) {
        self.write().insert(
            name.to_string(),
            BfdSnapshot {
                up: to == State::Up,
                state: to,
                diag,
                local_discr: discr,
                since: Instant::now(),
            },
        );
        if let Some(m) = &self.0.metrics {
            m.bfd_transition(name, metric_state(from), metric_state(to));
        }
        let _ = self.0.tx.send(BfdEvent {
            name: name.to_string(),
            up: to == State::Up,
            state: to,
            diag,
        });
    }

    /// The session `name` ended: publishes AdminDown (if it was not already) and forgets it.
    pub(crate) fn remove(&self, name: &str) {
        let old = self.write().remove(name);
        if let Some(old) = old {
            if old.state != State::AdminDown {
                let _ = self.0.tx.send(BfdEvent {
                    name: name.to_string(),
                    up: false,
                    state: State::AdminDown,
                    diag: Diag::AdministrativelyDown,
                });
            }
        }
    }
}

/// The metrics enum for a wire state.
pub fn metric_state(s: State) -> BfdState {
    match s {
        State::AdminDown => BfdState::AdminDown,
        State::Down => BfdState::Down,
        State::Init => BfdState::Init,
        State::Up => BfdState::Up,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_are_unique_non_zero_and_reusable_after_release() {
        let r = BfdRegistry::new();
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let d = r.allocate_discr();
            assert_ne!(d, 0);
            assert!(seen.insert(d), "duplicate {d}");
        }
        let d = *seen.iter().next().unwrap();
        assert!(!r.reserve_discr(d), "held by a live session");
        r.release_discr(d);
        assert!(r.reserve_discr(d));
        assert!(!r.reserve_discr(0));
    }

    #[test]
    fn wraps_around_without_zero() {
        let r = BfdRegistry::new();
        r.0.discr.lock().unwrap().next = u32::MAX;
        assert_eq!(r.allocate_discr(), u32::MAX);
        assert_eq!(r.allocate_discr(), 1);
    }

    #[test]
    fn publishes_changes_and_keeps_the_current_state() {
        let r = BfdRegistry::new();
        let mut rx = r.subscribe();
        assert!(r.state("b1").is_none());
        r.set_quiet("b1", State::AdminDown, Diag::None, 5);
        assert!(!r.is_up("b1"));
        r.publish("b1", State::Down, State::Up, Diag::None, 5);
        let e = rx.try_recv().unwrap();
        assert_eq!(
            e,
            BfdEvent {
                name: "b1".into(),
                up: true,
                state: State::Up,
                diag: Diag::None
            }
        );
        assert!(r.is_up("b1"));
        assert_eq!(r.state("b1").unwrap().local_discr, 5);
        r.remove("b1");
        let e = rx.try_recv().unwrap();
        assert!(!e.up);
        assert_eq!(e.state, State::AdminDown);
        assert!(r.state("b1").is_none());
        assert!(rx.try_recv().is_err());
    }
}
