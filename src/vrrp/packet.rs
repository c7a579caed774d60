//! VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), both address families.
//!
//! ```text
//! v2:  |Ver=2|Type=1| VRID | Priority | Count IP | Auth Type | Adver Int (s) | Checksum |
//!      | IPv4 addresses ...                      | Authentication Data (8 bytes)        |
//! v3:  |Ver=3|Type=1| VRID | Priority | Count IPvX | rsvd(4) Max Adver Int (12 bits, cs) | Checksum |
//!      | IPv4 or IPv6 addresses ...                                                       |
//! ```
//!
//! [`decode`] performs every receive check that needs no configuration (length, version, type,
//! auth type, checksum) and never panics; the checks that need the instance's configuration live
//! in [`mod@super::validate`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::checksum;

/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data trailer.
pub const AUTH_DATA_LEN: usize = 8;
/// VRRP packet type "ADVERTISEMENT", the only one defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest VRRPv3 Max Advertise Interval (12 bits, centiseconds).
pub const MAX_ADVERT_INT_CS: u16 = 0x0fff;
/// Priority of the address owner.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority sent by a master that stops (so backups take over after Skew_Time).
pub const PRIORITY_STOP: u8 = 0;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768 (IPv4 only, interval in seconds, optional PASS authentication).
    V2,
    /// RFC 5798 (IPv4 and IPv6, interval in centiseconds).
    V3,
}

impl Version {
    /// The number carried in the header's version nibble.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an instance (IPv6 implies VRRPv3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (multicast group 224.0.0.18).
    Ipv4,
    /// IPv6 (multicast group ff02::12).
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes per address in the advertisement.
    pub fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// VRRPv2 authentication type (RFC 2338 §5.3.6; RFC 3768 reserved 1 and 2 but keepalived and
/// most peers still use type 1 "PASS").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: no authentication.
    None,
    /// 1: simple text password in the 8-byte authentication data.
    Pass,
    /// 2: IPsec AH (the AH header precedes VRRP; the VRRP auth data is unused).
    Ah,
}

impl AuthType {
    /// Wire value.
    pub fn number(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
        }
    }

    /// From the wire value; `None` for undefined types.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            0 => Some(AuthType::None),
            1 => Some(AuthType::Pass),
            2 => Some(AuthType::Ah),
            _ => None,
        }
    }
}

/// VRRPv2 authentication fields: type and the 8 data bytes, kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V2Auth {
    /// Auth Type field.
    pub auth_type: AuthType,
    /// Authentication Data (the password, NUL padded, for PASS; zero otherwise).
    pub data: [u8; AUTH_DATA_LEN],
}

impl V2Auth {
    /// No authentication (type 0, zero data).
    pub const NONE: V2Auth = V2Auth {
        auth_type: AuthType::None,
        data: [0; AUTH_DATA_LEN],
    };

    /// `auth_type AH`: type 2 in the VRRP header, zero data (the AH carries the ICV, see
    /// [`super::ah`]).
    pub const AH: V2Auth = V2Auth {
        auth_type: AuthType::Ah,
        data: [0; AUTH_DATA_LEN],
    };

    /// PASS authentication as keepalived builds it: the first 8 bytes of `password`,
    /// NUL padded.
    pub fn pass(password: &[u8]) -> Self {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(password) {
            *d = *s;
        }
        V2Auth {
            auth_type: AuthType::Pass,
            data,
        }
    }
}

/// The virtual addresses listed in an advertisement (one family per packet).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addresses {
    /// IPv4 addresses.
    V4(Vec<Ipv4Addr>),
    /// IPv6 addresses.
    V6(Vec<Ipv6Addr>),
}

