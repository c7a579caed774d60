//! Supervised actors: thin shells owning IO and timers around the sans-IO cores.

pub mod daemon;
pub mod pidfile;
pub mod vrrp;
