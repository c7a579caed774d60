//! Address, route and rule lines in `ip` syntax.

use super::super::diag::Diagnostics;
use super::super::model::{AddressSpec, Broadcast, RouteSpec, RouteType, RuleSpec, Scope};
use super::super::tree::Node;
use super::super::values;
use ipnet::IpNet;

/// All words of a line: the keyword is the first word (an address or a route keyword).
fn words(n: &Node) -> Vec<&str> {
    std::iter::once(n.keyword.as_str())
        .chain(n.arg_texts())
        .collect()
}

/// Parses `scope` words.
pub fn scope(n: &Node, s: &str, d: &mut Diagnostics) -> Option<Scope> {
    Some(match s {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        other => match other.parse::<u8>() {
            Ok(v) => Scope::Other(v),
            Err(_) => {
                d.bad_value(&n.loc, format!("scope: '{other}' is not a valid scope"));
                return None;
            }
        },
    })
}

/// One `virtual_ipaddress` / `static_ipaddress` line.
pub fn address(n: &Node, d: &mut Diagnostics) -> Option<AddressSpec> {
    // keepalived logs a bad address line and skips it.
    d.with_recovery("skipping this address", |d| address_line(n, d))
}

fn address_line(n: &Node, d: &mut Diagnostics) -> Option<AddressSpec> {
    let w = words(n);
    let addr = values::prefix(&n.loc, "address", w[0], d)?;
    let mut a = AddressSpec::new(addr, n.loc.clone());
    let mut i = 1;
    let mut ok = true;
    while i < w.len() {
        let key = w[i];
        let takes_value = matches!(
            key,
            "brd"
                | "broadcast"
                | "dev"
                | "scope"
                | "label"
                | "peer"
                | "preferred_lft"
                | "track_group"
        );
        let val = if takes_value {
            i += 1;
            match w.get(i) {
                Some(v) => Some(*v),
                None => {
                    d.bad_value(&n.loc, format!("address {}: '{key}' needs a value", w[0]));
                    return None;
                }
            }
        } else {
            None
        };
        match (key, val) {
            ("brd" | "broadcast", Some(v)) => {
                a.broadcast = match v {
                    "+" => Some(Broadcast::Computed),
                    "-" => Some(Broadcast::None),
                    v => values::ip(&n.loc, "brd", v, d).map(Broadcast::Addr),
                };
                ok &= a.broadcast.is_some();
            }
            ("dev", Some(v)) => a.dev = Some(v.to_string()),
            ("scope", Some(v)) => {
                a.scope = scope(n, v, d);
                ok &= a.scope.is_some();
            }
            ("label", Some(v)) => a.label = Some(v.to_string()),
            ("peer", Some(v)) => {
                a.peer = values::prefix(&n.loc, "peer", v, d);
                ok &= a.peer.is_some();
            }
            ("preferred_lft", Some(v)) => {
                a.preferred_lft = if v == "forever" {
                    None
                } else {
                    values::int_in(&n.loc, "preferred_lft", v, 0, u32::MAX, d)
                };
            }
            ("track_group", Some(v)) => a.track_group = Some(v.to_string()),
            ("no_track", _) => a.no_track = true,
            ("-nodad" | "nodad", _) => a.nodad = true,
            ("noprefixroute", _) => a.noprefixroute = true,
            ("home", _) => a.home = true,
            ("use_vmac", _) => a.use_vmac = true,
            ("mngtmpaddr" | "autojoin", _) => {}
            (other, _) => {
                d.bad_value(
                    &n.loc,
                    format!("address {}: unknown option '{other}'", w[0]),
                );
                ok = false;
            }
        }
        i += 1;
    }
    ok.then_some(a)
}

/// One route line: `[type] DEST [via GW] [dev IF] [src IP] [table N] [metric N] ...`.
pub fn route(n: &Node, d: &mut Diagnostics) -> Option<RouteSpec> {
    // keepalived logs a bad route line and skips it.
    d.with_recovery("skipping this route", |d| route_line(n, d))
}

