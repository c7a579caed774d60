//! Prometheus metrics (prometheus-client): one [`Metrics`] registry per daemon.
//!
//! Names follow Prometheus conventions under the `keepalived_` prefix; VRRP series carry
//! keepalived-exporter's labels (`iname`, `intf`, `vrid`) so existing dashboards port with the
//! mapping in `observability/README.md` (and `observability/compat-rules.yml`, which recreates
//! the two exporters' names with recording rules).
//!
//! Hot paths (adverts, checker results) use pre-resolved handles ([`VrrpMetrics`],
//! [`CheckerMetrics`]): one atomic add per call, no allocation, no lock. The flat methods on
//! [`Metrics`] (`vrrp_advert_sent(instance)` ...) look the handle up by name under a read lock
//! (no allocation) and are fine for everything that is not per packet.

use futures::future::BoxFuture;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type FGauge = Gauge<f64, AtomicU64>;

/// VRRP state as exported in `keepalived_vrrp_state` (keepalived's own numbering, the one
/// keepalived-exporter exports: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VrrpState {
    /// Not started yet / stopped.
    Init = 0,
    /// Backup.
    Backup = 1,
    /// Master.
    Master = 2,
    /// Fault (tracked interface/script/BFD down).
    Fault = 3,
}

impl VrrpState {
    /// Upper-case name as keepalived logs it (used as `from`/`to` label values).
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
        }
    }
}

/// BFD session state as exported in `keepalived_bfd_state` (RFC 5880 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BfdState {
    /// AdminDown.
    AdminDown = 0,
    /// Down.
    Down = 1,
    /// Init.
    Init = 2,
    /// Up.
    Up = 3,
}

impl BfdState {
    /// Name used in labels and spans.
    pub fn as_str(self) -> &'static str {
        match self {
            BfdState::AdminDown => "AdminDown",
            BfdState::Down => "Down",
            BfdState::Init => "Init",
            BfdState::Up => "Up",
        }
    }
}

/// Why a received VRRP packet was dropped (`reason` label of `keepalived_vrrp_rx_dropped_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RxDrop {
    /// TTL / hop limit is not 255 (`ttl`).
    Ttl,
    /// Unsupported or mismatched VRRP version (`version`).
    Version,
    /// Type is not ADVERTISEMENT (`type`).
    Type,
    /// Bad checksum (`checksum`).
    Checksum,
    /// VRID not ours (`vrid`).
    Vrid,
    /// Authentication failure, wrong password (`auth`).
    Auth,
    /// Authentication type differs from ours (`auth_type`).
    AuthType,
    /// Authentication type unknown / invalid (`auth_invalid`).
    AuthInvalid,
    /// Advertisement interval differs from ours (`interval`).
    Interval,
    /// Packet too short or length inconsistent with the address count (`length`).
    Length,
    /// Unicast advert from an address that is not a configured peer (`unicast_src`).
    UnicastSource,
    /// Advert received by an address owner that ignores them (`owner`).
    Owner,
    /// Malformed IP header: nothing to attribute the packet to (`ip_header`).
    IpHeader,
}

impl RxDrop {
    /// Every reason, in discriminant order.
    pub const ALL: [RxDrop; 13] = [
        RxDrop::Ttl,
        RxDrop::Version,
        RxDrop::Type,
        RxDrop::Checksum,
        RxDrop::Vrid,
        RxDrop::Auth,
        RxDrop::AuthType,
        RxDrop::AuthInvalid,
        RxDrop::Interval,
        RxDrop::Length,
        RxDrop::UnicastSource,
        RxDrop::Owner,
        RxDrop::IpHeader,
    ];

    /// The reason of a per-instance drop counter (keepalived's names: [`DecodeError::counter`]
    /// and [`DropReason::counter`]); `None` for a name that is not a drop.
    ///
    /// [`DecodeError::counter`]: crate::vrrp::packet::DecodeError::counter
    /// [`DropReason::counter`]: crate::vrrp::validate::DropReason::counter
    pub fn for_counter(counter: &str) -> Option<RxDrop> {
        Some(match counter {
            "ip_ttl_err" => RxDrop::Ttl,
            "vers_err" => RxDrop::Version,
            "invalid_type_rcvd" => RxDrop::Type,
            "chk_err" => RxDrop::Checksum,
            "vrid_err" => RxDrop::Vrid,
            "auth_failure" => RxDrop::Auth,
            "authtype_mismatch" => RxDrop::AuthType,
            "invalid_authtype" => RxDrop::AuthInvalid,
            "advert_interval_err" => RxDrop::Interval,
            "packet_len_err" => RxDrop::Length,
            "unicast_src_err" => RxDrop::UnicastSource,
            "owner_ignored" => RxDrop::Owner,
            _ => return None,
        })
    }

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RxDrop::Ttl => "ttl",
            RxDrop::Version => "version",
            RxDrop::Type => "type",
            RxDrop::Checksum => "checksum",
            RxDrop::Vrid => "vrid",
            RxDrop::Auth => "auth",
            RxDrop::AuthType => "auth_type",
            RxDrop::AuthInvalid => "auth_invalid",
            RxDrop::Interval => "interval",
            RxDrop::Length => "length",
            RxDrop::UnicastSource => "unicast_src",
            RxDrop::Owner => "owner",
            RxDrop::IpHeader => "ip_header",
        }
    }
}

