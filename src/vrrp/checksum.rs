//! Internet checksum (RFC 1071) and the pseudo-headers VRRP uses.
//!
//! VRRPv2 (RFC 3768 §5.2.8) sums the VRRP message alone. VRRPv3 (RFC 5798 §5.2.8) prepends
//! the IPv4 pseudo-header (RFC 768 style) or the IPv6 pseudo-header (RFC 8200 §8.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (used in both pseudo-headers).
pub const IPPROTO_VRRP: u8 = 112;

/// Running one's-complement sum, folded at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accumulator {
    sum: u32,
    /// A trailing odd byte waiting for its partner.
    odd: Option<u8>,
}

impl Accumulator {
    /// An empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add bytes (big-endian 16-bit words; an odd tail is carried to the next call).
    pub fn add(&mut self, mut bytes: &[u8]) {
        if let Some(hi) = self.odd.take() {
            if let Some((&lo, rest)) = bytes.split_first() {
                self.add_word(u16::from_be_bytes([hi, lo]));
                bytes = rest;
            } else {
                self.odd = Some(hi);
                return;
            }
        }
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            if let [hi, lo] = c {
                self.add_word(u16::from_be_bytes([*hi, *lo]));
            }
        }
        if let [last] = chunks.remainder() {
            self.odd = Some(*last);
        }
    }

    fn add_word(&mut self, w: u16) {
        self.sum += u32::from(w);
        // Fold eagerly so the u32 can never overflow.
        self.sum = (self.sum & 0xffff) + (self.sum >> 16);
    }

    /// The checksum: one's complement of the folded sum (an odd tail is padded with zero).
    pub fn finish(mut self) -> u16 {
        if let Some(hi) = self.odd.take() {
            self.add_word(u16::from_be_bytes([hi, 0]));
        }
        !(self.sum as u16)
    }
}

/// Checksum of `data` alone (VRRPv2, or VRRPv3 with keepalived's `v3_checksum_as_v2`).
pub fn checksum(data: &[u8]) -> u16 {
    let mut acc = Accumulator::new();
    acc.add(data);
    acc.finish()
}

/// Checksum of a VRRPv3 message over the IPv4 pseudo-header.
pub fn checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) -> u16 {
    let mut acc = Accumulator::new();
    acc.add(&src.octets());
    acc.add(&dst.octets());
    // zero, protocol, length; a VRRP message is far below 64 KiB but stay total.
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    acc.add(&[0, IPPROTO_VRRP]);
    acc.add(&len.to_be_bytes());
    acc.add(data);
    acc.finish()
}

/// Checksum of a VRRPv3 message over the IPv6 pseudo-header.
pub fn checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, data: &[u8]) -> u16 {
    let mut acc = Accumulator::new();
    acc.add(&src.octets());
    acc.add(&dst.octets());
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    acc.add(&len.to_be_bytes());
    acc.add(&[0, 0, 0, IPPROTO_VRRP]);
    acc.add(data);
    acc.finish()
}

/// Checksum of a VRRPv3 message over the pseudo-header of `src`/`dst`; `None` when the two
/// addresses are of different families.
pub fn checksum_pseudo(src: IpAddr, dst: IpAddr, data: &[u8]) -> Option<u16> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(checksum_v4(s, d, data)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(checksum_v6(s, d, data)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_and_split_feeding_agree() {
        let data = [1u8, 2, 3, 4, 5, 6, 7];
        let whole = checksum(&data);
        let mut acc = Accumulator::new();
        acc.add(&data[..3]);
        acc.add(&[]);
        acc.add(&data[3..]);
        assert_eq!(acc.finish(), whole);
        assert_eq!(whole, !(0x0102u16 + 0x0304 + 0x0506 + 0x0700));
    }

    #[test]
    fn message_with_checksum_sums_to_zero() {
        let mut data = vec![0x21, 0x33, 0x96, 0x02, 0x01, 0x01, 0, 0, 10, 99, 0, 100];
        let c = checksum(&data);
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }

    #[test]
    fn mixed_families_have_no_pseudo_header() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(checksum_pseudo(v4, v6, &[1, 2]), None);
        assert!(checksum_pseudo(v4, v4, &[1, 2]).is_some());
    }
}
