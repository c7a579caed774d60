//! `global_defs`.

use super::common::{ScriptSpec, ScriptUser, Spans};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// The SMTP relay for `smtp_alert`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    /// Address or host name.
    pub host: String,
    /// Port (default 25).
    pub port: u16,
}

/// A notify FIFO: `notify_fifo PATH [user [group]]` with its optional reader script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    /// FIFO path.
    pub path: String,
    /// Owner of the FIFO.
    pub user: Option<ScriptUser>,
    /// `*_notify_fifo_script`: started with the FIFO path as last argument.
    pub script: Option<ScriptSpec>,
}

/// keepalived-rs's default BFD hold-down (`bfd_hold_down`): after a BFD-driven priority drop,
/// how long the priority stays down before it is raised again.
pub const DEFAULT_BFD_HOLD_DOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// What happens to IPVS when the daemon stops (`lvs_flush_on_stop`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsFlushOnStop {
    /// Default: our virtual servers (and their real servers) are removed.
    #[default]
    No,
    /// `lvs_flush_on_stop`: the whole IPVS table is flushed, other programs' services too.
    Full,
    /// `lvs_flush_on_stop VS`: our virtual servers are removed whole (their real servers go
    /// with them, without one request each).
    Vs,
}

/// `lvs_timeouts`: seconds; 0 keeps the kernel's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsTimeouts {
    /// `tcp`.
    pub tcp: u32,
    /// `tcpfin`.
    pub tcp_fin: u32,
    /// `udp`.
    pub udp: u32,
}

/// `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    /// Multicast interface.
    pub ifname: String,
    /// The VRRP instance whose state the daemons follow (MASTER: master daemon, otherwise
    /// backup). None: both daemons run all the time.
    pub instance: Option<String>,
    /// `id` (default: the instance's VRID, or 0 without an instance).
    pub syncid: Option<u8>,
    /// `maxlen` (UDP payload size).
    pub maxlen: Option<u16>,
    /// `port` (kernel default 8848).
    pub port: Option<u16>,
    /// `ttl` (kernel default 1).
    pub ttl: Option<u8>,
    /// `group` (kernel default 224.0.0.81).
    pub group: Option<IpAddr>,
}

/// keepalived's default nftables table name (`nftables` without a name, `vrrp_iptables`).
pub const NFTABLES_DEFAULT_TABLE: &str = "keepalived";
/// keepalived's default priority of its nftables chains.
pub const NFTABLES_DEFAULT_PRIORITY: i32 = -1;

