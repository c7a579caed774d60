//! From the configuration to a plan, purely: every `virtual_server` becomes a [`VsPlan`] with
//! the IPVS services it programs (a group expands to one service per address/fwmark), its real
//! servers ([`RsPlan`]) with their destination templates and resolved checkers ([`CheckerPlan`]),
//! keepalived's defaults applied. Plans compare equal when nothing the director acts on
//! changed (source locations are not part of them), which is what reload diffs on.

use crate::config::diag::Location;
use crate::config::model::{
    self as cm, CheckDefaults, CheckKind, Checker, Config, RealServer, ScriptSpec, VirtualServer,
    VsAddress, VsgEntry,
};
use crate::ipvs::{
    DestKey, Destination, Family, ForwardMethod, Protocol, Scheduler, Service, ServiceFlags,
    ServiceKey,
};
use crate::lvs::check::http::HttpProtocol;
use crate::lvs::check::schedule::CheckParams;
use crate::lvs::check::tcp::TcpTarget;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Largest number of addresses one group range may expand to.
pub const MAX_RANGE: u128 = 65_536;

/// The identity of a virtual server across reloads (keepalived: address+protocol+port,
/// fwmark+family, or group name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VsKey {
    /// Address, fwmark or group.
    pub address: VsAddress,
    /// Protocol.
    pub protocol: cm::Protocol,
    /// `ip_family`.
    pub family: Option<cm::Family>,
}

/// The identity of a real server within its virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RsKey {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

/// The whole LVS side of a configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Virtual servers in configuration order.
    pub virtual_servers: Vec<Arc<VsPlan>>,
    /// Problems found while planning (logged by the director).
    pub warnings: Vec<String>,
}

/// The sorry server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryPlan {
    /// Its destination (weight 1).
    pub dest: Destination,
    /// `sorry_server_inhibit`: kept with weight 0 while not in use.
    pub inhibit: bool,
}

/// One virtual server.
#[derive(Clone, Debug, PartialEq)]
pub struct VsPlan {
    /// Identity.
    pub key: VsKey,
    /// keepalived's `FMT_VS`: `[10.0.0.1]:tcp:80`, `FWM 5`, `[group]:0`.
    pub name: String,
    /// One IPVS service per address (a group may give many), all with the same settings.
    pub services: Vec<Service>,
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<ScriptSpec>,
    /// `quorum_down`.
    pub quorum_down: Option<ScriptSpec>,
    /// `omega`.
    pub omega: bool,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// Virtual addresses (for `ha_suspend`: checks run only while one of them is present).
    pub addresses: Vec<IpAddr>,
    /// `sorry_server`.
    pub sorry: Option<SorryPlan>,
    /// Real servers.
    pub real_servers: Vec<RsPlan>,
}

/// One real server.
#[derive(Clone, Debug, PartialEq)]
pub struct RsPlan {
    /// Identity.
    pub key: RsKey,
    /// keepalived's `FMT_RS`: `[192.168.1.1]:tcp:80`.
    pub name: String,
    /// Destination template (weight = configured weight).
    pub dest: Destination,
    /// Configured `weight`.
    pub weight: i64,
    /// `inhibit_on_failure`: a failed server stays with weight 0.
    pub inhibit: bool,
    /// `notify_up`.
    pub notify_up: Option<ScriptSpec>,
    /// `notify_down`.
    pub notify_down: Option<ScriptSpec>,
    /// Checkers.
    pub checkers: Vec<CheckerPlan>,
}

impl RsPlan {
    /// Destination key.
    pub fn dest_key(&self) -> DestKey {
        self.dest.key()
    }
}

/// One checker, defaults resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerPlan {
    /// What to check.
    pub spec: CheckSpec,
    /// Timing and retries.
    pub params: CheckParams,
    /// Checker type for logs and metrics (`TCP_CHECK`, ...).
    pub kind: &'static str,
}

