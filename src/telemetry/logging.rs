//! Structured logs (tracing) to stderr and/or syslog with keepalived's `-S` facility, and to
//! keepalived's `-g` log file.

use super::otel::Otel;
use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Where and how much to log.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// `-l`: log to stderr.
    pub console: bool,
    /// `-D`: debug detail.
    pub detail: bool,
    /// `-G`: no syslog.
    pub no_syslog: bool,
    /// `-S`: syslog facility.
    pub facility: Option<String>,
    /// The syslog socket (None: `$KEEPALIVED_RS_SYSLOG_SOCKET` or `/dev/log`).
    pub syslog_socket: Option<std::path::PathBuf>,
    /// The OTLP endpoint of the daemon's settings (`OTEL_EXPORTER_OTLP_*ENDPOINT` win).
    pub otlp_endpoint: Option<String>,
}

/// Parses keepalived's facility names: 0-7 (local0-7), `localN`, `user`, `daemon`.
pub fn facility(name: Option<&str>) -> Result<libc::c_int, String> {
    let Some(name) = name else {
        return Ok(libc::LOG_DAEMON);
    };
    let local = |n: u8| match n {
        0 => libc::LOG_LOCAL0,
        1 => libc::LOG_LOCAL1,
        2 => libc::LOG_LOCAL2,
        3 => libc::LOG_LOCAL3,
        4 => libc::LOG_LOCAL4,
        5 => libc::LOG_LOCAL5,
        6 => libc::LOG_LOCAL6,
        _ => libc::LOG_LOCAL7,
    };
    match name {
        "user" => Ok(libc::LOG_USER),
        "daemon" => Ok(libc::LOG_DAEMON),
        n => {
            let digits = n.strip_prefix("local").unwrap_or(n);
            match digits.parse::<u8>() {
                Ok(v) if v <= 7 => Ok(local(v)),
                _ => Err(format!(
                    "invalid log facility '{name}' (0-7, local0-7, user, daemon)"
                )),
            }
        }
    }
}

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(opts: &LogOptions) -> Result<(), String> {
    init_with(opts, None)
}

/// The filter of the console and syslog layers: `KEEPALIVED_RS_LOG` or info/debug (`-D`).
fn log_filter(opts: &LogOptions) -> EnvFilter {
    let default = if opts.detail { "debug" } else { "info" };
    EnvFilter::try_from_env("KEEPALIVED_RS_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Like [`init`], plus the OpenTelemetry layer of `otel`. Each layer has its own filter, so
/// `KEEPALIVED_RS_LOG=warn` quiets the logs without losing transition spans.
pub fn init_with(opts: &LogOptions, otel: Option<&Otel>) -> Result<(), String> {
    let console = (opts.console || opts.no_syslog).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .event_format(PlainLine)
            .with_filter(log_filter(opts))
    });
    let syslog = if opts.no_syslog {
        None
    } else {
        let facility = facility(opts.facility.as_deref())?;
        let layer = match &opts.syslog_socket {
            Some(p) => SyslogLayer::with_path(facility, p.clone()),
            None => SyslogLayer::new(facility),
        };
        Some(layer.with_filter(log_filter(opts)))
    };
    let otel = otel.map(|o| o.layer());
    let file = LOG_FILE
        .get()
        .map(|f| FileLayer(f.clone()).with_filter(log_filter(opts)));
    let _ = tracing_subscriber::registry()
        .with(otel)
        .with(console)
        .with(syslog)
        .with(file)
        .try_init();
    Ok(())
}

/// The `-g` log file, opened before [`init`] (which then logs to it too).
static LOG_FILE: std::sync::OnceLock<std::sync::Arc<std::fs::File>> = std::sync::OnceLock::new();

/// keepalived's `-g` file name: a relative `name` is in `tmp`; with a network namespace
/// `_NAMESPACE` goes before the extension (`keepalived.log` -> `/tmp/keepalived_ns1.log`).
pub fn log_file_path(
    name: &str,
    tmp: &std::path::Path,
    namespace: Option<&str>,
) -> std::path::PathBuf {
    let name = if name.is_empty() {
        "keepalived.log"
    } else {
        name
    };
    let full = if name.starts_with('/') {
        std::path::PathBuf::from(name)
    } else {
        tmp.join(name)
    };
    let Some(ns) = namespace else {
        return full;
    };
    let file = full
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let renamed = match file.rfind('.') {
        Some(dot) => format!("{}_{ns}{}", &file[..dot], &file[dot..]),
        None => format!("{file}_{ns}"),
    };
    full.with_file_name(renamed)
}

