//! The LVS director on the host, against real local servers, with an in-memory IPVS table
//! (this host has no IPVS; the VM test covers the kernel): every checker type drives the
//! desired table as keepalived would, bad servers fail within their timeout, reload keeps or
//! restores state, and an IPVS error on one service never stops the others.

use keepalived_rs::config::{load_str, LoadOptions};
use keepalived_rs::ipvs::writer::{MemoryBackend, WriterConfig};
use keepalived_rs::ipvs::{DestKey, ServiceKey};
use keepalived_rs::lvs::{start_lvs, IpvsSink, LvsHandle, LvsOptions};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// Fast checker timings, and the protocol keepalived would otherwise default to UDP.
const FAST: &str =
    "protocol TCP\n    delay_loop 0.2\n    connect_timeout 0.5\n    retry 0\n    warmup 0";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vs_key() -> ServiceKey {
    ServiceKey::tcp(ip("10.0.0.1"), 80)
}

fn start(text: &str, mem: &MemoryBackend) -> LvsHandle {
    let cfg = config(text);
    let opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current())
        .with_sink(IpvsSink::Memory(mem.clone()));
    let opts = LvsOptions {
        writer_config: WriterConfig {
            resync_interval: Duration::from_millis(300),
            retry_min: Duration::from_millis(50),
            retry_max: Duration::from_millis(200),
            ..opts.writer_config.clone()
        },
        ..opts
    };
    start_lvs(&cfg, opts)
}

fn config(text: &str) -> keepalived_rs::config::model::Config {
    let l = load_str("test.conf", text, &LoadOptions::default());
    assert!(!l.diagnostics.has_errors(), "{:?}\n{text}", l.diagnostics);
    l.config
}

