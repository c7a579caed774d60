//! `vrrp_script`, `track_file`, `vrrp_track_process`.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{Spans, TrackFile, TrackProcess, VrrpScript};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{not_handled, span};
use std::time::Duration;

/// `vrrp_script NAME { script ...; interval; timeout; weight; rise; fall; user; init_fail }`.
pub fn script(name: &str, block: &Node, children: &[Node], d: &mut Diagnostics) -> VrrpScript {
    let mut s = VrrpScript {
        name: name.to_string(),
        loc: block.loc.clone(),
        spans: Spans::default(),
        script: None,
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
    };
    let mut timeout = None;
    for n in children {
        if !keywords::accept("vrrp_script", n, d) {
            continue;
        }
        span(&mut s.spans, n);
        match n.keyword.as_str() {
            "script" => {
                // keepalived 2.2.7 (vrrp_vscript_script_handler) takes the command from the
                // first word only: no user here (that is the `user` keyword), and whatever
                // follows is ignored (e.g. `interval 7` of a one-line block
                // `vrrp_script chk { script "/x" interval 7 }`, whose braces are the only
                // line breaks keepalived makes).
                s.script = v::script(n, d).map(|mut sc| {
                    sc.user = None;
                    sc
                });
                if n.args.len() > 1 {
                    let rest: Vec<&str> = n.arg_texts().skip(1).collect();
                    d.warning(
                        &n.loc,
                        format!(
                            "vrrp_script {name}: '{}' after the script is ignored, as keepalived ignores it (quote the whole command to pass arguments; put other keywords on lines of their own)",
                            rest.join(" ")
                        ),
                    );
                }
            }
            "interval" => s.interval = v::secs_arg(n, 0.001, 1e6, d).unwrap_or(s.interval),
            "timeout" => timeout = v::secs_arg(n, 0.001, 1e6, d),
            "weight" => {
                // keepalived accepts ±254 with an error and clamps to ±253.
                s.weight = v::int_arg_lenient(n, -253, 253, d).unwrap_or(0);
                s.weight_reverse = n.arg(1) == Some("reverse");
            }
            "rise" | "fall" => {
                let x = d
                    .with_recovery("using 1", |d| {
                        v::int_arg_lenient(n, 1u32, i32::MAX as u32, d)
                    })
                    .unwrap_or(1);
                if n.keyword == "rise" {
                    s.rise = x;
                } else {
                    s.fall = x;
                }
            }
            "user" => s.user = v::script_user(n, 0),
            "init_fail" => s.init_fail = true,
            _ => not_handled(n, d),
        }
    }
    s.timeout = timeout.unwrap_or(s.interval);
    if s.script.is_none() && s.spans.get("script").is_none() {
        d.recover(
            &block.loc,
            format!("vrrp_script {name}: no 'script' given"),
            "removing the vrrp_script",
        );
    }
    s
}

/// `track_file NAME { file PATH; weight W [reverse]; init_file [V] [overwrite] }`.
pub fn file(name: &str, block: &Node, children: &[Node], d: &mut Diagnostics) -> TrackFile {
    let mut t = TrackFile {
        name: name.to_string(),
        loc: block.loc.clone(),
        spans: Spans::default(),
        file: None,
        weight: 1,
        reverse: false,
        init_file: None,
    };
    for n in children {
        if !keywords::accept(block.keyword.as_str(), n, d) {
            continue;
        }
        span(&mut t.spans, n);
        match n.keyword.as_str() {
            "file" => t.file = v::arg(n, 0, d).map(str::to_string),
            "weight" => {
                t.weight = v::int_arg(n, -254, 254, d).unwrap_or(1);
                t.reverse = n.arg(1) == Some("reverse");
            }
            "init_file" => {
                let mut value = 0;
                let mut overwrite = false;
                for a in n.arg_texts() {
                    if a == "overwrite" {
                        overwrite = true;
                    } else {
                        value =
                            v::int_in(&n.loc, "init_file", a, i64::MIN, i64::MAX, d).unwrap_or(0);
                    }
                }
                t.init_file = Some((value, overwrite));
            }
            _ => not_handled(n, d),
        }
    }
    if t.file.is_none() {
        d.recover(
            &block.loc,
            format!("track_file {name}: no 'file' given"),
            "removing the track_file",
        );
    }
    t
}

