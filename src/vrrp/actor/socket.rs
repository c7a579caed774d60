//! VRRP sockets: raw IP protocol 112 for IPv4 and IPv6, multicast (224.0.0.18 / ff02::12, joined
//! on the instance's interface only) or unicast, TTL / hop limit 255 on send, and the received
//! TTL / hop limit reported so the receive checks can drop anything not 255.
//!
//! `auth_type AH` instances (VRRPv2, IPv4) use a raw IP protocol 51 socket instead, as
//! keepalived does (its socket pool is keyed by protocol too): it receives whole datagrams
//! (header and AH are needed for the ICV) and sends datagrams we build ourselves
//! (IP_HDRINCL: the ICV covers the IP header's identification, TTL and addresses).

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::unix::AsyncFd;

use crate::sys::socket as rawsock;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// IP protocol number of the Authentication Header.
pub const IPPROTO_AH: i32 = 51;

/// How an instance's socket is set up.
#[derive(Clone, Debug)]
pub struct SocketConfig {
    /// Interface name (bound with SO_BINDTODEVICE).
    pub ifname: String,
    /// Interface index (multicast membership and egress).
    pub ifindex: u32,
    /// Source address to bind (unicast_src_ip / mcast_src_ip / the interface's primary address).
    pub src: Option<IpAddr>,
    /// Multicast group to join; `None` for unicast-only instances.
    pub group: Option<IpAddr>,
    /// TTL / hop limit for unicast sends (keepalived: 255 unless `unicast_ttl`).
    pub unicast_ttl: u8,
    /// `auth_type AH`: a protocol-51 socket with IP_HDRINCL (IPv4 only).
    pub ah: bool,
}

/// A received VRRP packet with what the receive checks need.
#[derive(Clone, Debug)]
pub struct Received {
    /// Source address.
    pub src: IpAddr,
    /// Destination address when known (IPv4 header), else `None`.
    pub dst: Option<IpAddr>,
    /// TTL (IPv4 header) or hop limit (IPV6_HOPLIMIT ancillary data); `None` when unknown.
    pub ttl: Option<u8>,
    /// The VRRP message (IPv4 header stripped); on an AH socket the whole IPv4 datagram
    /// (header, AH, VRRP).
    pub payload: Vec<u8>,
    /// When the kernel received it (else when it was read).
    pub at: Instant,
}

/// An open VRRP socket. Sends never wait (a full buffer drops the advert); receiving goes
/// through a [`Receiver`].
pub struct VrrpSocket {
    sock: Socket,
    v6: bool,
    ah: bool,
}

/// The socket registered with the runtime for receiving. Dropping it takes the socket out of
/// the runtime's epoll set: arrivals no longer wake the thread (see the VRRP pool's
/// receive loop, which pauses this way while a burst of adverts queues up).
pub struct Receiver<'a> {
    fd: AsyncFd<std::os::fd::BorrowedFd<'a>>,
    v6: bool,
    ah: bool,
}