impl Addresses {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        match self {
            Addresses::V4(v) => v.len(),
            Addresses::V6(v) => v.len(),
        }
    }

    /// True when there are no addresses.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Family of the list.
    pub fn family(&self) -> Family {
        match self {
            Addresses::V4(_) => Family::Ipv4,
            Addresses::V6(_) => Family::Ipv6,
        }
    }

    /// Whether `addr` is listed.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (Addresses::V4(v), IpAddr::V4(a)) => v.contains(&a),
            (Addresses::V6(v), IpAddr::V6(a)) => v.contains(&a),
            _ => false,
        }
    }

    /// The addresses as `IpAddr`s.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (a, b) = match self {
            Addresses::V4(v) => (Some(v.iter().map(|a| IpAddr::V4(*a))), None),
            Addresses::V6(v) => (None, Some(v.iter().map(|a| IpAddr::V6(*a)))),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }
}

/// A VRRPv2 advertisement (IPv4 only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdvertV2 {
    /// Virtual Router Identifier (1..=255 in configurations; 0 is decoded as received).
    pub vrid: u8,
    /// Sender's priority (0 = master stopping, 255 = address owner).
    pub priority: u8,
    /// Advertisement interval in whole seconds.
    pub advert_int_s: u8,
    /// Authentication fields.
    pub auth: V2Auth,
    /// Virtual IPv4 addresses.
    pub addresses: Vec<Ipv4Addr>,
}

/// A VRRPv3 advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdvertV3 {
    /// Virtual Router Identifier.
    pub vrid: u8,
    /// Sender's priority (0 = master stopping, 255 = address owner).
    pub priority: u8,
    /// Max Advertise Interval in centiseconds (12 bits: 0..=4095).
    pub max_advert_int_cs: u16,
    /// Virtual addresses (the family of the IP packet carrying it).
    pub addresses: Addresses,
}

/// A decoded (or to-be-encoded) VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Advertisement {
    /// VRRPv2.
    V2(AdvertV2),
    /// VRRPv3.
    V3(AdvertV3),
}

impl Advertisement {
    /// Protocol version.
    pub fn version(&self) -> Version {
        match self {
            Advertisement::V2(_) => Version::V2,
            Advertisement::V3(_) => Version::V3,
        }
    }

    /// Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        match self {
            Advertisement::V2(a) => a.vrid,
            Advertisement::V3(a) => a.vrid,
        }
    }

    /// Sender's priority.
    pub fn priority(&self) -> u8 {
        match self {
            Advertisement::V2(a) => a.priority,
            Advertisement::V3(a) => a.priority,
        }
    }

    /// The advertised interval (v2 seconds or v3 centiseconds) as a duration.
    pub fn advert_interval(&self) -> Duration {
        match self {
            Advertisement::V2(a) => Duration::from_secs(u64::from(a.advert_int_s)),
            Advertisement::V3(a) => Duration::from_millis(u64::from(a.max_advert_int_cs) * 10),
        }
    }

    /// Address family of the address list.
    pub fn family(&self) -> Family {
        match self {
            Advertisement::V2(_) => Family::Ipv4,
            Advertisement::V3(a) => a.addresses.family(),
        }
    }

    /// Number of listed addresses.
    pub fn address_count(&self) -> usize {
        match self {
            Advertisement::V2(a) => a.addresses.len(),
            Advertisement::V3(a) => a.addresses.len(),
        }
    }

    /// Whether `addr` is listed.
    pub fn contains_address(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (Advertisement::V2(a), IpAddr::V4(x)) => a.addresses.contains(&x),
            (Advertisement::V2(_), IpAddr::V6(_)) => false,
            (Advertisement::V3(a), x) => a.addresses.contains(x),
        }
    }

    /// VRRPv2 authentication fields, if this is a v2 advert.
    pub fn v2_auth(&self) -> Option<&V2Auth> {
        match self {
            Advertisement::V2(a) => Some(&a.auth),
            Advertisement::V3(_) => None,
        }
    }

    /// Length of the encoded message.
    pub fn encoded_len(&self) -> usize {
        match self {
            Advertisement::V2(a) => HEADER_LEN + 4 * a.addresses.len() + AUTH_DATA_LEN,
            Advertisement::V3(a) => {
                HEADER_LEN + a.addresses.family().addr_len() * a.addresses.len()
            }
        }
    }
}

