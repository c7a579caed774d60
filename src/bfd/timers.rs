//! Interval arithmetic of RFC 5880 §6.8.2, §6.8.4 and §6.8.7 (pure functions) and the
//! injected random source used for transmit jitter.

use std::time::Duration;

/// A source of random numbers, injected so that sessions are deterministic under test.
pub trait RandomSource {
    /// The next uniformly distributed 32-bit value.
    fn next_u32(&mut self) -> u32;
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// A small non-cryptographic generator (SplitMix64) an actor may use as its
/// [`RandomSource`], seeded from anything (time, pid, discriminator).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl RandomSource for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// Negotiated transmit interval (§6.8.2): the larger of our Desired Min TX and the
/// peer's Required Min RX.
pub fn tx_interval(local_desired_min_tx: Duration, remote_min_rx: Duration) -> Duration {
    local_desired_min_tx.max(remote_min_rx)
}

/// Detection time in asynchronous mode (§6.8.4): the peer's Detect Mult times the larger
/// of our Required Min RX and the peer's last Desired Min TX.
pub fn detection_time(
    remote_detect_mult: u8,
    local_min_rx: Duration,
    remote_desired_min_tx: Duration,
) -> Duration {
    local_min_rx.max(remote_desired_min_tx) * u32::from(remote_detect_mult)
}

/// Applies transmit jitter (§6.8.7): the interval is reduced by a random 0–25%
/// (75–100% of it); with a local Detect Mult of 1 it is 75–90%. Resolution is 0.1%.
pub fn jittered(interval: Duration, local_detect_mult: u8, rng: &mut dyn RandomSource) -> Duration {
    let span: u32 = if local_detect_mult == 1 { 150 } else { 250 };
    let per_mille = 750 + rng.next_u32() % (span + 1);
    let us = interval.as_micros().saturating_mul(u128::from(per_mille)) / 1000;
    Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn negotiation_takes_the_slower_side() {
        assert_eq!(tx_interval(10 * MS, 50 * MS), 50 * MS);
        assert_eq!(tx_interval(300 * MS, 50 * MS), 300 * MS);
        assert_eq!(detection_time(3, 10 * MS, 50 * MS), 150 * MS);
        assert_eq!(detection_time(5, 200 * MS, 50 * MS), 1000 * MS);
        assert_eq!(detection_time(255, MS, MS), 255 * MS);
    }

    #[test]
    fn jitter_bounds_exhaustive_over_random_values() {
        let i = 100 * MS;
        // Every residue the implementation can produce, plus extremes.
        for r in (0..=1000u32).chain([u32::MAX, u32::MAX - 1, 1 << 31]) {
            let mut src = move || r;
            let j = jittered(i, 3, &mut src);
            assert!(j >= 75 * MS && j <= 100 * MS, "mult 3, r {r}: {j:?}");
            let j1 = jittered(i, 1, &mut src);
            assert!(j1 >= 75 * MS && j1 <= 90 * MS, "mult 1, r {r}: {j1:?}");
        }
        // Both ends are reachable.
        assert_eq!(jittered(i, 3, &mut || 0), 75 * MS);
        assert_eq!(jittered(i, 3, &mut || 250), 100 * MS);
        assert_eq!(jittered(i, 1, &mut || 150), 90 * MS);
    }

    #[test]
    fn splitmix_spreads_jitter_over_the_range() {
        let mut rng = SplitMix64(42);
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        for _ in 0..10_000 {
            let j = jittered(1000 * MS, 5, &mut rng);
            lo = lo.min(j);
            hi = hi.max(j);
        }
        assert!(lo < 760 * MS && lo >= 750 * MS, "{lo:?}");
        assert!(hi > 990 * MS && hi <= 1000 * MS, "{hi:?}");
    }
}
