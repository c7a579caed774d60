//! The command line's dispatch: `main` parses [`Args`] and runs the daemon, `-t`, `--status`,
//! `--signal`, `--reload-plan`, `--dump-conf` or `genhash`.

use super::args::*;
use crate::config;
use std::io::Write;

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    let args = parse(std::env::args_os().collect());
    run(args)
}

/// `-u`: applied before any file is created.
fn apply_umask(text: &str) {
    match parse_umask(text) {
        Some(m) => crate::sys::process::set_umask(m),
        None => eprintln!("Invalid --umask option {text}"),
    }
}

/// `-s NAME`: enter the network namespace `/run/netns/NAME` (as `ip netns` names them).
pub fn enter_namespace(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("invalid network namespace name '{name}'"));
    }
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path).map_err(|e| format!("Failed to open {path}: {e}"))?;
    // No other thread is running yet: the whole daemon starts in the namespace.
    if let Err(e) = crate::sys::process::enter_network_namespace(&f) {
        return Err(format!("Unable to set network namespace {name}: {e}"));
    }
    if let Err(e) = crate::sys::process::remount_sys_privately() {
        eprintln!("namespace {name}: /sys still shows the previous namespace's interfaces: {e}");
    }
    Ok(())
}

/// Runs the command line.
pub fn run(args: Args) -> i32 {
    if let Some(why) = args.refused() {
        eprintln!("keepalived-rs: {why}");
        return exit::FATAL;
    }
    if args.version {
        let text = format!(
            "keepalived-rs v{} (keepalived.conf compatible, VRRP v2/v3, LVS, BFD)\n\
             keepalived features: --enable-json --enable-bfd --with-init=systemd\n",
            env!("CARGO_PKG_VERSION")
        );
        // keepalived prints its configure options; exporters look for --enable-json there
        // before relying on the JSON dump signal.
        return if print_out(&text).is_ok() {
            exit::OK
        } else {
            exit::FATAL
        };
    }
    if let Some(Command::Genhash {
        server,
        port,
        url,
        virtualhost,
        protocol,
        verbose,
        use_ssl,
        use_sni,
        fwmark,
        timeout,
    }) = &args.command
    {
        if *use_ssl || *use_sni || fwmark.is_some() || timeout.is_some() {
            eprintln!(
                "genhash: -S/--use-ssl, -I/--use-sni, -m/--fwmark and -t/--timeout are not \
                 supported by keepalived-rs genhash (plain HTTP only)"
            );
            return exit::FATAL;
        }
        let Some(proto) = crate::lvs::check::http::HttpProtocol::parse(protocol) else {
            eprintln!("genhash: protocol must be 1.0, 1.0C or 1.1");
            return exit::FATAL;
        };
        // genhash prints with `println!`: a closed stdout ends it quietly, as the C tool. Its
        // TCP writes use MSG_NOSIGNAL, so only the pipe can raise SIGPIPE.
        crate::sys::process::default_signal(libc::SIGPIPE);
        return crate::lvs::check::genhash::run(
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
                if print_out(&format!("{n}\n")).is_ok() {
                    exit::OK
                } else {
                    exit::FATAL
                }
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
    if let Some(format) = &args.reload_plan {
        return crate::daemon::plan::ask(&args, format);
    }
    if let Some(u) = &args.umask {
        apply_umask(u);
    }
    // Before anything else: interfaces are checked, sockets opened and threads started in it.
    if let Some(ns) = &args.namespace {
        if let Err(e) = enter_namespace(ns) {
            eprintln!("{e} - exiting");
            return exit::FATAL;
        }
    }
    if let Some(out) = &args.config_test {
        let code = config_test(&args, out);
        if args.dump_conf && code != exit::TEST_NO_FILE {
            let _ = dump_conf(&args);
        }
        return code;
    }
    if args.dump_conf {
        return dump_conf(&args);
    }
    crate::daemon::run::run(args)
}

/// `-d`: the configuration as understood, as JSON on stdout.
fn dump_conf(args: &Args) -> i32 {
    let loaded = config::load(&args.use_file, &args.load_options(false));
    if args.config_test.is_none() {
        for diag in loaded.diagnostics.iter() {
            eprintln!("{diag}");
        }
    }
    match serde_json::to_string_pretty(&loaded.config) {
        Ok(s) => {
            if let Err(e) = print_out(&(s + "\n")) {
                eprintln!("cannot write the configuration: {e}");
                return exit::FATAL;
            }
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
    }
}

/// `--status`: ask the daemon running with this pid file.
fn status(args: &Args, what: &str) -> i32 {
    use crate::mgmt::control;
    if control::parse_request(what).is_none() {
        eprintln!("--status: unknown request '{what}' (json, data, stats)");
        return exit::FATAL;
    }
    // The daemon's settings may put its control socket elsewhere.
    let path = match crate::daemon::settings::Settings::for_args(args) {
        Ok(s) => s.control_socket(&args.pid_file()),
        Err(e) => {
            eprintln!("{e}");
            return exit::FATAL;
        }
    };
    match control::query(&path, what, std::time::Duration::from_secs(10)) {
        Ok(text) => {
            if let Err(e) = print_out(&text) {
                eprintln!("--status: {e}");
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
        return code;
    }
    // As keepalived: appended to (created 0644, never through a symlink).
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(out)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        eprintln!("Unable to open config-test log file {out}: {e}");
        return exit::FATAL;
    }
    code
}
