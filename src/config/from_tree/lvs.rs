//! `virtual_server_group`, `virtual_server`, `real_server` and checker blocks.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{
    CheckDefaults, CheckKind, Checker, CheckerCommon, Family, ForwardMethod, Protocol, RealServer,
    RegexOption, Scheduler, SorryServer, Spans, UrlCheck, UrlRegex, VirtualServer,
    VirtualServerGroup, VsAddress, VsgEntry,
};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{block, not_handled, span};
use std::net::IpAddr;
use std::time::Duration;

/// Options shared by virtual servers, real servers and checkers. Returns true if handled.
fn check_default(c: &mut CheckDefaults, n: &Node, d: &mut Diagnostics) -> bool {
    match n.keyword.as_str() {
        "delay_loop" => c.delay_loop = v::secs_arg(n, 0.000_001, 1e6, d),
        "connect_timeout" => c.connect_timeout = v::secs_arg(n, 0.000_001, 1e6, d),
        "retry" | "nb_get_retry" => c.retry = v::int_arg(n, 0u32, u32::MAX, d),
        "delay_before_retry" => c.delay_before_retry = v::secs_arg(n, 0.0, 1e6, d),
        "warmup" => c.warmup = v::secs_arg(n, 0.0, 1e6, d),
        "alpha" => c.alpha = v::bool_arg(n, d),
        "inhibit_on_failure" => c.inhibit_on_failure = v::bool_arg(n, d),
        "virtualhost" => c.virtualhost = v::arg(n, 0, d).map(str::to_string),
        _ => return false,
    }
    true
}

fn forward(n: &Node, d: &mut Diagnostics) -> Option<ForwardMethod> {
    match v::arg(n, 0, d)?.to_ascii_uppercase().as_str() {
        "NAT" => Some(ForwardMethod::Nat),
        "DR" => Some(ForwardMethod::Dr),
        "TUN" => Some(ForwardMethod::Tun),
        other => {
            d.bad_value(
                &n.loc,
                format!("{}: '{other}' is not NAT, DR or TUN", n.keyword),
            );
            None
        }
    }
}

/// Builds a virtual_server_group.
pub fn group(name: &str, blk: &Node, children: &[Node], d: &mut Diagnostics) -> VirtualServerGroup {
    let mut g = VirtualServerGroup {
        name: name.to_string(),
        loc: blk.loc.clone(),
        entries: Vec::new(),
    };
    for n in children {
        if n.keyword == "fwmark" {
            let mark = v::int_arg::<u32>(n, 1, u32::MAX, d);
            let family = match n.arg(1) {
                Some("inet") => Some(Family::V4),
                Some("inet6") => Some(Family::V6),
                _ => None,
            };
            if let Some(mark) = mark {
                g.entries.push(VsgEntry::Fwmark {
                    mark,
                    family,
                    loc: n.loc.clone(),
                });
            }
            continue;
        }
        let port = match n.arg(0) {
            Some(p) => v::port(&n.loc, "virtual_server_group port", p, d),
            None => None,
        };
        if let Some((first, last)) = range(n, &n.keyword, d) {
            g.entries.push(VsgEntry::Range {
                first,
                last,
                port,
                loc: n.loc.clone(),
            });
        }
    }
    g
}

/// `a.b.c.d`, `a.b.c.d-e`, `a.b.c.d-e.f.g.h`, `a.b.c.d/nn` and IPv6 equivalents.
fn range(n: &Node, s: &str, d: &mut Diagnostics) -> Option<(IpAddr, IpAddr)> {
    if let Some((a, b)) = s.split_once('-') {
        let first = v::ip(&n.loc, "address range", a, d)?;
        let last = match (first, b.parse::<IpAddr>()) {
            (_, Ok(l)) => l,
            (IpAddr::V4(f), Err(_)) => {
                let o = v::int_in::<u8>(&n.loc, "address range end", b, 0, 255, d)?;
                let mut oct = f.octets();
                oct[3] = o;
                IpAddr::from(oct)
            }
            (IpAddr::V6(f), Err(_)) => {
                let Ok(o) = u16::from_str_radix(b, 16) else {
                    d.bad_value(&n.loc, format!("address range: '{b}' is not a valid end"));
                    return None;
                };
                let mut seg = f.segments();
                seg[7] = o;
                IpAddr::from(seg)
            }
        };
        if first.is_ipv4() != last.is_ipv4() || last < first {
            d.bad_value(
                &n.loc,
                format!("address range '{s}' is empty or mixes families"),
            );
            return None;
        }
        Some((first, last))
    } else if s.contains('/') {
        let net = v::prefix(&n.loc, "address range", s, d)?.trunc();
        let first = net.network();
        let last = net.broadcast();
        Some((first, last))
    } else {
        let a = v::ip(&n.loc, "virtual_server_group entry", s, d)?;
        Some((a, a))
    }
}

