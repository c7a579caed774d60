//! Typed virtual service: what keepalived's `virtual_server` block becomes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use netlink_packet_core::DecodeError;
use serde::Serialize;

use super::attrs::{ServiceNla, INET_ADDR_LEN};
use super::constants::*;
use super::stats::Stats;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    pub(crate) fn to_af(self) -> u16 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }
    pub(crate) fn from_af(af: u16) -> Result<Self, DecodeError> {
        match af {
            AF_INET => Ok(Family::V4),
            AF_INET6 => Ok(Family::V6),
            other => Err(DecodeError::from(format!("unknown address family {other}"))),
        }
    }
    /// Longest prefix (32 or 128).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// Any other IP protocol number (only seen when decoding).
    Other(u16),
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(n) => n,
        }
    }
    pub fn from_number(n: u16) -> Self {
        match i32::from(n) {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto {n}"),
        }
    }
}

/// How the kernel identifies a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ServiceKey {
    /// `virtual_server IP PORT` with `protocol TCP|UDP|SCTP`.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `virtual_server fwmark N` (the family is part of the key).
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }

    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The attributes that identify the service (what DEL/GET need), in the
    /// order ipvsadm emits them.
    pub fn to_nlas(&self) -> Vec<ServiceNla> {
        let mut nlas = vec![ServiceNla::AddressFamily(self.family().to_af())];
        match self {
            ServiceKey::Fwmark { mark, .. } => nlas.push(ServiceNla::Fwmark(*mark)),
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                nlas.push(ServiceNla::Protocol(protocol.number()));
                nlas.push(ServiceNla::Address(inet_addr_bytes(addr)));
                nlas.push(ServiceNla::Port(*port));
            }
        }
        nlas
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{protocol} {a}:{port}"),
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol} [{a}]:{port}"),
            ServiceKey::Fwmark {
                family: Family::V4,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::V6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// `union nf_inet_addr` bytes for an address (16 bytes, IPv4 first).
pub(crate) fn inet_addr_bytes(addr: &IpAddr) -> Vec<u8> {
    let mut out = vec![0u8; INET_ADDR_LEN];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}

/// Read an address of `family` from `nf_inet_addr` bytes (4 or 16 long).
pub(crate) fn inet_addr_from(family: Family, bytes: &[u8]) -> Result<IpAddr, DecodeError> {
    match (family, bytes.len()) {
        (Family::V4, n) if n >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        (Family::V6, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        (f, n) => Err(DecodeError::from(format!(
            "{n}-byte address for family {f:?}"
        ))),
    }
}

/// Scheduler (`lb_algo`). The kernel loads `ip_vs_<name>.ko` on demand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (the kernel's and keepalived's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
    /// Any other scheduler module name.
    Other(String),
}

impl Scheduler {
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
            Scheduler::Other(s) => s,
        }
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "lblc" => Scheduler::Lblc,
            "lblcr" => Scheduler::Lblcr,
            "dh" => Scheduler::Dh,
            "sh" => Scheduler::Sh,
            "sed" => Scheduler::Sed,
            "nq" => Scheduler::Nq,
            "fo" => Scheduler::Fo,
            "ovf" => Scheduler::Ovf,
            "mh" => Scheduler::Mh,
            "twos" => Scheduler::Twos,
            other => Scheduler::Other(other.to_string()),
        })
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settable service flags other than persistence (which is
/// [`Service::persistence`]). The kernel-internal `HASHED` bit is never
/// part of this set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    pub const NONE: Self = ServiceFlags(0);
    /// One-packet scheduling (`ops`, UDP only).
    pub const ONE_PACKET: Self = ServiceFlags(IP_VS_SVC_F_ONEPACKET);
    pub const SCHED1: Self = ServiceFlags(IP_VS_SVC_F_SCHED1);
    pub const SCHED2: Self = ServiceFlags(IP_VS_SVC_F_SCHED2);
    pub const SCHED3: Self = ServiceFlags(IP_VS_SVC_F_SCHED3);
    /// `sh-fallback` (sh scheduler: skip unavailable servers).
    pub const SH_FALLBACK: Self = Self::SCHED1;
    /// `sh-port` (sh scheduler: hash the source port too).
    pub const SH_PORT: Self = Self::SCHED2;
    /// `mh-fallback` (mh scheduler).
    pub const MH_FALLBACK: Self = Self::SCHED1;
    /// `mh-port` (mh scheduler).
    pub const MH_PORT: Self = Self::SCHED2;

    const SETTABLE: u32 =
        IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

    /// Keep only the bits this type models (drops PERSISTENT and HASHED and
    /// unknown bits).
    pub fn from_bits_truncate(bits: u32) -> Self {
        ServiceFlags(bits & Self::SETTABLE)
    }
    pub fn bits(self) -> u32 {
        self.0
    }
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0
    }
}

/// Client affinity (`persistence_timeout` / `persistence_granularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Persistence {
    /// Seconds a client stays on the same real server.
    pub timeout: u32,
    /// Clients whose addresses share this many leading bits are treated as
    /// one (32/128 = per client address).
    pub prefix_len: u8,
}

