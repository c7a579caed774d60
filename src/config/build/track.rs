//! `vrrp_script`, `track_file`, `vrrp_track_process`.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{Spans, TrackFile, VrrpScript};
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
                s.weight = v::int_arg(n, -253, 253, d).unwrap_or(0);
                s.weight_reverse = n.arg(1) == Some("reverse");
            }
            "rise" => s.rise = v::int_arg(n, 1u32, u32::MAX, d).unwrap_or(1),
            "fall" => s.fall = v::int_arg(n, 1u32, u32::MAX, d).unwrap_or(1),
            "user" => s.user = v::script_user(n, 0),
            "init_fail" => s.init_fail = true,
            _ => not_handled(n, d),
        }
    }
    s.timeout = timeout.unwrap_or(s.interval);
    if s.script.is_none() && s.spans.get("script").is_none() {
        d.error(&block.loc, format!("vrrp_script {name}: no 'script' given"));
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
        d.error(&block.loc, format!("track_file {name}: no 'file' given"));
    }
    t
}
