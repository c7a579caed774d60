//! Address, route and rule lines in `ip` syntax.

use super::super::diag::{Diagnostics, Location};
use super::super::model::{
    AddressSpec, Broadcast, Encap, EncapIp, NextHop, RouteAttrs, RouteMode, RouteSpec, RouteType,
    RuleAction, RuleSelectors, RuleSpec, Scope,
};
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

/// A note on a route or rule line: keepalived's own recoveries (they say "as keepalived ...
/// does") are recoveries (errors under `--strict`); the rest (deprecations, what keepalived-rs
/// does not support) are warnings.
fn note(d: &mut Diagnostics, loc: &Location, what: &str, m: String) {
    if m.contains("as keepalived") {
        d.recovery_note(loc, format!("{what}: {m}"));
    } else {
        d.warning(loc, format!("{what}: {m}"));
    }
}

/// A route or rule line that is not installed: what keepalived-rs does not support is a
/// warning; a line keepalived also refuses is skipped as keepalived does (a recovery).
fn refuse(d: &mut Diagnostics, loc: &Location, what: &str, e: Refusal) {
    if e.contains("not supported by keepalived-rs") {
        d.warning(loc, format!("{what}: {e}"));
    } else {
        let e = e
            .trim_end_matches(&format!(": the {what} is not installed"))
            .to_string();
        d.recover(
            loc,
            format!("{what}: {e}"),
            format!("the {what} is not installed"),
        );
    }
}

/// Reads the words of a route or rule line (notes pushed, a refusal as the error).
type LineParser<T> = fn(Vec<&str>, &mut Vec<String>, Location) -> Result<T, Refusal>;

/// One `what` line (route or rule) read by `parse`: its notes reported, and a line that cannot
/// be installed as written reported and skipped.
fn line<T>(n: &Node, d: &mut Diagnostics, what: &str, parse: LineParser<T>) -> Option<T> {
    let mut notes = Vec::new();
    let r = parse(words(n), &mut notes, n.loc.clone());
    for m in notes {
        note(d, &n.loc, what, m);
    }
    match r {
        Ok(r) => Some(r),
        Err(e) => {
            refuse(d, &n.loc, what, e);
            None
        }
    }
}

/// keepalived-rs does not watch a `what` (route or rule) line's `track_group`: said, with
/// what is lost.
fn track_group_note(what: &str, track_group: &Option<String>, notes: &mut Vec<String>) {
    if track_group.is_some() {
        notes.push(format!(
            "track_group is not supported by keepalived-rs: the {what} is installed, but its \
             removal does not put the group's instances in FAULT"
        ));
    }
}

/// keepalived's (and iproute2's) `RTPROT_KEEPALIVED`.
const RTPROT_KEEPALIVED: u8 = 18;

/// A problem that makes a route or rule line unusable: reported once as a located warning
/// saying the line is not installed (keepalived 2.2.7 logs and skips such a line too, except
/// where it would install it wider than written: then we skip it all the same).
type Refusal = String;

fn unsupported(what: &str, obj: &str) -> Refusal {
    format!("`{what}` is not supported by keepalived-rs: the {obj} is not installed")
}

/// The word cursor of a route or rule line.
struct Words<'a> {
    w: Vec<&'a str>,
    i: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.w.get(self.i).copied()
    }
    fn next(&mut self) -> Option<&'a str> {
        let v = self.peek();
        if v.is_some() {
            self.i += 1;
        }
        v
    }
    /// The value after keyword `key`.
    fn value(&mut self, key: &str) -> Result<&'a str, Refusal> {
        self.next().ok_or_else(|| format!("'{key}' needs a value"))
    }
    /// `[inet|inet6] ADDR` after `key` (a route's or a nexthop's `via`): the gateway, its
    /// family and the one it names checked against the line's (`what` says which in refusals).
    fn gateway(
        &mut self,
        key: &str,
        fam: &mut Family,
        what: &str,
    ) -> Result<std::net::IpAddr, Refusal> {
        let mut v = self.value(key)?;
        if v == "inet" || v == "inet6" {
            fam.set(v == "inet6", what)?;
            v = self.value(key)?;
        }
        let ip = addr_of(what, v)?;
        fam.set(ip.is_ipv6(), what)?;
        Ok(ip)
    }
    /// `no_track` or `track_group G` (`key`) on a route or rule line.
    fn tracking(
        &mut self,
        key: &str,
        no_track: &mut bool,
        track_group: &mut Option<String>,
    ) -> Result<(), Refusal> {
        if key == "no_track" {
            *no_track = true;
        } else {
            *track_group = Some(self.value(key)?.to_string());
        }
        Ok(())
    }
    /// `[lock] VALUE` of a metric: (locked, value).
    fn locked_value(&mut self, key: &str) -> Result<(bool, &'a str), Refusal> {
        if self.peek() == Some("lock") {
            self.i += 1;
            Ok((true, self.value(key)?))
        } else {
            Ok((false, self.value(key)?))
        }
    }
}

/// An unsigned number as C's `strtoul(s, _, 0)` reads it (decimal, `0x` hex, `0` octal),
/// refusing signs, blanks and trailing characters.
fn num(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn num_max(key: &str, s: &str, max: u64) -> Result<u64, Refusal> {
    match num(s) {
        Some(v) if v <= max => Ok(v),
        _ => Err(format!("{key} '{s}' is invalid (0..{max})")),
    }
}

fn u32_of(key: &str, s: &str) -> Result<u32, Refusal> {
    num_max(key, s, u64::from(u32::MAX)).map(|v| v as u32)
}

/// A name from `/etc/iproute2/FILE` (`NUMBER NAME` lines), else one of `defaults`, else a
/// number up to `max` (keepalived 2.2.7's rttables.c lookup order: number, file, defaults).
fn rt_name(file: &str, s: &str, defaults: &[(u32, &str)], max: u64) -> Option<u32> {
    if let Some(v) = num(s) {
        return (v <= max).then_some(v as u32);
    }
    let text = std::fs::read_to_string(format!("/etc/iproute2/{file}")).unwrap_or_default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 2 && f[1] == s && !f[0].starts_with('#') {
            if let Some(v) = num(f[0]).filter(|v| *v <= max) {
                return Some(v as u32);
            }
        }
    }
    defaults.iter().find(|(_, n)| *n == s).map(|(v, _)| *v)
}

const TABLES: &[(u32, &str)] = &[(253, "default"), (254, "main"), (255, "local")];
const PROTOS: &[(u32, &str)] = &[
    (0, "none"),
    (1, "redirect"),
    (2, "kernel"),
    (3, "boot"),
    (4, "static"),
    (8, "gated"),
    (9, "ra"),
    (10, "mrt"),
    (11, "zebra"),
    (12, "bird"),
    (13, "dnrouted"),
    (14, "xorp"),
    (15, "ntk"),
    (16, "dhcp"),
    (42, "babel"),
];

fn table_of(s: &str) -> Result<u32, Refusal> {
    rt_name("rt_tables", s, TABLES, u64::from(u32::MAX))
        .ok_or_else(|| format!("routing table '{s}' not found"))
}

