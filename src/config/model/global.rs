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
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop`.
    pub lvs_flush_on_stop: bool,
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
}

/// keepalived's default `startup_script_timeout` / `shutdown_script_timeout`.
pub fn default_start_stop_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
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
            bfd_hold_down: crate::track::priority::DEFAULT_BFD_HOLD_DOWN,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
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
            lvs_flush: false,
            lvs_flush_on_stop: false,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            no_email_faults: false,
            json_version: 1,
        }
    }
}