/// Waits until the weights of `key` satisfy `want` (or panics with what was there).
async fn wait_table(
    mem: &MemoryBackend,
    key: ServiceKey,
    what: &str,
    want: impl Fn(&BTreeMap<DestKey, u32>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let w = mem.weights(&key).unwrap_or_default();
        if want(&w) {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: table of {key} is {w:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn dk(a: SocketAddr) -> DestKey {
    DestKey::new(a.ip(), a.port())
}

fn has(w: &BTreeMap<DestKey, u32>, a: SocketAddr, weight: u32) -> bool {
    w.get(&dk(a)) == Some(&weight)
}

/// A TCP server that accepts and drops connections; abort the handle to take it down.
async fn tcp_server(port: u16) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    });
    (addr, h)
}

async fn eventually<F: Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_up_down_sorry_and_back() {
    let (a, ha) = tcp_server(0).await;
    let (b, hb) = tcp_server(0).await;
    let mem = MemoryBackend::new();
    let lvs = start(
        &format!(
            r#"
virtual_server 10.0.0.1 80 {{
    {FAST}
    lb_algo rr
    sorry_server 127.0.0.1 9
    real_server 127.0.0.1 {pa} {{
        weight 2
        TCP_CHECK {{
        }}
    }}
    real_server 127.0.0.1 {pb} {{
        weight 3
        TCP_CHECK {{
        }}
    }}
}}
"#,
            pa = a.port(),
            pb = b.port()
        ),
        &mem,
    );
    wait_table(&mem, vs_key(), "both up", |w| {
        w.len() == 2 && has(w, a, 2) && has(w, b, 3)
    })
    .await;
    ha.abort();
    wait_table(&mem, vs_key(), "a removed", |w| {
        w.len() == 1 && has(w, b, 3)
    })
    .await;
    hb.abort();
    let sorry = "127.0.0.1:9".parse().unwrap();
    wait_table(&mem, vs_key(), "sorry server", |w| {
        w.len() == 1 && has(w, sorry, 1)
    })
    .await;
    let snap = lvs.snapshot().await;
    assert!(!snap.virtual_servers[0].quorum_up);
    let (_, mut h) = tcp_server(a.port()).await;
    wait_table(&mem, vs_key(), "a back, sorry gone", |w| {
        w.len() == 1 && has(w, a, 2)
    })
    .await;
    // Flapping: down and up again a few times, the table follows every time.
    for _ in 0..3 {
        h.abort();
        wait_table(&mem, vs_key(), "flap down", |w| {
            w.len() == 1 && has(w, sorry, 1)
        })
        .await;
        h = tcp_server(a.port()).await.1;
        wait_table(&mem, vs_key(), "flap up", |w| w.len() == 1 && has(w, a, 2)).await;
    }
    lvs.shutdown().await;
    assert!(mem.table().is_empty(), "services released on shutdown");
}

/// Reads an HTTP request's head; its path (None: the client went away first).
async fn request_path(s: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let req = String::from_utf8_lossy(&got);
    Some(req.split_whitespace().nth(1).unwrap_or("/").to_string())
}

/// An HTTP server whose behaviour depends on the path.
async fn http_server(status: Arc<AtomicU16>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let status = status.clone();
            tokio::spawn(async move {
                let Some(path) = request_path(&mut s).await else {
                    return;
                };
                match path.as_str() {
                    "/hang" => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    "/garbage" => {
                        let _ = s.write_all(b"\x00\x01garbage garbage\r\n\r\n").await;
                    }
                    "/endless" => {
                        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
                        let chunk = vec![b'x'; 65536];
                        while s.write_all(&chunk).await.is_ok() {}
                    }
                    "/toggle" => {
                        let code = status.load(Ordering::SeqCst);
                        let r = format!("HTTP/1.0 {code} X\r\nContent-Length: 5\r\n\r\nhello");
                        let _ = s.write_all(r.as_bytes()).await;
                    }
                    _ => {
                        let _ = s
                            .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                            .await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_status_digest_and_bad_servers() {
    let status = Arc::new(AtomicU16::new(200));
    let srv = http_server(status.clone()).await;
    // md5("hello")
    let good = "5d41402abc4b2a76b9719d911017c592";
    let bad = "00000000000000000000000000000000";
    let rs = |n: u8, path: &str, digest: Option<&str>| {
        format!(
            r#"
    real_server 127.0.1.{n} 80 {{
        HTTP_GET {{
            connect_ip 127.0.0.1
            connect_port {port}
            url {{
                path {path}
                {d}
            }}
        }}
    }}"#,
            port = srv.port(),
            d = digest.map(|d| format!("digest {d}")).unwrap_or_default()
        )
    };
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    {FAST}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n}}\n",
        rs(1, "/ok", Some(good)),
        rs(2, "/toggle", None),
        rs(3, "/ok", Some(bad)),
        rs(4, "/hang", None),
        rs(5, "/garbage", None),
        rs(6, "/endless", Some(good)),
        rs(7, "/endless", None),
    );
    let mem = MemoryBackend::new();
    let t0 = Instant::now();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.1.{n}")), 80);
    // 1 (digest ok), 2 (200), 7 (status line is enough without a digest) stay; wrong digest,
    // a server that never answers, garbage and an endless body with a digest fail within the
    // 0.5 s timeout.
    wait_table(&mem, vs_key(), "bad servers removed", |w| {
        w.len() == 3 && w.contains_key(&d(1)) && w.contains_key(&d(2)) && w.contains_key(&d(7))
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    status.store(500, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "500 removes", |w| !w.contains_key(&d(2))).await;
    status.store(204, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "204 restores", |w| w.contains_key(&d(2))).await;
    lvs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_dns_udp_checks() {
    // SMTP: one good, one that refuses HELO.
    async fn smtp(helo_reply: &'static str) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(b"220 test ESMTP\r\n").await;
                    let mut buf = [0u8; 512];
                    if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                        let _ = s.write_all(helo_reply.as_bytes()).await;
                        let _ = s.read(&mut buf).await;
                    }
                });
            }
        });
        a
    }
    // DNS: answers with one record (good) or NXDOMAIN (bad).
    async fn dns(rcode: u8) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                let mut r = buf[..n].to_vec();
                r[2] |= 0x80;
                r[3] = (r[3] & 0xf0) | rcode;
                r[6] = 0;
                r[7] = u8::from(rcode == 0);
                let _ = s.send_to(&r, from).await;
            }
        });
        a
    }
    let smtp_ok = smtp("250 hello\r\n").await;
    let smtp_bad = smtp("554 go away\r\n").await;
    let dns_ok = dns(0).await;
    let dns_bad = dns(3).await;
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let rs = |n: u8, kind: &str, port: u16, extra: &str| {
        format!(
            "    real_server 127.0.2.{n} 80 {{\n        {kind} {{\n            connect_ip 127.0.0.1\n            connect_port {port}\n            {extra}\n        }}\n    }}\n"
        )
    };
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    {FAST}\n{}{}{}{}{}{}}}\n",
        rs(1, "SMTP_CHECK", smtp_ok.port(), "helo_name me"),
        rs(2, "SMTP_CHECK", smtp_bad.port(), ""),
        rs(
            3,
            "DNS_CHECK",
            dns_ok.port(),
            "name example.com\n            type A"
        ),
        rs(4, "DNS_CHECK", dns_bad.port(), ""),
        rs(
            5,
            "UDP_CHECK",
            echo_addr.port(),
            "payload 0a0b0c\n            require_reply 0a0b0c"
        ),
        rs(6, "UDP_CHECK", closed_port, "payload 01"),
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.2.{n}")), 80);
    wait_table(&mem, vs_key(), "smtp/dns/udp", |w| {
        w.keys().copied().collect::<Vec<_>>() == vec![d(1), d(3), d(5)]
    })
    .await;
    lvs.shutdown().await;
}