/// `global_defs { ... }` with keepalived's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    /// Keyword locations.
    pub spans: Spans,
    /// `router_id` (default: host name).
    pub router_id: Option<String>,
    /// `notification_email { ... }`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` global default.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `script_user`.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `notify_fifo` (VRRP and LVS events).
    pub notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo`.
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_priority_changes`: default of the instances' `notify_priority_changes`.
    #[serde(default)]
    pub vrrp_notify_priority_changes: bool,
    /// `startup_script`: run (and waited for) before the subsystems start.
    #[serde(default)]
    pub startup_script: Option<ScriptSpec>,
    /// `startup_script_timeout` (default 10 s): the start-up script is killed after it.
    #[serde(default = "default_start_stop_timeout")]
    pub startup_script_timeout: Duration,
    /// `shutdown_script`: run (and waited for) after the subsystems stopped.
    #[serde(default)]
    pub shutdown_script: Option<ScriptSpec>,
    /// `shutdown_script_timeout` (default 10 s).
    #[serde(default = "default_start_stop_timeout")]
    pub shutdown_script_timeout: Duration,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: IpAddr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: IpAddr,
    /// `vrrp_version` (default 2).
    pub vrrp_version: u8,
    /// `vrrp_garp_master_delay` (default 5 s; 0 = no second burst).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `bfd_hold_down` (keepalived-rs; default 1 s, 0 = off): after a `track_bfd` lowered an
    /// instance's priority (or faulted it), its raise waits this long after the last Down.
    pub bfd_hold_down: Duration,
    /// `vrrp_garp_lower_prio_delay` (default: master delay).
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (default: master repeat).
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_master_refresh` (default off).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_interval` (default 0).
    pub vrrp_garp_interval: Duration,
    /// `vrrp_startup_delay` (default 0): at the daemon's start (not a reload), no instance
    /// leaves BACKUP before this delay has passed.
    #[serde(default)]
    pub vrrp_startup_delay: Duration,
    /// `vrrp_gna_interval` (default 0).
    pub vrrp_gna_interval: Duration,
    /// `vrrp_min_garp`.
    pub vrrp_min_garp: bool,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: Option<bool>,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: Option<bool>,
    /// `vrrp_down_timer_adverts` (default 3).
    pub vrrp_down_timer_adverts: u8,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `nftables [TABLE]` (or `vrrp_iptables`, which Debian's keepalived maps to nftables):
    /// the VIP firewall's table name.
    pub nftables: Option<String>,
    /// `nftables_priority` (default -1).
    pub nftables_priority: i32,
    /// `nftables_ifindex`.
    pub nftables_ifindex: bool,
    /// `nftables_counters`.
    pub nftables_counters: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vmac_prefix` (default "vrrp").
    pub vmac_prefix: String,
    /// `default_interface`: where a `static_ipaddress` without `dev` goes (keepalived's
    /// default: eth0, see [`GlobalDefs::static_address_dev`]).
    #[serde(default)]
    pub default_interface: Option<String>,
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `checker_log_all_failures`: every checker logs each failed attempt while its server is up.
    #[serde(default)]
    pub checker_log_all_failures: bool,
    /// `lvs_flush_on_stop [VS]` (old spelling `lvs_flush_onstop`).
    #[serde(default)]
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]` (0: the kernel's value).
    #[serde(default)]
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_sync_daemon` (or an instance's `lvs_sync_daemon_interface`).
    #[serde(default)]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `state_dump_file`, `stats_dump_file`, `json_dump_file`.
    pub state_dump_file: Option<String>,
    /// See `state_dump_file`.
    pub stats_dump_file: Option<String>,
    /// See `state_dump_file`.
    pub json_dump_file: Option<String>,
    /// `no_email_faults`: no e-mail for FAULT transitions.
    pub no_email_faults: bool,
    /// `json_version` (1 or 2; default 1): layout of the JSON dump.
    pub json_version: u8,
    /// `vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`, `vrrp_rlimit_rttime`,
    /// `vrrp_cpu_affinity`: applied to the VRRP and netlink threads.
    #[serde(default, skip_serializing_if = "ProcessSched::is_default")]
    pub vrrp_sched: ProcessSched,
    /// `checker_*` of the same: applied to the checker thread.
    #[serde(default, skip_serializing_if = "ProcessSched::is_default")]
    pub checker_sched: ProcessSched,
    /// `bfd_*` of the same: applied to the BFD thread.
    #[serde(default, skip_serializing_if = "ProcessSched::is_default")]
    pub bfd_sched: ProcessSched,
    /// `snmp_socket`, `enable_traps`, `enable_snmp_*` (the AgentX subagent, `src/mgmt/snmp`).
    #[serde(default)]
    pub snmp: SnmpSettings,
    /// `enable_dbus`, `dbus_service_name` (keepalived's DBus interface, `src/mgmt/dbus`).
    #[serde(default)]
    pub dbus: DbusSettings,
}

/// The SNMP keywords of `global_defs` (`-x` enables every MIB, `-A` sets the socket).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnmpSettings {
    /// `snmp_socket` (net-snmp's AgentX address: `unix:/path`, `/path`, `tcp:host:port`).
    pub socket: Option<String>,
    /// `enable_traps`.
    pub traps: bool,
    /// `enable_snmp_vrrp` (`enable_snmp_keepalived`): KEEPALIVED-MIB.
    pub vrrp: bool,
    /// `enable_snmp_rfcv2` (`enable_snmp_rfc`): VRRP-MIB (RFC 2787).
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3` (`enable_snmp_rfc`): VRRPv3-MIB (RFC 6527).
    pub rfcv3: bool,
    /// `enable_snmp_checker`: KEEPALIVED-MIB's check subtree.
    pub checker: bool,
}

impl SnmpSettings {
    /// Any MIB enabled: the subagent runs.
    pub fn any(&self) -> bool {
        self.vrrp || self.rfcv2 || self.rfcv3 || self.checker
    }
}

/// keepalived's DBus interface (`org.keepalived.Vrrp1` on the system bus).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbusSettings {
    /// `enable_dbus`.
    pub enabled: bool,
    /// `dbus_service_name` (default `org.keepalived.Vrrp1`).
    pub service_name: Option<String>,
}

