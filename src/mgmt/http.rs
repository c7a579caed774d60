//! `--metrics-listen ADDR:PORT`: a tiny HTTP/1.1 server for `GET /metrics`.
//!
//! One request per connection (`Connection: close`), request head bounded to
//! [`MAX_REQUEST_HEAD`] bytes, read/write timeouts, at most [`MAX_CONNECTIONS`] open at once.
//!
//! Slow clients (slowloris) never hold up a real scraper: every connection is accepted at once
//! and served on its own task (a scraper that sends its request is answered whatever the
//! others do), a connection has [`READ_TIMEOUT`] to send its whole request head, and when
//! [`MAX_CONNECTIONS`] are open the oldest one still waiting for its request is dropped to
//! make room (the ones being answered are never dropped).
//! Any byte sequence gets either a well-formed response or a closed connection; nothing panics.

use crate::telemetry::metrics::{Format, Metrics};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, JoinHandle};

/// Largest accepted request head (request line + headers); bigger requests get 431.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Connections open at once (bounds tasks and file descriptors); past it the oldest
/// connection still waiting for its request is dropped.
pub const MAX_CONNECTIONS: usize = 256;
/// Time a connection has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running metrics endpoint. Dropping it stops the server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `metrics` on the current tokio runtime.
    pub async fn bind(addr: SocketAddr, metrics: Arc<Metrics>) -> io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, metrics));
        tracing::info!(%addr, "metrics endpoint listening on http://{addr}/metrics");
        Ok(MetricsServer { addr, task })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and serving.
    pub fn shutdown(self) {}
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connections still reading their request head, oldest first (the ones that may be dropped).
type Waiting = Arc<std::sync::Mutex<std::collections::VecDeque<(Arc<AtomicBool>, AbortHandle)>>>;

/// Accept loop: serves every connection of `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let waiting: Waiting = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE/ENFILE/ECONNABORTED...: back off, never give up.
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                evict_oldest(&waiting);
                // The evicted task releases its slot when dropped; with none waiting (every
                // connection is being answered), the first answer frees one.
                let Ok(p) = slots.clone().acquire_owned().await else {
                    return;
                };
                p
            }
        };
        let metrics = metrics.clone();
        let reading = Arc::new(AtomicBool::new(true));
        let flag = reading.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = handle(stream, &metrics, &flag).await {
                tracing::debug!(%peer, error = %e, "metrics connection");
            }
            drop(permit);
        });
        let mut w = waiting.lock().unwrap_or_else(|p| p.into_inner());
        // Forget connections past their head (answered or closed): they are never dropped.
        if w.len() >= MAX_CONNECTIONS {
            w.retain(|(r, h)| r.load(Ordering::Acquire) && !h.is_finished());
        }
        w.push_back((reading, task.abort_handle()));
    }
}

/// Drops the oldest connection still waiting for its request head, if any.
fn evict_oldest(waiting: &Waiting) {
    let mut w = waiting.lock().unwrap_or_else(|p| p.into_inner());
    while let Some((reading, task)) = w.pop_front() {
        if reading.load(Ordering::Acquire) && !task.is_finished() {
            tracing::debug!(
                "metrics endpoint: connection limit reached, dropping the oldest idle connection"
            );
            task.abort();
            return;
        }
    }
}

async fn handle(mut stream: TcpStream, metrics: &Metrics, reading: &AtomicBool) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream, &mut buf)).await;
    reading.store(false, Ordering::Release);
    let response = match head {
        Err(_) => return Ok(()), // slow or silent client: just close
        Ok(Err(e)) => return Err(e),
        Ok(Ok(ReadHead::Closed)) => return Ok(()),
        Ok(Ok(ReadHead::TooLarge)) => simple(431, "Request Header Fields Too Large", false),
        Ok(Ok(ReadHead::Complete(n))) => {
            // Values read at scrape time (the IPVS counters) first; bounded by the hooks.
            if buf[..n].starts_with(b"GET /metrics") || buf[..n].starts_with(b"HEAD /metrics") {
                metrics.refresh().await;
            }
            respond(&buf[..n], metrics)
        }
    };
    tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timeout"))?
}

enum ReadHead {
    Complete(usize),
    TooLarge,
    Closed,
}