fn write_exec(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misc_check_exit_codes_and_dynamic_weight() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::write(&code, "0").unwrap();
    let script = dir.path().join("check.sh");
    write_exec(
        &script,
        &format!("#!/bin/sh\nexit $(cat {})\n", code.display()),
    );
    let text = format!(
        r#"
virtual_server 10.0.0.1 80 {{
    {FAST}
    real_server 127.0.3.1 80 {{
        weight 5
        MISC_CHECK {{
            misc_path "{s}"
            misc_timeout 2
            misc_dynamic
        }}
    }}
    real_server 127.0.3.2 80 {{
        weight 5
        MISC_CHECK {{
            misc_path "{s}"
        }}
    }}
    real_server 127.0.3.3 80 {{
        MISC_CHECK {{
            misc_path "/bin/sleep 10"
            misc_timeout 0.3
        }}
    }}
}}
"#,
        s = script.display()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.3.{n}")), 80);
    wait_table(&mem, vs_key(), "exit 0, timeout fails", |w| {
        w.get(&d(1)) == Some(&5) && w.get(&d(2)) == Some(&5) && !w.contains_key(&d(3))
    })
    .await;
    // misc_dynamic: exit 12 -> weight 10; the plain MISC_CHECK fails on a non-zero exit.
    std::fs::write(&code, "12").unwrap();
    wait_table(&mem, vs_key(), "dynamic weight", |w| {
        w.get(&d(1)) == Some(&10) && !w.contains_key(&d(2))
    })
    .await;
    std::fs::write(&code, "2").unwrap();
    wait_table(&mem, vs_key(), "dynamic weight 0", |w| {
        w.get(&d(1)) == Some(&0)
    })
    .await;
    std::fs::write(&code, "1").unwrap();
    wait_table(&mem, vs_key(), "exit 1 fails", |w| w.is_empty()).await;
    std::fs::write(&code, "0").unwrap();
    wait_table(&mem, vs_key(), "exit 0: configured weight", |w| {
        w.get(&d(1)) == Some(&5) && w.get(&d(2)) == Some(&5)
    })
    .await;
    lvs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_check_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f1 = dir.path().join("switch");
    let f2 = dir.path().join("weight");
    std::fs::write(&f1, "0\n").unwrap();
    std::fs::write(&f2, "0\n").unwrap();
    let text = format!(
        r#"
track_file sw {{
    file {f1}
}}
track_file wt {{
    file {f2}
    weight 2
}}
virtual_server 10.0.0.1 80 {{
    {FAST}
    real_server 127.0.4.1 80 {{
        FILE_CHECK {{
            track_file sw
            weight 0
        }}
    }}
    real_server 127.0.4.2 80 {{
        weight 1
        FILE_CHECK {{
            track_file wt
        }}
    }}
}}
"#,
        f1 = f1.display(),
        f2 = f2.display()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.4.{n}")), 80);
    wait_table(&mem, vs_key(), "both up", |w| {
        w.get(&d(1)) == Some(&1) && w.get(&d(2)) == Some(&1)
    })
    .await;
    std::fs::write(&f1, "1\n").unwrap();
    std::fs::write(&f2, "3\n").unwrap();
    wait_table(&mem, vs_key(), "switch off, weight 1+3*2", |w| {
        !w.contains_key(&d(1)) && w.get(&d(2)) == Some(&7)
    })
    .await;
    std::fs::write(&f1, "0\n").unwrap();
    std::fs::remove_file(&f2).unwrap();
    wait_table(&mem, vs_key(), "switch on, file gone = 0", |w| {
        w.get(&d(1)) == Some(&1) && w.get(&d(2)) == Some(&1)
    })
    .await;
    lvs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_state_and_a_fixed_server_comes_back() {
    let (a, _ha) = tcp_server(0).await;
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.sh");
    let fixed = dir.path().join("fixed.sh");
    write_exec(&broken, "#!/bin/sh\nexit 1\n");
    write_exec(&fixed, "#!/bin/sh\nexit 0\n");
    let conf = |script: &Path, extra_rs: &str| {
        format!(
            r#"
virtual_server 10.0.0.1 80 {{
    protocol TCP
    delay_loop 30
    connect_timeout 0.5
    retry 0
    warmup 0
    real_server 127.0.0.1 {pa} {{
        TCP_CHECK {{
        }}
    }}
    real_server 127.0.5.1 80 {{
        MISC_CHECK {{
            misc_path "{s}"
        }}
    }}
{extra_rs}
}}
"#,
            pa = a.port(),
            s = script.display()
        )
    };
    let mem = MemoryBackend::new();
    let lvs = start(&conf(&broken, ""), &mem);
    let misc = DestKey::new(ip("127.0.5.1"), 80);
    wait_table(&mem, vs_key(), "misc failed", |w| {
        has(w, a, 1) && !w.contains_key(&misc)
    })
    .await;
    // Same configuration again: every checker keeps running, nothing changes (delay_loop 30 s:
    // a restarted checker would not have checked again yet, a kept one keeps its state).
    let r = lvs.reload(&config(&conf(&broken, ""))).await;
    assert_eq!(
        (r.kept, r.checkers_kept, r.checkers_started),
        (1, 2, 0),
        "{r:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!mem.weights(&vs_key()).unwrap().contains_key(&misc));
    // Fixed script (#608/#1163/#1720): the failed server comes back.
    let extra = "    real_server 127.0.5.2 80 {\n        weight 4\n    }\n";
    let r = lvs.reload(&config(&conf(&fixed, extra))).await;
    assert_eq!((r.checkers_kept, r.checkers_started), (1, 1), "{r:?}");
    let new = DestKey::new(ip("127.0.5.2"), 80);
    wait_table(&mem, vs_key(), "fixed server back, new one added", |w| {
        w.get(&misc) == Some(&1) && w.get(&new) == Some(&4) && has(w, a, 1)
    })
    .await;
    // A virtual server removed by reload leaves IPVS.
    let r = lvs
        .reload(&config(
            "virtual_server 10.0.0.2 80 {\n    protocol TCP\n    real_server 127.0.5.9 80 {\n    }\n}\n",
        ))
        .await;
    assert_eq!((r.added, r.removed), (1, 1));
    wait_table(&mem, ServiceKey::tcp(ip("10.0.0.2"), 80), "new vs", |w| {
        w.len() == 1
    })
    .await;
    assert!(mem.weights(&vs_key()).is_none());
    lvs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipvs_errors_are_retried_and_do_not_stop_other_services() {
    let (a, _h) = tcp_server(0).await;
    let mem = MemoryBackend::new();
    let k2 = ServiceKey::tcp(ip("10.0.0.2"), 80);
    mem.fail_service(vs_key(), Some(libc::ENOMEM));
    let text = format!(
        r#"
virtual_server 10.0.0.1 80 {{
    {FAST}
    real_server 127.0.0.1 {p} {{
        TCP_CHECK {{
        }}
    }}
}}
virtual_server 10.0.0.2 80 {{
    {FAST}
    real_server 127.0.0.1 {p} {{
        TCP_CHECK {{
        }}
    }}
}}
"#,
        p = a.port()
    );
    let lvs = start(&text, &mem);
    wait_table(&mem, k2, "healthy service programmed", |w| has(w, a, 1)).await;
    assert!(mem.weights(&vs_key()).is_none());
    assert!(lvs.writer().status().errors > 0);
    mem.fail_service(vs_key(), None);
    wait_table(
        &mem,
        vs_key(),
        "failing service programmed after retry",
        |w| has(w, a, 1),
    )
    .await;
    // Someone deletes our service behind our back: the periodic resync puts it back.
    mem.tamper(|t| {
        t.remove(&k2);
    });
    wait_table(&mem, k2, "repaired", |w| has(w, a, 1)).await;
    lvs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_scripts_fifo_quorum_and_ha_suspend() {
    let (a, ha) = tcp_server(0).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let fifo = dir.path().join("lvs.fifo");
    let note = dir.path().join("note.sh");
    write_exec(
        &note,
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    );
    let text = format!(
        r#"
global_defs {{
    lvs_notify_fifo {fifo}
}}
virtual_server 10.0.0.1 80 {{
    {FAST}
    ha_suspend
    quorum_up "{n} quorum up"
    quorum_down "{n} quorum down"
    real_server 127.0.0.1 {p} {{
        notify_up "{n} rs up"
        notify_down "{n} rs down"
        TCP_CHECK {{
        }}
    }}
}}
"#,
        fifo = fifo.display(),
        n = note.display(),
        p = a.port()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    wait_table(&mem, vs_key(), "up", |w| has(w, a, 1)).await;
    // Read the FIFO without blocking.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_nonblock()
        .open(&fifo)
        .expect("FIFO created by the director");
    ha.abort();
    wait_table(&mem, vs_key(), "down", |w| w.is_empty()).await;
    let logp = log.clone();
    eventually("notify scripts ran", || {
        let logp = logp.clone();
        async move {
            let s = std::fs::read_to_string(&logp).unwrap_or_default();
            s.contains("rs down") && s.contains("quorum down")
        }
    })
    .await;
    let mut got = Vec::new();
    let mut r = &reader;
    let _ = std::io::Read::read_to_end(&mut r, &mut got);
    let got = String::from_utf8_lossy(&got).to_string();
    let rs = format!("RS [127.0.0.1]:tcp:{} [10.0.0.1]:tcp:80 DOWN\n\0", a.port());
    assert!(got.contains(&rs), "{got:?}");
    assert!(got.contains("VS [10.0.0.1]:tcp:80 DOWN\n\0"), "{got:?}");
    // ha_suspend: the VIP goes away, checks pause (the server coming back is not noticed).
    lvs.set_vip_present(ip("10.0.0.1"), false);
    eventually("suspended", || {
        let lvs = lvs.clone();
        async move { lvs.snapshot().await.virtual_servers[0].suspended }
    })
    .await;
    let (_, _h2) = tcp_server(a.port()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(mem.weights(&vs_key()).unwrap().is_empty());
    lvs.set_vip_present(ip("10.0.0.1"), true);
    wait_table(&mem, vs_key(), "resumed and up", |w| has(w, a, 1)).await;
    let logp = log.clone();
    eventually("up scripts ran", || {
        let logp = logp.clone();
        async move {
            let s = std::fs::read_to_string(&logp).unwrap_or_default();
            s.contains("rs up") && s.contains("quorum up")
        }
    })
    .await;
    lvs.shutdown().await;
}

/// `lvs_notify_fifo_script` is started with its arguments and the FIFO path last, reads the
/// checker lines from the FIFO the director created, and is stopped (FIFO removed) at shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lvs_notify_fifo_script_reads_the_fifo() {
    let (a, h) = tcp_server(0).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("lvs.fifo");
    let (args, out, pidf) = (
        dir.path().join("args"),
        dir.path().join("out"),
        dir.path().join("pid"),
    );
    let reader = dir.path().join("reader.sh");
    write_exec(
        &reader,
        &format!(
            "#!/bin/sh\necho $$ > {}\necho \"$@\" > {}\nwhile read -r l; do echo \"$l\" >> {}; done < \"$2\"\n",
            pidf.display(),
            args.display(),
            out.display()
        ),
    );
    let text = format!(
        r#"
global_defs {{
    lvs_notify_fifo {fifo}
    lvs_notify_fifo_script "{r} tag"
}}
virtual_server 10.0.0.1 80 {{
    {FAST}
    real_server 127.0.0.1 {p} {{
        TCP_CHECK {{
        }}
    }}
}}
"#,
        fifo = fifo.display(),
        r = reader.display(),
        p = a.port()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let argsp = args.clone();
    eventually("reader started", || {
        let argsp = argsp.clone();
        async move {
            !std::fs::read_to_string(&argsp)
                .unwrap_or_default()
                .is_empty()
        }
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        format!("tag {}", fifo.display())
    );
    wait_table(&mem, vs_key(), "up", |w| has(w, a, 1)).await;
    let outp = out.clone();
    h.abort();
    let want = format!("RS [127.0.0.1]:tcp:{} [10.0.0.1]:tcp:80 DOWN", a.port());
    eventually("reader got the RS line", || {
        let (outp, want) = (outp.clone(), want.clone());
        async move {
            std::fs::read_to_string(&outp)
                .unwrap_or_default()
                .contains(&want)
        }
    })
    .await;
    let pid = std::fs::read_to_string(&pidf).unwrap().trim().to_string();
    lvs.shutdown().await;
    drop(lvs);
    eventually("reader stopped", || {
        let pid = pid.clone();
        async move {
            let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !matches!(st.rsplit_once(") ").and_then(|(_, r)| r.chars().next()), Some(c) if c != 'Z')
        }
    })
    .await;
    assert!(!fifo.exists(), "FIFO left behind");
}

trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

/// keepalived's LVS reload bugs: a failed real server whose checker is fixed comes back after
/// a reload, and the others' checker state survives it.
/// - #1720: the MISC_CHECK script fixed in place (same configuration), then a reload;
/// - #1163: the checker's configuration fixed (a TCP_CHECK connect_port that now answers);
/// - #608: of two checkers, the failing one removed (failed-checker bookkeeping by position
///   lost the server); then a fixed one re-added in front of the other (reordered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_brings_back_a_real_server_whose_checker_was_fixed() {
    let (a, _ha) = tcp_server(0).await;
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let misc = dir.path().join("check.sh");
    write_exec(&misc, "#!/bin/sh\nexit 1\n");
    let tcp_ok = format!(
        "TCP_CHECK {{\n            connect_ip 127.0.0.1\n            connect_port {}\n        }}",
        a.port()
    );
    let conf = |port: u16, rs3: &str| {
        format!(
            r#"
virtual_server 10.0.0.1 80 {{
    protocol TCP
    delay_loop 1
    connect_timeout 0.5
    retry 0
    warmup 0
    real_server 127.0.6.1 80 {{
        MISC_CHECK {{
            misc_path "{m}"
        }}
    }}
    real_server 127.0.0.1 {pa} {{
        TCP_CHECK {{
            connect_port {port}
        }}
    }}
    real_server 127.0.6.3 80 {{
        {rs3}
    }}
}}
"#,
            m = misc.display(),
            pa = a.port()
        )
    };
    let failing_pair =
        format!("{tcp_ok}\n        MISC_CHECK {{\n            misc_path /bin/false\n        }}");
    let mem = MemoryBackend::new();
    let lvs = start(&conf(closed, &failing_pair), &mem);
    let rs1 = DestKey::new(ip("127.0.6.1"), 80);
    let rs2 = dk(a);
    let rs3 = DestKey::new(ip("127.0.6.3"), 80);
    // Every server has a failing checker. (Nothing to wait for but time: the three first
    // checks run at once; 1.5 delay_loops later they have all reported.)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(mem.weights(&vs_key()).unwrap_or_default(), BTreeMap::new());

    // #1720: fixed in place, same configuration: kept checkers, the server comes back.
    write_exec(&misc, "#!/bin/sh\nexit 0\n");
    let r = lvs.reload(&config(&conf(closed, &failing_pair))).await;
    assert_eq!((r.checkers_kept, r.checkers_started), (4, 0), "{r:?}");
    wait_table(&mem, vs_key(), "#1720: fixed script, server back", |w| {
        w.get(&rs1) == Some(&1) && !w.contains_key(&rs2) && !w.contains_key(&rs3)
    })
    .await;

    // #1163: the checker's configuration fixed: a new checker, which succeeds.
    let r = lvs.reload(&config(&conf(a.port(), &failing_pair))).await;
    assert_eq!((r.checkers_kept, r.checkers_started), (3, 1), "{r:?}");
    wait_table(&mem, vs_key(), "#1163: fixed checker, server back", |w| {
        w.get(&rs1) == Some(&1) && w.get(&rs2) == Some(&1) && !w.contains_key(&rs3)
    })
    .await;

    // #608: the failing checker of the pair removed: the remaining (up) one decides.
    let r = lvs.reload(&config(&conf(a.port(), &tcp_ok))).await;
    assert_eq!(r.checkers_kept, 3, "{r:?}");
    wait_table(
        &mem,
        vs_key(),
        "#608: failing checker removed, server back",
        |w| [rs1, rs2, rs3].iter().all(|k| w.get(k) == Some(&1)),
    )
    .await;
    // A passing checker added in front of the kept one: the server stays in.
    let reordered =
        format!("MISC_CHECK {{\n            misc_path /bin/true\n        }}\n        {tcp_ok}");
    let r = lvs.reload(&config(&conf(a.port(), &reordered))).await;
    assert_eq!((r.checkers_kept, r.checkers_started), (3, 1), "{r:?}");
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        let w = mem.weights(&vs_key()).unwrap_or_default();
        assert!(
            [rs1, rs2, rs3].iter().all(|k| w.get(k) == Some(&1)),
            "a server left after the reorder: {w:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lvs.shutdown().await;
}

/// An HTTP server whose body for every path is what `body` holds at the time of the request,
/// after `pad` bytes of filler (a large page whose interesting part is deep inside).
async fn body_server(body: Arc<std::sync::Mutex<String>>, pad: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                if request_path(&mut s).await.is_none() {
                    return;
                }
                let text = body.lock().unwrap().clone();
                let mut page = vec![b'.'; pad];
                page.extend_from_slice(text.as_bytes());
                let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", page.len());
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&page).await;
            });
        }
    });
    addr
}

/// HTTP_GET `regex`: a real server is in the table exactly while its body matches (the status
/// is 200 throughout, so a check on the status alone would keep every server in), with
/// `regex_no_match` the other way round, and the offsets bounding where the match may start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_regex_follows_the_body() {
    let body = Arc::new(std::sync::Mutex::new("<p>state: healthy</p>".to_string()));
    let small = body_server(body.clone(), 0).await;
    // The marker 300 KB into the page: found in bounded memory, across reads.
    let deep = body_server(body.clone(), 300_000).await;
    let rs = |n: u8, port: u16, extra: &str| {
        format!(
            r#"
    real_server 127.0.1.{n} 80 {{
        HTTP_GET {{
            connect_ip 127.0.0.1
            connect_port {port}
            url {{
                path /
                {extra}
            }}
        }}
    }}"#
        )
    };
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    {FAST}\n{}\n{}\n{}\n{}\n{}\n{}\n}}\n",
        rs(1, small.port(), "regex \"state: (healthy|ok)\""),
        rs(
            2,
            small.port(),
            "regex \"state: (healthy|ok)\"\n regex_no_match"
        ),
        rs(
            3,
            deep.port(),
            "regex \"STATE: HEALTHY\"\n regex_options caseless"
        ),
        // The match starts at offset 3: inside 0..=3 only.
        rs(4, small.port(), "regex state\n regex_max_offset 3"),
        rs(5, small.port(), "regex state\n regex_min_offset 4"),
        // Look-ahead: not compilable here, so the url never passes (warned at load).
        rs(6, small.port(), "regex \"state(?=:)\""),
    );
    let l = load_str("test.conf", &text, &LoadOptions::default());
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.message.contains("cannot be compiled by keepalived-rs")),
        "{:?}",
        l.diagnostics.lines()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.1.{n}")), 80);
    let set = |w: &BTreeMap<DestKey, u32>| {
        (1..=6)
            .filter(|n| w.contains_key(&d(*n)))
            .collect::<Vec<u8>>()
    };
    wait_table(&mem, vs_key(), "matching body", |w| set(w) == [1, 3, 4]).await;
    *body.lock().unwrap() = "<p>state: failing</p>".into();
    wait_table(&mem, vs_key(), "body stops matching", |w| set(w) == [2, 4]).await;
    *body.lock().unwrap() = "<p>state: ok</p>".into();
    wait_table(&mem, vs_key(), "body matches again", |w| set(w) == [1, 4]).await;
    // The word moves to offset 5: past the max offset, within the min offset.
    *body.lock().unwrap() = "<br> state: ok".into();
    wait_table(&mem, vs_key(), "match moved", |w| set(w) == [1, 5]).await;
    lvs.shutdown().await;
}