/// What one checker does.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckSpec {
    /// TCP_CHECK.
    Tcp(TcpTarget),
    /// HTTP_GET / SSL_GET.
    Http {
        /// Connection.
        target: TcpTarget,
        /// URLs.
        urls: Vec<crate::lvs::check::http_get::UrlSpec>,
        /// SSL_GET.
        tls: bool,
        /// SNI name (`enable_sni`/`sni_name`).
        sni: Option<String>,
        /// `http_protocol`.
        proto: HttpProtocol,
    },
    /// SMTP_CHECK.
    Smtp {
        /// Connection.
        target: TcpTarget,
        /// `helo_name`.
        helo: String,
    },
    /// DNS_CHECK.
    Dns {
        /// Server.
        server: SocketAddr,
        /// `name`.
        name: String,
        /// `type`.
        qtype: String,
        /// `connect_timeout`.
        timeout: Duration,
        /// `bindto`, `bind_port`, `bind_if`, `fwmark`.
        source: crate::lvs::check::udp::Source,
    },
    /// MISC_CHECK.
    Misc {
        /// `misc_path` (location stripped).
        script: ScriptSpec,
        /// `misc_timeout` (default `delay_loop`).
        timeout: Duration,
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// UDP_CHECK.
    Udp(crate::lvs::check::udp::UdpSpec),
    /// PING_CHECK.
    Ping {
        /// Target.
        ip: IpAddr,
        /// `connect_timeout`.
        timeout: Duration,
    },
    /// FILE_CHECK.
    File {
        /// `track_file` name.
        name: String,
        /// Its path (None: unknown track_file, the checker fails).
        path: Option<String>,
        /// Weight (FILE_CHECK's or the track_file's).
        weight: i32,
        /// `reverse`.
        reverse: bool,
    },
    /// BFD_CHECK: driven from outside ([`crate::lvs::LvsHandle::set_bfd`]).
    Bfd {
        /// bfd_instance name.
        name: String,
    },
    /// A checker that cannot run (reason); it stays down.
    Invalid(String),
}

impl CheckSpec {}

fn no_loc(s: &ScriptSpec) -> ScriptSpec {
    ScriptSpec {
        loc: Location {
            file: Arc::from(""),
            line: 0,
        },
        ..s.clone()
    }
}

/// `[addr]:tcp:port`.
pub fn fmt_trio(ip: IpAddr, protocol: Option<cm::Protocol>, port: u16) -> String {
    let p = match protocol {
        Some(cm::Protocol::Tcp) => "tcp",
        Some(cm::Protocol::Udp) => "udp",
        Some(cm::Protocol::Sctp) => "sctp",
        None => "none",
    };
    format!("[{ip}]:{p}:{port}")
}

fn vs_name(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Addr { ip, port } => fmt_trio(*ip, Some(vs.protocol), *port),
        VsAddress::Fwmark(m) => format!("FWM {m}"),
        VsAddress::Group(g) => format!("[{g}]:0"),
    }
}

fn protocol(p: cm::Protocol) -> Protocol {
    match p {
        cm::Protocol::Tcp => Protocol::Tcp,
        cm::Protocol::Udp => Protocol::Udp,
        cm::Protocol::Sctp => Protocol::Sctp,
    }
}

/// The IPVS forwarding method of a configured one.
pub fn forward(f: cm::ForwardMethod) -> ForwardMethod {
    match f {
        cm::ForwardMethod::Nat => ForwardMethod::Masquerade,
        cm::ForwardMethod::Dr => ForwardMethod::DirectRoute,
        cm::ForwardMethod::Tun => ForwardMethod::Tunnel,
    }
}

fn family(f: cm::Family) -> Family {
    match f {
        cm::Family::V4 => Family::V4,
        cm::Family::V6 => Family::V6,
    }
}

