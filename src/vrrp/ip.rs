//! Minimal IPv4 header reader for raw VRRP sockets (which deliver the IP header with the
//! payload). IPv6 raw sockets deliver only the payload; hop limit and addresses come from
//! ancillary data there.

use std::net::Ipv4Addr;

/// The IPv4 header fields VRRP needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address (the sender's primary address, used in elections).
    pub src: Ipv4Addr,
    /// Destination address (224.0.0.18 or a unicast peer).
    pub dst: Ipv4Addr,
    /// Time to live (must be 255 for multicast VRRP).
    pub ttl: u8,
    /// Protocol number (112 for VRRP, 51 for AH).
    pub protocol: u8,
    /// Type of service / DSCP byte (keepalived sends 0xc0).
    pub tos: u8,
}

/// Why an IPv4 packet could not be split into header and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4Error {
    /// Shorter than its header or its total length.
    #[error("IPv4 packet truncated")]
    Truncated,
    /// Not IPv4 or header length below 20 bytes.
    #[error("not a valid IPv4 header")]
    BadHeader,
}

impl Ipv4Error {
    /// Counter name, as for [`super::packet::DecodeError::counter`].
    pub fn counter(&self) -> &'static str {
        "packet_len_err"
    }
}

/// Split a raw IPv4 packet into its header fields and payload. The payload ends at the
/// header's total length, so link-layer padding after it is dropped (as keepalived tolerates).
pub fn parse_ipv4(buf: &[u8]) -> Result<(Ipv4Header, &[u8]), Ipv4Error> {
    let first = *buf.first().ok_or(Ipv4Error::Truncated)?;
    if first >> 4 != 4 {
        return Err(Ipv4Error::BadHeader);
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 {
        return Err(Ipv4Error::BadHeader);
    }
    let hdr = buf.get(..ihl).ok_or(Ipv4Error::Truncated)?;
    let field = |i: usize| hdr.get(i).copied().unwrap_or(0);
    let total = usize::from(u16::from_be_bytes([field(2), field(3)]));
    if total < ihl {
        return Err(Ipv4Error::BadHeader);
    }
    let payload = buf.get(ihl..total).ok_or(Ipv4Error::Truncated)?;
    let header = Ipv4Header {
        src: Ipv4Addr::new(field(12), field(13), field(14), field(15)),
        dst: Ipv4Addr::new(field(16), field(17), field(18), field(19)),
        ttl: field(8),
        protocol: field(9),
        tos: field(1),
    };
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_short_and_bad_headers() {
        assert_eq!(parse_ipv4(&[]), Err(Ipv4Error::Truncated));
        assert_eq!(parse_ipv4(&[0x65; 40]), Err(Ipv4Error::BadHeader));
        assert_eq!(parse_ipv4(&[0x44; 40]), Err(Ipv4Error::BadHeader));
        assert_eq!(parse_ipv4(&[0x45, 0, 0, 20]), Err(Ipv4Error::Truncated));
        let mut p = [0u8; 20];
        p[0] = 0x45;
        p[3] = 19; // total length below header length
        assert_eq!(parse_ipv4(&p), Err(Ipv4Error::BadHeader));
        p[3] = 30; // total length beyond buffer
        assert_eq!(parse_ipv4(&p), Err(Ipv4Error::Truncated));
    }

    #[test]
    fn trims_padding() {
        let mut p = vec![0u8; 46];
        p[0] = 0x45;
        p[3] = 24;
        p[8] = 255;
        p[9] = 112;
        let (h, payload) = parse_ipv4(&p).unwrap();
        assert_eq!(payload.len(), 4);
        assert_eq!((h.ttl, h.protocol), (255, 112));
    }
}