impl VrrpSocket {
    /// Opens and configures the socket for one instance (IPv4 or IPv6 by the group / source).
    pub fn open(cfg: &SocketConfig, v6: bool) -> io::Result<Self> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let ah = cfg.ah && !v6;
        let proto = if ah { IPPROTO_AH } else { IPPROTO_VRRP };
        let sock = Socket::new(domain, Type::RAW, Some(Protocol::from(proto)))?;
        sock.set_nonblocking(true)?;
        sock.bind_device(Some(cfg.ifname.as_bytes()))?;
        if v6 {
            sock.set_multicast_hops_v6(255)?;
            sock.set_unicast_hops_v6(u32::from(cfg.unicast_ttl))?;
            sock.set_multicast_loop_v6(false)?;
            sock.set_multicast_if_v6(cfg.ifindex)?;
            // The kernel computes the VRRPv3 checksum (offset 6) on send and verifies it on receive.
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6)?;
            // Report the hop limit of received packets (checked == 255).
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
            // Only deliver groups this socket joined.
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_ALL, 0)?;
            if let Some(IpAddr::V6(src)) = cfg.src {
                let scope = if is_link_local_v6(&src) {
                    cfg.ifindex
                } else {
                    0
                };
                sock.bind(&SockAddr::from(std::net::SocketAddrV6::new(
                    src, 0, 0, scope,
                )))?;
            }
        } else {
            sock.set_multicast_ttl_v4(255)?;
            sock.set_ttl_v4(u32::from(cfg.unicast_ttl))?;
            sock.set_multicast_loop_v4(false)?;
            sock.set_multicast_all_v4(false)?;
            // RFC 5798: IP precedence "internetwork control".
            sock.set_tos_v4(0xc0)?;
            set_multicast_ifindex_v4(&sock, cfg.ifindex)?;
            if ah {
                // We build the IP header (TTL, TOS and ID included: the ICV covers them).
                sock.set_header_included_v4(true)?;
            }
            if let Some(IpAddr::V4(src)) = cfg.src {
                sock.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(src), 0)))?;
            }
        }
        // Room for bursts of adverts from many routers.
        let _ = sock.set_recv_buffer_size(1 << 20);
        // Kernel receive times: an advert read late (a burst is drained at once) still
        // times the master-down timer from its arrival.
        let _ = rawsock::set_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
        Ok(Self { sock, v6, ah })
    }

    /// Registers the socket with the runtime for receiving.
    pub fn receiver(&self) -> io::Result<Receiver<'_>> {
        use std::os::fd::AsFd;
        let fd = rawsock::register_borrowed(self.sock.as_fd())?;
        Ok(Receiver {
            fd,
            v6: self.v6,
            ah: self.ah,
        })
    }

    /// Joins another multicast group on `ifindex`.
    pub fn join(&self, group: IpAddr, ifindex: u32) -> io::Result<()> {
        match group {
            IpAddr::V4(g) => self
                .sock
                .join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex)),
            IpAddr::V6(g) => self.sock.join_multicast_v6(&g, ifindex),
        }
    }

    /// Sends from a chosen source address (IP_PKTINFO / IPV6_PKTINFO), so an unbound socket
    /// that receives multicast still sends from the primary / link-local address. On an AH
    /// socket `payload` is the whole IPv4 datagram (its header names the source).
    pub fn try_send_from(
        &self,
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ifindex: u32,
    ) -> io::Result<()> {
        rawsock::send_from(&self.sock, payload, src, dst, ifindex)
    }
}

impl Receiver<'_> {
    /// Waits until a message is queued, then hands each queued message (read into `buf`,
    /// no allocation) to `f`, until none is left or [`MAX_BATCH`] were read; returns how many.
    /// Malformed IP headers reach `f` as errors of kind `InvalidData`.
    pub async fn recv_all(
        &self,
        buf: &mut [u8],
        mut f: impl FnMut(io::Result<RecvMeta>, &[u8]),
    ) -> io::Result<usize> {
        let mut guard = self.fd.readable().await?;
        let mut n = 0;
        while n < MAX_BATCH {
            match guard.try_io(|s| recv_into(s.get_ref().as_raw_fd(), self.v6, self.ah, buf)) {
                Ok(Err(e)) if e.kind() != io::ErrorKind::InvalidData => return Err(e),
                Ok(r) => {
                    n += 1;
                    f(r, buf);
                }
                Err(_would_block) => break,
            }
        }
        Ok(n)
    }
}

/// IP_MULTICAST_IF by interface index (socket2 only takes an address).
fn set_multicast_ifindex_v4(sock: &Socket, ifindex: u32) -> io::Result<()> {
    let mreq = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as i32,
    };
    rawsock::set(sock, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)
}

