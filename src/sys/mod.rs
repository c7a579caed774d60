//! The small FFI wrappers the rest of the daemon calls instead of `libc` directly, each with
//! its SAFETY argument: [`socket`] (setsockopt, recvmsg/sendmsg with ancillary data, reactor
//! registration), [`process`] (signals, namespaces, locks, limits, a script's child before
//! exec), [`sched`] (thread and process scheduling), [`user`] (ids, passwd and group
//! lookups), [`time`] (local time, the monotonic clock) and the host and interface names.
#![allow(unsafe_code)]

pub mod process;
pub mod sched;
pub mod socket;
pub mod time;
pub mod user;

/// The host name (`gethostname(2)`), or `None` when it cannot be read or is not UTF-8.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end])
        .ok()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A libc call's `-1` as the error in `errno`.
fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The interface index of `name` (`if_nametoindex(3)`; 0 when there is none).
pub fn if_index(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostname_matches_the_kernels() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(super::hostname().as_deref(), Some(kernel.trim()));
    }
}
