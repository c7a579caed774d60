//! Service / destination counters (`IPVS_*_ATTR_STATS` and `..._STATS64`).
//!
//! The kernel sends both: `STATS` with 32-bit counters (64-bit for bytes)
//! and `STATS64` with 64-bit counters everywhere. We read either, widening to
//! `u64`, and prefer `STATS64` when both are present.

use netlink_packet_core::{
    emit_u32, emit_u64, DecodeError, Emitable, Nla, NlaBuffer, NlasIterator,
};

use super::constants::*;

/// Counters and rates of a service or destination (read-only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Current rates (per second, estimator-smoothed by the kernel).
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    pub in_bps: u64,
    pub out_bps: u64,
}

/// Which encoding a stats attribute uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsWidth {
    /// `IPVS_*_ATTR_STATS`: u32, except bytes which are u64.
    Legacy,
    /// `IPVS_*_ATTR_STATS64`: everything u64.
    Wide,
}

/// A nested stats attribute (`kind` is the enclosing attribute number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsNla {
    pub kind: u16,
    pub width: StatsWidth,
    pub stats: Stats,
}

impl Stats {
    fn fields(&self) -> [(u16, u64, bool); 10] {
        // (attribute, value, always 64-bit)
        [
            (IPVS_STATS_ATTR_CONNS, self.conns, false),
            (IPVS_STATS_ATTR_INPKTS, self.in_packets, false),
            (IPVS_STATS_ATTR_OUTPKTS, self.out_packets, false),
            (IPVS_STATS_ATTR_INBYTES, self.in_bytes, true),
            (IPVS_STATS_ATTR_OUTBYTES, self.out_bytes, true),
            (IPVS_STATS_ATTR_CPS, self.cps, false),
            (IPVS_STATS_ATTR_INPPS, self.in_pps, false),
            (IPVS_STATS_ATTR_OUTPPS, self.out_pps, false),
            (IPVS_STATS_ATTR_INBPS, self.in_bps, false),
            (IPVS_STATS_ATTR_OUTBPS, self.out_bps, false),
        ]
    }

    /// Parse the payload of a nested stats attribute. Unknown attributes
    /// (e.g. `IPVS_STATS_ATTR_PAD`) are skipped; counters may be 4 or 8 bytes.
    pub(crate) fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut s = Stats::default();
        for nla in NlasIterator::new(payload) {
            let nla = nla?;
            let v = nla.value();
            let value = match v.len() {
                4 => u64::from(u32::from_ne_bytes([v[0], v[1], v[2], v[3]])),
                8 => u64::from_ne_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]),
                _ if nla.kind() == IPVS_STATS_ATTR_PAD || nla.kind() > IPVS_STATS_ATTR_PAD => {
                    continue
                }
                n => {
                    return Err(DecodeError::from(format!(
                        "stats attribute {} has {} bytes, expected 4 or 8",
                        nla.kind(),
                        n
                    )))
                }
            };
            match nla.kind() {
                IPVS_STATS_ATTR_CONNS => s.conns = value,
                IPVS_STATS_ATTR_INPKTS => s.in_packets = value,
                IPVS_STATS_ATTR_OUTPKTS => s.out_packets = value,
                IPVS_STATS_ATTR_INBYTES => s.in_bytes = value,
                IPVS_STATS_ATTR_OUTBYTES => s.out_bytes = value,
                IPVS_STATS_ATTR_CPS => s.cps = value,
                IPVS_STATS_ATTR_INPPS => s.in_pps = value,
                IPVS_STATS_ATTR_OUTPPS => s.out_pps = value,
                IPVS_STATS_ATTR_INBPS => s.in_bps = value,
                IPVS_STATS_ATTR_OUTBPS => s.out_bps = value,
                _ => {}
            }
        }
        Ok(s)
    }
}

/// One counter inside a stats nest.
struct Counter {
    kind: u16,
    value: u64,
    wide: bool,
}

impl Nla for Counter {
    fn value_len(&self) -> usize {
        if self.wide {
            8
        } else {
            4
        }
    }
    fn kind(&self) -> u16 {
        self.kind
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        if self.wide {
            let _ = emit_u64(buffer, self.value);
        } else {
            let _ = emit_u32(buffer, self.value as u32);
        }
    }
}

impl StatsNla {
    fn counters(&self) -> Vec<Counter> {
        self.stats
            .fields()
            .iter()
            .map(|&(kind, value, always_wide)| Counter {
                kind,
                value,
                wide: always_wide || self.width == StatsWidth::Wide,
            })
            .collect()
    }
}

impl Nla for StatsNla {
    fn value_len(&self) -> usize {
        self.counters().as_slice().buffer_len()
    }
    fn kind(&self) -> u16 {
        self.kind
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        self.counters().as_slice().emit(buffer)
    }
}

/// Parse a nested stats attribute found at `buf`.
pub(crate) fn parse_stats_nla(
    buf: &NlaBuffer<&[u8]>,
    width: StatsWidth,
) -> Result<StatsNla, DecodeError> {
    Ok(StatsNla {
        kind: buf.kind(),
        width,
        stats: Stats::parse(buf.value())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_round_trip_both_widths() {
        let stats = Stats {
            conns: 1,
            in_packets: 2,
            out_packets: 3,
            in_bytes: 1 << 40,
            out_bytes: 5,
            cps: 6,
            in_pps: 7,
            out_pps: 8,
            in_bps: 9,
            out_bps: 10,
        };
        for width in [StatsWidth::Legacy, StatsWidth::Wide] {
            let nla = StatsNla {
                kind: IPVS_SVC_ATTR_STATS,
                width,
                stats,
            };
            let mut buf = vec![0; nla.buffer_len()];
            nla.emit(&mut buf);
            let parsed = NlaBuffer::new_checked(&buf[..]).unwrap();
            assert_eq!(parse_stats_nla(&parsed, width).unwrap(), nla);
        }
    }

    #[test]
    fn odd_sized_counter_is_an_error_not_a_panic() {
        // conns with 3 bytes of value
        let bytes = [7u8, 0, 1, 0, 1, 2, 3, 0];
        assert!(Stats::parse(&bytes).is_err());
        // truncated attribute header
        assert!(Stats::parse(&[8u8, 0, 1]).is_err());
    }
}