/// A virtual service as programmed in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    pub flags: ServiceFlags,
    pub persistence: Option<Persistence>,
    /// Persistence engine (e.g. `sip`), rarely used.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with the given scheduler, no flags, no persistence.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        Service {
            key,
            scheduler,
            flags: ServiceFlags::NONE,
            persistence: None,
            pe_name: None,
        }
    }

    pub fn with_persistence(mut self, timeout: u32, prefix_len: Option<u8>) -> Self {
        self.persistence = Some(Persistence {
            timeout,
            prefix_len: prefix_len.unwrap_or(self.key.family().max_prefix()),
        });
        self
    }

    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Reasons the kernel would refuse this service, found before sending.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.scheduler.name();
        if name.is_empty() || name.len() >= IP_VS_SCHEDNAME_MAXLEN || name.contains('\0') {
            return Err(format!("invalid scheduler name {name:?}"));
        }
        if let Some(pe) = &self.pe_name {
            if pe.is_empty() || pe.len() >= IP_VS_PENAME_MAXLEN || pe.contains('\0') {
                return Err(format!("invalid persistence engine name {pe:?}"));
            }
        }
        if let ServiceKey::Fwmark { mark: 0, .. } = self.key {
            return Err("fwmark 0 does not identify a service".into());
        }
        if let Some(p) = self.persistence {
            let max = self.key.family().max_prefix();
            if p.prefix_len > max || (self.key.family() == Family::V6 && p.prefix_len == 0) {
                return Err(format!(
                    "persistence granularity /{} is out of range for {:?}",
                    p.prefix_len,
                    self.key.family()
                ));
            }
        }
        Ok(())
    }

    /// Netmask attribute bytes: an IPv4 mask in network order, or the IPv6
    /// prefix length in host order (what the kernel reads for each family).
    fn netmask_bytes(&self) -> [u8; 4] {
        let family = self.key.family();
        let prefix = self
            .persistence
            .map(|p| p.prefix_len)
            .unwrap_or(family.max_prefix());
        match family {
            Family::V4 => {
                let prefix = u32::from(prefix.min(32));
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix)
                };
                mask.to_be_bytes()
            }
            Family::V6 => u32::from(prefix.min(128)).to_ne_bytes(),
        }
    }

    /// Every attribute of a NEW/SET request, in ipvsadm's order: key,
    /// scheduler, \[pe\], flags (mask = all bits: the request states the full
    /// flag set), timeout, netmask.
    pub fn to_nlas(&self) -> Vec<ServiceNla> {
        let mut nlas = self.key.to_nlas();
        nlas.push(ServiceNla::SchedName(self.scheduler.name().to_string()));
        if let Some(pe) = &self.pe_name {
            nlas.push(ServiceNla::PeName(pe.clone()));
        }
        let mut flags = self.flags.bits();
        if self.persistence.is_some() {
            flags |= IP_VS_SVC_F_PERSISTENT;
        }
        nlas.push(ServiceNla::Flags { flags, mask: !0 });
        nlas.push(ServiceNla::Timeout(
            self.persistence.map(|p| p.timeout).unwrap_or(0),
        ));
        nlas.push(ServiceNla::Netmask(self.netmask_bytes()));
        nlas
    }
}

/// A service as dumped by the kernel: the configuration plus counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