/// Addresses `first..=last` (same family), at most [`MAX_RANGE`].
pub fn expand_range(first: IpAddr, last: IpAddr) -> Result<Vec<IpAddr>, String> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a {
                return Err(format!(
                    "range end {} is before its start {}",
                    Ipv4Addr::from(b),
                    Ipv4Addr::from(a)
                ));
            }
            if u128::from(b - a) >= MAX_RANGE {
                return Err(format!(
                    "range of {} addresses is too large",
                    u64::from(b - a) + 1
                ));
            }
            Ok((a..=b).map(|x| IpAddr::V4(Ipv4Addr::from(x))).collect())
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a {
                return Err("range end is before its start".into());
            }
            if b - a >= MAX_RANGE {
                return Err(format!("range of {} addresses is too large", b - a + 1));
            }
            Ok((a..=b).map(|x| IpAddr::V6(Ipv6Addr::from(x))).collect())
        }
        _ => Err("range mixes IPv4 and IPv6".into()),
    }
}

fn service_keys(
    vs: &VirtualServer,
    cfg: &Config,
    warnings: &mut Vec<String>,
) -> (Vec<ServiceKey>, Vec<IpAddr>) {
    let proto = protocol(vs.protocol);
    let fam = vs.ip_family.map(family);
    match &vs.address {
        VsAddress::Addr { ip, port } => (
            vec![ServiceKey::Addr {
                protocol: proto,
                addr: *ip,
                port: *port,
            }],
            vec![*ip],
        ),
        VsAddress::Fwmark(m) => (
            vec![ServiceKey::Fwmark {
                family: fam.unwrap_or(Family::V4),
                mark: *m,
            }],
            Vec::new(),
        ),
        VsAddress::Group(g) => {
            let Some(group) = cfg.virtual_server_groups.iter().find(|x| &x.name == g) else {
                warnings.push(format!(
                    "virtual_server group {g}: no such virtual_server_group"
                ));
                return (Vec::new(), Vec::new());
            };
            let (mut keys, mut addrs) = (Vec::new(), Vec::new());
            for e in &group.entries {
                match e {
                    VsgEntry::Range {
                        first, last, port, ..
                    } => match expand_range(*first, *last) {
                        Ok(v) => {
                            for a in v {
                                if fam.is_some_and(|f| f != Family::of(&a)) {
                                    continue;
                                }
                                addrs.push(a);
                                keys.push(ServiceKey::Addr {
                                    protocol: proto,
                                    addr: a,
                                    port: port.unwrap_or(0),
                                });
                            }
                        }
                        Err(e) => warnings.push(format!("virtual_server_group {g}: {e}")),
                    },
                    VsgEntry::Fwmark {
                        mark, family: f, ..
                    } => keys.push(ServiceKey::Fwmark {
                        family: f.map(family).or(fam).unwrap_or(Family::V4),
                        mark: *mark,
                    }),
                }
            }
            keys.sort();
            keys.dedup();
            (keys, addrs)
        }
    }
}

fn service_of(key: ServiceKey, vs: &VirtualServer) -> Service {
    let mut s = Service::new(key, Scheduler::Wlc);
    s.scheduler = vs.scheduler.name().parse().unwrap_or_default();
    let mut flags = ServiceFlags::NONE;
    for f in &vs.flags {
        flags |= match f.as_str() {
            "flag-1" | "sh-fallback" | "mh-fallback" => ServiceFlags::SCHED1,
            "flag-2" | "sh-port" | "mh-port" => ServiceFlags::SCHED2,
            "flag-3" => ServiceFlags::SCHED3,
            _ => ServiceFlags::NONE,
        };
    }
    let one_packet_ok = matches!(
        key,
        ServiceKey::Fwmark { .. }
            | ServiceKey::Addr {
                protocol: Protocol::Udp,
                ..
            }
    );
    if vs.ops && one_packet_ok {
        flags |= ServiceFlags::ONE_PACKET;
    }
    s.flags = flags;
    if let Some(t) = vs.persistence_timeout {
        let prefix = vs.persistence_granularity.map(|g| match g {
            IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
            IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
        });
        s = s.with_persistence(t.as_secs().clamp(1, u64::from(u32::MAX)) as u32, prefix);
    }
    s.pe_name = vs.persistence_engine.clone();
    s
}

