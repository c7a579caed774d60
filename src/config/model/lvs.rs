//! `virtual_server_group`, `virtual_server`, `real_server` and the health checkers.

use super::common::{ScriptSpec, ScriptUser, Spans};
use super::vrrp::Family;
use crate::config::diag::Location;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Transport protocol of a virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP (default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// IPVS scheduler (`lb_algo` / `lvs_sched`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// LBLC with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// Every scheduler keepalived knows.
    const ALL: [Scheduler; 14] = [
        Self::Rr,
        Self::Wrr,
        Self::Lc,
        Self::Wlc,
        Self::Lblc,
        Self::Lblcr,
        Self::Dh,
        Self::Sh,
        Self::Sed,
        Self::Nq,
        Self::Fo,
        Self::Ovf,
        Self::Mh,
        Self::Twos,
    ];

    /// Parses a scheduler name (any case).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase();
        Self::ALL.into_iter().find(|sch| sch.name() == s)
    }

    /// The kernel's scheduler name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rr => "rr",
            Self::Wrr => "wrr",
            Self::Lc => "lc",
            Self::Wlc => "wlc",
            Self::Lblc => "lblc",
            Self::Lblcr => "lblcr",
            Self::Dh => "dh",
            Self::Sh => "sh",
            Self::Sed => "sed",
            Self::Nq => "nq",
            Self::Fo => "fo",
            Self::Ovf => "ovf",
            Self::Mh => "mh",
            Self::Twos => "twos",
        }
    }
}

/// Forwarding method (`lb_kind` / `lvs_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardMethod {
    /// Masquerading.
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

/// What a virtual server is addressed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VsAddress {
    /// `virtual_server IP PORT`.
    Addr {
        /// Address.
        ip: IpAddr,
        /// Port (0 when absent).
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// `sorry_server IP [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: Option<u16>,
}

/// One entry of a `virtual_server_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VsgEntry {
    /// An address range `first..=last` (one address when equal) with an optional port.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address.
        last: IpAddr,
        /// Port.
        port: Option<u16>,
        /// Where.
        loc: Location,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// Mark.
        mark: u32,
        /// Family.
        family: Option<Family>,
        /// Where.
        loc: Location,
    },
}

/// `virtual_server_group NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    /// Name.
    pub name: String,
    /// Where the block starts.
    pub loc: Location,
    /// Entries.
    pub entries: Vec<VsgEntry>,
}

/// Options a virtual server passes down to its real servers and checkers, and they may override.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDefaults {
    /// `delay_loop`.
    pub delay_loop: Option<Duration>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// `retry` / `nb_get_retry`.
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Duration>,
    /// `warmup`.
    pub warmup: Option<Duration>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `inhibit_on_failure`.
    pub inhibit_on_failure: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
}

/// `virtual_server ... { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    /// Address, fwmark or group.
    pub address: VsAddress,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `lb_algo` / `lvs_sched` (default wlc as ipvsadm).
    pub scheduler: Scheduler,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub forward: ForwardMethod,
    /// `persistence_timeout` (bare keyword: 360 s).
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<IpAddr>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<ScriptSpec>,
    /// `quorum_down`.
    pub quorum_down: Option<ScriptSpec>,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `ip_family`.
    pub ip_family: Option<Family>,
    /// Scheduler flags (`flag-1`.. / `sh-port` ...).
    pub flags: Vec<String>,
    /// `ops`: one-packet scheduling.
    pub ops: bool,
    /// Defaults for real servers and checkers.
    pub defaults: CheckDefaults,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
}

/// `real_server IP [PORT] { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: Option<u16>,
    /// Where the block starts.
    pub loc: Location,
    /// Keyword locations.
    pub spans: Spans,
    /// `weight` (default 1).
    pub weight: i32,
    /// `lvs_method` override.
    pub forward: Option<ForwardMethod>,
    /// `notify_up`.
    pub notify_up: Option<ScriptSpec>,
    /// `notify_down`.
    pub notify_down: Option<ScriptSpec>,
    /// `uthreshold`.
    pub uthreshold: Option<u32>,
    /// `lthreshold`.
    pub lthreshold: Option<u32>,
    /// Overrides of the virtual server's check defaults.
    pub defaults: CheckDefaults,
    /// Health checkers.
    pub checkers: Vec<Checker>,
}

/// Options every network checker understands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerCommon {
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// Overrides of timing and retry defaults.
    pub defaults: CheckDefaults,
}

/// `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `digest` (lower-case hex MD5).
    pub digest: Option<String>,
    /// `status_code` ranges (default 200-299).
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// Where.
    pub loc: Location,
}

/// The type-specific part of a checker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    /// `TCP_CHECK`: connect only.
    Tcp,
    /// `HTTP_GET` / `SSL_GET`.
    Http {
        /// SSL_GET.
        tls: bool,
        /// `http_protocol` (1.0, 1.0C, 1.1).
        http_protocol: Option<String>,
        /// `enable_sni`.
        enable_sni: bool,
        /// `sni_name`.
        sni_name: Option<String>,
        /// `url` blocks.
        urls: Vec<UrlCheck>,
    },
    /// `SMTP_CHECK`.
    Smtp {
        /// `helo_name`.
        helo_name: Option<String>,
    },
    /// `DNS_CHECK`.
    Dns {
        /// `type` (default SOA).
        qtype: String,
        /// `name` (default `.`).
        name: String,
    },
    /// `MISC_CHECK`.
    Misc {
        /// `misc_path`.
        path: Option<ScriptSpec>,
        /// `misc_timeout`.
        timeout: Option<Duration>,
        /// `misc_dynamic`.
        dynamic: bool,
        /// `user`.
        user: Option<ScriptUser>,
    },
    /// `UDP_CHECK`.
    Udp {
        /// `payload` bytes.
        payload: Option<Vec<u8>>,
        /// `require_reply` pattern (hex, `X` wildcards kept as text).
        require_reply: Option<String>,
        /// `min_reply_length`.
        min_reply_length: u32,
        /// `max_reply_length`.
        max_reply_length: u32,
    },
    /// `PING_CHECK`.
    Ping,
    /// `FILE_CHECK`.
    File {
        /// `track_file`.
        track_file: Option<String>,
        /// `weight`.
        weight: Option<i32>,
        /// `reverse`.
        reverse: bool,
    },
    /// `BFD_CHECK`.
    Bfd {
        /// `name` of a bfd_instance.
        name: Option<String>,
    },
}

/// One checker block inside a real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checker {
    /// Type and its options.
    pub kind: CheckKind,
    /// Common options.
    pub common: CheckerCommon,
    /// Where the block starts.
    pub loc: Location,
}

#[cfg(test)]
mod tests {
    use super::Scheduler;

    #[test]
    fn scheduler_names_read_back_in_any_case() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::parse(s.name()), Some(s));
            assert_eq!(Scheduler::parse(&s.name().to_uppercase()), Some(s));
        }
        assert_eq!(Scheduler::parse("lblcr"), Some(Scheduler::Lblcr));
        assert_eq!(Scheduler::parse("bogus"), None);
        // The kernel codec knows each of them by the same name (none is its `Other`).
        for s in Scheduler::ALL {
            let k: crate::ipvs::service::Scheduler = s.name().parse().unwrap_or_default();
            assert!(
                !matches!(k, crate::ipvs::service::Scheduler::Other(_)),
                "{k:?}"
            );
            assert_eq!(k.name(), s.name());
        }
    }
}
