//! Real-server health checkers: sans-IO protocol cores and their runners.

pub mod body_regex;
pub mod dns;
pub mod file;
pub mod genhash;
pub mod http;
pub mod http_get;
pub mod misc;
pub mod ping;
pub mod runner;
pub mod schedule;
pub mod smtp;
pub mod tcp;
pub mod udp;
