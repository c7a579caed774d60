//! The full LVS director (IPVS writer + checkers) on a real IPVS kernel.
//!
//! Like `ipvs_vm.rs`, the host-side test `lvs_in_vm` boots Debian's kernel under qemu TCG
//! (tests/vm/ipvs-vm.sh, driven by tests/common/vm.rs) with this test binary and runs the
//! `guest_*` tests inside the VM. The guest starts the director from a keepalived.conf with TCP listeners inside the VM as real
//! servers, takes them down and up, and compares `ipvsadm -Ln` with what keepalived would
//! program: failed servers removed (or weight 0 with inhibit_on_failure), the sorry server when
//! all are down, an IPVS error on one service logged and retried without stopping the others,
//! a service deleted behind our back restored, everything released on shutdown.
//!
//! `guest_daemon_serves_ipvs_counters` runs the daemon itself in the VM and scrapes its
//! `/metrics`: the IPVS counters gen2brain/keepalived_exporter exports (`keepalived_lvs_*`, via
//! observability/compat-rules.yml) are there, equal to `ipvsadm -Ln --stats`.
//!
//! `KEEPALIVED_SKIP_VM=1` skips the VM.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/vm.rs"]
mod vm;
use vm::{in_guest, sh};
/// Where the VM has the daemon (tests/vm/ipvs-vm.sh copies it there, see `IPVS_VM_EXTRA_BINS`).
const GUEST_DAEMON: &str = "/bin/keepalived-rs";

const GUEST_TESTS: usize = 2;

#[test]
fn lvs_in_vm() {
    vm::run_guest_tests(
        "lvs_in_vm",
        "lvs-console.log",
        &[
            ("IPVS_VM_TIMEOUT", "400"),
            ("IPVS_VM_EXTRA_BINS", env!("CARGO_BIN_EXE_keepalived-rs")),
        ],
        GUEST_TESTS,
    );
}

/// `ipvsadm -Ln` as service → (real server → weight).
fn ipvsadm() -> BTreeMap<String, BTreeMap<String, u32>> {
    let text = sh("ipvsadm -Ln");
    let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut cur = None;
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.first() {
            Some(&"TCP") | Some(&"UDP") | Some(&"SCTP") | Some(&"FWM") if t.len() >= 2 => {
                let k = format!("{} {}", t[0], t[1]);
                out.entry(k.clone()).or_default();
                cur = Some(k);
            }
            Some(&"->") if t.len() >= 4 && t[1] != "RemoteAddress:Port" => {
                if let Some(k) = &cur {
                    out.get_mut(k)
                        .unwrap()
                        .insert(t[1].to_string(), t[3].parse().unwrap_or(u32::MAX));
                }
            }
            _ => {}
        }
    }
    out
}

fn table(v: &[(&str, &[(&str, u32)])]) -> BTreeMap<String, BTreeMap<String, u32>> {
    v.iter()
        .map(|(s, d)| {
            (
                s.to_string(),
                d.iter().map(|(a, w)| (a.to_string(), *w)).collect(),
            )
        })
        .collect()
}

async fn expect(what: &str, want: BTreeMap<String, BTreeMap<String, u32>>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = ipvsadm();
        if got == want {
            eprintln!("LVS-VM: {what}: ok\n{}", sh("ipvsadm -Ln"));
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: ipvsadm -Ln is\n{got:#?}\nwant\n{want:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn listener(addr: &str) -> tokio::task::JoinHandle<()> {
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    })
}

/// `ipvsadm -Ln --stats --exact` as the `keepalived_ipvs_*` sample lines /metrics should show.
fn ipvsadm_stats_lines() -> std::collections::BTreeSet<String> {
    let text = sh("ipvsadm -Ln --stats --exact");
    let mut out = std::collections::BTreeSet::new();
    let mut vs: Option<(String, Option<String>)> = None; // (vs label, protocol for real servers)
    let names = [
        "connections",
        "in_packets",
        "out_packets",
        "in_bytes",
        "out_bytes",
    ];
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        let (kind, labels, nums) = match t.first() {
            Some(&p @ ("TCP" | "UDP" | "SCTP")) if t.len() == 7 => {
                let (ip, port) = t[1].rsplit_once(':').unwrap();
                let proto = p.to_lowercase();
                let name = format!("[{}]:{proto}:{port}", ip.trim_matches(['[', ']']));
                vs = Some((name.clone(), Some(proto)));
                ("service", format!("vs=\"{name}\""), &t[2..])
            }
            Some(&"FWM") if t.len() == 7 => {
                let name = format!("FWM {}", t[1]);
                vs = Some((name.clone(), None));
                ("service", format!("vs=\"{name}\""), &t[2..])
            }
            Some(&"->") if t.len() == 7 && t[1] != "RemoteAddress:Port" => {
                let (v, proto) = vs.clone().expect("real server before its service");
                let (ip, port) = t[1].rsplit_once(':').unwrap();
                let ip = ip.trim_matches(['[', ']']);
                let rs = match proto {
                    Some(p) => format!("[{ip}]:{p}:{port}"),
                    None => format!("[{ip}]:{port}"),
                };
                ("real_server", format!("vs=\"{v}\",rs=\"{rs}\""), &t[2..])
            }
            _ => continue,
        };
        for (n, v) in names.iter().zip(nums) {
            out.insert(format!("keepalived_ipvs_{kind}_{n}_total{{{labels}}} {v}"));
        }
    }
    out
}

