//! The VRRP instance actor and its IO: sockets and timers around the sans-IO core.

pub mod socket;