/// An HTTP server answering every path with `status`, noting when each 200 was served.
async fn recording_server(
    status: Arc<AtomicU16>,
    served: Arc<std::sync::Mutex<Vec<(String, Instant)>>>,
) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let (status, served) = (status.clone(), served.clone());
            tokio::spawn(async move {
                let Some(path) = request_path(&mut s).await else {
                    return;
                };
                let code = status.load(Ordering::SeqCst);
                if code == 200 {
                    served.lock().unwrap().push((path, Instant::now()));
                }
                let r = format!("HTTP/1.0 {code} X\r\nContent-Length: 2\r\n\r\nok");
                let _ = s.write_all(r.as_bytes()).await;
            });
        }
    });
    addr
}

/// HTTP_GET recovery as check_http.c: a server taken down by its failures comes back at the
/// second success, `delay_loop` after the first; with `fast_recovery` the second check follows
/// the first at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_recovery_waits_delay_loop_unless_fast_recovery() {
    let status = Arc::new(AtomicU16::new(200));
    let served = Arc::new(std::sync::Mutex::new(Vec::new()));
    let srv = recording_server(status.clone(), served.clone()).await;
    let rs = |n: u8, path: &str, extra: &str| {
        format!(
            r#"
    real_server 127.0.1.{n} 80 {{
        HTTP_GET {{
            connect_ip 127.0.0.1
            connect_port {port}
            {extra}
            url {{
                path {path}
            }}
        }}
    }}"#,
            port = srv.port()
        )
    };
    let delay_loop = Duration::from_millis(1500);
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    protocol TCP\n    delay_loop 1.5\n    connect_timeout 0.5\n    retry 0\n    warmup 0\n{}\n{}\n}}\n",
        rs(1, "/slow", ""),
        rs(2, "/fast", "fast_recovery"),
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d = |n: u8| DestKey::new(ip(&format!("127.0.1.{n}")), 80);
    wait_table(&mem, vs_key(), "both up", |w| w.len() == 2).await;
    status.store(500, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "both down", |w| w.is_empty()).await;
    let fixed = Instant::now();
    status.store(200, Ordering::SeqCst);
    let mut back: [Option<Instant>; 2] = [None, None];
    let deadline = Instant::now() + Duration::from_secs(15);
    while back.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "not back: {back:?}");
        let w = mem.weights(&vs_key()).unwrap_or_default();
        for (i, n) in [1u8, 2].iter().enumerate() {
            if back[i].is_none() && w.contains_key(&d(*n)) {
                back[i] = Some(Instant::now());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let served = served.lock().unwrap().clone();
    let oks = |path: &str, until: Instant| {
        served
            .iter()
            .filter(|(p, t)| p == path && *t >= fixed && *t <= until)
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
    };
    let slow = oks("/slow", back[0].unwrap());
    let fast = oks("/fast", back[1].unwrap());
    // Without fast_recovery: two successes, delay_loop apart, before the server is back.
    assert!(slow.len() >= 2, "{slow:?}");
    let gap = back[0].unwrap() - slow[0];
    assert!(
        gap >= delay_loop.mul_f64(0.8),
        "back {gap:?} after the first success"
    );
    // fast_recovery: the confirming success follows the first at once.
    assert!(fast.len() >= 2, "{fast:?}");
    let gap = back[1].unwrap() - fast[0];
    assert!(gap < delay_loop / 2, "back {gap:?} after the first success");
    lvs.shutdown().await;
}

/// Log lines captured from the whole test binary (the checker tasks log from worker threads).
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        struct W(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let b = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || W(b.clone()))
            .try_init();
        buf
    })
    .clone()
}

