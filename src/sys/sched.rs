//! Scheduling of the calling thread and of the process: nice value, SCHED_RR, CPU affinity,
//! memory locking, RLIMIT_RTTIME and the thread's name (keepalived's `*_priority`,
//! `*_rt_priority`, `*_cpu_affinity`, `*_no_swap`, `*_rlimit_rttime`).

use super::check;
use std::io;

/// Sets the nice value (-20..=19) of the calling thread only.
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: gettid has no preconditions; setpriority reads only its integer arguments. On
    // Linux PRIO_PROCESS with a thread id applies to that thread alone.
    check(unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    })
}

/// Puts the calling thread under SCHED_RR at `priority` (1..=99), reset to the normal policy
/// in children it forks (scripts), as keepalived does.
pub fn set_thread_round_robin(priority: u8) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: pid 0 = the calling thread; `param` is a live, initialised sched_param.
    check(unsafe {
        libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
    })
}

/// Restricts the calling thread to `cpus`.
pub fn set_thread_affinity(cpus: &[u16]) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data (all-zero = empty set); CPU_SET only writes inside it
    // for ids below CPU_SETSIZE (checked); pid 0 = the calling thread.
    check(unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            if usize::from(c) < libc::CPU_SETSIZE as usize {
                libc::CPU_SET(usize::from(c), &mut set);
            }
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    })
}

/// Locks the process's current and future memory (pages locked as they are touched).
pub fn lock_memory() -> io::Result<()> {
    // SAFETY: mlockall takes flags only.
    check(unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) })
}

/// RLIMIT_RTTIME: hard limit `micros`, soft limit half of it (SIGXCPU as a warning first).
pub fn set_rttime_limit(micros: u32) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::rlim_t::from(micros / 2),
        rlim_max: libc::rlim_t::from(micros),
    };
    // SAFETY: `lim` is a live, initialised rlimit.
    check(unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) })
}

/// Names the calling thread (15 bytes at most are kept; `top -H`, /proc/PID/task/TID/comm).
pub fn set_thread_name(name: &str) -> io::Result<()> {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from `buf`.
    check(unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_field(tid: i32, n: usize) -> String {
        let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // Fields after the command (which may hold spaces) start at ") ".
        let rest = &s[s.rfind(") ").unwrap() + 2..];
        rest.split(' ').nth(n - 3).unwrap().to_string()
    }

    #[test]
    fn thread_settings_apply_to_that_thread_only() {
        let main_tid = unsafe { libc::gettid() };
        let (tid, nice) = std::thread::spawn(|| {
            set_thread_name("ka-test-sched").unwrap();
            set_thread_nice(7).unwrap();
            set_thread_affinity(&[0]).unwrap();
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
            assert_eq!(comm.trim(), "ka-test-sched");
            let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
            assert!(
                status.lines().any(|l| l == "Cpus_allowed_list:\t0"),
                "{status}"
            );
            (tid, stat_field(tid, 19))
        })
        .join()
        .unwrap();
        assert_ne!(tid, main_tid);
        assert_eq!(nice, "7");
        assert_ne!(stat_field(main_tid, 19), "7");
    }
}