fn proto_of(s: &str) -> Result<u8, Refusal> {
    rt_name("rt_protos", s, PROTOS, 255)
        .map(|v| v as u8)
        .ok_or_else(|| format!("protocol '{s}' not found or invalid"))
}

fn dsfield_of(s: &str) -> Result<u8, Refusal> {
    rt_name("rt_dsfield", s, &[], 255)
        .map(|v| v as u8)
        .ok_or_else(|| format!("TOS value '{s}' is invalid"))
}

fn scope_of(s: &str) -> Result<Scope, Refusal> {
    const SCOPES: &[(u32, &str)] = &[
        (0, "global"),
        (0, "universe"),
        (255, "nowhere"),
        (254, "host"),
        (253, "link"),
        (200, "site"),
    ];
    let v = rt_name("rt_scopes", s, SCOPES, 255)
        .ok_or_else(|| format!("scope '{s}' not found or invalid"))?;
    Ok(match v {
        0 => Scope::Global,
        200 => Scope::Site,
        253 => Scope::Link,
        254 => Scope::Host,
        255 => Scope::Nowhere,
        v => Scope::Other(v as u8),
    })
}

/// `realms [FROM/]TO` (names from rt_realms, numbers up to 255): `FROM << 16 | TO`.
fn realms_of(s: &str) -> Result<u32, Refusal> {
    let one = |x: &str| rt_name("rt_realms", x, &[], 255);
    let v = match s.split_once('/') {
        Some((a, b)) => one(a).zip(one(b)).map(|(a, b)| (a << 16) | b),
        None => one(s),
    };
    v.ok_or_else(|| format!("invalid realms '{s}'"))
}

/// An IP protocol by name (`/etc/protocols`, then the common ones) or number.
fn ipproto_of(s: &str) -> Result<u8, Refusal> {
    const COMMON: &[(u32, &str)] = &[
        (1, "icmp"),
        (2, "igmp"),
        (4, "ipip"),
        (6, "tcp"),
        (17, "udp"),
        (33, "dccp"),
        (41, "ipv6"),
        (47, "gre"),
        (50, "esp"),
        (51, "ah"),
        (58, "ipv6-icmp"),
        (103, "pim"),
        (132, "sctp"),
        (136, "udplite"),
        (255, "raw"),
    ];
    if let Some(v) = num(s) {
        return u8::try_from(v).map_err(|_| format!("invalid ipproto '{s}'"));
    }
    let text = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut f = line.split_whitespace();
        if let (Some(name), Some(n)) = (f.next(), f.next()) {
            if name == s || f.any(|a| a == s) {
                if let Some(v) = num(n).and_then(|v| u8::try_from(v).ok()) {
                    return Ok(v);
                }
            }
        }
    }
    COMMON
        .iter()
        .find(|(_, n)| *n == s)
        .map(|(v, _)| *v as u8)
        .ok_or_else(|| format!("invalid ipproto '{s}'"))
}

/// A route type name (keepalived's rtntype table) or number.
fn rtntype_of(s: &str) -> Option<u8> {
    Some(match s {
        "unicast" => 1,
        "local" => 2,
        "broadcast" | "brd" => 3,
        "anycast" => 4,
        "multicast" => 5,
        "blackhole" => 6,
        "unreachable" => 7,
        "prohibit" => 8,
        "throw" => 9,
        "nat" => 10,
        "xresolve" => 11,
        _ => return None,
    })
}