/// Opens the `-g` log file for appending (created `0666 & !umask` as keepalived, never
/// through a symlink); every line is written at once (keepalived's `--flush-log-file`).
pub fn open_log_file(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("Unable to open '{}': {e}", path.display()))?;
    let _ = LOG_FILE.set(std::sync::Arc::new(f));
    Ok(())
}

/// keepalived's log file line: `Mon Dec 07 05:30:00.123456789 2026: message`.
pub fn format_file_line(ts: &str, msg: &str) -> String {
    format!("{ts}: {msg}\n")
}

fn file_timestamp() -> String {
    const DAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let Some(tm) = crate::sys::time::local(now.as_secs() as i64) else {
        return String::new();
    };
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:09} {}",
        DAY[tm.tm_wday.clamp(0, 6) as usize],
        MO[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_nanos(),
        tm.tm_year + 1900
    )
}

/// Writes every event to the `-g` file, one `write(2)` per line.
struct FileLayer(std::sync::Arc<std::fs::File>);

impl<S: Subscriber> Layer<S> for FileLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        use std::io::Write;
        let mut line = Line(String::new());
        event.record(&mut line);
        let _ = (&*self.0).write_all(format_file_line(&file_timestamp(), &line.0).as_bytes());
    }
}

/// The console format: `TIME LEVEL message fields`, one line per event, without the
/// enclosing spans' fields (a transition's span carries its words as attributes for OTLP;
/// printing them again would bury the message).
struct PlainLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        use tracing_subscriber::fmt::time::FormatTime;
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut w)?;
        write!(w, " {:>5} ", event.metadata().level())?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Overrides the syslog socket (default `/dev/log`, where journald or the syslog daemon
/// listens): for containers without `/dev/log` and for tests.
pub const SYSLOG_SOCKET_ENV: &str = "KEEPALIVED_RS_SYSLOG_SOCKET";

/// The syslog ident (keepalived uses `Keepalived_vrrp` & co).
pub const IDENT: &str = "Keepalived_rs";

/// The syslog ident under `-s NAME`: keepalived appends `_NAME` to its ident.
static NAMESPACE_IDENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Logs to syslog as `Keepalived_rs_NAME` (call before [`init`]).
pub fn set_namespace(name: &str) {
    let _ = NAMESPACE_IDENT.set(format!("{IDENT}_{name}"));
}

/// One syslog datagram as glibc's `syslog(3)` writes it (RFC 3164):
/// `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE`, PRI = facility | severity.
pub fn format_syslog(
    ident: &str,
    facility: libc::c_int,
    severity: libc::c_int,
    timestamp: &str,
    pid: u32,
    msg: &str,
) -> String {
    format!(
        "<{}>{timestamp} {ident}[{pid}]: {}",
        facility | severity,
        msg.replace('\0', " ")
    )
}

/// RFC 3164's timestamp (`Dec  2 00:16:02`) from broken-down local time fields.
pub fn rfc3164_time(month0: i32, mday: i32, hour: i32, min: i32, sec: i32) -> String {
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {mday:>2} {hour:02}:{min:02}:{sec:02}",
        MO[month0.clamp(0, 11) as usize]
    )
}

fn local_timestamp() -> String {
    match crate::sys::time::local(crate::sys::time::now_secs()) {
        Some(tm) => rfc3164_time(tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec),
        None => rfc3164_time(0, 1, 0, 0, 0),
    }
}

/// A tracing layer that sends one syslog line per event to the syslog socket, with the
/// `-S` facility. Our own client rather than libc's `syslog(3)`: sending never blocks (a full
/// socket drops the line instead of stalling, say, the VRRP thread), and the socket can be
/// chosen ([`SYSLOG_SOCKET_ENV`]). A stream-only socket gets NUL-terminated lines, as glibc.
pub struct SyslogLayer {
    facility: libc::c_int,
    path: std::path::PathBuf,
    dgram: Option<std::os::unix::net::UnixDatagram>,
    stream: std::sync::Mutex<Option<std::os::unix::net::UnixStream>>,
    pid: u32,
    ident: String,
}

impl SyslogLayer {
    /// Logs to `$KEEPALIVED_RS_SYSLOG_SOCKET` or `/dev/log` with `facility`.
    pub fn new(facility: libc::c_int) -> Self {
        let path = std::env::var_os(SYSLOG_SOCKET_ENV)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/dev/log".into());
        Self::with_path(facility, path)
    }