/// How the checksum is computed (encode) or verified (decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// As the RFCs say: v2 over the VRRP message, v3 over the pseudo-header built from the
    /// IP source and destination addresses plus the message.
    Standard {
        /// IP source address of the packet.
        src: IpAddr,
        /// IP destination address of the packet.
        dst: IpAddr,
    },
    /// Over the VRRP message only, for both versions (keepalived's `v3_checksum_as_v2`;
    /// the only possibility for v2).
    MessageOnly,
    /// Not computed by us: the kernel verifies/fills it (IPv6 raw socket with `IPV6_CHECKSUM`
    /// offset 6). Decode skips the check; encode leaves the field zero.
    Kernel,
}

impl ChecksumMode {
    /// How a received advert's checksum is verified: v2 over the message; IPv6 by the kernel;
    /// v3 over IPv4 with the pseudo-header when the destination is known, else the message.
    pub fn for_received(v2: bool, src: IpAddr, dst: Option<IpAddr>) -> Self {
        match (v2, src, dst) {
            (true, _, _) => ChecksumMode::MessageOnly,
            (_, IpAddr::V6(_), _) => ChecksumMode::Kernel,
            (_, src, Some(dst)) => ChecksumMode::Standard { src, dst },
            (_, _, None) => ChecksumMode::MessageOnly,
        }
    }
}

/// Why a received packet is not a well-formed advertisement. Each variant maps to the
/// keepalived statistics counter it increments ([`DecodeError::counter`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the 8-byte fixed header, or than the header's address count requires.
    #[error("packet truncated: {actual} bytes, need {expected}")]
    Truncated {
        /// Bytes required.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// Longer than the address count (and v2 auth data) says.
    #[error("packet oversized: {actual} bytes, count_ip says {expected}")]
    Oversized {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// Version nibble neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    /// VRRPv2 received over IPv6.
    #[error("VRRPv2 is IPv4-only")]
    V2OverIpv6,
    /// Type nibble is not ADVERTISEMENT (1).
    #[error("invalid packet type {0}")]
    Type(u8),
    /// VRRPv2 auth type not 0, 1 or 2.
    #[error("invalid VRRPv2 auth type {0}")]
    AuthType(u8),
    /// Checksum does not verify.
    #[error("bad checksum: received {received:#06x}, computed {computed:#06x}")]
    Checksum {
        /// Checksum field of the packet.
        received: u16,
        /// Checksum we computed over the packet (with the field zeroed).
        computed: u16,
    },
    /// Pseudo-header addresses of another family than the instance's.
    #[error("pseudo-header address family does not match")]
    ChecksumFamily,
}

impl DecodeError {
    /// Name of the per-instance counter to increment (keepalived's `keepalived.stats` and
    /// VRRP MIB names).
    pub fn counter(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } | DecodeError::Oversized { .. } => "packet_len_err",
            DecodeError::Version(_) | DecodeError::V2OverIpv6 => "vers_err",
            DecodeError::Type(_) => "invalid_type_rcvd",
            DecodeError::AuthType(_) => "invalid_authtype",
            DecodeError::Checksum { .. } | DecodeError::ChecksumFamily => "chk_err",
        }
    }
}

/// Why an advertisement cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// More than 255 addresses (Count IP is one byte).
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddresses(usize),
    /// VRRPv3 interval above 4095 centiseconds.
    #[error("max advert interval {0} cs exceeds 4095")]
    IntervalOutOfRange(u16),
    /// VRRPv2 advertisement with [`ChecksumMode::Kernel`] (only IPv6 can use it).
    #[error("kernel checksum offload is only for IPv6")]
    KernelChecksumV2,
    /// Pseudo-header addresses of another family than the address list.
    #[error("pseudo-header address family does not match the address list")]
    ChecksumFamily,
}

