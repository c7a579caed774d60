//! VRRPv2 `auth_type AH`: the IP Authentication Header (IP protocol 51, RFC 2402 / RFC 4302)
//! carrying the advert, as keepalived 2.2.7 sends and checks it.
//!
//! ```text
//! | IPv4 header (protocol 51, TOS 0xc0, ID per advert) |
//! | Next Hdr=112 | Payload Len=4 | Reserved=0 | SPI = IP source | Sequence Number | ICV (12) |
//! | VRRPv2 advert (Auth Type 2, authentication data zero) |
//! ```
//!
//! - ICV: HMAC-MD5-96 (RFC 2104, truncated to 96 bits as RFC 2403) keyed with the first 8
//!   bytes of `auth_pass` (NUL padded, which HMAC's own zero padding makes equivalent), over the
//!   IP header with TOS, fragment field and header checksum zeroed (and the TTL too for a
//!   unicast instance: keepalived keeps the multicast TTL 255 in the computation), then the AH
//!   with the ICV zeroed, then the VRRP message.
//! - SPI: the sender's IPv4 source address; a received SPI must equal the packet's source.
//! - Sequence number: one counter per instance shared by sending and receiving ([`SeqCounter`]):
//!   a sender increments it before each advert; a receiver accepts only a number above it and
//!   takes it over, so a backup that takes over continues above the last master's numbers.
//!
//! Pure functions over bytes: the VRRP actor builds the datagram it sends (IP_HDRINCL) and
//! checks what its protocol-51 raw socket receives.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use md5::Md5;

use super::checksum;
use super::events::State;
use super::validate::{constant_time_eq, DropReason};

/// IP protocol number of the Authentication Header.
pub const IPPROTO_AH: u8 = 51;
/// IP protocol number of VRRP (the AH's Next Header).
pub const IPPROTO_VRRP: u8 = 112;
/// Length of keepalived's AH (fixed: 12 bytes of fields + 12 bytes of ICV).
pub const AH_LEN: usize = 24;
/// Length of the truncated HMAC-MD5 (96 bits).
pub const ICV_LEN: usize = 12;
/// Offset of the ICV in the AH.
const ICV_OFFSET: usize = 12;
/// AH Payload Length: the AH in 32-bit words minus 2 (RFC 4302 §2.2).
pub const PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
/// The IPv4 header we send (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// TOS byte keepalived sends (precedence "internetwork control").
pub const TOS: u8 = 0xc0;
/// Key length: keepalived keys the HMAC with its 8-byte authentication data.
pub const KEY_LEN: usize = 8;

/// The HMAC key: the first 8 bytes of `auth_pass`, NUL padded (keepalived truncates longer
/// passwords with a warning). Its `Debug` does not show the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AhKey([u8; KEY_LEN]);

impl std::fmt::Debug for AhKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AhKey(..)")
    }
}

impl AhKey {
    /// The key for `auth_pass`.
    pub fn from_pass(pass: &[u8]) -> Self {
        let mut k = [0u8; KEY_LEN];
        for (d, s) in k.iter_mut().zip(pass) {
            *d = *s;
        }
        AhKey(k)
    }
}

/// HMAC-MD5 of the concatenated `parts`, truncated to 96 bits.
fn hmac_md5_96(key: &AhKey, parts: &[&[u8]]) -> [u8; ICV_LEN] {
    // HMAC accepts any key length; ours is 8 bytes (zero padded to the block like keepalived).
    let Ok(mut mac) = <Hmac<Md5> as Mac>::new_from_slice(&key.0) else {
        return [0; ICV_LEN];
    };
    for p in parts {
        mac.update(p);
    }
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&full[..ICV_LEN]);
    out
}

/// The ICV of an IPv4 datagram carrying AH (`packet` from the IP header on, the AH right
/// after the header), with the mutable fields zeroed as keepalived does.
fn icv(packet: &[u8], ihl: usize, key: &AhKey, unicast: bool) -> Option<[u8; ICV_LEN]> {
    let head_len = ihl + AH_LEN;
    let mut head = packet.get(..head_len)?.to_vec();
    let rest = packet.get(head_len..)?;
    head[1] = 0; // TOS
    head[6] = 0; // flags + fragment offset
    head[7] = 0;
    head[10] = 0; // header checksum
    head[11] = 0;
    if unicast {
        head[8] = 0; // TTL
    }
    head.get_mut(ihl + ICV_OFFSET..ihl + AH_LEN)?.fill(0);
    Some(hmac_md5_96(key, &[&head, rest]))
}

