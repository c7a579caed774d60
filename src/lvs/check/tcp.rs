//! TCP_CHECK: a connection that completes within `connect_timeout` is a success.

use super::schedule::Outcome;
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpSocket;

/// Where and how to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpTarget {
    /// Address and port to connect to (`connect_ip`/`connect_port` or the real server's).
    pub addr: SocketAddr,
    /// Source address (`bindto`).
    pub bindto: Option<IpAddr>,
    /// Source port (`bind_port`).
    pub bind_port: Option<u16>,
    /// Interface (`bind_if`).
    pub bind_if: Option<String>,
    /// `connect_timeout`.
    pub timeout: Duration,
    /// `fwmark`: SO_MARK on the probe socket.
    pub fwmark: Option<u32>,
}

/// Opens a TCP socket bound as the target asks.
pub fn socket_for(t: &TcpTarget) -> std::io::Result<TcpSocket> {
    let domain = if t.addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    // keepalived: a mark that cannot be set fails the attempt (layer4.c: connect_error).
    if let Some(mark) = t.fwmark {
        s.set_mark(mark)?;
    }
    if let Some(ifname) = &t.bind_if {
        s.bind_device(Some(ifname.as_bytes()))?;
    }
    if t.bindto.is_some() || t.bind_port.is_some() {
        let ip = t.bindto.unwrap_or(if t.addr.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        });
        s.bind(&SockAddr::from(SocketAddr::new(
            ip,
            t.bind_port.unwrap_or(0),
        )))?;
    }
    Ok(TcpSocket::from_std_stream(s.into()))
}

/// Runs one TCP_CHECK attempt.
pub async fn check(t: &TcpTarget) -> Outcome {
    let sock = match socket_for(t) {
        Ok(s) => s,
        Err(e) => {
            return Outcome::Failure {
                reason: format!("socket: {e}"),
            }
        }
    };
    match tokio::time::timeout(t.timeout, sock.connect(t.addr)).await {
        Ok(Ok(_stream)) => Outcome::Success { weight: None },
        Ok(Err(e)) => Outcome::Failure {
            reason: format!("connect {}: {e}", t.addr),
        },
        Err(_) => Outcome::Failure {
            reason: format!("connect {}: timeout after {:?}", t.addr, t.timeout),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(addr: SocketAddr, ms: u64) -> TcpTarget {
        TcpTarget {
            addr,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_millis(ms),
        }
    }

    #[tokio::test]
    async fn up_down_and_timeout() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(
            check(&target(addr, 1000)).await,
            Outcome::Success { weight: None }
        );
        drop(l);
        assert!(matches!(
            check(&target(addr, 1000)).await,
            Outcome::Failure { .. }
        ));

        // A listener whose accept queue is full drops SYNs: the connect hangs until the timeout.
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.bind(&SockAddr::from(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        ))
        .unwrap();
        s.listen(0).unwrap();
        let addr = s.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            if let Ok(c) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                fillers.push(c);
            }
        }
        let start = std::time::Instant::now();
        let r = check(&target(addr, 300)).await;
        assert!(
            matches!(r, Outcome::Failure { ref reason } if reason.contains("timeout")),
            "{r:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