/// keepalived's `get_time_rtt`: `N` (raw kernel units), `Nms`, `N[.D]s|sec|secs`; the result in
/// units of 1/`mult` ms, kept within 200 ms .. 120 s as keepalived does (with a warning).
fn rtt_of(key: &str, s: &str, mult: u32, warn: &mut Vec<String>) -> Result<u32, Refusal> {
    let bad = || format!("invalid {key} '{s}'");
    let (number, raw, shift) = match s.find(['s', 'S']) {
        Some(p) => {
            if !matches!(s[p..].to_ascii_lowercase().as_str(), "s" | "sec" | "secs") {
                return Err(bad());
            }
            if p > 0 && s.as_bytes()[p - 1].eq_ignore_ascii_case(&b'm') {
                (&s[..p - 1], false, 0)
            } else {
                (&s[..p], false, 3)
            }
        }
        None => (s, true, 0),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty()
        || frac.len() > shift
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let mut v: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    for k in 0..shift {
        let digit = frac.as_bytes().get(k).map_or(0, |b| u64::from(b - b'0'));
        v = v.saturating_mul(10).saturating_add(digit);
    }
    let (lo, hi) = (200 * u64::from(mult), 120_000 * u64::from(mult));
    if v > hi {
        return Err(bad());
    }
    if !raw {
        v *= u64::from(mult);
    }
    if v > hi {
        warn.push(format!(
            "{key} '{s}' exceeds 120s: {hi} used, as keepalived does"
        ));
        v = hi;
    } else if v < lo {
        warn.push(format!(
            "{key} '{s}' is below 200ms: {lo} used, as keepalived does"
        ));
        v = lo;
    }
    Ok(v as u32)
}

/// An address or prefix with its family checked against the line's.
fn addr_of(key: &str, s: &str) -> Result<std::net::IpAddr, Refusal> {
    s.parse()
        .map_err(|_| format!("{key} '{s}' is not a valid IP address"))
}

/// `ADDR[/LEN]`, `default`, `any`, `all` (None = any, family decided by the rest of the line).
fn prefix_of(key: &str, s: &str) -> Result<Option<IpNet>, Refusal> {
    if matches!(s, "default" | "any" | "all") {
        return Ok(None);
    }
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = addr_of(key, a).map_err(|_| format!("{key} '{s}' is not a valid IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(v) if v <= max => v,
            _ => return Err(format!("{key} '{s}': invalid prefix length")),
        },
    };
    IpNet::new(addr, len)
        .map(Some)
        .map_err(|_| format!("{key} '{s}' is not a valid prefix"))
}

/// The family a line settles on: `Some(true)` = IPv6.
#[derive(Default)]
struct Family(Option<bool>);

impl Family {
    fn set(&mut self, v6: bool, what: &str) -> Result<(), Refusal> {
        match self.0 {
            Some(f) if f != v6 => Err(format!("{what}: cannot mix IPv4 and IPv6")),
            _ => {
                self.0 = Some(v6);
                Ok(())
            }
        }
    }
}

/// One route line (keepalived 2.2.7 `alloc_route` words): `[inet|inet6] [to] [TYPE] DEST
/// [via|gw [inet|inet6] GW] [or GW] [dev IF] [src IP] [from PREFIX] [table T] [metric N]
/// [scope S] [protocol P] [tos T] [onlink] [realms R] [mtu [lock] N] [advmss ...] [rtt ...]
/// ... [pref P] [expires N] [ttl-propagate X] [no_track] [track_group G] [nexthop ...]...`.
/// A line that cannot be installed as written is reported (warning) and skipped.
pub fn route(n: &Node, d: &mut Diagnostics) -> Option<RouteSpec> {
    line(n, d, "route", route_words)
}

// Long by design: one match arm per word of keepalived's route grammar (vrrp_iproute.c), in
// its order, so each keyword's recovery sits next to its parse.
fn route_words(
    w: Vec<&str>,
    notes: &mut Vec<String>,
    loc: crate::config::diag::Location,
) -> Result<RouteSpec, Refusal> {
    let mut c = Words { w, i: 0 };
    let mut r = RouteSpec {
        to: IpNet::default(),
        route_type: RouteType::Unicast,
        via: None,
        dev: None,
        src: None,
        table: None,
        metric: None,
        scope: None,
        protocol: None,
        onlink: false,
        attrs: RouteAttrs::default(),
        no_track: false,
        track_group: None,
        options: Vec::new(),
        loc,
    };
    let mut fam = Family::default();
    let mut dest: Option<Option<IpNet>> = None;
    let mut protocol_given = None;
    let a = &mut r.attrs;
    while let Some(key) = c.next() {
        let start = c.i - 1;
        let mut shown = true;
        match key {
            "inet" => fam.set(false, "inet")?,
            "inet6" => fam.set(true, "inet6")?,
            "src" => {
                let ip = addr_of("src", c.value(key)?)?;
                fam.set(ip.is_ipv6(), "src")?;
                r.src = Some(ip);
                shown = false;
            }
            "as" => {
                // keepalived 2.2.7: "as to" is for MPLS routes only, ignored with a message
                if c.peek() == Some("to") {
                    c.i += 1;
                }
                let v = c.value(key)?;
                notes.push(format!(
                    "\"as to {v}\" is for MPLS routes only: ignored, as keepalived 2.2.7 does"
                ));
                shown = false;
            }
            "via" | "gw" => {
                if key == "gw" {
                    notes.push("\"gw\" for routes is deprecated, use \"via\"".into());
                }
                r.via = Some(c.gateway(key, &mut fam, "via")?);
                shown = false;
            }
            "from" => {
                let v = c.value(key)?;
                let p = prefix_of("from", v)?.ok_or_else(|| format!("from '{v}' is invalid"))?;
                if matches!(p, IpNet::V4(_)) {
                    return Err(format!("route from address only supported with IPv6 ({v})"));
                }
                fam.set(true, "from")?;
                a.from = Some(p);
            }
            "tos" | "dsfield" => a.tos = Some(dsfield_of(c.value(key)?)?),
            "table" => {
                r.table = Some(table_of(c.value(key)?)?);
                shown = false;
            }
            "protocol" | "proto" => {
                protocol_given = Some(proto_of(c.value(key)?)?);
                shown = false;
            }
            "scope" => {
                r.scope = Some(scope_of(c.value(key)?)?);
                shown = false;
            }
            "metric" | "priority" | "preference" => {
                r.metric = Some(u32_of("metric", c.value(key)?)?);
                shown = false;
            }
            "dev" | "oif" => {
                r.dev = Some(c.value(key)?.to_string());
                shown = false;
            }
            "onlink" => r.onlink = true,
            "encap" => a.encap = Some(encap(&mut c)?),
            "expires" => {
                fam.set(true, "expires (IPv6 only)")?;
                a.expires = Some(u32_of("expires", c.value(key)?)?);
            }
            "mtu" | "advmss" | "reordering" | "cwnd" | "ssthresh" => {
                let (lock, v) = c.locked_value(key)?;
                let v = u32_of(key, v)?;
                let (slot, bit) = match key {
                    "mtu" => (&mut a.metrics.mtu, 2),
                    "advmss" => (&mut a.metrics.advmss, 8),
                    "reordering" => (&mut a.metrics.reordering, 9),
                    "cwnd" => (&mut a.metrics.cwnd, 7),
                    _ => (&mut a.metrics.ssthresh, 6),
                };
                *slot = Some(v);
                if lock {
                    a.metrics.lock |= 1 << bit;
                }
            }
            "rtt" | "rttvar" | "rto_min" => {
                let (lock, v) = c.locked_value(key)?;
                let (mult, bit) = match key {
                    "rtt" => (8, 4),
                    "rttvar" => (4, 5),
                    _ => (1, 13),
                };
                let v = rtt_of(key, v, mult, notes)?;
                match key {
                    "rtt" => a.metrics.rtt = Some(v),
                    "rttvar" => a.metrics.rttvar = Some(v),
                    _ => a.metrics.rto_min = Some(v),
                }
                if lock {
                    a.metrics.lock |= 1 << bit;
                }
            }
            "hoplimit" => a.metrics.hoplimit = Some(num_max(key, c.value(key)?, 255)? as u32),
            "window" => a.metrics.window = Some(u32_of(key, c.value(key)?)?),
            "initcwnd" => a.metrics.initcwnd = Some(u32_of(key, c.value(key)?)?),
            "initrwnd" => a.metrics.initrwnd = Some(u32_of(key, c.value(key)?)?),
            "realms" => {
                a.realms = Some(realms_of(c.value(key)?)?);
                fam.set(false, "realms (IPv4 only)")?;
            }
            "features" => match c.value(key)? {
                "ecn" => a.metrics.features |= 1,
                other => notes.push(format!(
                    "feature '{other}' is not supported (only ecn): ignored, as keepalived \
                     2.2.7 does"
                )),
            },
            "quickack" => a.metrics.quickack = Some(num_max(key, c.value(key)?, 1)? as u32),
            "fastopen_no_cookie" => {
                a.metrics.fastopen_no_cookie = Some(num_max(key, c.value(key)?, 1)? as u32)
            }
            "congctl" => {
                let (lock, v) = c.locked_value(key)?;
                a.metrics.congctl = Some(v.to_string());
                if lock {
                    a.metrics.lock |= 1 << 16;
                }
            }
            "pref" => {
                fam.set(true, "pref (IPv6 only)")?;
                a.pref = Some(match c.value(key)? {
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    v => num_max("pref", v, 255)? as u8,
                });
            }
            "ttl-propagate" => {
                a.ttl_propagate = Some(match c.value(key)? {
                    "enabled" => true,
                    "disabled" => false,
                    v => return Err(format!("ttl-propagate value '{v}' not recognised")),
                })
            }
            "add" => a.mode = RouteMode::Add,
            "prepend" => a.mode = RouteMode::Prepend,
            "append" => a.mode = RouteMode::Append,
            "or" => {
                notes.push("\"or\" for routes is deprecated, use \"nexthop\"".into());
                let v = c.value(key)?;
                if !a.nexthops.is_empty() {
                    return Err("a second \"or\" (keepalived ignores it)".into());
                }
                let ip = addr_of("or", v)?;
                fam.set(ip.is_ipv6(), "or")?;
                let first = r.via.take();
                a.nexthops.push(NextHop {
                    via: first,
                    ..Default::default()
                });
                a.nexthops.push(NextHop {
                    via: Some(ip),
                    ..Default::default()
                });
                // shown (dumps) as what it means
                for h in [first, Some(ip)] {
                    r.options.push("nexthop".into());
                    if let Some(g) = h {
                        r.options.extend(["via".to_string(), g.to_string()]);
                    }
                }
                shown = false;
            }
            "nexthop" => {
                if !a.nexthops.is_empty() {
                    return Err("cannot specify nexthops with \"or\"".into());
                }
                c.i -= 1;
                nexthops(&mut c, &mut fam, &mut a.nexthops)?;
                r.options
                    .extend(c.w[start..c.i].iter().map(|s| s.to_string()));
                break;
            }
            "no_track" | "track_group" => {
                c.tracking(key, &mut r.no_track, &mut r.track_group)?;
                shown = false;
            }
            "vrf" => return Err(unsupported("vrf", "route")),
            _ => {
                let mut k = key;
                if k == "to" {
                    k = c.value(key)?;
                }
                if let Some(t) = rtntype_of(k) {
                    r.route_type = match t {
                        1 => RouteType::Unicast,
                        6 => RouteType::Blackhole,
                        7 => RouteType::Unreachable,
                        8 => RouteType::Prohibit,
                        9 => RouteType::Throw,
                        t => RouteType::Other(t),
                    };
                    k = c.value(k)?;
                }
                let p = prefix_of("destination", k)
                    .map_err(|_| format!("unknown route keyword or destination '{k}'"))?;
                if let Some(p) = &p {
                    fam.set(matches!(p, IpNet::V6(_)), "destination")?;
                }
                dest = Some(p);
                shown = false;
            }
        }
        if shown {
            r.options
                .extend(c.w[start..c.i].iter().map(|s| s.to_string()));
        }
    }
    let Some(dest) = dest else {
        return Err("route must have a destination".into());
    };
    let v6 = fam.0.unwrap_or(false);
    r.to = dest.unwrap_or(if v6 {
        IpNet::V6(Default::default())
    } else {
        IpNet::V4(Default::default())
    });
    if r.route_type != RouteType::Unicast && (r.via.is_some() || !r.attrs.nexthops.is_empty()) {
        return Err("a route of this type cannot have a gateway".into());
    }
    // keepalived 2.2.7: a tracked route (no `no_track`) always carries protocol keepalived.
    r.protocol = match protocol_given {
        Some(p) if r.no_track => Some(p),
        Some(p) if p != RTPROT_KEEPALIVED => {
            notes.push(format!(
                "protocol {p}: a route without no_track is installed with protocol keepalived \
                 ({RTPROT_KEEPALIVED}), as keepalived 2.2.7 does"
            ));
            None
        }
        _ => None,
    };
    track_group_note("route", &r.track_group, notes);
    Ok(r)
}

/// `encap mpls L[/L]`, `encap ila LOCATOR`, `encap ip|ip6 [id N] [dst A] [src A] [tos|tc T]
/// [ttl|hoplimit N] [flags N]` (the words after `encap`; keepalived 2.2.7's parse_encap).
fn encap(c: &mut Words) -> Result<Encap, Refusal> {
    let t = c.value("encap")?;
    match t {
        "mpls" => {
            let v = c.value("encap mpls")?;
            let labels: Option<Vec<u32>> = v
                .split('/')
                .map(|l| num(l).filter(|x| *x < 1 << 20).map(|x| x as u32))
                .collect();
            match labels {
                Some(l) if !l.is_empty() && l.len() <= 2 => Ok(Encap::Mpls(l)),
                _ => Err(format!(
                    "invalid mpls address '{v}' for encapsulation (1 or 2 labels)"
                )),
            }
        }
        "ila" => {
            let v = c.value("encap ila")?;
            let groups: Vec<&str> = v.split(':').collect();
            let parsed: Option<Vec<u64>> = groups
                .iter()
                .map(|g| {
                    (!g.is_empty() && g.len() <= 4)
                        .then(|| u64::from_str_radix(g, 16).ok())
                        .flatten()
                })
                .collect();
            match parsed {
                Some(g) if g.len() == 4 => Ok(Encap::Ila(
                    (g[0] << 48) | (g[1] << 32) | (g[2] << 16) | g[3],
                )),
                _ => Err(format!("invalid locator '{v}' for ila encapsulation")),
            }
        }
        "ip" | "ip6" => {
            let v6 = t == "ip6";
            let mut x = EncapIp {
                v6,
                ..Default::default()
            };
            let fam_ok = |a: &std::net::IpAddr| a.is_ipv6() == v6;
            while let Some(k) = c.peek() {
                let known = matches!(k, "id" | "dst" | "src" | "flags")
                    || (!v6 && matches!(k, "tos" | "ttl"))
                    || (v6 && matches!(k, "tc" | "hoplimit"));
                if !known {
                    break;
                }
                c.i += 1;
                let val = c.value(k)?;
                let key = format!("encap {t} {k}");
                match k {
                    "id" => x.id = Some(num_max(&key, val, u64::MAX)?),
                    "dst" | "src" => {
                        let a = addr_of(&key, val)?;
                        if !fam_ok(&a) {
                            return Err(format!("{key} {a}: wrong address family for {t}"));
                        }
                        if k == "dst" {
                            x.dst = Some(a);
                        } else {
                            x.src = Some(a);
                        }
                    }
                    "tos" | "tc" => x.tos = Some(dsfield_of(val)?),
                    "ttl" | "hoplimit" => x.ttl = Some(num_max(&key, val, 255)? as u8),
                    _ => x.flags = Some(num_max(&key, val, 0xffff)? as u16),
                }
            }
            if x.dst.is_none() && x.id.is_none() {
                return Err(format!("address or id missing for {t} encapsulation"));
            }
            Ok(Encap::Ip(x))
        }
        other => Err(format!("unknown encap type '{other}'")),
    }
}

/// `nexthop [via [inet|inet6] A] [dev D] [weight W] [onlink] [realms R] nexthop ...` to the end
/// of the line.
fn nexthops(c: &mut Words, fam: &mut Family, out: &mut Vec<NextHop>) -> Result<(), Refusal> {
    while c.peek() == Some("nexthop") {
        c.i += 1;
        let mut h = NextHop::default();
        while let Some(key) = c.peek() {
            match key {
                "via" => {
                    c.i += 1;
                    h.via = Some(c.gateway(key, fam, "nexthop via")?);
                }
                "dev" => {
                    c.i += 1;
                    h.dev = Some(c.value(key)?.to_string());
                }
                "weight" => {
                    c.i += 1;
                    let v = c.value(key)?;
                    h.weight = Some(match num(v) {
                        Some(w @ 1..=256) => w as u16,
                        _ => return Err(format!("invalid nexthop weight '{v}' (1..256)")),
                    });
                }
                "onlink" => {
                    c.i += 1;
                    h.onlink = true;
                }
                "realms" => {
                    c.i += 1;
                    h.realms = Some(realms_of(c.value(key)?)?);
                    fam.set(false, "nexthop realms (IPv4 only)")?;
                }
                "encap" => {
                    c.i += 1;
                    h.encap = Some(encap(c)?);
                }
                "as" => return Err(unsupported("nexthop as [to]", "route")),
                _ => break,
            }
        }
        out.push(h);
    }
    match c.peek() {
        Some(t) => Err(format!("trailing '{t}' after the nexthops")),
        None => Ok(()),
    }
}

/// One rule line (keepalived 2.2.7 `alloc_rule` words): selectors `[not] [inet|inet6] from to
/// tos|dsfield fwmark M[/K] iif|dev oif priority|preference|order realms uidrange l3mdev
/// protocol ipproto sport dport suppress_prefixlength suppress_ifgroup tunnel-id` and one
/// action `table|lookup T`, `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit`
/// (`type X`). A line that cannot be installed as written is reported (warning) and skipped.
pub fn rule(n: &Node, d: &mut Diagnostics) -> Option<RuleSpec> {
    line(n, d, "rule", rule_words)
}

fn port_range(key: &str, s: &str) -> Result<(u16, u16), Refusal> {
    let p = |x: &str| x.parse::<u16>().ok();
    let r = match s.split_once('-') {
        Some((a, b)) => p(a).zip(p(b)),
        None => p(s).map(|v| (v, v)),
    };
    match r {
        Some((a, b)) if a <= b => Ok((a, b)),
        _ => Err(format!("invalid {key} range '{s}'")),
    }
}

// Long by design: one match arm per word of keepalived's rule grammar (vrrp_iprule.c), in
// its order, so each keyword's recovery sits next to its parse.
fn rule_words(
    w: Vec<&str>,
    notes: &mut Vec<String>,
    loc: crate::config::diag::Location,
) -> Result<RuleSpec, Refusal> {
    let mut c = Words { w, i: 0 };
    let mut r = RuleSpec {
        from: None,
        to: None,
        table: None,
        priority: None,
        fwmark: None,
        iif: None,
        oif: None,
        inet6: false,
        action: RuleAction::Table,
        sel: RuleSelectors::default(),
        no_track: false,
        track_group: None,
        options: Vec::new(),
        loc,
    };
    let mut fam = Family::default();
    let mut action: Option<RuleAction> = None;
    let mut table_option = false;
    let mut protocol_given = None;
    let set_action = |a: RuleAction, action: &mut Option<RuleAction>| {
        if action.is_some() {
            return Err(
                "cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/\
                 l3mdev"
                    .to_string(),
            );
        }
        *action = Some(a);
        Ok(())
    };
    let s = &mut r.sel;
    while let Some(key) = c.next() {
        let start = c.i - 1;
        let mut shown = true;
        match key {
            "inet" => fam.set(false, "inet")?,
            "inet6" => {
                fam.set(true, "inet6")?;
                r.inet6 = true;
                shown = false;
            }
            "from" | "to" => {
                let v = c.value(key)?;
                let p = prefix_of(key, v)?;
                if let Some(p) = &p {
                    fam.set(matches!(p, IpNet::V6(_)), key)?;
                }
                if key == "from" {
                    r.from = p;
                } else {
                    r.to = p;
                }
                shown = false;
            }
            "table" | "lookup" => {
                let t = table_of(c.value(key)?)?;
                if t == 0 {
                    return Err("table 0 is not valid".into());
                }
                r.table = Some(t);
                set_action(RuleAction::Table, &mut action)?;
                shown = false;
            }
            "not" => s.invert = true,
            "preference" | "priority" | "order" | "pref" | "prio" => {
                r.priority = Some(u32_of("preference", c.value(key)?)?);
                shown = false;
            }
            "tos" | "dsfield" => s.tos = Some(dsfield_of(c.value(key)?)?),
            "fwmark" => {
                let v = c.value(key)?;
                let (m, k) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                let bad = || format!("invalid rule fwmark '{v}'");
                let m = u32_of("fwmark", m).map_err(|_| bad())?;
                let k = k
                    .map(|k| u32_of("fwmark", k).map_err(|_| bad()))
                    .transpose()?;
                r.fwmark = Some((m, k));
                shown = false;
            }
            "realms" => {
                s.realms = Some(realms_of(c.value(key)?)?);
                table_option = true;
                fam.set(false, "realms (IPv4 only)")?;
            }
            "suppress_prefixlength" | "sup_pl" => {
                s.suppress_prefixlength =
                    Some(num_max(key, c.value(key)?, i32::MAX as u64)? as u32);
                table_option = true;
            }
            "suppress_ifgroup" | "sup_group" => {
                let v = c.value(key)?;
                s.suppress_ifgroup = Some(
                    rt_name("group", v, &[(0, "default")], i32::MAX as u64)
                        .ok_or_else(|| format!("suppress_ifgroup '{v}' is invalid"))?,
                );
                table_option = true;
            }
            "dev" | "iif" => {
                r.iif = Some(c.value(key)?.to_string());
                shown = false;
            }
            "oif" => {
                r.oif = Some(c.value(key)?.to_string());
                shown = false;
            }
            "tunnel-id" => s.tunnel_id = Some(num_max(key, c.value(key)?, u64::MAX)?),
            "uidrange" => {
                let v = c.value(key)?;
                let p = |x: &str| x.parse::<u32>().ok();
                s.uidrange = match v.split_once('-') {
                    Some((a, b)) => p(a).zip(p(b)).filter(|(a, b)| a <= b),
                    None => None,
                };
                if s.uidrange.is_none() {
                    return Err(format!("invalid uidrange '{v}' (START-END)"));
                }
            }
            "l3mdev" => {
                s.l3mdev = true;
                set_action(RuleAction::Table, &mut action)?;
            }
            "protocol" => {
                let v = c.value(key)?;
                match num_max(key, v, 255) {
                    Ok(p) => protocol_given = Some(p as u8),
                    // keepalived 2.2.7 logs it and carries on (a tracked rule gets protocol
                    // keepalived anyway)
                    Err(e) => notes.push(format!("{e}: ignored, as keepalived 2.2.7 does")),
                }
            }
            "ipproto" => s.ipproto = Some(ipproto_of(c.value(key)?)?),
            "sport" => s.sport = Some(port_range(key, c.value(key)?)?),
            "dport" => s.dport = Some(port_range(key, c.value(key)?)?),
            "no_track" | "track_group" => {
                c.tracking(key, &mut r.no_track, &mut r.track_group)?;
                shown = false;
            }
            _ => {
                let k = if key == "type" { c.value(key)? } else { key };
                let a = match k {
                    "goto" => {
                        let v = c.value(k)?;
                        RuleAction::Goto(u32_of("goto target", v)?)
                    }
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    k if rtntype_of(k).is_some() => {
                        return Err(format!("invalid rule action '{k}'"))
                    }
                    k => return Err(format!("unknown rule option '{k}'")),
                };
                set_action(a, &mut action)?;
            }
        }
        if shown {
            r.options
                .extend(c.w[start..c.i].iter().map(|s| s.to_string()));
        }
    }
    let Some(action) = action else {
        return Err("no action specified (table, goto, nop, blackhole ...)".into());
    };
    if let RuleAction::Goto(target) = action {
        match r.priority {
            Some(p) if p < target => {}
            Some(p) => return Err(format!("preference {p} >= goto target {target}")),
            None => return Err(format!("goto target {target} specified without preference")),
        }
    }
    if !matches!(action, RuleAction::Table) && table_option {
        return Err("suppressor/realms specified for a non-table action".into());
    }
    if r.sel.l3mdev && r.table.is_some() {
        return Err("table cannot be specified for l3mdev rules".into());
    }
    r.action = action;
    // keepalived 2.2.7: a tracked rule (no `no_track`) always carries protocol keepalived.
    r.sel.protocol = if r.no_track {
        protocol_given
    } else {
        if protocol_given.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            notes.push(format!(
                "protocol: a rule without no_track is installed with protocol keepalived \
                 ({RTPROT_KEEPALIVED}), as keepalived 2.2.7 does"
            ));
        }
        Some(RTPROT_KEEPALIVED)
    };
    if fam.0 == Some(true) {
        r.inet6 = true;
    }
    track_group_note("rule", &r.track_group, notes);
    Ok(r)
}

