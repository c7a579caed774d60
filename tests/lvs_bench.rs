//! Benchmark (ignored; run by scripts/bench-checkers.sh inside a network namespace):
//! 5000 real servers on TCP_CHECK at `delay_loop 1` against listeners on 5000 ports of
//! 10.1.0.1, the director on one current-thread runtime (as on the Checkers arbiter) with
//! metrics on and an in-memory IPVS table. Prints CPU% of one core and RSS over the window.
//!
//! Environment: `LVS_BENCH_RS` (default 5000), `LVS_BENCH_SECS` (default 30),
//! `LVS_BENCH_ADDR` (default 10.1.0.1), `LVS_BENCH_BASE_PORT` (default 20000).

use keepalived_rs::config::{load_str, LoadOptions};
use keepalived_rs::ipvs::writer::MemoryBackend;
use keepalived_rs::lvs::{start_lvs, IpvsSink, LvsOptions};
use keepalived_rs::telemetry::metrics::{Format, Metrics};
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// (utime, stime) of this process, in seconds.
fn cpu_seconds() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (
        f[11].parse::<f64>().unwrap() / hz,
        f[12].parse::<f64>().unwrap() / hz,
    )
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn checks_total(m: &Metrics) -> u64 {
    m.encode(Format::Text)
        .lines()
        .filter(|l| l.starts_with("keepalived_checker_checks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Child process: the real servers (5000 listening ports, accept and close).
#[test]
#[ignore]
fn bench_listeners() {
    if std::env::var_os("LVS_BENCH_LISTENER").is_none() {
        return;
    }
    let n: u16 = env_or("LVS_BENCH_RS", 5000);
    let addr: String = env_or("LVS_BENCH_ADDR", "10.1.0.1".to_string());
    let base: u16 = env_or("LVS_BENCH_BASE_PORT", 20000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        for i in 0..n {
            let l = tokio::net::TcpListener::bind((addr.as_str(), base + i))
                .await
                .expect("bind");
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    drop(s);
                }
            });
        }
        println!("LISTENERS-READY");
        std::future::pending::<()>().await;
    });
}

#[test]
#[ignore]
fn bench_5000_tcp_checks() {
    if std::env::var_os("LVS_BENCH_LISTENER").is_some() {
        return;
    }
    let n: u16 = env_or("LVS_BENCH_RS", 5000);
    let secs: u64 = env_or("LVS_BENCH_SECS", 30);
    let addr: String = env_or("LVS_BENCH_ADDR", "10.1.0.1".to_string());
    let base: u16 = env_or("LVS_BENCH_BASE_PORT", 20000);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "bench_listeners", "--nocapture"])
        .env("LVS_BENCH_LISTENER", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let out = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(out).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("LISTENERS-READY") => break,
                Some(_) => continue,
                None => panic!("listener process ended"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
    }
    // 50 virtual servers x 100 real servers.
    let mut text = String::new();
    let per_vs = 100u16;
    for v in 0..n.div_ceil(per_vs) {
        let _ = writeln!(
            text,
            "virtual_server 10.0.{}.{} 80 {{\n    delay_loop 1\n    connect_timeout 2\n    lb_algo wrr",
            v / 250,
            v % 250 + 1
        );
        for i in v * per_vs..((v + 1) * per_vs).min(n) {
            let _ = writeln!(
                text,
                "    real_server {addr} {} {{\n        weight 1\n        TCP_CHECK {{\n        }}\n    }}",
                base + i
            );
        }
        text.push_str("}\n");
    }
    let l = load_str("bench.conf", &text, &LoadOptions::default());
    assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
    let cfg = l.config;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let mem = MemoryBackend::new();
    let (cpu, wall, rss, checks, up) = rt.block_on(async {
        let opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current())
            .with_sink(IpvsSink::Memory(mem.clone()))
            .with_metrics(metrics.clone());
        let lvs = start_lvs(&cfg, opts);
        // Warm up: every checker has run at least once (warmup spreads first checks over 1 s).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (c0, t0, k0) = (cpu_seconds(), Instant::now(), checks_total(&metrics));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (c1, t1, k1) = (cpu_seconds(), Instant::now(), checks_total(&metrics));
        let snap = lvs.snapshot().await;
        let up: usize = snap
            .virtual_servers
            .iter()
            .map(|v| v.real_servers.iter().filter(|r| r.alive).count())
            .sum();
        let rss = rss_kib();
        lvs.shutdown().await;
        (
            (c1.0 - c0.0, c1.1 - c0.1),
            (t1 - t0).as_secs_f64(),
            rss,
            k1 - k0,
            up,
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    let pct = 100.0 * (cpu.0 + cpu.1) / wall;
    // Loopback: the listener side's TCP work runs in the sender's softirq, so much of the
    // system time is the kernel answering our own connects.
    println!(
        "BENCH: {n} TCP_CHECK real servers, delay_loop 1: {:.0} checks/s, CPU {pct:.1}% of one core (user {:.1}%, system {:.1}%), RSS {:.1} MiB, {up}/{n} up ({wall:.0} s)",
        checks as f64 / wall,
        100.0 * cpu.0 / wall,
        100.0 * cpu.1 / wall,
        rss as f64 / 1024.0
    );
    assert_eq!(up, n as usize, "every real server is up");
}
