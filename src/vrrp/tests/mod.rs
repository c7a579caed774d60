//! Cross-module tests: golden captures, codec properties, validation, state machine.

mod fsm;
mod fsm_props;
mod golden;
mod packet;
mod params;
mod sync;
mod validate;

// Injected time, addresses and GARP settings of the state machine tests (fsm, sync).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::vrrp::params::GarpParams;

/// The tests' time zero (one for the whole test binary).
fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn at_ms(ms: u64) -> Instant {
    t0() + Duration::from_millis(ms)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// 10.0.0.`last`.
fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// No GARP bursts and no GARP timers (for tests that do not care about them).
fn no_garp() -> GarpParams {
    GarpParams {
        master_delay: Duration::ZERO,
        master_repeat: 0,
        master_refresh: Duration::ZERO,
        master_refresh_repeat: 0,
        lower_prio_delay: Duration::ZERO,
        lower_prio_repeat: 0,
    }
}
mod ah;