/// Builds a virtual_server from `virtual_server IP PORT | fwmark N | group NAME { ... }`.
pub fn virtual_server(n: &Node, children: &[Node], d: &mut Diagnostics) -> Option<VirtualServer> {
    // A bad address skips the virtual_server, as keepalived does.
    let head: &[Node] = &[];
    d.with_recovery("skipping the virtual_server", |d| {
        virtual_server_block(n, head, d)
    })?;
    let mut vs = virtual_server_block(n, children, d)?;
    // keepalived 2.2.7 (check_data.c): an address virtual server without `protocol` would get
    // the kernel's default, UDP, so keepalived sets UDP explicitly and says so.
    if vs.spans.get("protocol").is_none() {
        if let VsAddress::Addr { ip, port } = &vs.address {
            d.recover(
                &n.loc,
                format!("virtual_server {ip} {port}: no protocol set"),
                "defaulting to UDP",
            );
            vs.protocol = Protocol::Udp;
        }
    }
    Some(vs)
}

// Long by design: one match arm per virtual_server keyword, each with keepalived's recovery;
// tests/keyword_registry.rs reads these arms.
fn virtual_server_block(n: &Node, children: &[Node], d: &mut Diagnostics) -> Option<VirtualServer> {
    let address = match n.arg(0) {
        Some("fwmark") => VsAddress::Fwmark(
            n.arg(1)
                .and_then(|m| v::int_in::<u32>(&n.loc, "fwmark", m, 1, u32::MAX, d))?,
        ),
        Some("group") => match n.arg(1) {
            Some(g) => VsAddress::Group(g.to_string()),
            None => {
                d.error(&n.loc, "virtual_server group: missing group name");
                return None;
            }
        },
        Some(a) => {
            let ip = v::ip(&n.loc, "virtual_server", a, d)?;
            let port = match n.arg(1) {
                Some(p) => v::port(&n.loc, "virtual_server port", p, d)?,
                None => 0,
            };
            VsAddress::Addr { ip, port }
        }
        None => {
            d.error(
                &n.loc,
                "virtual_server needs an address and port, 'fwmark N' or 'group NAME'",
            );
            return None;
        }
    };
    let mut vs = VirtualServer {
        address,
        loc: n.loc.clone(),
        spans: Spans::default(),
        protocol: Protocol::Tcp,
        scheduler: Scheduler::Wlc,
        forward: ForwardMethod::Nat,
        persistence_timeout: None,
        persistence_granularity: None,
        persistence_engine: None,
        ha_suspend: false,
        omega: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry_server: None,
        sorry_server_inhibit: false,
        ip_family: None,
        flags: Vec::new(),
        ops: false,
        defaults: CheckDefaults::default(),
        real_servers: Vec::new(),
    };
    for c in children {
        if !keywords::accept("virtual_server", c, d) {
            continue;
        }
        span(&mut vs.spans, c);
        if check_default(&mut vs.defaults, c, d) {
            continue;
        }
        match c.keyword.as_str() {
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = v::arg(c, 0, d) {
                    match Scheduler::parse(s) {
                        Some(sch) => vs.scheduler = sch,
                        None => d.recover(
                            &c.loc,
                            format!("{}: unknown scheduler '{s}'", c.keyword),
                            format!("ignoring it (scheduler {:?})", vs.scheduler).to_lowercase(),
                        ),
                    }
                }
            }
            "lb_kind" | "lvs_method" => vs.forward = forward(c, d).unwrap_or(vs.forward),
            "protocol" => match v::arg(c, 0, d).map(str::to_ascii_uppercase).as_deref() {
                Some("TCP") => vs.protocol = Protocol::Tcp,
                Some("UDP") => vs.protocol = Protocol::Udp,
                Some("SCTP") => vs.protocol = Protocol::Sctp,
                Some(other) => d.bad_value(
                    &c.loc,
                    format!("protocol: '{other}' is not TCP, UDP or SCTP"),
                ),
                None => {}
            },
            "persistence_timeout" => {
                vs.persistence_timeout = match c.arg(0) {
                    Some(_) => v::secs_arg(c, 1.0, 2_678_400.0, d),
                    None => Some(Duration::from_secs(360)),
                }
            }
            "persistence_granularity" => vs.persistence_granularity = v::ip_arg(c, d),
            "persistence_engine" => vs.persistence_engine = v::arg(c, 0, d).map(str::to_string),
            "ha_suspend" => vs.ha_suspend = true,
            "omega" => vs.omega = true,
            "quorum" => {
                vs.quorum = d
                    .with_recovery("using 1", |d| v::int_arg(c, 1u32, u32::MAX, d))
                    .unwrap_or(1)
            }
            "hysteresis" => vs.hysteresis = v::int_arg(c, 0u32, u32::MAX, d).unwrap_or(0),
            "quorum_up" => vs.quorum_up = v::script(c, d),
            "quorum_down" => vs.quorum_down = v::script(c, d),
            "sorry_server" => {
                if let Some(ip) = v::ip_arg(c, d) {
                    let port = c
                        .arg(1)
                        .and_then(|p| v::port(&c.loc, "sorry_server port", p, d));
                    vs.sorry_server = Some(SorryServer {
                        ip,
                        port,
                        forward: None,
                    });
                }
            }
            "sorry_server_lvs_method" => match vs.sorry_server.as_mut() {
                // check_parser.c: the method of the sorry server given so far.
                Some(s) => {
                    if let Some(f) = forward(c, d) {
                        s.forward = Some(f);
                    }
                }
                None => d.recover(
                    &c.loc,
                    "sorry_server forwarding used without sorry_server",
                    super::super::diag::IGNORE_KEYWORD,
                ),
            },
            "sorry_server_inhibit" => vs.sorry_server_inhibit = true,
            "ip_family" => match v::arg(c, 0, d) {
                Some("inet") => vs.ip_family = Some(Family::V4),
                Some("inet6") => vs.ip_family = Some(Family::V6),
                Some(o) => d.bad_value(&c.loc, format!("ip_family: '{o}' is not inet or inet6")),
                None => {}
            },
            "ops" => vs.ops = true,
            "real_server" => {
                if let Some(rc) = block(c, d) {
                    let rs = d.with_recovery("skipping the real_server", |d| {
                        v::ip(&c.loc, "real_server", v::arg(c, 0, d)?, d)?;
                        c.arg(1)
                            .map_or(Some(0), |p| v::port(&c.loc, "real_server port", p, d))
                    });
                    if let Some(rs) = rs.and_then(|_| real_server(c, rc, d)) {
                        vs.real_servers.push(rs);
                    }
                }
            }
            kw if kw.starts_with("flag-") || kw.starts_with("sh-") || kw.starts_with("mh-") => {
                vs.flags.push(kw.to_string());
            }
            _ => not_handled(c, d),
        }
    }
    Some(vs)
}

