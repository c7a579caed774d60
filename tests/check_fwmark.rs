//! Checker `fwmark` (SO_MARK on the probe socket), inside a throw-away network namespace
//! whose nftables output chain drops probes to the real server's port unless they carry mark
//! 0x42: a checker with `fwmark 66` keeps its real server, the same checker without it loses
//! it (TCP_CHECK, HTTP_GET, UDP_CHECK). Root only; skipped otherwise.

#[path = "common/netns.rs"]
mod netns;

use keepalived_rs::config::{load_str, LoadOptions};
use keepalived_rs::ipvs::writer::MemoryBackend;
use keepalived_rs::ipvs::{DestKey, ServiceKey};
use keepalived_rs::lvs::{start_lvs, IpvsSink, LvsOptions};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TCP_PORT: u16 = 8080;
const UDP_PORT: u16 = 8081;

#[test]
fn fwmark_marks_the_probes() {
    let Some(ns) = netns::NetNs::new() else {
        return;
    };
    // Unmarked packets to the real server's ports are dropped on their way out.
    let rules = format!(
        "table inet t {{\n chain out {{\n  type filter hook output priority 0;\n  \
         meta mark != 0x42 tcp dport {TCP_PORT} drop\n  \
         meta mark != 0x42 udp dport {UDP_PORT} drop\n }}\n}}\n"
    );
    let file = std::env::temp_dir().join(format!("check-fwmark-{}.nft", std::process::id()));
    std::fs::write(&file, rules).unwrap();
    let out = ns.exec_output("nft", &["-f", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "nft: {out:?}");
    ns.block_on(|| async {
        // An HTTP server (also the TCP_CHECK target) and a UDP echo server.
        let l = tokio::net::TcpListener::bind(("127.0.0.1", TCP_PORT))
            .await
            .unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                });
            }
        });
        let u = tokio::net::UdpSocket::bind(("127.0.0.1", UDP_PORT))
            .await
            .unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = u.recv_from(&mut buf).await {
                let _ = u.send_to(&buf[..n], from).await;
            }
        });
        let rs = |n: u8, checker: &str, port: u16, mark: &str| {
            let body = match checker {
                "HTTP_GET" => "url {\n path /\n }",
                "UDP_CHECK" => "payload 6162\n require_reply 6162",
                _ => "",
            };
            format!(
                "  real_server 127.0.1.{n} 80 {{\n    {checker} {{\n      connect_ip 127.0.0.1\n      connect_port {port}\n      {mark}\n      {body}\n    }}\n  }}\n"
            )
        };
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  delay_loop 0.2\n  connect_timeout 0.3\n  retry 0\n  warmup 0\n{}{}{}{}{}{}}}\n",
            rs(1, "TCP_CHECK", TCP_PORT, "fwmark 66"),
            rs(2, "TCP_CHECK", TCP_PORT, ""),
            rs(3, "HTTP_GET", TCP_PORT, "fwmark 66"),
            rs(4, "HTTP_GET", TCP_PORT, ""),
            rs(5, "UDP_CHECK", UDP_PORT, "fwmark 66"),
            rs(6, "UDP_CHECK", UDP_PORT, ""),
        );
        let l = load_str("fwmark.conf", &text, &LoadOptions::default());
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics.lines());
        let cfg = l.config;
        let mem = MemoryBackend::new();
        let opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current())
            .with_sink(IpvsSink::Memory(mem.clone()));
        let lvs = start_lvs(&cfg, opts);
        let key = ServiceKey::tcp("10.0.0.1".parse::<IpAddr>().unwrap(), 80);
        let d = |n: u8| DestKey::new(format!("127.0.1.{n}").parse().unwrap(), 80);
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut stable = 0;
        loop {
            let w = mem.weights(&key).unwrap_or_default();
            let up: Vec<u8> = (1..=6).filter(|n| w.contains_key(&d(*n))).collect();
            // The marked probes get through, the unmarked ones are dropped; seen over a few
            // check rounds so that a late failure would show.
            if up == [1, 3, 5] {
                stable += 1;
                if stable == 10 {
                    break;
                }
            } else {
                stable = 0;
            }
            assert!(Instant::now() < deadline, "in the table: {up:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        lvs.shutdown().await;
    });
}