async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<ReadHead> {
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(ReadHead::Closed);
        }
        let scan_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf[scan_from..]) {
            return Ok(ReadHead::Complete(scan_from + end));
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Ok(ReadHead::TooLarge);
        }
    }
}

/// Position just past the blank line ending the head (`\r\n\r\n` or a bare `\n\n`).
fn head_end(b: &[u8]) -> Option<usize> {
    (0..b.len()).find_map(|i| {
        if b[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if b[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

fn simple(code: u16, reason: &str, head_only: bool) -> Vec<u8> {
    let body = format!("{code} {reason}\n");
    response(
        code,
        reason,
        "text/plain; charset=utf-8",
        body.as_bytes(),
        head_only,
        "",
    )
}

fn response(
    code: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
    extra: &str,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// Builds the whole response for one request head. Pure: any input yields a response.
pub fn respond(head: &[u8], metrics: &Metrics) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(head) else {
        return simple(400, "Bad Request", false);
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return simple(400, "Bad Request", false);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return simple(400, "Bad Request", false);
    }
    let head_only = method == "HEAD";
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let mut accept = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("accept") {
                accept = Some(value.trim());
            }
        }
    }
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let format = Format::from_accept(accept);
            let body = metrics.encode(format);
            response(
                200,
                "OK",
                format.content_type(),
                body.as_bytes(),
                head_only,
                "",
            )
        }
        ("GET" | "HEAD", "/") => response(
            200,
            "OK",
            "text/html; charset=utf-8",
            b"<html><head><title>keepalived-rs</title></head><body><a href=\"/metrics\">Metrics</a></body></html>\n",
            head_only,
            "",
        ),
        (_, "/metrics") => {
            let body = b"405 Method Not Allowed\n";
            response(
                405,
                "Method Not Allowed",
                "text/plain; charset=utf-8",
                body,
                false,
                "Allow: GET, HEAD\r\n",
            )
        }
        ("GET" | "HEAD", _) => simple(404, "Not Found", head_only),
        _ => simple(404, "Not Found", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(resp: &[u8]) -> String {
        let s = String::from_utf8_lossy(resp);
        s.lines().next().unwrap_or("").to_string()
    }

    #[test]
    fn routes() {
        let m = Metrics::new();
        let cases: [(&[u8], &str); 7] = [
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK"),
            (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", "200 OK"),
            (b"GET /nope HTTP/1.1\r\n\r\n", "404 Not Found"),
            (b"POST /metrics HTTP/1.1\r\n\r\n", "405 Method Not Allowed"),
            (b"garbage\r\n\r\n", "400 Bad Request"),
            (b"GET metrics HTTP/1.1\r\n\r\n", "400 Bad Request"),
            (&[0xff, 0xfe, b'\r', b'\n'], "400 Bad Request"),
        ];
        for (request, want) in cases {
            assert_eq!(
                status(&respond(request, &m)),
                format!("HTTP/1.1 {want}"),
                "{}",
                String::from_utf8_lossy(request)
            );
        }
        let head = respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", &m);
        assert!(head.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn negotiates_openmetrics() {
        let m = Metrics::new();
        let r = respond(
            b"GET /metrics HTTP/1.1\r\naccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n",
            &m,
        );
        let s = String::from_utf8_lossy(&r);
        assert!(s.contains("Content-Type: application/openmetrics-text; version=1.0.0"));
        assert!(s.ends_with("# EOF\n"));
        let r = respond(b"GET /metrics HTTP/1.1\r\n\r\n", &m);
        assert!(String::from_utf8_lossy(&r).contains("Content-Type: text/plain; version=0.0.4"));
    }

    #[test]
    fn head_end_variants() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let m = Metrics::new();
        // xorshift: deterministic pseudo-random garbage, including partial valid requests.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..2000usize {
            let mut v = Vec::with_capacity(len % 300);
            for _ in 0..(len % 300) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.push(x as u8);
            }
            if len % 3 == 0 {
                let mut p = b"GET /metrics HTTP/1.1\r\n".to_vec();
                p.extend_from_slice(&v);
                v = p;
            }
            let r = respond(&v, &m);
            assert!(r.starts_with(b"HTTP/1.1 "));
        }
    }
}
