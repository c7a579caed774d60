//! The process and its children: signals, umask, namespaces and mounts, file locks, FIFOs,
//! resource limits, the allocator, and what a script's child process does between fork and
//! exec.

use super::check;
use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Sends `sig` to process `pid` (a negative pid: its process group).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers.
    check(unsafe { libc::kill(pid, sig) })
}

/// Queues `sig` to ourselves.
pub fn raise(sig: i32) {
    // SAFETY: raise(3) takes a plain integer.
    unsafe {
        libc::raise(sig);
    }
}

/// Restores `sig`'s default disposition.
pub fn default_signal(sig: i32) {
    // SAFETY: SIG_DFL is a valid disposition for any catchable signal.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Sets the process's file creation mask.
pub fn set_umask(mask: u32) {
    // SAFETY: umask only sets the process's file creation mask.
    unsafe {
        libc::umask(mask as libc::mode_t);
    }
}

/// Moves the calling thread (and threads it starts later) into the network namespace `ns`.
pub fn enter_network_namespace(ns: &std::fs::File) -> io::Result<()> {
    // SAFETY: setns on a descriptor the caller owns; it changes only this thread's namespace.
    check(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })
}

/// As `ip netns exec`: a private mount namespace whose /sys is remounted, so that it shows
/// the current network namespace's interfaces. The process must still be single-threaded.
pub fn remount_sys_privately() -> io::Result<()> {
    // SAFETY: plain syscalls on constant C strings; the mounts only affect this process's
    // new mount namespace.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        let none = c"none".as_ptr();
        let root = c"/".as_ptr();
        let sys = c"/sys".as_ptr();
        // Our mounts must not propagate back to the host's namespace.
        check(libc::mount(
            none,
            root,
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ))?;
        check(libc::umount2(sys, libc::MNT_DETACH))?;
        check(libc::mount(
            c"sysfs".as_ptr(),
            sys,
            c"sysfs".as_ptr(),
            0,
            std::ptr::null(),
        ))?;
    }
    Ok(())
}

/// Takes an exclusive `flock(2)` on `file` without waiting.
pub fn lock_exclusive(file: &std::fs::File) -> io::Result<()> {
    // SAFETY: flock on a descriptor the caller owns.
    check(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) })
}

/// Creates a FIFO at `path` with `mode`; `Ok(false)` when something already exists there.
pub fn make_fifo(path: &Path, mode: u32) -> io::Result<bool> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    match check(unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) }) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// No limit on the size of core files.
pub fn unlimited_core() -> io::Result<()> {
    let rlim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass.
    check(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &rlim) })
}

/// At most `n` malloc arenas (glibc; elsewhere nothing). Call before other threads start.
pub fn limit_malloc_arenas(n: i32) {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes allocator tuning.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n);
    }
    #[cfg(not(target_env = "gnu"))]
    let _ = n;
}

/// Returns free heap pages to the system (glibc; elsewhere nothing).
pub fn malloc_trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Makes a script's child process, between fork and exec, take group `gid`, the
/// supplementary `groups` (when we are root) and user `uid` (each only when it differs from
/// ours), get SIGTERM when the daemon dies, and close every descriptor above stderr at exec.
pub fn run_child_as(cmd: &mut tokio::process::Command, uid: u32, gid: u32, groups: Vec<u32>) {
    // SAFETY: the closure only makes async-signal-safe calls (getuid, getgid, geteuid, setgid,
    // setgroups, setuid, prctl, syscall) on data prepared before fork.
    unsafe {
        cmd.pre_exec(move || {
            let (our_uid, our_gid) = (libc::getuid(), libc::getgid());
            if gid != our_gid && libc::setgid(gid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::geteuid() == 0 && libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if uid != our_uid && libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
            // Belt and braces: nothing above stderr survives exec (CLOSE_RANGE_CLOEXEC).
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 1u32 << 2);
            Ok(())
        });
    }
}
