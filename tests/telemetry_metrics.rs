//! The `/metrics` endpoint over real TCP: content, content types, robustness, `promtool check
//! metrics`, and (when the `prometheus` binary is installed) a real Prometheus scrape.

use keepalived_rs::mgmt::http::{MetricsServer, MAX_CONNECTIONS, MAX_REQUEST_HEAD};
use keepalived_rs::telemetry::{BfdState, Metrics, RxDrop, VrrpState};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn populated() -> Arc<Metrics> {
    let m = Arc::new(Metrics::new());
    let vi = m.vrrp_instance("VI_1", "eth0", 51);
    vi.priority(100, 100);
    vi.transition(VrrpState::Init, VrrpState::Backup, "startup");
    vi.transition(VrrpState::Backup, VrrpState::Master, "master_down");
    for _ in 0..3 {
        vi.advert_sent(100);
    }
    vi.advert_received(0);
    vi.rx_drop(RxDrop::Ttl);
    vi.rx_drop(RxDrop::Auth);
    // Flat API (looked up by name).
    m.vrrp_state("VI_6", 52, "eth1", VrrpState::Backup);
    m.vrrp_advert_received("VI_6", 150);
    m.vrrp_priority("VI_6", 90, 100);
    m.vrrp_rx_drop("VI_6", RxDrop::UnicastSource);
    m.vrrp_master_change("VI_6");
    m.vrrp_advert_sent("unknown instance", 1); // ignored, no panic
    m.vrrp_rx_drop_unmatched("eth0", RxDrop::Checksum);
    m.sync_group_state("G1", VrrpState::Master);
    m.script_result("chk_haproxy", true, Duration::from_millis(12));
    m.script_result("chk_haproxy", false, Duration::from_millis(40));
    m.checker_result(
        "10.0.0.1:80/TCP",
        "192.168.0.10:80",
        "HTTP_GET",
        true,
        Duration::from_millis(3),
    );
    let c = m.checker("10.0.0.1:80/TCP", "192.168.0.11:80", "TCP_CHECK");
    c.result(false, Duration::from_secs(3));
    m.real_server("10.0.0.1:80/TCP", "192.168.0.10:80", true, 100);
    m.real_server("10.0.0.1:80/TCP", "192.168.0.11:80", false, 0);
    m.virtual_server_quorum("10.0.0.1:80/TCP", true);
    m.bfd_transition("bfd_peer", BfdState::Down, BfdState::Up);
    m.reload(Duration::from_millis(35), true);
    m.reload(Duration::from_millis(2), false);
    m
}

fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn body(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

fn server(m: Arc<Metrics>) -> (tokio::runtime::Runtime, MetricsServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let srv = rt
        .block_on(MetricsServer::bind("127.0.0.1:0".parse().unwrap(), m))
        .unwrap();
    (rt, srv)
}

#[test]
fn serves_metrics_text() {
    let (_rt, srv) = server(populated());
    let resp = http(
        srv.local_addr(),
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    let b = body(&resp);
    let len: usize = resp
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(len, b.len());

    for line in [
        "keepalived_up 1",
        "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 2",
        "keepalived_vrrp_state{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\"} 1",
        "keepalived_vrrp_priority{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\"} 90",
        "keepalived_vrrp_configured_priority{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\"} 100",
        "keepalived_vrrp_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 3",
        "keepalived_vrrp_advertisements_received_total{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\"} 1",
        "keepalived_vrrp_priority_zero_received_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1",
        "keepalived_vrrp_become_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1",
        "keepalived_vrrp_master_changes_total{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\"} 1",
        "keepalived_vrrp_transitions_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",from=\"BACKUP\",to=\"MASTER\",reason=\"master_down\"} 1",
        "keepalived_vrrp_rx_dropped_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",reason=\"ttl\"} 1",
        "keepalived_vrrp_rx_dropped_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",reason=\"auth\"} 1",
        "keepalived_vrrp_rx_dropped_total{iname=\"VI_6\",intf=\"eth1\",vrid=\"52\",reason=\"unicast_src\"} 1",
        "keepalived_vrrp_rx_dropped_unmatched_total{intf=\"eth0\",reason=\"checksum\"} 1",
        "keepalived_vrrp_sync_group_state{name=\"G1\"} 2",
        "keepalived_script_status{name=\"chk_haproxy\"} 0",
        "keepalived_script_runs_total{name=\"chk_haproxy\",result=\"success\"} 1",
        "keepalived_script_runs_total{name=\"chk_haproxy\",result=\"failure\"} 1",
        "keepalived_script_duration_seconds_count{name=\"chk_haproxy\"} 2",
        "keepalived_checker_status{vs=\"10.0.0.1:80/TCP\",rs=\"192.168.0.10:80\",checker=\"HTTP_GET\"} 1",
        "keepalived_checker_status{vs=\"10.0.0.1:80/TCP\",rs=\"192.168.0.11:80\",checker=\"TCP_CHECK\"} 0",
        "keepalived_checker_last_duration_seconds{vs=\"10.0.0.1:80/TCP\",rs=\"192.168.0.11:80\",checker=\"TCP_CHECK\"} 3.0",
        "keepalived_real_server_up{vs=\"10.0.0.1:80/TCP\",rs=\"192.168.0.11:80\"} 0",
        "keepalived_real_server_weight{vs=\"10.0.0.1:80/TCP\",rs=\"192.168.0.10:80\"} 100",
        "keepalived_virtual_server_quorum_up{vs=\"10.0.0.1:80/TCP\"} 1",
        "keepalived_bfd_state{name=\"bfd_peer\"} 3",
        "keepalived_bfd_transitions_total{name=\"bfd_peer\",from=\"Down\",to=\"Up\"} 1",
        "keepalived_reloads_total{result=\"success\"} 1",
        "keepalived_reloads_total{result=\"failure\"} 1",
        "keepalived_reload_duration_seconds_count 2",
        "keepalived_config_last_reload_successful 0",
        "# TYPE keepalived_vrrp_advertisements_sent_total counter",
        "# TYPE keepalived_reload_duration_seconds histogram",
    ] {
        assert!(
            b.lines().any(|l| l == line),
            "missing line {line:?} in\n{b}"
        );
    }
    assert!(b
        .lines()
        .any(|l| l.starts_with("keepalived_build_info{version=\"")));
    assert!(!b.contains("unknown instance"));
}

#[test]
fn openmetrics_on_request() {
    let (_rt, srv) = server(populated());
    let resp = http(
        srv.local_addr(),
        b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5\r\n\r\n",
    );
    assert!(resp.contains("Content-Type: application/openmetrics-text; version=1.0.0"));
    assert!(body(&resp).ends_with("# EOF\n"));
    assert!(body(&resp).contains("# TYPE keepalived_vrrp_advertisements_sent counter"));
}

#[test]
fn errors_and_garbage() {
    let (_rt, srv) = server(populated());
    let a = srv.local_addr();
    assert!(http(a, b"GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    assert!(http(a, b"DELETE /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
    assert!(
        http(a, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
            .starts_with("HTTP/1.1 400 ")
    );
    // Oversized head: 431, connection closed, no unbounded buffering.
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEAD * 2));
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&big);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 431 "));
    // Clients that connect and close, or send half a request and close.
    for junk in [
        &b""[..],
        b"GET /met",
        b"\0\0\0\0",
        b"GET /metrics HTTP/1.1\r\n",
    ] {
        let mut s = TcpStream::connect(a).unwrap();
        let _ = s.write_all(junk);
        drop(s);
    }
    // Still serving.
    assert!(http(a, b"GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200 "));
    // HEAD: headers only.
    let head = http(a, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 ") && body(&head).is_empty());
}

fn have(bin: &str) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn promtool_check_metrics() {
    if !have("promtool") {
        println!(
            "SKIP promtool_check_metrics: promtool not installed (Debian package `prometheus`)"
        );
        return;
    }
    let (_rt, srv) = server(populated());
    let resp = http(srv.local_addr(), b"GET /metrics HTTP/1.1\r\n\r\n");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body(&resp).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {text}");
    // promtool prints lint problems even with exit 0 in some versions: require none.
    assert!(text.trim().is_empty(), "promtool lint: {text}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a real Prometheus scraping the endpoint every second and asks its API for a value.
#[test]
fn real_prometheus_scrapes_endpoint() {
    if !have("prometheus") {
        println!("SKIP real_prometheus_scrapes_endpoint: prometheus not installed");
        return;
    }
    let (_rt, srv) = server(populated());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: keepalived\n    static_configs:\n      - targets: ['{}']\n",
            srv.local_addr()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let mut ok = false;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        if TcpStream::connect(api).is_err() {
            continue;
        }
        last = http(
            api,
            b"GET /api/v1/query?query=keepalived_vrrp_state%7Biname%3D%22VI_1%22%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body(&last)) else {
            continue;
        };
        let result = &v["data"]["result"];
        if let Some(first) = result.as_array().and_then(|a| a.first()) {
            assert_eq!(first["value"][1], "2", "{v}");
            assert_eq!(first["metric"]["vrid"], "51");
            assert_eq!(first["metric"]["job"], "keepalived");
            ok = true;
            break;
        }
    }
    // Also check target health: up == 1 means the scrape parsed without error.
    let up = http(
        api,
        b"GET /api/v1/query?query=up%7Bjob%3D%22keepalived%22%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let _ = prom.kill();
    let _ = prom.wait();
    assert!(
        ok,
        "Prometheus never returned the series; last answer:\n{last}"
    );
    let v: serde_json::Value = serde_json::from_str(body(&up)).unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
}

/// Opens `n` slow clients: even ones connect and send nothing, odd ones send one byte of a
/// request head per second. Each stops by itself after `for_how_long` (or when the server
/// drops it). Returns once all are connected.
fn slow_clients(
    addr: SocketAddr,
    n: usize,
    for_how_long: Duration,
) -> Vec<std::thread::JoinHandle<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handles = (0..n)
        .map(|i| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr);
                let _ = tx.send(());
                let Ok(mut s) = s else { return };
                let end = Instant::now() + for_how_long;
                let head = b"GET /metrics HTTP/1.1\r\n";
                let mut k = 0;
                while Instant::now() < end {
                    if i % 2 == 1 && s.write_all(&head[k % head.len()..][..1]).is_err() {
                        return;
                    }
                    k += 1;
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        })
        .collect();
    for _ in 0..n {
        rx.recv().unwrap();
    }
    handles
}

fn timed_scrape(addr: SocketAddr) -> (Duration, String) {
    let t = Instant::now();
    let r = http(addr, b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n");
    (t.elapsed(), r)
}

#[test]
fn a_scrape_is_answered_within_a_second_with_100_slow_clients_connected() {
    let (_rt, srv) = server(populated());
    let addr = srv.local_addr();
    let slow = slow_clients(addr, 100, Duration::from_secs(4));
    for _ in 0..3 {
        let (took, r) = timed_scrape(addr);
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(
            took < Duration::from_secs(1),
            "scrape took {took:?} with 100 slow clients"
        );
    }
    for h in slow {
        h.join().unwrap();
    }
}

#[test]
fn past_the_connection_limit_the_oldest_idle_connection_makes_room() {
    let (_rt, srv) = server(populated());
    let addr = srv.local_addr();
    let slow = slow_clients(addr, MAX_CONNECTIONS + 20, Duration::from_secs(4));
    let (took, r) = timed_scrape(addr);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(
        took < Duration::from_secs(1),
        "scrape took {took:?} with {} slow clients",
        MAX_CONNECTIONS + 20
    );
    for h in slow {
        h.join().unwrap();
    }
}
