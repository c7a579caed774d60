//! Wire-level attributes of the IPVS family, one enum per nesting level,
//! in the style of netlink-packet-route: each variant is one attribute, with
//! `Nla` for emitting and a `parse` function for reading. Unknown attributes
//! are kept as [`DefaultNla`] so newer kernels never break decoding.
//!
//! Byte order follows the kernel (`ip_vs_ctl.c` policies): ports and the
//! tunnel port are `__be16`; the service netmask is a raw `__be32` (an IPv4
//! mask in network order, or for IPv6 the prefix length in host order); all
//! other integers are host order. Addresses are `union nf_inet_addr`
//! (16 bytes, IPv4 in the first 4), which is what ipvsadm sends and what the
//! kernel dumps.

use netlink_packet_core::{
    emit_u16, emit_u32, parse_string, parse_u16, parse_u16_be, parse_u32, parse_u8, DecodeError,
    DefaultNla, ErrorContext, Nla, NlaBuffer, NlasIterator,
};

use super::constants::*;
use super::stats::{parse_stats_nla, StatsNla, StatsWidth};

/// Size of `union nf_inet_addr`.
pub(crate) const INET_ADDR_LEN: usize = 16;

/// Attributes nested in `IPVS_CMD_ATTR_SERVICE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceNla {
    AddressFamily(u16),
    Protocol(u16),
    /// Raw `nf_inet_addr` bytes (4 or 16 accepted; 16 emitted as given).
    Address(Vec<u8>),
    /// Port in host order (emitted big-endian).
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    /// `struct ip_vs_flags`: new flag values and which bits to change.
    Flags {
        flags: u32,
        mask: u32,
    },
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// Raw `__be32` netmask bytes (see module docs).
    Netmask([u8; 4]),
    PeName(String),
    Stats(StatsNla),
    Stats64(StatsNla),
    Other(DefaultNla),
}

/// Attributes nested in `IPVS_CMD_ATTR_DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestNla {
    /// Raw `nf_inet_addr` bytes.
    Address(Vec<u8>),
    /// Port in host order (emitted big-endian).
    Port(u16),
    /// Forwarding method (`IP_VS_CONN_F_*` masked by `IP_VS_CONN_F_FWD_MASK`).
    FwdMethod(u32),
    Weight(u32),
    UpperThreshold(u32),
    LowerThreshold(u32),
    ActiveConns(u32),
    InactiveConns(u32),
    PersistentConns(u32),
    AddressFamily(u16),
    TunnelType(u8),
    /// Tunnel (GUE) port in host order (emitted big-endian).
    TunnelPort(u16),
    TunnelFlags(u16),
    Stats(StatsNla),
    Stats64(StatsNla),
    Other(DefaultNla),
}

/// A string attribute value: the bytes plus the terminating NUL the kernel's
/// `NLA_NUL_STRING` policy requires.
fn string_len(s: &str) -> usize {
    s.len() + 1
}

fn emit_string(buffer: &mut [u8], s: &str) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}

fn emit_address(buffer: &mut [u8], addr: &[u8]) {
    buffer.fill(0);
    buffer[..addr.len()].copy_from_slice(addr);
}

fn parse_address(value: &[u8]) -> Result<Vec<u8>, DecodeError> {
    match value.len() {
        4 | 16 => Ok(value.to_vec()),
        n => Err(DecodeError::from(format!(
            "address attribute has {n} bytes, expected 4 or 16"
        ))),
    }
}

