//! Kernel-wide IPVS settings: the connection timeouts (`IPVS_CMD_SET_CONFIG` /
//! `IPVS_CMD_GET_CONFIG`, what `ipvsadm --set` and `ipvsadm -L --timeout` use) and the
//! connection-synchronisation daemons (`IPVS_CMD_NEW_DAEMON` / `DEL_DAEMON` / `GET_DAEMON`, what
//! `ipvsadm --start-daemon`, `--stop-daemon` and `-L --daemon` use).
//!
//! Byte order: the sync id and state are host-order `u32`; the multicast port is read and
//! dumped by the kernel with `nla_get_be16`/`nla_put_be16`, which copy the bytes without
//! swapping them into a field it uses in host order (`htons(c->mcast_port)`), so it is a
//! host-order `u16` on the wire, as ipvsadm and keepalived send it (seen in the VM: ipvsadm's
//! `--mcast-port 8850` is `92 22`); the IPv4 group is the raw `__be32` address, the interface
//! name a NUL-terminated string.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u16, emit_u32, parse_string, parse_u16, parse_u32, parse_u8, DecodeError, DefaultNla,
    ErrorContext, Nla, NlaBuffer, NlasIterator,
};
use serde::Serialize;

/// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
pub const IP_VS_STATE_MASTER: u32 = 1;
/// See [`IP_VS_STATE_MASTER`].
pub const IP_VS_STATE_BACKUP: u32 = 2;

// Daemon attributes (IPVS_DAEMON_ATTR_*), nested in IPVS_CMD_ATTR_DAEMON.
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

/// Longest sync interface name including the NUL (`IP_VS_IFNAME_MAXLEN`).
pub const IP_VS_IFNAME_MAXLEN: usize = 16;

/// The kernel's connection timeouts, in seconds (0 in a request = leave unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Established TCP connections (`ipvsadm --set TCP ...`; kernel default 900).
    pub tcp: u32,
    /// TCP after the client's FIN (kernel default 120).
    pub tcp_fin: u32,
    /// UDP (kernel default 300).
    pub udp: u32,
}

impl Timeouts {
    /// Each value of `self` that is set (non-zero), the others from `base`.
    pub fn or(self, base: Timeouts) -> Timeouts {
        let pick = |a: u32, b: u32| if a != 0 { a } else { b };
        Timeouts {
            tcp: pick(self.tcp, base.tcp),
            tcp_fin: pick(self.tcp_fin, base.tcp_fin),
            udp: pick(self.udp, base.udp),
        }
    }

    /// Nothing set.
    pub fn is_empty(&self) -> bool {
        self.tcp == 0 && self.tcp_fin == 0 && self.udp == 0
    }
}

/// Master (sends) or backup (receives) sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncRole {
    Master,
    Backup,
}

impl SyncRole {
    /// The `IPVS_DAEMON_ATTR_STATE` value.
    pub fn state(self) -> u32 {
        match self {
            SyncRole::Master => IP_VS_STATE_MASTER,
            SyncRole::Backup => IP_VS_STATE_BACKUP,
        }
    }

    /// "master" / "backup".
    pub fn as_str(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }
}

