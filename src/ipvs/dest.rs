//! Typed destination (real server): what keepalived's `real_server` becomes.

use std::fmt;
use std::net::IpAddr;

use netlink_packet_core::DecodeError;
use serde::Serialize;

use super::attrs::DestNla;
use super::constants::*;
use super::service::{inet_addr_bytes, inet_addr_from, Family};
use super::stats::Stats;

/// Forwarding method (`lb_kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ForwardMethod {
    /// NAT (`lb_kind NAT`, ipvsadm `-m`, "Masq").
    #[default]
    Masquerade,
    /// Local node (the kernel picks this itself for local addresses).
    Local,
    /// IP tunnelling (`lb_kind TUN`, ipvsadm `-i`, "Tunnel").
    Tunnel,
    /// Direct routing (`lb_kind DR`, ipvsadm `-g`, "Route").
    DirectRoute,
    /// Cache bypass (not settable by ipvsadm).
    Bypass,
}

impl ForwardMethod {
    pub fn to_raw(self) -> u32 {
        match self {
            ForwardMethod::Masquerade => IP_VS_CONN_F_MASQ,
            ForwardMethod::Local => IP_VS_CONN_F_LOCALNODE,
            ForwardMethod::Tunnel => IP_VS_CONN_F_TUNNEL,
            ForwardMethod::DirectRoute => IP_VS_CONN_F_DROUTE,
            ForwardMethod::Bypass => IP_VS_CONN_F_BYPASS,
        }
    }
    pub fn from_raw(raw: u32) -> Result<Self, DecodeError> {
        Ok(match raw & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => ForwardMethod::Masquerade,
            IP_VS_CONN_F_LOCALNODE => ForwardMethod::Local,
            IP_VS_CONN_F_TUNNEL => ForwardMethod::Tunnel,
            IP_VS_CONN_F_DROUTE => ForwardMethod::DirectRoute,
            IP_VS_CONN_F_BYPASS => ForwardMethod::Bypass,
            other => {
                return Err(DecodeError::from(format!(
                    "unknown forwarding method {other}"
                )))
            }
        })
    }
}

impl fmt::Display for ForwardMethod {
    /// ipvsadm's spelling in `-L` output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForwardMethod::Masquerade => "Masq",
            ForwardMethod::Local => "Local",
            ForwardMethod::Tunnel => "Tunnel",
            ForwardMethod::DirectRoute => "Route",
            ForwardMethod::Bypass => "Bypass",
        })
    }
}

/// Encapsulation used by [`ForwardMethod::Tunnel`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum TunnelType {
    #[default]
    Ipip,
    /// Generic UDP Encapsulation; needs [`Tunnel::port`].
    Gue,
    Gre,
    Other(u8),
}

impl TunnelType {
    fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(n) => n,
        }
    }
    fn from_raw(raw: u8) -> Self {
        match raw {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

/// Tunnel parameters (only sent for [`ForwardMethod::Tunnel`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// UDP port for GUE.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` (checksum options, GUE/GRE only).
    pub flags: u16,
}

/// Identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl DestKey {
    pub fn new(addr: IpAddr, port: u16) -> Self {
        DestKey { addr, port }
    }

    /// ADDR_FAMILY, ADDR, PORT: what DEL_DEST needs.
    pub fn to_nlas(&self) -> Vec<DestNla> {
        vec![
            DestNla::AddressFamily(Family::of(&self.addr).to_af()),
            DestNla::Address(inet_addr_bytes(&self.addr)),
            DestNla::Port(self.port),
        ]
    }
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A real server as programmed in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: ForwardMethod,
    /// 0 = quiesced (no new connections). The kernel refuses > i32::MAX.
    pub weight: u32,
    /// Stop scheduling new connections above this many (0 = no limit).
    pub upper_threshold: u32,
    /// Resume scheduling below this many (0 = no limit).
    pub lower_threshold: u32,
    /// Ignored unless `forward` is [`ForwardMethod::Tunnel`].
    pub tunnel: Tunnel,
}

impl Destination {
    pub fn new(addr: IpAddr, port: u16, forward: ForwardMethod, weight: u32) -> Self {
        Destination {
            addr,
            port,
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
        }
    }

    pub fn key(&self) -> DestKey {
        DestKey::new(self.addr, self.port)
    }

    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    pub fn with_tunnel(mut self, tunnel: Tunnel) -> Self {
        self.tunnel = tunnel;
        self
    }

    /// Reasons the kernel would refuse this destination, found before sending.
    pub fn validate(&self) -> Result<(), String> {
        if self.weight > i32::MAX as u32 {
            return Err(format!("weight {} is above {}", self.weight, i32::MAX));
        }
        if self.lower_threshold > self.upper_threshold {
            // The kernel checks this even when the upper threshold is 0.
            return Err(format!(
                "lower threshold {} is above upper threshold {}",
                self.lower_threshold, self.upper_threshold
            ));
        }
        if self.forward == ForwardMethod::Tunnel
            && self.tunnel.kind == TunnelType::Gue
            && self.tunnel.port == 0
        {
            return Err("GUE tunnel needs a port".into());
        }
        Ok(())
    }

