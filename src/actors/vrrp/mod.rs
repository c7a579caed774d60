//! The VRRP instance actor and its IO: sockets and timers around the sans-IO core.

pub mod instance;
pub mod ip_kernel;
pub mod kernel;
pub mod params;
pub mod pool;
pub mod socket;
