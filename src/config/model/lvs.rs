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
    /// `sorry_server_lvs_method` (default: the virtual server's `lb_kind`).
    #[serde(default)]
    pub forward: Option<ForwardMethod>,
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
    /// `fwmark`: firewall mark (SO_MARK) of the probe sockets; 0 or none: no mark.
    #[serde(default)]
    pub fwmark: Option<u32>,
    /// `log_all_failures`: log each failed attempt while the server is up.
    #[serde(default)]
    pub log_all_failures: bool,
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
    /// `regex` and its `regex_*` options.
    pub regex: Option<UrlRegex>,
    /// Where.
    pub loc: Location,
}

/// `regex` of a `url { }` with `regex_no_match`, `regex_options`, `regex_min_offset`,
/// `regex_max_offset`, as keepalived 2.2.7 keeps them (`regex_stack` sizes PCRE2's JIT stack:
/// equivalent, the linear-time engine has none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRegex {
    /// The pattern (after keepalived's escape processing).
    pub pattern: String,
    /// `regex_options`: the keepalived (PCRE2) option names given and known.
    pub options: Vec<String>,
    /// `regex_no_match`: the url passes when the body does NOT match.
    pub no_match: bool,
    /// `regex_min_offset`: first body offset where a match may start.
    pub min_offset: u64,
    /// `regex_max_offset`: last body offset where a match may start (inclusive).
    pub max_offset: Option<u64>,
}

/// What keepalived-rs does with one of keepalived's `regex_options` (PCRE2 option names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexOption {
    /// `caseless`.
    Caseless,
    /// `multiline`: `^`/`$` match at line starts/ends.
    Multiline,
    /// `dotall`: `.` matches a newline.
    Dotall,
    /// `extended`: whitespace and `#` comments in the pattern are ignored.
    Extended,
    /// `ungreedy`: quantifiers are lazy by default.
    Ungreedy,
    /// `utf` / `ucp`: the pattern and body are UTF-8, classes are Unicode.
    Unicode,
    /// No effect on which bodies match (optimisation or capture switches, or already the
    /// engine's behaviour); the text says why.
    NoEffect(&'static str),
    /// Changes matching in a way the engine cannot follow; the text says what is lost.
    Unsupported(&'static str),
}

impl RegexOption {
    /// keepalived 2.2.7's option name (check_http.c's table); None for a name keepalived
    /// ignores.
    pub fn parse(name: &str) -> Option<Self> {
        use RegexOption::*;
        Some(match name {
            "caseless" => Caseless,
            "multiline" => Multiline,
            "dotall" => Dotall,
            "extended" => Extended,
            "ungreedy" => Ungreedy,
            "utf" | "ucp" => Unicode,
            "never_utf" | "never_ucp" => {
                NoEffect("bytes are matched without UTF-8 decoding unless utf/ucp is given")
            }
            "dollar_endonly" => NoEffect("'$' only ever matches at the very end of the body"),
            "no_auto_capture" | "dupnames" => NoEffect("captured groups are not used by the check"),
            "auto_callout" | "no_auto_possess" | "no_dotstar_anchor" | "no_start_optimize" => {
                NoEffect("a PCRE2 optimisation or debugging switch")
            }
            "never_backslash_c" => NoEffect("'\\C' is never accepted"),
            "use_offset_limit" => NoEffect("keepalived sets no offset limit"),
            "firstline" => Unsupported("a match is not restricted to the first line of the body"),
            "allow_empty_class" => Unsupported("'[]' is not an empty class"),
            "alt_bsux" => Unsupported("'\\u', '\\U' and '\\x' keep their usual meaning"),
            "alt_circumflex" => {
                Unsupported("'^' in multiline mode also matches after a final newline")
            }
            "alt_verbnames" | "match_unset_backref" => {
                Unsupported("backtracking verbs and backreferences do not exist in this engine")
            }
            _ => return None,
        })
    }
}

impl UrlRegex {
    /// Compiles the pattern with its options for the linear-time `regex` engine: bytes are
    /// matched as PCRE2 does without `utf` (no UTF-8 decoding, ASCII classes); the compiled
    /// program and its lazy DFA are size-limited so one pattern cannot take the checker's memory.
    pub fn compile(&self) -> Result<regex::bytes::Regex, String> {
        let mut b = regex::bytes::RegexBuilder::new(&self.pattern);
        b.unicode(false).size_limit(1 << 20).dfa_size_limit(1 << 20);
        for o in self.options.iter().filter_map(|o| RegexOption::parse(o)) {
            match o {
                RegexOption::Caseless => b.case_insensitive(true),
                RegexOption::Multiline => b.multi_line(true),
                RegexOption::Dotall => b.dot_matches_new_line(true),
                RegexOption::Extended => b.ignore_whitespace(true),
                RegexOption::Ungreedy => b.swap_greed(true),
                RegexOption::Unicode => b.unicode(true),
                RegexOption::NoEffect(_) | RegexOption::Unsupported(_) => &mut b,
            };
        }
        b.build().map_err(|e| match e {
            regex::Error::Syntax(s) => s
                .lines()
                .last()
                .unwrap_or("syntax error")
                .trim()
                .to_string(),
            regex::Error::CompiledTooBig(n) => format!("compiled pattern larger than {n} bytes"),
            other => other.to_string(),
        })
    }
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
        /// `fast_recovery`: a server back from a failure is confirmed at once, not after
        /// `delay_loop`.
        #[serde(default)]
        fast_recovery: bool,
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
