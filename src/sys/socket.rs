//! The raw socket calls the socket-owning modules share, so that the protocols themselves
//! carry `#![forbid(unsafe_code)]`: `setsockopt(2)` for the options socket2 does not wrap (raw
//! VRRP sockets, BFD's receive reporting, the GARP/NA senders, the netlink monitor's buffer),
//! `recvmsg(2)` with the source address and the ancillary data decoded ([`Ancillary`]: hop
//! limit / TTL, receive time, packet info), `sendmsg(2)` from a chosen source address
//! ([`send_from`]), and registering sockets with tokio's reactor ([`register_owned`],
//! [`register_borrowed`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;

/// Registers an owned socket with the current tokio runtime's reactor.
pub fn register_owned(sock: socket2::Socket) -> io::Result<AsyncFd<socket2::Socket>> {
    // SAFETY: the AsyncFd owns the socket: its descriptor stays open, and `as_raw_fd` returns
    // the same one, until the AsyncFd is dropped or gives the socket back.
    unsafe { AsyncFd::register(sock) }.map_err(io::Error::from)
}

/// Registers a borrowed descriptor with the current tokio runtime's reactor, for as long as
/// the borrow lasts (the AsyncFd cannot outlive the socket it borrows).
pub fn register_borrowed(fd: BorrowedFd<'_>) -> io::Result<AsyncFd<BorrowedFd<'_>>> {
    // SAFETY: a BorrowedFd is open for its whole lifetime 'a, and the returned AsyncFd carries
    // the same lifetime, so it is deregistered before the descriptor can be closed.
    unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)
}

/// An `AF_PACKET` raw socket that only sends (protocol 0: it receives nothing), non-blocking.
pub fn packet_sender() -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2) call; the fd is checked, then owned.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Sends the Ethernet `frame` (EtherType `ethertype`) out of `ifindex` to the link-layer
/// broadcast address on a [`packet_sender`] socket; returns the bytes sent.
pub fn send_broadcast_frame(
    sock: &impl AsRawFd,
    ifindex: u32,
    ethertype: u16,
    frame: &[u8],
) -> io::Result<usize> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex"))?;
    // SAFETY: sockaddr_ll is plain data (all-zero is valid); the buffer and the address
    // describe live memory of the given lengths.
    let n = unsafe {
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        libc::sendto(
            sock.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            libc::MSG_DONTWAIT,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sends `payload` to `dst` from source address `src` on interface `ifindex` (IP_PKTINFO /
/// IPV6_PKTINFO), so an unbound socket still sends from the chosen address. The scope of an
/// IPv6 multicast or link-local destination is `ifindex`.
pub fn send_from(
    sock: &impl AsRawFd,
    payload: &[u8],
    src: IpAddr,
    dst: IpAddr,
    ifindex: u32,
) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr, sockaddr and pktinfo structs are plain data (all-zero is valid); every
    // pointer refers to a live local of the given size; the control buffer (64 bytes, aligned
    // for cmsghdr) holds one CMSG_SPACE of either pktinfo.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        let mut sin6: libc::sockaddr_in6 = std::mem::zeroed();
        match (src, dst) {
            (IpAddr::V4(s4), IpAddr::V4(d4)) => {
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_addr.s_addr = u32::from(d4).to_be();
                msg.msg_name = (&mut sin as *mut libc::sockaddr_in).cast();
                msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                let info = libc::in_pktinfo {
                    ipi_ifindex: ifindex as i32,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(s4).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                put_cmsg(&mut msg, libc::IPPROTO_IP, libc::IP_PKTINFO, info);
            }
            (IpAddr::V6(s6), IpAddr::V6(d6)) => {
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_addr.s6_addr = d6.octets();
                if d6.is_multicast() || (d6.segments()[0] & 0xffc0) == 0xfe80 {
                    sin6.sin6_scope_id = ifindex;
                }
                msg.msg_name = (&mut sin6 as *mut libc::sockaddr_in6).cast();
                msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: s6.octets(),
                    },
                    ipi6_ifindex: ifindex,
                };
                put_cmsg(&mut msg, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info);
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination families differ",
                ))
            }
        }
        if libc::sendmsg(fd, &msg, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Writes one control message holding `value` at the start of `msg`'s control buffer.
///
/// # Safety
/// `msg.msg_control` must point to a live buffer, aligned for `cmsghdr`, of at least
/// `CMSG_SPACE(size_of::<T>())` bytes.
unsafe fn put_cmsg<T: Copy>(msg: &mut libc::msghdr, level: i32, kind: i32, value: T) {
    let size = std::mem::size_of::<T>() as u32;
    // SAFETY: upheld by the caller: the buffer holds the header and the data.
    unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(size) as _;
        let c = libc::CMSG_FIRSTHDR(msg);
        (*c).cmsg_level = level;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(size) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), value);
    }
}