impl EncodeLabelValue for RxDrop {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VrrpLabels {
    iname: String,
    intf: String,
    vrid: u8,
}

/// One address of an instance (keepalived-exporter's `keepalived_vrrp_excluded_state` labels:
/// `intf` is the address's own device, `ip_address` the address as keepalived prints it).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VrrpAddrLabels {
    iname: String,
    intf: String,
    vrid: u8,
    ip_address: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VrrpDropLabels {
    iname: String,
    intf: String,
    vrid: u8,
    reason: RxDrop,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    iname: String,
    intf: String,
    vrid: u8,
    from: String,
    to: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameResultLabels {
    name: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BfdTransitionLabels {
    name: String,
    from: &'static str,
    to: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckerLabels {
    vs: String,
    rs: String,
    checker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckerResultLabels {
    vs: String,
    rs: String,
    checker: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VsCheckerLabels {
    vs: String,
    checker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RsLabels {
    vs: String,
    rs: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VsLabels {
    vs: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConfigObjectLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActorLabels {
    actor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    implementation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntfDropLabels {
    intf: String,
    reason: RxDrop,
}

/// Kernel counters of one IPVS service or real server (what `ipvsadm -Ln --stats` shows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpvsCounters {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in.
    pub in_packets: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
}

/// One IPVS service as the kernel reports it, with its real servers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvsServiceStats {
    /// keepalived's name of the service: `[10.0.0.1]:tcp:80`, `FWM 5` (`FWM 5 v6` for an
    /// IPv6 fwmark service), as the `vs` label of `keepalived_real_server_up`.
    pub vs: String,
    /// The service's counters.
    pub counters: IpvsCounters,
    /// Real servers: name (`[192.168.0.10]:tcp:8080`) and counters.
    pub real_servers: Vec<(String, IpvsCounters)>,
}

/// Something that refreshes part of the registry before each scrape (the IPVS counters are
/// read from the kernel then, as the exporters do).
pub trait ScrapeHook: Send + Sync {
    /// Updates `metrics`; must be bounded in time (a scrape waits for it).
    fn refresh<'a>(&'a self, metrics: &'a Metrics) -> BoxFuture<'a, ()>;
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IpvsRsLabels {
    vs: String,
    rs: String,
}

/// `keepalived_ipvs_service_*_total{vs}` and `keepalived_ipvs_real_server_*_total{vs,rs}`,
/// encoded from the last snapshot at each scrape.
#[derive(Debug, Default)]
struct IpvsCollector {
    snapshot: Arc<Mutex<Vec<IpvsServiceStats>>>,
}

const IPVS_COUNTERS: [(&str, &str); 5] = [
    ("connections", "connections scheduled"),
    ("in_packets", "packets received"),
    ("out_packets", "packets sent"),
    ("in_bytes", "bytes received"),
    ("out_bytes", "bytes sent"),
];

fn ipvs_value(c: &IpvsCounters, what: &str) -> u64 {
    match what {
        "connections" => c.connections,
        "in_packets" => c.in_packets,
        "out_packets" => c.out_packets,
        "in_bytes" => c.in_bytes,
        _ => c.out_bytes,
    }
}

impl Collector for IpvsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.snapshot.lock().map(|s| s.clone()).unwrap_or_default();
        for (what, help) in IPVS_COUNTERS {
            let name = format!("ipvs_service_{what}");
            let help =
                format!("IPVS virtual service: {help} (kernel counter, read at scrape time)");
            let mut e = encoder.encode_descriptor(&name, &help, None, MetricType::Counter)?;
            for svc in &snap {
                let l = VsLabels { vs: svc.vs.clone() };
                ConstCounter::new(ipvs_value(&svc.counters, what)).encode(e.encode_family(&l)?)?;
            }
        }
        for (what, help) in IPVS_COUNTERS {
            let name = format!("ipvs_real_server_{what}");
            let help = format!("IPVS real server: {help} (kernel counter, read at scrape time)");
            let mut e = encoder.encode_descriptor(&name, &help, None, MetricType::Counter)?;
            for svc in &snap {
                for (rs, c) in &svc.real_servers {
                    let l = IpvsRsLabels {
                        vs: svc.vs.clone(),
                        rs: rs.clone(),
                    };
                    ConstCounter::new(ipvs_value(c, what)).encode(e.encode_family(&l)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Why a received BFD packet was dropped (`reason` of `keepalived_bfd_rx_dropped_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BfdDrop {
    /// Not a valid control packet (§6.8.6 packet-local checks) (`malformed`).
    Malformed,
    /// No session has its discriminator or addresses (`no_session`).
    NoSession,
    /// From another address or port than the session's neighbour (`wrong_source`).
    WrongSource,
    /// TTL / hop limit below the session's minimum (GTSM) (`ttl`).
    Ttl,
    /// Your Discriminator is not the session's (`wrong_discriminator`).
    WrongDiscriminator,
    /// Authentication present but not in use (`auth`).
    Auth,
    /// Received while the session is administratively down (`admin_down`).
    AdminDown,
}

impl BfdDrop {
    /// Every reason, in discriminant order.
    pub const ALL: [BfdDrop; 7] = [
        BfdDrop::Malformed,
        BfdDrop::NoSession,
        BfdDrop::WrongSource,
        BfdDrop::Ttl,
        BfdDrop::WrongDiscriminator,
        BfdDrop::Auth,
        BfdDrop::AdminDown,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            BfdDrop::Malformed => "malformed",
            BfdDrop::NoSession => "no_session",
            BfdDrop::WrongSource => "wrong_source",
            BfdDrop::Ttl => "ttl",
            BfdDrop::WrongDiscriminator => "wrong_discriminator",
            BfdDrop::Auth => "auth",
            BfdDrop::AdminDown => "admin_down",
        }
    }
}

/// Process-wide totals of the packets dropped where no per-object handle exists (the shared
/// VRRP and BFD receive paths) and of every BFD drop: for `/metrics` and the stats dump,
/// with or without `--metrics-listen`.
static BFD_DROPS: [AtomicU64; BfdDrop::ALL.len()] =
    [const { AtomicU64::new(0) }; BfdDrop::ALL.len()];
static VRRP_UNMATCHED: [AtomicU64; RxDrop::ALL.len()] =
    [const { AtomicU64::new(0) }; RxDrop::ALL.len()];

/// Counts a dropped BFD packet (every BFD drop goes through here).
pub fn count_bfd_drop(reason: BfdDrop) {
    BFD_DROPS[reason as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Counts a VRRP packet dropped before it matched an instance (also in
/// [`Metrics::vrrp_rx_drop_unmatched`] when metrics are served).
pub fn count_vrrp_unmatched(reason: RxDrop) {
    VRRP_UNMATCHED[reason as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// BFD drops so far, by reason.
pub fn bfd_drops() -> Vec<(BfdDrop, u64)> {
    BfdDrop::ALL
        .iter()
        .map(|r| {
            (
                *r,
                BFD_DROPS[*r as usize].load(std::sync::atomic::Ordering::Relaxed),
            )
        })
        .collect()
}

/// VRRP packets dropped before they matched an instance so far, by reason.
pub fn vrrp_unmatched_drops() -> Vec<(RxDrop, u64)> {
    RxDrop::ALL
        .iter()
        .map(|r| {
            (
                *r,
                VRRP_UNMATCHED[*r as usize].load(std::sync::atomic::Ordering::Relaxed),
            )
        })
        .collect()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BfdDropLabels {
    reason: &'static str,
}

/// `keepalived_bfd_rx_dropped_total{reason}` from the process-wide counters.
#[derive(Debug)]
struct BfdDropCollector;

impl Collector for BfdDropCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut e = encoder.encode_descriptor(
            "bfd_rx_dropped",
            "Received BFD packets dropped, by reason (all sessions, and packets no session took)",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in bfd_drops() {
            let l = BfdDropLabels {
                reason: reason.as_str(),
            };
            ConstCounter::new(n).encode(e.encode_family(&l)?)?;
        }
        Ok(())
    }
}

/// Registers `m` under `keepalived_<name>` and records the sample names it exports.
fn reg(r: &mut Registry, names: &mut Vec<String>, name: &str, help: &str, m: impl Metric) {
    let full = format!("keepalived_{name}");
    match m.metric_type() {
        MetricType::Counter => names.push(format!("{full}_total")),
        MetricType::Histogram => {
            for suffix in ["", "_bucket", "_sum", "_count"] {
                names.push(format!("{full}{suffix}"));
            }
        }
        MetricType::Info => names.push(format!("{full}_info")),
        _ => names.push(full),
    }
    r.register(name, help, m);
}

fn result_str(ok: bool) -> &'static str {
    if ok {
        "success"
    } else {
        "failure"
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Histogram buckets for script and checker latencies: 1 ms .. 30 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Histogram buckets for reload durations: 1 ms .. 10 s.
const RELOAD_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Families {
    up: Gauge,
    build_info: Family<BuildLabels, Gauge>,
    start_time: FGauge,

    vrrp_state: Family<VrrpLabels, Gauge>,
    vrrp_priority: Family<VrrpLabels, Gauge>,
    vrrp_configured_priority: Family<VrrpLabels, Gauge>,
    vrrp_adverts_sent: Family<VrrpLabels, Counter>,
    vrrp_adverts_received: Family<VrrpLabels, Counter>,
    vrrp_pri_zero_sent: Family<VrrpLabels, Counter>,
    vrrp_pri_zero_received: Family<VrrpLabels, Counter>,
    vrrp_addr_list_mismatch: Family<VrrpLabels, Counter>,
    vrrp_become_master: Family<VrrpLabels, Counter>,
    vrrp_release_master: Family<VrrpLabels, Counter>,
    vrrp_master_changes: Family<VrrpLabels, Counter>,
    vrrp_last_transition: Family<VrrpLabels, FGauge>,
    vrrp_excluded_state: Family<VrrpAddrLabels, Gauge>,
    vrrp_garp_master_delay: Family<VrrpLabels, FGauge>,
    vrrp_transitions: Family<TransitionLabels, Counter>,
    vrrp_rx_dropped: Family<VrrpDropLabels, Counter>,
    vrrp_rx_dropped_unmatched: Family<IntfDropLabels, Counter>,
    sync_group_state: Family<NameLabels, Gauge>,

    script_status: Family<NameLabels, Gauge>,
    script_state: Family<NameLabels, Gauge>,
    script_runs: Family<NameResultLabels, Counter>,
    script_duration: Family<NameLabels, Histogram>,

    checker_status: Family<CheckerLabels, Gauge>,
    checker_checks: Family<CheckerResultLabels, Counter>,
    checker_last_duration: Family<CheckerLabels, FGauge>,
    checker_duration: Family<VsCheckerLabels, Histogram>,
    real_server_up: Family<RsLabels, Gauge>,
    real_server_weight: Family<RsLabels, Gauge>,
    virtual_server_quorum_up: Family<VsLabels, Gauge>,

    bfd_state: Family<NameLabels, Gauge>,
    bfd_transitions: Family<BfdTransitionLabels, Counter>,

    reloads: Family<ResultLabels, Counter>,
    reload_duration: Histogram,
    reload_last_success: Gauge,
    reload_last_success_time: FGauge,
    config_generation: Gauge,
    config_objects: Family<ConfigObjectLabels, Gauge>,

    actor_crashes: Family<ActorLabels, Counter>,
    actor_restarts: Family<ActorLabels, Counter>,
}

/// The daemon's metric registry. Share it as `Arc<Metrics>`; every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    names: Vec<String>,
    f: Families,
    ipvs: Arc<Mutex<Vec<IpvsServiceStats>>>,
    hooks: RwLock<Vec<Arc<dyn ScrapeHook>>>,
    vrrp: RwLock<HashMap<String, VrrpMetrics>>,
    checkers: RwLock<HashMap<(String, String, String), CheckerMetrics>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Exposition format of [`Metrics::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
    /// Prometheus text 0.0.4 (`text/plain; version=0.0.4`), what `promtool check metrics` reads.
    Text,
}

impl Format {
    /// The HTTP Content-Type for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// Picks the format from an HTTP `Accept` header (OpenMetrics only when asked for).
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }
}

impl Metrics {
    /// Builds the registry with every metric family (all empty but the process ones).
    // Long by design: one registration per metric family, in the order /metrics lists them, so
    // a family's name, help and labels are read in one place (the dashboard test checks them).
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("keepalived");
        let mut names = Vec::new();
        let f = Families {
            up: Gauge::default(),
            build_info: Family::default(),
            start_time: FGauge::default(),
            vrrp_state: Family::default(),
            vrrp_priority: Family::default(),
            vrrp_configured_priority: Family::default(),
            vrrp_adverts_sent: Family::default(),
            vrrp_adverts_received: Family::default(),
            vrrp_pri_zero_sent: Family::default(),
            vrrp_pri_zero_received: Family::default(),
            vrrp_addr_list_mismatch: Family::default(),
            vrrp_become_master: Family::default(),
            vrrp_release_master: Family::default(),
            vrrp_master_changes: Family::default(),
            vrrp_last_transition: Family::default(),
            vrrp_excluded_state: Family::default(),
            vrrp_garp_master_delay: Family::default(),
            vrrp_transitions: Family::default(),
            vrrp_rx_dropped: Family::default(),
            vrrp_rx_dropped_unmatched: Family::default(),
            sync_group_state: Family::default(),
            script_status: Family::default(),
            script_state: Family::default(),
            script_runs: Family::default(),
            script_duration: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            checker_status: Family::default(),
            checker_checks: Family::default(),
            checker_last_duration: Family::default(),
            checker_duration: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            real_server_up: Family::default(),
            real_server_weight: Family::default(),
            virtual_server_quorum_up: Family::default(),
            bfd_state: Family::default(),
            bfd_transitions: Family::default(),
            reloads: Family::default(),
            reload_duration: Histogram::new(RELOAD_BUCKETS),
            reload_last_success: Gauge::default(),
            reload_last_success_time: FGauge::default(),
            config_generation: Gauge::default(),
            config_objects: Family::default(),
            actor_crashes: Family::default(),
            actor_restarts: Family::default(),
        };

        reg(
            &mut r,
            &mut names,
            "up",
            "1 while the daemon runs",
            f.up.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "build_info",
            "Build information, value 1",
            f.build_info.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "start_time_seconds",
            "Daemon start time, seconds since the Unix epoch",
            f.start_time.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "vrrp_state",
            "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT",
            f.vrrp_state.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_priority",
            "Effective VRRP priority (configured priority adjusted by tracking weights)",
            f.vrrp_priority.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_configured_priority",
            "Configured VRRP priority",
            f.vrrp_configured_priority.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_advertisements_sent",
            "VRRP advertisements sent",
            f.vrrp_adverts_sent.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_advertisements_received",
            "Valid VRRP advertisements received",
            f.vrrp_adverts_received.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_priority_zero_sent",
            "VRRP advertisements sent with priority 0 (master stepping down)",
            f.vrrp_pri_zero_sent.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_priority_zero_received",
            "VRRP advertisements received with priority 0",
            f.vrrp_pri_zero_received.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_addr_list_mismatch",
            "VRRP advertisements accepted although their address list differs from ours (RFC 9568; keepalived 2.2.7 drops them)",
            f.vrrp_addr_list_mismatch.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_become_master",
            "Transitions into MASTER",
            f.vrrp_become_master.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_release_master",
            "Transitions out of MASTER",
            f.vrrp_release_master.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_master_changes",
            "Changes of the master router seen by this instance (new master address)",
            f.vrrp_master_changes.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_last_transition_timestamp_seconds",
            "Time of the last state transition, seconds since the Unix epoch",
            f.vrrp_last_transition.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_excluded_state",
            "State of the instance, one series per virtual_ipaddress_excluded address (keepalived-exporter compatible; intf is the address's device)",
            f.vrrp_excluded_state.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_garp_master_delay_seconds",
            "Configured garp_master_delay: the second gratuitous ARP/NA burst this long after becoming MASTER",
            f.vrrp_garp_master_delay.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_transitions",
            "VRRP state transitions by from, to and reason",
            f.vrrp_transitions.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_rx_dropped",
            "Received VRRP packets dropped, by reason",
            f.vrrp_rx_dropped.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_rx_dropped_unmatched",
            "Received VRRP packets dropped before they could be matched to an instance",
            f.vrrp_rx_dropped_unmatched.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "vrrp_sync_group_state",
            "VRRP sync group state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT",
            f.sync_group_state.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "script_status",
            "vrrp_script result: 0 BAD, 1 GOOD (keepalived-exporter compatible)",
            f.script_status.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "script_state",
            "vrrp_script run state: 0 idle, 1 running (keepalived-exporter compatible)",
            f.script_state.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "script_runs",
            "vrrp_script runs by result",
            f.script_runs.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "script_duration_seconds",
            "vrrp_script run time",
            f.script_duration.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "checker_status",
            "Last health-check result per real server and checker: 1 up, 0 down",
            f.checker_status.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "checker_checks",
            "Health checks run, by result",
            f.checker_checks.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "checker_last_duration_seconds",
            "Duration of the last health check",
            f.checker_last_duration.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "checker_duration_seconds",
            "Health-check duration per virtual server and checker type",
            f.checker_duration.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "real_server_up",
            "Real server in the IPVS pool (1) or removed/inhibited (0)",
            f.real_server_up.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "real_server_weight",
            "Real server weight programmed in IPVS",
            f.real_server_weight.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "virtual_server_quorum_up",
            "Virtual server quorum reached (1) or lost (0)",
            f.virtual_server_quorum_up.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "bfd_state",
            "BFD session state: 0 AdminDown, 1 Down, 2 Init, 3 Up",
            f.bfd_state.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "bfd_transitions",
            "BFD session state transitions",
            f.bfd_transitions.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "reloads",
            "Configuration reloads by result",
            f.reloads.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "reload_duration_seconds",
            "Time to apply a configuration reload",
            f.reload_duration.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "config_last_reload_successful",
            "Whether the last configuration reload succeeded (1) or was rejected (0)",
            f.reload_last_success.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "config_last_reload_success_timestamp_seconds",
            "Time of the last successful configuration load, seconds since the Unix epoch",
            f.reload_last_success_time.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "config_generation",
            "Configuration reloads applied since the daemon started (the running snapshot's)",
            f.config_generation.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "config_objects",
            "Objects of the running configuration, by kind",
            f.config_objects.clone(),
        );

        reg(
            &mut r,
            &mut names,
            "actor_crashes",
            "Supervised actors that panicked or stopped unasked (each is restarted, with backoff)",
            f.actor_crashes.clone(),
        );
        reg(
            &mut r,
            &mut names,
            "actor_restarts",
            "Restarts of supervised actors by their supervisor",
            f.actor_restarts.clone(),
        );
        r.register_collector(Box::new(BfdDropCollector));
        names.push("keepalived_bfd_rx_dropped_total".into());
        let ipvs = Arc::new(Mutex::new(Vec::new()));
        r.register_collector(Box::new(IpvsCollector {
            snapshot: ipvs.clone(),
        }));
        for kind in ["service", "real_server"] {
            for (what, _) in IPVS_COUNTERS {
                names.push(format!("keepalived_ipvs_{kind}_{what}_total"));
            }
        }

        f.up.set(1);
        f.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                implementation: "keepalived-rs",
            })
            .set(1);
        let now = now_seconds();
        f.start_time.set(now);
        f.reload_last_success.set(1);
        f.reload_last_success_time.set(now);

        names.sort();
        Metrics {
            registry: r,
            names,
            f,
            ipvs,
            hooks: RwLock::new(Vec::new()),
            vrrp: RwLock::new(HashMap::new()),
            checkers: RwLock::new(HashMap::new()),
        }
    }

    /// Renders every metric in `format`.
    pub fn encode(&self, format: Format) -> String {
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        match format {
            Format::OpenMetrics => out,
            Format::Text => openmetrics_to_text(&out),
        }
    }

    /// Adds a hook run by [`Metrics::refresh`] (the HTTP endpoint runs it before each scrape).
    pub fn add_scrape_hook(&self, hook: Arc<dyn ScrapeHook>) {
        if let Ok(mut h) = self.hooks.write() {
            h.push(hook);
        }
    }

    /// Runs the scrape hooks (one after another).
    pub async fn refresh(&self) {
        let hooks: Vec<_> = self.hooks.read().map(|h| h.clone()).unwrap_or_default();
        for h in hooks {
            h.refresh(self).await;
        }
    }

    /// Replaces the IPVS counters (`keepalived_ipvs_*`) with `services` (the kernel's view).
    pub fn set_ipvs_stats(&self, services: Vec<IpvsServiceStats>) {
        if let Ok(mut s) = self.ipvs.lock() {
            *s = services;
        }
    }

    /// Every sample name this registry can export (`_total`, `_bucket`, `_sum`, `_count` included),
    /// sorted, whether or not a series exists yet. Used to check that dashboards and alerts only
    /// use names that exist.
    pub fn exported_names(&self) -> Vec<String> {
        self.names.clone()
    }

    // ---------------------------------------------------------------- VRRP

    /// Registers (or returns the existing) handle for a VRRP instance. Call when the instance
    /// starts; keep the handle in the actor for the per-packet counters.
    pub fn vrrp_instance(&self, instance: &str, iface: &str, vrid: u8) -> VrrpMetrics {
        if let Some(h) = self.vrrp.read().ok().and_then(|m| m.get(instance).cloned()) {
            if h.0.labels.intf == iface && h.0.labels.vrid == vrid {
                return h;
            }
        }
        let h = VrrpMetrics::new(&self.f, instance, iface, vrid);
        if let Ok(mut m) = self.vrrp.write() {
            if let Some(old) = m.insert(instance.to_string(), h.clone()) {
                old.remove_from(&self.f);
            }
        }
        h
    }

    /// Handle of a registered instance, if any.
    pub fn vrrp(&self, instance: &str) -> Option<VrrpMetrics> {
        self.vrrp.read().ok()?.get(instance).cloned()
    }

    /// Removes every series of an instance (instance deleted or renamed on reload).
    pub fn remove_vrrp_instance(&self, instance: &str) {
        let old = self.vrrp.write().ok().and_then(|mut m| m.remove(instance));
        if let Some(old) = old {
            old.remove_from(&self.f);
        }
    }

    fn with_vrrp(&self, instance: &str, f: impl FnOnce(&VrrpMetrics)) {
        if let Ok(m) = self.vrrp.read() {
            if let Some(h) = m.get(instance) {
                f(h);
            }
        }
    }

    /// Sets the state of an instance (registers it if needed).
    pub fn vrrp_state(&self, instance: &str, vrid: u8, iface: &str, state: VrrpState) {
        self.vrrp_instance(instance, iface, vrid).state(state);
    }

    /// Sets effective and configured priority of a registered instance.
    pub fn vrrp_priority(&self, instance: &str, effective: u8, configured: u8) {
        self.with_vrrp(instance, |h| h.priority(effective, configured));
    }

    /// Counts one advertisement sent by a registered instance.
    pub fn vrrp_advert_sent(&self, instance: &str, priority: u8) {
        self.with_vrrp(instance, |h| h.advert_sent(priority));
    }

    /// Counts one valid advertisement received by a registered instance.
    pub fn vrrp_advert_received(&self, instance: &str, priority: u8) {
        self.with_vrrp(instance, |h| h.advert_received(priority));
    }

    /// Counts a dropped packet of a registered instance.
    pub fn vrrp_rx_drop(&self, instance: &str, reason: RxDrop) {
        self.with_vrrp(instance, |h| h.rx_drop(reason));
    }

    /// Counts a packet dropped on `iface` before it matched an instance (bad checksum, unknown VRID...).
    pub fn vrrp_rx_drop_unmatched(&self, iface: &str, reason: RxDrop) {
        self.f
            .vrrp_rx_dropped_unmatched
            .get_or_create(&IntfDropLabels {
                intf: iface.to_string(),
                reason,
            })
            .inc();
    }

    /// Counts a change of the master router seen by a registered instance.
    pub fn vrrp_master_change(&self, instance: &str) {
        self.with_vrrp(instance, |h| h.master_changed());
    }

    /// Sets a sync group's state.
    pub fn sync_group_state(&self, group: &str, state: VrrpState) {
        self.f
            .sync_group_state
            .get_or_create(&NameLabels {
                name: group.to_string(),
            })
            .set(state as i64);
    }

    /// Removes a sync group's series.
    pub fn remove_sync_group(&self, group: &str) {
        self.f.sync_group_state.remove(&NameLabels {
            name: group.to_string(),
        });
    }

    // ------------------------------------------------------------- scripts

    /// Records one vrrp_script (or track_process/track_file evaluation) run: `script_runs`,
    /// `script_duration`, `script_state` idle, and `script_status` = this run's result (the
    /// script runner then sets the rise/fall-filtered status with [`Metrics::script_status`]).
    pub fn script_result(&self, name: &str, ok: bool, latency: Duration) {
        let n = NameLabels {
            name: name.to_string(),
        };
        self.f.script_status.get_or_create(&n).set(i64::from(ok));
        self.f.script_state.get_or_create(&n).set(0);
        self.f
            .script_duration
            .get_or_create(&n)
            .observe(latency.as_secs_f64());
        self.f
            .script_runs
            .get_or_create(&NameResultLabels {
                name: n.name,
                result: result_str(ok),
            })
            .inc();
    }

    /// Sets a script's status as keepalived reports it: GOOD (1) or BAD (0).
    pub fn script_status(&self, name: &str, good: bool) {
        self.f
            .script_status
            .get_or_create(&NameLabels {
                name: name.to_string(),
            })
            .set(i64::from(good));
    }

    /// Marks a script as running (1) or idle (0).
    pub fn script_running(&self, name: &str, running: bool) {
        self.f
            .script_state
            .get_or_create(&NameLabels {
                name: name.to_string(),
            })
            .set(i64::from(running));
    }

    /// Removes a script's series (script removed on reload).
    pub fn remove_script(&self, name: &str) {
        let n = NameLabels {
            name: name.to_string(),
        };
        self.f.script_status.remove(&n);
        self.f.script_state.remove(&n);
        self.f.script_duration.remove(&n);
        for ok in [true, false] {
            self.f.script_runs.remove(&NameResultLabels {
                name: n.name.clone(),
                result: result_str(ok),
            });
        }
    }

    // ------------------------------------------------------------ checkers

    /// Registers (or returns) the handle of one checker of one real server.
    /// `vs` is keepalived's virtual-server identity (`10.0.0.1:80/TCP`, `fwmark 5`, `group NAME`),
    /// `rs` the real server (`192.168.1.10:80`), `checker` the block name (`TCP_CHECK`...).
    pub fn checker(&self, vs: &str, rs: &str, checker: &str) -> CheckerMetrics {
        let key = (vs.to_string(), rs.to_string(), checker.to_string());
        if let Some(h) = self.checkers.read().ok().and_then(|m| m.get(&key).cloned()) {
            return h;
        }
        let h = CheckerMetrics::new(&self.f, vs, rs, checker);
        if let Ok(mut m) = self.checkers.write() {
            m.entry(key).or_insert_with(|| h.clone());
        }
        h
    }

    /// Records one health-check result (looks the handle up; hot loops should keep a handle).
    pub fn checker_result(&self, vs: &str, rs: &str, checker: &str, ok: bool, latency: Duration) {
        self.checker(vs, rs, checker).result(ok, latency);
    }

    /// Sets whether a real server is in the pool and its weight.
    pub fn real_server(&self, vs: &str, rs: &str, up: bool, weight: i32) {
        let l = RsLabels {
            vs: vs.to_string(),
            rs: rs.to_string(),
        };
        self.f.real_server_up.get_or_create(&l).set(i64::from(up));
        self.f
            .real_server_weight
            .get_or_create(&l)
            .set(i64::from(weight));
    }

    /// Sets a virtual server's quorum state.
    pub fn virtual_server_quorum(&self, vs: &str, up: bool) {
        self.f
            .virtual_server_quorum_up
            .get_or_create(&VsLabels { vs: vs.to_string() })
            .set(i64::from(up));
    }

    /// Removes a real server's series and its checkers' (removed on reload).
    pub fn remove_real_server(&self, vs: &str, rs: &str) {
        let l = RsLabels {
            vs: vs.to_string(),
            rs: rs.to_string(),
        };
        self.f.real_server_up.remove(&l);
        self.f.real_server_weight.remove(&l);
        if let Ok(mut m) = self.checkers.write() {
            m.retain(|(v, r, _), h| {
                let keep = !(v == vs && r == rs);
                if !keep {
                    h.remove_from(&self.f);
                }
                keep
            });
        }
    }

    /// Removes a virtual server's own series (real servers are removed one by one).
    pub fn remove_virtual_server(&self, vs: &str) {
        self.f
            .virtual_server_quorum_up
            .remove(&VsLabels { vs: vs.to_string() });
    }

    // ----------------------------------------------------------------- BFD

    /// Sets a BFD session's state.
    pub fn bfd_state(&self, name: &str, state: BfdState) {
        self.f
            .bfd_state
            .get_or_create(&NameLabels {
                name: name.to_string(),
            })
            .set(state as i64);
    }

    /// Records a BFD transition (also sets the state gauge).
    pub fn bfd_transition(&self, name: &str, from: BfdState, to: BfdState) {
        self.bfd_state(name, to);
        self.f
            .bfd_transitions
            .get_or_create(&BfdTransitionLabels {
                name: name.to_string(),
                from: from.as_str(),
                to: to.as_str(),
            })
            .inc();
    }

    // -------------------------------------------------------------- reload

    /// Records one configuration reload attempt.
    pub fn reload(&self, duration: Duration, ok: bool) {
        self.f
            .reloads
            .get_or_create(&ResultLabels {
                result: result_str(ok),
            })
            .inc();
        self.f.reload_duration.observe(duration.as_secs_f64());
        self.f.reload_last_success.set(i64::from(ok));
        if ok {
            self.f.reload_last_success_time.set(now_seconds());
        }
    }

    /// The running configuration's generation and object counts (read from its snapshot
    /// at each scrape).
    pub fn set_running_config(&self, generation: u64, objects: &[(&'static str, usize)]) {
        self.f
            .config_generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
        for (kind, n) in objects {
            self.f
                .config_objects
                .get_or_create(&ConfigObjectLabels { kind })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    // -------------------------------------------------------------- supervision

    /// A supervised actor (named as in the logs, e.g. `vrrp eth0/V4/1`) crashed.
    pub fn actor_crashed(&self, actor: &str) {
        self.f
            .actor_crashes
            .get_or_create(&ActorLabels {
                actor: actor.to_string(),
            })
            .inc();
    }

    /// A supervised actor was restarted.
    pub fn actor_restarted(&self, actor: &str) {
        self.f
            .actor_restarts
            .get_or_create(&ActorLabels {
                actor: actor.to_string(),
            })
            .inc();
    }
}

// ------------------------------------------------------------------ handles

struct VrrpInner {
    labels: VrrpLabels,
    state: Gauge,
    priority: Gauge,
    configured_priority: Gauge,
    sent: Counter,
    received: Counter,
    pri_zero_sent: Counter,
    pri_zero_received: Counter,
    addr_list_mismatch: Counter,
    become_master: Counter,
    release_master: Counter,
    master_changes: Counter,
    last_transition: FGauge,
    garp_master_delay: FGauge,
    excluded: Mutex<Vec<(VrrpAddrLabels, Gauge)>>,
    excluded_family: Family<VrrpAddrLabels, Gauge>,
    drops: [Counter; RxDrop::ALL.len()],
    transitions: Family<TransitionLabels, Counter>,
    seen_transitions: Mutex<HashSet<TransitionLabels>>,
}

/// Pre-resolved metrics of one VRRP instance: cheap to clone, every call is an atomic op.
#[derive(Clone)]
pub struct VrrpMetrics(Arc<VrrpInner>);

impl std::fmt::Debug for VrrpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("VrrpMetrics")
            .field(&self.0.labels.iname)
            .finish()
    }
}

impl VrrpMetrics {
    fn new(f: &Families, instance: &str, iface: &str, vrid: u8) -> Self {
        let labels = VrrpLabels {
            iname: instance.to_string(),
            intf: iface.to_string(),
            vrid,
        };
        let drops = RxDrop::ALL.map(|reason| {
            f.vrrp_rx_dropped
                .get_or_create(&VrrpDropLabels {
                    iname: labels.iname.clone(),
                    intf: labels.intf.clone(),
                    vrid,
                    reason,
                })
                .clone()
        });
        let inner = VrrpInner {
            state: f.vrrp_state.get_or_create_owned(&labels),
            priority: f.vrrp_priority.get_or_create_owned(&labels),
            configured_priority: f.vrrp_configured_priority.get_or_create_owned(&labels),
            sent: f.vrrp_adverts_sent.get_or_create_owned(&labels),
            received: f.vrrp_adverts_received.get_or_create_owned(&labels),
            pri_zero_sent: f.vrrp_pri_zero_sent.get_or_create_owned(&labels),
            pri_zero_received: f.vrrp_pri_zero_received.get_or_create_owned(&labels),
            addr_list_mismatch: f.vrrp_addr_list_mismatch.get_or_create_owned(&labels),
            become_master: f.vrrp_become_master.get_or_create_owned(&labels),
            release_master: f.vrrp_release_master.get_or_create_owned(&labels),
            master_changes: f.vrrp_master_changes.get_or_create_owned(&labels),
            last_transition: f.vrrp_last_transition.get_or_create_owned(&labels),
            garp_master_delay: f.vrrp_garp_master_delay.get_or_create_owned(&labels),
            excluded: Mutex::new(Vec::new()),
            excluded_family: f.vrrp_excluded_state.clone(),
            drops,
            transitions: f.vrrp_transitions.clone(),
            seen_transitions: Mutex::new(HashSet::new()),
            labels,
        };
        VrrpMetrics(Arc::new(inner))
    }

    fn remove_from(&self, f: &Families) {
        let l = &self.0.labels;
        for fam in [&f.vrrp_state, &f.vrrp_priority, &f.vrrp_configured_priority] {
            fam.remove(l);
        }
        for fam in [
            &f.vrrp_adverts_sent,
            &f.vrrp_adverts_received,
            &f.vrrp_pri_zero_sent,
            &f.vrrp_pri_zero_received,
            &f.vrrp_addr_list_mismatch,
            &f.vrrp_become_master,
            &f.vrrp_release_master,
            &f.vrrp_master_changes,
        ] {
            fam.remove(l);
        }
        f.vrrp_last_transition.remove(l);
        f.vrrp_garp_master_delay.remove(l);
        if let Ok(ex) = self.0.excluded.lock() {
            for (labels, _) in ex.iter() {
                f.vrrp_excluded_state.remove(labels);
            }
        }
        for reason in RxDrop::ALL {
            f.vrrp_rx_dropped.remove(&VrrpDropLabels {
                iname: l.iname.clone(),
                intf: l.intf.clone(),
                vrid: l.vrid,
                reason,
            });
        }
        if let Ok(seen) = self.0.seen_transitions.lock() {
            for t in seen.iter() {
                f.vrrp_transitions.remove(t);
            }
        }
    }

    /// Sets the state gauge (and the excluded addresses' state series).
    pub fn state(&self, state: VrrpState) {
        self.0.state.set(state as i64);
        self.excluded_state(state as i64);
    }

    fn excluded_state(&self, v: i64) {
        if let Ok(ex) = self.0.excluded.lock() {
            for (_, g) in ex.iter() {
                g.set(v);
            }
        }
    }

    /// What keepalived-exporter reads from keepalived.data besides the stats: the configured
    /// `garp_master_delay`, and the `virtual_ipaddress_excluded` addresses as
    /// `(ip_address, device)` (address as keepalived prints it, `10.0.0.1` or `10.0.0.1/24`).
    /// Call at start and after a reload changed the instance in place; replaces the previous
    /// addresses (removed ones lose their series).
    pub fn config(&self, garp_master_delay: Duration, excluded: &[(String, String)]) {
        let i = &self.0;
        i.garp_master_delay.set(garp_master_delay.as_secs_f64());
        let fam = &i.excluded_family;
        let want: Vec<VrrpAddrLabels> = excluded
            .iter()
            .map(|(ip, dev)| VrrpAddrLabels {
                iname: i.labels.iname.clone(),
                intf: dev.clone(),
                vrid: i.labels.vrid,
                ip_address: ip.clone(),
            })
            .collect();
        let state = i.state.get();
        if let Ok(mut ex) = i.excluded.lock() {
            for (labels, _) in ex.iter() {
                if !want.contains(labels) {
                    fam.remove(labels);
                }
            }
            *ex = want
                .into_iter()
                .map(|l| {
                    let g = fam.get_or_create_owned(&l);
                    g.set(state);
                    (l, g)
                })
                .collect();
        }
    }

    /// Sets effective and configured priority.
    pub fn priority(&self, effective: u8, configured: u8) {
        self.0.priority.set(i64::from(effective));
        self.0.configured_priority.set(i64::from(configured));
    }

    /// One advertisement sent with `priority` (0 also counts `priority_zero_sent`).
    #[inline]
    pub fn advert_sent(&self, priority: u8) {
        self.0.sent.inc();
        if priority == 0 {
            self.0.pri_zero_sent.inc();
        }
    }

    /// `n` valid advertisements received (repeats of one of non-zero priority).
    #[inline]
    pub fn adverts_received(&self, n: u64) {
        self.0.received.inc_by(n);
    }

    /// One valid advertisement received with `priority`.
    #[inline]
    pub fn advert_received(&self, priority: u8) {
        self.0.received.inc();
        if priority == 0 {
            self.0.pri_zero_received.inc();
        }
    }

    /// An advert accepted although its address list differs from ours (RFC 9568; keepalived
    /// 2.2.7 drops it).
    pub fn addr_list_mismatch(&self) {
        self.0.addr_list_mismatch.inc();
    }

    /// One received packet dropped.
    #[inline]
    pub fn rx_drop(&self, reason: RxDrop) {
        // RxDrop::ALL is in discriminant order.
        self.0.drops[reason as usize].inc();
    }

    /// The master seen on the segment changed.
    pub fn master_changed(&self) {
        self.0.master_changes.inc();
    }

    /// A state transition: sets the state gauge, counts the transition by (from, to, reason),
    /// and `become_master` / `release_master`. `reason` should come from a small fixed set
    /// (`master_down`, `higher_priority`, `priority_zero`, `preempt`, `track_interface`,
    /// `track_script`, `track_bfd`, `track_file`, `sync_group`, `startup`, `shutdown`, `reload`...).
    pub fn transition(&self, from: VrrpState, to: VrrpState, reason: &str) {
        let i = &self.0;
        i.state.set(to as i64);
        self.excluded_state(to as i64);
        i.last_transition.set(now_seconds());
        if to == VrrpState::Master && from != VrrpState::Master {
            i.become_master.inc();
        }
        if from == VrrpState::Master && to != VrrpState::Master {
            i.release_master.inc();
        }
        let l = TransitionLabels {
            iname: i.labels.iname.clone(),
            intf: i.labels.intf.clone(),
            vrid: i.labels.vrid,
            from: from.as_str().to_string(),
            to: to.as_str().to_string(),
            reason: reason.to_string(),
        };
        i.transitions.get_or_create(&l).inc();
        if let Ok(mut seen) = i.seen_transitions.lock() {
            seen.insert(l);
        }
    }
}

struct CheckerInner {
    labels: CheckerLabels,
    status: Gauge,
    ok: Counter,
    fail: Counter,
    last: FGauge,
    hist: Histogram,
}

/// Pre-resolved metrics of one checker of one real server.
#[derive(Clone)]
pub struct CheckerMetrics(Arc<CheckerInner>);

impl std::fmt::Debug for CheckerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CheckerMetrics")
            .field(&self.0.labels)
            .finish()
    }
}

impl CheckerMetrics {
    fn new(f: &Families, vs: &str, rs: &str, checker: &str) -> Self {
        let labels = CheckerLabels {
            vs: vs.to_string(),
            rs: rs.to_string(),
            checker: checker.to_string(),
        };
        let res = |ok| CheckerResultLabels {
            vs: labels.vs.clone(),
            rs: labels.rs.clone(),
            checker: labels.checker.clone(),
            result: result_str(ok),
        };
        let inner = CheckerInner {
            status: f.checker_status.get_or_create_owned(&labels),
            ok: f.checker_checks.get_or_create_owned(&res(true)),
            fail: f.checker_checks.get_or_create_owned(&res(false)),
            last: f.checker_last_duration.get_or_create_owned(&labels),
            hist: f.checker_duration.get_or_create_owned(&VsCheckerLabels {
                vs: labels.vs.clone(),
                checker: labels.checker.clone(),
            }),
            labels,
        };
        CheckerMetrics(Arc::new(inner))
    }

    fn remove_from(&self, f: &Families) {
        let l = &self.0.labels;
        f.checker_status.remove(l);
        f.checker_last_duration.remove(l);
        for ok in [true, false] {
            f.checker_checks.remove(&CheckerResultLabels {
                vs: l.vs.clone(),
                rs: l.rs.clone(),
                checker: l.checker.clone(),
                result: result_str(ok),
            });
        }
    }

    /// One check finished.
    #[inline]
    pub fn result(&self, ok: bool, latency: Duration) {
        let i = &self.0;
        i.status.set(i64::from(ok));
        if ok {
            i.ok.inc();
        } else {
            i.fail.inc();
        }
        let s = latency.as_secs_f64();
        i.last.set(s);
        i.hist.observe(s);
    }
}

// -------------------------------------------------------------- formats

/// Converts prometheus-client's OpenMetrics text to Prometheus text 0.0.4: counters are typed
/// under their `_total` sample name, `# UNIT` and `# EOF` are dropped.
fn openmetrics_to_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut counters: HashSet<&str> = HashSet::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.insert(name);
            }
        }
    }
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let header = line
            .strip_prefix("# TYPE ")
            .map(|r| ("# TYPE ", r))
            .or_else(|| line.strip_prefix("# HELP ").map(|r| ("# HELP ", r)));
        if let Some((tag, rest)) = header {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(tag);
            out.push_str(name);
            if counters.contains(name) {
                out.push_str("_total");
            }
            if tail == "info" && tag == "# TYPE " {
                out.push_str(" gauge");
            } else if !tail.is_empty() {
                out.push(' ');
                out.push_str(tail);
            }
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_drop_index_matches_all() {
        for (i, r) in RxDrop::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        for (i, r) in BfdDrop::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    /// Issue #19: every drop of the receive checks has its true reason (an undefined v2
    /// auth type was counted as `length`).
    #[test]
    fn every_receive_drop_has_its_true_reason() {
        use crate::vrrp::packet::DecodeError;
        use crate::vrrp::validate::DropReason;
        let decode = [
            (
                DecodeError::Truncated {
                    expected: 8,
                    actual: 2,
                },
                RxDrop::Length,
            ),
            (
                DecodeError::Oversized {
                    expected: 8,
                    actual: 20,
                },
                RxDrop::Length,
            ),
            (DecodeError::Version(4), RxDrop::Version),
            (DecodeError::V2OverIpv6, RxDrop::Version),
            (DecodeError::Type(2), RxDrop::Type),
            (DecodeError::AuthType(5), RxDrop::AuthInvalid),
            (
                DecodeError::Checksum {
                    received: 1,
                    computed: 2,
                },
                RxDrop::Checksum,
            ),
            (DecodeError::ChecksumFamily, RxDrop::Checksum),
        ];
        for (e, want) in decode {
            assert_eq!(RxDrop::for_counter(e.counter()), Some(want), "{e:?}");
        }
        let validate = [
            (DropReason::Ttl { received: 1 }, RxDrop::Ttl),
            (
                DropReason::Version {
                    expected: 3,
                    received: 2,
                },
                RxDrop::Version,
            ),
            (DropReason::Vrid(9), RxDrop::Vrid),
            (
                DropReason::AuthTypeMismatch {
                    expected: 1,
                    received: 0,
                },
                RxDrop::AuthType,
            ),
            (
                DropReason::IntervalMismatch {
                    ours_s: 1,
                    received_s: 2,
                },
                RxDrop::Interval,
            ),
            (DropReason::AuthFailure, RxDrop::Auth),
            (DropReason::UnknownSource, RxDrop::UnicastSource),
            (DropReason::OwnerIgnoresAdverts, RxDrop::Owner),
        ];
        for (r, want) in validate {
            assert_eq!(RxDrop::for_counter(r.counter()), Some(want), "{r:?}");
        }
        // Not drops: accepted adverts are counted elsewhere.
        assert_eq!(RxDrop::for_counter("advert_rcvd"), None);
        assert_eq!(RxDrop::for_counter("addr_list_err"), None);
        // Every reason has its own label value.
        let labels: HashSet<&str> = RxDrop::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), RxDrop::ALL.len());
    }

    #[test]
    fn an_accepted_address_list_mismatch_is_not_a_drop_and_bfd_drops_are_exported() {
        let m = Metrics::new();
        let h = m.vrrp_instance("VI_1", "eth0", 51);
        h.addr_list_mismatch();
        let t = m.encode(Format::Text);
        assert!(
            t.contains("keepalived_vrrp_addr_list_mismatch_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1"),
            "{t}"
        );
        assert!(!t.contains("reason=\"addr_list\""), "{t}");
        let before = bfd_drops()[BfdDrop::Ttl as usize].1;
        count_bfd_drop(BfdDrop::Ttl);
        let after = bfd_drops()[BfdDrop::Ttl as usize].1;
        assert!(after > before);
        let t = m.encode(Format::Text);
        assert!(
            t.contains("# TYPE keepalived_bfd_rx_dropped_total counter\n"),
            "{t}"
        );
        let line = t
            .lines()
            .find(|l| l.starts_with("keepalived_bfd_rx_dropped_total{reason=\"ttl\"}"))
            .expect("ttl series");
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert!(n >= after, "{line}");
    }

    #[test]
    fn text_format_types_counters_with_total() {
        let m = Metrics::new();
        let h = m.vrrp_instance("VI_1", "eth0", 51);
        h.advert_sent(100);
        let t = m.encode(Format::Text);
        assert!(t.contains("# TYPE keepalived_vrrp_advertisements_sent_total counter\n"));
        assert!(t.contains(
            "keepalived_vrrp_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1\n"
        ));
        assert!(!t.contains("# EOF"));
        let om = m.encode(Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"));
    }

    #[test]
    fn exported_names_match_text_exposition() {
        // Populate every family, then compare TYPE lines of the text format with the list.
        let m = Metrics::new();
        let h = m.vrrp_instance("VI_1", "eth0", 1);
        h.transition(VrrpState::Backup, VrrpState::Master, "x");
        h.priority(1, 1);
        h.config(Duration::ZERO, &[("10.0.0.1".into(), "eth0".into())]);
        m.vrrp_rx_drop_unmatched("eth0", RxDrop::Vrid);
        m.sync_group_state("g", VrrpState::Master);
        m.script_result("s", true, Duration::ZERO);
        m.checker_result("v", "r", "c", true, Duration::ZERO);
        m.real_server("v", "r", true, 1);
        m.virtual_server_quorum("v", true);
        m.bfd_transition("b", BfdState::Down, BfdState::Up);
        m.reload(Duration::ZERO, true);
        m.set_running_config(1, &[("vrrp_instance", 1)]);
        m.actor_crashed("a");
        m.actor_restarted("a");
        let text = m.encode(Format::Text);
        let mut from_text = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                from_text.push(name.to_string());
                if kind == "histogram" {
                    for s in ["_bucket", "_sum", "_count"] {
                        from_text.push(format!("{name}{s}"));
                    }
                }
            }
        }
        from_text.sort();
        assert_eq!(from_text, m.exported_names());
    }

    #[test]
    fn excluded_addresses_follow_the_state() {
        let m = Metrics::new();
        let h = m.vrrp_instance("VI_1", "eth0", 51);
        h.config(
            Duration::from_secs(5),
            &[
                ("10.0.0.9".into(), "eth0".into()),
                ("10.1.0.1/24".into(), "eth1".into()),
            ],
        );
        h.transition(VrrpState::Backup, VrrpState::Master, "master_down_timer");
        let t = m.encode(Format::Text);
        assert!(t.contains("keepalived_vrrp_garp_master_delay_seconds{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 5.0\n"), "{t}");
        assert!(t.contains("keepalived_vrrp_excluded_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.0.0.9\"} 2\n"), "{t}");
        assert!(t.contains("keepalived_vrrp_excluded_state{iname=\"VI_1\",intf=\"eth1\",vrid=\"51\",ip_address=\"10.1.0.1/24\"} 2\n"), "{t}");
        // A reload drops one address: its series goes, the other keeps the state.
        h.config(Duration::ZERO, &[("10.0.0.9".into(), "eth0".into())]);
        h.state(VrrpState::Fault);
        let t = m.encode(Format::Text);
        assert!(!t.contains("10.1.0.1/24"), "{t}");
        assert!(t.contains("ip_address=\"10.0.0.9\"} 3\n"), "{t}");
        m.remove_vrrp_instance("VI_1");
        assert!(!m.encode(Format::Text).contains("VI_1"));
    }

    #[test]
    fn ipvs_counters_are_encoded_from_the_snapshot() {
        let m = Metrics::new();
        let c = |n| IpvsCounters {
            connections: n,
            in_packets: n + 1,
            out_packets: n + 2,
            in_bytes: n + 3,
            out_bytes: n + 4,
        };
        m.set_ipvs_stats(vec![IpvsServiceStats {
            vs: "[10.0.0.1]:tcp:80".into(),
            counters: c(10),
            real_servers: vec![("[192.168.0.10]:tcp:8080".into(), c(20))],
        }]);
        let t = m.encode(Format::Text);
        assert!(
            t.contains("# TYPE keepalived_ipvs_service_connections_total counter\n"),
            "{t}"
        );
        assert!(
            t.contains("keepalived_ipvs_service_connections_total{vs=\"[10.0.0.1]:tcp:80\"} 10\n"),
            "{t}"
        );
        assert!(
            t.contains("keepalived_ipvs_service_out_bytes_total{vs=\"[10.0.0.1]:tcp:80\"} 14\n"),
            "{t}"
        );
        assert!(t.contains("keepalived_ipvs_real_server_in_packets_total{vs=\"[10.0.0.1]:tcp:80\",rs=\"[192.168.0.10]:tcp:8080\"} 21\n"), "{t}");
        m.set_ipvs_stats(Vec::new());
        assert!(!m.encode(Format::Text).contains("10.0.0.1"));
    }

    #[test]
    fn removal_drops_series() {
        let m = Metrics::new();
        let h = m.vrrp_instance("VI_9", "eth1", 9);
        h.transition(VrrpState::Backup, VrrpState::Master, "master_down");
        h.rx_drop(RxDrop::Type);
        assert!(m.encode(Format::Text).contains("reason=\"type\"} 1"));
        assert!(m.encode(Format::Text).contains("VI_9"));
        m.remove_vrrp_instance("VI_9");
        assert!(!m.encode(Format::Text).contains("VI_9"));
    }
}
