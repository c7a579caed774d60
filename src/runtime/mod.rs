//! The generic supervision runtime the protocol actors plug into (nothing here knows VRRP,
//! BFD or LVS).
//!
//! - [`system`]: the actix System over a multi-thread tokio runtime we own, with one
//!   [`Arbiter`](actix::Arbiter) (thread) per domain: VRRP, checkers, BFD, netlink.
//! - [`supervise`]: [`spawn_child`] starts an actor under a supervisor that restarts it with
//!   [`backoff`] when it panics (caught by [`guarded`]) or stops; [`Durable`] state survives.
//! - [`root`]: the [`Root`] actor owning all children by identity ([`ObjectId`] or any key),
//!   reconciling them against a desired list (config reload) and stopping them on shutdown.
//! - [`signals`]: SIGHUP/SIGTERM/SIGINT/SIGUSR1/SIGUSR2 as typed [`ControlSignal`]s.
//!
//! A protocol actor (e.g. a VRRP instance) plugs in by implementing `Actor<Context =
//! Context<Self>>`, `Supervised` (restore from its `Durable` in `restarting`) and
//! `Handler<Shutdown>`, wrapping handler bodies in [`guarded`], and being started through a
//! [`ChildFactory`] the daemon hands to the [`Root`].
#![forbid(unsafe_code)]

pub mod backoff;
pub mod durable;
pub mod fault;
pub mod guard;
pub mod ids;
pub mod root;
pub mod signals;
pub mod supervise;
pub mod system;

pub use backoff::{Backoff, RestartPolicy};
pub use durable::Durable;
pub use guard::guarded;
pub use ids::{Family, ObjectId};
pub use root::{
    decide, off_thread, Apply, ChildConfig, ChildFactory, ChildInfo, ChildKey, ChildView, Commit,
    Decision, DumpKind, Heartbeat, ListChildren, Loading, PlanQuery, Query, Reconcile,
    ReconcilePlan, ReconcileReport, Reload, ReloadRefused, Root, RootOptions, RootStopping,
    ShutdownReport, StopAll,
};
pub use signals::{control_for_signal, listen_signals, ControlSignal, SignalListener};
pub use supervise::{
    finish, panic_message, spawn_child, ChildHandle, ChildOptions, EventBus, Shutdown,
    ShutdownOutcome, ShutdownReason, SuperviseError, SupervisionEvent, SupervisionEventKind,
};
pub use system::{ActorRuntime, Arbiters, Domain, RuntimeConfig};