impl ServiceEntry {
    /// Build from the attributes of one `IPVS_CMD_ATTR_SERVICE` nest.
    /// Missing identifying attributes are errors; missing optional ones
    /// take the kernel's defaults.
    pub fn from_nlas(nlas: &[ServiceNla]) -> Result<Self, DecodeError> {
        let mut af = None;
        let mut protocol = None;
        let mut addr = None;
        let mut port = None;
        let mut fwmark = None;
        let mut sched = None;
        let mut pe_name = None;
        let mut flags = 0u32;
        let mut timeout = 0u32;
        let mut netmask = None;
        let mut stats = None;
        let mut stats64 = None;
        for nla in nlas {
            match nla {
                ServiceNla::AddressFamily(v) => af = Some(*v),
                ServiceNla::Protocol(v) => protocol = Some(*v),
                ServiceNla::Address(v) => addr = Some(v.as_slice()),
                ServiceNla::Port(v) => port = Some(*v),
                ServiceNla::Fwmark(v) => fwmark = Some(*v),
                ServiceNla::SchedName(v) => sched = Some(v.as_str()),
                ServiceNla::PeName(v) => pe_name = Some(v.clone()),
                ServiceNla::Flags { flags: f, .. } => flags = *f,
                ServiceNla::Timeout(v) => timeout = *v,
                ServiceNla::Netmask(v) => netmask = Some(*v),
                ServiceNla::Stats(s) => stats = Some(s.stats),
                ServiceNla::Stats64(s) => stats64 = Some(s.stats),
                ServiceNla::Other(_) => {}
            }
        }
        let family = Family::from_af(af.ok_or("service without IPVS_SVC_ATTR_AF")?)?;
        let key = match fwmark {
            Some(mark) if mark != 0 => ServiceKey::Fwmark { family, mark },
            _ => ServiceKey::Addr {
                protocol: Protocol::from_number(
                    protocol.ok_or("service without IPVS_SVC_ATTR_PROTOCOL")?,
                ),
                addr: inet_addr_from(family, addr.ok_or("service without IPVS_SVC_ATTR_ADDR")?)?,
                port: port.ok_or("service without IPVS_SVC_ATTR_PORT")?,
            },
        };
        let persistence = if flags & IP_VS_SVC_F_PERSISTENT != 0 {
            let prefix_len = match (family, netmask) {
                (_, None) => family.max_prefix(),
                // Non-contiguous IPv4 masks are reported by their leading ones.
                (Family::V4, Some(raw)) => u32::from_be_bytes(raw).leading_ones() as u8,
                (Family::V6, Some(raw)) => u32::from_ne_bytes(raw).min(128) as u8,
            };
            Some(Persistence {
                timeout,
                prefix_len,
            })
        } else {
            None
        };
        let pe_name = pe_name.filter(|s| !s.is_empty());
        Ok(ServiceEntry {
            service: Service {
                key,
                scheduler: sched
                    .ok_or("service without IPVS_SVC_ATTR_SCHED_NAME")?
                    .parse()
                    .unwrap_or_default(),
                flags: ServiceFlags::from_bits_truncate(flags),
                persistence,
                pe_name,
            },
            stats: stats64.or(stats).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_nlas() {
        let services = [
            Service::new(
                ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
                Scheduler::Rr,
            ),
            Service::new(
                ServiceKey::udp("2001:db8::1".parse().unwrap(), 53),
                Scheduler::Wlc,
            )
            .with_persistence(300, Some(64)),
            Service::new(ServiceKey::fwmark(Family::V4, 7), Scheduler::Sh)
                .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
                .with_persistence(60, Some(24)),
            Service::new(ServiceKey::fwmark(Family::V6, 8), Scheduler::Mh),
            Service::new(
                ServiceKey::sctp("10.0.0.2".parse().unwrap(), 9),
                Scheduler::Other("xyz".into()),
            ),
        ];
        for svc in services {
            svc.validate().unwrap();
            let entry = ServiceEntry::from_nlas(&svc.to_nlas()).unwrap();
            assert_eq!(entry.service, svc);
        }
    }

    #[test]
    fn hashed_flag_is_dropped_on_decode() {
        let mut nlas = Service::new(
            ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            Scheduler::Rr,
        )
        .to_nlas();
        for nla in &mut nlas {
            if let ServiceNla::Flags { flags, .. } = nla {
                *flags |= IP_VS_SVC_F_HASHED;
            }
        }
        let entry = ServiceEntry::from_nlas(&nlas).unwrap();
        assert!(entry.service.flags.is_empty());
    }

    #[test]
    fn missing_attributes_are_errors() {
        assert!(ServiceEntry::from_nlas(&[]).is_err());
        assert!(ServiceEntry::from_nlas(&[ServiceNla::AddressFamily(AF_INET)]).is_err());
        assert!(
            ServiceEntry::from_nlas(&[ServiceNla::AddressFamily(99), ServiceNla::Fwmark(1)])
                .is_err()
        );
        // v6 family with a 4-byte address
        assert!(ServiceEntry::from_nlas(&[
            ServiceNla::AddressFamily(AF_INET6),
            ServiceNla::Protocol(6),
            ServiceNla::Address(vec![1, 2, 3, 4]),
            ServiceNla::Port(1),
            ServiceNla::SchedName("rr".into()),
        ])
        .is_err());
    }

    #[test]
    fn validation() {
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        assert!(
            Service::new(key, Scheduler::Other("a-very-long-scheduler".into()))
                .validate()
                .is_err()
        );
        assert!(Service::new(key, Scheduler::Rr)
            .with_persistence(1, Some(33))
            .validate()
            .is_err());
        assert!(
            Service::new(ServiceKey::fwmark(Family::V4, 0), Scheduler::Rr)
                .validate()
                .is_err()
        );
        assert!(
            Service::new(ServiceKey::fwmark(Family::V6, 1), Scheduler::Rr)
                .with_persistence(1, Some(0))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn netmask_encoding_per_family() {
        let v4 = Service::new(
            ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            Scheduler::Rr,
        )
        .with_persistence(300, Some(24));
        assert!(v4
            .to_nlas()
            .contains(&ServiceNla::Netmask([255, 255, 255, 0])));
        let v4_default = Service::new(
            ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            Scheduler::Rr,
        );
        assert!(v4_default
            .to_nlas()
            .contains(&ServiceNla::Netmask([255; 4])));
        let v6 = Service::new(ServiceKey::fwmark(Family::V6, 3), Scheduler::Rr);
        assert!(v6
            .to_nlas()
            .contains(&ServiceNla::Netmask(128u32.to_ne_bytes())));
    }
}
