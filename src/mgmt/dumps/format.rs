//! keepalived's state dumps, as pure functions of what the daemon gathered:
//!
//! - [`data`]: `keepalived.data` (SIGUSR1), the text layout of keepalived 2.2.x that exporters
//!   parse (mehdy/keepalived-exporter reads `State`, `Wantstate`, `Interface`,
//!   `Virtual Router ID`, `Gratuitous ARP delay`, the `Virtual IP (N):` lines as
//!   `ADDR dev IFNAME ...`, and each `VRRP Script`'s `Status` and `State`);
//! - [`stats`]: `keepalived.stats` (SIGUSR2), line for line as keepalived 2.2.7;
//! - [`json`]: `keepalived.json` (SIGRTMIN+2): v1, a top-level array of
//!   `{"data": {...}, "stats": {...}}` per VRRP instance with numeric `state` (0 INIT,
//!   1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP), or v2 (`json_version 2`)
//!   `{"vrrp": [...], "track_process": []}`; the field names and number formats of
//!   keepalived 2.2.7 (integral floats such as `garp_delay` print without a fraction, as C's
//!   `%g`, so Go exporters decoding them into `int` keep working);
//! - [`lvs_data`] / [`bfd_data`]: `keepalived_check.data` / `keepalived_bfd.data`;
//! - [`dump_path`]: where a dump goes (`state_dump_file` & co, `$TMPDIR`, `/tmp`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::bfd::BfdSnapshot;
use crate::config::model::{
    AddressSpec, Authentication, Broadcast, Config, Family, RouteSpec, RuleSpec, Scope, ScriptSpec,
    VrrpInstance, VrrpVersion,
};
use crate::lvs::LvsSnapshot;
use crate::track::priority::{TrackerKind, TrackerState};
use crate::vrrp::events::State;
use crate::vrrp::params::InstanceParams;
use crate::vrrp::status::InstanceStatus;

/// One tracker of an instance, with its resolved weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedView {
    /// Kind.
    pub kind: TrackerKind,
    /// Script / file / interface / BFD name.
    pub name: String,
    /// Weight (0: failure means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// One VRRP instance: its configuration and, when its actor answered, its status.
#[derive(Clone, Debug)]
pub struct VrrpView {
    /// The configuration.
    pub instance: Arc<VrrpInstance>,
    /// The state machine's parameters (keepalived's defaults and strict rules applied).
    pub params: InstanceParams,
    /// Where adverts go (multicast group or unicast peers).
    pub destinations: Vec<IpAddr>,
    /// Its trackers.
    pub trackers: Vec<TrackedView>,
    /// Its `vrrp_sync_group`.
    pub sync_group: Option<String>,
    /// What the actor reported (`None`: it did not answer in time; shown as INIT).
    pub status: Option<InstanceStatus>,
}

/// Everything a VRRP dump shows.
#[derive(Clone, Copy, Debug)]
pub struct VrrpDump<'a> {
    /// The running configuration.
    pub config: &'a Config,
    /// Instances in configuration order.
    pub instances: &'a [VrrpView],
    /// `vrrp_script` results by name.
    pub scripts: &'a BTreeMap<String, TrackerState>,
    /// `track_file` values by name.
    pub files: &'a BTreeMap<String, i64>,
}

/// JSON layout (`json_version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonVersion {
    /// A top-level array of instances (keepalived's default).
    V1,
    /// `{"vrrp": [...], "track_process": [...]}`.
    V2,
}

impl JsonVersion {
    /// From the global `json_version` keyword (anything but 2 is v1).
    pub fn of(config: &Config) -> Self {
        if config.global.json_version == 2 {
            JsonVersion::V2
        } else {
            JsonVersion::V1
        }
    }
}

/// A number printed like C's `%g` for the values keepalived prints that way: without a
/// fraction when integral.
#[derive(Clone, Copy, Debug, PartialEq)]
struct G(f64);

