//! keepalived's command line, so existing systemd units and scripts keep working.

use crate::config::{self, LoadOptions};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// Exit codes (keepalived's where it has one).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Fatal runtime error.
    pub const FATAL: i32 = 1;
    /// The configuration is invalid (daemon start).
    pub const CONFIG: i32 = 2;
    /// `-t`: the configuration file could not be read.
    pub const TEST_NO_FILE: i32 = 4;
    /// `-t`: the configuration has errors.
    pub const TEST_ERRORS: i32 = 5;
}

/// keepalived-rs: VRRP, LVS health checking and BFD, configured by keepalived.conf.
#[derive(Parser, Debug, Clone)]
#[command(name = "keepalived-rs", disable_version_flag = true, about, long_about = None)]
pub struct Args {
    /// Use the specified configuration file.
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub use_file: PathBuf,
    /// Only run the VRRP subsystem.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    /// Only run the health-checker (LVS) subsystem.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Do not run the BFD subsystem.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Run all subsystems even if they have no configuration.
    #[arg(long = "all")]
    pub all: bool,
    /// Log messages to the console (stderr).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility: 0-7, local0-7, user or daemon.
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,
    /// Also log to this file.
    #[arg(short = 'g', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Do not log through syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// Drop VIPs on transitions caused by signals.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Do not remove VIPs and virtual routes on exit.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Do not remove IPVS services on exit.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Do not restart crashed subsystems (accepted for compatibility; actors are always supervised).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Stay in the foreground (the default; keepalived-rs never forks).
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Print the parsed configuration (JSON) and exit.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Pid file.
    #[arg(
        short = 'p',
        long = "pid",
        value_name = "FILE",
        default_value = "/run/keepalived-rs.pid"
    )]
    pub pid: PathBuf,
    /// VRRP pid file (accepted for compatibility; there is one process).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    /// Checker pid file (accepted for compatibility; there is one process).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    /// BFD pid file (accepted for compatibility; there is one process).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,
    /// Log every address added or removed through netlink.
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// Fail if any configuration file (include) is missing.
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Configuration id for `@id` conditional lines (default: host name up to the first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Test the configuration and exit; diagnostics go to stderr or to FILE.
    #[arg(short = 't', long = "config-test", value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// umask for created files.
    #[arg(short = 'u', long = "umask", value_name = "NUM")]
    pub umask: Option<String>,
    /// Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Print the state of the daemon running with this `-p` (its JSON dump, or `data` /
    /// `stats`), asked over its control socket (the pid file's name with `.sock`), and exit.
    #[arg(long = "status", value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "json")]
    pub status: Option<String>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics.
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Do not watch the configuration files for changes (SIGHUP still reloads).
    #[arg(long = "no-config-watch")]
    pub no_config_watch: bool,
    /// Print every keepalived.conf keyword with what keepalived-rs does with it (implemented,
    /// partial, equivalent, unsupported and what is lost), tab-separated, and exit.
    #[arg(long = "list-keywords")]
    pub list_keywords: bool,
    /// Take over from the keepalived running with this pid file without moving a VIP: read
    /// its state, prepare everything, stop it silently (SIGSTOP then SIGKILL: no priority 0,
    /// nothing removed) and resume each instance as it was. Refused, keepalived left running,
    /// when the configuration cannot adopt its state.
    #[arg(long = "take-over", value_name = "PIDFILE", num_args = 0..=1, default_missing_value = crate::takeover::process::DEFAULT_PIDFILE)]
    pub take_over: Option<PathBuf>,
    /// Print version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Subcommands (keepalived's companion tools).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Companion tools.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Print the MD5 digest of a URL's body, for HTTP_GET/SSL_GET `digest` (like keepalived's genhash).
    Genhash {
        /// Server address or name.
        #[arg(short = 's', long = "server")]
        server: String,
        /// Port.
        #[arg(short = 'p', long = "port", default_value_t = 80)]
        port: u16,
        /// URL path, e.g. /index.html.
        #[arg(short = 'u', long = "url")]
        url: String,
        /// Host header (virtual host).
        #[arg(short = 'V', long = "virtualhost")]
        virtualhost: Option<String>,
        /// HTTP protocol: 1.0, 1.0C or 1.1.
        #[arg(short = 'P', long = "protocol", default_value = "1.0")]
        protocol: String,
        /// Also print the status code and body length.
        #[arg(short = 'v', long = "verbose")]
        verbose: bool,
    },
}