/// `vrrp_track_process NAME { process NAME [params]; param_match; full_command; quorum;
/// quorum_max; weight W [reverse]; delay; terminate_delay; fork_delay }`, with keepalived
/// 2.2.7's checks (vrrp_parser.c `vrrp_tprocess_*`): a bad value is ignored with a warning.
// Long by design: one match arm per vrrp_track_process keyword with keepalived's checks.
pub fn process(name: &str, block: &Node, children: &[Node], d: &mut Diagnostics) -> TrackProcess {
    let mut p = TrackProcess::new(name, block.loc.clone());
    for n in children {
        if !keywords::accept("vrrp_track_process", n, d) {
            continue;
        }
        span(&mut p.spans, n);
        match n.keyword.as_str() {
            "process" => {
                if p.process.is_some() {
                    d.recover(
                        &n.loc,
                        format!("vrrp_track_process {name}: process already set"),
                        "ignoring this one",
                    );
                    continue;
                }
                p.process = v::arg(n, 0, d).map(str::to_string);
                p.params = n.arg_texts().skip(1).map(str::to_string).collect();
            }
            "param_match" => match n.arg(0) {
                None => p.param_match = Some("exact".into()),
                Some(m @ ("initial" | "partial")) => p.param_match = Some(m.to_string()),
                Some(other) => d.recover(
                    &n.loc,
                    format!("vrrp_track_process {name}: invalid param_match type {other}"),
                    "ignoring it",
                ),
            },
            "full_command" => p.full_command = true,
            "weight" => {
                if p.weight != 0 {
                    d.recover(
                        &n.loc,
                        format!("vrrp_track_process {name}: weight already set"),
                        "ignoring this one",
                    );
                    continue;
                }
                if let Some(w) = d.with_recovery("ignoring it", |d| v::int_arg(n, -254, 254, d)) {
                    p.weight = w;
                    match n.arg(1) {
                        Some("reverse") => p.reverse = true,
                        Some(o) => d.recover(
                            &n.loc,
                            format!("vrrp_track_process {name}: unknown weight option {o}"),
                            "ignoring it",
                        ),
                        None => {}
                    }
                }
            }
            "quorum" => {
                if let Some(q) = d.with_recovery("ignoring it", |d| v::int_arg(n, 1u32, 65535, d)) {
                    if q > p.quorum_max {
                        d.recover(
                            &n.loc,
                            format!("vrrp_track_process {name}: quorum is greater than quorum_max"),
                            "ignoring it",
                        );
                    } else {
                        p.quorum = q;
                    }
                }
            }
            "quorum_max" => {
                if let Some(q) = d.with_recovery("ignoring it", |d| v::int_arg(n, 0u32, 65535, d)) {
                    if (q != 0 || p.quorum > 1) && q < p.quorum {
                        d.recover(
                            &n.loc,
                            format!("vrrp_track_process {name}: quorum_max is less than quorum"),
                            "ignoring it",
                        );
                    } else {
                        p.quorum_max = q;
                        if q == 0 {
                            p.quorum = 0;
                        } else if p.quorum == 0 {
                            p.quorum = 1;
                        }
                    }
                }
            }
            k @ ("delay" | "terminate_delay" | "fork_delay") => {
                if let Some(t) =
                    d.with_recovery("ignoring it", |d| v::secs_arg(n, 0.000_001, 3600.0, d))
                {
                    if k != "fork_delay" {
                        p.terminate_delay = Some(t);
                    }
                    if k != "terminate_delay" {
                        p.fork_delay = Some(t);
                    }
                }
            }
            _ => not_handled(n, d),
        }
    }
    if p.process.is_none() {
        d.recover(
            &block.loc,
            format!("vrrp_track_process {name}: process name not specified"),
            "removing the vrrp_track_process",
        );
    }
    p
}
