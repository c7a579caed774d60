//! State that survives an actor's restart.
//!
//! A panic can leave an actor's fields half-updated, so a restarted actor should rebuild its
//! volatile state and keep only what it deliberately checkpointed. That checkpoint lives in a
//! [`Durable`] cell that is created *outside* the actor (by whoever starts it), handed to the
//! actor at construction and kept by its [`ChildHandle`](super::ChildHandle): after a restart
//! (`Supervised::restarting`) the actor reads it back, and a replacement started on reload can
//! read its predecessor's cell too.

use std::sync::{Arc, Mutex, MutexGuard};

/// A shared, thread-safe cell holding an actor's durable state (cheap to clone).
#[derive(Debug, Default)]
pub struct Durable<S>(Arc<Mutex<S>>);

impl<S> Clone for Durable<S> {
    fn clone(&self) -> Self {
        Durable(Arc::clone(&self.0))
    }
}

impl<S> Durable<S> {
    /// A new cell holding `state`.
    pub fn new(state: S) -> Self {
        Durable(Arc::new(Mutex::new(state)))
    }

    /// Locks the cell. A panic while the lock was held does not make the state unreadable
    /// (poisoning is ignored: the checkpoint is whatever was last written).
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the checkpoint.
    pub fn set(&self, state: S) {
        *self.lock() = state;
    }

    /// Updates the checkpoint in place and returns what `f` returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.lock())
    }

    /// Whether two handles refer to the same cell.
    pub fn ptr_eq(&self, other: &Durable<S>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<S: Clone> Durable<S> {
    /// A copy of the checkpoint.
    pub fn get(&self) -> S {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_panic_while_locked() {
        let d = Durable::new(1u32);
        let d2 = d.clone();
        let r = std::thread::spawn(move || {
            let mut g = d2.lock();
            *g = 7;
            panic!("boom");
        })
        .join();
        assert!(r.is_err());
        assert_eq!(d.get(), 7);
        d.update(|s| *s += 1);
        assert_eq!(d.get(), 8);
    }
}