/// `log_all_failures` (checker) and `checker_log_all_failures` (global): every failed attempt
/// while the server is up is logged (the retries and the one that takes it down), none once it
/// is down; without them, no attempt is logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_all_failures_logs_each_attempt_while_up() {
    let logs = captured_logs();
    // Nobody listens on these ports.
    let closed = |_: u8| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let rs = |n: u8, extra: &str| {
        format!(
            "    real_server 127.0.2.{n} 80 {{\n        TCP_CHECK {{\n            connect_ip 127.0.0.1\n            connect_port {}\n            {extra}\n        }}\n    }}\n",
            closed(n)
        )
    };
    let vs = "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    delay_loop 0.3\n    connect_timeout 0.5\n    retry 2\n    delay_before_retry 0.1\n    warmup 0\n";
    let count = |n: u8| {
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
        text.lines()
            .filter(|l| l.contains("check failed") && l.contains(&format!("127.0.2.{n}")))
            .count()
    };
    let run = |text: String, servers: usize| async move {
        let mem = MemoryBackend::new();
        let lvs = start(&text, &mem);
        // Up at start, down after 3 failed attempts, then several more attempts while down.
        wait_table(&mem, vs_key(), "all up", |w| w.len() == servers).await;
        wait_table(&mem, vs_key(), "all down", |w| w.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        lvs.shutdown().await;
    };
    run(
        format!("{vs}{}{}}}\n", rs(1, "log_all_failures"), rs(2, "")),
        2,
    )
    .await;
    assert_eq!(count(1), 3, "retry 2: three failed attempts while up");
    assert_eq!(count(2), 0);
    run(
        format!(
            "global_defs {{\n    checker_log_all_failures\n}}\n{vs}{}}}\n",
            rs(3, "")
        ),
        1,
    )
    .await;
    assert_eq!(count(3), 3);
}

