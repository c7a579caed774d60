//! BFD sockets (RFC 5881 single hop, RFC 5883 port for `multihop`).
//!
//! - [`RxSocket`]: one UDP socket per (family, port) bound to the wildcard address on 3784
//!   (4784 for multihop), reporting the received TTL / hop limit (`IP_RECVTTL` /
//!   `IPV6_RECVHOPLIMIT`, for the GTSM check) and the destination address and interface
//!   (`IP_PKTINFO` / `IPV6_RECVPKTINFO`, for demultiplexing by address).
//! - [`TxSocket`]: one UDP socket per session, bound to the session's source address (if
//!   configured) and a source port in 49152–65535 kept for the whole session, connected to
//!   the neighbour, sending with TTL / hop limit set (255 for single hop) and precedence
//!   "internetwork control" (TOS / traffic class 0xc0), as FRR does.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;

use crate::sys::socket as rawsock;

use crate::bfd::packet::SOURCE_PORT_MIN;
use crate::bfd::timers::RandomSource;

/// Largest datagram we read (a control packet with authentication is at most 255 bytes).
const RX_BUF: usize = 512;

/// One received datagram with what demultiplexing and the GTSM check need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// UDP payload.
    pub payload: Vec<u8>,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Destination address of the packet (`IP_PKTINFO` / `IPV6_PKTINFO`), when reported.
    pub dst: Option<IpAddr>,
    /// Receiving interface index, when reported.
    pub ifindex: Option<u32>,
    /// TTL / hop limit of the packet, when reported.
    pub ttl: Option<u8>,
    /// Local UDP port it arrived on (3784 or 4784).
    pub port: u16,
}

/// The receive socket of one family and port, registered with the current tokio runtime.
#[derive(Debug)]
pub struct RxSocket {
    fd: AsyncFd<Socket>,
    port: u16,
}

impl RxSocket {
    /// Binds `0.0.0.0:port` (or `[::]:port`, IPv6 only) with TTL / hop limit and packet
    /// info reporting. Must be called inside a tokio runtime.
    pub fn open(v6: bool, port: u16) -> io::Result<RxSocket> {
        let sock = Self::socket(v6, port)?;
        let fd = rawsock::register_owned(sock)?;
        Ok(RxSocket { fd, port })
    }

    fn socket(v6: bool, port: u16) -> io::Result<Socket> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        sock.set_nonblocking(true)?;
        sock.set_reuse_address(true)?;
        let addr: SocketAddr = if v6 {
            sock.set_only_v6(true)?;
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            (Ipv6Addr::UNSPECIFIED, port).into()
        } else {
            rawsock::set_int(&sock, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
            rawsock::set_int(&sock, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
            (Ipv4Addr::UNSPECIFIED, port).into()
        };
        let _ = sock.set_recv_buffer_size(1 << 20);
        sock.bind(&SockAddr::from(addr))?;
        Ok(sock)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Receives the next datagram.
    pub async fn recv(&self) -> io::Result<Datagram> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_one(s.get_ref(), self.port)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn recv_one(sock: &Socket, port: u16) -> io::Result<Datagram> {
    let mut buf = [0u8; RX_BUF];
    let msg = rawsock::recvmsg(sock.as_raw_fd(), &mut buf)?;
    if msg.flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram larger than a BFD control packet",
        ));
    }
    let payload = buf[..msg.len].to_vec();
    // A v4-mapped source cannot occur on a V6ONLY socket, but normalise anyway.
    let src = msg
        .source()
        .map(|s| SocketAddr::new(s.ip().to_canonical(), s.port()))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    let rawsock::Ancillary {
        hops: ttl,
        dst,
        ifindex,
        ..
    } = msg.ancillary();
    Ok(Datagram {
        payload,
        src,
        dst,
        ifindex,
        ttl,
        port,
    })
}

/// The per-session send socket.
#[derive(Debug)]
pub struct TxSocket {
    sock: Socket,
    local: SocketAddr,
    peer: SocketAddr,
}

