//! keepalived's command line (its options, defaults and exit codes), so existing systemd units
//! and scripts keep working. Pure parsing; [`super::cli`] acts on it.

use crate::config::LoadOptions;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

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
// keepalived parses with getopt: a flag given twice is fine, the last value wins.
#[command(name = "keepalived-rs", disable_version_flag = true, args_override_self = true, about, long_about = None)]
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
    /// Run all subsystems even if they have no configuration (and despite -P/-C/-B given
    /// before it, as keepalived).
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
    /// Also log to FILE (`-gFILE` or `--log-file=FILE`; default $TMPDIR/keepalived.log; a
    /// relative name is in $TMPDIR; with -s NAME the name gets `_NAME` before its extension).
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub log_file: Option<String>,
    /// Flush the log file on write (equivalent no-op: every line is written at once).
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// Do not log through syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// Drop VIPs on transitions (equivalent no-op: leaving MASTER always removes the VIPs
    /// this run added; keepalived needs -X for those it lost track of after a reload).
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Do not remove VIPs, virtual routes/rules and vmacs on exit, nor send priority 0 (an
    /// instance a reload adds, starting as BACKUP/FAULT, removes VIPs left over).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Do not remove IPVS services on exit.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Do not restart what crashed: a crashed VRRP instance stops the daemon (keepalived: a
    /// dead child process ends keepalived). BFD sessions and checkers do not report crashes.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Stay in the foreground (the default; keepalived-rs never forks).
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Print the parsed configuration (JSON) and exit (with -t: after the test). Unlike
    /// keepalived, which dumps to its log and runs, the daemon is not started.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Pid file (default /run/keepalived-rs.pid; with -s NAME,
    /// /run/keepalived-rs/NAME/keepalived-rs.pid).
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,
    /// VRRP pid file: our pid is written there too while VRRP runs (one process).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    /// Checker pid file: our pid is written there too while checkers run (one process).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    /// BFD pid file: our pid is written there too while BFD runs (one process).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,
    /// Log every address added or removed, as netlink reports it.
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
    /// umask for created files (pid, dump and log files), numeric: 022 octal, 0x12 hex, 18
    /// decimal (an invalid one is reported and ignored, as keepalived).
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Run in network namespace NAME (/run/netns/NAME), entered before anything else.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Produce a core dump if we terminate abnormally (core size limit raised to unlimited).
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// As -m, and set /proc/sys/kernel/core_pattern to PATN (default `core`) while we run.
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1, require_equals = true, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,
    /// Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Print the state of the daemon running with this `-p` (its JSON dump, or `data` /
    /// `stats`), asked over its control socket (the pid file's name with `.sock`), and exit.
    #[arg(long = "status", value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "json")]
    pub status: Option<String>,
    /// Ask the daemon running with this `-p` what a reload of the `-f` file (without `-f`: its
    /// own file) would do, without applying it; `text` (default) or `json`. Exit 0: nothing
    /// would change, 1: something would, 5: the file would be rejected, 3: no answer.
    #[arg(long = "reload-plan", value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    pub reload_plan: Option<String>,
    /// With --reload-plan: print JSON.
    #[arg(long = "json")]
    pub json: bool,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics.
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Do not watch the configuration files for changes (SIGHUP still reloads).
    #[arg(long = "no-config-watch")]
    pub no_config_watch: bool,
    /// The daemon's settings file (TOML; default /etc/keepalived-rs/keepalived-rs.toml if
    /// present, or $KEEPALIVED_RS_SETTINGS): see the README's "Daemon settings".
    #[arg(long = "settings", value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Print every keepalived.conf keyword with what keepalived-rs does with it (implemented,
    /// partial, equivalent, unsupported and what is lost), tab-separated, and exit.
    #[arg(long = "list-keywords")]
    pub list_keywords: bool,
    /// Refuse the configuration where keepalived would log a problem and recover (bad value
    /// defaulted or ignored, bad object skipped, dangling reference dropped).
    #[arg(long = "strict")]
    pub strict: bool,
    /// Take over from the keepalived running with this pid file without moving a VIP: read
    /// its state, prepare everything, stop it silently (SIGSTOP then SIGKILL: no priority 0,
    /// nothing removed) and resume each instance as it was. Refused, keepalived left running,
    /// when the configuration cannot adopt its state.
    #[arg(long = "take-over", value_name = "PIDFILE", num_args = 0..=1, default_missing_value = crate::daemon::takeover::process::DEFAULT_PIDFILE)]
    pub take_over: Option<PathBuf>,
    /// Print version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Enable the SNMP subagent (every MIB keepalived-rs serves: KEEPALIVED-MIB, VRRP-MIB).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// Use the specified socket for the SNMP master agent (overrides `snmp_socket`).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,
    /// Refused: internal to keepalived's reload check child (not in its --help).
    #[arg(long = "config-fd", value_name = "FD", hide = true)]
    pub config_fd: Option<String>,
    /// Refused: keepalived's build-time debugging options (--debug, --perf, -L,
    /// --no-mem-check) have no keepalived-rs equivalent.
    #[arg(long = "debug", value_name = "OPTS", num_args = 0..=1, require_equals = true, default_missing_value = "", hide = true)]
    pub debug: Option<String>,
    /// See --debug.
    #[arg(long = "perf", value_name = "TYPE", num_args = 0..=1, require_equals = true, default_missing_value = "", hide = true)]
    pub perf: Option<String>,
    /// See --debug.
    #[arg(short = 'L', long = "mem-check-log", hide = true)]
    pub mem_check_log: bool,
    /// See --debug.
    #[arg(long = "no-mem-check", hide = true)]
    pub no_mem_check: bool,
    /// The order of -P, -C, -B and --all (filled by [`parse`]; see [`daemon_mode`]).
    #[arg(skip)]
    pub mode_flags: Vec<ModeFlag>,
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
        #[arg(short = 'V', long = "virtualhost", alias = "use-virtualhost")]
        virtualhost: Option<String>,
        /// HTTP protocol: 1.0, 1.0C or 1.1.
        #[arg(short = 'P', long = "protocol", default_value = "1.0")]
        protocol: String,
        /// Also print the status code and body length.
        #[arg(short = 'v', long = "verbose")]
        verbose: bool,
        /// Refused: keepalived genhash's -S/--use-ssl, -I/--use-sni, -m/--fwmark and
        /// -t/--timeout are not supported by this genhash.
        #[arg(short = 'S', long = "use-ssl")]
        use_ssl: bool,
        /// See --use-ssl.
        #[arg(short = 'I', long = "use-sni", hide = true)]
        use_sni: bool,
        /// See --use-ssl.
        #[arg(short = 'm', long = "fwmark", value_name = "MARK", hide = true)]
        fwmark: Option<String>,
        /// See --use-ssl.
        #[arg(short = 't', long = "timeout", value_name = "SECS", hide = true)]
        timeout: Option<String>,
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
        o.strict = self.strict;
        o
    }

    /// The pid file: `-p`, else keepalived's naming under `-s NAME` (its own directory per
    /// namespace), else `/run/keepalived-rs.pid`.
    pub fn pid_file(&self) -> PathBuf {
        pid_file(self.pid.as_deref(), self.namespace.as_deref())
    }

    /// The keepalived option given that keepalived-rs refuses, with why.
    pub fn refused(&self) -> Option<String> {
        let build = "is one of keepalived's build-time debugging options; keepalived-rs has \
                     none (use -D or KEEPALIVED_RS_LOG=debug)";
        if self.config_fd.is_some() {
            Some(
                "--config-fd: internal to keepalived (its reload_check_config child writes \
                 the consolidated configuration there); keepalived-rs has no such child"
                    .into(),
            )
        } else if self.debug.is_some() {
            Some(format!("--debug {build}"))
        } else if self.perf.is_some() {
            Some(format!("--perf {build}"))
        } else if self.mem_check_log {
            Some(format!("-L/--mem-check-log {build}"))
        } else if self.no_mem_check {
            Some(format!("--no-mem-check {build}"))
        } else {
            None
        }
    }
}

