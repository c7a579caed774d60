//! Async IPVS client: the API the IPVS writer actor calls.

use std::time::Duration;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use serde::Serialize;

use super::dest::{DestKey, Destination, DestinationEntry};
use super::error::{explain, IpvsError, Operation, Subject};
use super::family::{family_id_from_reply, get_family_request, GENL_ID_CTRL};
use super::message::{IpvsAttr, IpvsMessage};
use super::service::{Service, ServiceEntry, ServiceKey};
use super::settings::{SyncDaemon, SyncRole, Timeouts};
use super::transport::{Reply, Transport, TransportError};

/// Default bound on one request (send + complete reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an interrupted dump (table changed while read) is retried.
const DUMP_RETRIES: usize = 3;

/// `IPVS_CMD_GET_INFO` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IpvsInfo {
    /// Version code, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl IpvsInfo {
    /// "1.2.1"
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// A connection to the kernel's IPVS family. One request at a time
/// (`&mut self`); each is bounded by the timeout.
pub struct IpvsClient {
    transport: Transport,
    family_id: u16,
}

impl IpvsClient {
    /// Open a generic-netlink socket and resolve the "IPVS" family.
    /// [`IpvsError::Unavailable`] if the kernel has no IPVS.
    pub async fn connect() -> Result<Self, IpvsError> {
        Self::connect_with_timeout(DEFAULT_TIMEOUT).await
    }

    pub async fn connect_with_timeout(timeout: Duration) -> Result<Self, IpvsError> {
        let mut transport = Transport::open(timeout).map_err(|source| IpvsError::Io {
            op: Operation::Connect,
            subject: Subject::None,
            source,
        })?;
        let seq = transport.next_seq();
        let request = get_family_request(super::constants::IPVS_GENL_NAME, seq, transport.port());
        let op = Operation::ResolveFamily;
        let replies = match transport.exchange(&request, seq, false).await {
            Ok(r) => r,
            Err(TransportError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                return Err(IpvsError::Unavailable)
            }
            Err(e) => return Err(map_transport(op, Subject::None, timeout, e)),
        };
        let reply = replies
            .iter()
            .find(|r| r.message_type == GENL_ID_CTRL)
            .ok_or_else(|| decode_error(op, Subject::None, "no controller reply"))?;
        let family_id =
            family_id_from_reply(&reply.payload).map_err(|e| decode_error(op, Subject::None, e))?;
        Ok(IpvsClient {
            transport,
            family_id,
        })
    }

    /// The resolved family id.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// IPVS version and connection table size.
    pub async fn info(&mut self) -> Result<IpvsInfo, IpvsError> {
        let op = Operation::GetInfo;
        let replies = self
            .request(op, Subject::None, &IpvsMessage::get_info(), false)
            .await?;
        let mut info = None;
        for m in &replies {
            let (mut version, mut size) = (None, None);
            for a in &m.attrs {
                match a {
                    IpvsAttr::InfoVersion(v) => version = Some(*v),
                    IpvsAttr::InfoConnTabSize(v) => size = Some(*v),
                    _ => {}
                }
            }
            if let (Some(version), Some(conn_tab_size)) = (version, size) {
                info = Some(IpvsInfo {
                    version,
                    conn_tab_size,
                });
            }
        }
        info.ok_or_else(|| decode_error(op, Subject::None, "GET_INFO reply without version"))
    }

