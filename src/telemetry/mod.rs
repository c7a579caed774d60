//! Logging, traces and metrics.

pub mod http;
pub mod logging;
pub mod metrics;
pub mod otel;