    /// Every attribute of a NEW/SET request, byte for byte what ipvsadm
    /// 1.31 sends: the tunnel attributes always go out (zero unless the
    /// method is tunnelling). Kernels before 5.2 ignore them (their parser
    /// drops attributes above its maximum).
    pub fn to_nlas(&self) -> Vec<DestNla> {
        let mut nlas = self.key().to_nlas();
        nlas.push(DestNla::FwdMethod(self.forward.to_raw()));
        nlas.push(DestNla::Weight(self.weight));
        let tunnel = if self.forward == ForwardMethod::Tunnel {
            self.tunnel
        } else {
            Tunnel::default()
        };
        nlas.push(DestNla::TunnelType(tunnel.kind.to_raw()));
        nlas.push(DestNla::TunnelPort(tunnel.port));
        nlas.push(DestNla::TunnelFlags(tunnel.flags));
        nlas.push(DestNla::UpperThreshold(self.upper_threshold));
        nlas.push(DestNla::LowerThreshold(self.lower_threshold));
        nlas
    }
}

/// A destination as dumped by the kernel: configuration plus counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationEntry {
    pub dest: Destination,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: Stats,
}

impl DestinationEntry {
    /// Build from one `IPVS_CMD_ATTR_DEST` nest. `service_family` is used
    /// when the kernel omits `IPVS_DEST_ATTR_ADDR_FAMILY` (before 4.x).
    pub fn from_nlas(nlas: &[DestNla], service_family: Family) -> Result<Self, DecodeError> {
        let mut af = None;
        let mut addr = None;
        let mut port = None;
        let mut fwd = None;
        let mut weight = 0;
        let mut upper = 0;
        let mut lower = 0;
        let mut tunnel = Tunnel::default();
        let mut active = 0;
        let mut inactive = 0;
        let mut persistent = 0;
        let mut stats = None;
        let mut stats64 = None;
        for nla in nlas {
            match nla {
                DestNla::Address(v) => addr = Some(v.as_slice()),
                DestNla::Port(v) => port = Some(*v),
                DestNla::FwdMethod(v) => fwd = Some(*v),
                DestNla::Weight(v) => weight = *v,
                DestNla::UpperThreshold(v) => upper = *v,
                DestNla::LowerThreshold(v) => lower = *v,
                DestNla::ActiveConns(v) => active = *v,
                DestNla::InactiveConns(v) => inactive = *v,
                DestNla::PersistentConns(v) => persistent = *v,
                DestNla::AddressFamily(v) => af = Some(*v),
                DestNla::TunnelType(v) => tunnel.kind = TunnelType::from_raw(*v),
                DestNla::TunnelPort(v) => tunnel.port = *v,
                DestNla::TunnelFlags(v) => tunnel.flags = *v,
                DestNla::Stats(s) => stats = Some(s.stats),
                DestNla::Stats64(s) => stats64 = Some(s.stats),
                DestNla::Other(_) => {}
            }
        }
        let family = match af {
            Some(af) => Family::from_af(af)?,
            None => service_family,
        };
        let forward = ForwardMethod::from_raw(fwd.ok_or("destination without FWD_METHOD")?)?;
        if forward != ForwardMethod::Tunnel {
            // Kernels report zeroed tunnel fields for every destination.
            tunnel = Tunnel::default();
        }
        Ok(DestinationEntry {
            dest: Destination {
                addr: inet_addr_from(family, addr.ok_or("destination without ADDR")?)?,
                port: port.ok_or("destination without PORT")?,
                forward,
                weight,
                upper_threshold: upper,
                lower_threshold: lower,
                tunnel,
            },
            active_conns: active,
            inactive_conns: inactive,
            persistent_conns: persistent,
            stats: stats64.or(stats).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_nlas() {
        let dests = [
            Destination::new(
                "192.168.1.2".parse().unwrap(),
                80,
                ForwardMethod::Masquerade,
                1,
            ),
            Destination::new(
                "192.168.1.3".parse().unwrap(),
                0,
                ForwardMethod::DirectRoute,
                0,
            )
            .with_thresholds(100, 10),
            Destination::new(
                "2001:db8::5".parse().unwrap(),
                443,
                ForwardMethod::Tunnel,
                7,
            ),
            Destination::new("192.168.1.4".parse().unwrap(), 80, ForwardMethod::Tunnel, 2)
                .with_tunnel(Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                }),
            Destination::new("192.168.1.5".parse().unwrap(), 80, ForwardMethod::Tunnel, 2)
                .with_tunnel(Tunnel {
                    kind: TunnelType::Gre,
                    port: 0,
                    flags: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
                }),
        ];
        for d in dests {
            d.validate().unwrap();
            let entry = DestinationEntry::from_nlas(&d.to_nlas(), Family::V4).unwrap();
            assert_eq!(entry.dest, d);
        }
    }

    #[test]
    fn family_falls_back_to_the_service() {
        let nlas = [
            DestNla::Address(vec![0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
            DestNla::Port(80),
            DestNla::FwdMethod(IP_VS_CONN_F_DROUTE),
        ];
        let e = DestinationEntry::from_nlas(&nlas, Family::V6).unwrap();
        assert_eq!(e.dest.addr, "2001:db8::9".parse::<IpAddr>().unwrap());
        assert_eq!(e.dest.forward, ForwardMethod::DirectRoute);
    }

    #[test]
    fn validation() {
        let a: IpAddr = "10.1.1.1".parse().unwrap();
        assert!(Destination::new(a, 1, ForwardMethod::Masquerade, u32::MAX)
            .validate()
            .is_err());
        assert!(Destination::new(a, 1, ForwardMethod::Masquerade, 1)
            .with_thresholds(5, 6)
            .validate()
            .is_err());
        assert!(Destination::new(a, 1, ForwardMethod::Tunnel, 1)
            .with_tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 0,
                flags: 0
            })
            .validate()
            .is_err());
    }

    #[test]
    fn missing_attributes_are_errors() {
        assert!(DestinationEntry::from_nlas(&[], Family::V4).is_err());
        assert!(DestinationEntry::from_nlas(&[DestNla::FwdMethod(7)], Family::V4).is_err());
    }
}
