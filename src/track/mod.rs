//! Trackers and script execution: `vrrp_script`, `track_file`, notify scripts and FIFOs.
//!
//! Sans-IO cores (pure, unit-tested) with thin tokio runners on top, so a VRRP instance actor
//! only consumes events and calls pure functions:
//! - [`script_state`]: rise/fall state machine of a `vrrp_script`.
//! - [`priority`]: effective priority / FAULT from tracker states (keepalived's arithmetic).

pub mod priority;
pub mod script_state;
