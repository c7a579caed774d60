//! Builds the typed [`Config`] from the block tree, applying keepalived's defaults and
//! reporting unknown keywords (warning) and invalid values (error) with their location.

mod bfd;
mod global;
mod lvs;
mod net;
mod track;
mod vrrp;

use super::diag::Diagnostics;
use super::keywords;
use super::model::{Config, Spans, TrackRef};
use super::tree::Node;
use super::values;

/// Builds the model from top-level nodes.
pub fn build_config(nodes: &[Node], d: &mut Diagnostics) -> Config {
    let mut cfg = Config::default();
    for n in nodes {
        if !keywords::accept("(root)", n, d) {
            continue;
        }
        match n.keyword.as_str() {
            "global_defs" => {
                if let Some(c) = block(n, d) {
                    global::build(&mut cfg.global, c, d);
                }
            }
            "static_ipaddress" => {
                if let Some(c) = block(n, d) {
                    cfg.static_ipaddress
                        .extend(c.iter().filter_map(|l| net::address(l, d)));
                }
            }
            "static_routes" => {
                if let Some(c) = block(n, d) {
                    cfg.static_routes
                        .extend(c.iter().filter_map(|l| net::route(l, d)));
                }
            }
            "static_rules" => {
                if let Some(c) = block(n, d) {
                    cfg.static_rules
                        .extend(c.iter().filter_map(|l| net::rule(l, d)));
                }
            }
            "vrrp_script" => {
                if let Some((name, c)) = named_block(n, d) {
                    cfg.vrrp_scripts.push(track::script(name, n, c, d));
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some((name, c)) = named_block(n, d) {
                    cfg.track_files.push(track::file(name, n, c, d));
                }
            }
            "vrrp_track_process" => {
                if let Some((name, c)) = named_block(n, d) {
                    cfg.track_processes.push(track::process(name, n, c, d));
                }
            }
            "vrrp_sync_group" => {
                if let Some((name, c)) = named_block(n, d) {
                    let g = vrrp::sync_group(name, n, c, d);
                    if g.members.is_empty() {
                        // keepalived: "no matching virtual router found ... - removing".
                        d.recover(
                            &n.loc,
                            format!("vrrp_sync_group {name} has no members"),
                            "removing the group",
                        );
                    } else {
                        cfg.sync_groups.push(g);
                    }
                }
            }
            "vrrp_instance" => {
                if let Some((name, c)) = named_block(n, d) {
                    // keepalived's deprecated per-instance form of `lvs_sync_daemon`.
                    if let Some(l) = c.iter().find(|l| l.keyword == "lvs_sync_daemon_interface") {
                        global::instance_sync_daemon(&mut cfg.global, name, l, d);
                    }
                    cfg.instances.push(std::sync::Arc::new(vrrp::instance(
                        name,
                        n,
                        c,
                        &cfg.global,
                        d,
                    )));
                }
            }
            "virtual_server_group" => {
                if let Some((name, c)) = named_block(n, d) {
                    cfg.virtual_server_groups.push(lvs::group(name, n, c, d));
                }
            }
            "virtual_server" => {
                if let Some(c) = block(n, d) {
                    if let Some(vs) = lvs::virtual_server(n, c, d) {
                        cfg.virtual_servers.push(vs);
                    }
                }
            }
            "net_namespace" => cfg.net_namespace = values::arg(n, 0, d).map(str::to_string),
            "bfd_instance" => {
                if let Some((name, c)) = named_block(n, d) {
                    cfg.bfd_instances.push(bfd::instance(name, n, c, d));
                }
            }
            _ => not_handled(n, d),
        }
    }
    net::number_rules(&mut cfg, d);
    global::resolve_sync_daemon(&mut cfg, d);
    cfg
}

/// The children of a block keyword, or an error when it has no `{ }`.
fn block<'n>(n: &'n Node, d: &mut Diagnostics) -> Option<&'n [Node]> {
    match &n.children {
        Some(c) => Some(c),
        None => {
            d.error(
                &n.loc,
                format!("'{}' must be followed by a {{ ... }} block", n.keyword),
            );
            None
        }
    }
}

/// `keyword NAME { ... }`.
fn named_block<'n>(n: &'n Node, d: &mut Diagnostics) -> Option<(&'n str, &'n [Node])> {
    let c = block(n, d)?;
    match n.arg(0) {
        Some(name) => Some((name, c)),
        None => {
            d.error(&n.loc, format!("'{}' needs a name", n.keyword));
            None
        }
    }
}

/// A keyword the registry marks implemented but its builder does not handle: a bug of ours,
/// reported so that it is never silent (the registry test catches it first).
fn not_handled(n: &Node, d: &mut Diagnostics) {
    d.warning(
        &n.loc,
        format!(
            "'{}' is registered as implemented but was not handled (keepalived-rs bug; ignored)",
            n.keyword
        ),
    );
}

/// Records the keyword location into `spans`.
fn span(spans: &mut Spans, n: &Node) {
    spans.set(&n.keyword, &n.loc);
}

/// `track_* { NAME [weight W [reverse|noreverse]] ... }`.
fn track_refs(n: &Node, d: &mut Diagnostics, wmin: i32, wmax: i32) -> Vec<TrackRef> {
    let mut out = Vec::new();
    let Some(children) = block(n, d) else {
        return out;
    };
    for c in children {
        let mut r = TrackRef {
            name: c.keyword.clone(),
            weight: None,
            reverse: false,
            noreverse: false,
            loc: c.loc.clone(),
        };
        let mut i = 0;
        while let Some(a) = c.arg(i) {
            match a {
                "weight" => {
                    i += 1;
                    match c.arg(i) {
                        Some(w) => r.weight = values::int_in(&c.loc, "weight", w, wmin, wmax, d),
                        None => d.error(&c.loc, format!("{}: 'weight' needs a value", c.keyword)),
                    }
                }
                "reverse" => r.reverse = true,
                "noreverse" => r.noreverse = true,
                other => {
                    // A second name on the same line: `track_script { a b }`.
                    out.push(TrackRef {
                        name: other.to_string(),
                        weight: None,
                        reverse: false,
                        noreverse: false,
                        loc: c.loc.clone(),
                    });
                }
            }
            i += 1;
        }
        out.push(r);
    }
    out
}
