//! `bfd_instance`.

use super::common::Spans;
use crate::config::diag::Location;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// `bfd_instance NAME { ... }` with keepalived's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdInstance {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `neighbor_ip` / `neighbour_ip` (required).
    pub neighbor_ip: Option<IpAddr>,
    /// `source_ip`.
    pub source_ip: Option<IpAddr>,
    /// `min_rx` (default 10 ms).
    pub min_rx: Duration,
    /// `min_tx` (default 10 ms).
    pub min_tx: Duration,
    /// `idle_tx` (default 1000 ms).
    pub idle_tx: Duration,
    /// `multiplier` (default 5).
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl` (default 255).
    pub ttl: u8,
    /// `hoplimit` (default 64).
    pub hoplimit: u8,
    /// `max_hops` (default 0).
    pub max_hops: u8,
    /// `multihop`.
    pub multihop: bool,
    /// `weight` for `track_bfd` (0: FAULT on down).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `disabled`.
    pub disabled: bool,
}
