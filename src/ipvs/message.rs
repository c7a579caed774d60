//! IPVS generic-netlink messages: command + first-level attributes, and the
//! request builders the client uses.

use netlink_packet_core::{
    emit_u32, parse_u32, DecodeError, DefaultNla, Emitable, ErrorContext, NetlinkHeader,
    NetlinkMessage, NetlinkPayload, Nla, NlaBuffer, NlasIterator, ParseableParametrized,
    NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use super::attrs::{DestNla, ServiceNla};
use super::constants::*;
use super::dest::{DestKey, Destination};
use super::service::{Service, ServiceKey};
use super::settings::{DaemonNla, SyncDaemon, SyncRole, Timeouts};

/// IPVS generic-netlink command (`genlmsghdr.cmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    /// Reply to [`IpvsCmd::GetInfo`].
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        use IpvsCmd::*;
        match cmd {
            NewService => IPVS_CMD_NEW_SERVICE,
            SetService => IPVS_CMD_SET_SERVICE,
            DelService => IPVS_CMD_DEL_SERVICE,
            GetService => IPVS_CMD_GET_SERVICE,
            NewDest => IPVS_CMD_NEW_DEST,
            SetDest => IPVS_CMD_SET_DEST,
            DelDest => IPVS_CMD_DEL_DEST,
            GetDest => IPVS_CMD_GET_DEST,
            NewDaemon => IPVS_CMD_NEW_DAEMON,
            DelDaemon => IPVS_CMD_DEL_DAEMON,
            GetDaemon => IPVS_CMD_GET_DAEMON,
            SetConfig => IPVS_CMD_SET_CONFIG,
            GetConfig => IPVS_CMD_GET_CONFIG,
            SetInfo => IPVS_CMD_SET_INFO,
            GetInfo => IPVS_CMD_GET_INFO,
            Zero => IPVS_CMD_ZERO,
            Flush => IPVS_CMD_FLUSH,
            Other(n) => n,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(n: u8) -> Self {
        use IpvsCmd::*;
        match n {
            IPVS_CMD_NEW_SERVICE => NewService,
            IPVS_CMD_SET_SERVICE => SetService,
            IPVS_CMD_DEL_SERVICE => DelService,
            IPVS_CMD_GET_SERVICE => GetService,
            IPVS_CMD_NEW_DEST => NewDest,
            IPVS_CMD_SET_DEST => SetDest,
            IPVS_CMD_DEL_DEST => DelDest,
            IPVS_CMD_GET_DEST => GetDest,
            IPVS_CMD_NEW_DAEMON => NewDaemon,
            IPVS_CMD_DEL_DAEMON => DelDaemon,
            IPVS_CMD_GET_DAEMON => GetDaemon,
            IPVS_CMD_SET_CONFIG => SetConfig,
            IPVS_CMD_GET_CONFIG => GetConfig,
            IPVS_CMD_SET_INFO => SetInfo,
            IPVS_CMD_GET_INFO => GetInfo,
            IPVS_CMD_ZERO => Zero,
            IPVS_CMD_FLUSH => Flush,
            n => Other(n),
        }
    }
}

/// First-level attribute of an IPVS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsAttr {
    Service(Vec<ServiceNla>),
    Dest(Vec<DestNla>),
    /// `IPVS_CMD_ATTR_DAEMON`: one sync daemon.
    Daemon(Vec<DaemonNla>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in [`IpvsCmd::SetInfo`] replies).
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in [`IpvsCmd::SetInfo`] replies).
    InfoConnTabSize(u32),
    /// Anything else, kept raw.
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        use IpvsAttr::*;
        match self {
            Service(nlas) => nlas.as_slice().buffer_len(),
            Dest(nlas) => nlas.as_slice().buffer_len(),
            Daemon(nlas) => nlas.as_slice().buffer_len(),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) | InfoVersion(_)
            | InfoConnTabSize(_) => 4,
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use IpvsAttr::*;
        match self {
            // libnl (ipvsadm) marks nests with NLA_F_NESTED; the kernel's
            // own dumps do not. Either is accepted; we send what ipvsadm
            // sends.
            Service(_) => IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED,
            Dest(_) => IPVS_CMD_ATTR_DEST | NLA_F_NESTED,
            Daemon(_) => IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED,
            TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            InfoConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use IpvsAttr::*;
        match self {
            Service(nlas) => nlas.as_slice().emit(buffer),
            Dest(nlas) => nlas.as_slice().emit(buffer),
            Daemon(nlas) => nlas.as_slice().emit(buffer),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) | InfoVersion(v)
            | InfoConnTabSize(v) => {
                let _ = emit_u32(buffer, *v);
            }
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl IpvsAttr {
    fn parse(buf: &NlaBuffer<&[u8]>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        let v = buf.value();
        if cmd == IpvsCmd::SetInfo {
            return Ok(match buf.kind() {
                IPVS_INFO_ATTR_VERSION => {
                    IpvsAttr::InfoVersion(parse_u32(v).context("IPVS_INFO_ATTR_VERSION")?)
                }
                IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                    IpvsAttr::InfoConnTabSize(parse_u32(v).context("IPVS_INFO_ATTR_CONN_TAB_SIZE")?)
                }
                kind => IpvsAttr::Other(DefaultNla::new(kind, v.to_vec())),
            });
        }
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => {
                IpvsAttr::Service(ServiceNla::parse_nest(v).context("IPVS_CMD_ATTR_SERVICE")?)
            }
            IPVS_CMD_ATTR_DEST => {
                IpvsAttr::Dest(DestNla::parse_nest(v).context("IPVS_CMD_ATTR_DEST")?)
            }
            IPVS_CMD_ATTR_DAEMON => {
                IpvsAttr::Daemon(DaemonNla::parse_nest(v).context("IPVS_CMD_ATTR_DAEMON")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP => {
                IpvsAttr::TimeoutTcp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                IpvsAttr::TimeoutTcpFin(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => {
                IpvsAttr::TimeoutUdp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_UDP")?)
            }
            kind => IpvsAttr::Other(DefaultNla::new(kind, v.to_vec())),
        })
    }
}

/// One IPVS message: command plus attributes (the genl payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<IpvsAttr>,
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        self.cmd.into()
    }
    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let attrs = NlasIterator::new(buf)
            .map(|nla| IpvsAttr::parse(&nla?, cmd))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IpvsMessage { cmd, attrs })
    }
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }

    /// `IPVS_CMD_NEW_SERVICE` with every service attribute.
    pub fn new_service(svc: &Service) -> Self {
        Self::new(IpvsCmd::NewService, vec![IpvsAttr::Service(svc.to_nlas())])
    }
    /// `IPVS_CMD_SET_SERVICE`: replaces scheduler, flags, timeout, netmask.
    pub fn set_service(svc: &Service) -> Self {
        Self::new(IpvsCmd::SetService, vec![IpvsAttr::Service(svc.to_nlas())])
    }
    /// `IPVS_CMD_DEL_SERVICE` (only the key is needed; the kernel ignores
    /// the rest).
    pub fn del_service(key: &ServiceKey) -> Self {
        Self::new(IpvsCmd::DelService, vec![IpvsAttr::Service(key.to_nlas())])
    }
    /// `IPVS_CMD_GET_SERVICE` for one service.
    pub fn get_service(key: &ServiceKey) -> Self {
        Self::new(IpvsCmd::GetService, vec![IpvsAttr::Service(key.to_nlas())])
    }
    /// `IPVS_CMD_GET_SERVICE` to send with `NLM_F_DUMP`: all services.
    pub fn dump_services() -> Self {
        Self::new(IpvsCmd::GetService, vec![])
    }
    /// `IPVS_CMD_NEW_DEST`: the service key, then the destination.
    pub fn new_dest(svc: &ServiceKey, dest: &Destination) -> Self {
        Self::new(
            IpvsCmd::NewDest,
            vec![
                IpvsAttr::Service(svc.to_nlas()),
                IpvsAttr::Dest(dest.to_nlas()),
            ],
        )
    }
    /// `IPVS_CMD_SET_DEST`: replaces forwarding, weight, thresholds.
    pub fn set_dest(svc: &ServiceKey, dest: &Destination) -> Self {
        Self::new(
            IpvsCmd::SetDest,
            vec![
                IpvsAttr::Service(svc.to_nlas()),
                IpvsAttr::Dest(dest.to_nlas()),
            ],
        )
    }
    /// `IPVS_CMD_DEL_DEST`.
    pub fn del_dest(svc: &ServiceKey, dest: &DestKey) -> Self {
        Self::new(
            IpvsCmd::DelDest,
            vec![
                IpvsAttr::Service(svc.to_nlas()),
                IpvsAttr::Dest(dest.to_nlas()),
            ],
        )
    }
    /// `IPVS_CMD_GET_DEST` to send with `NLM_F_DUMP`: the service's
    /// destinations.
    pub fn dump_dests(svc: &ServiceKey) -> Self {
        Self::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(svc.to_nlas())])
    }
    /// `IPVS_CMD_FLUSH`: delete every service and destination.
    pub fn flush() -> Self {
        Self::new(IpvsCmd::Flush, vec![])
    }
    /// `IPVS_CMD_SET_CONFIG` (`ipvsadm --set TCP TCPFIN UDP`): a 0 leaves that timeout as it
    /// is (the kernel skips it).
    pub fn set_config(t: &Timeouts) -> Self {
        Self::new(
            IpvsCmd::SetConfig,
            vec![
                IpvsAttr::TimeoutTcp(t.tcp),
                IpvsAttr::TimeoutTcpFin(t.tcp_fin),
                IpvsAttr::TimeoutUdp(t.udp),
            ],
        )
    }
    /// `IPVS_CMD_GET_CONFIG`: the timeouts (the reply is an `IPVS_CMD_SET_CONFIG`).
    pub fn get_config() -> Self {
        Self::new(IpvsCmd::GetConfig, vec![])
    }
    /// `IPVS_CMD_NEW_DAEMON`: start a sync daemon.
    pub fn new_daemon(d: &SyncDaemon) -> Self {
        Self::new(IpvsCmd::NewDaemon, vec![IpvsAttr::Daemon(d.to_nlas())])
    }
    /// `IPVS_CMD_DEL_DAEMON`: stop the master or backup daemon. The kernel reads only the
    /// state; an empty interface and sync id 0 follow, as ipvsadm sends them.
    pub fn del_daemon(role: SyncRole) -> Self {
        Self::new(
            IpvsCmd::DelDaemon,
            vec![IpvsAttr::Daemon(vec![
                DaemonNla::State(role.state()),
                DaemonNla::McastIfn(String::new()),
                DaemonNla::SyncId(0),
            ])],
        )
    }
    /// `IPVS_CMD_GET_DAEMON` to send with `NLM_F_DUMP`: the running daemons.
    pub fn dump_daemons() -> Self {
        Self::new(IpvsCmd::GetDaemon, vec![])
    }
    /// The timeouts of a `GET_CONFIG` reply.
    pub fn timeouts(&self) -> Option<Timeouts> {
        let mut t = Timeouts::default();
        let mut any = false;
        for a in &self.attrs {
            match a {
                IpvsAttr::TimeoutTcp(v) => t.tcp = *v,
                IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                IpvsAttr::TimeoutUdp(v) => t.udp = *v,
                _ => continue,
            }
            any = true;
        }
        any.then_some(t)
    }
    /// `IPVS_CMD_GET_INFO`: version and connection table size.
    pub fn get_info() -> Self {
        Self::new(IpvsCmd::GetInfo, vec![])
    }

    /// The whole netlink request (nlmsghdr + genlmsghdr + attributes).
    pub fn to_request(&self, family_id: u16, flags: u16, seq: u32, port: u32) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        header.port_number = port;
        let mut genl = GenlMessage::from_payload(self.clone());
        genl.set_resolved_family_id(family_id);
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        buf
    }

    /// Parse the payload of one netlink data message (genlmsghdr +
    /// attributes). Never panics; malformed input is a `DecodeError`.
    pub fn from_genl_payload(payload: &[u8]) -> Result<Self, DecodeError> {
        let header = GenlHeader::parse(payload)?;
        Self::parse_with_param(&payload[4..], header)
    }

    /// The service nests of this message.
    pub fn service_nlas(&self) -> impl Iterator<Item = &[ServiceNla]> {
        self.attrs.iter().filter_map(|a| match a {
            IpvsAttr::Service(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    /// The destination nests of this message.
    pub fn dest_nlas(&self) -> impl Iterator<Item = &[DestNla]> {
        self.attrs.iter().filter_map(|a| match a {
            IpvsAttr::Dest(n) => Some(n.as_slice()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_attrs_depend_on_the_command() {
        // SET_INFO reply: version 1.2.1, table size 4096
        let mut payload = vec![IPVS_CMD_SET_INFO, 1, 0, 0];
        payload.extend_from_slice(&[8, 0, 1, 0, 0x01, 0x02, 0x01, 0x00]);
        payload.extend_from_slice(&[8, 0, 2, 0, 0x00, 0x10, 0x00, 0x00]);
        let msg = IpvsMessage::from_genl_payload(&payload).unwrap();
        assert_eq!(
            msg.attrs,
            vec![
                IpvsAttr::InfoVersion(0x010201),
                IpvsAttr::InfoConnTabSize(4096)
            ]
        );
        // The same bytes under another command are (bad) service/dest nests.
        payload[0] = IPVS_CMD_NEW_SERVICE;
        assert!(IpvsMessage::from_genl_payload(&payload).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        // Deterministic pseudo-random inputs plus every prefix of a valid
        // message: all must return (Ok or Err) without panicking.
        let valid = IpvsMessage::new_dest(
            &ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            &Destination::new(
                "10.0.0.2".parse().unwrap(),
                80,
                super::super::ForwardMethod::Masquerade,
                1,
            ),
        )
        .to_request(0x20, 5, 1, 0);
        for n in 0..valid.len() {
            let _ = IpvsMessage::from_genl_payload(&valid[16..n.max(16)]);
        }
        let mut g = crate::ipvs::Garbage(0x1234_5678);
        for len in 0..200 {
            let _ = IpvsMessage::from_genl_payload(&g.bytes(len));
        }
    }
}