/// Resolved check defaults: checker > real server > virtual server > keepalived.
struct Defaults<'a>(&'a CheckDefaults, &'a CheckDefaults, &'a CheckDefaults);

impl Defaults<'_> {
    fn pick<T: Clone>(&self, f: impl Fn(&CheckDefaults) -> &Option<T>) -> Option<T> {
        f(self.0)
            .clone()
            .or_else(|| f(self.1).clone())
            .or_else(|| f(self.2).clone())
    }
}

// Long by design: one line per checker field, each resolved with keepalived's inheritance
// (checker < real_server < virtual_server defaults) and default; splitting would scatter them.
fn checker_plan(
    c: &Checker,
    rs: &RealServer,
    rs_port: u16,
    vs: &VirtualServer,
    cfg: &Config,
) -> CheckerPlan {
    let d = Defaults(&c.common.defaults, &rs.defaults, &vs.defaults);
    let delay_loop = d.pick(|x| &x.delay_loop).unwrap_or(Duration::from_secs(60));
    let timeout = d
        .pick(|x| &x.connect_timeout)
        .unwrap_or(Duration::from_secs(5));
    let (kind, default_retry, default_dbr) = match &c.kind {
        CheckKind::Tcp => ("TCP_CHECK", 1, Duration::from_secs(1)),
        CheckKind::Http { tls: false, .. } => ("HTTP_GET", 1, Duration::from_secs(3)),
        CheckKind::Http { tls: true, .. } => ("SSL_GET", 1, Duration::from_secs(3)),
        CheckKind::Smtp { .. } => ("SMTP_CHECK", 1, Duration::from_secs(1)),
        CheckKind::Dns { .. } => ("DNS_CHECK", 3, delay_loop),
        CheckKind::Misc { .. } => ("MISC_CHECK", 0, Duration::from_secs(1)),
        CheckKind::Udp { .. } => ("UDP_CHECK", 1, Duration::from_secs(1)),
        CheckKind::Ping => ("PING_CHECK", 1, Duration::from_secs(1)),
        CheckKind::File { .. } => ("FILE_CHECK", 0, Duration::from_secs(1)),
        CheckKind::Bfd { .. } => ("BFD_CHECK", 0, Duration::from_secs(1)),
    };
    let params = CheckParams {
        delay_loop,
        retry: d.pick(|x| &x.retry).unwrap_or(default_retry),
        delay_before_retry: d.pick(|x| &x.delay_before_retry).unwrap_or(default_dbr),
        alpha: d.pick(|x| &x.alpha).unwrap_or(false),
        warmup: d.pick(|x| &x.warmup).unwrap_or(delay_loop),
        recovery: match &c.kind {
            CheckKind::Http {
                fast_recovery: true,
                ..
            } => crate::lvs::check::schedule::Recovery::Fast,
            CheckKind::Http { .. } => crate::lvs::check::schedule::Recovery::Confirm,
            _ => crate::lvs::check::schedule::Recovery::FirstSuccess,
        },
        log_all_failures: c.common.log_all_failures || cfg.global.checker_log_all_failures,
    };
    let ip = c.common.connect_ip.unwrap_or(rs.ip);
    let port = c.common.connect_port.unwrap_or(rs_port);
    let target = TcpTarget {
        addr: SocketAddr::new(ip, port),
        bindto: c.common.bindto,
        bind_port: c.common.bind_port,
        bind_if: c.common.bind_if.clone(),
        timeout,
        fwmark: c.common.fwmark,
    };
    let needs_port = |spec: CheckSpec| {
        if port == 0 {
            CheckSpec::Invalid(format!("{kind}: no port to connect to (set connect_port)"))
        } else {
            spec
        }
    };
    let spec = match &c.kind {
        CheckKind::Tcp => needs_port(CheckSpec::Tcp(target)),
        CheckKind::Http {
            tls,
            http_protocol,
            enable_sni,
            sni_name,
            urls,
            ..
        } => {
            let vhost = d.pick(|x| &x.virtualhost);
            let urls = urls
                .iter()
                .map(|u| crate::lvs::check::http_get::UrlSpec {
                    path: u.path.clone(),
                    digest: u.digest.as_ref().map(|s| s.to_ascii_lowercase()),
                    status: if u.status_codes.is_empty() {
                        vec![(200, 299)]
                    } else {
                        u.status_codes.clone()
                    },
                    host: u.virtualhost.clone().or_else(|| vhost.clone()),
                    regex: u.regex.as_ref().map(|r| {
                        std::sync::Arc::new(crate::lvs::check::body_regex::BodyRegex {
                            regex: r.compile(),
                            no_match: r.no_match,
                            min_offset: r.min_offset,
                            max_offset: r.max_offset,
                        })
                    }),
                })
                .collect::<Vec<_>>();
            if urls.is_empty() {
                CheckSpec::Invalid(format!("{kind}: no url block"))
            } else {
                needs_port(CheckSpec::Http {
                    target,
                    urls,
                    tls: *tls,
                    sni: if *enable_sni || sni_name.is_some() {
                        sni_name.clone().or(vhost)
                    } else {
                        None
                    },
                    proto: http_protocol
                        .as_deref()
                        .and_then(HttpProtocol::parse)
                        .unwrap_or_default(),
                })
            }
        }
        CheckKind::Smtp { helo_name } => needs_port(CheckSpec::Smtp {
            target,
            helo: helo_name.clone().unwrap_or_else(|| {
                cfg.global
                    .smtp_helo_name
                    .clone()
                    .unwrap_or_else(|| "localhost".into())
            }),
        }),
        CheckKind::Dns { qtype, name } => needs_port(CheckSpec::Dns {
            server: SocketAddr::new(ip, port),
            name: name.clone(),
            qtype: qtype.clone(),
            timeout,
            source: crate::lvs::check::udp::Source {
                bindto: c.common.bindto,
                bind_port: c.common.bind_port,
                bind_if: c.common.bind_if.clone(),
                fwmark: c.common.fwmark,
            },
        }),
        CheckKind::Misc {
            path,
            timeout: t,
            dynamic,
            user,
        } => match path {
            Some(p) => {
                let mut script = no_loc(p);
                if script.user.is_none() {
                    script.user = user.clone();
                }
                CheckSpec::Misc {
                    script,
                    timeout: t.unwrap_or(delay_loop),
                    dynamic: *dynamic,
                }
            }
            None => CheckSpec::Invalid("MISC_CHECK without misc_path".into()),
        },
        CheckKind::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => needs_port(CheckSpec::Udp(crate::lvs::check::udp::UdpSpec {
            addr: SocketAddr::new(ip, port),
            payload: payload.clone().unwrap_or_default(),
            require_reply: require_reply.clone(),
            min_len: *min_reply_length as usize,
            max_len: *max_reply_length as usize,
            timeout,
            // keepalived's udp_bind_connect binds the address and port, not the interface.
            source: crate::lvs::check::udp::Source {
                bindto: c.common.bindto,
                bind_port: c.common.bind_port,
                bind_if: None,
                fwmark: c.common.fwmark,
            },
        })),
        CheckKind::Ping => CheckSpec::Ping { ip, timeout },
        CheckKind::File {
            track_file,
            weight,
            reverse,
        } => match track_file.as_deref().and_then(|n| cfg.track_file(n)) {
            Some(tf) => CheckSpec::File {
                name: tf.name.clone(),
                path: tf.file.clone(),
                weight: weight.unwrap_or(tf.weight),
                reverse: if weight.is_some() {
                    *reverse
                } else {
                    tf.reverse
                },
            },
            None => CheckSpec::Invalid(format!(
                "FILE_CHECK: unknown track_file {}",
                track_file.as_deref().unwrap_or("(none)")
            )),
        },
        CheckKind::Bfd { name } => match name {
            Some(n) => CheckSpec::Bfd { name: n.clone() },
            None => CheckSpec::Invalid("BFD_CHECK without name".into()),
        },
    };
    CheckerPlan { spec, params, kind }
}