/// See [`Args::pid_file`].
pub fn pid_file(pid: Option<&Path>, namespace: Option<&str>) -> PathBuf {
    match (pid, namespace) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(ns)) => PathBuf::from(format!("/run/keepalived-rs/{ns}/keepalived-rs.pid")),
        (None, None) => PathBuf::from("/run/keepalived-rs.pid"),
    }
}

/// Which subsystems keepalived runs after its options, in command-line order: all three by
/// default, `-P` drops the checkers, `-C` drops VRRP, `-B` drops BFD, `--all` brings all
/// three back (and runs them even without configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonMode {
    /// VRRP.
    pub vrrp: bool,
    /// Health checkers.
    pub check: bool,
    /// BFD.
    pub bfd: bool,
    /// `--all`: run them even if the configuration has nothing for them.
    pub all: bool,
}

/// One of the options [`DaemonMode`] depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeFlag {
    /// `-P`.
    VrrpOnly,
    /// `-C`.
    CheckOnly,
    /// `-B`.
    NoBfd,
    /// `--all`.
    All,
}

/// Applies the flags in the order given.
pub fn daemon_mode(flags: &[ModeFlag]) -> DaemonMode {
    let mut m = DaemonMode {
        vrrp: true,
        check: true,
        bfd: true,
        all: false,
    };
    for f in flags {
        match f {
            ModeFlag::VrrpOnly => m.check = false,
            ModeFlag::CheckOnly => m.vrrp = false,
            ModeFlag::NoBfd => m.bfd = false,
            ModeFlag::All => {
                m = DaemonMode {
                    vrrp: true,
                    check: true,
                    bfd: true,
                    all: true,
                }
            }
        }
    }
    m
}

