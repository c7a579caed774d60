//! VRRP: the sans-IO core at the top of this folder (packet codec, AH, receive validation,
//! timer arithmetic, effective priority, the instance state machine, sync groups: no sockets,
//! clocks or netlink) and its shell in [`actor`] (the instance actor, its sockets, the
//! trackers hub and the kernel queue), which feeds events in with the current time and
//! performs the returned actions.
//!
//! Typical receive path in the actor:
//! [`ip::parse_ipv4`] (IPv4 raw socket) → [`packet::decode`] → [`validate::validate`] →
//! [`fsm::Instance::handle`] with [`events::Event::AdvertReceived`].
//! With `auth_type AH` the datagram is first split by [`ah::split`]; the VRRP message after
//! the AH is decoded, and the AH checks ([`ah::AhPacket::verify`], [`ah::SeqCounter::check`])
//! go into [`validate::RxContext::ah`]. Sending wraps the encoded advert with [`ah::encode`].
//!
//! keepalived's decisions around the state machine are pure too: [`tracking`] (trackers and
//! links to effective priority and FAULT, sync-group faults), [`resume`] (fresh start or
//! resume as MASTER from the durable state) and [`reconfigure`] (the reload of one instance:
//! replace or in place, and the kernel diff), over [`virtual_set`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actor;
pub mod ah;
pub mod checksum;
pub mod events;
pub mod fsm;
pub mod ip;
pub mod packet;
pub mod params;
pub mod reconfigure;
pub mod resume;
pub mod status;
pub mod sync;
pub mod timers;
pub mod tracking;
pub mod tx;
pub mod validate;
pub mod virtual_set;

#[cfg(test)]
mod tests;

pub use events::{Action, Event, FaultReason, Reason, ReceivedAdvert, State, Timer, Transition};
pub use fsm::{Instance, MasterInfo};
pub use packet::{
    decode, encode, Addresses, AdvertV2, AdvertV3, Advertisement, AuthType, ChecksumMode,
    DecodeError, EncodeError, Family, V2Auth, Version,
};
pub use params::{GarpParams, InitialState, InstanceParams, ParamError};
pub use status::InstanceStatus;
pub use sync::{SyncAction, SyncGroup};
pub use tx::build_advert;
pub use validate::{validate, DropReason, RxContext, TtlCheck, Verdict};
