//! Typed errors of the IPVS client: which operation, on which service or
//! destination, and the kernel's errno.

use std::fmt;
use std::io;
use std::time::Duration;

use super::dest::DestKey;
use super::service::ServiceKey;

/// What the client was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Connect,
    ResolveFamily,
    GetInfo,
    AddService,
    UpdateService,
    DeleteService,
    GetService,
    ListServices,
    AddDestination,
    UpdateDestination,
    DeleteDestination,
    ListDestinations,
    Flush,
    GetTimeouts,
    SetTimeouts,
    StartDaemon,
    StopDaemon,
    ListDaemons,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Connect => "open netlink socket",
            Operation::ResolveFamily => "resolve IPVS family",
            Operation::GetInfo => "get IPVS info",
            Operation::AddService => "add service",
            Operation::UpdateService => "update service",
            Operation::DeleteService => "delete service",
            Operation::GetService => "get service",
            Operation::ListServices => "list services",
            Operation::AddDestination => "add destination",
            Operation::UpdateDestination => "update destination",
            Operation::DeleteDestination => "delete destination",
            Operation::ListDestinations => "list destinations",
            Operation::Flush => "flush",
            Operation::GetTimeouts => "get timeouts",
            Operation::SetTimeouts => "set timeouts",
            Operation::StartDaemon => "start sync daemon",
            Operation::StopDaemon => "stop sync daemon",
            Operation::ListDaemons => "list sync daemons",
        })
    }
}

/// The object an operation concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    None,
    Service(ServiceKey),
    Destination(ServiceKey, DestKey),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::None => Ok(()),
            Subject::Service(s) => write!(f, " {s}"),
            Subject::Destination(s, d) => write!(f, " {d} in {s}"),
        }
    }
}

/// Errors of [`super::IpvsClient`].
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The kernel has no "IPVS" generic-netlink family.
    #[error(
        "IPVS is not available: no \"IPVS\" generic netlink family \
         (load the ip_vs module; the kernel may lack CONFIG_IP_VS)"
    )]
    Unavailable,

    /// The kernel refused the request.
    #[error("{op}{subject}: {reason} (errno {errno}{})", extack.as_deref().map(|m| format!(", kernel says: {m}")).unwrap_or_default())]
    Kernel {
        op: Operation,
        subject: Subject,
        /// Positive errno (`libc::EEXIST`, ...).
        errno: i32,
        /// What this errno means for this operation (ipvsadm-style).
        reason: String,
        /// Extended-ACK message, when the kernel sent one.
        extack: Option<String>,
    },

    /// Rejected before sending: the kernel would refuse it.
    #[error("{op}{subject}: invalid request: {reason}")]
    Invalid {
        op: Operation,
        subject: Subject,
        reason: String,
    },

    /// A reply could not be decoded.
    #[error("{op}{subject}: malformed reply from the kernel: {reason}")]
    Decode {
        op: Operation,
        subject: Subject,
        reason: String,
    },

    /// No complete reply in time.
    #[error("{op}{subject}: no reply from the kernel within {timeout:?}")]
    Timeout {
        op: Operation,
        subject: Subject,
        timeout: Duration,
    },

    /// Socket-level failure.
    #[error("{op}{subject}: netlink socket: {source}")]
    Io {
        op: Operation,
        subject: Subject,
        #[source]
        source: io::Error,
    },
}

impl IpvsError {
    /// The kernel errno, for [`IpvsError::Kernel`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The object was already there (add of an existing service/destination).
    pub fn is_already_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// The service (`ESRCH`) or destination (`ENOENT` on dest operations)
    /// does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            IpvsError::Kernel { op, errno, .. } => {
                *errno == libc::ESRCH
                    || (*errno == libc::ENOENT
                        && matches!(
                            op,
                            Operation::UpdateDestination | Operation::DeleteDestination
                        ))
            }
            _ => false,
        }
    }

    /// Which service / destination the failed operation concerned.
    pub fn subject(&self) -> Subject {
        match self {
            IpvsError::Unavailable => Subject::None,
            IpvsError::Kernel { subject, .. }
            | IpvsError::Invalid { subject, .. }
            | IpvsError::Decode { subject, .. }
            | IpvsError::Timeout { subject, .. }
            | IpvsError::Io { subject, .. } => *subject,
        }
    }
}

/// What an errno means for an operation, following the kernel's use of
/// errnos in `ip_vs_ctl.c` (the same table ipvsadm prints from).
pub(crate) fn explain(op: Operation, errno: i32) -> String {
    use Operation::*;
    let specific = match (op, errno) {
        (_, libc::EPERM) => Some("permission denied (CAP_NET_ADMIN is required)"),
        (_, libc::EAFNOSUPPORT) => Some("address family not supported by IPVS"),
        (AddService, libc::EEXIST) => Some("service already exists"),
        (AddService | UpdateService, libc::ENOENT) => {
            Some("scheduler or persistence engine not found")
        }
        (AddService | UpdateService, libc::EINVAL) => Some("invalid service parameters"),
        (StartDaemon, libc::EEXIST) => Some("sync daemon already running"),
        (StartDaemon, libc::ENODEV) => Some("no such sync interface"),
        (StartDaemon, libc::EINVAL) => {
            Some("invalid sync daemon parameters (or services with mixed address families)")
        }
        (StopDaemon, libc::ESRCH) => Some("no sync daemon running"),
        (_, libc::ESRCH) => Some("no such service"),
        (AddDestination, libc::EEXIST) => Some("destination already exists"),
        (UpdateDestination | DeleteDestination, libc::ENOENT) => Some("no such destination"),
        (AddDestination | UpdateDestination, libc::ERANGE) => {
            Some("weight or thresholds out of range")
        }
        (AddDestination | UpdateDestination, libc::EINVAL) => {
            Some("invalid destination (address not unicast, or parameters refused)")
        }
        _ => None,
    };
    match specific {
        Some(s) => s.to_string(),
        None => io::Error::from_raw_os_error(errno)
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_subject_and_errno() {
        let svc = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        let e = IpvsError::Kernel {
            op: Operation::AddDestination,
            subject: Subject::Destination(svc, DestKey::new("10.0.0.2".parse().unwrap(), 8080)),
            errno: libc::EEXIST,
            reason: explain(Operation::AddDestination, libc::EEXIST),
            extack: None,
        };
        assert_eq!(
            e.to_string(),
            "add destination 10.0.0.2:8080 in TCP 10.0.0.1:80: destination already exists (errno 17)"
        );
        assert!(e.is_already_exists());
        assert!(!e.is_not_found());
        assert_eq!(
            explain(Operation::Flush, libc::ENOMEM),
            "Cannot allocate memory"
        );
    }
}