impl Serialize for G {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 9.0e15 {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

fn secs(d: Duration) -> G {
    G(d.as_secs_f64())
}

/// `data` of one JSON entry, in keepalived's field order.
#[derive(Serialize)]
struct JsonData {
    iname: String,
    dont_track_primary: u8,
    skip_check_adv_addr: u8,
    strict_mode: u8,
    vmac_ifname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ifp_ifname: Option<String>,
    master_priority: u8,
    last_transition: f64,
    garp_delay: G,
    garp_refresh: u64,
    garp_rep: u32,
    garp_refresh_rep: u32,
    garp_lower_prio_delay: u64,
    garp_lower_prio_rep: u32,
    lower_prio_no_advert: u8,
    higher_prio_send_advert: u8,
    vrid: u8,
    base_priority: u8,
    effective_priority: u8,
    vipset: bool,
    promote_secondaries: bool,
    adver_int: G,
    master_adver_int: G,
    accept: u8,
    nopreempt: bool,
    preempt_delay: u64,
    state: u8,
    wantstate: u8,
    version: u8,
    smtp_alert: bool,
    notify_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_deleted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master_rx_lower_pri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vroutes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vrules: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_ifp: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_script: Vec<String>,
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_data: Option<String>,
}

/// `stats` of one JSON entry (keepalived 2.2.7's set and order).
#[derive(Serialize)]
struct JsonStats {
    advert_rcvd: u64,
    advert_sent: u64,
    become_master: u64,
    release_master: u64,
    packet_len_err: u64,
    advert_interval_err: u64,
    ip_ttl_err: u64,
    invalid_type_rcvd: u64,
    addr_list_err: u64,
    invalid_authtype: u64,
    authtype_mismatch: u64,
    auth_failure: u64,
    pri_zero_rcvd: u64,
    pri_zero_sent: u64,
}

#[derive(Serialize)]
struct JsonEntry {
    data: JsonData,
    stats: JsonStats,
}

#[derive(Serialize)]
struct JsonV2 {
    vrrp: Vec<JsonEntry>,
    track_process: Vec<serde_json::Value>,
}

/// Seconds since the epoch with microseconds, as keepalived's `%f`.
fn epoch_secs(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_micros() as f64 / 1e6
}

/// keepalived's `cmd_str`: each word in single quotes (a leading redirection unquoted).
pub fn cmd_str(s: &ScriptSpec) -> String {
    let words: Vec<String> = if s.argv.is_empty() {
        vec![s.command.clone()]
    } else {
        s.argv.clone()
    };
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 && (w.starts_with('<') || w.starts_with('>')) {
                w.clone()
            } else {
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn scope_name(s: Scope) -> String {
    match s {
        Scope::Global => "global".into(),
        Scope::Site => "site".into(),
        Scope::Link => "link".into(),
        Scope::Host => "host".into(),
        Scope::Nowhere => "nowhere".into(),
        Scope::Other(v) => v.to_string(),
    }
}

/// An address as keepalived's `format_ipaddress`: `10.0.0.1/24 brd ... dev eth0 scope global
/// ... set` (the prefix is left out for a host address).
pub fn format_address(a: &AddressSpec, default_dev: &str, set: bool) -> String {
    let mut s = a.text();
    if let (IpAddr::V4(_), Some(b)) = (a.addr.addr(), a.broadcast) {
        match b {
            Broadcast::Addr(x) => {
                let _ = write!(s, " brd {x}");
            }
            Broadcast::Computed => {
                let _ = write!(s, " brd {}", a.addr.broadcast());
            }
            Broadcast::None => {}
        }
    }
    let _ = write!(s, " dev {}", a.dev.as_deref().unwrap_or(default_dev));
    if a.use_vmac {
        s.push_str(" use_vmac");
    }
    let _ = write!(s, " scope {}", scope_name(a.scope.unwrap_or(Scope::Global)));
    if let Some(l) = &a.label {
        let _ = write!(s, " label {l}");
    }
    if let Some(p) = &a.peer {
        let _ = write!(s, " peer {p}");
    }
    if a.home {
        s.push_str(" home");
    }
    if a.nodad {
        s.push_str(" -nodad");
    }
    if a.noprefixroute {
        s.push_str(" noprefixroute");
    }
    if a.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &a.track_group {
        let _ = write!(s, " track_group {g}");
    }
    if a.addr.addr().is_ipv6() {
        match a.preferred_lft {
            None => s.push_str(" preferred_lft forever"),
            Some(0) => s.push_str(" deprecated"),
            Some(n) => {
                let _ = write!(s, " preferred_lft {n}");
            }
        }
    }
    if set {
        s.push_str(" set");
    }
    s
}

/// A route in `ip route` words.
pub fn format_route(r: &RouteSpec, default_dev: &str) -> String {
    let mut s = r.to.to_string();
    if let Some(v) = r.via {
        let _ = write!(s, " via {v}");
    }
    if let Some(v) = r.src {
        let _ = write!(s, " src {v}");
    }
    let dev = r.dev.as_deref().unwrap_or(default_dev);
    if !dev.is_empty() {
        let _ = write!(s, " dev {dev}");
    }
    if let Some(t) = r.table {
        let _ = write!(s, " table {t}");
    }
    if let Some(m) = r.metric {
        let _ = write!(s, " metric {m}");
    }
    if let Some(sc) = r.scope {
        let _ = write!(s, " scope {}", scope_name(sc));
    }
    if let Some(p) = &r.protocol {
        let _ = write!(s, " proto {p}");
    }
    for o in &r.options {
        let _ = write!(s, " {o}");
    }
    if r.no_track {
        s.push_str(" no_track");
    }
    s
}

/// A rule in `ip rule` words.
pub fn format_rule(r: &RuleSpec) -> String {
    let mut w: Vec<String> = Vec::new();
    if r.inet6 {
        w.push("inet6".into());
    }
    if let Some(f) = &r.from {
        w.push(format!("from {f}"));
    }
    if let Some(t) = &r.to {
        w.push(format!("to {t}"));
    }
    if let Some((m, mask)) = r.fwmark {
        w.push(match mask {
            Some(k) => format!("fwmark {m:#x}/{k:#x}"),
            None => format!("fwmark {m:#x}"),
        });
    }
    if let Some(i) = &r.iif {
        w.push(format!("iif {i}"));
    }
    if let Some(o) = &r.oif {
        w.push(format!("oif {o}"));
    }
    if let Some(p) = r.priority {
        w.push(format!("priority {p}"));
    }
    if let Some(t) = r.table {
        w.push(format!("table {t}"));
    }
    w.extend(r.options.iter().cloned());
    if r.no_track {
        w.push("no_track".into());
    }
    w.join(" ")
}

/// The runtime values of a view, defaults when its actor did not answer.
struct Runtime<'a> {
    state: State,
    want: State,
    priority: u8,
    master: Option<(IpAddr, u8)>,
    master_adver_int: Duration,
    last_transition: SystemTime,
    vips_set: bool,
    src_ip: Option<IpAddr>,
    status: Option<&'a InstanceStatus>,
}

impl<'a> Runtime<'a> {
    fn of(v: &'a VrrpView) -> Self {
        match &v.status {
            Some(s) => Runtime {
                state: s.state,
                want: s.want_state,
                priority: s.priority,
                master: s.master,
                master_adver_int: s.master_adver_int,
                last_transition: s.last_transition,
                vips_set: s.vips_set,
                src_ip: s.src_ip,
                status: Some(s),
            },
            None => Runtime {
                state: State::Initialize,
                want: State::Initialize,
                priority: v.params.priority,
                master: None,
                master_adver_int: v.params.advert_int,
                last_transition: UNIX_EPOCH,
                vips_set: false,
                src_ip: None,
                status: None,
            },
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.status.map(|s| s.counter(name)).unwrap_or(0)
    }
}

fn ifname(i: &VrrpInstance) -> &str {
    i.interface.as_deref().unwrap_or("")
}

fn json_entry(v: &VrrpView) -> JsonEntry {
    let i = &*v.instance;
    let p = &v.params;
    let rt = Runtime::of(v);
    let dev = ifname(i);
    let script = |s: &Option<ScriptSpec>| s.as_ref().map(cmd_str);
    let master_priority = match (rt.state, rt.master) {
        (State::Backup, Some((_, prio))) => prio,
        _ => 0,
    };
    let data = JsonData {
        iname: i.name.clone(),
        dont_track_primary: u8::from(i.dont_track_primary),
        skip_check_adv_addr: u8::from(i.skip_check_adv_addr),
        strict_mode: u8::from(i.strict),
        vmac_ifname: match &i.use_vmac {
            Some(vm) => vm
                .name
                .clone()
                .unwrap_or_else(|| format!("vrrp.{}", i.vrid)),
            None => String::new(),
        },
        ifp_ifname: i.interface.clone(),
        master_priority,
        last_transition: epoch_secs(rt.last_transition),
        garp_delay: secs(p.garp.master_delay),
        garp_refresh: p.garp.master_refresh.as_secs(),
        garp_rep: p.garp.master_repeat,
        garp_refresh_rep: p.garp.master_refresh_repeat,
        garp_lower_prio_delay: p.garp.lower_prio_delay.as_secs(),
        garp_lower_prio_rep: p.garp.lower_prio_repeat,
        lower_prio_no_advert: u8::from(p.lower_prio_no_advert),
        higher_prio_send_advert: u8::from(p.higher_prio_send_advert),
        vrid: i.vrid,
        base_priority: i.priority,
        effective_priority: rt.priority,
        vipset: rt.vips_set,
        promote_secondaries: false,
        adver_int: secs(p.advert_int),
        master_adver_int: secs(rt.master_adver_int),
        accept: u8::from(p.accept_mode()),
        nopreempt: !p.preempt,
        preempt_delay: p.preempt_delay.as_secs(),
        state: rt.state.number(),
        wantstate: rt.want.number(),
        version: match i.version {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        },
        smtp_alert: i.smtp_alert.unwrap_or(false),
        notify_deleted: i.notify.deleted_state,
        script_backup: script(&i.notify.backup),
        script_master: script(&i.notify.master),
        script_fault: script(&i.notify.fault),
        script_stop: script(&i.notify.stop),
        script_deleted: script(&i.notify.deleted),
        script: script(&i.notify.generic),
        script_master_rx_lower_pri: script(&i.notify.master_rx_lower_pri),
        vips: i
            .virtual_ipaddress
            .iter()
            .map(|a| format_address(a, dev, rt.vips_set))
            .collect(),
        evips: i
            .virtual_ipaddress_excluded
            .iter()
            .map(|a| format_address(a, dev, rt.vips_set))
            .collect(),
        vroutes: i
            .virtual_routes
            .iter()
            .map(|r| format_route(r, dev))
            .collect(),
        vrules: i.virtual_rules.iter().map(format_rule).collect(),
        track_ifp: v
            .trackers
            .iter()
            .filter(|t| t.kind == TrackerKind::Interface)
            .map(|t| t.name.clone())
            .collect(),
        track_script: v
            .trackers
            .iter()
            .filter(|t| t.kind == TrackerKind::Script)
            .map(|t| t.name.clone())
            .collect(),
        auth_type: match (&i.authentication, i.version) {
            (Some(Authentication::Pass(_)), VrrpVersion::V2) => 1,
            (Some(Authentication::Ah(_)), VrrpVersion::V2) => 2,
            _ => 0,
        },
        // keepalived (since 2.3) masks the password; so do we.
        auth_data: match (&i.authentication, i.version) {
            (Some(_), VrrpVersion::V2) => Some("********".into()),
            _ => None,
        },
    };
    let c = |n: &str| rt.counter(n);
    let stats = JsonStats {
        advert_rcvd: c("advert_rcvd"),
        advert_sent: c("advert_sent"),
        become_master: c("become_master"),
        release_master: c("release_master"),
        packet_len_err: c("packet_len_err"),
        advert_interval_err: c("advert_interval_err"),
        ip_ttl_err: c("ip_ttl_err"),
        invalid_type_rcvd: c("invalid_type_rcvd"),
        addr_list_err: c("addr_list_err"),
        invalid_authtype: c("invalid_authtype"),
        authtype_mismatch: c("authtype_mismatch"),
        auth_failure: c("auth_failure"),
        pri_zero_rcvd: c("pri_zero_rcvd"),
        pri_zero_sent: c("pri_zero_sent"),
    };
    JsonEntry { data, stats }
}

/// `keepalived.json`.
pub fn json(d: &VrrpDump<'_>, version: JsonVersion) -> String {
    let entries: Vec<JsonEntry> = d.instances.iter().map(json_entry).collect();
    let r = match version {
        JsonVersion::V1 => serde_json::to_string(&entries),
        JsonVersion::V2 => serde_json::to_string(&JsonV2 {
            vrrp: entries,
            track_process: Vec::new(),
        }),
    };
    // Only plain strings and numbers: serialisation cannot fail.
    r.unwrap_or_else(|_| "[]".into())
}

/// `keepalived.stats`, as keepalived 2.2.7 writes it.
pub fn stats(d: &VrrpDump<'_>) -> String {
    let mut s = String::new();
    for v in d.instances {
        let rt = Runtime::of(v);
        let c = |n: &str| rt.counter(n);
        let _ = writeln!(s, "VRRP Instance: {}", v.instance.name);
        let _ = writeln!(s, "  Advertisements:");
        let _ = writeln!(s, "    Received: {}", c("advert_rcvd"));
        let _ = writeln!(s, "    Sent: {}", c("advert_sent"));
        let _ = writeln!(s, "  Became master: {}", c("become_master"));
        let _ = writeln!(s, "  Released master: {}", c("release_master"));
        let _ = writeln!(s, "  Packet Errors:");
        let _ = writeln!(s, "    Length: {}", c("packet_len_err"));
        let _ = writeln!(s, "    TTL: {}", c("ip_ttl_err"));
        let _ = writeln!(s, "    Invalid Type: {}", c("invalid_type_rcvd"));
        let _ = writeln!(
            s,
            "    Advertisement Interval: {}",
            c("advert_interval_err")
        );
        let _ = writeln!(s, "    Address List: {}", c("addr_list_err"));
        let _ = writeln!(s, "  Authentication Errors:");
        let _ = writeln!(s, "    Invalid Type: {}", c("invalid_authtype"));
        let _ = writeln!(s, "    Type Mismatch: {}", c("authtype_mismatch"));
        let _ = writeln!(s, "    Failure: {}", c("auth_failure"));
        let _ = writeln!(s, "  Priority Zero:");
        let _ = writeln!(s, "    Received: {}", c("pri_zero_rcvd"));
        let _ = writeln!(s, "    Sent: {}", c("pri_zero_sent"));
    }
    s
}

/// `keepalived_drops.stats` (written with `keepalived.stats`, whose layout stays keepalived
/// 2.2.7's for the exporters that parse it): every dropped packet under its reason — per
/// instance the reasons keepalived's layout has no line for, then the VRRP packets no instance
/// took and every BFD drop. ("Address List" in `keepalived.stats` counts accepted adverts whose
/// list differs: RFC 9568; keepalived 2.2.7 drops them.)
pub fn drops_stats(d: &VrrpDump<'_>) -> String {
    let mut s = String::new();
    for v in d.instances {
        let rt = Runtime::of(v);
        let c = |n: &str| rt.counter(n);
        let _ = writeln!(s, "VRRP Instance: {}", v.instance.name);
        let _ = writeln!(s, "  Packet Errors:");
        let _ = writeln!(s, "    Length: {}", c("packet_len_err"));
        let _ = writeln!(s, "    TTL: {}", c("ip_ttl_err"));
        let _ = writeln!(s, "    Version: {}", c("vers_err"));
        let _ = writeln!(s, "    Invalid Type: {}", c("invalid_type_rcvd"));
        let _ = writeln!(s, "    Checksum: {}", c("chk_err"));
        let _ = writeln!(s, "    VRID: {}", c("vrid_err"));
        let _ = writeln!(
            s,
            "    Advertisement Interval: {}",
            c("advert_interval_err")
        );
        let _ = writeln!(s, "    Unicast Source: {}", c("unicast_src_err"));
        let _ = writeln!(s, "    Owner: {}", c("owner_ignored"));
        let _ = writeln!(s, "  Authentication Errors:");
        let _ = writeln!(s, "    Invalid Type: {}", c("invalid_authtype"));
        let _ = writeln!(s, "    Type Mismatch: {}", c("authtype_mismatch"));
        let _ = writeln!(s, "    Failure: {}", c("auth_failure"));
        let _ = writeln!(
            s,
            "  Accepted with another address list: {}",
            c("addr_list_err")
        );
    }
    drops_section(
        &mut s,
        &crate::telemetry::metrics::vrrp_unmatched_drops(),
        &crate::telemetry::metrics::bfd_drops(),
    );
    s
}

/// keepalived-rs: the packets dropped before they reached an instance, and every BFD drop.
fn drops_section(
    s: &mut String,
    vrrp: &[(crate::telemetry::RxDrop, u64)],
    bfd: &[(crate::telemetry::metrics::BfdDrop, u64)],
) {
    let _ = writeln!(s, "VRRP packets not for any instance:");
    for (r, n) in vrrp {
        let _ = writeln!(s, "  {}: {n}", r.as_str());
    }
    let _ = writeln!(s, "BFD packets dropped:");
    for (r, n) in bfd {
        let _ = writeln!(s, "  {}: {n}", r.as_str());
    }
}

/// `Wed Dec  2 00:16:02.877619 2026` (UTC), keepalived's `ctime_us_r` layout.
pub fn ctime_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02}.{:06} {}",
        WD[days.rem_euclid(7) as usize],
        MO[(month - 1).clamp(0, 11) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros(),
        year
    )
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

fn tracked_lines(s: &mut String, title: &str, v: &VrrpView, kind: TrackerKind) {
    let list: Vec<&TrackedView> = v.trackers.iter().filter(|t| t.kind == kind).collect();
    if list.is_empty() {
        return;
    }
    let _ = writeln!(s, "   {title} :");
    for t in list {
        let _ = writeln!(
            s,
            "     {} weight {}{}",
            t.name,
            t.weight,
            if t.reverse { " reverse" } else { "" }
        );
    }
}

// Long by design: keepalived's `dump_vrrp` layout line by line, in its order, so the two can
// be compared side by side (tests/daemon_dumps.rs).
fn instance_data(s: &mut String, v: &VrrpView) {
    let i = &*v.instance;
    let p = &v.params;
    let rt = Runtime::of(v);
    let dev = ifname(i);
    let _ = writeln!(s, " VRRP Instance = {}", i.name);
    let _ = writeln!(
        s,
        "   VRRP Version = {}",
        if i.version == VrrpVersion::V2 { 2 } else { 3 }
    );
    if let Some(g) = &v.sync_group {
        let _ = writeln!(s, "   Sync group = {g}");
    }
    if i.family == Family::V6 {
        let _ = writeln!(s, "   Using Native IPv6");
    }
    let _ = writeln!(s, "   State = {}", rt.state.as_str());
    if rt.state == State::Backup {
        if let Some((addr, prio)) = rt.master {
            let _ = writeln!(s, "   Master router = {addr}");
            let _ = writeln!(s, "   Master priority = {prio}");
        }
        if i.version == VrrpVersion::V3 {
            let _ = writeln!(
                s,
                "   Master advert int = {:.2} sec",
                rt.master_adver_int.as_secs_f64()
            );
        }
    }
    if i.is_unicast() {
        let _ = writeln!(s, "   Flags:");
        let _ = writeln!(s, "     Using unicast");
    } else {
        let _ = writeln!(s, "   Flags: none");
    }
    let _ = writeln!(s, "   Wantstate = {}", rt.want.as_str());
    let lt = rt
        .last_transition
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "   Last transition = {}.{:06} ({})",
        lt.as_secs(),
        lt.subsec_micros(),
        ctime_utc(rt.last_transition)
    );
    let _ = writeln!(
        s,
        "   Interface = {}",
        if dev.is_empty() {
            "not configured"
        } else {
            dev
        }
    );
    if i.dont_track_primary {
        let _ = writeln!(s, "   VRRP interface tracking disabled");
    }
    if i.skip_check_adv_addr {
        let _ = writeln!(s, "   Skip checking advert IP addresses");
    }
    if i.strict {
        let _ = writeln!(s, "   Enforcing strict VRRP compliance");
    }
    let _ = writeln!(
        s,
        "   Using src_ip = {}{}",
        rt.src_ip
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(none)".into()),
        if i.unicast_src_ip.or(i.mcast_src_ip).is_some() {
            " (from configuration)"
        } else {
            ""
        }
    );
    if !i.is_unicast() {
        for d in &v.destinations {
            let _ = writeln!(s, "   Multicast address {d}");
        }
    }
    let g = &p.garp;
    let _ = writeln!(s, "   Gratuitous ARP delay = {}", g.master_delay.as_secs());
    let _ = writeln!(s, "   Gratuitous ARP repeat = {}", g.master_repeat);
    let _ = writeln!(
        s,
        "   Gratuitous ARP refresh = {}",
        g.master_refresh.as_secs()
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP refresh repeat = {}",
        g.master_refresh_repeat
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP lower priority delay = {}",
        g.lower_prio_delay.as_secs()
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP lower priority repeat = {}",
        g.lower_prio_repeat
    );
    let _ = writeln!(s, "   Down timer adverts = {}", p.down_timer_adverts);
    let _ = writeln!(
        s,
        "   Send advert after receive lower priority advert = {}",
        !p.lower_prio_no_advert
    );
    let _ = writeln!(
        s,
        "   Send advert after receive higher priority advert = {}",
        p.higher_prio_send_advert
    );
    let _ = writeln!(s, "   Virtual Router ID = {}", i.vrid);
    let _ = writeln!(s, "   Priority = {}", i.priority);
    let _ = writeln!(s, "   Effective priority = {}", rt.priority);
    if i.version == VrrpVersion::V2 {
        let _ = writeln!(s, "   Advert interval = {} sec", p.advert_int.as_secs());
    } else {
        let _ = writeln!(
            s,
            "   Advert interval = {} milli-sec",
            p.advert_int.as_millis()
        );
    }
    let _ = writeln!(s, "   Accept = {}", on_off(p.accept_mode()));
    let _ = writeln!(s, "   Preempt = {}", on_off(p.preempt));
    if !p.preempt_delay.is_zero() {
        let _ = writeln!(
            s,
            "   Preempt delay = {} secs",
            p.preempt_delay.as_secs_f64()
        );
    }
    if i.version == VrrpVersion::V2 {
        let _ = writeln!(
            s,
            "   Authentication type = {}",
            match &i.authentication {
                Some(Authentication::Pass(_)) => "SIMPLE_PASSWORD",
                Some(Authentication::Ah(_)) => "IPSEC_AH",
                None => "none",
            }
        );
    }
    if !i.virtual_ipaddress.is_empty() {
        let _ = writeln!(s, "   Virtual IP ({}):", i.virtual_ipaddress.len());
        for a in &i.virtual_ipaddress {
            let _ = writeln!(s, "     {}", format_address(a, dev, rt.vips_set));
        }
    }
    if !i.virtual_ipaddress_excluded.is_empty() {
        let _ = writeln!(s, "   Virtual IP Excluded :");
        for a in &i.virtual_ipaddress_excluded {
            let _ = writeln!(s, "     {}", format_address(a, dev, rt.vips_set));
        }
    }
    if i.is_unicast() {
        if let Some(ttl) = i.unicast_ttl {
            let _ = writeln!(s, "   Unicast TTL = {ttl}");
        }
        let _ = writeln!(s, "   Unicast Peer :");
        for peer in &i.unicast_peers {
            let _ = writeln!(s, "     {}", peer.addr);
        }
    }
    if !i.virtual_routes.is_empty() {
        let _ = writeln!(s, "   Virtual Routes :");
        for r in &i.virtual_routes {
            let _ = writeln!(s, "     {}", format_route(r, dev));
        }
    }
    if !i.virtual_rules.is_empty() {
        let _ = writeln!(s, "   Virtual Rules :");
        for r in &i.virtual_rules {
            let _ = writeln!(s, "     {}", format_rule(r));
        }
    }
    tracked_lines(s, "Tracked interfaces", v, TrackerKind::Interface);
    tracked_lines(s, "Tracked scripts", v, TrackerKind::Script);
    tracked_lines(s, "Tracked files", v, TrackerKind::File);
    tracked_lines(s, "Tracked processes", v, TrackerKind::Process);
    tracked_lines(s, "Tracked BFDs", v, TrackerKind::Bfd);
    let _ = writeln!(
        s,
        "   Using smtp notification = {}",
        yes_no(i.smtp_alert.unwrap_or(false))
    );
    let _ = writeln!(
        s,
        "   Notify deleted = {}",
        if i.notify.deleted_state {
            "Deleted"
        } else {
            "Fault"
        }
    );
    let n = &i.notify;
    for (script, kind) in [
        (&n.backup, "Backup"),
        (&n.master, "Master"),
        (&n.fault, "Fault"),
        (&n.stop, "Stop"),
        (&n.deleted, "Deleted"),
        (&n.generic, "Generic"),
        (&n.master_rx_lower_pri, "Master rx lower pri"),
    ] {
        if let Some(sc) = script {
            let _ = writeln!(s, "   {kind} state transition script = {}", cmd_str(sc));
        }
    }
    let _ = writeln!(
        s,
        "   Notify priority changes = {}",
        n.priority_changes.unwrap_or(false)
    );
}

/// `keepalived.data` (VRRP side).
// Long by design: keepalived's `dump_data_vrrp` layout (global section) in its order.
pub fn data(d: &VrrpDump<'_>) -> String {
    let c = d.config;
    let g = &c.global;
    let mut s = String::new();
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(
        s,
        " Router ID = {}",
        g.router_id.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(s, " VRRP IPv4 mcast group = {}", g.vrrp_mcast_group4);
    let _ = writeln!(s, " VRRP IPv6 mcast group = {}", g.vrrp_mcast_group6);
    let _ = writeln!(
        s,
        " Gratuitous ARP delay = {}",
        g.vrrp_garp_master_delay.as_secs()
    );
    let _ = writeln!(s, " Gratuitous ARP repeat = {}", g.vrrp_garp_master_repeat);
    let _ = writeln!(s, " VRRP default protocol version = {}", g.vrrp_version);
    let _ = writeln!(s, " Script security {}", on_off(g.enable_script_security));
    if !c.static_ipaddress.is_empty() {
        let _ = writeln!(s, "------< Static Addresses >------");
        for a in &c.static_ipaddress {
            let _ = writeln!(s, " {}", format_address(a, "", false));
        }
    }
    if !c.static_routes.is_empty() {
        let _ = writeln!(s, "------< Static Routes >------");
        for r in &c.static_routes {
            let _ = writeln!(s, " {}", format_route(r, ""));
        }
    }
    if !c.static_rules.is_empty() {
        let _ = writeln!(s, "------< Static Rules >------");
        for r in &c.static_rules {
            let _ = writeln!(s, " {}", format_rule(r));
        }
    }
    if !d.instances.is_empty() {
        let _ = writeln!(s, "------< VRRP Topology >------");
        for v in d.instances {
            instance_data(&mut s, v);
        }
    }
    if !c.sync_groups.is_empty() {
        let _ = writeln!(s, "------< VRRP Sync groups >------");
        for grp in &c.sync_groups {
            // The group's state is its members' (they move together).
            let state = grp
                .members
                .iter()
                .filter_map(|(m, _)| d.instances.iter().find(|v| v.instance.name == *m))
                .map(|v| Runtime::of(v).state)
                .next()
                .unwrap_or(State::Initialize);
            let _ = writeln!(s, " VRRP Sync Group = {}, {}", grp.name, state.as_str());
            let _ = writeln!(s, "   VRRP member instances = {}", grp.members.len());
            for (m, _) in &grp.members {
                let _ = writeln!(s, "     {m}");
            }
        }
    }
    if !c.vrrp_scripts.is_empty() {
        let _ = writeln!(s, "------< VRRP Scripts >------");
        for sc in &c.vrrp_scripts {
            let state = d
                .scripts
                .get(&sc.name)
                .copied()
                .unwrap_or(TrackerState::Unknown);
            let _ = writeln!(s, " VRRP Script = {}", sc.name);
            if let Some(cmd) = &sc.script {
                let _ = writeln!(s, "   Command = {}", cmd_str(cmd));
            }
            let _ = writeln!(s, "   Interval = {} sec", sc.interval.as_secs());
            let _ = writeln!(s, "   Timeout = {} sec", sc.timeout.as_secs());
            let _ = writeln!(
                s,
                "   Weight = {}{}",
                sc.weight,
                if sc.weight_reverse { " reverse" } else { "" }
            );
            let _ = writeln!(s, "   Rise = {}", sc.rise);
            let _ = writeln!(s, "   Fall = {}", sc.fall);
            let _ = writeln!(
                s,
                "   Init state = {}",
                if state == TrackerState::Unknown {
                    "INIT"
                } else {
                    "unknown"
                }
            );
            // keepalived: GOOD once the script has succeeded `rise` times, else BAD.
            let _ = writeln!(
                s,
                "   Status = {}",
                if state == TrackerState::Up {
                    "GOOD"
                } else {
                    "BAD"
                }
            );
            let _ = writeln!(s, "   Tracking instances :");
            for v in d.instances {
                for t in v
                    .trackers
                    .iter()
                    .filter(|t| t.kind == TrackerKind::Script && t.name == sc.name)
                {
                    let _ = writeln!(s, "     {}, weight {}", v.instance.name, t.weight);
                }
            }
            // Runs are short and not tracked individually: between runs a script is idle.
            let _ = writeln!(s, "   State = idle");
        }
    }
    if !c.track_files.is_empty() {
        let _ = writeln!(s, "------< VRRP Track files >------");
        for f in &c.track_files {
            let _ = writeln!(s, " Track file = {}", f.name);
            let _ = writeln!(s, "   File = {}", f.file.as_deref().unwrap_or(""));
            let _ = writeln!(
                s,
                "   Status = {}",
                d.files.get(&f.name).copied().unwrap_or(0)
            );
            let _ = writeln!(
                s,
                "   Weight = {}{}",
                f.weight,
                if f.reverse { " reverse" } else { "" }
            );
        }
    }
    s
}

/// `keepalived_check.data`: the director's view of every virtual and real server.
pub fn lvs_data(snap: &LvsSnapshot) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "------< IPVS Topology >------");
    for vs in &snap.virtual_servers {
        let _ = writeln!(s, " Virtual Server = {}", vs.name);
        let _ = writeln!(
            s,
            "   Quorum = {}",
            if vs.quorum_up { "up" } else { "down" }
        );
        let _ = writeln!(s, "   Checks suspended = {}", yes_no(vs.suspended));
        let _ = writeln!(s, "   IPVS services = {}", vs.services.len());
        for rs in &vs.real_servers {
            let up = rs.checkers.iter().filter(|c| **c).count();
            let _ = writeln!(s, "   Real Server = {}", rs.name);
            let _ = writeln!(s, "     Alive = {}", yes_no(rs.alive));
            let _ = writeln!(s, "     Weight = {}", rs.weight);
            let _ = writeln!(
                s,
                "     Checkers = {} up, {} down",
                up,
                rs.checkers.len() - up
            );
        }
    }
    s
}

/// `keepalived_bfd.data`: every session's last known state.
pub fn bfd_data(sessions: &[(String, BfdSnapshot)], now: Instant) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "------< BFD Topology >------");
    for (name, b) in sessions {
        let _ = writeln!(s, " BFD Instance = {name}");
        let _ = writeln!(s, "   State = {:?}", b.state);
        let _ = writeln!(s, "   Local diagnostic = {:?}", b.diag);
        let _ = writeln!(s, "   Local discriminator = {}", b.local_discr);
        let _ = writeln!(
            s,
            "   In state for = {:.3} sec",
            now.saturating_duration_since(b.since).as_secs_f64()
        );
    }
    s
}

