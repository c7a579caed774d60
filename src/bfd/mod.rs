//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop).
//!
//! The sans-IO core:
//! - [`packet`]: control packet codec with the §6.8.6 packet-local reception checks.
//! - [`params`]: [`SessionParams`], the local configuration of one session.
//! - [`timers`]: interval negotiation, detection time, transmit jitter, [`RandomSource`].
//! - [`session`]: [`Session`], the per-session state machine driven by [`Event`]s that
//!   returns [`Action`]s; time and randomness are injected.
//!
//! The IO shell (on the BFD arbiter), in [`actor`]:
//! - [`actor::socket`]: the shared receive socket (3784, TTL / hop limit and packet info reported)
//!   and the per-session send socket (source port 49152–65535, TTL 255).
//! - [`actor::dispatch`]: demultiplexing of received packets to sessions.
//! - [`actor`]: [`BfdSessionActor`], one per `bfd_instance`, started with [`start_session`].
//! - [`actor::registry`]: [`BfdRegistry`], current states and the [`BfdEvent`] broadcast consumed
//!   by `track_bfd` and `BFD_CHECK`.
#![forbid(unsafe_code)]

pub mod actor;
pub mod packet;
pub mod params;
pub mod session;
pub mod timers;

#[cfg(test)]
mod tests;

pub use actor::registry::{BfdEvent, BfdRegistry, BfdSnapshot};
pub use actor::{
    bfd_children, start_session, start_session_with, BfdDurable, BfdSessionActor, BfdSessionStatus,
    BfdSpec, BFD_STAGE,
};
pub use packet::{AuthSection, ControlPacket, DecodeError, Diag, Flags, State};
pub use params::SessionParams;
pub use session::{Action, DiscardReason, Event, RemoteInfo, Session, SessionStatus, TimerKind};
pub use timers::{RandomSource, SplitMix64};
