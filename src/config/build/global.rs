//! `global_defs { ... }`.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{GlobalDefs, NotifyFifo, SmtpServer};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{not_handled, span};

/// Fills `g` from the block's children.
pub fn build(g: &mut GlobalDefs, children: &[Node], d: &mut Diagnostics) {
    // `*_notify_fifo_script` may come before its `*_notify_fifo`: attached after the loop.
    let mut fifo_scripts: Vec<(&'static str, &Node)> = Vec::new();
    for n in children {
        if !keywords::accept("global_defs", n, d) {
            continue;
        }
        span(&mut g.spans, n);
        match n.keyword.as_str() {
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
                g.nftables = Some(crate::firewall::model::DEFAULT_TABLE.to_string());
                g.nftables_priority = crate::firewall::model::DEFAULT_PRIORITY;
            }
            "nftables" => {
                let name = n.arg(0).unwrap_or(crate::firewall::model::DEFAULT_TABLE);
                if g.nftables.is_some() {
                    d.warning(&n.loc, "nftables already specified - ignoring");
                } else if name.len() >= 256 {
                    d.warning(&n.loc, "nftables table name too long - ignoring");
                } else {
                    g.nftables = Some(name.to_string());
                    g.nftables_priority = crate::firewall::model::DEFAULT_PRIORITY;
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
            "vmac_prefix" => {
                if let Some(p) = v::arg(n, 0, d) {
                    g.vmac_prefix = p.to_string();
                }
            }
            "lvs_flush" => g.lvs_flush = v::bool_arg(n, d).unwrap_or(true),
            "lvs_flush_on_stop" => g.lvs_flush_on_stop = true,
            "state_dump_file" => g.state_dump_file = v::arg(n, 0, d).map(str::to_string),
            "stats_dump_file" => g.stats_dump_file = v::arg(n, 0, d).map(str::to_string),
            "json_dump_file" => g.json_dump_file = v::arg(n, 0, d).map(str::to_string),
            "no_email_faults" => g.no_email_faults = true,
            "json_version" => {
                if let Some(x) = v::int_arg::<u8>(n, 1, 2, d) {
                    g.json_version = x;
                }
            }
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
}