/// Offset of the checksum field.
const CHECKSUM_OFFSET: usize = 6;

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Decode a VRRP message (the IP payload) received over `family`.
///
/// Checks, in order: fixed header present, version 2 or 3, v2 only over IPv4, type
/// ADVERTISEMENT, exact length for Count IP (v2: plus 8 auth bytes), v2 auth type, checksum
/// (per `mode`). Never panics.
pub fn decode(
    buf: &[u8],
    family: Family,
    mode: ChecksumMode,
) -> Result<Advertisement, DecodeError> {
    let header: &[u8; HEADER_LEN] = buf
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DecodeError::Truncated {
            expected: HEADER_LEN,
            actual: buf.len(),
        })?;
    let [vers_type, vrid, priority, count, b4, b5, c0, c1] = *header;
    let received = u16::from_be_bytes([c0, c1]);

    let version = match vers_type >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(DecodeError::Version(v)),
    };
    if version == Version::V2 && family == Family::Ipv6 {
        return Err(DecodeError::V2OverIpv6);
    }
    let ptype = vers_type & 0x0f;
    if ptype != TYPE_ADVERTISEMENT {
        return Err(DecodeError::Type(ptype));
    }

    let addr_len = family.addr_len();
    let trailer = if version == Version::V2 {
        AUTH_DATA_LEN
    } else {
        0
    };
    let expected = HEADER_LEN + addr_len * usize::from(count) + trailer;
    if buf.len() < expected {
        return Err(DecodeError::Truncated {
            expected,
            actual: buf.len(),
        });
    }
    if buf.len() > expected {
        return Err(DecodeError::Oversized {
            expected,
            actual: buf.len(),
        });
    }

    let auth_type = if version == Version::V2 {
        Some(AuthType::from_number(b4).ok_or(DecodeError::AuthType(b4))?)
    } else {
        None
    };

    verify_checksum(buf, version, family, mode, received)?;

    let addr_bytes = buf
        .get(HEADER_LEN..HEADER_LEN + addr_len * usize::from(count))
        .unwrap_or(&[]);
    let addresses = match family {
        Family::Ipv4 => Addresses::V4(
            addr_bytes
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(Ipv4Addr::from)
                .collect(),
        ),
        Family::Ipv6 => Addresses::V6(
            addr_bytes
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                .map(Ipv6Addr::from)
                .collect(),
        ),
    };

    Ok(match (version, auth_type, addresses) {
        (Version::V2, Some(auth_type), Addresses::V4(addresses)) => {
            let mut data = [0u8; AUTH_DATA_LEN];
            if let Some(src) = buf.get(expected - AUTH_DATA_LEN..expected) {
                data.copy_from_slice(src);
            }
            Advertisement::V2(AdvertV2 {
                vrid,
                priority,
                advert_int_s: b5,
                auth: V2Auth { auth_type, data },
                addresses,
            })
        }
        (_, _, addresses) => Advertisement::V3(AdvertV3 {
            vrid,
            priority,
            // The top 4 bits are reserved: ignored on receipt (RFC 5798 §5.2.7).
            max_advert_int_cs: u16::from_be_bytes([b4, b5]) & MAX_ADVERT_INT_CS,
            addresses,
        }),
    })
}

fn verify_checksum(
    buf: &[u8],
    version: Version,
    family: Family,
    mode: ChecksumMode,
    received: u16,
) -> Result<(), DecodeError> {
    // Sum with the checksum field zeroed, then compare: gives a useful `computed` value.
    let computed = match (version, mode) {
        (_, ChecksumMode::Kernel) => return Ok(()),
        (Version::V2, _) | (Version::V3, ChecksumMode::MessageOnly) => sum_zeroed(buf, None),
        (Version::V3, ChecksumMode::Standard { src, dst }) => {
            if Family::of(src) != family || Family::of(dst) != family {
                return Err(DecodeError::ChecksumFamily);
            }
            sum_zeroed(buf, Some((src, dst)))
        }
    };
    if computed == received {
        Ok(())
    } else {
        Err(DecodeError::Checksum { received, computed })
    }
}

