//! DNS_CHECK: one UDP query (`type`, `name`); a matching answer with RCODE NOERROR and at least
//! one answer record is a success.

use super::schedule::Outcome;
use std::net::SocketAddr;
use std::time::Duration;

/// The numeric type of a record name keepalived accepts.
pub fn qtype(name: &str) -> Option<u16> {
    Some(match name {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "RRSIG" => 46,
        "DNSKEY" => 48,
        _ => return None,
    })
}

/// Encodes a standard query with recursion desired.
pub fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            return Err(format!("DNS label '{label}' longer than 63 bytes"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// Judges a reply to query `id`.
pub fn judge(id: u16, reply: &[u8]) -> Result<(), String> {
    if reply.len() < 12 {
        return Err("DNS reply shorter than a header".into());
    }
    if u16::from_be_bytes([reply[0], reply[1]]) != id {
        return Err("DNS reply id does not match".into());
    }
    if reply[2] & 0x80 == 0 {
        return Err("DNS packet is not a reply".into());
    }
    let rcode = reply[3] & 0x0f;
    if rcode != 0 {
        return Err(format!("DNS rcode {rcode}"));
    }
    let ancount = u16::from_be_bytes([reply[6], reply[7]]);
    if ancount == 0 {
        return Err("DNS reply has no answer".into());
    }
    Ok(())
}

/// Runs one DNS_CHECK attempt.
pub async fn check(
    server: SocketAddr,
    name: &str,
    qtype_name: &str,
    timeout: Duration,
    id: u16,
    source: &super::udp::Source,
) -> Outcome {
    let Some(t) = qtype(qtype_name) else {
        return Outcome::Failure {
            reason: format!("unsupported DNS type {qtype_name}"),
        };
    };
    let work = async {
        let q = query(id, name, t)?;
        let s = super::udp::probe_socket(server, source).map_err(|e| e.to_string())?;
        s.connect(server).await.map_err(|e| e.to_string())?;
        s.send(&q).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        loop {
            let n = s
                .recv(&mut buf)
                .await
                .map_err(|e| format!("{server}: {e}"))?;
            // Ignore stray datagrams with another id; wait for ours.
            if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) != id {
                continue;
            }
            return judge(id, &buf[..n]);
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(())) => Outcome::Success { weight: None },
        Ok(Err(reason)) => Outcome::Failure { reason },
        Err(_) => Outcome::Failure {
            reason: format!("DNS query to {server} timed out"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let q = query(0x1234, "example.com", 1).unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l',
                b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1
            ]
        );
        assert_eq!(query(1, ".", 6).unwrap()[12..], [0, 0, 6, 0, 1]);
        assert!(query(1, &"a".repeat(64), 1).is_err());
    }

    #[test]
    fn judging() {
        let mut r = query(7, "x", 1).unwrap();
        r[2] |= 0x80;
        assert!(judge(7, &r).unwrap_err().contains("no answer"));
        r[7] = 1;
        assert!(judge(7, &r).is_ok());
        assert!(judge(8, &r).is_err());
        r[3] = 3;
        assert!(judge(7, &r).unwrap_err().contains("rcode 3"));
        assert!(judge(7, &[1, 2, 3]).is_err());
    }

    #[tokio::test]
    async fn against_a_local_server() {
        let srv = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            for i in 0..2 {
                let Ok((n, from)) = srv.recv_from(&mut buf) else {
                    return;
                };
                let mut r = buf[..n].to_vec();
                r[2] |= 0x80;
                r[7] = if i == 0 { 1 } else { 0 };
                let _ = srv.send_to(&r, from);
            }
        });
        assert_eq!(
            check(
                addr,
                ".",
                "SOA",
                Duration::from_secs(1),
                42,
                &Default::default()
            )
            .await,
            Outcome::Success { weight: None }
        );
        assert!(matches!(
            check(
                addr,
                ".",
                "SOA",
                Duration::from_secs(1),
                43,
                &Default::default()
            )
            .await,
            Outcome::Failure { .. }
        ));
        // Server gone: timeout or refused, never stuck.
        assert!(matches!(
            check(
                addr,
                ".",
                "SOA",
                Duration::from_millis(300),
                44,
                &Default::default()
            )
            .await,
            Outcome::Failure { .. }
        ));
    }
}
