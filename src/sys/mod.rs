//! The small FFI wrappers the rest of the daemon calls instead of `libc` directly, each with
//! its SAFETY argument: [`socket`] (setsockopt, recvmsg/sendmsg with ancillary data, reactor
//! registration), [`sched`] (thread and process scheduling) and the host name.

pub mod sched;
pub mod socket;

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

#[cfg(test)]
mod tests {
    #[test]
    fn hostname_matches_the_kernels() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(super::hostname().as_deref(), Some(kernel.trim()));
    }
}