/// The ancillary data of a received datagram the protocols ask for, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ancillary {
    /// IP_TTL (IPv4) or IPV6_HOPLIMIT (IPv6).
    pub hops: Option<u8>,
    /// SCM_TIMESTAMPNS: the kernel's receive time (wall clock, since the epoch).
    pub stamp: Option<Duration>,
    /// IP_PKTINFO / IPV6_PKTINFO: the destination address.
    pub dst: Option<IpAddr>,
    /// IP_PKTINFO / IPV6_PKTINFO: the receiving interface.
    pub ifindex: Option<u32>,
}

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

/// Room for the ancillary data (aligned for `cmsghdr`): a timestamp, a hop limit and a packet
/// info fit several times over.
const CONTROL_WORDS: usize = 32;

/// One datagram read by [`recvmsg`] into the caller's buffer.
pub struct Message {
    /// Bytes received into the buffer.
    pub len: usize,
    /// `msg_flags` (e.g. `MSG_TRUNC`).
    pub flags: i32,
    name: libc::sockaddr_storage,
    control: [u64; CONTROL_WORDS],
    control_len: usize,
}

/// Receives one datagram on `fd` into `buf`, with its source address and ancillary data.
pub fn recvmsg(fd: RawFd, buf: &mut [u8]) -> io::Result<Message> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; every pointer refers to a live local buffer of the given size.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg is fully initialised above.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Message {
        len: n as usize,
        flags: msg.msg_flags,
        name,
        control,
        control_len: msg.msg_controllen as usize,
    })
}

impl Message {
    /// The sender's address and port (an IPv4-mapped IPv6 address as it came).
    pub fn source(&self) -> Option<SocketAddr> {
        let ss = &self.name;
        match i32::from(ss.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin: &libc::sockaddr_in =
                    unsafe { &*(ss as *const libc::sockaddr_storage).cast() };
                Some(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                    u16::from_be(sin.sin_port),
                ))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6: &libc::sockaddr_in6 =
                    unsafe { &*(ss as *const libc::sockaddr_storage).cast() };
                Some(SocketAddr::new(
                    IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)),
                    u16::from_be(sin6.sin6_port),
                ))
            }
            _ => None,
        }
    }

    /// Each control message the kernel filled in: (level, type, data).
    fn cmsgs(&self) -> impl Iterator<Item = (i32, i32, &[u8])> + '_ {
        // SAFETY: msghdr is plain data; only the control fields are set, to our buffer and the
        // length the kernel reported, which is all CMSG_FIRSTHDR / CMSG_NXTHDR read.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = self.control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = self.control_len as _;
        let start = self.control.as_ptr() as usize;
        let end = start + self.control_len.min(std::mem::size_of_val(&self.control));
        // SAFETY: msg describes the filled part of our control buffer.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        std::iter::from_fn(move || {
            if c.is_null() {
                return None;
            }
            // SAFETY: CMSG_FIRSTHDR / CMSG_NXTHDR return headers inside the control buffer;
            // the data slice is clamped to the buffer's filled part.
            unsafe {
                let data = libc::CMSG_DATA(c);
                let header = libc::CMSG_LEN(0) as usize;
                let len = ((*c).cmsg_len as usize)
                    .saturating_sub(header)
                    .min(end.saturating_sub(data as usize));
                let item = (
                    (*c).cmsg_level,
                    (*c).cmsg_type,
                    std::slice::from_raw_parts(data, len),
                );
                c = libc::CMSG_NXTHDR(&msg, c);
                Some(item)
            }
        })
    }
}

