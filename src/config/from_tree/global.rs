//! `global_defs { ... }`.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{
    Config, GlobalDefs, LvsFlushOnStop, LvsSyncDaemon, NotifyFifo, ProcessSched, SmtpServer,
    NFTABLES_DEFAULT_PRIORITY, NFTABLES_DEFAULT_TABLE,
};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{not_handled, span};

/// Fills `g` from the block's children.
// Long by design: one match arm per global_defs keyword, each with keepalived's recovery;
// tests/keyword_registry.rs reads these arms.
pub fn build(g: &mut GlobalDefs, children: &[Node], d: &mut Diagnostics) {
    // `*_notify_fifo_script` may come before its `*_notify_fifo`: attached after the loop.
    let mut fifo_scripts: Vec<(&'static str, &Node)> = Vec::new();
    for n in children {
        if !keywords::accept("global_defs", n, d) {
            continue;
        }
        span(&mut g.spans, n);
        match n.keyword.as_str() {
            "snmp_socket" => match (n.arg(0), n.arg(1)) {
                (_, Some(_)) => d.recover(
                    &n.loc,
                    "too many parameters specified for snmp_socket",
                    "ignoring it",
                ),
                (None, _) => d.recover(&n.loc, "snmp socket name missing", "ignoring it"),
                (Some(_), _) if g.snmp.socket.is_some() => d.recover(
                    &n.loc,
                    "SNMP socket already set",
                    "ignoring the second snmp_socket",
                ),
                (Some(s), _) => g.snmp.socket = Some(s.to_string()),
            },
            "enable_traps" => g.snmp.traps = true,
            "enable_dbus" => g.dbus.enabled = true,
            "dbus_service_name" => match n.arg(0) {
                Some(name) => g.dbus.service_name = Some(name.to_string()),
                None => d.recover(&n.loc, "dbus_service_name missing", "ignoring it"),
            },
            "enable_snmp_vrrp" | "enable_snmp_keepalived" => g.snmp.vrrp = true,
            "enable_snmp_rfc" => {
                g.snmp.rfcv2 = true;
                g.snmp.rfcv3 = true;
            }
            "enable_snmp_rfcv2" => g.snmp.rfcv2 = true,
            "enable_snmp_rfcv3" => g.snmp.rfcv3 = true,
            "enable_snmp_checker" => g.snmp.checker = true,
            "router_id" => g.router_id = v::arg(n, 0, d).map(str::to_string),
            "notification_email" => {
                g.notification_email
                    .extend(n.flat_words().into_iter().map(|(_, w)| w));
                // `notification_email addr` on one line is also seen in the wild.
                g.notification_email
                    .extend(n.arg_texts().map(str::to_string));
            }
            "notification_email_from" => {
                g.notification_email_from = v::arg(n, 0, d).map(str::to_string)
            }
            "smtp_server" => {
                if let Some(host) = v::arg(n, 0, d) {
                    let port = match n.arg(1) {
                        Some(p) => v::port(&n.loc, "smtp_server port", p, d).unwrap_or(25),
                        None => 25,
                    };
                    g.smtp_server = Some(SmtpServer {
                        host: host.to_string(),
                        port,
                    });
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = v::arg(n, 0, d).map(str::to_string),
            "smtp_connect_timeout" => {
                if let Some(t) = v::secs_arg(n, 0.0, 3600.0, d) {
                    g.smtp_connect_timeout = t;
                }
            }
            "smtp_alert" => g.smtp_alert = v::bool_arg(n, d),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = v::bool_arg(n, d),
            "script_user" => {
                g.script_user = v::script_user(n, 0);
                if g.script_user.is_none() {
                    d.error(&n.loc, "script_user needs a user name");
                }
            }
            "enable_script_security" => {
                g.enable_script_security = v::bool_arg(n, d).unwrap_or(true)
            }
            "notify_fifo" => g.notify_fifo = fifo(n, d),
            "vrrp_notify_fifo" => g.vrrp_notify_fifo = fifo(n, d),
            "lvs_notify_fifo" => g.lvs_notify_fifo = fifo(n, d),
            "notify_fifo_script" => fifo_scripts.push(("notify_fifo", n)),
            "vrrp_notify_fifo_script" => fifo_scripts.push(("vrrp_notify_fifo", n)),
            "lvs_notify_fifo_script" => fifo_scripts.push(("lvs_notify_fifo", n)),
            "vrrp_notify_priority_changes" => {
                if let Some(b) = v::bool_arg(n, d) {
                    g.vrrp_notify_priority_changes = b;
                }
            }
            "startup_script" => start_stop_script(&mut g.startup_script, n, d),
            "shutdown_script" => start_stop_script(&mut g.shutdown_script, n, d),
            // keepalived: whole seconds in [1, 1000]; a bad value is ignored.
            "startup_script_timeout" => {
                if let Some(t) = v::int_arg::<u64>(n, 1, 1000, d) {
                    g.startup_script_timeout = std::time::Duration::from_secs(t);
                }
            }
            "shutdown_script_timeout" => {
                if let Some(t) = v::int_arg::<u64>(n, 1, 1000, d) {
                    g.shutdown_script_timeout = std::time::Duration::from_secs(t);
                }
            }
            "vrrp_mcast_group4" => {
                if let Some(a) = v::ip_arg(n, d) {
                    if a.is_ipv4() && a.is_multicast() {
                        g.vrrp_mcast_group4 = a;
                    } else {
                        d.bad_value(
                            &n.loc,
                            format!("vrrp_mcast_group4: {a} is not an IPv4 multicast address"),
                        );
                    }
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(a) = v::ip_arg(n, d) {
                    if a.is_ipv6() && a.is_multicast() {
                        g.vrrp_mcast_group6 = a;
                    } else {
                        d.bad_value(
                            &n.loc,
                            format!("vrrp_mcast_group6: {a} is not an IPv6 multicast address"),
                        );
                    }
                }
            }
            "vrrp_version" => {
                if let Some(x) = v::int_arg::<u8>(n, 2, 3, d) {
                    g.vrrp_version = x;
                }
            }
            "vrrp_garp_master_delay" => {
                if let Some(t) = v::secs_arg(n, 0.0, 255.0, d) {
                    g.vrrp_garp_master_delay = t;
                }
            }
            // keepalived-rs only (issue #19): see GlobalDefs::bfd_hold_down.
            "bfd_hold_down" => {
                if let Some(t) = v::secs_arg(n, 0.0, 3600.0, d) {
                    g.bfd_hold_down = t;
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(x) = v::int_arg::<u32>(n, 0, 255, d) {
                    g.vrrp_garp_master_repeat = x;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                g.vrrp_garp_lower_prio_delay = v::secs_arg(n, 0.0, 255.0, d)
            }
            "vrrp_garp_lower_prio_repeat" => {
                g.vrrp_garp_lower_prio_repeat = v::int_arg::<u32>(n, 0, 255, d)
            }
            "vrrp_garp_master_refresh" => {
                g.vrrp_garp_master_refresh = v::secs_arg(n, 0.0, 1e6, d).filter(|t| !t.is_zero());
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(x) = v::int_arg::<u32>(n, 1, 255, d) {
                    g.vrrp_garp_master_refresh_repeat = x;
                }
            }
            // keepalived: 0.001 s up to UINT_MAX µs; an invalid value is reported and the
            // delay stays as it was.
            "vrrp_startup_delay" => {
                if let Some(t) = v::secs_arg(n, 0.001, 4294.967295, d) {
                    g.vrrp_startup_delay = t;
                }
            }
            "vrrp_garp_interval" => {
                if let Some(t) = v::secs_arg(n, 0.0, 1.0, d) {
                    g.vrrp_garp_interval = t;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(t) = v::secs_arg(n, 0.0, 1.0, d) {
                    g.vrrp_gna_interval = t;
                }
            }
            "vrrp_min_garp" => g.vrrp_min_garp = v::bool_arg(n, d).unwrap_or(true),
            "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = v::bool_arg(n, d),
            "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = v::bool_arg(n, d),
            "vrrp_down_timer_adverts" => {
                if let Some(x) = v::int_arg::<u8>(n, 1, 100, d) {
                    g.vrrp_down_timer_adverts = x;
                }
            }
            "vrrp_skip_check_adv_addr" => {
                g.vrrp_skip_check_adv_addr = v::bool_arg(n, d).unwrap_or(true)
            }
            "vrrp_strict" => g.vrrp_strict = v::bool_arg(n, d).unwrap_or(true),
            // keepalived 2.2.7 (Debian's build has nftables, not iptables): both set the table
            // name and reset the chain priority to -1.
            "vrrp_iptables" => {
                d.warning(
                    &n.loc,
                    "'vrrp_iptables' is handled as 'nftables' (as keepalived 2.2.7 built without \
                     iptables, Debian's, does): please replace it with 'nftables'",
                );
                g.nftables = Some(NFTABLES_DEFAULT_TABLE.to_string());
                g.nftables_priority = NFTABLES_DEFAULT_PRIORITY;
            }
            "nftables" => {
                let name = n.arg(0).unwrap_or(NFTABLES_DEFAULT_TABLE);
                if g.nftables.is_some() {
                    d.warning(&n.loc, "nftables already specified - ignoring");
                } else if name.len() >= 256 {
                    d.warning(&n.loc, "nftables table name too long - ignoring");
                } else {
                    g.nftables = Some(name.to_string());
                    g.nftables_priority = NFTABLES_DEFAULT_PRIORITY;
                }
            }
            "nftables_priority" => {
                if let Some(p) = v::int_arg(n, i32::MIN, i32::MAX, d) {
                    g.nftables_priority = p;
                }
            }
            "nftables_ifindex" => g.nftables_ifindex = true,
            "nftables_counters" => g.nftables_counters = true,
            "vrrp_check_unicast_src" => {
                g.vrrp_check_unicast_src = v::bool_arg(n, d).unwrap_or(true)
            }
            // keepalived: without a name, "default_interface requires interface name" and
            // the keyword is ignored.
            "default_interface" => {
                if let Some(p) = v::arg(n, 0, d) {
                    g.default_interface = Some(p.to_string());
                }
            }
            "vmac_prefix" => {
                if let Some(p) = v::arg(n, 0, d) {
                    g.vmac_prefix = p.to_string();
                }
            }
            "lvs_flush" => g.lvs_flush = v::bool_arg(n, d).unwrap_or(true),
            "checker_log_all_failures" => {
                if let Some(b) = v::bool_arg(n, d) {
                    g.checker_log_all_failures = b;
                }
            }
            "lvs_flush_on_stop" | "lvs_flush_onstop" => match n.arg(0) {
                None => g.lvs_flush_on_stop = LvsFlushOnStop::Full,
                Some("VS") => g.lvs_flush_on_stop = LvsFlushOnStop::Vs,
                Some(x) => d.recover(
                    &n.loc,
                    format!("unknown {} type {x}", n.keyword),
                    "ignoring the keyword",
                ),
            },
            "lvs_timeouts" => lvs_timeouts(g, n, d),
            "lvs_sync_daemon" => lvs_sync_daemon(g, n, d),
            "state_dump_file" => g.state_dump_file = v::arg(n, 0, d).map(str::to_string),
            "stats_dump_file" => g.stats_dump_file = v::arg(n, 0, d).map(str::to_string),
            "json_dump_file" => g.json_dump_file = v::arg(n, 0, d).map(str::to_string),
            "no_email_faults" => g.no_email_faults = true,
            "json_version" => {
                if let Some(x) = v::int_arg::<u8>(n, 1, 2, d) {
                    g.json_version = x;
                }
            }
            k @ ("vrrp_priority" | "vrrp_no_swap" | "vrrp_rt_priority" | "vrrp_rlimit_rttime"
            | "vrrp_rlimit_rtime" | "vrrp_cpu_affinity") => {
                sched("vrrp", &mut g.vrrp_sched, k, n, d)
            }
            k @ ("checker_priority"
            | "checker_no_swap"
            | "checker_rt_priority"
            | "checker_rlimit_rttime"
            | "checker_rlimit_rtime"
            | "checker_cpu_affinity") => sched("checker", &mut g.checker_sched, k, n, d),
            k @ ("bfd_priority" | "bfd_no_swap" | "bfd_rt_priority" | "bfd_rlimit_rttime"
            | "bfd_rlimit_rtime" | "bfd_cpu_affinity") => sched("bfd", &mut g.bfd_sched, k, n, d),
            _ => not_handled(n, d),
        }
    }
    for (fifo_kw, n) in fifo_scripts {
        let target = match fifo_kw {
            "notify_fifo" => &mut g.notify_fifo,
            "vrrp_notify_fifo" => &mut g.vrrp_notify_fifo,
            _ => &mut g.lvs_notify_fifo,
        };
        match target {
            Some(f) if f.script.is_some() => d.warning(
                &n.loc,
                format!("{} already specified - ignoring this one", n.keyword),
            ),
            Some(f) => f.script = v::script(n, d),
            // keepalived keeps it but never starts it (no FIFO to read).
            None => d.warning(
                &n.loc,
                format!("{} without {fifo_kw}: the script is not started", n.keyword),
            ),
        }
    }
}

/// `startup_script` / `shutdown_script`: keepalived takes the first one given.
fn start_stop_script(
    slot: &mut Option<crate::config::model::ScriptSpec>,
    n: &Node,
    d: &mut Diagnostics,
) {
    if slot.is_some() {
        d.warning(
            &n.loc,
            format!("{} already specified - ignoring this one", n.keyword),
        );
        return;
    }
    *slot = v::script(n, d);
}

fn fifo(n: &Node, d: &mut Diagnostics) -> Option<NotifyFifo> {
    let path = v::arg(n, 0, d)?.to_string();
    Some(NotifyFifo {
        path,
        user: v::script_user(n, 1),
        script: None,
    })
}

/// One scheduling keyword (`{process}_{what}`), with keepalived 2.2.7's checks and recoveries
/// (global_parser.c `get_priority`, `get_realtime_priority`, `get_rt_rlimit`,
/// `get_cpu_affinity`).
fn sched(process: &str, s: &mut ProcessSched, k: &str, n: &Node, d: &mut Diagnostics) {
    let what = &k[process.len() + 1..];
    if what == "priority" {
        // -20..=19; keepalived resets a missing or bad value to 0 (not changed).
        s.nice = match n.arg(0).map(|t| v::read_number(t, -20, 19)) {
            Some(Ok(x)) => x as i8,
            Some(Err(_)) => {
                let p = format!("Invalid {process} process priority specified");
                d.recover(&n.loc, p, "not changing it");
                0
            }
            None => {
                let p = format!("No {process} process priority specified");
                d.recover(&n.loc, p, "not changing it");
                0
            }
        };
    } else if what == "no_swap" {
        s.no_swap = true;
    } else if what == "rt_priority" {
        // SCHED_RR's range (1..=99): out of range is clamped, a bad value ignored.
        let Some(t) = n.arg(0) else {
            let p = format!("No {process} process real-time priority specified");
            d.recover(&n.loc, p, "ignoring the keyword");
            return;
        };
        match v::read_number(t, i128::from(i32::MIN), i128::from(i32::MAX)) {
            Ok(x) if x < 1 => {
                let p = format!("{process} process real-time priority {x} less than minimum 1");
                d.recover(&n.loc, p, "setting to minimum");
                s.rt_priority = Some(1);
            }
            Ok(x) if x > 99 => {
                let p = format!("{process} process real-time priority {x} greater than maximum 99");
                d.recover(&n.loc, p, "setting to maximum");
                s.rt_priority = Some(99);
            }
            Ok(x) => s.rt_priority = Some(x as u8),
            Err(_) => {
                let p = format!("{process} process real-time priority '{t}' invalid");
                d.recover(&n.loc, p, "ignoring the keyword");
            }
        }
    } else if what.starts_with("rlimit_") {
        // 1..=u32::MAX microseconds (1 is raised to 2: the soft limit is half); the old
        // spelling `*_rlimit_rtime` is read too, as keepalived does.
        let t = n.arg(0).unwrap_or("");
        match v::read_number(t, 1, i128::from(u32::MAX)) {
            Ok(x) => s.rlimit_rttime = Some((x as u32).max(2)),
            Err(_) => {
                s.rlimit_rttime = None;
                let p = format!("Invalid {process} real-time limit - {t}");
                d.recover(&n.loc, p, "no limit");
            }
        }
    } else {
        // cpu_affinity: CPU ids below the online count; any bad id clears the whole set.
        s.cpu_affinity.clear();
        let words: Vec<&str> = n.arg_texts().collect();
        if words.is_empty() {
            let p = format!("No {process} cpu_id set specified");
            d.recover(&n.loc, p, "no CPU affinity");
            return;
        }
        let online = std::thread::available_parallelism().map_or(1, |c| c.get()) as i128;
        let mut set = Vec::new();
        for w in words {
            match v::read_number(w, 0, online - 1) {
                Ok(c) => set.push(c as u16),
                Err(_) => {
                    let p = format!("Invalid cpu_id:{w} specified for {process} process");
                    d.recover(&n.loc, p, "no CPU affinity");
                    return;
                }
            }
        }
        set.sort_unstable();
        set.dedup();
        s.cpu_affinity = set;
    }
}

/// keepalived's `LVS_MAX_TIMEOUT` (31 days).
const LVS_MAX_TIMEOUT: u32 = 86400 * 31;

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`: each bad part is ignored, as keepalived does.
fn lvs_timeouts(g: &mut GlobalDefs, n: &Node, d: &mut Diagnostics) {
    let words: Vec<&str> = n.arg_texts().collect();
    if words.len() < 2 {
        d.recover(
            &n.loc,
            "lvs_timeouts requires at least one option",
            "ignoring the keyword",
        );
        return;
    }
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        // (if/else, not a match: the registry test reads `"word" =>` arms as keywords)
        let slot = if w == "tcp" {
            &mut g.lvs_timeouts.tcp
        } else if w == "tcpfin" {
            &mut g.lvs_timeouts.tcp_fin
        } else if w == "udp" {
            &mut g.lvs_timeouts.udp
        } else {
            d.recover(
                &n.loc,
                format!("unknown option {w} specified for lvs_timeouts"),
                "ignoring it",
            );
            i += 1;
            continue;
        };
        match words.get(i + 1) {
            None => d.recover(
                &n.loc,
                format!("no value specified for lvs_timeouts {w}"),
                "ignoring it",
            ),
            Some(v) => {
                let what = format!("lvs_timeouts {w}");
                if let Some(x) = d.with_recovery("ignoring it", |d| {
                    v::int_in(&n.loc, &what, v, 0, LVS_MAX_TIMEOUT, d)
                }) {
                    *slot = x;
                }
            }
        }
        i += 2;
    }
}

/// `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`,
/// with keepalived's older positional form `IFACE INSTANCE [SYNCID]`.
// Long by design: one arm per option of the line, each with keepalived's own recovery
// (global_parser.c `lvs_syncd_handler`), in its order.
fn lvs_sync_daemon(g: &mut GlobalDefs, n: &Node, d: &mut Diagnostics) {
    if let Some(s) = &g.lvs_sync_daemon {
        d.recover(
            &n.loc,
            format!("lvs_sync_daemon has already been specified as {}", s.ifname),
            "ignoring this one",
        );
        return;
    }
    let words: Vec<&str> = n.arg_texts().collect();
    let Some(ifname) = words.first() else {
        d.recover(
            &n.loc,
            "lvs_sync_daemon requires interface",
            "ignoring the keyword",
        );
        return;
    };
    if ifname.len() >= crate::ipvs::settings::IP_VS_IFNAME_MAXLEN {
        d.recover(
            &n.loc,
            format!("lvs_sync_daemon interface name '{ifname}' too long"),
            "ignoring the keyword",
        );
        return;
    }
    let mut s = LvsSyncDaemon {
        ifname: ifname.to_string(),
        instance: None,
        syncid: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 1;
    while i < words.len() {
        let w = words[i];
        let val = words.get(i + 1).copied();
        let num = |what: &str, min: u32, max: u32, recovery: &str, d: &mut Diagnostics| {
            let Some(x) = val else {
                d.recover(
                    &n.loc,
                    format!("no value specified for lvs_sync_daemon {what}"),
                    recovery,
                );
                return None;
            };
            let label = format!("lvs_sync_daemon {what}");
            d.with_recovery(recovery, |d| v::int_in(&n.loc, &label, x, min, max, d))
        };
        // Tuple arms: the registry test reads `"word" =>` arms as keywords.
        match (w, i) {
            ("inst", _) => {
                match (val, &s.instance) {
                    (Some(_), Some(prev)) => d.recover(
                        &n.loc,
                        format!(
                            "lvs_sync_daemon vrrp instance has already been specified as {prev}"
                        ),
                        "ignoring this one",
                    ),
                    (Some(x), None) => s.instance = Some(x.to_string()),
                    (None, _) => d.recover(
                        &n.loc,
                        "no value specified for lvs_sync_daemon inst",
                        "ignoring it",
                    ),
                }
                i += 2;
            }
            ("id", _) => {
                if let Some(x) = num("id", 0, 255, "defaulting to the VRID", d) {
                    s.syncid = Some(x as u8);
                }
                i += 2;
            }
            ("maxlen", _) => {
                if let Some(x) = num("maxlen", 1, 65535 - 20 - 8, "ignoring it", d) {
                    s.maxlen = Some(x as u16);
                }
                i += 2;
            }
            ("port", _) => {
                if let Some(x) = num("port", 1, 65535, "ignoring it", d) {
                    s.port = Some(x as u16);
                }
                i += 2;
            }
            ("ttl", _) => {
                if let Some(x) = num("ttl", 1, 255, "ignoring it", d) {
                    s.ttl = Some(x as u8);
                }
                i += 2;
            }
            ("group", _) => {
                match val.map(|x| (x, x.parse::<std::net::IpAddr>())) {
                    None => d.recover(
                        &n.loc,
                        "no value specified for lvs_sync_daemon group",
                        "ignoring it",
                    ),
                    Some((x, Err(_))) => d.recover(
                        &n.loc,
                        format!("invalid lvs_sync_daemon group ({x})"),
                        "ignoring it",
                    ),
                    Some((x, Ok(a))) if !a.is_multicast() => d.recover(
                        &n.loc,
                        format!("lvs_sync_daemon group address {x} is not multicast"),
                        "ignoring it",
                    ),
                    Some((_, Ok(a))) => s.group = Some(a),
                }
                i += 2;
            }
            // keepalived's older form: `lvs_sync_daemon IFACE INSTANCE [SYNCID]`.
            (_, 1) => {
                s.instance = Some(w.to_string());
                i += 1;
            }
            (_, 2) => {
                let label = "lvs_sync_daemon SYNCID";
                if let Some(x) = d.with_recovery("defaulting to the VRID", |d| {
                    v::int_in(&n.loc, label, w, 0u32, 255, d)
                }) {
                    d.recover(
                        &n.loc,
                        "please use keyword \"id\" before lvs_sync_daemon SYNCID",
                        format!("using sync id {x}"),
                    );
                    s.syncid = Some(x as u8);
                }
                i += 1;
            }
            _ => {
                d.recover(
                    &n.loc,
                    format!("unknown option {w} specified for lvs_sync_daemon"),
                    "ignoring it",
                );
                i += 1;
            }
        }
    }
    g.lvs_sync_daemon = Some(s);
}

/// A `vrrp_instance`'s deprecated `lvs_sync_daemon_interface IFACE`: the sync daemon follows
/// that instance (unless `lvs_sync_daemon` was given before).
pub fn instance_sync_daemon(g: &mut GlobalDefs, instance: &str, n: &Node, d: &mut Diagnostics) {
    let Some(ifname) = v::arg(n, 0, d) else {
        return;
    };
    if let Some(s) = &g.lvs_sync_daemon {
        d.recover(
            &n.loc,
            format!(
                "({instance}) lvs_sync_daemon_interface has already been specified as {}",
                s.ifname
            ),
            "ignoring this one",
        );
        return;
    }
    g.spans.set("lvs_sync_daemon", &n.loc);
    g.lvs_sync_daemon = Some(LvsSyncDaemon {
        ifname: ifname.to_string(),
        instance: Some(instance.to_string()),
        syncid: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    });
}

/// After the whole file: an `lvs_sync_daemon` naming an instance that does not exist is
/// dropped (keepalived: "... for lvs_syncd - clearing lvs_syncd config"); the sync id defaults
/// to the instance's VRID (0 without an instance).
pub fn resolve_sync_daemon(cfg: &mut Config, d: &mut Diagnostics) {
    let Some(s) = cfg.global.lvs_sync_daemon.as_mut() else {
        return;
    };
    let Some(name) = s.instance.clone() else {
        s.syncid.get_or_insert(0);
        return;
    };
    match cfg.instances.iter().find(|i| i.name == name) {
        Some(i) => {
            s.syncid.get_or_insert(i.vrid);
        }
        None => {
            if let Some(loc) = cfg.global.spans.get("lvs_sync_daemon").cloned() {
                d.recover(
                    &loc,
                    format!("unable to find vrrp instance {name} for lvs_sync_daemon"),
                    "clearing the lvs_sync_daemon configuration",
                );
            }
            cfg.global.lvs_sync_daemon = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, LoadOptions};
    use std::time::Duration;

    #[test]
    fn start_stop_scripts_and_fifo_scripts_in_any_order() {
        let l = load_str(
            "g.conf",
            "global_defs {\n vrrp_notify_fifo_script \"/bin/r.sh a\"\n vrrp_notify_fifo /run/f\n \
             startup_script /bin/s.sh\n startup_script /bin/other\n shutdown_script_timeout 3\n \
             startup_script_timeout 0\n notify_fifo_script /bin/x\n vrrp_notify_priority_changes\n}\n",
            &LoadOptions::default(),
        );
        let g = &l.config.global;
        let f = g.vrrp_notify_fifo.as_ref().expect("fifo");
        assert_eq!(
            f.script.as_ref().map(|s| s.argv.clone()),
            Some(vec!["/bin/r.sh".to_string(), "a".into()])
        );
        assert_eq!(
            g.startup_script.as_ref().map(|s| s.command.as_str()),
            Some("/bin/s.sh")
        );
        // keepalived: 0 is out of [1, 1000] and ignored (default 10 s).
        assert_eq!(g.startup_script_timeout, Duration::from_secs(10));
        assert_eq!(g.shutdown_script_timeout, Duration::from_secs(3));
        assert!(g.shutdown_script.is_none());
        assert!(g.vrrp_notify_priority_changes);
        let text: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        let has = |line: usize, what: &str| {
            text.iter()
                .any(|t| t.starts_with(&format!("g.conf:{line}:")) && t.contains(what))
        };
        assert!(has(5, "already specified"), "{text:#?}");
        assert!(has(8, "without notify_fifo"), "{text:#?}");
    }

    fn diags(l: &crate::config::Loaded) -> Vec<String> {
        l.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn lvs_timeouts_and_flush_on_stop_as_keepalived_reads_them() {
        use crate::config::model::{LvsFlushOnStop, LvsTimeouts};
        let l = load_str(
            "g.conf",
            "global_defs {\n lvs_timeouts tcp 7200 udp 50 bogus tcpfin\n lvs_flush_onstop VS\n}\n",
            &LoadOptions::default(),
        );
        let g = &l.config.global;
        assert_eq!(
            g.lvs_timeouts,
            LvsTimeouts {
                tcp: 7200,
                tcp_fin: 0,
                udp: 50
            }
        );
        assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::Vs);
        let text = diags(&l);
        assert!(
            text.iter()
                .any(|t| t.starts_with("g.conf:2:") && t.contains("unknown option bogus")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("g.conf:2:")
                && t.contains("no value specified for lvs_timeouts tcpfin")),
            "{text:#?}"
        );
        assert!(!l.diagnostics.has_errors());
        let l = load_str(
            "g.conf",
            "global_defs {\n lvs_timeouts tcp 2678401\n lvs_timeouts\n lvs_flush_on_stop\n}\n",
            &LoadOptions::default(),
        );
        assert_eq!(l.config.global.lvs_timeouts, LvsTimeouts::default());
        assert_eq!(l.config.global.lvs_flush_on_stop, LvsFlushOnStop::Full);
        let text = diags(&l);
        assert!(
            text.iter()
                .any(|t| t.starts_with("g.conf:2:") && t.contains("out of range")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("g.conf:3:") && t.contains("requires at least one option")),
            "{text:#?}"
        );
        let l = load_str(
            "g.conf",
            "global_defs {\n lvs_flush_on_stop ALL\n}\n",
            &LoadOptions::default(),
        );
        assert_eq!(l.config.global.lvs_flush_on_stop, LvsFlushOnStop::No);
        assert!(diags(&l)
            .iter()
            .any(|t| t.contains("unknown lvs_flush_on_stop type ALL")));
    }

    const VI: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";

    #[test]
    fn lvs_sync_daemon_forms() {
        use crate::config::model::LvsSyncDaemon;
        let l = load_str(
            "s.conf",
            &format!("global_defs {{\n lvs_sync_daemon eth1 VI_1 id 9 maxlen 1400 port 8850 ttl 2 group 224.0.0.90\n}}\n{VI}"),
            &LoadOptions::default(),
        );
        assert_eq!(
            l.config.global.lvs_sync_daemon,
            Some(LvsSyncDaemon {
                ifname: "eth1".into(),
                instance: Some("VI_1".into()),
                syncid: Some(9),
                maxlen: Some(1400),
                port: Some(8850),
                ttl: Some(2),
                group: Some("224.0.0.90".parse().unwrap()),
            })
        );
        assert_eq!(diags(&l), Vec::<String>::new());
        // `inst`, the sync id defaulting to the VRID, a group that is not multicast ignored.
        let l = load_str(
            "s.conf",
            &format!("global_defs {{\n lvs_sync_daemon eth1 inst VI_1 group 10.1.1.1\n}}\n{VI}"),
            &LoadOptions::default(),
        );
        let s = l.config.global.lvs_sync_daemon.clone().unwrap();
        assert_eq!(
            (s.instance.as_deref(), s.syncid, s.group),
            (Some("VI_1"), Some(51), None)
        );
        assert!(diags(&l)
            .iter()
            .any(|t| t.starts_with("s.conf:2:") && t.contains("is not multicast")));
        // The old positional sync id, with keepalived's advice.
        let l = load_str(
            "s.conf",
            &format!("global_defs {{\n lvs_sync_daemon eth1 VI_1 7\n}}\n{VI}"),
            &LoadOptions::default(),
        );
        assert_eq!(
            l.config.global.lvs_sync_daemon.as_ref().unwrap().syncid,
            Some(7)
        );
        assert!(diags(&l)
            .iter()
            .any(|t| t.contains("please use keyword \"id\"")));
        // Without an instance: both daemons, sync id 0.
        let l = load_str(
            "s.conf",
            "global_defs {\n lvs_sync_daemon eth1\n}\n",
            &LoadOptions::default(),
        );
        let s = l.config.global.lvs_sync_daemon.clone().unwrap();
        assert_eq!((s.instance, s.syncid), (None, Some(0)));
        // An unknown instance clears the configuration, as keepalived does.
        let l = load_str(
            "s.conf",
            &format!("global_defs {{\n lvs_sync_daemon eth1 VI_9\n}}\n{VI}"),
            &LoadOptions::default(),
        );
        assert_eq!(l.config.global.lvs_sync_daemon, None);
        assert!(
            diags(&l)
                .iter()
                .any(|t| t.starts_with("s.conf:2:")
                    && t.contains("unable to find vrrp instance VI_9"))
        );
        // The deprecated instance keyword, and a second definition ignored.
        let l = load_str(
            "s.conf",
            "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n lvs_sync_daemon_interface eth2\n virtual_ipaddress {\n  10.0.0.2\n }\n}\nglobal_defs {\n lvs_sync_daemon eth1\n}\n",
            &LoadOptions::default(),
        );
        let s = l.config.global.lvs_sync_daemon.clone().unwrap();
        assert_eq!(
            (s.ifname.as_str(), s.instance.as_deref(), s.syncid),
            ("eth2", Some("VI_2"), Some(52))
        );
        assert!(diags(&l)
            .iter()
            .any(|t| t.starts_with("s.conf:10:") && t.contains("already been specified as eth2")));
        let l = load_str(
            "s.conf",
            "global_defs {\n lvs_sync_daemon eth1234567890abcd VI_1\n}\n",
            &LoadOptions::default(),
        );
        assert!(l.config.global.lvs_sync_daemon.is_none());
        assert!(diags(&l).iter().any(|t| t.contains("too long")));
    }
}
