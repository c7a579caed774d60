//! The daemon's own settings (not keepalived.conf, which stays our parser): where metrics are
//! served, where traces go, the configuration watcher, the control and syslog sockets.
//!
//! Layered with config-rs, each layer overriding the one before:
//! 1. built-in defaults ([`Settings::default`]);
//! 2. the TOML file [`DEFAULT_FILE`] (a missing default file is fine), or the one named by
//!    `--settings FILE` or `$KEEPALIVED_RS_SETTINGS` (then it must exist);
//! 3. the environment: `KEEPALIVED_RS__KEY` (double underscore, e.g.
//!    `KEEPALIVED_RS__METRICS_LISTEN=127.0.0.1:9650`); the older single variables
//!    `KEEPALIVED_RS_SYSLOG_SOCKET` and the standard `OTEL_EXPORTER_OTLP_*ENDPOINT` still work;
//! 4. the command line (`--metrics-listen`, `--no-config-watch`).
//!
//! An invalid file (bad TOML, a wrong type, an unknown key) stops the daemon at start with the
//! file's path and what is wrong; an unknown `KEEPALIVED_RS__*` variable is an error too
//! (nothing accepted silently).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings file read when neither `--settings` nor `$KEEPALIVED_RS_SETTINGS` names one.
pub const DEFAULT_FILE: &str = "/etc/keepalived-rs/keepalived-rs.toml";
/// Names the settings file (as `--settings`, which wins).
pub const FILE_ENV: &str = "KEEPALIVED_RS_SETTINGS";
/// Prefix of the environment layer: `KEEPALIVED_RS__` + the key in upper case.
pub const ENV_PREFIX: &str = "KEEPALIVED_RS";
/// The environment layer's separator (a single `_` could not reach `snake_case` keys).
pub const ENV_SEPARATOR: &str = "__";

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Serve Prometheus metrics at `http://ADDR:PORT/metrics` (None: not served).
    pub metrics_listen: Option<SocketAddr>,
    /// OTLP/HTTP base URL traces are exported to (`/v1/traces` is appended), as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, which wins when set (None: no export).
    pub otlp_endpoint: Option<String>,
    /// Watch the configuration files and reload when they change (SIGHUP always reloads).
    pub config_watch: bool,
    /// How long the configuration files must stay unchanged before the watcher reloads, in
    /// milliseconds.
    pub watch_debounce_ms: u64,
    /// The control socket (`--status`, `--reload-plan`); None: the pid file's name with
    /// `.sock`.
    pub control_socket: Option<PathBuf>,
    /// The syslog socket logs go to.
    pub syslog_socket: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            metrics_listen: None,
            otlp_endpoint: None,
            config_watch: true,
            watch_debounce_ms: 200,
            control_socket: None,
            syslog_socket: PathBuf::from("/dev/log"),
        }
    }
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The settings file is missing (named explicitly), unreadable or invalid.
    #[error("{}: {msg}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A `KEEPALIVED_RS__*` variable is invalid.
    #[error("environment ({ENV_PREFIX}{ENV_SEPARATOR}*): {0}")]
    Env(String),
}

/// The command line's say (the last layer): what a flag given sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--metrics-listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `--no-config-watch`.
    pub no_config_watch: bool,
}

impl Flags {
    /// The flags of keepalived-rs's command line.
    pub fn of(args: &crate::daemon::args::Args) -> Self {
        Flags {
            metrics_listen: args.metrics_listen,
            no_config_watch: args.no_config_watch,
        }
    }
}