/// Checksum of `msg` as if its checksum field were zero.
fn sum_zeroed(msg: &[u8], pseudo: Option<(IpAddr, IpAddr)>) -> u16 {
    let head = msg.get(..CHECKSUM_OFFSET).unwrap_or(msg);
    let tail = msg.get(CHECKSUM_OFFSET + 2..).unwrap_or(&[]);
    let mut acc = checksum::Accumulator::new();
    match pseudo {
        Some((IpAddr::V4(s), IpAddr::V4(d))) => {
            acc.add(&s.octets());
            acc.add(&d.octets());
            acc.add(&[0, checksum::IPPROTO_VRRP]);
            acc.add(&u16::try_from(msg.len()).unwrap_or(u16::MAX).to_be_bytes());
        }
        Some((IpAddr::V6(s), IpAddr::V6(d))) => {
            acc.add(&s.octets());
            acc.add(&d.octets());
            acc.add(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
            acc.add(&[0, 0, 0, checksum::IPPROTO_VRRP]);
        }
        _ => {}
    }
    acc.add(head);
    acc.add(&[0, 0]);
    acc.add(tail);
    acc.finish()
}

/// Encode an advertisement, computing the checksum per `mode`.
pub fn encode(adv: &Advertisement, mode: ChecksumMode) -> Result<Vec<u8>, EncodeError> {
    let count = adv.address_count();
    let count = u8::try_from(count).map_err(|_| EncodeError::TooManyAddresses(count))?;
    let mut out = Vec::with_capacity(adv.encoded_len());
    let pseudo = match adv {
        Advertisement::V2(a) => {
            if mode == ChecksumMode::Kernel {
                return Err(EncodeError::KernelChecksumV2);
            }
            out.extend_from_slice(&[
                0x20 | TYPE_ADVERTISEMENT,
                a.vrid,
                a.priority,
                count,
                a.auth.auth_type.number(),
                a.advert_int_s,
                0,
                0,
            ]);
            for addr in &a.addresses {
                out.extend_from_slice(&addr.octets());
            }
            out.extend_from_slice(&a.auth.data);
            None
        }
        Advertisement::V3(a) => {
            if a.max_advert_int_cs > MAX_ADVERT_INT_CS {
                return Err(EncodeError::IntervalOutOfRange(a.max_advert_int_cs));
            }
            let [i0, i1] = a.max_advert_int_cs.to_be_bytes();
            out.extend_from_slice(&[
                0x30 | TYPE_ADVERTISEMENT,
                a.vrid,
                a.priority,
                count,
                i0,
                i1,
                0,
                0,
            ]);
            match &a.addresses {
                Addresses::V4(v) => v.iter().for_each(|x| out.extend_from_slice(&x.octets())),
                Addresses::V6(v) => v.iter().for_each(|x| out.extend_from_slice(&x.octets())),
            }
            match mode {
                ChecksumMode::Kernel => return Ok(out),
                ChecksumMode::MessageOnly => None,
                ChecksumMode::Standard { src, dst } => {
                    let fam = a.addresses.family();
                    if Family::of(src) != fam || Family::of(dst) != fam {
                        return Err(EncodeError::ChecksumFamily);
                    }
                    Some((src, dst))
                }
            }
        }
    };
    let sum = sum_zeroed(&out, pseudo);
    if let Some(field) = out.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(out)
}

/// Read the checksum field of an encoded message, if long enough.
pub fn checksum_field(buf: &[u8]) -> Option<u16> {
    read_u16(buf, CHECKSUM_OFFSET)
}
