//! The process: keepalived's command line, the composition root that starts every actor and
//! drives reloads, the config watcher, the pid file, the systemd watchdog, the reload plan and
//! `--take-over`.
//!
//! - [`args`]: keepalived's command line (`Args`), exit codes; [`cli`]: `main`'s dispatch (`-t`, `--status`, `--signal`, ...).
//! - [`run`]: the daemon itself: loads the configuration, builds the children of every protocol,
//!   hands them to the [`Root`](crate::runtime::Root) and reloads on SIGHUP or file change.
//! - [`watch`]: the configuration file watcher (notify), debounced, following symlinks.
//! - [`plan`]: `--reload-plan`, what a reload would change, without applying it.
//! - [`takeover`]: `--take-over`, replacing a running keepalived without moving a VIP.
//! - [`sched`]: keepalived's process scheduling keywords, applied to the domain threads.
//! - [`settings`]: the daemon's own settings (TOML file < environment < flags), config-rs.
//! - [`pidfile`], [`watchdog`], [`trim`], [`panic_hook`]: process housekeeping.

pub mod args;
pub mod children;
pub mod cli;
pub mod panic_hook;
pub mod pidfile;
pub mod plan;
pub mod run;
pub mod sched;
pub mod settings;
pub mod takeover;
pub mod trim;
pub mod watch;
pub mod watchdog;
