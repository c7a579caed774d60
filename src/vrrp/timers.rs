//! VRRP timer arithmetic (RFC 5798 §6.1, with keepalived's choices).
//!
//! All results are whole microseconds, rounded down, exactly as keepalived computes them.
//! - VRRPv3 `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`.
//! - VRRPv2 `Skew_Time = (256 - Priority) / 256` seconds, NOT scaled by the advert interval
//!   (RFC 3768 §6.1).
//! - `Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time`
//!   (`down_timer_adverts` is 3 in the RFCs; keepalived makes it configurable, 1..=100).

use std::time::{Duration, Instant};

use super::packet::{Version, MAX_ADVERT_INT_CS};

const MICROS_PER_SEC: u64 = 1_000_000;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Skew_Time for a router of priority `priority` (an address owner passes 255).
pub fn skew_time(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    skew_for_factor(version, 256 - u64::from(priority), master_adver_int)
}

/// The smallest possible skew (as for priority 255); keepalived adds it to the short first
/// down timer of an instance configured `state MASTER`.
pub fn min_skew_time(version: Version, master_adver_int: Duration) -> Duration {
    skew_for_factor(version, 1, master_adver_int)
}

fn skew_for_factor(version: Version, factor: u64, master_adver_int: Duration) -> Duration {
    let us = match version {
        Version::V2 => factor * MICROS_PER_SEC / 256,
        Version::V3 => factor.saturating_mul(micros(master_adver_int)) / 256,
    };
    Duration::from_micros(us)
}

/// Master_Down_Interval = `down_timer_adverts` × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_int: Duration,
    down_timer_adverts: u32,
) -> Duration {
    master_adver_int.saturating_mul(down_timer_adverts)
        + skew_time(version, priority, master_adver_int)
}

/// First down timer of a non-owner configured `state MASTER`: one Master_Adver_Interval plus
/// the minimum skew, so it takes over quickly unless a master is already advertising.
pub fn initial_master_down_interval(version: Version, master_adver_int: Duration) -> Duration {
    master_adver_int + min_skew_time(version, master_adver_int)
}

/// The next periodic advert after one sent at `now`: `now + interval`, or, with an `epoch`,
/// the first `epoch + k × interval` after `now` — never later than `now + interval`, so a
/// backup never waits longer than one interval; the first aligned advert may come early,
/// which the protocol allows (only silence matters to a backup).
pub fn next_aligned(now: Instant, interval: Duration, epoch: Option<Instant>) -> Instant {
    let plain = now + interval;
    let (Some(epoch), false) = (epoch, interval.is_zero()) else {
        return plain;
    };
    let Some(since) = now.checked_duration_since(epoch) else {
        return plain;
    };
    let step = interval.as_nanos();
    let k = since.as_nanos() / step + 1;
    let offset = k.saturating_mul(step);
    match u64::try_from(offset) {
        Ok(ns) => epoch + Duration::from_nanos(ns),
        Err(_) => plain,
    }
}

/// Advert interval as carried on the wire: v2 whole seconds (rounded, 1..=255), v3
/// centiseconds (rounded to 10 ms, 1..=4095).
pub fn interval_to_wire(version: Version, interval: Duration) -> u16 {
    match version {
        Version::V2 => {
            let s = (interval.as_millis() + 500) / 1000;
            u16::try_from(s.clamp(1, 255)).unwrap_or(255)
        }
        Version::V3 => {
            let cs = (interval.as_micros() + 5_000) / 10_000;
            u16::try_from(cs.clamp(1, u128::from(MAX_ADVERT_INT_CS))).unwrap_or(MAX_ADVERT_INT_CS)
        }
    }
}

