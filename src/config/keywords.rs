//! The keyword registry: every keyword of keepalived 2.2.7's configuration parsers (and the
//! newer spellings keepalived-rs also accepts), each with what keepalived-rs does with it.
//!
//! This table is the one place that decides which keywords the configuration builders accept:
//! a builder asks [`accept`] before it looks at a keyword. An *implemented* keyword is handled by
//! its builder; a *partial* one too, with a located warning saying what is missing; an
//! *equivalent* keyword needs no action (the reason is in the table); an *unsupported* one gives
//! `FILE:LINE: warning: 'KW' is not supported by keepalived-rs: CONSEQUENCE` and is not stored.
//! A keyword that is not in the table is unknown (a warning, as keepalived gives).
//! `keepalived-rs --list-keywords` prints the table; tests check it against keepalived 2.2.7's
//! keyword list (`tests/fixtures/keepalived-2.2.7-keywords.csv`) and that every implemented
//! keyword changes the model that `-d` prints.

use super::diag::Diagnostics;
use super::tree::Node;
use serde::Serialize;

/// What keepalived-rs does with a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Parsed into the model and acted on as keepalived does.
    Implemented,
    /// Acted on, but part of what keepalived does is missing (the text says what).
    Partial,
    /// No action is the right equivalent of what keepalived does (the text says why).
    Equivalent,
    /// Not acted on: a warning says what the operator loses.
    Unsupported,
}

impl Status {
    /// The word used in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Implemented => "implemented",
            Status::Partial => "partial",
            Status::Equivalent => "equivalent",
            Status::Unsupported => "unsupported",
        }
    }
}

/// One keyword of one block.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Keyword {
    /// The block path as keepalived's parser nests it, e.g. `vrrp_instance`,
    /// `virtual_server>real_server>HTTP_GET>url`; `(root)` for top-level keywords.
    pub block: &'static str,
    /// The keyword.
    pub keyword: &'static str,
    /// What keepalived-rs does with it.
    pub status: Status,
    /// Implemented: what it sets. Partial: what is missing. Equivalent: why no action is
    /// right. Unsupported: what the operator loses.
    pub text: &'static str,
    /// In keepalived 2.2.7's parsers (false: a newer keepalived's keyword we also accept).
    pub in_2_2_7: bool,
}

const fn entry(
    block: &'static str,
    keyword: &'static str,
    status: Status,
    text: &'static str,
    in_2_2_7: bool,
) -> Keyword {
    Keyword {
        block,
        keyword,
        status,
        text,
        in_2_2_7,
    }
}
const fn imp(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Implemented, t, true)
}
const fn imp_new(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Implemented, t, false)
}
const fn part(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Partial, t, true)
}
const fn equiv(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Equivalent, t, true)
}
const fn equiv_new(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Equivalent, t, false)
}
const fn unsup(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Unsupported, t, true)
}
const fn unsup_new(b: &'static str, k: &'static str, t: &'static str) -> Keyword {
    entry(b, k, Status::Unsupported, t, false)
}