/// keepalived's default `startup_script_timeout` / `shutdown_script_timeout`.
pub fn default_start_stop_timeout() -> Duration {
    Duration::from_secs(10)
}

impl GlobalDefs {
    /// The interface of a `static_ipaddress` line whose own is `dev`: its `dev`, else
    /// `default_interface`, else keepalived's built-in default `eth0`. keepalived 2.2.7 uses
    /// `default_interface` for static addresses only (not routes, rules or instances).
    pub fn static_address_dev<'a>(&'a self, dev: Option<&'a str>) -> &'a str {
        dev.or(self.default_interface.as_deref()).unwrap_or("eth0")
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            snmp: SnmpSettings::default(),
            spans: Spans::default(),
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            vrrp_notify_priority_changes: false,
            startup_script: None,
            startup_script_timeout: default_start_stop_timeout(),
            shutdown_script: None,
            shutdown_script_timeout: default_start_stop_timeout(),
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            vrrp_version: 2,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            bfd_hold_down: DEFAULT_BFD_HOLD_DOWN,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_startup_delay: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: None,
            vrrp_down_timer_adverts: 3,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            nftables: None,
            nftables_priority: -1,
            nftables_ifindex: false,
            nftables_counters: false,
            vrrp_check_unicast_src: false,
            vmac_prefix: "vrrp".into(),
            default_interface: None,
            lvs_flush: false,
            checker_log_all_failures: false,
            lvs_flush_on_stop: LvsFlushOnStop::No,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_sync_daemon: None,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            no_email_faults: false,
            json_version: 1,
            vrrp_sched: ProcessSched::default(),
            checker_sched: ProcessSched::default(),
            bfd_sched: ProcessSched::default(),
            dbus: Default::default(),
        }
    }
}

/// keepalived's per-process scheduling settings (`vrrp_priority`, `vrrp_no_swap`,
/// `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_cpu_affinity` and their `checker_` and
/// `bfd_` twins). keepalived applies them to its VRRP, checker and BFD child processes;
/// keepalived-rs to the threads that do that work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSched {
    /// Nice value, -20..=19 (`*_priority`); 0 leaves it alone, as keepalived.
    pub nice: i8,
    /// Lock the process's memory (`*_no_swap`).
    pub no_swap: bool,
    /// SCHED_RR priority (`*_rt_priority`); when set, `nice` is not applied (as keepalived).
    pub rt_priority: Option<u8>,
    /// RLIMIT_RTTIME hard limit in microseconds (`*_rlimit_rttime`; soft = half).
    pub rlimit_rttime: Option<u32>,
    /// CPUs the threads may run on (`*_cpu_affinity`); empty = not set.
    pub cpu_affinity: Vec<u16>,
}

impl ProcessSched {
    /// Nothing configured.
    pub fn is_default(&self) -> bool {
        *self == ProcessSched::default()
    }
}
