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
//! `KEEPALIVED_SKIP_VM=1` skips the VM.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[path = "common/vm.rs"]
mod vm;
use vm::{in_guest, sh};

const GUEST_TESTS: usize = 1;

#[test]
fn lvs_in_vm() {
    vm::run_guest_tests(
        "lvs_in_vm",
        "lvs-console.log",
        &[("IPVS_VM_TIMEOUT", "400")],
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