/// keepalived's `--umask`: a number as C's `strtoll(.., 0)` reads it (`0x` hex, leading `0`
/// octal, else decimal), within 0777.
pub fn parse_umask(text: &str) -> Option<u32> {
    let t = text.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u32::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<u32>().ok()?
    };
    (v & !0o777 == 0).then_some(v)
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub fn print_out(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// keepalived's `-T`/`--genhash`: genhash mode with the options after it (those before are
/// ignored, with a warning). Returns the command line of our `genhash` subcommand.
pub fn genhash_argv(argv: &[OsString]) -> Option<Vec<OsString>> {
    let at = argv
        .iter()
        .skip(1)
        .position(|a| a == "-T" || a == "--genhash")?
        + 1;
    if at > 1 {
        eprintln!(
            "Warning -- `{}` not used as first option, previous options ignored",
            argv[at].to_string_lossy()
        );
    }
    let mut out = vec![argv[0].clone(), OsString::from("genhash")];
    out.extend(argv[at + 1..].iter().cloned());
    Some(out)
}

/// getopt's optional arguments are attached to their short option (`-gFILE`, `-t/tmp/out`,
/// `-Mcore.%p`): spelled as the long option, which clap reads the same way.
pub fn attached_optional_values(argv: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len());
    let mut rest = false;
    for a in argv {
        let s = a.to_string_lossy();
        if rest || s == "--" || s == "genhash" {
            rest = true;
            out.push(a);
            continue;
        }
        let long = match s.get(..2) {
            Some("-g") => "--log-file",
            Some("-t") => "--config-test",
            Some("-M") => "--core-dump-pattern",
            _ => "",
        };
        match s.get(2..) {
            Some(v) if !long.is_empty() && !v.is_empty() && !v.starts_with('=') => {
                out.push(OsString::from(format!("{long}={v}")));
            }
            _ => out.push(a),
        }
    }
    out
}

/// Parses the command line (with keepalived's `-T`) and records the order of the flags
/// that depend on it.
pub fn parse(argv: Vec<OsString>) -> Args {
    use clap::{CommandFactory, FromArgMatches};
    let argv = genhash_argv(&argv).unwrap_or_else(|| attached_optional_values(argv));
    let matches = match Args::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            // keepalived exits 1 on an unknown option or a missing parameter.
            let _ = e.print();
            std::process::exit(exit::FATAL);
        }
    };
    let mut args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let mut flags: Vec<(usize, ModeFlag)> = Vec::new();
    for (id, f) in [
        ("vrrp", ModeFlag::VrrpOnly),
        ("check", ModeFlag::CheckOnly),
        ("no_bfd", ModeFlag::NoBfd),
        ("all", ModeFlag::All),
    ] {
        if matches.get_flag(id) {
            if let Some(ix) = matches.indices_of(id) {
                flags.extend(ix.map(|i| (i, f)));
            }
        }
    }
    flags.sort_by_key(|(i, _)| *i);
    args.mode_flags = flags.into_iter().map(|(_, f)| f).collect();
    args
}