fn real_server(n: &Node, children: &[Node], d: &mut Diagnostics) -> Option<RealServer> {
    let ip = v::ip(&n.loc, "real_server", v::arg(n, 0, d)?, d)?;
    let port = match n.arg(1) {
        Some(p) => Some(v::port(&n.loc, "real_server port", p, d)?),
        None => None,
    };
    let mut rs = RealServer {
        ip,
        port,
        loc: n.loc.clone(),
        spans: Spans::default(),
        weight: 1,
        forward: None,
        notify_up: None,
        notify_down: None,
        uthreshold: None,
        lthreshold: None,
        defaults: CheckDefaults::default(),
        checkers: Vec::new(),
    };
    for c in children {
        if !keywords::accept("virtual_server>real_server", c, d) {
            continue;
        }
        span(&mut rs.spans, c);
        if check_default(&mut rs.defaults, c, d) {
            continue;
        }
        match c.keyword.as_str() {
            "weight" => rs.weight = v::int_arg(c, 0, 65535, d).unwrap_or(1),
            "lvs_method" | "lb_kind" => rs.forward = forward(c, d),
            "notify_up" => rs.notify_up = v::script(c, d),
            "notify_down" => rs.notify_down = v::script(c, d),
            "uthreshold" => rs.uthreshold = v::int_arg(c, 0u32, u32::MAX, d),
            "lthreshold" => rs.lthreshold = v::int_arg(c, 0u32, u32::MAX, d),
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "DNS_CHECK" | "MISC_CHECK"
            | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" | "BFD_CHECK" => {
                let empty: &[Node] = &[];
                let cc = c.children.as_deref().unwrap_or(empty);
                rs.checkers.extend(checker(c, cc, d));
            }
            _ => not_handled(c, d),
        }
    }
    Some(rs)
}