/// Messages [`Receiver::recv_all`] reads before it lets other tasks run (a flood must not
/// starve the instances sharing the thread).
pub const MAX_BATCH: usize = 256;

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Where a received VRRP message sits in the receive buffer, and what the checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvMeta {
    /// Source address.
    pub src: IpAddr,
    /// Destination (IPv4 header), else `None`.
    pub dst: Option<IpAddr>,
    /// TTL / hop limit, if known.
    pub ttl: Option<u8>,
    /// VRID of the VRRP message (for the demultiplexer), if long enough.
    pub vrid: Option<u8>,
    /// The VRRP message (AH socket: the whole datagram) is `buf[start..end]`.
    pub start: usize,
    /// End of the message.
    pub end: usize,
    /// When the kernel received it (else when it was read).
    pub at: Instant,
}

impl RecvMeta {
    /// The owned form, copying the message out of `buf`.
    pub fn to_received(self, buf: &[u8]) -> Received {
        Received {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            payload: buf.get(self.start..self.end).unwrap_or_default().to_vec(),
            at: self.at,
        }
    }
}

/// Receives one datagram into `buf` (no allocation).
fn recv_into(fd: std::os::fd::RawFd, v6: bool, ah: bool, buf: &mut [u8]) -> io::Result<RecvMeta> {
    let msg = rawsock::recvmsg(fd, buf)?;
    let n = msg.len.min(buf.len());
    let data = &buf[..n];
    let rawsock::Ancillary {
        hops: hop_limit,
        stamp,
        ..
    } = msg.ancillary();
    let at = arrival(stamp, Instant::now(), SystemTime::now());
    if v6 {
        let src = msg
            .source()
            .map(|s| s.ip())
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        Ok(RecvMeta {
            src,
            dst: None,
            ttl: hop_limit,
            vrid: data.get(1).copied(),
            start: 0,
            end: n,
            at,
        })
    } else {
        // Raw IPv4 sockets deliver the IP header.
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "truncated IPv4 header");
        let first = *data.first().ok_or_else(bad)?;
        let ihl = usize::from(first & 0x0f) * 4;
        if ihl < 20 || data.len() < ihl {
            return Err(bad());
        }
        let src = Ipv4Addr::new(data[12], data[13], data[14], data[15]);
        let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
        let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
        // Ethernet padding may follow the datagram; the IP total length says where VRRP ends.
        let end = if total >= ihl && total <= data.len() {
            total
        } else {
            data.len()
        };
        // VRID: the second byte of VRRP, after the AH on an AH socket (which hands the whole
        // datagram on: the ICV covers the header).
        let (start, vrid_at) = if ah {
            (0, ihl + crate::vrrp::ah::AH_LEN + 1)
        } else {
            (ihl, ihl + 1)
        };
        Ok(RecvMeta {
            src: IpAddr::V4(src),
            dst: Some(IpAddr::V4(dst)),
            ttl: Some(data[8]),
            vrid: data.get(..end).and_then(|d| d.get(vrid_at)).copied(),
            start,
            end,
            at,
        })
    }
}

/// The monotonic instant of a kernel receive time `stamp` (wall clock since the epoch),
/// given the two clocks read now. The age is bounded to [0, 1 s], so a wall-clock step can
/// move an arrival by at most that, and never into the future.
fn arrival(stamp: Option<Duration>, now: Instant, wall: SystemTime) -> Instant {
    let Some(stamp) = stamp else { return now };
    let wall = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    let age = wall.saturating_sub(stamp).min(Duration::from_secs(1));
    now.checked_sub(age).unwrap_or(now)
}

#[cfg(test)]
mod arrival_tests {
    use super::*;

    #[test]
    fn kernel_time_becomes_a_monotonic_instant_bounded_in_age() {
        let now = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |stamp: Duration| arrival(Some(stamp), now, wall);
        // 1.5 ms before the read.
        assert_eq!(
            at(Duration::from_secs(1_000_000) - Duration::from_micros(1500)),
            now - Duration::from_micros(1500)
        );
        // A stamp "from the future" (wall clock stepped back): the read time.
        assert_eq!(at(Duration::from_secs(1_000_001)), now);
        // A stamp from long ago (wall clock stepped forward): at most 1 s old.
        assert_eq!(at(Duration::from_secs(10)), now - Duration::from_secs(1));
        assert_eq!(arrival(None, now, wall), now);
    }
}
