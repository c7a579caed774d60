//! HTTP_GET and SSL_GET attempts against real local servers: up, wrong status, wrong digest,
//! silent, garbage, endless body; every failure within the connect timeout.

use keepalived_rs::lvs::check::http::HttpProtocol;
use keepalived_rs::lvs::check::http_get::{check, Tls, UrlSpec};
use keepalived_rs::lvs::check::schedule::Outcome;
use keepalived_rs::lvs::check::tcp::TcpTarget;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Mode {
    Ok(&'static [u8]),
    Status(u16),
    Silent,
    Garbage,
    Endless,
}

fn handle(mut s: TcpStream, mode: Mode) {
    let mut req = [0u8; 4096];
    let _ = s.read(&mut req);
    match mode {
        Mode::Ok(body) => {
            let _ = s.write_all(
                format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            );
            let _ = s.write_all(body);
        }
        Mode::Status(c) => {
            let _ = s.write_all(format!("HTTP/1.0 {c} Nope\r\n\r\n").as_bytes());
        }
        Mode::Silent => std::thread::sleep(Duration::from_secs(3)),
        Mode::Garbage => {
            let _ = s.write_all(b"\x00\x01\x02 not http at all\r\n\r\n");
        }
        Mode::Endless => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
            let chunk = [b'x'; 8192];
            while s.write_all(&chunk).is_ok() {}
        }
    }
}

fn server(mode: Mode) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || handle(s, mode));
        }
    });
    addr
}

fn target(addr: SocketAddr) -> TcpTarget {
    TcpTarget {
        addr,
        bindto: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        timeout: Duration::from_millis(800),
    }
}

fn url(digest: Option<&str>) -> UrlSpec {
    UrlSpec {
        path: "/".into(),
        digest: digest.map(str::to_string),
        status: vec![(200, 299)],
        host: None,
        regex: None,
    }
}

const HELLO_MD5: &str = "6f5902ac237024bdd0c176cb93063dc4";

#[tokio::test]
async fn plain_http_cases() {
    let ok = server(Mode::Ok(b"hello world\n"));
    assert_eq!(
        check(
            &target(ok),
            &[url(Some(HELLO_MD5))],
            None,
            HttpProtocol::V10
        )
        .await,
        Outcome::Success { weight: None }
    );
    assert_eq!(
        check(&target(ok), &[url(None)], None, HttpProtocol::V11).await,
        Outcome::Success { weight: None }
    );
    let r = check(
        &target(ok),
        &[url(Some("00000000000000000000000000000000"))],
        None,
        HttpProtocol::V10,
    )
    .await;
    assert!(
        matches!(&r, Outcome::Failure { reason } if reason.contains("digest")),
        "{r:?}"
    );

    let nf = server(Mode::Status(404));
    let r = check(&target(nf), &[url(None)], None, HttpProtocol::V10).await;
    assert!(
        matches!(&r, Outcome::Failure { reason } if reason.contains("404")),
        "{r:?}"
    );
    // 404 accepted when configured.
    let mut u = url(None);
    u.status = vec![(404, 404)];
    assert_eq!(
        check(&target(nf), &[u], None, HttpProtocol::V10).await,
        Outcome::Success { weight: None }
    );

    for mode in [Mode::Silent, Mode::Garbage, Mode::Endless] {
        let a = server(mode);
        let start = Instant::now();
        let r = check(&target(a), &[url(Some(HELLO_MD5))], None, HttpProtocol::V10).await;
        assert!(matches!(r, Outcome::Failure { .. }), "{r:?}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }

    // Nobody listening.
    let closed = {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    assert!(matches!(
        check(&target(closed), &[url(None)], None, HttpProtocol::V10).await,
        Outcome::Failure { .. }
    ));
}

fn tls_server(body: &'static [u8]) -> SocketAddr {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let cfg = Arc::new(cfg);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut req = [0u8; 4096];
                let _ = tls.read(&mut req);
                let _ = tls.write_all(
                    format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                let _ = tls.write_all(body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    addr
}

#[tokio::test]
async fn ssl_get_with_self_signed_certificate() {
    let a = tls_server(b"hello world\n");
    let tls = Tls::insecure(None);
    assert_eq!(
        check(
            &target(a),
            &[url(Some(HELLO_MD5))],
            Some(&tls),
            HttpProtocol::V10
        )
        .await,
        Outcome::Success { weight: None }
    );
    // TLS against a plain server fails cleanly.
    let plain = server(Mode::Ok(b"x"));
    assert!(matches!(
        check(&target(plain), &[url(None)], Some(&tls), HttpProtocol::V10).await,
        Outcome::Failure { .. }
    ));
}