/// A checker (several for an SMTP_CHECK with `host` blocks); none (with a warning) when
/// keepalived skips it as incomplete.
// Long by design: one match arm per checker keyword (TCP/HTTP/SSL/SMTP/DNS/UDP/PING/MISC/FILE
// share most), each with keepalived's recovery; tests/keyword_registry.rs reads these arms.
fn checker(n: &Node, children: &[Node], d: &mut Diagnostics) -> Vec<Checker> {
    let mut kind = match n.keyword.as_str() {
        "TCP_CHECK" => CheckKind::Tcp,
        "HTTP_GET" | "SSL_GET" => CheckKind::Http {
            tls: n.keyword == "SSL_GET",
            http_protocol: None,
            enable_sni: false,
            sni_name: None,
            fast_recovery: false,
            urls: Vec::new(),
        },
        "SMTP_CHECK" => CheckKind::Smtp { helo_name: None },
        "DNS_CHECK" => CheckKind::Dns {
            qtype: "SOA".into(),
            name: ".".into(),
        },
        "MISC_CHECK" => CheckKind::Misc {
            path: None,
            timeout: None,
            dynamic: false,
            user: None,
        },
        "UDP_CHECK" => CheckKind::Udp {
            payload: None,
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        },
        "FILE_CHECK" => CheckKind::File {
            track_file: None,
            weight: None,
            reverse: false,
        },
        "BFD_CHECK" => CheckKind::Bfd { name: None },
        _ => CheckKind::Ping,
    };
    let mut common = CheckerCommon::default();
    let path = checker_block(&n.keyword);
    // SMTP_CHECK: connection options given at its top level, and its `host { }` blocks.
    let mut top_conn = false;
    let mut hosts: Vec<(super::super::diag::Location, CheckerCommon)> = Vec::new();
    for c in children {
        if !keywords::accept(&path, c, d) {
            continue;
        }
        if check_default(&mut common.defaults, c, d) {
            top_conn |= c.keyword == "connect_timeout";
            continue;
        }
        let kw = c.keyword.as_str();
        if conn_keyword(&mut common, c, d) {
            top_conn = true;
            continue;
        }
        if kw == "log_all_failures" {
            // keepalived: no value is true, a bad one is reported and changes nothing.
            if let Some(b) = v::bool_arg(c, d) {
                common.log_all_failures = b;
            }
            continue;
        }
        let handled = match &mut kind {
            CheckKind::Http {
                http_protocol,
                enable_sni,
                sni_name,
                fast_recovery,
                urls,
                ..
            } => match kw {
                "url" => {
                    urls.push(url(c, &path, d));
                    true
                }
                "http_protocol" => {
                    *http_protocol = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                "enable_sni" => {
                    *enable_sni = v::bool_arg(c, d).unwrap_or(true);
                    true
                }
                "sni_name" => {
                    *sni_name = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                "fast_recovery" => {
                    if let Some(b) = v::bool_arg(c, d) {
                        *fast_recovery = b;
                    }
                    true
                }
                _ => false,
            },
            CheckKind::Smtp { helo_name } => match kw {
                "helo_name" => {
                    *helo_name = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                "host" => {
                    hosts.push((c.loc.clone(), smtp_host(c, &path, &mut common, d)));
                    true
                }
                _ => false,
            },
            CheckKind::Dns { qtype, name } => match kw {
                "type" => {
                    if let Some(t) = v::arg(c, 0, d) {
                        let t = t.to_ascii_uppercase();
                        if [
                            "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY",
                        ]
                        .contains(&t.as_str())
                        {
                            *qtype = t;
                        } else {
                            d.bad_value(
                                &c.loc,
                                format!("DNS_CHECK type: '{t}' is not a supported record type"),
                            );
                        }
                    }
                    true
                }
                "name" => {
                    if let Some(nm) = v::arg(c, 0, d) {
                        *name = nm.to_string();
                    }
                    true
                }
                _ => false,
            },
            CheckKind::Misc {
                path,
                timeout,
                dynamic,
                user,
            } => match kw {
                "misc_path" => {
                    *path = v::script(c, d);
                    true
                }
                "misc_timeout" => {
                    *timeout = v::secs_arg(c, 0.000_001, 1e6, d);
                    true
                }
                "misc_dynamic" => {
                    *dynamic = true;
                    true
                }
                "user" => {
                    *user = v::script_user(c, 0);
                    true
                }
                _ => false,
            },
            CheckKind::Udp {
                payload,
                require_reply,
                min_reply_length,
                max_reply_length,
            } => match kw {
                "payload" => {
                    *payload = v::arg(c, 0, d).and_then(|h| hex(c, h, d));
                    true
                }
                "require_reply" => {
                    *require_reply = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                "min_reply_length" => {
                    *min_reply_length = v::int_arg(c, 0u32, 65535, d).unwrap_or(0);
                    true
                }
                "max_reply_length" => {
                    *max_reply_length = v::int_arg(c, 0u32, 65535, d).unwrap_or(255);
                    true
                }
                _ => false,
            },
            CheckKind::File {
                track_file,
                weight,
                reverse,
            } => match kw {
                "track_file" => {
                    *track_file = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                "weight" => {
                    *weight = v::int_arg(c, -254, 254, d);
                    *reverse = c.arg(1) == Some("reverse");
                    true
                }
                _ => false,
            },
            CheckKind::Bfd { name } => match kw {
                "name" => {
                    *name = v::arg(c, 0, d).map(str::to_string);
                    true
                }
                _ => false,
            },
            CheckKind::Tcp | CheckKind::Ping => false,
        };
        if !handled {
            not_handled(c, d);
        }
    }
    let incomplete = match &kind {
        CheckKind::Misc { path: None, .. } => Some("MISC_CHECK: no misc_path given".to_string()),
        CheckKind::Bfd { name: None } => {
            Some("BFD_CHECK: no 'name' of a bfd_instance given".to_string())
        }
        CheckKind::File {
            track_file: None, ..
        } => Some("FILE_CHECK: no track_file given".to_string()),
        CheckKind::Http { urls, .. } if urls.is_empty() => {
            Some(format!("{}: no url block given", n.keyword))
        }
        _ => None,
    };
    if let Some(problem) = incomplete {
        d.recover(&n.loc, problem, "skipping the checker");
        return Vec::new();
    }
    if hosts.is_empty() {
        return vec![Checker {
            kind,
            common,
            loc: n.loc.clone(),
        }];
    }
    // check_smtp.c: every host is a checker of its own, a copy of this one with the host's
    // connection options (its connect_timeout, else the real/virtual server's); the block's
    // own connection is checked too only when one of its options was given.
    d.warning(
        &hosts[0].0,
        "the SMTP_CHECK host block is deprecated (keepalived 2.2.7 says so too): each host is \
         checked as an SMTP_CHECK of its own; define additional checkers instead",
    );
    let mut out = Vec::new();
    for (loc, h) in hosts {
        let mut defaults = common.defaults.clone();
        defaults.connect_timeout = h.defaults.connect_timeout;
        out.push(Checker {
            kind: kind.clone(),
            common: CheckerCommon {
                defaults,
                log_all_failures: common.log_all_failures,
                ..h
            },
            loc,
        });
    }
    if top_conn {
        out.insert(
            0,
            Checker {
                kind,
                common,
                loc: n.loc.clone(),
            },
        );
    }
    out
}

/// A connection keyword of a checker (or of an SMTP_CHECK host); false for any other keyword.
fn conn_keyword(common: &mut CheckerCommon, c: &Node, d: &mut Diagnostics) -> bool {
    match c.keyword.as_str() {
        "connect_ip" => common.connect_ip = v::ip_arg(c, d),
        "connect_port" => {
            common.connect_port =
                v::arg(c, 0, d).and_then(|p| v::port(&c.loc, "connect_port", p, d))
        }
        "bindto" => common.bindto = v::ip_arg(c, d),
        "bind_if" => common.bind_if = v::arg(c, 0, d).map(str::to_string),
        "bind_port" => {
            common.bind_port = v::arg(c, 0, d).and_then(|p| v::port(&c.loc, "bind_port", p, d))
        }
        "fwmark" => {
            // keepalived: 0..=UINT_MAX, a bad value is reported and ignored; 0 sets no mark.
            if let Some(m) = v::int_arg(c, 0u32, u32::MAX, d) {
                common.fwmark = (m != 0).then_some(m);
            }
        }
        _ => return false,
    }
    true
}

/// An SMTP_CHECK `host { }` block: its connection options (the host's address defaults to the
/// real server's). As in keepalived, the timing keywords inside it (retry, delay_before_retry,
/// warmup, delay_loop, alpha, log_all_failures) set the enclosing SMTP_CHECK's.
fn smtp_host(
    n: &Node,
    checker_path: &str,
    parent: &mut CheckerCommon,
    d: &mut Diagnostics,
) -> CheckerCommon {
    let mut h = CheckerCommon::default();
    let Some(children) = block(n, d) else {
        return h;
    };
    let path = format!("{checker_path}>host");
    for c in children {
        if !keywords::accept(&path, c, d) {
            continue;
        }
        match c.keyword.as_str() {
            "connect_timeout" => h.defaults.connect_timeout = v::secs_arg(c, 0.000_001, 1e6, d),
            "log_all_failures" => {
                if let Some(b) = v::bool_arg(c, d) {
                    parent.log_all_failures = b;
                }
            }
            _ => {
                if !conn_keyword(&mut h, c, d) && !check_default(&mut parent.defaults, c, d) {
                    not_handled(c, d);
                }
            }
        }
    }
    h
}

/// The registry's block path of a checker block.
fn checker_block(keyword: &str) -> String {
    format!("virtual_server>real_server>{keyword}")
}

fn url(n: &Node, checker_path: &str, d: &mut Diagnostics) -> UrlCheck {
    let mut u = UrlCheck {
        loc: n.loc.clone(),
        ..UrlCheck::default()
    };
    let Some(children) = block(n, d) else {
        return u;
    };
    let path = format!("{checker_path}>url");
    let mut rx = UrlRegex::default();
    let mut pattern = None;
    for c in children {
        if !keywords::accept(&path, c, d) {
            continue;
        }
        match c.keyword.as_str() {
            "path" => u.path = v::arg(c, 0, d).unwrap_or_default().to_string(),
            "digest" => {
                if let Some(h) = v::arg(c, 0, d) {
                    if h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        u.digest = Some(h.to_ascii_lowercase());
                    } else {
                        d.bad_value(
                            &c.loc,
                            format!("digest: '{h}' is not a 32-digit hex MD5 digest"),
                        );
                    }
                }
            }
            "status_code" => {
                for s in c.arg_texts() {
                    let (a, b) = s.split_once('-').unwrap_or((s, s));
                    match (
                        v::int_in::<u16>(&c.loc, "status_code", a, 100, 599, d),
                        v::int_in::<u16>(&c.loc, "status_code", b, 100, 599, d),
                    ) {
                        (Some(a), Some(b)) if a <= b => u.status_codes.push((a, b)),
                        (Some(_), Some(_)) => {
                            d.bad_value(&c.loc, format!("status_code: empty range '{s}'"))
                        }
                        _ => {}
                    }
                }
            }
            "virtualhost" => u.virtualhost = v::arg(c, 0, d).map(str::to_string),
            "regex" | "regex_no_match" | "regex_options" | "regex_min_offset"
            | "regex_max_offset" => regex_keyword(c, &mut rx, &mut pattern, d),
            _ => not_handled(c, d),
        }
    }
    if u.path.is_empty() {
        d.bad_value(&n.loc, "url: no path given");
    }
    if u.status_codes.is_empty() {
        u.status_codes.push((200, 299));
    }
    u.regex = url_regex(n, rx, pattern, d);
    u
}

/// One `regex*` keyword of a url, as check_http.c's handlers take it.
fn regex_keyword(c: &Node, rx: &mut UrlRegex, pattern: &mut Option<String>, d: &mut Diagnostics) {
    match c.keyword.as_str() {
        "regex" => {
            // keepalived re-reads the line with quotes and escapes: one word, or nothing.
            if c.args.len() != 1 {
                d.recover(
                    &c.loc,
                    "regex missing or too many fields (quote a pattern with spaces)",
                    super::super::diag::IGNORE_KEYWORD,
                );
                return;
            }
            let a = &c.args[0];
            *pattern = Some(if a.quoted {
                a.text.clone()
            } else {
                super::super::lexer::unescape_word(&a.text)
            });
        }
        "regex_no_match" => rx.no_match = true,
        "regex_options" => {
            for o in c.arg_texts() {
                match RegexOption::parse(o) {
                    None => d.recover(
                        &c.loc,
                        format!("regex_options: unknown option '{o}'"),
                        "ignoring it",
                    ),
                    Some(RegexOption::Unsupported(lost)) => d.warning(
                        &c.loc,
                        format!(
                            "regex_options: '{o}' is not supported by keepalived-rs' regex \
                             engine: {lost}"
                        ),
                    ),
                    Some(_) => {
                        if !rx.options.iter().any(|x| x == o) {
                            rx.options.push(o.to_string());
                        }
                    }
                }
            }
        }
        _ => {
            let what = if c.keyword == "regex_min_offset" {
                "min"
            } else {
                "max"
            };
            // keepalived: a missing or bad value logs and counts as 0 (so a bad max offset
            // still limits matches to offset 0).
            let val = match (c.args.len(), c.arg(0).map(str::parse::<u64>)) {
                (1, Some(Ok(v))) => v,
                (1, _) => {
                    d.recover(
                        &c.loc,
                        format!(
                            "invalid regex_{what}_offset {}",
                            c.arg(0).unwrap_or_default()
                        ),
                        "using 0",
                    );
                    0
                }
                _ => {
                    d.recover(
                        &c.loc,
                        format!("missing or too many options for regex_{what}_offset"),
                        "using 0",
                    );
                    0
                }
            };
            if what == "min" {
                rx.min_offset = val;
            } else {
                rx.max_offset = Some(val);
            }
        }
    }
}

/// The end of a url block (check_http.c's url_check): regex options without a regex are
/// dropped, an inverted offset range is dropped, and a pattern the engine cannot compile is
/// reported at the url.
fn url_regex(
    n: &Node,
    mut rx: UrlRegex,
    pattern: Option<String>,
    d: &mut Diagnostics,
) -> Option<UrlRegex> {
    let Some(pattern) = pattern else {
        if rx != UrlRegex::default() {
            d.recover(
                &n.loc,
                "regex parameters specified without regex",
                "ignoring them",
            );
        }
        return None;
    };
    rx.pattern = pattern;
    if let Some(max) = rx.max_offset {
        if rx.min_offset > max {
            d.recover(
                &n.loc,
                format!(
                    "regex min offset {} > regex_max_offset {max}",
                    rx.min_offset
                ),
                "ignoring both offsets",
            );
            rx.min_offset = 0;
            rx.max_offset = None;
        }
    }
    if let Err(e) = rx.compile() {
        // keepalived 2.2.7 logs "Invalid regex" and keeps a freed regex on the url (undefined
        // behaviour, no defined recovery to copy): the safe side is a url that never passes.
        d.recovery_note(
            &n.loc,
            format!(
                "regex '{}' cannot be compiled by keepalived-rs ({e}): this url's check fails \
                 until the pattern is changed (README \"Checker regex syntax\" lists what differs \
                 from keepalived's PCRE2)",
                rx.pattern
            ),
        );
    }
    Some(rx)
}

fn hex(n: &Node, s: &str, d: &mut Diagnostics) -> Option<Vec<u8>> {
    let s = s.trim_start_matches("0x");
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        d.bad_value(
            &n.loc,
            format!("{}: '{s}' is not an even number of hex digits", n.keyword),
        );
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}