/// An SMTP server whose HELO reply is 250 while `good` holds, else 554.
async fn toggle_smtp(good: Arc<std::sync::atomic::AtomicBool>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let good = good.clone();
            tokio::spawn(async move {
                let _ = s.write_all(b"220 test ESMTP\r\n").await;
                let mut buf = [0u8; 512];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    let reply: &[u8] = if good.load(Ordering::SeqCst) {
                        b"250 ok\r\n"
                    } else {
                        b"554 go away\r\n"
                    };
                    let _ = s.write_all(reply).await;
                    let _ = s.read(&mut buf).await;
                }
            });
        }
    });
    a
}

/// SMTP_CHECK `host { }` blocks as keepalived 2.2.7: every host is probed (a checker of its
/// own) and the real server is down while any of them fails, back when all pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_check_hosts_each_probed_server_down_when_any_fails() {
    use std::sync::atomic::AtomicBool;
    let (g1, g2) = (
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicBool::new(true)),
    );
    let (h1, h2) = (toggle_smtp(g1.clone()).await, toggle_smtp(g2.clone()).await);
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    {FAST}\n    real_server 127.0.1.1 80 {{\n        SMTP_CHECK {{\n            host {{\n                connect_ip 127.0.0.1\n                connect_port {}\n            }}\n            host {{\n                connect_ip 127.0.0.1\n                connect_port {}\n            }}\n        }}\n    }}\n}}\n",
        h1.port(),
        h2.port()
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let d1 = DestKey::new(ip("127.0.1.1"), 80);
    wait_table(&mem, vs_key(), "both hosts good", |w| w.contains_key(&d1)).await;
    g2.store(false, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "second host fails", |w| {
        !w.contains_key(&d1)
    })
    .await;
    g2.store(true, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "second host good again", |w| {
        w.contains_key(&d1)
    })
    .await;
    g1.store(false, Ordering::SeqCst);
    wait_table(&mem, vs_key(), "first host fails", |w| !w.contains_key(&d1)).await;
    lvs.shutdown().await;
}