/// Every keyword, grouped by block.
#[rustfmt::skip]
pub static KEYWORDS: &[Keyword] = &[
    unsup("(root)", "linkbeat_use_polling", "link state is read from netlink only; interfaces whose driver does not report carrier changes are not polled (MII/ethtool)"),
    part("(root)", "net_namespace", "the daemon does not enter the namespace itself: start it with -s NAME (which, as keepalived's -s, overrides this keyword; the log says which applies)"),
    unsup("(root)", "net_namespace_ipvs", "IPVS is programmed in the daemon's own network namespace"),
    equiv("(root)", "namespace_with_ipsets", "keepalived-rs creates no ipsets, so there is nothing to place in a namespace"),
    unsup("(root)", "use_pid_dir", "the pid file stays where -p puts it (default /run/keepalived-rs.pid), not under /run/keepalived/"),
    unsup("(root)", "instance", "pid and dump file names do not carry an instance name; give each daemon its own -p file"),
    equiv("(root)", "child_wait_time", "keepalived-rs is one process with no children to wait for at exit"),
    imp("(root)", "global_defs", "container"),
    unsup("global_defs", "process_names", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    unsup("global_defs", "process_name", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    unsup("global_defs", "vrrp_process_name", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    unsup("global_defs", "checker_process_name", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    unsup("global_defs", "lvs_process_name", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    unsup("global_defs", "bfd_process_name", "the process keeps the name keepalived-rs (one process, no per-subsystem children to name)"),
    imp("global_defs", "router_id", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    imp("global_defs", "notification_email_from", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    imp("global_defs", "smtp_server", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    imp("global_defs", "smtp_helo_name", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    imp("global_defs", "smtp_connect_timeout", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    imp("global_defs", "notification_email", "track/smtp.rs:SmtpConfig::from_global (VRRP e-mail alerts)"),
    part("global_defs", "smtp_alert", "e-mail alerts are sent for VRRP changes only: real-server (checker) changes send no e-mail"),
    imp("global_defs", "startup_script", "daemon/run.rs:run -> track/exec.rs:run_start_stop_script (before the subsystems start, waited for)"),
    imp("global_defs", "startup_script_timeout", "track/exec.rs:run_start_stop_script (SIGTERM to the script's group at the timeout, SIGKILL 2 s later)"),
    imp("global_defs", "shutdown_script", "daemon/run.rs:run -> track/exec.rs:run_start_stop_script (after the subsystems stopped, waited for)"),
    imp("global_defs", "shutdown_script_timeout", "track/exec.rs:run_start_stop_script (SIGTERM to the script's group at the timeout, SIGKILL 2 s later)"),
    unsup("global_defs", "max_auto_priority", "the daemon is not given real-time scheduling priority"),
    unsup("global_defs", "min_auto_priority_delay", "the daemon is not given real-time scheduling priority"),
    imp("global_defs", "smtp_alert_vrrp", "track/smtp.rs:smtp_alert_enabled"),
    unsup("global_defs", "smtp_alert_checker", "no e-mail alerts for real-server (checker) changes"),
    imp("global_defs", "checker_log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    equiv("global_defs", "dynamic_interfaces", "interfaces that appear and disappear are always followed: instances wait for a missing interface and start when it appears"),
    imp("global_defs", "no_email_faults", "track/smtp.rs:76 (reads global.extra[\"no_email_faults\"])"),
    imp("global_defs", "default_interface", "config/model/global.rs:static_address_dev -> daemon/run.rs:install_static (a static_ipaddress without dev goes there, default eth0; as keepalived 2.2.7, not used for routes, rules or instances; a missing one is waited for and the address added when it appears, as keepalived with dynamic_interfaces, always on here)"),
    unsup("global_defs", "disable_local_igmp", "IGMP reports from vmac interfaces are not suppressed"),
    imp("global_defs", "lvs_timeouts", "lvs/mod.rs:new -> ipvs/writer.rs:apply_timeouts (IPVS_CMD_SET_CONFIG; the kernel's values are put back on reload without it and at stop)"),
    imp("global_defs", "lvs_flush", "lvs/mod.rs:new -> ipvs/writer.rs"),
    imp("global_defs", "lvs_flush_on_stop", "lvs/mod.rs:new -> ipvs/writer.rs:release (whole table, or `VS`: our services)"),
    imp("global_defs", "lvs_flush_onstop", "(old spelling of lvs_flush_on_stop) lvs/mod.rs:new -> ipvs/writer.rs:release"),
    imp("global_defs", "lvs_sync_daemon", "lvs/syncd.rs (IPVS_CMD_NEW_DAEMON/DEL_DAEMON: master and backup daemons follow the named VRRP instance; both run without one)"),
    imp("global_defs", "vrrp_mcast_group4", "vrrp/actor/params.rs:destinations"),
    imp("global_defs", "vrrp_mcast_group6", "vrrp/actor/params.rs:destinations"),
    imp("global_defs", "vrrp_garp_master_delay", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_garp_master_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_garp_master_refresh", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_garp_master_refresh_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_garp_lower_prio_delay", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_garp_lower_prio_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("global_defs", "vrrp_down_timer_adverts", "copied to instances (config/from_tree/vrrp.rs:instance) -> vrrp/fsm.rs:master_down_interval"),
    imp("global_defs", "vrrp_garp_interval", "vrrp/actor/instance.rs:garp_interval"),
    imp("global_defs", "vrrp_gna_interval", "vrrp/actor/instance.rs:garp_interval"),
    imp("global_defs", "vrrp_min_garp", "vrrp/actor/params.rs:instance_params"),
    unsup("global_defs", "vrrp_garp_extra_if", "no periodic gratuitous ARP/NA on the parent interface of vmac interfaces"),
    unsup("global_defs", "vrrp_vmac_garp_intvl", "no periodic gratuitous ARP/NA on the parent interface of vmac interfaces"),
    imp("global_defs", "vrrp_lower_prio_no_advert", "copied to instances -> vrrp/actor/params.rs:instance_params -> vrrp/fsm.rs:master_rx"),
    imp("global_defs", "vrrp_higher_prio_send_advert", "copied to instances -> vrrp/actor/params.rs:instance_params -> vrrp/fsm.rs:master_rx"),
    imp("global_defs", "vrrp_version", "copied to instances -> vrrp/actor/instance.rs:advert/receive"),
    imp("global_defs", "vrrp_iptables", "mapped to nftables as Debian's keepalived 2.2.7 (warning) -> firewall/model.rs:config_for"),
    unsup("global_defs", "vrrp_ipsets", "no ipsets are used: the VIP firewall is nftables (keepalived 2.2.7 built with nftables, Debian's, does not know this keyword either)"),
    imp("global_defs", "nftables", "firewall/model.rs:config_for -> firewall/actor.rs (keepalived's ip/ip6 tables, vips sets, drop rules)"),
    imp("global_defs", "nftables_priority", "firewall/model.rs:FirewallState::setup (in/out chain priority)"),
    imp("global_defs", "nftables_ifindex", "link-local VIPs always by interface index -> firewall/model.rs:fw_addrs"),
    unsup("global_defs", "nftables_ipvs", "no nftables fwmark rules are installed for IPVS virtual servers"),
    unsup("global_defs", "nftables_ipvs_priority", "no nftables fwmark rules are installed for IPVS virtual servers"),
    unsup("global_defs", "nftables_ipvs_start_fwmark", "no nftables fwmark rules are installed for IPVS virtual servers"),
    imp("global_defs", "nftables_counters", "firewall/model.rs:FirewallState::setup (a counter in every rule)"),
    imp("global_defs", "vrrp_check_unicast_src", "vrrp/actor/instance.rs:receive"),
    imp("global_defs", "vrrp_skip_check_adv_addr", "copied to instances -> vrrp/actor/instance.rs:receive (check_vips)"),
    imp("global_defs", "vrrp_strict", "strict checks; accept mode off for non-owners -> firewall/model.rs:blocks_vips (nftables drop rules on MASTER)"),
    imp("global_defs", "vrrp_priority", "nice value of the vrrp and netlink threads (daemon/sched.rs:apply; keepalived: of its vrrp and netlink process)"),
    imp("global_defs", "vrrp_no_swap", "memory locked with mlockall (daemon/sched.rs:apply; one process, so the whole daemon)"),
    imp("global_defs", "vrrp_rt_priority", "SCHED_RR priority of the vrrp and netlink threads (daemon/sched.rs:apply)"),
    imp("global_defs", "vrrp_cpu_affinity", "CPU affinity of the vrrp and netlink threads (daemon/sched.rs:apply)"),
    imp("global_defs", "vrrp_rlimit_rttime", "RLIMIT_RTTIME when real-time (daemon/sched.rs:apply; one process: the largest configured)"),
    imp("global_defs", "vrrp_rlimit_rtime", "old spelling of *_rlimit_rttime (daemon/sched.rs:apply)"),
    imp("global_defs", "notify_fifo", "vrrp/actor/notifier.rs:new -> track/notify.rs"),
    imp("global_defs", "notify_fifo_script", "vrrp/actor/notifier.rs:new -> track/notify.rs:NotifyFifo::open_with_script (started once with the FIFO path as last argument, not restarted, stopped at exit; keepalived's VRRP and checker processes each start one)"),
    imp("global_defs", "vrrp_notify_fifo", "vrrp/actor/notifier.rs:new -> track/notify.rs"),
    imp("global_defs", "vrrp_notify_fifo_script", "vrrp/actor/notifier.rs:new -> track/notify.rs:NotifyFifo::open_with_script (started with the FIFO path as last argument, not restarted, stopped at exit)"),
    imp("global_defs", "vrrp_notify_priority_changes", "vrrp/actor/instance.rs:recompute -> notifier.rs:priority (MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines; default of the instances)"),
    unsup("global_defs", "fifo_write_vrrp_states_on_reload", "instance states are not written again to the notify FIFO after a reload"),
    imp("global_defs", "lvs_notify_fifo", "lvs/actor/mod.rs:open_fifos"),
    imp("global_defs", "lvs_notify_fifo_script", "lvs/actor/mod.rs:open_fifos -> track/notify.rs:NotifyFifo::open_with_script (started with the FIFO path as last argument)"),
    imp("global_defs", "checker_priority", "nice value of the checker threads (daemon/sched.rs:apply; keepalived: of its checker process)"),
    imp("global_defs", "checker_no_swap", "memory locked with mlockall (daemon/sched.rs:apply; one process, so the whole daemon)"),
    imp("global_defs", "checker_rt_priority", "SCHED_RR priority of the checker threads (daemon/sched.rs:apply)"),
    imp("global_defs", "checker_cpu_affinity", "CPU affinity of the checker threads (daemon/sched.rs:apply)"),
    imp("global_defs", "checker_rlimit_rttime", "RLIMIT_RTTIME when real-time (daemon/sched.rs:apply; one process: the largest configured)"),
    imp("global_defs", "checker_rlimit_rtime", "old spelling of *_rlimit_rttime (daemon/sched.rs:apply)"),
    imp("global_defs", "bfd_priority", "nice value of the bfd threads (daemon/sched.rs:apply; keepalived: of its bfd process)"),
    imp("global_defs", "bfd_no_swap", "memory locked with mlockall (daemon/sched.rs:apply; one process, so the whole daemon)"),
    imp("global_defs", "bfd_rt_priority", "SCHED_RR priority of the bfd threads (daemon/sched.rs:apply)"),
    imp("global_defs", "bfd_cpu_affinity", "CPU affinity of the bfd threads (daemon/sched.rs:apply)"),
    imp("global_defs", "bfd_rlimit_rttime", "RLIMIT_RTTIME when real-time (daemon/sched.rs:apply; one process: the largest configured)"),
    imp("global_defs", "bfd_rlimit_rtime", "old spelling of *_rlimit_rttime (daemon/sched.rs:apply)"),
    imp("global_defs", "snmp_socket", "config/model/global.rs:SnmpSettings.socket; mgmt/snmp/agent.rs connects there (unix path or tcp:host:port; default unix:/var/agentx/master)"),
    part("global_defs", "enable_traps", "VRRP notifications are sent (KEEPALIVED-MIB vrrpInstanceStateChange and vrrpSyncGroupStateChange, VRRP-MIB vrrpTrapNewMaster; at start a group's BACKUP notification follows its instance's, keepalived sends it first); missing: VRRP-MIB vrrpTrapAuthFailure, the checker notifications (realServerStateChange, virtualServerQuorumStateChange) and VRRPv3-MIB vrrpv3NewMaster/vrrpv3ProtoError"),
    part("global_defs", "enable_snmp_vrrp", "KEEPALIVED-MIB served by the AgentX subagent (mgmt/snmp): the global scalars, vrrpSyncGroupTable, vrrpSyncGroupMemberTable, vrrpInstanceTable, vrrpTrackedScriptTable, vrrpAddressTable and vrrpScriptTable (as keepalived 2.2.7, tests/snmp_agentx.rs); missing: the sync-group tracked-* tables, vrrpTrackedInterface/File/Bfd/ProcessTable, vrrpFileTable, vrrpScriptResult failed(5) for init_fail, vrrpRouteTable, vrrpRuleTable, the static addresses (index 0) of vrrpAddressTable, smtpServerAddress for a host name, the default emailFrom, and writes (basePriority, preempt, accept are read-only)"),
    part("global_defs", "enable_snmp_keepalived", "KEEPALIVED-MIB served by the AgentX subagent (mgmt/snmp): the global scalars, vrrpSyncGroupTable, vrrpSyncGroupMemberTable, vrrpInstanceTable, vrrpTrackedScriptTable, vrrpAddressTable and vrrpScriptTable (as keepalived 2.2.7, tests/snmp_agentx.rs); missing: the sync-group tracked-* tables, vrrpTrackedInterface/File/Bfd/ProcessTable, vrrpFileTable, vrrpScriptResult failed(5) for init_fail, vrrpRouteTable, vrrpRuleTable, the static addresses (index 0) of vrrpAddressTable, smtpServerAddress for a host name, the default emailFrom, and writes (basePriority, preempt, accept are read-only)"),
    part("global_defs", "enable_snmp_rfc", "VRRP-MIB (RFC 2787) is served by the AgentX subagent (mgmt/snmp); VRRPv3-MIB (RFC 6527) is not"),
    imp("global_defs", "enable_snmp_rfcv2", "config/model/global.rs:SnmpSettings.rfcv2; mgmt/snmp/mib.rs serves VRRP-MIB (RFC 2787): vrrpOperTable, vrrpAssoIpAddrTable, vrrpRouterStatistics and vrrpRouterStatsTable for VRRPv2 IPv4 instances with a VIP, as keepalived"),
    unsup("global_defs", "enable_snmp_rfcv3", "VRRPv3-MIB (RFC 6527) is not served by the AgentX subagent (KEEPALIVED-MIB and RFC 2787 VRRP-MIB are)"),
    unsup("global_defs", "enable_snmp_checker", "KEEPALIVED-MIB's check subtree (virtual and real servers and their stats) is not served by the AgentX subagent, and no checker notifications are sent"),
    imp("global_defs", "enable_dbus", "mgmt/dbus: org.keepalived.Vrrp1 on the system bus (objects, properties, methods and signals as keepalived 2.2.7)"),
    imp("global_defs", "dbus_service_name", "mgmt/dbus: the bus name requested instead of org.keepalived.Vrrp1"),
    imp("global_defs", "script_user", "track/exec.rs:from_global/user_for"),
    imp("global_defs", "enable_script_security", "track/exec.rs:from_global, track/runner.rs:run_loop, track/notify.rs:run_one"),
    equiv("global_defs", "vrrp_netlink_cmd_rcv_bufs", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "vrrp_netlink_cmd_rcv_bufs_force", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "vrrp_netlink_monitor_rcv_bufs", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "vrrp_netlink_monitor_rcv_bufs_force", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "process_monitor_rcv_bufs", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "process_monitor_rcv_bufs_force", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "lvs_netlink_cmd_rcv_bufs", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "lvs_netlink_cmd_rcv_bufs_force", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "lvs_netlink_monitor_rcv_bufs", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    equiv("global_defs", "lvs_netlink_monitor_rcv_bufs_force", "keepalived-rs sizes its netlink receive buffers itself and re-reads the kernel's state after an overrun"),
    unsup("global_defs", "rs_init_notifies", "notify_up/notify_down are not run for the real servers' initial states at start"),
    equiv("global_defs", "no_checker_emails", "keepalived-rs never sends checker e-mails, which is what this asks for"),
    unsup("global_defs", "vrrp_rx_bufs_policy", "VRRP sockets keep keepalived-rs's own receive buffer size"),
    unsup("global_defs", "vrrp_rx_bufs_multiplier", "VRRP sockets keep keepalived-rs's own receive buffer size"),
    imp("global_defs", "vrrp_startup_delay", "vrrp/actor/params.rs:delayed_start -> vrrp/fsm.rs (no instance leaves BACKUP before the delay after the daemon's start)"),
    unsup("global_defs", "log_unknown_vrids", "adverts for unknown VRIDs are not logged (they are counted on /metrics)"),
    imp("global_defs", "vmac_prefix", "vrrp/actor/params.rs:vmac_request/resolve_vmacs"),
    unsup("global_defs", "vmac_addr_prefix", "the vmac MAC address prefix is not applied"),
    unsup("global_defs", "umask", "files are created with the process's umask (set it with -u or the unit's UMask=)"),
    unsup("global_defs", "random_seed", "${_RANDOM} is not seeded, so its values differ between runs"),
    equiv("global_defs", "reload_check_config", "every reload is parsed and checked before anything changes; an invalid file is rejected and logged"),
    unsup("global_defs", "reload_time_file", "no reload is scheduled from a time file"),
    unsup("global_defs", "reload_repeat", "no reload is scheduled from a time file"),
    unsup("global_defs", "reload_file", "reloads read the main configuration file given with -f"),
    unsup("global_defs", "include_check", "includes are not checked for readability or match (a missing include is a warning)"),
    unsup("global_defs", "config_save_dir", "the configuration is not saved on reload"),
    equiv("global_defs", "tmp_config_directory", "keepalived-rs reads the configuration in one process, so it needs no temporary copy"),
    unsup("global_defs", "data_use_instance", "dump file names do not carry the instance name"),
    unsup("(root)", "track_group", "static addresses, routes and rules are not tracked: losing one does not put the listed VRRP instances in FAULT"),
    unsup("track_group", "group", "static addresses, routes and rules are not tracked: losing one does not put the listed VRRP instances in FAULT"),
    part("(root)", "static_ipaddress", "installed once at start and not restored when removed from outside; `track_group` on a line is not tracked (that line warns)"),
    part("(root)", "static_routes", "installed once at start and not restored when removed from outside; `track_group` on a line is not tracked (that line warns)"),
    part("(root)", "static_rules", "installed once at start and not restored when removed from outside; `track_group` on a line is not tracked (that line warns)"),
    imp("(root)", "vrrp_sync_group", "vrrp/actor/sync.rs, vrrp/sync.rs"),
    imp("vrrp_sync_group", "group", "vrrp/actor/sync.rs:reconcile, vrrp/sync.rs"),
    imp("vrrp_sync_group", "track_interface", "vrrp/tracking.rs:track_defs (group trackers applied to members)"),
    imp("vrrp_sync_group", "track_script", "vrrp/tracking.rs:track_defs (group trackers applied to members)"),
    imp("vrrp_sync_group", "track_file", "vrrp/tracking.rs:track_defs (group trackers applied to members)"),
    imp("vrrp_sync_group", "track_process", "vrrp/tracking.rs:track_defs (group trackers applied to members) -> track/priority.rs"),
    imp("vrrp_sync_group", "track_bfd", "vrrp/tracking.rs:track_defs (group trackers applied to members)"),
    imp("vrrp_sync_group", "notify_backup", "vrrp/actor/sync.rs -> track/notify.rs:state_notification"),
    imp("vrrp_sync_group", "notify_master", "vrrp/actor/sync.rs -> track/notify.rs:state_notification"),
    imp("vrrp_sync_group", "notify_fault", "vrrp/actor/sync.rs -> track/notify.rs:state_notification"),
    imp("vrrp_sync_group", "notify_stop", "vrrp/actor/sync.rs -> track/notify.rs:state_notification"),
    imp("vrrp_sync_group", "notify", "vrrp/actor/sync.rs -> track/notify.rs:state_notification"),
    imp("vrrp_sync_group", "smtp_alert", "vrrp/actor/sync.rs:report"),
    imp("vrrp_sync_group", "global_tracking", "vrrp/tracking.rs:track_defs (keep_weights)"),
    imp("vrrp_sync_group", "sync_group_tracking_weight", "vrrp/tracking.rs:track_defs (keep_weights)"),
    imp("vrrp_sync_group", "notify_priority_changes", "daemon/run.rs:vrrp_children (default of its members) -> notifier.rs:priority"),
    unsup("(root)", "garp_group", "gratuitous ARP/NA are not paced per interface group: each instance follows its own garp/gna settings"),
    unsup("garp_group", "garp_interval", "gratuitous ARP/NA are not paced per interface group: each instance follows its own garp/gna settings"),
    unsup("garp_group", "gna_interval", "gratuitous ARP/NA are not paced per interface group: each instance follows its own garp/gna settings"),
    unsup("garp_group", "interface", "gratuitous ARP/NA are not paced per interface group: each instance follows its own garp/gna settings"),
    unsup("garp_group", "interfaces", "gratuitous ARP/NA are not paced per interface group: each instance follows its own garp/gna settings"),
    unsup("(root)", "linkbeat_interfaces", "link state is read from netlink only; interfaces whose driver does not report carrier changes are not polled (MII/ethtool)"),
    imp("(root)", "vrrp_instance", "vrrp/actor/instance.rs"),
    imp("vrrp_instance", "use_vmac", "vrrp/actor/params.rs:vmac_request, vrrp/virtual_set.rs:virtual_set_of"),
    unsup("vrrp_instance", "use_vmac_addr", "VIPs are added to the parent interface, not to the vmac's address list"),
    imp("vrrp_instance", "vmac_xmit_base", "vrrp/actor/instance.rs:socket_ifname/bring_up"),
    unsup("vrrp_instance", "use_ipvlan", "no ipvlan interface is created: VIPs are added to the instance's interface"),
    imp("vrrp_instance", "unicast_peer", "vrrp/actor/params.rs:destinations, vrrp/actor/instance.rs:receive (min_ttl/max_ttl)"),
    imp("vrrp_instance", "unicast_fault_no_peer", "config/model/vrrp.rs:config_fault, vrrp/tracking.rs:with_config_fault (no unicast peer: FAULT instead of multicast)"),
    imp("vrrp_instance", "check_unicast_src", "vrrp/validate.rs:allowed_sources (adverts from a source not in unicast_peer dropped, counted unicast_src_err)"),
    unsup("vrrp_instance", "old_unicast_checksum", "unicast adverts use the standard checksum: peers running old keepalived versions that need the old unicast checksum will not accept them"),
    equiv("vrrp_instance", "native_ipv6", "IPv6 instances already use VRRPv3 with their link-local address"),
    imp("vrrp_instance", "state", "vrrp/actor/params.rs:instance_params -> vrrp/fsm.rs:on_startup"),
    imp("vrrp_instance", "interface", "vrrp/actor/instance.rs:ifname/bring_up"),
    unsup("vrrp_instance", "vrf", "the instance's sockets and addresses are not bound to the VRF"),
    imp("vrrp_instance", "dont_track_primary", "vrrp/tracking.rs:assess"),
    imp("vrrp_instance", "track_interface", "vrrp/tracking.rs:track_defs -> track/priority.rs"),
    imp("vrrp_instance", "track_script", "vrrp/tracking.rs:track_defs -> track/priority.rs"),
    imp("vrrp_instance", "track_file", "vrrp/tracking.rs:track_defs -> track/priority.rs"),
    imp("vrrp_instance", "track_process", "vrrp/tracking.rs:track_defs -> track/priority.rs (weight 0: FAULT while out of quorum; else priority +/- weight)"),
    imp("vrrp_instance", "track_bfd", "vrrp/tracking.rs:track_defs -> track/priority.rs"),
    imp("vrrp_instance", "mcast_src_ip", "vrrp/actor/instance.rs:bring_up (advert source)"),
    imp("vrrp_instance", "unicast_src_ip", "vrrp/actor/instance.rs:bring_up (advert source)"),
    imp("vrrp_instance", "mcast_dst_ip", "vrrp/actor/params.rs:destinations"),
    unsup("vrrp_instance", "track_src_ip", "the advert source address is not tracked: its loss does not put the instance in FAULT"),
    imp("vrrp_instance", "virtual_router_id", "vrrp/actor/instance.rs (vrid), vrrp/packet.rs"),
    imp("vrrp_instance", "unicast_ttl", "vrrp/actor/socket.rs:open"),
    imp("vrrp_instance", "version", "vrrp/actor/instance.rs:advert/receive"),
    imp("vrrp_instance", "priority", "vrrp/actor/params.rs:instance_params, track/priority.rs"),
    imp("vrrp_instance", "advert_int", "vrrp/actor/instance.rs:advert, vrrp/fsm.rs"),
    imp("vrrp_instance", "virtual_ipaddress", "vrrp/virtual_set.rs:virtual_set_of -> vrrp/actor/netlink_kernel.rs:address_spec (peer/home/no_track/track_group/autojoin options not applied)"),
    imp("vrrp_instance", "virtual_ipaddress_excluded", "vrrp/virtual_set.rs:virtual_set_of -> vrrp/actor/netlink_kernel.rs:address_spec (peer/home/no_track/track_group/autojoin options not applied)"),
    unsup("vrrp_instance", "promote_secondaries", "the interface's promote_secondaries setting is not changed: removing a VIP may remove its secondaries"),
    unsup("vrrp_instance", "linkbeat_use_polling", "link state is read from netlink only; interfaces whose driver does not report carrier changes are not polled (MII/ethtool)"),
    imp("vrrp_instance", "virtual_routes", "the instance's routes, installed on MASTER and removed otherwise"),
    imp("vrrp_instance", "virtual_rules", "the instance's policy rules, installed on MASTER and removed otherwise"),
    imp("vrrp_instance", "accept", "firewall/model.rs:blocks_vips (no drop rules for the instance's VIPs; reset for strict VRRPv2 as keepalived)"),
    imp("vrrp_instance", "no_accept", "firewall/model.rs:blocks_vips -> firewall/actor.rs (VIPs in the nftables vips set while MASTER)"),
    imp("vrrp_instance", "skip_check_adv_addr", "vrrp/actor/instance.rs:receive"),
    imp("vrrp_instance", "strict_mode", "strict checks; accept mode off for non-owners -> firewall/model.rs:blocks_vips"),
    equiv("vrrp_instance", "preempt", "preemption is already the default (a `nopreempt` given in the same instance still wins)"),
    imp("vrrp_instance", "nopreempt", "vrrp/actor/params.rs:instance_params -> vrrp/fsm.rs:backup_rx"),
    imp("vrrp_instance", "preempt_delay", "vrrp/actor/params.rs:instance_params -> vrrp/fsm.rs:backup_rx"),
    equiv("vrrp_instance", "debug", "keepalived only records this level (it never changes behaviour); logging detail is set with -D"),
    imp("vrrp_instance", "notify_backup", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify_master", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify_fault", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify_stop", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify_deleted", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify", "track/notify.rs:state_notification"),
    imp("vrrp_instance", "notify_master_rx_lower_pri", "track/notify.rs:event_notification"),
    imp("vrrp_instance", "smtp_alert", "vrrp/actor/instance.rs:apply -> track/smtp.rs"),
    imp("vrrp_instance", "notify_priority_changes", "vrrp/actor/instance.rs:recompute -> notifier.rs:priority (MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines)"),
    imp("vrrp_instance", "lvs_sync_daemon_interface", "(deprecated form of lvs_sync_daemon IFACE INSTANCE) lvs/syncd.rs"),
    imp("vrrp_instance", "garp_master_delay", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "garp_master_refresh", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "garp_master_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "garp_master_refresh_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "garp_lower_prio_delay", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "garp_lower_prio_repeat", "vrrp/actor/params.rs:instance_params"),
    imp("vrrp_instance", "down_timer_adverts", "vrrp/fsm.rs:master_down_interval"),
    unsup("vrrp_instance", "garp_extra_if", "no periodic gratuitous ARP/NA on the parent interface of vmac interfaces"),
    unsup("vrrp_instance", "vmac_garp_intvl", "no periodic gratuitous ARP/NA on the parent interface of vmac interfaces"),
    imp("vrrp_instance", "lower_prio_no_advert", "vrrp/fsm.rs:master_rx"),
    imp("vrrp_instance", "higher_prio_send_advert", "vrrp/fsm.rs:master_rx"),
    unsup("vrrp_instance", "kernel_rx_buf_size", "VRRP sockets keep keepalived-rs's own receive buffer size"),
    imp("vrrp_instance", "authentication", "vrrp/actor/params.rs:v2_auth (PASS), ah_key (AH)"),
    imp("vrrp_instance>authentication", "auth_type", "PASS: simple-password authentication of VRRPv2 adverts; AH: IP Authentication Header (protocol 51) with HMAC-MD5-96, SPI and sequence numbers as keepalived 2.2.7 (VRRPv2, IPv4; initial state MASTER cleared)"),
    imp("vrrp_instance>authentication", "auth_pass", "vrrp/actor/params.rs:v2_auth (PASS), ah_key (AH): first 8 characters"),
    imp("(root)", "vrrp_script", "vrrp/actor/trackers.rs -> track/runner.rs"),
    imp("vrrp_script", "script", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "interval", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "timeout", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "weight", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "rise", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "fall", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "user", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("vrrp_script", "init_fail", "track/runner.rs (ScriptSpec/interval/timeout/rise/fall/init_fail), track/priority.rs:script_weight"),
    imp("(root)", "vrrp_track_process", "vrrp/actor/trackers.rs -> track/proc_watch.rs (proc connector events, /proc scan fallback outside the initial network namespace)"),
    imp("vrrp_track_process", "process", "track/process.rs:ProcSpec (name matched against comm, or argv[0] with parameters/full_command)"),
    imp("vrrp_track_process", "param_match", "track/process.rs:ProcSpec::matches (exact, initial, partial)"),
    imp("vrrp_track_process", "weight", "track/priority.rs via vrrp/tracking.rs:track_defs (weight [reverse])"),
    imp("vrrp_track_process", "quorum", "track/process.rs:ProcSpec::in_quorum"),
    imp("vrrp_track_process", "quorum_max", "track/process.rs:ProcSpec::in_quorum"),
    imp("vrrp_track_process", "delay", "track/process.rs:ProcessTable (fork_delay and terminate_delay)"),
    imp("vrrp_track_process", "terminate_delay", "track/process.rs:ProcessTable (a loss by exit waits)"),
    imp("vrrp_track_process", "fork_delay", "track/process.rs:ProcessTable (a gain by fork waits)"),
    imp("vrrp_track_process", "full_command", "track/process.rs:ProcSpec::matches (argv[0] instead of comm)"),
    unsup("(root)", "interface_up_down_delays", "link changes act at once: no per-interface down/up delay"),
    unsup("(root)", "SSL", "SSL_GET connects without a client certificate and does not verify the server against a CA"),
    unsup("SSL", "password", "SSL_GET connects without a client certificate and does not verify the server against a CA"),
    unsup("SSL", "ca", "SSL_GET connects without a client certificate and does not verify the server against a CA"),
    unsup("SSL", "certificate", "SSL_GET connects without a client certificate and does not verify the server against a CA"),
    unsup("SSL", "key", "SSL_GET connects without a client certificate and does not verify the server against a CA"),
    imp("(root)", "virtual_server_group", "lvs/plan.rs:service_keys (ranges expanded per address, fwmark entries)"),
    imp("(root)", "virtual_server", "lvs/plan.rs:vs_plan -> lvs/actor/mod.rs"),
    imp("virtual_server", "ip_family", "lvs/plan.rs:service_keys"),
    imp("virtual_server", "retry", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "delay_before_retry", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "warmup", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "connect_timeout", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "delay_loop", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "inhibit_on_failure", "lvs/plan.rs:rs_plan"),
    imp("virtual_server", "lb_algo", "lvs/plan.rs:service_of -> ipvs/service.rs"),
    imp("virtual_server", "lvs_sched", "lvs/plan.rs:service_of -> ipvs/service.rs"),
    equiv("virtual_server", "hashed", "keepalived 2.2.7 sets no flag for it (its flag handler matches no case for 'hashed'): IP_VS_SVC_F_HASHED is the kernel's own state bit"),
    imp("virtual_server", "ops", "lvs/plan.rs:service_of (ONE_PACKET)"),
    imp("virtual_server", "flag-1", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "flag-2", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "flag-3", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "sh-port", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "sh-fallback", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "mh-port", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "mh-fallback", "lvs/plan.rs:service_of (SCHED1/2/3 flags)"),
    imp("virtual_server", "lb_kind", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server", "lvs_method", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server", "persistence_engine", "lvs/plan.rs:service_of"),
    imp("virtual_server", "persistence_timeout", "lvs/plan.rs:service_of"),
    imp("virtual_server", "persistence_granularity", "lvs/plan.rs:service_of"),
    imp("virtual_server", "protocol", "lvs/plan.rs:service_keys"),
    imp("virtual_server", "ha_suspend", "lvs/actor/mod.rs:update_suspension"),
    unsup("virtual_server", "smtp_alert", "no e-mail alerts for real-server changes"),
    imp("virtual_server", "virtualhost", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    unsup("virtual_server", "snmp_name", "KEEPALIVED-MIB's check subtree is not served by the SNMP subagent (only its global and vrrp subtrees are)"),
    imp("virtual_server", "alpha", "lvs/plan.rs:checker_plan (Defaults::pick: checker > real_server > virtual_server)"),
    imp("virtual_server", "omega", "lvs/actor/mod.rs:shutdown"),
    imp("virtual_server", "quorum_up", "lvs/state.rs:update_quorum, lvs/actor/mod.rs:announce_quorum"),
    imp("virtual_server", "quorum_down", "lvs/state.rs:update_quorum, lvs/actor/mod.rs:announce_quorum"),
    imp("virtual_server", "quorum", "lvs/state.rs:update_quorum, lvs/actor/mod.rs:announce_quorum"),
    imp("virtual_server", "hysteresis", "lvs/state.rs:update_quorum, lvs/actor/mod.rs:announce_quorum"),
    unsup("virtual_server", "weight", "real servers without their own `weight` get 1, not this default"),
    imp("virtual_server", "sorry_server", "lvs/plan.rs:vs_plan (SorryPlan)"),
    imp("virtual_server", "sorry_server_inhibit", "lvs/plan.rs:vs_plan (SorryPlan)"),
    imp("virtual_server", "sorry_server_lvs_method", "lvs/plan.rs:vs_plan (SorryPlan.dest forwarding method)"),
    imp("virtual_server", "real_server", "lvs/plan.rs:rs_plan"),
    imp("virtual_server>real_server", "weight", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server>real_server", "lvs_method", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server>real_server", "uthreshold", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server>real_server", "lthreshold", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server>real_server", "inhibit_on_failure", "lvs/plan.rs:rs_plan -> ipvs/dest.rs"),
    imp("virtual_server>real_server", "notify_up", "lvs/actor/mod.rs:announce_rs"),
    imp("virtual_server>real_server", "notify_down", "lvs/actor/mod.rs:announce_rs"),
    imp("virtual_server>real_server", "alpha", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    imp("virtual_server>real_server", "retry", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    imp("virtual_server>real_server", "delay_before_retry", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    imp("virtual_server>real_server", "warmup", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    imp("virtual_server>real_server", "connect_timeout", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    imp("virtual_server>real_server", "delay_loop", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    unsup("virtual_server>real_server", "smtp_alert", "no e-mail alerts for real-server changes"),
    imp("virtual_server>real_server", "virtualhost", "lvs/plan.rs:checker_plan (Defaults::pick)"),
    unsup("virtual_server>real_server", "snmp_name", "KEEPALIVED-MIB's check subtree is not served by the SNMP subagent (only its global and vrrp subtrees are)"),
    imp("virtual_server>real_server", "MISC_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>MISC_CHECK", "misc_path", "lvs/plan.rs:checker_plan -> check/misc.rs"),
    imp("virtual_server>real_server>MISC_CHECK", "misc_timeout", "lvs/plan.rs:checker_plan (CheckSpec::Misc.timeout)"),
    imp("virtual_server>real_server>MISC_CHECK", "misc_dynamic", "check/misc.rs:check"),
    imp("virtual_server>real_server>MISC_CHECK", "user", "lvs/plan.rs:checker_plan (script.user)"),
    imp("virtual_server>real_server", "SMTP_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "helo_name", "lvs/plan.rs:checker_plan -> check/smtp.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>SMTP_CHECK", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>SMTP_CHECK", "bindto", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SMTP_CHECK", "bind_port", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SMTP_CHECK", "bind_if", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SMTP_CHECK", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>SMTP_CHECK", "fwmark", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SMTP_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>SMTP_CHECK", "host", "config/from_tree/lvs.rs:smtp_host: each host is an SMTP_CHECK of its own, as check_smtp.c (deprecation warning as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "connect_ip", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "connect_port", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "bindto", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "bind_port", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "bind_if", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "connect_timeout", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "fwmark", "config/from_tree/lvs.rs:smtp_host (the host's own connection)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "retry", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "delay_before_retry", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "warmup", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "delay_loop", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "alpha", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server>SMTP_CHECK>host", "log_all_failures", "config/from_tree/lvs.rs:smtp_host (sets the enclosing SMTP_CHECK's, as keepalived)"),
    imp("virtual_server>real_server", "TCP_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>TCP_CHECK", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>TCP_CHECK", "bindto", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>TCP_CHECK", "bind_port", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>TCP_CHECK", "bind_if", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>TCP_CHECK", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>TCP_CHECK", "fwmark", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>TCP_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>TCP_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server", "PING_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>PING_CHECK", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>PING_CHECK", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>PING_CHECK", "bindto", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>PING_CHECK", "bind_port", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>PING_CHECK", "bind_if", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>PING_CHECK", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    equiv("virtual_server>real_server>PING_CHECK", "fwmark", "keepalived 2.2.7 accepts it but its PING_CHECK opens its ICMP socket without the mark too"),
    imp("virtual_server>real_server>PING_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>PING_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>PING_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>PING_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>PING_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>PING_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server", "UDP_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>UDP_CHECK", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>UDP_CHECK", "bindto", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket"),
    imp("virtual_server>real_server>UDP_CHECK", "bind_port", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket"),
    equiv("virtual_server>real_server>UDP_CHECK", "bind_if", "keepalived 2.2.7 accepts it but its UDP_CHECK (udp_bind_connect) does not bind to the interface either"),
    imp("virtual_server>real_server>UDP_CHECK", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>UDP_CHECK", "fwmark", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>UDP_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>UDP_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>UDP_CHECK", "payload", "lvs/plan.rs:checker_plan -> check/udp.rs:check"),
    imp("virtual_server>real_server>UDP_CHECK", "require_reply", "lvs/plan.rs:checker_plan -> check/udp.rs:check"),
    imp("virtual_server>real_server>UDP_CHECK", "min_reply_length", "lvs/plan.rs:checker_plan -> check/udp.rs:check"),
    imp("virtual_server>real_server>UDP_CHECK", "max_reply_length", "lvs/plan.rs:checker_plan -> check/udp.rs:check"),
    imp("virtual_server>real_server", "HTTP_GET", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>HTTP_GET", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>HTTP_GET", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>HTTP_GET", "bindto", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>HTTP_GET", "bind_port", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>HTTP_GET", "bind_if", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>HTTP_GET", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>HTTP_GET", "fwmark", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>HTTP_GET", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>HTTP_GET", "nb_get_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>HTTP_GET", "virtualhost", "lvs/plan.rs:checker_plan (Host header/SNI)"),
    imp("virtual_server>real_server>HTTP_GET", "http_protocol", "lvs/plan.rs:checker_plan (HttpProtocol)"),
    imp("virtual_server>real_server>HTTP_GET", "enable_sni", "lvs/plan.rs:checker_plan (sni)"),
    imp("virtual_server>real_server>HTTP_GET", "fast_recovery", "lvs/plan.rs:checker_plan (Recovery::Fast) -> check/schedule.rs: the confirming check after a failure runs at once"),
    imp("virtual_server>real_server>HTTP_GET", "url", "lvs/plan.rs:checker_plan -> check/http_get.rs"),
    imp("virtual_server>real_server>HTTP_GET>url", "path", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>HTTP_GET>url", "digest", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>HTTP_GET>url", "status_code", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>HTTP_GET>url", "virtualhost", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>HTTP_GET>url", "regex", "config/from_tree/lvs.rs:url_regex -> check/body_regex.rs (linear-time regex crate: README \"Checker regex syntax\")"),
    imp("virtual_server>real_server>HTTP_GET>url", "regex_no_match", "check/body_regex.rs:BodyMatcher::finish"),
    imp("virtual_server>real_server>HTTP_GET>url", "regex_options", "model/lvs.rs:RegexOption (caseless, multiline, dotall, extended, ungreedy, utf/ucp; no-effect names accepted; firstline, allow_empty_class, alt_* warn)"),
    imp("virtual_server>real_server>HTTP_GET>url", "regex_min_offset", "check/body_regex.rs:BodyMatcher (first offset a match may start at)"),
    imp("virtual_server>real_server>HTTP_GET>url", "regex_max_offset", "check/body_regex.rs:BodyMatcher (last offset a match may start at)"),
    equiv("virtual_server>real_server>HTTP_GET>url", "regex_stack", "PCRE2 JIT stack sizes: the linear-time engine has no JIT stack"),
    imp("virtual_server>real_server", "SSL_GET", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>SSL_GET", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>SSL_GET", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>SSL_GET", "bindto", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SSL_GET", "bind_port", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SSL_GET", "bind_if", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for"),
    imp("virtual_server>real_server>SSL_GET", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>SSL_GET", "fwmark", "lvs/plan.rs:checker_plan -> check/tcp.rs:socket_for (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>SSL_GET", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>SSL_GET", "nb_get_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>SSL_GET", "virtualhost", "lvs/plan.rs:checker_plan (Host header/SNI)"),
    imp("virtual_server>real_server>SSL_GET", "http_protocol", "lvs/plan.rs:checker_plan (HttpProtocol)"),
    imp("virtual_server>real_server>SSL_GET", "enable_sni", "lvs/plan.rs:checker_plan (sni)"),
    imp("virtual_server>real_server>SSL_GET", "fast_recovery", "lvs/plan.rs:checker_plan (Recovery::Fast) -> check/schedule.rs: the confirming check after a failure runs at once"),
    imp("virtual_server>real_server>SSL_GET", "url", "lvs/plan.rs:checker_plan -> check/http_get.rs"),
    imp("virtual_server>real_server>SSL_GET>url", "path", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>SSL_GET>url", "digest", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>SSL_GET>url", "status_code", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>SSL_GET>url", "virtualhost", "lvs/plan.rs:checker_plan (UrlSpec) -> check/http_get.rs"),
    imp("virtual_server>real_server>SSL_GET>url", "regex", "config/from_tree/lvs.rs:url_regex -> check/body_regex.rs (linear-time regex crate: README \"Checker regex syntax\")"),
    imp("virtual_server>real_server>SSL_GET>url", "regex_no_match", "check/body_regex.rs:BodyMatcher::finish"),
    imp("virtual_server>real_server>SSL_GET>url", "regex_options", "model/lvs.rs:RegexOption (caseless, multiline, dotall, extended, ungreedy, utf/ucp; no-effect names accepted; firstline, allow_empty_class, alt_* warn)"),
    imp("virtual_server>real_server>SSL_GET>url", "regex_min_offset", "check/body_regex.rs:BodyMatcher (first offset a match may start at)"),
    imp("virtual_server>real_server>SSL_GET>url", "regex_max_offset", "check/body_regex.rs:BodyMatcher (last offset a match may start at)"),
    equiv("virtual_server>real_server>SSL_GET>url", "regex_stack", "PCRE2 JIT stack sizes: the linear-time engine has no JIT stack"),
    imp("virtual_server>real_server", "DNS_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "connect_ip", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>DNS_CHECK", "connect_port", "lvs/plan.rs:checker_plan (target address)"),
    imp("virtual_server>real_server>DNS_CHECK", "bindto", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket"),
    imp("virtual_server>real_server>DNS_CHECK", "bind_port", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket"),
    imp("virtual_server>real_server>DNS_CHECK", "bind_if", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket"),
    imp("virtual_server>real_server>DNS_CHECK", "connect_timeout", "lvs/plan.rs:checker_plan (TcpTarget.timeout)"),
    imp("virtual_server>real_server>DNS_CHECK", "fwmark", "lvs/plan.rs:checker_plan -> check/udp.rs:probe_socket (SO_MARK; a mark that cannot be set fails the attempt, as keepalived)"),
    imp("virtual_server>real_server>DNS_CHECK", "retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "delay_before_retry", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "warmup", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "delay_loop", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("virtual_server>real_server>DNS_CHECK", "log_all_failures", "lvs/plan.rs:checker_plan (CheckParams.log_all_failures) -> check/schedule.rs (Action::LogFailure)"),
    imp("virtual_server>real_server>DNS_CHECK", "type", "lvs/plan.rs:checker_plan -> check/dns"),
    imp("virtual_server>real_server>DNS_CHECK", "name", "lvs/plan.rs:checker_plan -> check/dns"),
    imp("virtual_server>real_server", "FILE_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>FILE_CHECK", "track_file", "lvs/plan.rs:checker_plan (CheckSpec::File)"),
    imp("virtual_server>real_server>FILE_CHECK", "weight", "lvs/plan.rs:checker_plan (CheckSpec::File.weight)"),
    imp("virtual_server>real_server", "BFD_CHECK", "lvs/plan.rs:checker_plan -> check/runner.rs"),
    imp("virtual_server>real_server>BFD_CHECK", "name", "lvs/plan.rs:checker_plan (CheckSpec::Bfd)"),
    imp("virtual_server>real_server>BFD_CHECK", "alpha", "lvs/plan.rs:checker_plan (CheckParams) -> check/schedule.rs"),
    imp("(root)", "bfd_instance", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "source_ip", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "neighbor_ip", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "neighbour_ip", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "min_rx", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "min_tx", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "idle_tx", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "multiplier", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "passive", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "ttl", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "hoplimit", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "max_hops", "bfd/actor/mod.rs:from_config"),
    imp("bfd_instance", "weight", "vrrp/tracking.rs:track_defs (ref_weight(r, b.weight, b.reverse))"),
    unsup("bfd_instance", "vrrp", "the session also feeds checkers (BFD_CHECK), not only VRRP"),
    unsup("bfd_instance", "checker", "the session also feeds VRRP (track_bfd), not only checkers"),
    imp("(root)", "track_file", "vrrp/actor/trackers.rs -> track/file.rs:spawn_file_watcher"),
    imp("track_file", "file", "track/file.rs:WatchedFile::from_config"),
    imp("track_file", "weight", "track/priority.rs:file_weight"),
    imp("track_file", "init_file", "creates the tracked file with VALUE at start when missing (or overwrites it at start with overwrite); on reload only a missing file is created"),
    imp("(root)", "vrrp_track_file", "vrrp/actor/trackers.rs -> track/file.rs:spawn_file_watcher"),
    imp("vrrp_track_file", "file", "track/file.rs:WatchedFile::from_config"),
    imp("vrrp_track_file", "weight", "track/priority.rs:file_weight"),
    imp("vrrp_track_file", "init_file", "creates the tracked file with VALUE at start when missing (or overwrites it at start with overwrite); on reload only a missing file is created"),
    // Newer keepalived keywords (and keepalived-rs extensions) the builders also accept.
    imp_new("bfd_instance", "multihop", "multi-hop BFD (RFC 5883, port 4784): no TTL check (keepalived 2.3)"),
    imp_new("bfd_instance", "disabled", "(keepalived-rs only) the session starts administratively down"),
    imp_new("virtual_server>real_server>HTTP_GET", "sni_name", "the SNI name sent (keepalived 2.3)"),
    imp_new("virtual_server>real_server>SSL_GET", "sni_name", "the SNI name sent (keepalived 2.3)"),
    unsup_new("virtual_server>real_server>SSL_GET", "tls_compliant", "the TLS connection is closed without a close_notify alert"),
    unsup_new("virtual_server>real_server>HTTP_GET", "tls_compliant", "the TLS connection is closed without a close_notify alert"),
    unsup_new("virtual_server>real_server>SSL_GET>url", "tls_compliant", "the TLS connection is closed without a close_notify alert"),
    unsup_new("virtual_server>real_server>HTTP_GET>url", "tls_compliant", "the TLS connection is closed without a close_notify alert"),
    imp_new("global_defs", "bfd_hold_down", "(keepalived-rs only) after a BFD-driven priority drop, how long the priority stays down before it is raised again (default 1 s, 0 = off): a transient or spoofed BFD Down costs one move, not a bounce"),
    imp_new("global_defs", "json_dump_file", "dump file path for the JSON dump"),
    imp_new("global_defs", "state_dump_file", "dump file path for SIGUSR1"),
    imp_new("global_defs", "stats_dump_file", "dump file path for SIGUSR2"),
    imp_new("global_defs", "json_version", "layout of the JSON dump"),
    unsup_new("global_defs", "vrrp_delay_after_boot", "instances start at once instead of waiting the delay after boot"),
    unsup_new("global_defs", "vrrp_owner_ignore_adverts", "an address owner (priority 255) processes adverts as the RFC says"),
    unsup_new("global_defs", "vrrp_track_process_init", "a newer keepalived's keyword, not acted on: keepalived-rs always scans /proc when tracking starts"),
    unsup_new("global_defs", "dbus_no_interface_name", "no DBus interface (org.keepalived.Vrrp1) is offered"),
    unsup_new("global_defs", "snmp_vs_stats_update_interval", "KEEPALIVED-MIB's check subtree is not served by the SNMP subagent (only its global and vrrp subtrees are)"),
    unsup_new("global_defs", "snmp_rs_stats_update_interval", "KEEPALIVED-MIB's check subtree is not served by the SNMP subagent (only its global and vrrp subtrees are)"),
    unsup_new("global_defs", "set_supplementary_groups", "scripts run without the user's supplementary groups"),
    unsup_new("global_defs", "use_symlink_paths", "script paths are resolved through symbolic links for the security check"),
    unsup_new("global_defs", "iproute_usr_dir", "route table, protocol and realm names are those of iproute2's standard files"),
    unsup_new("global_defs", "iproute_etc_dir", "route table, protocol and realm names are those of iproute2's standard files"),
    unsup_new("global_defs", "v3_checksum_as_v2", "VRRPv3 checksums are computed as the RFC says (with the pseudo-header)"),
    unsup_new("vrrp_instance", "auth_hmac", "HMAC authentication (keepalived 2.4) is not supported"),
    unsup_new("vrrp_instance", "owner_ignore_adverts", "an address owner (priority 255) processes adverts as the RFC says"),
    unsup_new("vrrp_instance", "timer_expired_backup", "no special handling: an instance whose timer expires becomes MASTER as the RFC says"),
    unsup_new("vrrp_instance", "thread_timer_expired", "no special handling: an instance whose timer expires becomes MASTER as the RFC says"),
    unsup_new("vrrp_instance", "v3_checksum_as_v2", "VRRPv3 checksums are computed as the RFC says (with the pseudo-header)"),
    equiv_new("vrrp_instance", "no_virtual_ipaddress", "ignored: an instance without virtual_ipaddress already runs without VIPs"),
];

/// The registry entry of `keyword` in `block`.
pub fn lookup(block: &str, keyword: &str) -> Option<&'static Keyword> {
    KEYWORDS
        .iter()
        .find(|k| k.keyword == keyword && k.block == block)
}

/// Decides whether the builder of `block` should handle `n`: true for implemented and partial
/// keywords (a partial one gets a warning saying what is missing). Equivalent keywords are
/// accepted silently, unsupported ones get a warning with their consequence, unknown ones an
/// "unknown keyword" warning; for those three the builder does nothing (false).
pub fn accept(block: &str, n: &Node, d: &mut Diagnostics) -> bool {
    match lookup(block, &n.keyword) {
        Some(k) => match k.status {
            Status::Implemented => true,
            Status::Partial => {
                d.warning(
                    &n.loc,
                    format!(
                        "'{}' is only partly supported by keepalived-rs: {}",
                        n.keyword, k.text
                    ),
                );
                true
            }
            Status::Equivalent => false,
            Status::Unsupported => {
                d.warning(
                    &n.loc,
                    format!(
                        "'{}' is not supported by keepalived-rs: {}",
                        n.keyword, k.text
                    ),
                );
                false
            }
        },
        None => {
            d.warning(
                &n.loc,
                format!(
                    "unknown keyword '{}' in {} (ignored)",
                    n.keyword,
                    block_label(block)
                ),
            );
            false
        }
    }
}

/// How a block path is named in messages: its innermost block.
fn block_label(block: &str) -> &str {
    match block {
        "(root)" => "the top level",
        b => b.rsplit('>').next().unwrap_or(b),
    }
}

/// The registry as a table for operators (`--list-keywords`): one line per keyword,
/// `BLOCK KEYWORD STATUS TEXT`, tab-separated.
pub fn listing() -> String {
    let mut out = String::from("block\tkeyword\tstatus\tkeepalived\twhat keepalived-rs does\n");
    for k in KEYWORDS {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            k.block,
            k.keyword,
            k.status.as_str(),
            if k.in_2_2_7 { "2.2.7" } else { "newer" },
            k.text
        ));
    }
    out
}

/// The registry as a Markdown page (`docs/keywords.md`, checked by a test): one table per block.
pub fn markdown() -> String {
    let mut out = String::from(
        "# keepalived.conf keywords in keepalived-rs\n\n\
         Generated from the keyword registry (`src/config/keywords.rs`; also \
         `keepalived-rs --list-keywords`). Every keyword of keepalived 2.2.7's parsers is here, \
         with the newer ones keepalived-rs also accepts (marked *newer*).\n\n\
         - **implemented**: acted on as keepalived does (the text says what it sets);\n\
         - **partial**: acted on, with a warning at `-t`, start and reload saying what is missing;\n\
         - **equivalent**: no action is the right equivalent (the text says why); no warning;\n\
         - **unsupported**: `FILE:LINE: warning: 'KW' is not supported by keepalived-rs: ...` \
         with what is lost; nothing is stored.\n\n",
    );
    let mut counts = [0usize; 4];
    for k in KEYWORDS {
        counts[k.status as usize] += 1;
    }
    out.push_str(&format!(
        "Totals: {} implemented, {} partial, {} equivalent, {} unsupported.\n",
        counts[0], counts[1], counts[2], counts[3]
    ));
    let mut block = "";
    for k in KEYWORDS {
        if k.block != block {
            block = k.block;
            out.push_str(&format!(
                "\n## {block}\n\n| keyword | status | what keepalived-rs does |\n| --- | --- | --- |\n"
            ));
        }
        let newer = if k.in_2_2_7 { "" } else { " (*newer*)" };
        out.push_str(&format!(
            "| `{}`{newer} | {} | {} |\n",
            k.keyword,
            k.status.as_str(),
            k.text.replace('|', "\\|")
        ));
    }
    out
}
