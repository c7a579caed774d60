//! SMTP_CHECK: greeting 220, `HELO name`, 250, `QUIT` — keepalived's dialogue.

use super::schedule::Outcome;
use super::tcp::{socket_for, TcpTarget};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Reads one (possibly multi-line `250-...`) SMTP reply and returns its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<u16, String> {
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        if line.len() > 4096 {
            return Err("reply line too long".into());
        }
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("bad reply {line:?}"))?;
        // "250-" continues, "250 " ends.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

/// Runs one SMTP_CHECK attempt within the target's timeout.
pub async fn check(t: &TcpTarget, helo_name: &str) -> Outcome {
    let work = async {
        let sock = socket_for(t).map_err(|e| format!("socket: {e}"))?;
        let stream = sock
            .connect(t.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", t.addr))?;
        let (rd, mut wr) = stream.into_split();
        let mut rd = BufReader::new(rd.take(64 * 1024));
        let c = reply(&mut rd).await?;
        if c != 220 {
            return Err(format!("greeting {c}, expected 220"));
        }
        wr.write_all(format!("HELO {helo_name}\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let c = reply(&mut rd).await?;
        if c != 250 {
            return Err(format!("HELO answered {c}, expected 250"));
        }
        let _ = wr.write_all(b"QUIT\r\n").await;
        Ok(())
    };
    match tokio::time::timeout(t.timeout, work).await {
        Ok(Ok(())) => Outcome::Success { weight: None },
        Ok(Err(reason)) => Outcome::Failure { reason },
        Err(_) => Outcome::Failure {
            reason: format!("SMTP dialogue with {} timed out", t.addr),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Write};
    use std::time::Duration;

    fn server(greeting: &'static str, helo_reply: &'static str) -> std::net::SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((s, _)) = l.accept() {
                let mut w = s.try_clone().unwrap();
                let _ = w.write_all(greeting.as_bytes());
                let mut r = std::io::BufReader::new(s);
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                if line.starts_with("HELO ") {
                    let _ = w.write_all(helo_reply.as_bytes());
                }
                let _ = r.read_line(&mut line);
            }
        });
        addr
    }

    fn t(addr: std::net::SocketAddr) -> TcpTarget {
        TcpTarget {
            addr,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_millis(500),
        }
    }

    #[tokio::test]
    async fn dialogue() {
        let ok = server("220 mx ESMTP\r\n", "250-mx hello\r\n250 OK\r\n");
        assert_eq!(check(&t(ok), "ka").await, Outcome::Success { weight: None });
        let bad = server("554 go away\r\n", "");
        assert!(
            matches!(check(&t(bad), "ka").await, Outcome::Failure { reason } if reason.contains("554"))
        );
        let silent = server("", "");
        assert!(
            matches!(check(&t(silent), "ka").await, Outcome::Failure { reason } if reason.contains("timed out"))
        );
        let garbage = server("hello there\r\n", "");
        assert!(matches!(
            check(&t(garbage), "ka").await,
            Outcome::Failure { .. }
        ));
    }
}