fn rs_plan(rs: &RealServer, vs: &VirtualServer, vs_port: u16, cfg: &Config) -> RsPlan {
    let port = rs.port.unwrap_or(vs_port);
    let fwd = forward(rs.forward.unwrap_or(vs.forward));
    let dest = Destination::new(rs.ip, port, fwd, rs.weight.max(0) as u32).with_thresholds(
        rs.uthreshold.unwrap_or(0),
        rs.lthreshold.unwrap_or(0).min(rs.uthreshold.unwrap_or(0)),
    );
    let d = Defaults(&rs.defaults, &rs.defaults, &vs.defaults);
    RsPlan {
        key: RsKey { ip: rs.ip, port },
        name: fmt_trio(rs.ip, Some(vs.protocol), port),
        dest,
        weight: i64::from(rs.weight),
        inhibit: d.pick(|x| &x.inhibit_on_failure).unwrap_or(false),
        notify_up: rs.notify_up.as_ref().map(no_loc),
        notify_down: rs.notify_down.as_ref().map(no_loc),
        checkers: rs
            .checkers
            .iter()
            .map(|c| checker_plan(c, rs, port, vs, cfg))
            .collect(),
    }
}

/// Plans one virtual server.
pub fn vs_plan(vs: &VirtualServer, cfg: &Config, warnings: &mut Vec<String>) -> VsPlan {
    let (keys, addresses) = service_keys(vs, cfg, warnings);
    let vs_port = match vs.address {
        VsAddress::Addr { port, .. } => port,
        _ => 0,
    };
    let name = vs_name(vs);
    let mut real_servers: Vec<RsPlan> = Vec::new();
    for rs in &vs.real_servers {
        let p = rs_plan(rs, vs, vs_port, cfg);
        if real_servers.iter().any(|x| x.key == p.key) {
            warnings.push(format!("{name}: duplicate real_server {} ignored", p.name));
            continue;
        }
        for c in &p.checkers {
            if let CheckSpec::Invalid(why) = &c.spec {
                warnings.push(format!("{name} {}: {why}; the checker stays down", p.name));
            }
        }
        real_servers.push(p);
    }
    VsPlan {
        key: VsKey {
            address: vs.address.clone(),
            protocol: vs.protocol,
            family: vs.ip_family,
        },
        name,
        services: keys.into_iter().map(|k| service_of(k, vs)).collect(),
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.as_ref().map(no_loc),
        quorum_down: vs.quorum_down.as_ref().map(no_loc),
        omega: vs.omega,
        ha_suspend: vs.ha_suspend,
        addresses,
        sorry: vs.sorry_server.as_ref().map(|s| SorryPlan {
            dest: Destination::new(
                s.ip,
                s.port.unwrap_or(vs_port),
                forward(s.forward.unwrap_or(vs.forward)),
                1,
            ),
            inhibit: vs.sorry_server_inhibit,
        }),
        real_servers,
    }
}

/// Plans every virtual server of a configuration.
pub fn plan(cfg: &Config) -> Plan {
    let mut warnings = Vec::new();
    let mut out: Vec<Arc<VsPlan>> = Vec::new();
    for vs in &cfg.virtual_servers {
        let p = vs_plan(vs, cfg, &mut warnings);
        if out.iter().any(|x| x.key == p.key) {
            warnings.push(format!("{}: duplicate virtual_server ignored", p.name));
            continue;
        }
        out.push(Arc::new(p));
    }
    Plan {
        virtual_servers: out,
        warnings,
    }
}
