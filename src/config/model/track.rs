//! Trackers: `vrrp_script`, `track_file`, `vrrp_track_process`.

use super::common::{ScriptSpec, ScriptUser, Spans};
use crate::config::diag::Location;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `vrrp_script NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpScript {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `script` (required).
    pub script: Option<ScriptSpec>,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: interval).
    pub timeout: Duration,
    /// `weight` (-253..253; 0 = failure means FAULT).
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user`.
    pub user: Option<ScriptUser>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// `track_file NAME { ... }` (old spelling `vrrp_track_file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `file` (required).
    pub file: Option<String>,
    /// `weight` (default 1).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`.
    pub init_file: Option<(i64, bool)>,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `process NAME [params...]` (required: keepalived removes a block without it).
    pub process: Option<String>,
    /// The parameters after the process name (they imply `full_command`).
    pub params: Vec<String>,
    /// `param_match [initial|partial]` (bare: exact; None: exact when parameters are given).
    pub param_match: Option<String>,
    /// `weight` (default 0: down means FAULT).
    pub weight: i32,
    /// `weight W reverse`.
    pub reverse: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `quorum_max` (default unlimited).
    pub quorum_max: u32,
    /// `fork_delay` (or `delay`).
    pub fork_delay: Option<Duration>,
    /// `terminate_delay` (or `delay`).
    pub terminate_delay: Option<Duration>,
    /// `full_command`: match the command line, not the process name (comm).
    pub full_command: bool,
}

impl TrackProcess {
    /// A block `name` at `loc` with keepalived's defaults (no process yet, weight 0, quorum
    /// 1..unlimited, no delays).
    pub fn new(name: &str, loc: Location) -> Self {
        TrackProcess {
            name: name.to_string(),
            loc,
            spans: Spans::default(),
            process: None,
            params: Vec::new(),
            param_match: None,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: None,
            terminate_delay: None,
            full_command: false,
        }
    }
}
