//! `keepalived-rs genhash`: fetch a URL the way the HTTP_GET checker does and print the MD5
//! digest of its body, for use in `digest`.

use super::http::{request, HttpProtocol, Response, ResponseParser};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection or IO error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The whole exchange took longer than the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The response was not HTTP.
    #[error("{0}")]
    Http(#[from] super::http::HttpError),
    /// More body than the limit.
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
}

/// Fetches `path` from `addr` (Host header `vhost` or `addr`) within `timeout`, reading at most
/// `max_body` bytes of body.
pub async fn fetch(
    addr: SocketAddr,
    path: &str,
    vhost: Option<&str>,
    proto: HttpProtocol,
    timeout: Duration,
    max_body: u64,
) -> Result<Response, FetchError> {
    let work = async {
        let mut s = TcpStream::connect(addr).await?;
        let host = vhost
            .map(str::to_string)
            .unwrap_or_else(|| addr.to_string());
        s.write_all(&request(path, &host, proto)).await?;
        let mut p = ResponseParser::new();
        let mut buf = vec![0u8; 16 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max_body + 64 * 1024 {
                return Err(FetchError::TooLarge(max_body));
            }
            p.feed(&buf[..n])?;
        }
        Ok(p.finish()?)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout(timeout)),
    }
}

/// Runs genhash from the command line; returns the exit code.
pub fn run(
    server: &str,
    port: u16,
    url: &str,
    vhost: Option<&str>,
    proto: HttpProtocol,
    verbose: bool,
) -> i32 {
    let addr = match format!("{server}:{port}").parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            match std::net::ToSocketAddrs::to_socket_addrs(&(server, port)).map(|mut i| i.next()) {
                Ok(Some(a)) => a,
                _ => {
                    eprintln!("genhash: cannot resolve {server}");
                    return 1;
                }
            }
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genhash: {e}");
            return 1;
        }
    };
    match rt.block_on(fetch(
        addr,
        url,
        vhost,
        proto,
        Duration::from_secs(10),
        256 << 20,
    )) {
        Ok(r) => {
            if verbose {
                println!("HTTP status code: {}", r.status);
                println!("Body length: {}", r.body_len);
            }
            println!("{}", r.digest);
            0
        }
        Err(e) => {
            eprintln!("genhash: {addr}{url}: {e}");
            1
        }
    }
}