/// The fields of one advert to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendParams {
    /// IP source (also the SPI).
    pub src: Ipv4Addr,
    /// IP destination (the group or a unicast peer).
    pub dst: Ipv4Addr,
    /// IP identification (per advert, never 0: see [`next_ip_id`]).
    pub id: u16,
    /// TTL (255; a unicast instance's `unicast_ttl`).
    pub ttl: u8,
    /// AH sequence number (from [`SeqCounter::next_send`]).
    pub seq: u32,
    /// Unicast instance: the TTL is left out of the ICV.
    pub unicast: bool,
}

/// The whole IPv4 datagram (header, AH, `vrrp`) for a raw socket with IP_HDRINCL. The header
/// checksum is filled in (the kernel recomputes it anyway).
pub fn encode(vrrp: &[u8], p: &SendParams, key: &AhKey) -> Vec<u8> {
    let total = IPV4_HEADER_LEN + AH_LEN + vrrp.len();
    let total16 = u16::try_from(total).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&[0x45, TOS]);
    out.extend_from_slice(&total16.to_be_bytes());
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&[0, 0, p.ttl, IPPROTO_AH, 0, 0]);
    out.extend_from_slice(&p.src.octets());
    out.extend_from_slice(&p.dst.octets());
    out.extend_from_slice(&[IPPROTO_VRRP, PAYLOAD_LEN, 0, 0]);
    out.extend_from_slice(&p.src.octets()); // SPI
    out.extend_from_slice(&p.seq.to_be_bytes());
    out.extend_from_slice(&[0; ICV_LEN]);
    out.extend_from_slice(vrrp);
    if let Some(v) = icv(&out, IPV4_HEADER_LEN, key, p.unicast) {
        out[IPV4_HEADER_LEN + ICV_OFFSET..IPV4_HEADER_LEN + AH_LEN].copy_from_slice(&v);
    }
    let mut acc = checksum::Accumulator::new();
    acc.add(&out[..IPV4_HEADER_LEN]);
    let sum = acc.finish();
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out
}

/// A received IPv4 datagram carrying AH, split (nothing verified yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhPacket<'a> {
    /// The datagram up to its total length.
    pub packet: &'a [u8],
    /// IP header length.
    pub ihl: usize,
    /// IP source.
    pub src: Ipv4Addr,
    /// AH Next Header (112 for VRRP).
    pub next_header: u8,
    /// SPI.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
    /// The payload after the AH (the VRRP message when `next_header` is 112).
    pub vrrp: &'a [u8],
}

/// Why a datagram cannot be split into IP header, AH and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// Not IPv4, or a header length below 20.
    #[error("not a valid IPv4 header")]
    BadHeader,
    /// The IP protocol is not AH.
    #[error("IP protocol {0} is not AH")]
    NotAh(u8),
    /// Shorter than IP header + AH.
    #[error("IPv4 packet with AH too short: {0} bytes")]
    Truncated(usize),
}

impl SplitError {
    /// Counter to increment (keepalived: `packet_len_err` for a short packet, and
    /// `authtype_mismatch` for "No AH header but auth type is AH").
    pub fn counter(&self) -> &'static str {
        match self {
            SplitError::NotAh(_) => "authtype_mismatch",
            SplitError::BadHeader | SplitError::Truncated(_) => "packet_len_err",
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}

/// Splits a received IPv4 datagram (as a raw socket delivers it) into IP header, AH and
/// payload; link-layer padding after the IP total length is dropped.
pub fn split(buf: &[u8]) -> Result<AhPacket<'_>, SplitError> {
    let first = *buf.first().ok_or(SplitError::Truncated(0))?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < IPV4_HEADER_LEN {
        return Err(SplitError::BadHeader);
    }
    if buf.len() < ihl + AH_LEN {
        return Err(SplitError::Truncated(buf.len()));
    }
    let proto = buf[9];
    if proto != IPPROTO_AH {
        return Err(SplitError::NotAh(proto));
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let end = if (ihl + AH_LEN..=buf.len()).contains(&total) {
        total
    } else {
        buf.len()
    };
    let packet = &buf[..end];
    Ok(AhPacket {
        packet,
        ihl,
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        next_header: buf[ihl],
        spi: be32(buf, ihl + 4),
        seq: be32(buf, ihl + 8),
        vrrp: &packet[ihl + AH_LEN..],
    })
}

impl AhPacket<'_> {
    /// The VRID of the carried VRRP message (for the socket's demultiplexer).
    pub fn vrid(&self) -> Option<u8> {
        self.vrrp.get(1).copied()
    }

