//! Typed errors of the netlink module.

use std::io;

/// Everything that can go wrong when asking the kernel-resource owner for something.
///
/// Idempotent outcomes ("address already there", "route already gone") are *not* errors: they
/// are reported as [`super::Change::AlreadyPresent`] / [`super::Change::AlreadyAbsent`].
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The named interface does not exist (in this network namespace).
    #[error("no such interface: {0}")]
    NoSuchInterface(String),

    /// The request itself is inconsistent (mixed address families, bad prefix length, ...).
    #[error("invalid request: {0}")]
    Invalid(String),

    /// A link with this name exists but is not the one we were asked to create.
    #[error("interface {name} already exists and does not match: {why}")]
    LinkConflict { name: String, why: String },

    /// The kernel answered with an error we do not treat as idempotent success.
    #[error("kernel refused {op}: {source}")]
    Kernel {
        op: &'static str,
        /// positive errno (`libc::EPERM`, `libc::EINVAL`, ...)
        errno: i32,
        #[source]
        source: io::Error,
    },

    /// The netlink socket could not be opened or used.
    #[error("netlink I/O: {0}")]
    Io(#[from] io::Error),

    /// Something unexpected came back from the kernel / the netlink stack.
    #[error("netlink protocol: {0}")]
    Protocol(String),

    /// The owner task has stopped (shutdown or crash); the request was not executed.
    #[error("netlink owner task is not running")]
    ServiceGone,
}

impl NetlinkError {
    pub(crate) fn kernel(op: &'static str, errno: i32) -> Self {
        NetlinkError::Kernel {
            op,
            errno,
            source: io::Error::from_raw_os_error(errno),
        }
    }

    /// The kernel errno if this is a kernel refusal.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { errno, .. } => Some(*errno),
            NetlinkError::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl From<rtnetlink::Error> for NetlinkError {
    fn from(e: rtnetlink::Error) -> Self {
        match e {
            rtnetlink::Error::NetlinkError(m) => match m.code {
                Some(code) => NetlinkError::kernel("request", -code.get()),
                None => NetlinkError::Protocol("unexpected ACK".into()),
            },
            rtnetlink::Error::RequestFailed => NetlinkError::ServiceGone,
            other => NetlinkError::Protocol(other.to_string()),
        }
    }
}

pub type Result<T, E = NetlinkError> = std::result::Result<T, E>;
