//! systemd's service notification protocol (sd_notify(3)), without libsystemd: one datagram
//! per message to the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the
//! abstract namespace), newline-separated `KEY=VALUE` assignments.
//!
//! What the daemon sends (with `Type=notify` in its unit, `config/keepalived-rs.service`):
//! - [`READY`] once every object is started;
//! - [`reloading`] (`RELOADING=1` + `MONOTONIC_USEC=`) when a reload begins and [`READY`] when
//!   it is done (applied or rejected);
//! - [`STOPPING`] when a shutdown begins;
//! - [`WATCHDOG`] every `$WATCHDOG_USEC / 2` (see [`watchdog_interval`]) while the actor
//!   system answers (the daemon's heartbeat, not a free-running timer).
//!
//! Without `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::time::Duration;

/// `READY=1`.
pub const READY: &str = "READY=1";
/// `STOPPING=1`.
pub const STOPPING: &str = "STOPPING=1";
/// `WATCHDOG=1`.
pub const WATCHDOG: &str = "WATCHDOG=1";

/// Where notifications go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(PathBuf),
    /// An abstract-namespace socket (`@name`; the name without the `@`).
    Abstract(Vec<u8>),
}

/// A `$NOTIFY_SOCKET` value we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifySocketError {
    /// Empty.
    #[error("NOTIFY_SOCKET is empty")]
    Empty,
    /// Neither an absolute path nor `@name` (e.g. systemd's `vsock:`).
    #[error("NOTIFY_SOCKET {0:?} is neither an absolute path nor @abstract")]
    Unsupported(String),
}

/// Parses `$NOTIFY_SOCKET`.
pub fn parse_notify_socket(v: &str) -> Result<NotifyTarget, NotifySocketError> {
    if v.is_empty() {
        return Err(NotifySocketError::Empty);
    }
    if let Some(name) = v.strip_prefix('@') {
        return Ok(NotifyTarget::Abstract(name.as_bytes().to_vec()));
    }
    if v.starts_with('/') {
        return Ok(NotifyTarget::Path(PathBuf::from(v)));
    }
    Err(NotifySocketError::Unsupported(v.to_string()))
}

/// The watchdog ping interval: half of `$WATCHDOG_USEC`, and only when `$WATCHDOG_PID` is
/// unset or names us (`me`).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(p) = pid {
        if p.trim().parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// `RELOADING=1` with the `CLOCK_MONOTONIC` time systemd requires (`Type=notify-reload`).
pub fn reloading(monotonic_usec: u64) -> String {
    format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}")
}

/// Now on `CLOCK_MONOTONIC`, in microseconds.
pub fn monotonic_usec() -> u64 {
    crate::sys::time::monotonic_usec()
}

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct SdNotify {
    sock: UnixDatagram,
    addr: SocketAddr,
}

impl SdNotify {
    /// From `$NOTIFY_SOCKET`; `None` when unset. A bad value is an error (the caller logs it).
    pub fn from_env() -> io::Result<Option<Self>> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(v) => Self::new(&v).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// For a `$NOTIFY_SOCKET` value.
    pub fn new(value: &str) -> io::Result<Self> {
        let target = parse_notify_socket(value)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let addr = match target {
            NotifyTarget::Path(p) => SocketAddr::from_pathname(p)?,
            NotifyTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)?
            }
        };
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        Ok(SdNotify { sock, addr })
    }

    /// Sends one notification (never blocks: a full socket drops it).
    pub fn send(&self, msg: &str) -> io::Result<()> {
        self.sock
            .send_to_addr(msg.as_bytes(), &self.addr)
            .map(|_| ())
    }

    /// Sends and logs a failure at debug level (systemd may be gone at shutdown).
    pub fn notify(&self, msg: &str) {
        if let Err(e) = self.send(msg) {
            tracing::debug!("sd_notify {msg:?}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_socket_values() {
        assert_eq!(
            parse_notify_socket("/run/systemd/notify"),
            Ok(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            parse_notify_socket("@/org/freedesktop/systemd1/notify/123"),
            Ok(NotifyTarget::Abstract(
                b"/org/freedesktop/systemd1/notify/123".to_vec()
            ))
        );
        assert_eq!(parse_notify_socket(""), Err(NotifySocketError::Empty));
        assert!(matches!(
            parse_notify_socket("vsock:2:1234"),
            Err(NotifySocketError::Unsupported(_))
        ));
    }

    #[test]
    fn watchdog_half_interval_for_us_only() {
        let me = 4242;
        assert_eq!(
            watchdog_interval(Some("2000000"), None, me),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            watchdog_interval(Some("2000000"), Some("4242"), me),
            Some(Duration::from_secs(1))
        );
        assert_eq!(watchdog_interval(Some("2000000"), Some("1"), me), None);
        assert_eq!(watchdog_interval(Some("0"), None, me), None);
        assert_eq!(watchdog_interval(Some("soon"), None, me), None);
        assert_eq!(watchdog_interval(None, None, me), None);
    }

    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let a = monotonic_usec();
        let b = monotonic_usec();
        assert!(a > 0 && b >= a);
        assert_eq!(reloading(17), "RELOADING=1\nMONOTONIC_USEC=17");
    }

    #[test]
    fn datagrams_reach_path_and_abstract_sockets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("notify");
        let rx = UnixDatagram::bind(&p).unwrap();
        SdNotify::new(p.to_str().unwrap())
            .unwrap()
            .send(READY)
            .unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("keepalived-rs-test-{}", std::process::id());
        let arx =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        SdNotify::new(&format!("@{name}"))
            .unwrap()
            .send(STOPPING)
            .unwrap();
        let n = arx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