/// keepalived 2.2.7 gives every rule written without a preference one of its own, counting
/// down from 16384 per family in the order of the configuration (with a warning); the kernel
/// would otherwise put it just before the second rule it has. Static rules and each
/// instance's virtual rules are numbered in file/line order.
pub fn number_rules(cfg: &mut super::super::model::Config, d: &mut Diagnostics) {
    let mut all: Vec<&mut RuleSpec> = cfg.static_rules.iter_mut().collect();
    for i in cfg.instances.iter_mut() {
        if i.virtual_rules.iter().any(|r| r.priority.is_none()) {
            all.extend(std::sync::Arc::make_mut(i).virtual_rules.iter_mut());
        }
    }
    all.sort_by(|a, b| a.loc.cmp(&b.loc));
    let (mut v4, mut v6) = (16384u32, 16384u32);
    for r in all.into_iter().filter(|r| r.priority.is_none()) {
        let next = if rule_is_v6(r) { &mut v6 } else { &mut v4 };
        r.priority = Some(*next);
        d.recovery_note(
            &r.loc,
            format!(
                "rule: no preference given: {} used, as keepalived 2.2.7 does",
                *next
            ),
        );
        *next = next.saturating_sub(1);
    }
}

fn rule_is_v6(r: &RuleSpec) -> bool {
    match (&r.from, &r.to) {
        (Some(n), _) | (None, Some(n)) => matches!(n, IpNet::V6(_)),
        (None, None) => r.inet6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use crate::netlink::{NextHop, RouteMetrics};

    fn load(body: &str) -> crate::config::Loaded {
        load_str("t.conf", body, &LoadOptions::default())
    }

    /// The static routes of `lines`, and the diagnostics as text.
    fn routes(lines: &str) -> (Vec<RouteSpec>, Vec<String>) {
        let l = load(&format!("static_routes {{\n{lines}\n}}\n"));
        let d = l.diagnostics.iter().map(|d| d.to_string()).collect();
        (l.config.static_routes.clone(), d)
    }

    fn rules(lines: &str) -> (Vec<RuleSpec>, Vec<String>) {
        let l = load(&format!("static_rules {{\n{lines}\n}}\n"));
        let d = l.diagnostics.iter().map(|d| d.to_string()).collect();
        (l.config.static_rules.clone(), d)
    }

    fn one_route(line: &str) -> RouteSpec {
        let (r, d) = routes(line);
        assert_eq!(r.len(), 1, "{line}: {d:?}");
        r.into_iter().next().unwrap()
    }

    fn one_rule(line: &str) -> RuleSpec {
        let (r, d) = rules(line);
        assert_eq!(r.len(), 1, "{line}: {d:?}");
        r.into_iter().next().unwrap()
    }

    fn refused_route(line: &str, why: &str) {
        let (r, d) = routes(line);
        assert!(r.is_empty(), "{line} was accepted: {r:?}");
        assert!(
            d.iter().any(|m| m.contains("t.conf:2: warning: route:")
                && m.contains(why)
                && m.contains("not installed")),
            "{line}: {d:?}"
        );
    }

    fn refused_rule(line: &str, why: &str) {
        let (r, d) = rules(line);
        assert!(r.is_empty(), "{line} was accepted: {r:?}");
        assert!(
            d.iter().any(|m| m.contains("t.conf:2: warning: rule:")
                && m.contains(why)
                && m.contains("not installed")),
            "{line}: {d:?}"
        );
    }

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn route_basics_and_type() {
        let r = one_route(
            "blackhole 10.9.0.0/16 table 100 metric 7 protocol static no_track scope link",
        );
        assert_eq!(r.route_type, RouteType::Blackhole);
        assert_eq!(r.to, "10.9.0.0/16".parse::<IpNet>().unwrap());
        assert_eq!((r.table, r.metric), (Some(100), Some(7)));
        assert_eq!(r.protocol, Some(4));
        assert_eq!(r.scope, Some(Scope::Link));
        let r = one_route("to local 10.1.1.1 dev lo table local");
        assert_eq!(r.route_type, RouteType::Other(2));
        assert_eq!(r.table, Some(255));
        // a tracked route gets protocol keepalived whatever is written (keepalived 2.2.7)
        let (r, d) = routes("10.0.0.0/8 dev eth0 protocol static");
        assert_eq!(r[0].protocol, None);
        assert!(d.iter().any(|m| m.contains("protocol keepalived")), "{d:?}");
        // `default` takes the family of the gateway
        let r = one_route("default via fd00::1 dev eth0");
        assert_eq!(r.to, "::/0".parse::<IpNet>().unwrap());
        let r = one_route("inet6 default dev eth0");
        assert_eq!(r.to, "::/0".parse::<IpNet>().unwrap());
        let r = one_route("default dev eth0 src 10.0.0.5 onlink");
        assert_eq!(r.to, "0.0.0.0/0".parse::<IpNet>().unwrap());
        assert!(r.onlink);
        assert_eq!(r.src, Some(ip("10.0.0.5")));
    }

    #[test]
    fn route_metrics_options() {
        let r = one_route(
            "10.2.0.0/16 via 10.0.0.1 mtu lock 1400 advmss 1360 hoplimit 9 window 3000 \
             cwnd lock 12 ssthresh 20 reordering 4 initcwnd 10 initrwnd 20 rtt 300ms \
             rttvar 1s rto_min lock 250ms features ecn quickack 1 fastopen_no_cookie 1 \
             congctl lock cubic realms 3/4 tos 0x10",
        );
        let m = &r.attrs.metrics;
        let want = RouteMetrics {
            mtu: Some(1400),
            window: Some(3000),
            rtt: Some(300 * 8),
            rttvar: Some(1000 * 4),
            ssthresh: Some(20),
            cwnd: Some(12),
            advmss: Some(1360),
            reordering: Some(4),
            hoplimit: Some(9),
            initcwnd: Some(10),
            features: 1,
            rto_min: Some(250),
            initrwnd: Some(20),
            quickack: Some(1),
            congctl: Some("cubic".into()),
            fastopen_no_cookie: Some(1),
            lock: (1 << 2) | (1 << 7) | (1 << 13) | (1 << 16),
        };
        assert_eq!(m, &want);
        assert_eq!(r.attrs.realms, Some((3 << 16) | 4));
        assert_eq!(r.attrs.tos, Some(0x10));
        assert_eq!(r.via, Some(ip("10.0.0.1")));
        // the options are kept as written for dumps
        assert_eq!(r.options[0..3], ["mtu", "lock", "1400"]);
        // raw rtt is in kernel units, clamped to 200 ms as keepalived does
        let (r, d) = routes("10.3.0.0/16 dev eth0 rtt 100 rto_min 1.5s");
        assert_eq!(r[0].attrs.metrics.rtt, Some(1600));
        assert_eq!(r[0].attrs.metrics.rto_min, Some(1500));
        assert!(d.iter().any(|m| m.contains("below 200ms")), "{d:?}");
        // IPv6-only options
        let r = one_route("fd00:5::/64 dev eth0 pref high expires 300 from fd00:9::/64");
        assert_eq!(r.attrs.pref, Some(1));
        assert_eq!(r.attrs.expires, Some(300));
        assert_eq!(r.attrs.from, Some("fd00:9::/64".parse().unwrap()));
    }

    #[test]
    fn multipath_routes() {
        let r = one_route(
            "10.4.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 2 nexthop via 10.0.1.1 dev eth1 onlink",
        );
        assert_eq!(
            r.attrs.nexthops,
            vec![
                NextHop {
                    via: Some(ip("10.0.0.1")),
                    dev: Some("eth0".into()),
                    weight: Some(2),
                    ..Default::default()
                },
                NextHop {
                    via: Some(ip("10.0.1.1")),
                    dev: Some("eth1".into()),
                    onlink: true,
                    ..Default::default()
                },
            ]
        );
        assert_eq!(r.via, None);
        // keepalived's old `via A or B`: two nexthops
        let (r, d) = routes("192.168.113.0/24 via 192.168.100.252 or 192.168.100.253");
        assert_eq!(
            r[0].attrs
                .nexthops
                .iter()
                .map(|n| n.via.unwrap())
                .collect::<Vec<_>>(),
            [ip("192.168.100.252"), ip("192.168.100.253")]
        );
        assert_eq!(r[0].via, None);
        assert_eq!(
            r[0].options.join(" "),
            "nexthop via 192.168.100.252 nexthop via 192.168.100.253"
        );
        assert!(d.iter().any(|m| m.contains("deprecated")), "{d:?}");
        refused_route(
            "10.4.0.0/16 nexthop via 10.0.0.1 weight 0",
            "invalid nexthop weight",
        );
        refused_route(
            "10.4.0.0/16 nexthop via 10.0.0.1 bogus 3",
            "trailing 'bogus'",
        );
        refused_route("10.4.0.0/16 nexthop via fd00::1", "cannot mix");
        // `via inet|inet6 ADDR`, on the route and on a nexthop: the word names the family.
        assert_eq!(
            one_route("fd00:1::/64 via inet6 fd00::1").via,
            Some(ip("fd00::1"))
        );
        let r = one_route("10.4.0.0/16 nexthop via inet 10.0.0.1");
        assert_eq!(r.attrs.nexthops[0].via, Some(ip("10.0.0.1")));
        refused_route("10.4.0.0/16 via inet6 10.0.0.1", "cannot mix");
        refused_route("10.4.0.0/16 nexthop via inet6 10.0.0.1", "cannot mix");
    }

    #[test]
    fn route_encap_and_mode() {
        let r = one_route(
            "10.5.0.0/16 via 10.0.0.1 encap ip id 5 dst 1.2.3.4 src 1.2.3.5 tos 8 ttl 9 flags 1 \
             dev eth0 append",
        );
        assert_eq!(
            r.attrs.encap,
            Some(Encap::Ip(EncapIp {
                v6: false,
                id: Some(5),
                dst: Some(ip("1.2.3.4")),
                src: Some(ip("1.2.3.5")),
                tos: Some(8),
                ttl: Some(9),
                flags: Some(1),
            }))
        );
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        assert_eq!(r.attrs.mode, RouteMode::Append);
        let r = one_route("10.5.0.0/16 encap ip6 id 6 dst fd00::4 tc 3 hoplimit 2 dev eth0 add");
        assert_eq!(
            r.attrs.encap,
            Some(Encap::Ip(EncapIp {
                v6: true,
                id: Some(6),
                dst: Some(ip("fd00::4")),
                tos: Some(3),
                ttl: Some(2),
                ..Default::default()
            }))
        );
        assert_eq!(r.attrs.mode, RouteMode::Add);
        let r = one_route("10.5.0.0/16 encap mpls 100/200 via 10.0.0.1");
        assert_eq!(r.attrs.encap, Some(Encap::Mpls(vec![100, 200])));
        assert_eq!(r.attrs.mode, RouteMode::Prepend);
        let r = one_route("fd05::/64 encap ila 2001:0:0:1 via fd00::1");
        assert_eq!(r.attrs.encap, Some(Encap::Ila(0x2001_0000_0000_0001)));
        let r = one_route(
            "10.6.0.0/16 nexthop via 10.0.0.1 encap mpls 16 nexthop via 10.0.0.2 weight 4",
        );
        assert_eq!(r.attrs.nexthops[0].encap, Some(Encap::Mpls(vec![16])));
        assert_eq!(r.attrs.nexthops[1].weight, Some(4));
    }

    #[test]
    fn keepalived_recoveries_that_do_not_widen() {
        for (line, note) in [
            (
                "10.5.0.0/16 dev eth0 as to 10.1.1.1",
                "MPLS routes only: ignored",
            ),
            (
                "10.5.0.0/16 dev eth0 as 10.1.1.1",
                "MPLS routes only: ignored",
            ),
            (
                "10.5.0.0/16 dev eth0 features foo",
                "feature 'foo' is not supported",
            ),
        ] {
            let (r, d) = routes(line);
            assert_eq!(r.len(), 1, "{line}: {d:?}");
            assert_eq!(r[0].dev.as_deref(), Some("eth0"));
            assert!(
                d.iter()
                    .any(|m| m.contains("t.conf:2: warning: route:") && m.contains(note)),
                "{line}: {d:?}"
            );
        }
        let (r, d) = rules("from 10.0.0.1 protocol x table 1 priority 1");
        assert_eq!(r[0].sel.protocol, Some(RTPROT_KEEPALIVED));
        assert!(d.iter().any(|m| m.contains("protocol 'x'")), "{d:?}");
    }

    #[test]
    fn routes_refused_with_a_located_warning() {
        refused_route("10.5.0.0/16 dev eth0 vrf red", "`vrf` is not supported");

        refused_route("10.5.0.0/16 dev eth0 encap foo", "unknown encap type 'foo'");
        refused_route(
            "10.5.0.0/16 dev eth0 encap ip ttl 3",
            "address or id missing",
        );
        refused_route(
            "10.5.0.0/16 dev eth0 encap ip dst fd00::1",
            "wrong address family",
        );
        refused_route(
            "10.5.0.0/16 dev eth0 encap mpls 1/2/3",
            "invalid mpls address",
        );
        refused_route(
            "10.5.0.0/16 dev eth0 encap mpls 1048576",
            "invalid mpls address",
        );
        refused_route("10.5.0.0/16 dev eth0 encap ila 1:2:3", "invalid locator");

        refused_route("10.5.0.0/16 dev eth0 mtu abc", "mtu 'abc'");
        refused_route("10.5.0.0/16 dev eth0 hoplimit 300", "hoplimit '300'");
        refused_route("10.5.0.0/16 via fd00::1", "cannot mix");
        refused_route("10.5.0.0/16 dev eth0 pref high", "cannot mix");
        refused_route("10.5.0.0/16 dev eth0 table nosuchtable", "routing table");
        refused_route("10.5.0.0/16 dev eth0 rtt 1e3", "invalid rtt");
        refused_route("dev eth0", "destination");
        refused_route("blackhole 10.6.0.0/16 via 10.0.0.1", "gateway");
        refused_route("192.168.100./24 dev eth0", "destination '192.168.100./24'");
        // the configuration stays usable (keepalived skips such a line and runs)
        let l = load("static_routes {\n10.5.0.0/16 encap bogus via 10.0.0.1\n}\n");
        assert!(!l.diagnostics.has_errors());
    }

    #[test]
    fn rule_selectors() {
        let r = one_rule(
            "from 10.1.0.0/16 to 10.2.0.0/24 iif eth0 oif eth1 tos 0x10 fwmark 0x10/0xff \
             priority 100 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80 table 7 \
             suppress_prefixlength 0 suppress_ifgroup 3 tunnel-id 42 not realms 1/2",
        );
        assert_eq!(r.from, Some("10.1.0.0/16".parse().unwrap()));
        assert_eq!(r.to, Some("10.2.0.0/24".parse().unwrap()));
        assert_eq!(
            (r.iif.as_deref(), r.oif.as_deref()),
            (Some("eth0"), Some("eth1"))
        );
        assert_eq!(r.fwmark, Some((0x10, Some(0xff))));
        assert_eq!((r.priority, r.table), (Some(100), Some(7)));
        assert_eq!(r.action, RuleAction::Table);
        let want = RuleSelectors {
            invert: true,
            tos: Some(0x10),
            realms: Some((1 << 16) | 2),
            uidrange: Some((1000, 2000)),
            l3mdev: false,
            protocol: Some(RTPROT_KEEPALIVED),
            ipproto: Some(6),
            sport: Some((1000, 2000)),
            dport: Some((80, 80)),
            suppress_prefixlength: Some(0),
            suppress_ifgroup: Some(3),
            tunnel_id: Some(42),
        };
        assert_eq!(r.sel, want);
        let r = one_rule("inet6 fwmark 5 priority 10 goto 20 no_track protocol 99 ipproto 17");
        assert_eq!(r.action, RuleAction::Goto(20));
        assert!(r.inet6);
        assert_eq!(r.sel.protocol, Some(99));
        assert_eq!(r.sel.ipproto, Some(17));
        for (w, a) in [
            ("nop", RuleAction::Nop),
            ("type blackhole", RuleAction::Blackhole),
            ("unreachable", RuleAction::Unreachable),
            ("prohibit", RuleAction::Prohibit),
        ] {
            assert_eq!(one_rule(&format!("from 10.0.0.1 priority 5 {w}")).action, a);
        }
        let r = one_rule("priority 7 l3mdev");
        assert!(r.sel.l3mdev);
        assert_eq!(r.table, None);
        let r = one_rule("to fd00::/8 lookup main priority 3");
        assert_eq!(r.table, Some(254));
        assert!(r.inet6);
    }

    #[test]
    fn rules_refused_with_a_located_warning() {
        refused_rule("from 10.0.0.1 priority 5", "no action");
        refused_rule("from 10.0.0.1 table 5 goto 9 priority 1", "more than one");
        refused_rule("from 10.0.0.1 goto 9", "without preference");
        refused_rule("from 10.0.0.1 goto 9 priority 10", ">= goto target");
        refused_rule("from 10.0.0.1 table 0 priority 1", "table 0");
        refused_rule("from 10.0.0.1 uidrange 5 table 1 priority 1", "uidrange");
        refused_rule("from 10.0.0.1 dport 99999 table 1 priority 1", "dport");
        refused_rule("from 10.0.0.1 ipproto nosuch table 1 priority 1", "ipproto");

        refused_rule("from 10.0.0.1 realms 1 nop priority 1", "non-table");
        refused_rule("l3mdev table 5 priority 1", "more than one");
        refused_rule("from 10.0.0.1 to fd00::1 table 1 priority 1", "cannot mix");
        refused_rule("to 192.168.100./24 table 1", "not a valid IP address");
        refused_rule("from 10.0.0.1 bogus table 1", "unknown rule option 'bogus'");
        refused_rule("from 10.0.0.1 fwmark 1/x table 1", "fwmark");
    }

    #[test]
    fn virtual_rules_are_numbered_after_static_ones_in_file_order() {
        let l = load(
            "static_rules {\n from 10.0.0.1 table 1\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.9\n }\n virtual_rules {\n from 10.0.0.2 table 1\n \
             to fd00::1 table 1\n }\n}\n",
        );
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        assert_eq!(l.config.static_rules[0].priority, Some(16384));
        let v: Vec<_> = l.config.instances[0]
            .virtual_rules
            .iter()
            .map(|r| r.priority)
            .collect();
        assert_eq!(v, [Some(16383), Some(16384)]);
    }

    #[test]
    fn rules_without_preference_are_numbered_like_keepalived() {
        let l = load(
            "static_rules {\n from 10.0.0.1 table 1\n to 10.0.0.2 table 1\n \
             inet6 table 1\n from 10.0.0.3 table 1 priority 5\n}\n",
        );
        let p: Vec<_> = l.config.static_rules.iter().map(|r| r.priority).collect();
        assert_eq!(p, [Some(16384), Some(16383), Some(16384), Some(5)]);
        let w = l
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("no preference given"))
            .count();
        assert_eq!(w, 3);
    }

    #[test]
    fn no_track_and_track_group_on_routes_and_rules() {
        let (r, d) = routes("10.7.0.0/16 dev eth0 track_group G1 no_track");
        assert_eq!(
            (r[0].no_track, r[0].track_group.as_deref()),
            (true, Some("G1"))
        );
        assert!(
            d.iter().any(
                |m| m.contains("warning: route: track_group is not supported")
                    && m.contains("the route is installed")
            ),
            "{d:?}"
        );
        let (r, d) = rules("from 10.7.0.0/16 table 7 track_group G2");
        assert_eq!(
            (r[0].no_track, r[0].track_group.as_deref()),
            (false, Some("G2"))
        );
        assert!(
            d.iter().any(
                |m| m.contains("warning: rule: track_group is not supported")
                    && m.contains("the rule is installed")
            ),
            "{d:?}"
        );
        refused_route("10.7.0.0/16 dev eth0 track_group", "needs a value");
    }
}