/// The IPVS counters on /metrics (gen2brain/keepalived_exporter's `keepalived_lvs_*`, read from
/// the kernel at scrape time) are the kernel's: the same lines as `ipvsadm -Ln --stats`.
async fn ipvs_counters_match_ipvsadm() {
    use keepalived_rs::telemetry::metrics::Format;
    let m = keepalived_rs::telemetry::Metrics::new();
    m.add_scrape_hook(std::sync::Arc::new(
        keepalived_rs::lvs::stats::IpvsStatsHook::default(),
    ));
    // Some traffic through a virtual service, from a local client.
    sh("ip addr add 10.10.10.1/32 dev dummy0");
    let c = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect("10.10.10.1:80"),
    )
    .await;
    eprintln!("LVS-VM: local client through 10.10.10.1:80: {c:?}");
    assert!(matches!(c, Ok(Ok(_))), "local client through IPVS: {c:?}");
    drop(c);
    // The kernel folds its per-CPU counters into what it reports every 2 s (estimator).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let want = ipvsadm_stats_lines();
    assert!(
        want.iter().any(|l| l
            .starts_with("keepalived_ipvs_service_connections_total{vs=\"[10.10.10.1]:tcp:80\"}")
            && !l.ends_with(" 0")),
        "the connection is not counted: {want:#?}"
    );
    m.refresh().await;
    let text = m.encode(Format::Text);
    let got: std::collections::BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("keepalived_ipvs_"))
        .map(str::to_string)
        .collect();
    assert!(want.len() >= 3 * 5, "{want:#?}");
    assert_eq!(
        got,
        want,
        "/metrics:\n{text}\nipvsadm:\n{}",
        sh("ipvsadm -Ln --stats --exact")
    );
    eprintln!(
        "LVS-VM: IPVS counters on /metrics match ipvsadm --stats:\n{}",
        got.iter().cloned().collect::<Vec<_>>().join("\n")
    );
    sh("ip addr del 10.10.10.1/32 dev dummy0");
}