    /// Logs to the socket at `path`.
    pub fn with_path(facility: libc::c_int, path: std::path::PathBuf) -> Self {
        let dgram = std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        SyslogLayer {
            facility,
            path,
            dgram,
            stream: std::sync::Mutex::new(None),
            pid: std::process::id(),
            ident: NAMESPACE_IDENT
                .get()
                .cloned()
                .unwrap_or_else(|| IDENT.to_string()),
        }
    }

    fn send(&self, line: &str) {
        if let Some(d) = &self.dgram {
            match d.send_to(line.as_bytes(), &self.path) {
                Ok(_) => return,
                // A SOCK_STREAM syslog socket: fall back to a connection, as glibc does.
                Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {}
                Err(_) => return,
            }
        }
        let Ok(mut guard) = self.stream.lock() else {
            return;
        };
        if guard.is_none() {
            *guard = std::os::unix::net::UnixStream::connect(&self.path)
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .ok();
        }
        if let Some(s) = guard.as_mut() {
            use std::io::Write;
            let mut bytes = line.as_bytes().to_vec();
            bytes.push(0);
            if s.write_all(&bytes).is_err() {
                *guard = None;
            }
        }
    }
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let severity = match *event.metadata().level() {
            Level::ERROR => libc::LOG_ERR,
            Level::WARN => libc::LOG_WARNING,
            Level::INFO => libc::LOG_INFO,
            _ => libc::LOG_DEBUG,
        };
        let mut line = Line(String::new());
        event.record(&mut line);
        self.send(&format_syslog(
            &self.ident,
            self.facility,
            severity,
            &local_timestamp(),
            self.pid,
            &line.0,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::facility;

    #[test]
    fn facilities() {
        assert_eq!(facility(None), Ok(libc::LOG_DAEMON));
        assert_eq!(facility(Some("7")), Ok(libc::LOG_LOCAL7));
        assert_eq!(facility(Some("local3")), Ok(libc::LOG_LOCAL3));
        assert_eq!(facility(Some("user")), Ok(libc::LOG_USER));
        assert!(facility(Some("local9")).is_err());
    }

    #[test]
    fn log_file_names_like_keepalived() {
        use super::log_file_path;
        use std::path::{Path, PathBuf};
        let tmp = Path::new("/tmp");
        assert_eq!(
            log_file_path("", tmp, None),
            PathBuf::from("/tmp/keepalived.log")
        );
        assert_eq!(
            log_file_path("ka.log", tmp, None),
            PathBuf::from("/tmp/ka.log")
        );
        assert_eq!(
            log_file_path("/var/log/k.log", tmp, None),
            PathBuf::from("/var/log/k.log")
        );
        assert_eq!(
            log_file_path("", tmp, Some("blue")),
            PathBuf::from("/tmp/keepalived_blue.log")
        );
        assert_eq!(
            log_file_path("/a.b/klog", tmp, Some("n")),
            PathBuf::from("/a.b/klog_n")
        );
    }

    #[test]
    fn syslog_lines_like_glibc() {
        use super::{format_syslog, rfc3164_time, IDENT};
        let ts = rfc3164_time(11, 2, 0, 16, 2);
        assert_eq!(ts, "Dec  2 00:16:02");
        // local3 (19 << 3) | info (6) = 158
        assert_eq!(
            format_syslog(
                IDENT,
                libc::LOG_LOCAL3,
                libc::LOG_INFO,
                &ts,
                42,
                "hello\0world"
            ),
            "<158>Dec  2 00:16:02 Keepalived_rs[42]: hello world"
        );
        assert_eq!(
            format_syslog(IDENT, libc::LOG_DAEMON, libc::LOG_ERR, &ts, 1, "x"),
            "<27>Dec  2 00:16:02 Keepalived_rs[1]: x"
        );
        assert_eq!(
            super::format_syslog(
                "Keepalived_rs_blue",
                libc::LOG_DAEMON,
                libc::LOG_ERR,
                &ts,
                1,
                "x"
            ),
            "<27>Dec  2 00:16:02 Keepalived_rs_blue[1]: x"
        );
    }

    #[test]
    fn events_reach_the_socket_with_the_facility() {
        use tracing_subscriber::layer::SubscriberExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        let rx = std::os::unix::net::UnixDatagram::bind(&p).unwrap();
        let layer = super::SyslogLayer::with_path(libc::LOG_LOCAL5, p);
        let sub = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(sub, || tracing::warn!("track {} failed", "chk"));
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]);
        // local5 (21 << 3) | warning (4) = 172
        assert!(got.starts_with("<172>"), "{got}");
        assert!(got.ends_with("]: track chk failed"), "{got}");
    }
}