/// `sorry_server_lvs_method`: the sorry server enters the table with its own forwarding method,
/// not the virtual server's `lb_kind`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorry_server_lvs_method_sets_the_sorry_forwarding() {
    use keepalived_rs::ipvs::ForwardMethod;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = |method: &str| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n    {FAST}\n    lb_kind NAT\n    sorry_server 127.0.0.9 80\n    {method}\n    real_server 127.0.1.1 80 {{\n        TCP_CHECK {{\n            connect_ip 127.0.0.1\n            connect_port {closed}\n        }}\n    }}\n}}\n"
        )
    };
    let sorry = DestKey::new(ip("127.0.0.9"), 80);
    for (method, want) in [
        ("sorry_server_lvs_method DR", ForwardMethod::DirectRoute),
        ("sorry_server_lvs_method TUN", ForwardMethod::Tunnel),
        ("", ForwardMethod::Masquerade),
    ] {
        let mem = MemoryBackend::new();
        let lvs = start(&text(method), &mem);
        wait_table(&mem, vs_key(), "sorry server in", |w| {
            w.contains_key(&sorry)
        })
        .await;
        let t = mem.table();
        let fwd = t[&vs_key()].dests[&sorry].forward;
        assert_eq!(fwd, want, "{method}");
        lvs.shutdown().await;
    }
}