impl std::fmt::Display for SyncRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One sync daemon's parameters (`ipvsadm --start-daemon ROLE --mcast-interface IF --syncid N
/// [--sync-maxlen N] [--mcast-group A] [--mcast-port N] [--mcast-ttl N]`). Optional values
/// unset (None) take the kernel's defaults (maxlen from the MTU, group 224.0.0.81, port 8848,
/// TTL 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncDaemon {
    pub role: SyncRole,
    /// Multicast interface.
    pub ifname: String,
    /// Sync id (0..=255; 0 = accept any on a backup).
    pub syncid: u32,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults.
    pub fn new(role: SyncRole, ifname: &str, syncid: u32) -> Self {
        SyncDaemon {
            role,
            ifname: ifname.to_string(),
            syncid,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// The attributes of `IPVS_CMD_NEW_DAEMON` (in ipvsadm's order).
    pub fn to_nlas(&self) -> Vec<DaemonNla> {
        let mut v = vec![
            DaemonNla::State(self.role.state()),
            DaemonNla::McastIfn(self.ifname.clone()),
            DaemonNla::SyncId(self.syncid),
        ];
        if let Some(m) = self.maxlen {
            v.push(DaemonNla::SyncMaxlen(m));
        }
        if let Some(p) = self.port {
            v.push(DaemonNla::McastPort(p));
        }
        if let Some(t) = self.ttl {
            v.push(DaemonNla::McastTtl(t));
        }
        match self.group {
            Some(IpAddr::V4(a)) => v.push(DaemonNla::McastGroup(a)),
            Some(IpAddr::V6(a)) => v.push(DaemonNla::McastGroup6(a)),
            None => {}
        }
        v
    }

    /// A `GET_DAEMON` reply nest; `None` when state, interface or sync id is missing.
    pub fn from_nlas(nlas: &[DaemonNla]) -> Option<Self> {
        let (mut role, mut ifname, mut syncid) = (None, None, None);
        let mut d = SyncDaemon::new(SyncRole::Master, "", 0);
        for n in nlas {
            match n {
                DaemonNla::State(IP_VS_STATE_MASTER) => role = Some(SyncRole::Master),
                DaemonNla::State(IP_VS_STATE_BACKUP) => role = Some(SyncRole::Backup),
                DaemonNla::McastIfn(s) => ifname = Some(s.clone()),
                DaemonNla::SyncId(i) => syncid = Some(*i),
                DaemonNla::SyncMaxlen(m) => d.maxlen = Some(*m),
                DaemonNla::McastPort(p) => d.port = Some(*p),
                DaemonNla::McastTtl(t) => d.ttl = Some(*t),
                DaemonNla::McastGroup(a) => d.group = Some(IpAddr::V4(*a)),
                DaemonNla::McastGroup6(a) => d.group = Some(IpAddr::V6(*a)),
                _ => {}
            }
        }
        d.role = role?;
        d.ifname = ifname?;
        d.syncid = syncid?;
        Some(d)
    }

    /// Whether the kernel's daemon `have` runs with our parameters (unset ones are whatever
    /// the kernel chose).
    pub fn matches(&self, have: &SyncDaemon) -> bool {
        fn opt<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.role == have.role
            && self.ifname == have.ifname
            && self.syncid == have.syncid
            && opt(&self.maxlen, &have.maxlen)
            && opt(&self.port, &have.port)
            && opt(&self.ttl, &have.ttl)
            && opt(&self.group, &have.group)
    }
}

/// Attributes nested in `IPVS_CMD_ATTR_DAEMON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonNla {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    /// Port, host order on the wire (see the module docs).
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonNla {
    fn value_len(&self) -> usize {
        use DaemonNla::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => s.len() + 1,
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonNla::*;
        match self {
            State(_) => IPVS_DAEMON_ATTR_STATE,
            McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use DaemonNla::*;
        match self {
            State(v) | SyncId(v) => {
                let _ = emit_u32(buffer, *v);
            }
            McastIfn(s) => {
                buffer[..s.len()].copy_from_slice(s.as_bytes());
                buffer[s.len()] = 0;
            }
            SyncMaxlen(v) | McastPort(v) => {
                let _ = emit_u16(buffer, *v);
            }
            McastGroup(a) => buffer[..4].copy_from_slice(&a.octets()),
            McastGroup6(a) => buffer[..16].copy_from_slice(&a.octets()),
            McastTtl(t) => buffer[0] = *t,
            Other(n) => n.emit_value(buffer),
        }
    }
}

impl DaemonNla {
    fn parse(buf: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => DaemonNla::State(parse_u32(v).context("daemon state")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                DaemonNla::McastIfn(parse_string(v).context("daemon mcast_ifn")?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => DaemonNla::SyncId(parse_u32(v).context("daemon syncid")?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                DaemonNla::SyncMaxlen(parse_u16(v).context("daemon sync_maxlen")?)
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                DaemonNla::McastPort(parse_u16(v).context("daemon mcast_port")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => {
                DaemonNla::McastTtl(parse_u8(v).context("daemon mcast_ttl")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let b: [u8; 4] = v
                    .get(..4)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| DecodeError::from("daemon mcast_group: short"))?;
                DaemonNla::McastGroup(Ipv4Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                let b: [u8; 16] = v
                    .get(..16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| DecodeError::from("daemon mcast_group6: short"))?;
                DaemonNla::McastGroup6(Ipv6Addr::from(b))
            }
            kind => DaemonNla::Other(DefaultNla::new(kind, v.to_vec())),
        })
    }

    /// The attributes of one `IPVS_CMD_ATTR_DAEMON` nest.
    pub fn parse_nest(v: &[u8]) -> Result<Vec<Self>, DecodeError> {
        NlasIterator::new(v)
            .map(|n| DaemonNla::parse(&n?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    #[test]
    fn daemon_nest_round_trips() {
        let mut d = SyncDaemon::new(SyncRole::Backup, "eth1", 7);
        d.maxlen = Some(1400);
        d.port = Some(8850);
        d.ttl = Some(2);
        d.group = Some("ff02::81".parse().unwrap());
        let nlas = d.to_nlas();
        let mut buf = vec![0u8; nlas.as_slice().buffer_len()];
        nlas.as_slice().emit(&mut buf);
        let back = DaemonNla::parse_nest(&buf).unwrap();
        assert_eq!(SyncDaemon::from_nlas(&back), Some(d.clone()));
        assert!(d.matches(&d));
        let plain = SyncDaemon::new(SyncRole::Backup, "eth1", 7);
        assert!(plain.matches(&d), "unset values are the kernel's choice");
        assert!(!d.matches(&plain));
    }

    #[test]
    fn timeouts_fill_from_base() {
        let base = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        let t = Timeouts {
            tcp: 7200,
            ..Timeouts::default()
        };
        assert_eq!(
            t.or(base),
            Timeouts {
                tcp: 7200,
                tcp_fin: 120,
                udp: 300
            }
        );
        assert!(Timeouts::default().is_empty());
    }

    #[test]
    fn garbage_nest_never_panics() {
        let mut g = crate::ipvs::Garbage(0x9e37_79b9);
        for len in 0..120 {
            let _ = DaemonNla::parse_nest(&g.bytes(len));
        }
    }
}
