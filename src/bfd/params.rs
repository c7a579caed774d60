//! Per-session configuration, mapped by the config layer from keepalived's `bfd_instance`.

use std::time::Duration;

/// RFC 5880 §6.8.3: while not Up, Desired Min TX must be at least one second.
pub const SLOW_TX_MIN: Duration = Duration::from_secs(1);

/// Local parameters of one BFD session. Defaults are keepalived's `bfd_instance` defaults
/// (`min_rx 10`, `min_tx 10`, `idle_tx 1000`, `multiplier 5`, active).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SessionParams {
    /// Desired Min TX Interval while Up (`min_tx`).
    pub min_tx: Duration,
    /// Required Min RX Interval (`min_rx`). Zero asks the peer not to send at all.
    pub min_rx: Duration,
    /// Desired Min TX Interval while not Up (`idle_tx`); raised to 1 s if lower.
    pub idle_tx: Duration,
    /// Detect Mult (`multiplier`), 1..=255; 0 is treated as 1.
    pub multiplier: u8,
    /// Passive role (`passive`): send nothing until the peer has been heard.
    pub passive: bool,
}

impl Default for SessionParams {
    fn default() -> Self {
        SessionParams {
            min_tx: Duration::from_millis(10),
            min_rx: Duration::from_millis(10),
            idle_tx: Duration::from_millis(1000),
            multiplier: 5,
            passive: false,
        }
    }
}

impl SessionParams {
    /// Detect Mult as sent on the wire (never 0).
    pub fn detect_mult(&self) -> u8 {
        self.multiplier.max(1)
    }

    /// Desired Min TX used while not Up (at least [`SLOW_TX_MIN`]).
    pub fn slow_tx(&self) -> Duration {
        self.idle_tx.max(SLOW_TX_MIN)
    }
}

/// A duration as the 32-bit microsecond count carried in control packets (saturating).
pub fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// A wire microsecond count as a duration.
pub fn from_micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}