/// How many random source ports [`TxSocket::open`] tries before giving up.
const PORT_ATTEMPTS: usize = 64;

impl TxSocket {
    /// Opens a socket sending to `peer` from `source` (any address if `None`) and a source
    /// port in 49152–65535 (`preferred` first, e.g. the port of the session this one
    /// replaces, then random ones), with TTL / hop limit `ttl`.
    pub fn open(
        peer: SocketAddr,
        source: Option<IpAddr>,
        ttl: u8,
        preferred: Option<u16>,
        rng: &mut dyn RandomSource,
    ) -> io::Result<TxSocket> {
        let v6 = peer.is_ipv6();
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        sock.set_nonblocking(true)?;
        if v6 {
            sock.set_unicast_hops_v6(u32::from(ttl))?;
            rawsock::set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, 0xc0)?;
        } else {
            sock.set_ttl_v4(u32::from(ttl))?;
            sock.set_tos_v4(0xc0)?;
        }
        let ip = source.unwrap_or(if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        });
        let span = u32::from(u16::MAX - SOURCE_PORT_MIN) + 1;
        let candidates = preferred
            .filter(|p| *p >= SOURCE_PORT_MIN)
            .into_iter()
            .chain((0..PORT_ATTEMPTS).map(|_| SOURCE_PORT_MIN + (rng.next_u32() % span) as u16));
        let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free source port");
        let mut bound = false;
        for port in candidates {
            match sock.bind(&SockAddr::from(SocketAddr::new(ip, port))) {
                Ok(()) => {
                    bound = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
                Err(e) => return Err(e),
            }
        }
        if !bound {
            return Err(last);
        }
        sock.connect(&SockAddr::from(peer))?;
        let local = sock
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("socket has no local address"))?;
        Ok(TxSocket { sock, local, peer })
    }

    /// Local address and source port.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The neighbour (address, BFD port).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Sends one packet without waiting (a full buffer or an ICMP error reported by the
    /// kernel is returned; the caller counts it, the next periodic packet follows anyway).
    pub fn send(&self, payload: &[u8]) -> io::Result<()> {
        self.sock.send(payload).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::SplitMix64;

    #[test]
    fn tx_socket_uses_the_rfc5881_source_port_range_and_ttl() {
        let mut rng = SplitMix64(7);
        let peer: SocketAddr = "127.0.0.1:3784".parse().unwrap();
        let tx = TxSocket::open(
            peer,
            Some("127.0.0.1".parse().unwrap()),
            255,
            None,
            &mut rng,
        )
        .unwrap();
        assert!(tx.local().port() >= 49152, "{:?}", tx.local());
        assert_eq!(tx.sock.ttl_v4().unwrap(), 255);
        assert_eq!(tx.sock.tos_v4().unwrap(), 0xc0);
        // The preferred port is reused when free.
        let port = tx.local().port();
        drop(tx);
        let tx2 = TxSocket::open(peer, None, 254, Some(port), &mut rng).unwrap();
        assert_eq!(tx2.local().port(), port);
        assert_eq!(tx2.sock.ttl_v4().unwrap(), 254);
    }

    #[test]
    fn rx_socket_reports_ttl_and_destination() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // An unprivileged port: the options are what is tested here.
            let rx = match RxSocket::open(false, 0) {
                Ok(rx) => rx,
                Err(e) => panic!("rx socket: {e}"),
            };
            let port = rx
                .fd
                .get_ref()
                .local_addr()
                .unwrap()
                .as_socket()
                .unwrap()
                .port();
            let mut rng = SplitMix64(1);
            let peer = SocketAddr::from(([127, 0, 0, 1], port));
            let tx = TxSocket::open(peer, None, 200, None, &mut rng).unwrap();
            tx.send(b"hello").unwrap();
            let d = tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(d.payload, b"hello");
            assert_eq!(d.ttl, Some(200));
            assert_eq!(d.dst, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            // connect() fixed the source address of the unbound socket.
            assert_eq!(d.src, tx.local());
            assert!(d.ifindex.is_some());
        });
    }
}