    /// `ipvsadm -A`. [`IpvsError::is_already_exists`] if present.
    pub async fn add_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        let op = Operation::AddService;
        let subject = Subject::Service(svc.key);
        svc.validate()
            .map_err(|reason| invalid(op, subject, reason))?;
        self.request(op, subject, &IpvsMessage::new_service(svc), false)
            .await
            .map(drop)
    }

    /// `ipvsadm -E`: set scheduler, flags and persistence of an existing
    /// service.
    pub async fn update_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        let op = Operation::UpdateService;
        let subject = Subject::Service(svc.key);
        svc.validate()
            .map_err(|reason| invalid(op, subject, reason))?;
        self.request(op, subject, &IpvsMessage::set_service(svc), false)
            .await
            .map(drop)
    }

    /// `ipvsadm -D` (its destinations go with it).
    pub async fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let subject = Subject::Service(*key);
        self.request(
            Operation::DeleteService,
            subject,
            &IpvsMessage::del_service(key),
            false,
        )
        .await
        .map(drop)
    }

    /// One service, or `None` if the kernel has no such service.
    pub async fn get_service(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Option<ServiceEntry>, IpvsError> {
        let op = Operation::GetService;
        let subject = Subject::Service(*key);
        match self
            .request(op, subject, &IpvsMessage::get_service(key), false)
            .await
        {
            Ok(replies) => Ok(services_of(op, &replies)?.into_iter().next()),
            Err(e) if e.errno() == Some(libc::ESRCH) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every service (`ipvsadm -L`, without destinations).
    pub async fn services(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let op = Operation::ListServices;
        let replies = self
            .dump(op, Subject::None, &IpvsMessage::dump_services())
            .await?;
        services_of(op, &replies)
    }

    /// `ipvsadm -a`. [`IpvsError::is_already_exists`] if present.
    pub async fn add_destination(
        &mut self,
        svc: &ServiceKey,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        let op = Operation::AddDestination;
        let subject = Subject::Destination(*svc, dest.key());
        dest.validate()
            .map_err(|reason| invalid(op, subject, reason))?;
        self.request(op, subject, &IpvsMessage::new_dest(svc, dest), false)
            .await
            .map(drop)
    }

    /// `ipvsadm -e`: change forwarding, weight, thresholds, tunnel.
    pub async fn update_destination(
        &mut self,
        svc: &ServiceKey,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        let op = Operation::UpdateDestination;
        let subject = Subject::Destination(*svc, dest.key());
        dest.validate()
            .map_err(|reason| invalid(op, subject, reason))?;
        self.request(op, subject, &IpvsMessage::set_dest(svc, dest), false)
            .await
            .map(drop)
    }

    /// `ipvsadm -d`.
    pub async fn delete_destination(
        &mut self,
        svc: &ServiceKey,
        dest: &DestKey,
    ) -> Result<(), IpvsError> {
        let subject = Subject::Destination(*svc, *dest);
        self.request(
            Operation::DeleteDestination,
            subject,
            &IpvsMessage::del_dest(svc, dest),
            false,
        )
        .await
        .map(drop)
    }

    /// The destinations of one service. An unknown service yields an empty
    /// list (that is what the kernel's dump does).
    pub async fn destinations(
        &mut self,
        svc: &ServiceKey,
    ) -> Result<Vec<DestinationEntry>, IpvsError> {
        let op = Operation::ListDestinations;
        let subject = Subject::Service(*svc);
        let replies = self
            .dump(op, subject, &IpvsMessage::dump_dests(svc))
            .await?;
        let mut out = Vec::new();
        for m in &replies {
            for nlas in m.dest_nlas() {
                out.push(
                    DestinationEntry::from_nlas(nlas, svc.family())
                        .map_err(|e| decode_error(op, subject, e))?,
                );
            }
        }
        Ok(out)
    }

    /// `ipvsadm -C`: remove every service and destination.
    pub async fn flush(&mut self) -> Result<(), IpvsError> {
        self.request(
            Operation::Flush,
            Subject::None,
            &IpvsMessage::flush(),
            false,
        )
        .await
        .map(drop)
    }

    /// The connection timeouts (`ipvsadm -L --timeout`).
    pub async fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let op = Operation::GetTimeouts;
        let replies = self
            .request(op, Subject::None, &IpvsMessage::get_config(), false)
            .await?;
        replies
            .iter()
            .find_map(IpvsMessage::timeouts)
            .ok_or_else(|| decode_error(op, Subject::None, "GET_CONFIG reply without timeouts"))
    }

    /// `ipvsadm --set TCP TCPFIN UDP` (a 0 leaves that one unchanged).
    pub async fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.request(
            Operation::SetTimeouts,
            Subject::None,
            &IpvsMessage::set_config(t),
            false,
        )
        .await
        .map(drop)
    }

    /// `ipvsadm --start-daemon`. EEXIST if that role already runs.
    pub async fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        let op = Operation::StartDaemon;
        if d.ifname.is_empty() || d.ifname.len() >= super::settings::IP_VS_IFNAME_MAXLEN {
            return Err(invalid(
                op,
                Subject::None,
                format!("sync interface name {:?} is empty or too long", d.ifname),
            ));
        }
        self.request(op, Subject::None, &IpvsMessage::new_daemon(d), false)
            .await
            .map(drop)
    }

    /// `ipvsadm --stop-daemon`. ESRCH if that role is not running.
    pub async fn stop_daemon(&mut self, role: SyncRole) -> Result<(), IpvsError> {
        self.request(
            Operation::StopDaemon,
            Subject::None,
            &IpvsMessage::del_daemon(role),
            false,
        )
        .await
        .map(drop)
    }

    /// The running sync daemons (`ipvsadm -L --daemon`).
    pub async fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let op = Operation::ListDaemons;
        let replies = self
            .dump(op, Subject::None, &IpvsMessage::dump_daemons())
            .await?;
        let mut out = Vec::new();
        for m in &replies {
            for a in &m.attrs {
                if let IpvsAttr::Daemon(nlas) = a {
                    out.push(SyncDaemon::from_nlas(nlas).ok_or_else(|| {
                        decode_error(op, Subject::None, "daemon without state, interface or id")
                    })?);
                }
            }
        }
        Ok(out)
    }

    async fn dump(
        &mut self,
        op: Operation,
        subject: Subject,
        msg: &IpvsMessage,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let mut attempt = 0;
        loop {
            match self.request(op, subject, msg, true).await {
                Err(IpvsError::Decode { reason, .. })
                    if reason == INTERRUPTED && attempt + 1 < DUMP_RETRIES =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn request(
        &mut self,
        op: Operation,
        subject: Subject,
        msg: &IpvsMessage,
        dump: bool,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let seq = self.transport.next_seq();
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let bytes = msg.to_request(self.family_id, flags, seq, self.transport.port());
        let timeout = self.transport.timeout;
        let replies = self
            .transport
            .exchange(&bytes, seq, dump)
            .await
            .map_err(|e| map_transport(op, subject, timeout, e))?;
        replies
            .iter()
            .filter(|r| r.message_type == self.family_id)
            .map(|Reply { payload, .. }| {
                IpvsMessage::from_genl_payload(payload).map_err(|e| decode_error(op, subject, e))
            })
            .collect()
    }
}

const INTERRUPTED: &str = "dump interrupted by concurrent changes";

fn services_of(op: Operation, replies: &[IpvsMessage]) -> Result<Vec<ServiceEntry>, IpvsError> {
    let mut out = Vec::new();
    // Replies are IPVS_CMD_NEW_SERVICE; any message with a service nest counts.
    for m in replies {
        for nlas in m.service_nlas() {
            out.push(
                ServiceEntry::from_nlas(nlas).map_err(|e| decode_error(op, Subject::None, e))?,
            );
        }
    }
    Ok(out)
}

fn invalid(op: Operation, subject: Subject, reason: String) -> IpvsError {
    IpvsError::Invalid {
        op,
        subject,
        reason,
    }
}

fn decode_error(op: Operation, subject: Subject, e: impl std::fmt::Display) -> IpvsError {
    IpvsError::Decode {
        op,
        subject,
        reason: e.to_string(),
    }
}

fn map_transport(
    op: Operation,
    subject: Subject,
    timeout: Duration,
    e: TransportError,
) -> IpvsError {
    match e {
        TransportError::Io(source) => IpvsError::Io {
            op,
            subject,
            source,
        },
        TransportError::Kernel { errno, extack } => IpvsError::Kernel {
            op,
            subject,
            errno,
            reason: explain(op, errno),
            extack,
        },
        TransportError::Timeout => IpvsError::Timeout {
            op,
            subject,
            timeout,
        },
        TransportError::Malformed(reason) => decode_error(op, subject, reason),
        TransportError::DumpInterrupted => decode_error(op, subject, INTERRUPTED),
    }
}
