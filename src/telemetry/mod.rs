//! Logging, traces and metrics.

pub mod logging;
