//! Clocks: local broken-down time (for log and mail dates) and the monotonic clock.

/// Local time of `secs` since the epoch, as `localtime_r(3)` breaks it down; None when the
/// C library cannot.
pub fn local(secs: i64) -> Option<libc::tm> {
    let t = secs as libc::time_t;
    // SAFETY: tm is plain data (all-zero is valid); localtime_r writes into the one we own.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `strftime(3)` of `tm` with `fmt` (at most 79 bytes of output; empty on failure).
pub fn format(tm: &libc::tm, fmt: &std::ffi::CStr) -> String {
    let mut buf = [0 as libc::c_char; 80];
    // SAFETY: a sized buffer, a NUL-terminated format and a valid tm.
    let n = unsafe { libc::strftime(buf.as_mut_ptr(), buf.len(), fmt.as_ptr(), tm) };
    let bytes: Vec<u8> = buf[..n].iter().map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Now on `CLOCK_MONOTONIC`, in microseconds (0 if the clock cannot be read).
pub fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}