#[test]
fn guest_director_follows_real_servers() {
    if !in_guest() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("info")
        .try_init();
    sh("ip addr add 192.168.100.11/24 dev dummy0 && ip addr add 192.168.100.12/24 dev dummy0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use keepalived_rs::config::{load_str, LoadOptions};
        use keepalived_rs::ipvs::writer::WriterConfig;
        use keepalived_rs::lvs::{start_lvs, LvsOptions};
        let text = r#"
virtual_server 10.10.10.1 80 {
    protocol TCP
    delay_loop 0.5
    connect_timeout 1
    retry 0
    warmup 0
    lb_algo rr
    lb_kind NAT
    sorry_server 192.168.100.13 80
    real_server 192.168.100.11 8080 {
        weight 2
        TCP_CHECK {
        }
    }
    real_server 192.168.100.12 8080 {
        weight 3
        TCP_CHECK {
        }
    }
}
virtual_server 10.10.10.2 80 {
    protocol TCP
    delay_loop 0.5
    connect_timeout 1
    retry 0
    warmup 0
    lb_algo wrr
    inhibit_on_failure
    real_server 192.168.100.11 8080 {
        TCP_CHECK {
        }
    }
}
virtual_server fwmark 7 {
    delay_loop 0.5
    connect_timeout 1
    retry 0
    warmup 0
    lb_algo rr
    real_server 192.168.100.12 8080 {
        TCP_CHECK {
        }
    }
}
virtual_server 10.10.10.3 80 {
    protocol TCP
    ! Debian 6.1 has no ip_vs_twos (6.2+): the kernel refuses this service, an error on this
    ! service only, logged and retried while the others are programmed.
    lb_algo twos
    real_server 203.0.113.5 80 {
    }
}
"#;
        let l = load_str("keepalived.conf", text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        let cfg = l.config;
        let mut opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current());
        opts.writer_config = WriterConfig {
            resync_interval: Duration::from_secs(2),
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
            ..opts.writer_config
        };
        let a = listener("192.168.100.11:8080").await;
        let b = listener("192.168.100.12:8080").await;
        let lvs = start_lvs(&cfg, opts);
        expect(
            "all up",
            table(&[
                ("TCP 10.10.10.1:80", &[("192.168.100.11:8080", 2), ("192.168.100.12:8080", 3)]),
                ("TCP 10.10.10.2:80", &[("192.168.100.11:8080", 1)]),
                ("FWM 7", &[("192.168.100.12:8080", 1)]),
            ]),
        )
        .await;
        assert!(lvs.writer().status().errors > 0, "the refused destination is an error");
        ipvs_counters_match_ipvsadm().await;
        a.abort();
        expect(
            "first listener killed: removed, inhibited to weight 0",
            table(&[
                ("TCP 10.10.10.1:80", &[("192.168.100.12:8080", 3)]),
                ("TCP 10.10.10.2:80", &[("192.168.100.11:8080", 0)]),
                ("FWM 7", &[("192.168.100.12:8080", 1)]),
            ]),
        )
        .await;
        b.abort();
        expect(
            "all down: sorry server",
            table(&[
                ("TCP 10.10.10.1:80", &[("192.168.100.13:80", 1)]),
                ("TCP 10.10.10.2:80", &[("192.168.100.11:8080", 0)]),
                ("FWM 7", &[]),
            ]),
        )
        .await;
        let _a = listener("192.168.100.11:8080").await;
        expect(
            "first listener back",
            table(&[
                ("TCP 10.10.10.1:80", &[("192.168.100.11:8080", 2)]),
                ("TCP 10.10.10.2:80", &[("192.168.100.11:8080", 1)]),
                ("FWM 7", &[]),
            ]),
        )
        .await;
        // Someone else deletes a service and edits a weight: the resync repairs both.
        sh("ipvsadm -D -t 10.10.10.2:80 && ipvsadm -e -t 10.10.10.1:80 -r 192.168.100.11:8080 -m -w 9");
        expect(
            "repaired after outside changes",
            table(&[
                ("TCP 10.10.10.1:80", &[("192.168.100.11:8080", 2)]),
                ("TCP 10.10.10.2:80", &[("192.168.100.11:8080", 1)]),
                ("FWM 7", &[]),
            ]),
        )
        .await;
        lvs.shutdown().await;
        expect("released on shutdown", table(&[])).await;
    });
}

fn scrape(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

#[test]
fn guest_daemon_serves_ipvs_counters() {
    if !in_guest() {
        return;
    }
    let conf = "/tmp/ka-ipvs.conf";
    std::fs::write(
        conf,
        "virtual_server 10.20.0.1 80 {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    real_server 192.168.100.21 8080 {\n        weight 2\n    }\n    real_server 192.168.100.22 8080 {\n    }\n}\n",
    )
    .unwrap();
    let mut daemon = Command::new(GUEST_DAEMON)
        .args(["-n", "-l", "-G", "-C", "-f", conf, "-p", "/tmp/ka-ipvs.pid"])
        .args(["--metrics-listen", "127.0.0.1:9650"])
        .spawn()
        .expect("start the daemon in the VM");
    let vs = "vs=\"[10.20.0.1]:tcp:80\"";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut body = String::new();
    while Instant::now() < deadline {
        body = scrape("127.0.0.1:9650").unwrap_or_default();
        if body.contains(&format!("keepalived_ipvs_real_server_connections_total{{{vs},rs=\"[192.168.100.22]:tcp:8080\"}}")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let want: std::collections::BTreeSet<String> = ipvsadm_stats_lines()
        .into_iter()
        .filter(|l| l.contains(vs))
        .collect();
    let got: std::collections::BTreeSet<String> = body
        .lines()
        .filter(|l| l.starts_with("keepalived_ipvs_") && l.contains(vs))
        .map(str::to_string)
        .collect();
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let _ = daemon.wait();
    // 5 service counters + 5 per real server.
    assert_eq!(
        want.len(),
        15,
        "{want:#?}\n{}",
        sh("ipvsadm -Ln --stats --exact")
    );
    assert_eq!(got, want, "/metrics:\n{body}");
    for t in [
        "# TYPE keepalived_ipvs_service_connections_total counter",
        "# TYPE keepalived_ipvs_real_server_out_bytes_total counter",
    ] {
        assert!(body.contains(t), "{t}\n{body}");
    }
    eprintln!("LVS-VM: the daemon's /metrics has the IPVS counters of ipvsadm --stats");
    assert_eq!(
        sh("ipvsadm -Ln --stats --exact")
            .matches("10.20.0.1")
            .count(),
        0,
        "released on exit"
    );
}