/// Duration of a wire interval (v2 seconds, v3 centiseconds).
pub fn interval_from_wire(version: Version, value: u16) -> Duration {
    match version {
        Version::V2 => Duration::from_secs(u64::from(value)),
        Version::V3 => Duration::from_millis(u64::from(value) * 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const US: fn(u64) -> Duration = Duration::from_micros;

    #[test]
    fn aligned_adverts_fall_on_the_grid_and_never_later_than_one_interval() {
        let epoch = Instant::now();
        let i = MS(100);
        // Without an epoch: exactly one interval later.
        assert_eq!(next_aligned(epoch + MS(7), i, None), epoch + MS(107));
        // On the grid: the next grid point after `now`, whatever the phase of `now`.
        for phase in [0u64, 1, 37, 99] {
            let now = epoch + MS(1000 + phase);
            let next = next_aligned(now, i, Some(epoch));
            assert_eq!(next, epoch + MS(1100), "phase {phase}");
            assert!(next > now && next - now <= i);
        }
        // Exactly on a grid point: one full interval.
        assert_eq!(
            next_aligned(epoch + MS(300), i, Some(epoch)),
            epoch + MS(400)
        );
        // Two instances with different phases end up advertising together.
        let a = next_aligned(epoch + MS(1013), i, Some(epoch));
        let b = next_aligned(epoch + MS(1088), i, Some(epoch));
        assert_eq!(a, b);
        // `now` before the epoch (clock of another process): plain interval.
        assert_eq!(next_aligned(epoch, i, Some(epoch + MS(5))), epoch + i);
        // Zero interval: no division by zero.
        assert_eq!(next_aligned(epoch, Duration::ZERO, Some(epoch)), epoch);
    }

    #[test]
    fn v3_skew_and_down_interval_10ms_prio_100() {
        // (256-100) * 10 ms / 256 = 6.09375 ms -> 6093 µs (keepalived: 156*1*625/16).
        assert_eq!(skew_time(Version::V3, 100, MS(10)), US(6093));
        assert_eq!(
            master_down_interval(Version::V3, 100, MS(10), 3),
            US(36_093)
        );
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        // 1 s, priority 100: 156/256 s = 609375 µs.
        assert_eq!(skew_time(Version::V3, 100, MS(1000)), US(609_375));
        assert_eq!(
            master_down_interval(Version::V3, 100, MS(1000), 3),
            US(3_609_375)
        );
        // 0.5 s, priority 200: 56 * 500 ms / 256 = 109375 µs.
        assert_eq!(skew_time(Version::V3, 200, MS(500)), US(109_375));
        // 40.95 s, priority 1: 255 * 40.95 / 256 = 40.790039... s
        assert_eq!(skew_time(Version::V3, 1, MS(40_950)), US(40_790_039));
        // owner: 1/256 of the interval.
        assert_eq!(skew_time(Version::V3, 255, MS(100)), US(390));
    }

    #[test]
    fn v2_skew_is_not_scaled_by_advert_int() {
        assert_eq!(skew_time(Version::V2, 100, MS(1000)), US(609_375));
        assert_eq!(skew_time(Version::V2, 100, MS(5000)), US(609_375));
        assert_eq!(
            master_down_interval(Version::V2, 100, MS(1000), 3),
            US(3_609_375)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, MS(5000), 3),
            US(15_609_375)
        );
        assert_eq!(skew_time(Version::V2, 255, MS(1000)), US(3906));
        assert_eq!(skew_time(Version::V2, 1, MS(1000)), US(996_093));
        assert_eq!(skew_time(Version::V2, 0, MS(1000)), US(1_000_000));
    }

    #[test]
    fn down_timer_adverts_multiplies_interval() {
        assert_eq!(
            master_down_interval(Version::V3, 150, MS(10), 1),
            US(10_000 + 4140)
        );
        assert_eq!(
            master_down_interval(Version::V3, 150, MS(10), 10),
            US(100_000 + 4140)
        );
    }

    #[test]
    fn initial_master_timer_uses_min_skew() {
        assert_eq!(
            initial_master_down_interval(Version::V3, MS(10)),
            US(10_039)
        );
        assert_eq!(
            initial_master_down_interval(Version::V2, MS(1000)),
            US(1_003_906)
        );
    }

    #[test]
    fn wire_intervals() {
        assert_eq!(interval_to_wire(Version::V3, MS(10)), 1);
        assert_eq!(interval_to_wire(Version::V3, MS(500)), 50);
        assert_eq!(interval_to_wire(Version::V3, MS(40_950)), 4095);
        assert_eq!(interval_to_wire(Version::V3, MS(50_000)), 4095);
        assert_eq!(interval_to_wire(Version::V3, MS(1)), 1);
        assert_eq!(interval_to_wire(Version::V2, MS(1000)), 1);
        assert_eq!(interval_to_wire(Version::V2, MS(1600)), 2);
        assert_eq!(interval_to_wire(Version::V2, MS(300_000)), 255);
        assert_eq!(interval_from_wire(Version::V3, 50), MS(500));
        assert_eq!(interval_from_wire(Version::V2, 3), MS(3000));
    }
}