impl Message {
    /// The hop limit / TTL, receive time and packet info in the ancillary data.
    pub fn ancillary(&self) -> Ancillary {
        let mut a = Ancillary::default();
        for (level, kind, data) in self.cmsgs() {
            match (level, kind) {
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    // SAFETY: the kernel's IP_TTL / IPV6_HOPLIMIT data is a c_int.
                    let v: Option<i32> = unsafe { cmsg_value(data) };
                    a.hops = v.and_then(|v| u8::try_from(v).ok());
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                    // SAFETY: the kernel's SCM_TIMESTAMPNS data is a timespec.
                    let t: Option<libc::timespec> = unsafe { cmsg_value(data) };
                    a.stamp = t.and_then(|t| {
                        u64::try_from(t.tv_sec)
                            .ok()
                            .zip(u32::try_from(t.tv_nsec).ok())
                            .map(|(s, ns)| Duration::new(s, ns))
                    });
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    // SAFETY: the kernel's IP_PKTINFO data is an in_pktinfo.
                    let info: Option<libc::in_pktinfo> = unsafe { cmsg_value(data) };
                    if let Some(info) = info {
                        a.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            info.ipi_addr.s_addr,
                        ))));
                        a.ifindex = u32::try_from(info.ipi_ifindex).ok();
                    }
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    // SAFETY: the kernel's IPV6_PKTINFO data is an in6_pktinfo.
                    let info: Option<libc::in6_pktinfo> = unsafe { cmsg_value(data) };
                    if let Some(info) = info {
                        a.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                        a.ifindex = Some(info.ipi6_ifindex);
                    }
                }
                _ => {}
            }
        }
        a
    }
}

/// The value of type `T` at the start of control message data, if it is that long.
///
/// # Safety
/// `T` must be plain data for which any bytes are a valid value: the type the kernel documents
/// for the message (`c_int`, `timespec`, `in_pktinfo`, ...).
unsafe fn cmsg_value<T: Copy>(data: &[u8]) -> Option<T> {
    // SAFETY: size_of::<T>() bytes are read, unaligned, from a live slice at least that long;
    // the caller vouches for T.
    (data.len() >= std::mem::size_of::<T>())
        .then(|| unsafe { std::ptr::read_unaligned(data.as_ptr().cast::<T>()) })
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

    #[test]
    fn receives_data_source_and_ancillary_data() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_int(&rx, libc::IPPROTO_IP, libc::IP_RECVTTL, 1).unwrap();
        set_int(&rx, libc::IPPROTO_IP, libc::IP_PKTINFO, 1).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.set_ttl(77).unwrap();
        tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 64];
        let m = recvmsg(rx.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..m.len], b"hello");
        assert_eq!(m.flags & libc::MSG_TRUNC, 0);
        assert_eq!(m.source(), Some(tx.local_addr().unwrap()));
        let mut ttl = None;
        let mut dst = None;
        for (level, kind, data) in m.cmsgs() {
            match (level, kind) {
                // SAFETY: IP_TTL data is a c_int, IP_PKTINFO data an in_pktinfo.
                (libc::IPPROTO_IP, libc::IP_TTL) => ttl = unsafe { cmsg_value::<i32>(data) },
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    dst = unsafe { cmsg_value::<libc::in_pktinfo>(data) }
                        .map(|i| Ipv4Addr::from(u32::from_be(i.ipi_addr.s_addr)))
                }
                _ => {}
            }
        }
        assert_eq!(ttl, Some(77));
        assert_eq!(dst, Some(Ipv4Addr::LOCALHOST));
        // Too short for the type asked: nothing.
        assert_eq!(unsafe { cmsg_value::<u64>(&[1, 2, 3]) }, None);
    }
}
