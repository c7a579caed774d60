//! keepalived's process scheduling settings (`vrrp_priority`, `vrrp_no_swap`,
//! `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_cpu_affinity` and their `checker_` / `bfd_`
//! twins). keepalived applies them to its VRRP, checker and BFD child processes; keepalived-rs
//! is one process whose work is split the same way over threads (one arbiter per domain), so
//! it applies them to those threads: VRRP's to the VRRP and netlink threads (keepalived's VRRP
//! process installs its own addresses), the checkers' to the checker thread, BFD's to the BFD
//! thread. Memory locking and RLIMIT_RTTIME are per process: any `*_no_swap` locks the whole
//! daemon; the largest configured `*_rlimit_rttime` of a real-time domain is the limit.
//! Applied once at start, like keepalived's children at their start.

use crate::config::model::{GlobalDefs, ProcessSched};
use crate::runtime::{Arbiters, Domain};
use crate::sys::sched as sys;

/// The thread settings to apply per domain (pure: what [`apply`] does).
pub fn plan(g: &GlobalDefs) -> Vec<(Domain, &'static str, ProcessSched)> {
    vec![
        (Domain::Vrrp, "ka-vrrp", g.vrrp_sched.clone()),
        (Domain::Netlink, "ka-netlink", g.vrrp_sched.clone()),
        (Domain::Checkers, "ka-checker", g.checker_sched.clone()),
        (Domain::Bfd, "ka-bfd", g.bfd_sched.clone()),
    ]
}

/// The RLIMIT_RTTIME of the process: the largest limit of the domains that run real-time.
pub fn rttime_limit(g: &GlobalDefs) -> Option<u32> {
    [&g.vrrp_sched, &g.checker_sched, &g.bfd_sched]
        .iter()
        .filter(|s| s.rt_priority.is_some())
        .filter_map(|s| s.rlimit_rttime)
        .max()
}

/// Names each domain's thread and applies its settings on it; locks memory and sets the
/// real-time limit for the process. Failures are logged as keepalived logs them, never fatal.
pub fn apply(arbiters: &Arbiters, g: &GlobalDefs) {
    for (domain, name, s) in plan(g) {
        arbiters.get(domain).spawn_fn(move || on_thread(name, &s));
    }
    if [&g.vrrp_sched, &g.checker_sched, &g.bfd_sched]
        .iter()
        .any(|s| s.no_swap)
    {
        if let Err(e) = sys::lock_memory() {
            tracing::info!("Unable to lock process in memory - {e}");
        }
    }
    if let Some(limit) = rttime_limit(g) {
        // keepalived logs SIGXCPU (the soft limit, half the hard one) instead of dying of it.
        arbiters.get(Domain::Control).spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut xcpu) = signal(SignalKind::from_raw(libc::SIGXCPU)) else {
                return;
            };
            if let Err(e) = sys::set_rttime_limit(limit) {
                tracing::warn!("cannot set realtime rlimit - {e}");
            }
            while xcpu.recv().await.is_some() {
                tracing::warn!(
                    "SIGXCPU: a real-time thread used half of its RLIMIT_RTTIME ({limit} us) without blocking"
                );
            }
        });
    }
}

/// On the domain's own thread: name, then keepalived's order (real-time priority, else nice),
/// then CPU affinity.
fn on_thread(name: &str, s: &ProcessSched) {
    let _ = sys::set_thread_name(name);
    if let Some(p) = s.rt_priority {
        if let Err(e) = sys::set_thread_round_robin(p) {
            tracing::warn!("{name}: cannot raise priority to SCHED_RR {p} - {e}");
        }
    } else if s.nice != 0 {
        if let Err(e) = sys::set_thread_nice(i32::from(s.nice)) {
            tracing::info!("Unable to set {name} priority to {} - {e}", s.nice);
        }
    }
    if !s.cpu_affinity.is_empty() {
        if let Err(e) = sys::set_thread_affinity(&s.cpu_affinity) {
            tracing::warn!("unable to set cpu affinity of {name} ({e})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrp_settings_go_to_the_vrrp_and_netlink_threads() {
        let mut g = GlobalDefs::default();
        g.vrrp_sched.nice = -5;
        g.checker_sched.cpu_affinity = vec![1];
        let p = plan(&g);
        let of = |d: Domain| p.iter().find(|(x, ..)| *x == d).unwrap().2.clone();
        assert_eq!(of(Domain::Vrrp).nice, -5);
        assert_eq!(of(Domain::Netlink).nice, -5);
        assert_eq!(of(Domain::Checkers).cpu_affinity, vec![1]);
        assert!(of(Domain::Bfd).is_default());
    }

    #[test]
    fn the_rttime_limit_is_the_largest_of_the_real_time_domains() {
        let mut g = GlobalDefs::default();
        g.vrrp_sched.rlimit_rttime = Some(5000);
        // Not real-time: keepalived only sets the limit with a real-time priority.
        assert_eq!(rttime_limit(&g), None);
        g.vrrp_sched.rt_priority = Some(10);
        g.bfd_sched.rt_priority = Some(20);
        g.bfd_sched.rlimit_rttime = Some(9000);
        assert_eq!(rttime_limit(&g), Some(9000));
    }
}