impl Args {
    /// Loading options derived from the flags.
    pub fn load_options(&self, check_host_interfaces: bool) -> LoadOptions {
        let mut o = LoadOptions {
            check_host_interfaces,
            ..LoadOptions::default()
        };
        if let Some(id) = &self.config_id {
            o.preprocess.config_id = id.clone();
        }
        o.preprocess.all_config = self.all_config;
        o
    }
}

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    let args = Args::parse();
    run(args)
}

/// Runs the command line.
pub fn run(args: Args) -> i32 {
    if args.version {
        println!(
            "keepalived-rs v{} (keepalived.conf compatible, VRRP v2/v3, LVS, BFD)",
            env!("CARGO_PKG_VERSION")
        );
        // keepalived prints its configure options; exporters look for --enable-json there
        // before relying on the JSON dump signal.
        println!("keepalived features: --enable-json --enable-bfd --with-init=systemd");
        return exit::OK;
    }
    if let Some(Command::Genhash {
        server,
        port,
        url,
        virtualhost,
        protocol,
        verbose,
    }) = &args.command
    {
        let Some(proto) = crate::check::http::HttpProtocol::parse(protocol) else {
            eprintln!("genhash: protocol must be 1.0, 1.0C or 1.1");
            return exit::FATAL;
        };
        return crate::check::genhash::run(
            server,
            *port,
            url,
            virtualhost.as_deref(),
            proto,
            *verbose,
        );
    }
    if args.list_keywords {
        // A closed pipe (`| head`) is not an error worth a message.
        let _ = std::io::stdout().write_all(config::keywords::listing().as_bytes());
        return exit::OK;
    }
    if let Some(f) = &args.signum {
        return match signum(f) {
            Some(n) => {
                println!("{n}");
                exit::OK
            }
            None => {
                eprintln!(
                    "unknown signal function '{f}' (STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON)"
                );
                exit::FATAL
            }
        };
    }
    if let Some(what) = &args.status {
        return status(&args, what);
    }
    if let Some(out) = &args.config_test {
        return config_test(&args, out);
    }
    if args.dump_conf {
        let loaded = config::load(&args.use_file, &args.load_options(false));
        for diag in loaded.diagnostics.iter() {
            eprintln!("{diag}");
        }
        return match serde_json::to_string_pretty(&loaded.config) {
            Ok(s) => {
                println!("{s}");
                if loaded.diagnostics.has_errors() {
                    exit::CONFIG
                } else {
                    exit::OK
                }
            }
            Err(e) => {
                eprintln!("cannot serialise configuration: {e}");
                exit::FATAL
            }
        };
    }
    crate::actors::daemon::run(args)
}

/// `--status`: ask the daemon running with this pid file.
fn status(args: &Args, what: &str) -> i32 {
    use crate::actors::control;
    if control::parse_request(what).is_none() {
        eprintln!("--status: unknown request '{what}' (json, data, stats)");
        return exit::FATAL;
    }
    let path = control::socket_path(&args.pid);
    match control::query(&path, what, std::time::Duration::from_secs(10)) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(text.as_bytes()).is_err() {
                return exit::FATAL;
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("{e}");
            exit::FATAL
        }
    }
}

/// `-t`: print every problem as `FILE:LINE: severity: message`; exit non-zero on any error.
fn config_test(args: &Args, out: &str) -> i32 {
    if !args.use_file.is_file() {
        let msg = format!(
            "{}: error: cannot read configuration file",
            args.use_file.display()
        );
        return emit(out, &[msg], exit::TEST_NO_FILE);
    }
    let loaded = config::load(&args.use_file, &args.load_options(true));
    let d = &loaded.diagnostics;
    let mut lines: Vec<String> = d.sorted().into_iter().map(ToString::to_string).collect();
    lines.push(format!(
        "{}: configuration test {}: {} error(s), {} warning(s)",
        args.use_file.display(),
        if d.has_errors() { "failed" } else { "passed" },
        d.error_count(),
        d.warning_count()
    ));
    emit(
        out,
        &lines,
        if d.has_errors() {
            exit::TEST_ERRORS
        } else {
            exit::OK
        },
    )
}

fn emit(out: &str, lines: &[String], code: i32) -> i32 {
    let text = lines.join("\n") + "\n";
    if out.is_empty() {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else if let Err(e) = std::fs::write(out, text) {
        eprintln!("cannot write {out}: {e}");
        return exit::FATAL;
    }
    code
}

/// keepalived's `--signum`.
pub fn signum(func: &str) -> Option<i32> {
    Some(match func.to_ascii_uppercase().as_str() {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => crate::actors::signals::stats_clear_signal(),
        "JSON" => crate::actors::signals::json_signal(),
        _ => return None,
    })
}