/// UDP_CHECK and DNS_CHECK `bindto`/`bind_port`: the probe leaves from the configured source
/// (servers that answer only datagrams from 127.0.0.5 keep only the real servers whose
/// checker binds there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_dns_checks_bind_their_source() {
    let source: IpAddr = ip("127.0.0.5");
    // Answers only 127.0.0.5: an echo for UDP_CHECK, a one-answer reply for DNS_CHECK.
    async fn picky(dns: bool, source: IpAddr) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                if from.ip() != source {
                    continue;
                }
                let mut r = buf[..n].to_vec();
                if dns && r.len() >= 12 {
                    r[2] |= 0x80;
                    r[6..8].copy_from_slice(&1u16.to_be_bytes());
                }
                let _ = s.send_to(&r, from).await;
            }
        });
        a
    }
    let (u, d) = (picky(false, source).await, picky(true, source).await);
    let free_port = std::net::UdpSocket::bind("127.0.0.5:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rs = |n: u8, checker: &str, port: u16, extra: &str| {
        let body = if checker == "UDP_CHECK" {
            "payload 6162\n            require_reply 6162"
        } else {
            ""
        };
        format!(
            "    real_server 127.0.1.{n} 80 {{\n        {checker} {{\n            connect_ip 127.0.0.1\n            connect_port {port}\n            {extra}\n            {body}\n        }}\n    }}\n"
        )
    };
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    {FAST}\n{}{}{}{}{}}}\n",
        rs(1, "UDP_CHECK", u.port(), "bindto 127.0.0.5"),
        rs(2, "UDP_CHECK", u.port(), ""),
        rs(3, "DNS_CHECK", d.port(), "bindto 127.0.0.5"),
        rs(4, "DNS_CHECK", d.port(), ""),
        rs(
            5,
            "UDP_CHECK",
            u.port(),
            &format!("bindto 127.0.0.5\n            bind_port {free_port}")
        ),
    );
    let mem = MemoryBackend::new();
    let lvs = start(&text, &mem);
    let dk = |n: u8| DestKey::new(ip(&format!("127.0.1.{n}")), 80);
    let up = |w: &BTreeMap<DestKey, u32>| {
        (1..=5)
            .filter(|n| w.contains_key(&dk(*n)))
            .collect::<Vec<u8>>()
    };
    wait_table(&mem, vs_key(), "bound probes answered, others not", |w| {
        up(w) == [1, 3, 5]
    })
    .await;
    // And it stays so over several check rounds (delay_loop 0.2).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(up(&mem.weights(&vs_key()).unwrap_or_default()), [1, 3, 5]);
    lvs.shutdown().await;
}
