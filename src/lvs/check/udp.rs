//! UDP_CHECK: send `payload`; with `require_reply` a reply must match the hex pattern (`X` is a
//! wildcard nibble) within the length limits; without it, silence is success and an ICMP port
//! unreachable (ECONNREFUSED on a connected socket) is failure — keepalived's rule.

use super::schedule::Outcome;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

/// What to send and expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpSpec {
    /// Target.
    pub addr: SocketAddr,
    /// Payload bytes (default: empty datagram).
    pub payload: Vec<u8>,
    /// Hex pattern the reply must match (`X` = any nibble).
    pub require_reply: Option<String>,
    /// Minimum reply length.
    pub min_len: usize,
    /// Maximum reply length.
    pub max_len: usize,
    /// `connect_timeout`.
    pub timeout: Duration,
    /// `bindto`, `bind_port`, `bind_if` (DNS_CHECK only, as keepalived) and `fwmark`.
    pub source: Source,
}

/// True when `reply` matches the hex `pattern` (prefix match, `X`/`x` any nibble).
pub fn matches(pattern: &str, reply: &[u8]) -> bool {
    let nibbles: Vec<char> = pattern.chars().filter(|c| !c.is_whitespace()).collect();
    if nibbles.len() > reply.len() * 2 {
        return false;
    }
    nibbles.iter().enumerate().all(|(i, c)| {
        let byte = reply[i / 2];
        let nib = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        match c {
            'X' | 'x' => true,
            c => c.to_digit(16) == Some(u32::from(nib)),
        }
    })
}

/// Where a UDP probe comes from: the checker's `bindto`, `bind_port`, `bind_if`, `fwmark`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK).
    pub fwmark: Option<u32>,
}

/// A UDP probe socket for `dst` from `src`; as keepalived's udp_bind_connect and
/// socket_bind_connect, a mark or address that cannot be set fails the attempt.
pub fn probe_socket(dst: SocketAddr, src: &Source) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let (domain, any) = if dst.is_ipv4() {
        (Domain::IPV4, IpAddr::from([0, 0, 0, 0]))
    } else {
        (Domain::IPV6, IpAddr::from([0u16; 8]))
    };
    let s = Socket::new(domain, Type::DGRAM, None)?;
    s.set_nonblocking(true)?;
    if let Some(mark) = src.fwmark {
        s.set_mark(mark)?;
    }
    if let Some(ifname) = &src.bind_if {
        s.bind_device(Some(ifname.as_bytes()))?;
    }
    let local = SocketAddr::new(src.bindto.unwrap_or(any), src.bind_port.unwrap_or(0));
    s.bind(&local.into())?;
    UdpSocket::from_std(s.into())
}

/// Runs one UDP_CHECK attempt.
pub async fn check(spec: &UdpSpec) -> Outcome {
    let s = match probe_socket(spec.addr, &spec.source) {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Failure {
                reason: format!("socket: {e}"),
            }
        }
    };
    if let Err(e) = s.connect(spec.addr).await {
        return Outcome::Failure {
            reason: format!("connect {}: {e}", spec.addr),
        };
    }
    if let Err(e) = s.send(&spec.payload).await {
        return Outcome::Failure {
            reason: format!("send to {}: {e}", spec.addr),
        };
    }
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(spec.timeout, s.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            let reply = &buf[..n];
            if n < spec.min_len || n > spec.max_len {
                return Outcome::Failure {
                    reason: format!(
                        "reply length {n} outside {}..{}",
                        spec.min_len, spec.max_len
                    ),
                };
            }
            match &spec.require_reply {
                Some(p) if !matches(p, reply) => Outcome::Failure {
                    reason: "reply does not match require_reply".into(),
                },
                _ => Outcome::Success { weight: None },
            }
        }
        Ok(Err(e)) => Outcome::Failure {
            reason: format!("{}: {e}", spec.addr),
        },
        Err(_) if spec.require_reply.is_some() => Outcome::Failure {
            reason: format!("no reply from {}", spec.addr),
        },
        Err(_) => Outcome::Success { weight: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern() {
        assert!(matches("4142", b"AB"));
        assert!(matches("41X2", b"AB"));
        assert!(matches("41", b"ABC"));
        assert!(!matches("4143", b"AB"));
        assert!(!matches("414243", b"AB"));
    }

    #[tokio::test]
    async fn echo_and_refused() {
        let srv = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 100];
            while let Ok((n, from)) = srv.recv_from(&mut b) {
                let _ = srv.send_to(&b[..n], from);
            }
        });
        let mut spec = UdpSpec {
            addr,
            payload: b"AB".to_vec(),
            require_reply: Some("4142".into()),
            min_len: 0,
            max_len: 255,
            timeout: Duration::from_millis(500),
            source: Source::default(),
        };
        assert_eq!(check(&spec).await, Outcome::Success { weight: None });
        spec.require_reply = Some("4242".into());
        assert!(matches!(check(&spec).await, Outcome::Failure { .. }));
        // Nobody listening: ICMP port unreachable -> failure.
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        spec.addr = closed;
        spec.require_reply = None;
        assert!(matches!(check(&spec).await, Outcome::Failure { .. }));
    }
}