/// keepalived's `--signum`.
pub fn signum(func: &str) -> Option<i32> {
    Some(match func.to_ascii_uppercase().as_str() {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => crate::runtime::signals::stats_clear_signal(),
        "JSON" => crate::runtime::signals::json_signal(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn umask_is_read_as_strtoll_base_0() {
        assert_eq!(parse_umask("022"), Some(0o022));
        assert_eq!(parse_umask("0077"), Some(0o077));
        assert_eq!(parse_umask("18"), Some(18));
        assert_eq!(parse_umask("0x12"), Some(0x12));
        assert_eq!(parse_umask("0"), Some(0));
        assert_eq!(parse_umask("0777"), Some(0o777));
        assert_eq!(parse_umask("01000"), None);
        assert_eq!(parse_umask("-1"), None);
        assert_eq!(parse_umask("08"), None);
        assert_eq!(parse_umask("22x"), None);
        assert_eq!(parse_umask(""), None);
    }

    #[test]
    fn daemon_mode_follows_the_order_of_the_flags() {
        use ModeFlag::*;
        let m = |f: &[ModeFlag]| {
            let d = daemon_mode(f);
            (d.vrrp, d.check, d.bfd, d.all)
        };
        assert_eq!(m(&[]), (true, true, true, false));
        // keepalived: -P drops only the checkers, -C only VRRP.
        assert_eq!(m(&[VrrpOnly]), (true, false, true, false));
        assert_eq!(m(&[CheckOnly]), (false, true, true, false));
        assert_eq!(m(&[CheckOnly, NoBfd]), (false, true, false, false));
        assert_eq!(m(&[VrrpOnly, All]), (true, true, true, true));
        assert_eq!(m(&[All, VrrpOnly]), (true, false, true, true));
    }

    #[test]
    fn mode_flags_are_recorded_in_order() {
        let a = parse(os(&["k", "--all", "-P", "-B"]));
        assert_eq!(
            a.mode_flags,
            [ModeFlag::All, ModeFlag::VrrpOnly, ModeFlag::NoBfd]
        );
        let a = parse(os(&["k", "-P", "--all"]));
        assert_eq!(a.mode_flags, [ModeFlag::VrrpOnly, ModeFlag::All]);
    }

    #[test]
    fn optional_values_attach_as_getopt() {
        let a = parse(os(&["k", "-g/var/log/k.log", "-Mcore.%p", "-t/tmp/out"]));
        assert_eq!(a.log_file.as_deref(), Some("/var/log/k.log"));
        assert_eq!(a.core_dump_pattern.as_deref(), Some("core.%p"));
        assert_eq!(a.config_test.as_deref(), Some("/tmp/out"));
        assert_eq!(a.checkers_pid, None);
        let a = parse(os(&["k", "-g", "-M", "-t", "-DD"]));
        assert_eq!(a.log_file.as_deref(), Some(""));
        assert_eq!(a.core_dump_pattern.as_deref(), Some("core"));
        assert_eq!(a.config_test.as_deref(), Some(""));
        assert!(a.log_detail);
    }

    #[test]
    fn genhash_mode_takes_the_options_after_t() {
        assert_eq!(
            genhash_argv(&os(&["k", "-T", "-s", "h", "-u", "/"])),
            Some(os(&["k", "genhash", "-s", "h", "-u", "/"]))
        );
        assert_eq!(
            genhash_argv(&os(&["k", "-n", "--genhash", "-s", "h"])),
            Some(os(&["k", "genhash", "-s", "h"]))
        );
        assert_eq!(genhash_argv(&os(&["k", "-n"])), None);
        let a = parse(os(&[
            "k",
            "-T",
            "-s",
            "h",
            "-u",
            "/x",
            "--use-virtualhost",
            "v",
            "-t",
            "3",
        ]));
        assert!(matches!(
            a.command,
            Some(Command::Genhash { virtualhost: Some(v), timeout: Some(_), .. }) if v == "v"
        ));
    }

    #[test]
    fn pid_file_under_a_namespace() {
        assert_eq!(
            pid_file(None, None),
            PathBuf::from("/run/keepalived-rs.pid")
        );
        assert_eq!(
            pid_file(None, Some("blue")),
            PathBuf::from("/run/keepalived-rs/blue/keepalived-rs.pid")
        );
        assert_eq!(
            pid_file(Some(Path::new("/x.pid")), Some("blue")),
            PathBuf::from("/x.pid")
        );
    }

    #[test]
    fn refused_options_say_why() {
        for argv in [
            &["k", "--config-fd", "3"][..],
            &["k", "--debug"],
            &["k", "--perf=run"],
            &["k", "-L"],
            &["k", "--no-mem-check"],
        ] {
            let a = parse(os(argv));
            assert!(a.refused().is_some(), "{argv:?}");
        }
        assert_eq!(parse(os(&["k", "-n", "-V", "-X", "-a"])).refused(), None);
        assert_eq!(parse(os(&["k", "-x", "-A", "/s"])).refused(), None);
    }
}
