//! PING_CHECK: one ICMP / ICMPv6 echo request; a matching echo reply within the timeout is a
//! success. Raw sockets (the daemon runs as root, like keepalived).

use super::schedule::Outcome;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// The Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request (type 8 for IPv4, 128 for IPv6; the kernel fills the ICMPv6 checksum).
pub fn echo_request(v6: bool, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// True when `icmp` (IP header stripped) is the echo reply to (id, seq).
pub fn is_reply(v6: bool, icmp: &[u8], id: u16, seq: u16) -> bool {
    icmp.len() >= 8
        && icmp[0] == if v6 { 129 } else { 0 }
        && u16::from_be_bytes([icmp[4], icmp[5]]) == id
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
}

/// Runs one PING_CHECK attempt.
pub async fn check(target: IpAddr, timeout: Duration, id: u16, seq: u16) -> Outcome {
    let v6 = target.is_ipv6();
    let open = || -> std::io::Result<AsyncFd<Socket>> {
        let s = if v6 {
            Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?
        } else {
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?
        };
        s.set_nonblocking(true)?;
        crate::sys::socket::register_owned(s)
    };
    let work = async {
        let fd = open().map_err(|e| format!("ICMP socket: {e}"))?;
        let pkt = echo_request(v6, id, seq, b"keepalived-rs");
        let dst = SockAddr::from(SocketAddr::new(target, 0));
        fd.get_ref()
            .send_to(&pkt, &dst)
            .map_err(|e| format!("send to {target}: {e}"))?;
        let mut buf = [0u8; 1500];
        loop {
            let mut g = fd.readable().await.map_err(|e| e.to_string())?;
            let r = g.try_io(|s| {
                crate::sys::socket::recvmsg(std::os::fd::AsRawFd::as_raw_fd(s.get_ref()), &mut buf)
            });
            let Ok(res) = r else { continue };
            let m = res.map_err(|e| e.to_string())?;
            let data = &buf[..m.len.min(buf.len())];
            let from_ip = m.source().map(|s| s.ip());
            if from_ip != Some(target) {
                continue;
            }
            let icmp = if v6 {
                data
            } else {
                let ihl = usize::from(data.first().copied().unwrap_or(0) & 0x0f) * 4;
                data.get(ihl..).unwrap_or(&[])
            };
            if is_reply(v6, icmp, id, seq) {
                return Ok(());
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(())) => Outcome::Success { weight: None },
        Ok(Err(reason)) => Outcome::Failure { reason },
        Err(_) => Outcome::Failure {
            reason: format!("no echo reply from {target} within {timeout:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksum_is_valid() {
        let p = echo_request(false, 0x1234, 1, b"abc");
        assert_eq!(checksum(&p), 0);
        assert!(is_reply(false, &[0, 0, 0, 0, 0x12, 0x34, 0, 1], 0x1234, 1));
        assert!(!is_reply(false, &[0, 0, 0, 0, 0x12, 0x34, 0, 2], 0x1234, 1));
        assert!(!is_reply(true, &[0, 0], 1, 1));
    }

    #[tokio::test]
    async fn loopback_answers() {
        if crate::sys::user::euid() != 0 {
            eprintln!("SKIP: raw ICMP needs root");
            return;
        }
        let r = check(
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(1),
            0x4b41,
            7,
        )
        .await;
        assert_eq!(r, Outcome::Success { weight: None });
    }
}