impl Settings {
    /// The daemon's settings for its command line and the process environment.
    pub fn for_args(args: &crate::daemon::args::Args) -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::layered(args.settings.as_deref(), &env, &Flags::of(args))
    }

    /// Every layer: defaults < `file` (or `$KEEPALIVED_RS_SETTINGS`, or [`DEFAULT_FILE`] if
    /// present) < `env` < `flags`.
    pub fn layered(
        file: Option<&Path>,
        env: &HashMap<String, String>,
        flags: &Flags,
    ) -> Result<Self, SettingsError> {
        let (path, required) = match file.map(Path::to_path_buf).or_else(|| {
            env.get(FILE_ENV)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        }) {
            Some(p) => (p, true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        let file_source = || {
            config::File::from(path.as_path())
                .format(config::FileFormat::Toml)
                .required(required)
        };
        let file_err = |e: config::ConfigError| SettingsError::File {
            path: path.clone(),
            msg: one_line(&e.to_string(), &path),
        };
        if required && !path.exists() {
            return Err(SettingsError::File {
                path: path.clone(),
                msg: "no such file".into(),
            });
        }
        // The file alone first: its errors are its own (located), not the environment's.
        config::Config::builder()
            .add_source(file_source())
            .build()
            .and_then(|c| c.try_deserialize::<Settings>())
            .map_err(file_err)?;
        let mut s: Settings = config::Config::builder()
            .add_source(file_source())
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator(ENV_SEPARATOR)
                    .separator(ENV_SEPARATOR)
                    .source(Some(env_layer(env))),
            )
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError::Env(e.to_string()))?;
        if let Some(a) = flags.metrics_listen {
            s.metrics_listen = Some(a);
        }
        if flags.no_config_watch {
            s.config_watch = false;
        }
        Ok(s)
    }

    /// The control socket of the daemon whose pid file is `pid`.
    pub fn control_socket(&self, pid: &Path) -> PathBuf {
        self.control_socket
            .clone()
            .unwrap_or_else(|| crate::mgmt::control::socket_path(pid))
    }

    /// The watcher's debounce.
    pub fn watch_debounce(&self) -> Duration {
        Duration::from_millis(self.watch_debounce_ms)
    }
}

/// The `KEEPALIVED_RS__*` variables of `env`, with the older single variable
/// `KEEPALIVED_RS_SYSLOG_SOCKET` standing for `KEEPALIVED_RS__SYSLOG_SOCKET` (which wins).
fn env_layer(env: &HashMap<String, String>) -> HashMap<String, String> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut out: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(v) = env.get(crate::telemetry::logging::SYSLOG_SOCKET_ENV) {
        out.entry(format!("{prefix}SYSLOG_SOCKET"))
            .or_insert_with(|| v.clone());
    }
    out
}