    /// keepalived's checks, in its order: the ICV (with `key`; `unicast` leaves the TTL out),
    /// then SPI == IP source. The sequence number is checked by [`SeqCounter::check`].
    pub fn verify(&self, key: &AhKey, unicast: bool) -> Result<(), DropReason> {
        let computed = icv(self.packet, self.ihl, key, unicast).ok_or(DropReason::AhIcv)?;
        let received = self
            .packet
            .get(self.ihl + ICV_OFFSET..self.ihl + AH_LEN)
            .ok_or(DropReason::AhIcv)?;
        if !constant_time_eq(&computed, received) {
            return Err(DropReason::AhIcv);
        }
        if self.spi != u32::from(self.src) {
            return Err(DropReason::AhSpi {
                spi: self.spi,
                src: u32::from(self.src),
            });
        }
        Ok(())
    }
}

/// The next IP identification of an instance's adverts: incremented per advert, skipping 0
/// (which would let the kernel choose), as keepalived.
pub fn next_ip_id(id: &mut u16) -> u16 {
    *id = id.wrapping_add(1);
    if *id == 0 {
        *id = 1;
    }
    *id
}

/// An instance's AH sequence-number state (keepalived's `ipsecah_counter`): the last number
/// sent or accepted, and whether sending reached the end of the number space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqCounter {
    seq: u32,
    cycle: bool,
}

impl SeqCounter {
    /// Highest number a sender increments from (keepalived stops at 0xFFFFFFFE and flags the
    /// counter as cycled).
    const LAST: u32 = 0xFFFF_FFFD;

    /// The current value.
    pub fn value(&self) -> u32 {
        self.seq
    }

    /// Whether the counter reached its end while sending.
    pub fn cycled(&self) -> bool {
        self.cycle
    }

    /// The number for the next advert sent (the counter moves on first).
    pub fn next_send(&mut self) -> u32 {
        if self.seq > Self::LAST {
            self.cycle = true;
        } else {
            self.seq += 1;
        }
        self.seq
    }

    /// Anti-replay check of a received number: only one above the counter is accepted.
    pub fn check(&self, seq: u32) -> Result<(), DropReason> {
        if seq > self.seq {
            Ok(())
        } else {
            Err(DropReason::AhReplay {
                seq,
                last: self.seq,
            })
        }
    }

    /// An advert passed the AH checks: its number becomes the counter; a backup hearing a
    /// master at or above the counter clears the cycled flag.
    pub fn accepted(&mut self, seq: u32, backup: bool) {
        if seq > self.seq {
            self.seq = seq;
        }
        if backup && seq >= self.seq {
            self.cycle = false;
        }
    }

    /// A master heard a lower-priority advert: keepalived "syncs" to the number after it.
    pub fn lower_priority_heard(&mut self, seq: u32) {
        self.seq = seq.wrapping_add(1);
        self.cycle = false;
    }

    /// A master heard a higher-priority advert (it steps down).
    pub fn higher_priority_heard(&mut self) {
        self.cycle = false;
    }

    /// Becoming master: a cycled counter starts again from 0.
    pub fn becoming_master(&mut self) {
        if self.cycle {
            self.cycle = false;
            self.seq = 0;
        }
    }

    /// An advert numbered `seq` passed the AH checks (keepalived takes its number even when a
    /// later check drops the advert); a MASTER that accepts a live advert syncs to a
    /// lower-priority sender and clears the cycled flag for a higher one.
    pub fn heard(&mut self, seq: u32, h: Heard) {
        self.accepted(seq, h.state == Some(State::Backup));
        if h.state != Some(State::Master) || h.priority == 0 || !h.accepted {
            return;
        }
        let Some(ours) = h.ours else { return };
        if h.priority < ours || (h.priority == ours && h.order == Ordering::Less) {
            self.lower_priority_heard(seq);
        } else if h.priority > ours || h.order == Ordering::Greater {
            self.higher_priority_heard();
        }
    }
}

/// What [`SeqCounter::heard`] needs of an advert that passed the AH checks and of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// Our state (None: the state machine has not started).
    pub state: Option<State>,
    /// The advert was accepted (not dropped by a check applied after the authentication).
    pub accepted: bool,
    /// Its priority.
    pub priority: u8,
    /// Our effective priority (None: not started).
    pub ours: Option<u8>,
    /// Its source address compared with ours ([`super::fsm::addr_order`]).
    pub order: Ordering,
}