impl Nla for ServiceNla {
    fn value_len(&self) -> usize {
        use ServiceNla::*;
        match self {
            AddressFamily(_) | Protocol(_) | Port(_) => 2,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            Address(a) => a.len(),
            SchedName(s) | PeName(s) => string_len(s),
            Flags { .. } => 8,
            Stats(s) | Stats64(s) => s.value_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use ServiceNla::*;
        match self {
            AddressFamily(_) => IPVS_SVC_ATTR_AF,
            Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Address(_) => IPVS_SVC_ATTR_ADDR,
            Port(_) => IPVS_SVC_ATTR_PORT,
            Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Flags { .. } => IPVS_SVC_ATTR_FLAGS,
            Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Stats(s) | Stats64(s) => s.kind(),
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use ServiceNla::*;
        // The emit_* helpers only fail on a short buffer, which `value_len`
        // rules out; ignore their Result rather than unwrap.
        match self {
            AddressFamily(v) | Protocol(v) => {
                let _ = emit_u16(buffer, *v);
            }
            Port(p) => buffer[..2].copy_from_slice(&p.to_be_bytes()),
            Fwmark(v) | Timeout(v) => {
                let _ = emit_u32(buffer, *v);
            }
            Netmask(raw) => buffer[..4].copy_from_slice(raw),
            Address(a) => emit_address(buffer, a),
            SchedName(s) | PeName(s) => emit_string(buffer, s),
            Flags { flags, mask } => {
                let _ = emit_u32(&mut buffer[..4], *flags);
                let _ = emit_u32(&mut buffer[4..8], *mask);
            }
            Stats(s) | Stats64(s) => s.emit_value(buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl ServiceNla {
    /// Parse one service attribute.
    pub fn parse(buf: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        use ServiceNla::*;
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => AddressFamily(parse_u16(v).context("IPVS_SVC_ATTR_AF")?),
            IPVS_SVC_ATTR_PROTOCOL => Protocol(parse_u16(v).context("IPVS_SVC_ATTR_PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => Address(parse_address(v).context("IPVS_SVC_ATTR_ADDR")?),
            IPVS_SVC_ATTR_PORT => Port(parse_u16_be(v).context("IPVS_SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => Fwmark(parse_u32(v).context("IPVS_SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => {
                SchedName(parse_string(v).context("IPVS_SVC_ATTR_SCHED_NAME")?)
            }
            IPVS_SVC_ATTR_FLAGS => {
                if v.len() != 8 {
                    return Err(DecodeError::from(format!(
                        "IPVS_SVC_ATTR_FLAGS has {} bytes, expected 8",
                        v.len()
                    )));
                }
                Flags {
                    flags: parse_u32(&v[..4])?,
                    mask: parse_u32(&v[4..])?,
                }
            }
            IPVS_SVC_ATTR_TIMEOUT => Timeout(parse_u32(v).context("IPVS_SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => match v {
                [a, b, c, d] => Netmask([*a, *b, *c, *d]),
                _ => {
                    return Err(DecodeError::from(format!(
                        "IPVS_SVC_ATTR_NETMASK has {} bytes, expected 4",
                        v.len()
                    )))
                }
            },
            IPVS_SVC_ATTR_PE_NAME => PeName(parse_string(v).context("IPVS_SVC_ATTR_PE_NAME")?),
            IPVS_SVC_ATTR_STATS => {
                Stats(parse_stats_nla(buf, StatsWidth::Legacy).context("IPVS_SVC_ATTR_STATS")?)
            }
            IPVS_SVC_ATTR_STATS64 => {
                Stats64(parse_stats_nla(buf, StatsWidth::Wide).context("IPVS_SVC_ATTR_STATS64")?)
            }
            _ => Other(DefaultNla::new(buf.kind(), buf.value().to_vec())),
        })
    }

    /// Parse the payload of an `IPVS_CMD_ATTR_SERVICE` nest.
    pub fn parse_nest(payload: &[u8]) -> Result<Vec<Self>, DecodeError> {
        NlasIterator::new(payload)
            .map(|nla| Self::parse(&nla?))
            .collect()
    }
}

impl Nla for DestNla {
    fn value_len(&self) -> usize {
        use DestNla::*;
        match self {
            Port(_) | AddressFamily(_) | TunnelPort(_) | TunnelFlags(_) => 2,
            TunnelType(_) => 1,
            FwdMethod(_) | Weight(_) | UpperThreshold(_) | LowerThreshold(_) | ActiveConns(_)
            | InactiveConns(_) | PersistentConns(_) => 4,
            Address(a) => a.len(),
            Stats(s) | Stats64(s) => s.value_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestNla::*;
        match self {
            Address(_) => IPVS_DEST_ATTR_ADDR,
            Port(_) => IPVS_DEST_ATTR_PORT,
            FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            UpperThreshold(_) => IPVS_DEST_ATTR_U_THRESH,
            LowerThreshold(_) => IPVS_DEST_ATTR_L_THRESH,
            ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            InactiveConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            PersistentConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            AddressFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            TunnelType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            TunnelPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            TunnelFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Stats(s) | Stats64(s) => s.kind(),
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use DestNla::*;
        match self {
            Address(a) => emit_address(buffer, a),
            Port(p) | TunnelPort(p) => buffer[..2].copy_from_slice(&p.to_be_bytes()),
            AddressFamily(v) | TunnelFlags(v) => {
                let _ = emit_u16(buffer, *v);
            }
            TunnelType(v) => buffer[0] = *v,
            FwdMethod(v) | Weight(v) | UpperThreshold(v) | LowerThreshold(v) | ActiveConns(v)
            | InactiveConns(v) | PersistentConns(v) => {
                let _ = emit_u32(buffer, *v);
            }
            Stats(s) | Stats64(s) => s.emit_value(buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl DestNla {
    /// Parse one destination attribute.
    pub fn parse(buf: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        use DestNla::*;
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR => Address(parse_address(v).context("IPVS_DEST_ATTR_ADDR")?),
            IPVS_DEST_ATTR_PORT => Port(parse_u16_be(v).context("IPVS_DEST_ATTR_PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => {
                FwdMethod(parse_u32(v).context("IPVS_DEST_ATTR_FWD_METHOD")?)
            }
            IPVS_DEST_ATTR_WEIGHT => Weight(parse_u32(v).context("IPVS_DEST_ATTR_WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => {
                UpperThreshold(parse_u32(v).context("IPVS_DEST_ATTR_U_THRESH")?)
            }
            IPVS_DEST_ATTR_L_THRESH => {
                LowerThreshold(parse_u32(v).context("IPVS_DEST_ATTR_L_THRESH")?)
            }
            IPVS_DEST_ATTR_ACTIVE_CONNS => {
                ActiveConns(parse_u32(v).context("IPVS_DEST_ATTR_ACTIVE_CONNS")?)
            }
            IPVS_DEST_ATTR_INACT_CONNS => {
                InactiveConns(parse_u32(v).context("IPVS_DEST_ATTR_INACT_CONNS")?)
            }
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                PersistentConns(parse_u32(v).context("IPVS_DEST_ATTR_PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                AddressFamily(parse_u16(v).context("IPVS_DEST_ATTR_ADDR_FAMILY")?)
            }
            IPVS_DEST_ATTR_TUN_TYPE => TunnelType(parse_u8(v).context("IPVS_DEST_ATTR_TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => {
                TunnelPort(parse_u16_be(v).context("IPVS_DEST_ATTR_TUN_PORT")?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS => {
                TunnelFlags(parse_u16(v).context("IPVS_DEST_ATTR_TUN_FLAGS")?)
            }
            IPVS_DEST_ATTR_STATS => {
                Stats(parse_stats_nla(buf, StatsWidth::Legacy).context("IPVS_DEST_ATTR_STATS")?)
            }
            IPVS_DEST_ATTR_STATS64 => {
                Stats64(parse_stats_nla(buf, StatsWidth::Wide).context("IPVS_DEST_ATTR_STATS64")?)
            }
            _ => Other(DefaultNla::new(buf.kind(), buf.value().to_vec())),
        })
    }

    /// Parse the payload of an `IPVS_CMD_ATTR_DEST` nest.
    pub fn parse_nest(payload: &[u8]) -> Result<Vec<Self>, DecodeError> {
        NlasIterator::new(payload)
            .map(|nla| Self::parse(&nla?))
            .collect()
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    /// A nest of attributes, for building test input.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Nest<'a, T> {
        pub kind: u16,
        pub nlas: &'a [T],
    }

    impl<T: Nla> Nla for Nest<'_, T> {
        fn value_len(&self) -> usize {
            self.nlas.buffer_len()
        }
        fn kind(&self) -> u16 {
            self.kind
        }
        fn emit_value(&self, buffer: &mut [u8]) {
            self.nlas.emit(buffer)
        }
    }

    fn emit<T: Nla>(nla: &T) -> Vec<u8> {
        let mut buf = vec![0xaa; nla.buffer_len()];
        nla.emit(&mut buf);
        buf
    }

    #[test]
    fn service_attrs_round_trip() {
        let nlas = vec![
            ServiceNla::AddressFamily(AF_INET6),
            ServiceNla::Protocol(17),
            ServiceNla::Address(vec![0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ServiceNla::Port(53),
            ServiceNla::SchedName("wlc".into()),
            ServiceNla::Flags { flags: 1, mask: !0 },
            ServiceNla::Timeout(300),
            ServiceNla::Netmask(128u32.to_ne_bytes()),
            ServiceNla::PeName("sip".into()),
            ServiceNla::Other(DefaultNla::new(99, vec![1, 2, 3])),
        ];
        let bytes = emit(&Nest {
            kind: IPVS_CMD_ATTR_SERVICE,
            nlas: &nlas,
        });
        let outer = NlaBuffer::new_checked(&bytes[..]).unwrap();
        assert_eq!(ServiceNla::parse_nest(outer.value()).unwrap(), nlas);
    }

    #[test]
    fn dest_attrs_round_trip() {
        let nlas = vec![
            DestNla::AddressFamily(AF_INET),
            DestNla::Address(vec![192, 168, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            DestNla::Port(8080),
            DestNla::FwdMethod(IP_VS_CONN_F_TUNNEL),
            DestNla::Weight(5),
            DestNla::TunnelType(IP_VS_CONN_F_TUNNEL_TYPE_GUE),
            DestNla::TunnelPort(6080),
            DestNla::TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_CSUM),
            DestNla::UpperThreshold(100),
            DestNla::LowerThreshold(10),
            DestNla::ActiveConns(1),
            DestNla::InactiveConns(2),
            DestNla::PersistentConns(3),
        ];
        let bytes = emit(&Nest {
            kind: IPVS_CMD_ATTR_DEST,
            nlas: &nlas,
        });
        let outer = NlaBuffer::new_checked(&bytes[..]).unwrap();
        assert_eq!(DestNla::parse_nest(outer.value()).unwrap(), nlas);
    }

    #[test]
    fn port_is_big_endian_and_string_is_nul_terminated() {
        assert_eq!(emit(&ServiceNla::Port(80)), [6, 0, 4, 0, 0, 80, 0, 0]);
        assert_eq!(
            emit(&ServiceNla::SchedName("rr".into())),
            [7, 0, 6, 0, b'r', b'r', 0, 0]
        );
    }

    #[test]
    fn wrong_sizes_are_errors() {
        // AF with 4 bytes, port with 1 byte, address with 5 bytes, flags with 4
        for bytes in [
            &[8u8, 0, 1, 0, 2, 0, 0, 0][..],
            &[5u8, 0, 4, 0, 1, 0, 0, 0][..],
            &[9u8, 0, 3, 0, 1, 2, 3, 4, 5, 0, 0, 0][..],
            &[8u8, 0, 7, 0, 1, 0, 0, 0][..],
        ] {
            assert!(ServiceNla::parse_nest(bytes).is_err(), "{bytes:?}");
        }
        // length field larger than the buffer
        assert!(DestNla::parse_nest(&[200u8, 0, 1, 0, 1, 2, 3, 4]).is_err());
        // length field smaller than a header
        assert!(DestNla::parse_nest(&[2u8, 0, 1, 0]).is_err());
    }
}
