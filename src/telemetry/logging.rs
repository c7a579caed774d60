//! Structured logs (tracing) to stderr and/or syslog with keepalived's `-S` facility.

use super::otel::Otel;
use std::ffi::CString;
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
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(log_filter(opts))
    });
    let syslog = if opts.no_syslog {
        None
    } else {
        Some(SyslogLayer::new(facility(opts.facility.as_deref())?).with_filter(log_filter(opts)))
    };
    let otel = otel.map(|o| o.layer());
    let _ = tracing_subscriber::registry()
        .with(otel)
        .with(console)
        .with(syslog)
        .try_init();
    Ok(())
}

/// A tracing layer that writes one syslog line per event.
pub struct SyslogLayer;

impl SyslogLayer {
    /// Opens syslog with ident "Keepalived_rs" and `facility`.
    pub fn new(facility: libc::c_int) -> Self {
        static IDENT: &[u8] = b"Keepalived_rs\0";
        // SAFETY: IDENT is a static NUL-terminated string that outlives every syslog call.
        unsafe {
            libc::openlog(
                IDENT.as_ptr().cast(),
                libc::LOG_PID | libc::LOG_NDELAY,
                facility,
            )
        };
        SyslogLayer
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
        let prio = match *event.metadata().level() {
            Level::ERROR => libc::LOG_ERR,
            Level::WARN => libc::LOG_WARNING,
            Level::INFO => libc::LOG_INFO,
            _ => libc::LOG_DEBUG,
        };
        let mut line = Line(String::new());
        event.record(&mut line);
        if let Ok(msg) = CString::new(line.0.replace('\0', " ")) {
            // SAFETY: both format and message are valid NUL-terminated strings.
            unsafe { libc::syslog(prio, c"%s".as_ptr(), msg.as_ptr()) };
        }
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
}
