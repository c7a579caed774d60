//! Real-server health checkers: sans-IO protocol cores and their runners.

pub mod dns;
pub mod genhash;
pub mod http;
pub mod http_get;
pub mod ping;
pub mod schedule;
pub mod smtp;
pub mod tcp;
pub mod udp;
