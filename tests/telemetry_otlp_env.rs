//! `telemetry::init` reads the standard OTEL_* variables. Its own test binary: it sets the
//! process environment and installs the global subscriber, which no other test may share.

use keepalived_rs::telemetry::logging::LogOptions;
use keepalived_rs::telemetry::{self, transition_span, TransitionKind};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// (path, body) of every request received.
type Requests = Vec<(String, Vec<u8>)>;

#[test]
fn init_from_env_exports_to_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bodies: Arc<Mutex<Requests>> = Arc::default();
    let b = bodies.clone();
    let addr = rt.block_on(async move {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let b = b.clone();
                tokio::spawn(async move {
                    // One request per read loop; good enough for one small export.
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        let Ok(n) = s.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            continue;
                        }
                        let path = head.split(' ').nth(1).unwrap_or("").to_string();
                        b.lock().unwrap().push((path, buf[end + 4..end + 4 + len].to_vec()));
                        buf.drain(..end + 4 + len);
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                });
            }
        });
        addr
    });

    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"));
    std::env::set_var("OTEL_SERVICE_NAME", "ka-env-test");
    let t = telemetry::init(&LogOptions {
        console: false,
        detail: false,
        no_syslog: true,
        facility: None,
        ..LogOptions::default()
    })
    .unwrap();
    assert!(t.exporting());
    drop(
        transition_span(TransitionKind::Vrrp, "VI_ENV")
            .from("BACKUP")
            .to("MASTER")
            .reason("master_down"),
    );
    t.shutdown();

    let got = bodies.lock().unwrap();
    let (path, body) = got.first().expect("an export request");
    assert_eq!(path, "/v1/traces");
    let body = String::from_utf8_lossy(body);
    // Protobuf strings are stored verbatim.
    assert!(body.contains("vrrp.transition"));
    assert!(body.contains("VI_ENV"));
    assert!(body.contains("ka-env-test"));
}