/// keepalived's temporary directory: `$TMPDIR` when absolute, else `/tmp`.
pub fn tmp_dir(tmpdir_env: Option<&str>) -> PathBuf {
    match tmpdir_env {
        Some(t) if t.starts_with('/') => PathBuf::from(t),
        _ => PathBuf::from("/tmp"),
    }
}

/// Where a dump goes. `setting` is `state_dump_file` / `stats_dump_file` / `json_dump_file`:
/// an absolute path is used as is, one ending in `/` is a directory for `default_name`, a
/// relative one is a name in `tmp`. `suffix` goes before the extension (`_check`, `_bfd` for
/// the other data dumps, as keepalived: `keepalived_check.data`).
pub fn dump_path(setting: Option<&str>, default_name: &str, suffix: &str, tmp: &Path) -> PathBuf {
    let (dir, name): (PathBuf, String) = match setting.filter(|s| !s.is_empty()) {
        None => (tmp.to_path_buf(), default_name.to_string()),
        Some(s) if s.ends_with('/') => (PathBuf::from(s), default_name.to_string()),
        Some(s) => {
            let p = Path::new(s);
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| default_name.to_string());
            let dir = if p.is_absolute() {
                p.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| tmp.to_path_buf())
            } else {
                tmp.to_path_buf()
            };
            (dir, name)
        }
    };
    let name = match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}{suffix}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}{suffix}"),
    };
    dir.join(name)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
