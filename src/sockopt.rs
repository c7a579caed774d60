//! `setsockopt(2)` for the options socket2 does not wrap (raw VRRP sockets, BFD's receive
//! reporting, the GARP/NA senders, the netlink monitor's buffer).

use std::io;
use std::os::fd::AsRawFd;

/// Sets option `name` at `level` on `sock` to `value` (passed by pointer with its size, as the
/// option's C type expects: `T` must be that type, e.g. `c_int` or `ip_mreqn`).
pub fn set<T: Copy>(sock: &impl AsRawFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: a pointer to a live `T` and exactly its size; the kernel only reads from it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets an integer option (the common case: flags, sizes, hop limits).
pub fn set_int(sock: &impl AsRawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    set(sock, level, name, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_reports_errors() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_int(&sock, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).unwrap();
        let mut v: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: live int and its size.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        };
        assert_eq!((rc, v), (0, 1));
        // An option the kernel does not know is refused, and reported.
        let e = set_int(&sock, libc::SOL_SOCKET, i32::MAX, 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOPROTOOPT));
    }
}