/// config-rs's message on one line, without the path it appends (ours leads).
fn one_line(msg: &str, path: &Path) -> String {
    let mut joined = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| matches!(c, '|' | '^' | ' ')))
        .collect::<Vec<_>>()
        .join(" ");
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if let (Some(i), Some(name)) = (joined.rfind(" in "), name) {
        if joined.ends_with(&name) {
            joined.truncate(i);
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keepalived-rs.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        // The default file is absent on a build machine; an explicit absent one is an error.
        let s = Settings::layered(None, &env(&[]), &Flags::default());
        if !Path::new(DEFAULT_FILE).exists() {
            assert_eq!(s.unwrap(), Settings::default());
        }
        let d = Settings::default();
        assert!(d.config_watch && d.metrics_listen.is_none() && d.otlp_endpoint.is_none());
        assert_eq!(d.watch_debounce(), Duration::from_millis(200));
        assert_eq!(d.syslog_socket, Path::new("/dev/log"));
        assert_eq!(
            d.control_socket(Path::new("/run/ka.pid")),
            Path::new("/run/ka.sock")
        );
    }

    #[test]
    fn the_file_overrides_the_defaults() {
        let (_d, path) = file(
            "metrics_listen = \"127.0.0.1:9650\"\nwatch_debounce_ms = 50\n\
             control_socket = \"/run/ctl.sock\"\nconfig_watch = false\n\
             otlp_endpoint = \"http://collector:4318\"\nsyslog_socket = \"/run/log\"\n",
        );
        let s = Settings::layered(Some(&path), &env(&[]), &Flags::default()).unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:9650".parse().unwrap()));
        assert_eq!(s.watch_debounce(), Duration::from_millis(50));
        assert_eq!(
            s.control_socket(Path::new("/run/ka.pid")),
            Path::new("/run/ctl.sock")
        );
        assert!(!s.config_watch);
        assert_eq!(s.otlp_endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(s.syslog_socket, Path::new("/run/log"));
        // Named by the environment instead of --settings.
        let by_env = env(&[(FILE_ENV, path.to_str().unwrap())]);
        assert_eq!(
            Settings::layered(None, &by_env, &Flags::default()).unwrap(),
            s
        );
    }

    #[test]
    fn the_environment_overrides_the_file_and_flags_override_both() {
        let (_d, path) = file("metrics_listen = \"127.0.0.1:1\"\nwatch_debounce_ms = 50\n");
        let vars = env(&[
            ("KEEPALIVED_RS__METRICS_LISTEN", "127.0.0.1:2"),
            ("KEEPALIVED_RS__CONFIG_WATCH", "true"),
            ("KEEPALIVED_RS_SYSLOG_SOCKET", "/old/log"),
            ("KEEPALIVED_RS_LOG", "debug"),
            ("OTHER__METRICS_LISTEN", "127.0.0.1:3"),
        ]);
        let s = Settings::layered(Some(&path), &vars, &Flags::default()).unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:2".parse().unwrap()));
        assert_eq!(s.watch_debounce_ms, 50, "the file's, untouched by env");
        assert!(s.config_watch);
        assert_eq!(s.syslog_socket, Path::new("/old/log"), "the older variable");
        let mut both = vars.clone();
        both.insert("KEEPALIVED_RS__SYSLOG_SOCKET".into(), "/new/log".into());
        let s = Settings::layered(Some(&path), &both, &Flags::default()).unwrap();
        assert_eq!(s.syslog_socket, Path::new("/new/log"));
        let flags = Flags {
            metrics_listen: Some("127.0.0.1:4".parse().unwrap()),
            no_config_watch: true,
        };
        let s = Settings::layered(Some(&path), &vars, &flags).unwrap();
        assert_eq!(s.metrics_listen, Some("127.0.0.1:4".parse().unwrap()));
        assert!(!s.config_watch);
    }

    #[test]
    fn an_invalid_file_is_an_error_with_its_path() {
        for (text, what) in [
            ("metrics_listen = \n", "line 1"),
            ("metrics_listen = \"not an address\"\n", "metrics_listen"),
            ("watch_debounce_ms = \"soon\"\n", "watch_debounce_ms"),
            ("metrics_port = 9650\n", "metrics_port"),
        ] {
            let (_d, path) = file(text);
            let e = Settings::layered(Some(&path), &env(&[]), &Flags::default()).unwrap_err();
            assert!(matches!(e, SettingsError::File { .. }), "{text}: {e}");
            let m = e.to_string();
            assert!(m.starts_with(&format!("{}: ", path.display())), "{m}");
            assert!(m.contains(what), "{text}: {m}");
            assert!(!m.contains('\n') && !m.contains(" in "), "{m}");
        }
        let missing = Path::new("/nonexistent/keepalived-rs.toml");
        let e = Settings::layered(Some(missing), &env(&[]), &Flags::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/nonexistent/keepalived-rs.toml: no such file"
        );
    }

    #[test]
    fn an_invalid_or_unknown_variable_is_an_error() {
        let (_d, empty) = file("");
        for (k, v) in [
            ("KEEPALIVED_RS__METRICS_LISTEN", "nowhere"),
            ("KEEPALIVED_RS__NO_SUCH_SETTING", "1"),
        ] {
            let e =
                Settings::layered(Some(&empty), &env(&[(k, v)]), &Flags::default()).unwrap_err();
            assert!(matches!(e, SettingsError::Env(_)), "{k}: {e}");
        }
    }
}
