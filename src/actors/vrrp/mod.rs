//! The VRRP instance actor and its IO: sockets and timers around the sans-IO core.

pub mod claims;
pub mod instance;
pub mod kernel;
pub mod kernel_queue;
pub mod netlink_kernel;
pub mod notifier;
pub mod params;
pub mod pool;
pub mod socket;
pub mod sync;
pub mod trackers;