fn route_line(n: &Node, d: &mut Diagnostics) -> Option<RouteSpec> {
    let w = words(n);
    let mut i = 0;
    let mut route_type = RouteType::Unicast;
    let mut r = RouteSpec {
        to: IpNet::default(),
        route_type,
        via: None,
        dev: None,
        src: None,
        table: None,
        metric: None,
        scope: None,
        protocol: None,
        no_track: false,
        options: Vec::new(),
        loc: n.loc.clone(),
    };
    let mut to_set = false;
    let mut ok = true;
    while i < w.len() {
        let key = w[i];
        let next = w.get(i + 1).copied();
        let mut need = |i: &mut usize| -> Option<&str> {
            *i += 1;
            if next.is_none() {
                d.bad_value(&n.loc, format!("route: '{key}' needs a value"));
            }
            next
        };
        match key {
            "blackhole" => route_type = RouteType::Blackhole,
            "unreachable" => route_type = RouteType::Unreachable,
            "prohibit" => route_type = RouteType::Prohibit,
            "throw" => route_type = RouteType::Throw,
            "to" => {
                let v = need(&mut i)?;
                r.to = destination(n, v, d)?;
                to_set = true;
            }
            "via" | "gw" => {
                let v = need(&mut i)?;
                let v = v.strip_prefix("inet6 ").unwrap_or(v);
                r.via = values::ip(&n.loc, "via", v, d);
                ok &= r.via.is_some();
            }
            "src" => {
                let v = need(&mut i)?;
                r.src = values::ip(&n.loc, "src", v, d);
                ok &= r.src.is_some();
            }
            "dev" | "oif" => r.dev = need(&mut i).map(str::to_string),
            "table" => {
                let v = need(&mut i)?;
                r.table = table(n, v, d);
                ok &= r.table.is_some();
            }
            "metric" | "priority" | "preference" => {
                let v = need(&mut i)?;
                r.metric = values::int_in(&n.loc, key, v, 0, u32::MAX, d);
                ok &= r.metric.is_some();
            }
            "scope" => {
                let v = need(&mut i)?;
                r.scope = scope(n, v, d);
                ok &= r.scope.is_some();
            }
            "protocol" | "proto" => r.protocol = need(&mut i).map(str::to_string),
            "no_track" => r.no_track = true,
            "inet6" | "inet" => {}
            w0 if !to_set
                && (w0 == "default" || w0.contains('.') || w0.contains(':') || w0 == "0/0") =>
            {
                r.to = destination(n, w0, d)?;
                to_set = true;
            }
            other => r.options.push(other.to_string()),
        }
        i += 1;
    }
    if !to_set {
        d.bad_value(&n.loc, "route: missing destination");
        return None;
    }
    r.route_type = route_type;
    ok.then_some(r)
}

fn destination(n: &Node, s: &str, d: &mut Diagnostics) -> Option<IpNet> {
    match s {
        "default" | "0/0" | "any" => Some(IpNet::V4(Default::default())),
        s => values::prefix(&n.loc, "route destination", s, d),
    }
}

/// Route table: number or the names `main`, `local`, `default`.
fn table(n: &Node, s: &str, d: &mut Diagnostics) -> Option<u32> {
    match s {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        s => values::int_in(&n.loc, "table", s, 0, u32::MAX, d),
    }
}

/// One rule line: `from X to Y table N priority P fwmark M[/MASK] iif IF oif IF`.
pub fn rule(n: &Node, d: &mut Diagnostics) -> Option<RuleSpec> {
    // keepalived logs a bad rule line and skips it.
    d.with_recovery("skipping this rule", |d| rule_line(n, d))
}

fn rule_line(n: &Node, d: &mut Diagnostics) -> Option<RuleSpec> {
    let w = words(n);
    let mut r = RuleSpec {
        from: None,
        to: None,
        table: None,
        priority: None,
        fwmark: None,
        iif: None,
        oif: None,
        inet6: false,
        no_track: false,
        options: Vec::new(),
        loc: n.loc.clone(),
    };
    let mut i = 0;
    let mut ok = true;
    while i < w.len() {
        let key = w[i];
        let takes = matches!(
            key,
            "from"
                | "to"
                | "table"
                | "lookup"
                | "preference"
                | "priority"
                | "order"
                | "prio"
                | "fwmark"
                | "iif"
                | "oif"
        );
        let val = if takes {
            i += 1;
            match w.get(i) {
                Some(v) => *v,
                None => {
                    d.bad_value(&n.loc, format!("rule: '{key}' needs a value"));
                    return None;
                }
            }
        } else {
            ""
        };
        match key {
            "from" => {
                r.from = if val == "all" {
                    None
                } else {
                    values::prefix(&n.loc, "from", val, d)
                };
                ok &= val == "all" || r.from.is_some();
            }
            "to" => {
                r.to = if val == "all" {
                    None
                } else {
                    values::prefix(&n.loc, "to", val, d)
                };
                ok &= val == "all" || r.to.is_some();
            }
            "table" | "lookup" => {
                r.table = table(n, val, d);
                ok &= r.table.is_some();
            }
            "preference" | "priority" | "order" | "prio" => {
                r.priority = values::int_in(&n.loc, key, val, 0, u32::MAX, d);
                ok &= r.priority.is_some();
            }
            "fwmark" => {
                let (m, mask) = match val.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (val, None),
                };
                let m = parse_u32(m);
                let k = mask.map(parse_u32);
                match (m, k) {
                    (Some(m), None) => r.fwmark = Some((m, None)),
                    (Some(m), Some(Some(k))) => r.fwmark = Some((m, Some(k))),
                    _ => {
                        d.bad_value(&n.loc, format!("rule: fwmark '{val}' is not a number"));
                        ok = false;
                    }
                }
            }
            "iif" => r.iif = Some(val.to_string()),
            "oif" => r.oif = Some(val.to_string()),
            "inet6" => r.inet6 = true,
            "no_track" => r.no_track = true,
            other => r.options.push(other.to_string()),
        }
        i += 1;
    }
    ok.then_some(r)
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}
