//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop), sans-IO.
//!
//! - [`packet`]: control packet codec with the §6.8.6 packet-local reception checks.
//! - [`params`]: [`SessionParams`], the local configuration of one session.
//! - [`timers`]: interval negotiation, detection time, transmit jitter, [`RandomSource`].
//! - [`session`]: [`Session`], the per-session state machine driven by [`Event`]s that
//!   returns [`Action`]s; time and randomness are injected.

pub mod packet;
pub mod params;
pub mod session;
pub mod timers;

#[cfg(test)]
mod tests;

pub use packet::{AuthSection, ControlPacket, DecodeError, Diag, Flags, State};
pub use params::SessionParams;
pub use session::{Action, DiscardReason, Event, RemoteInfo, Session, SessionStatus, TimerKind};
pub use timers::{RandomSource, SplitMix64};
