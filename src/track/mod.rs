//! Trackers and script execution: `vrrp_script`, `track_file`, notify scripts and FIFOs.
//!
//! Sans-IO cores (pure, unit-tested) with thin tokio runners on top, so a VRRP instance actor
//! only consumes events and calls pure functions:
//! - [`script_state`]: rise/fall state machine of a `vrrp_script`.
//! - [`priority`]: effective priority / FAULT from tracker states (keepalived's arithmetic).
//! - [`exec`]: running a script as keepalived does (user, process group, timeout, security).
//! - [`runner`]: the periodic `vrrp_script` task sending [`runner::ScriptEvent`]s.
//! - [`notify`]: notify script invocations, FIFO lines, FIFO writer, ordered per-instance queue.
//! - [`file`](mod@file): `track_file` values and the directory watcher sending [`file::FileEvent`]s.
//! - [`smtp`]: `smtp_alert` e-mails (keepalived's subjects, dialogue and defaults).
//! - [`process`]: `vrrp_track_process` matching, counts, quorum and delays.
//! - [`proc_watch`]: the kernel's process events (proc connector) or a /proc scan feeding it.

pub mod exec;
pub mod file;
pub mod notify;
pub mod priority;
pub mod proc_watch;
pub mod process;
pub mod runner;
pub mod script_state;
pub mod smtp;
