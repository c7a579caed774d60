//! `--take-over` (issue #20): keepalived-rs replaces a running keepalived 2.2.7 in place.
//! Two hosts run keepalived 2.2.7, h1 MASTER and h2 BACKUP; observed from outside with
//! `ip monitor address` on both hosts and tshark on the wire:
//! (a) take over the MASTER: zero address events on h1 and h2, h2 never MASTER (never sends an
//!     advert), no advert gap of h1 beyond advert_int + 60 ms, no priority 0;
//! (b) take over the BACKUP: the same, and our BACKUP is live (it takes the VIP when the
//!     keepalived MASTER stops);
//! (c) a sync group of two instances (tracking a script whose first result takes 1.5 s: the
//!     takeover waits for it before stopping keepalived), a use_vmac instance and an IPv6 (v3)
//!     instance, MASTER side: the same for every VRID (the advert gap for the IPv4 ones, the
//!     capture being IPv4's), the vmac kept;
//! (d) a configuration with a MASTER's VRID changed: refused, keepalived keeps running
//!     untouched (pid alive, VIP in place, still advertising).

mod common;

use common::lab::{self, max_gap, Lab};
use std::path::{Path, PathBuf};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// One VRRP instance (name, VRID, VIP last octet or hextet, use_vmac, IPv6 with VRRP v3).
struct Inst {
    name: &'static str,
    vrid: u8,
    vip: u8,
    vmac: bool,
    v6: bool,
}

impl Inst {
    fn vip(&self, lab: &Lab) -> String {
        if self.v6 {
            lab.vip6(u16::from(self.vip))
        } else {
            lab.vip4(self.vip)
        }
    }
}

/// keepalived.conf for host `me` with `insts` at priority `prio`, in sync group G1 with
/// `sync` (names, tracking a script whose every run takes 1.5 s), advert_int 1.
fn conf(lab: &Lab, prio: u8, insts: &[Inst], sync: &[&str]) -> String {
    let mut s = String::from("global_defs {\n    router_id lab\n}\n");
    if !sync.is_empty() {
        s.push_str(&format!(
            "vrrp_script slow {{\n    script \"/bin/sleep 1.5\"\n    interval 3\n    timeout 2\n}}\nvrrp_sync_group G1 {{\n    group {{\n        {}\n    }}\n    track_script {{\n        slow\n    }}\n}}\n",
            sync.join("\n        ")
        ));
    }
    for i in insts {
        s.push_str(&format!(
            "vrrp_instance {} {{\n    state BACKUP\n    interface eth0\n{}{}    virtual_router_id {}\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {}/{}\n    }}\n}}\n",
            i.name,
            if i.vmac { "    use_vmac\n" } else { "" },
            if i.v6 { "    version 3\n" } else { "" },
            i.vrid,
            i.vip(lab),
            if i.v6 { 64 } else { 24 }
        ));
    }
    s
}

/// Starts keepalived 2.2.7 in host i as `name` with its own $TMPDIR (its JSON dump is not
/// shared with other tests' keepalived); returns its main pid file.
fn start_keepalived(lab: &mut Lab, i: usize, name: &str, conf: &Path) -> PathBuf {
    let tmp = lab.dir.join(format!("{name}.tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let tmpdir = format!("TMPDIR={}", tmp.display());
    lab.start_keepalived_with(i, name, &[&tmpdir], conf)
}

/// The pair: keepalived MASTER on h1 (priority 150), BACKUP on h2 (100), every VIP on h1,
/// address monitors on both hosts, tshark on h2.
struct Pair {
    lab: Lab,
    pidfiles: [PathBuf; 2],
    confs: [PathBuf; 2],
    insts: Vec<Inst>,
}

impl Pair {
    fn start(insts: Vec<Inst>, sync: &[&str]) -> Option<Pair> {
        if lab::skip_without(true, &["tshark"]) {
            return None;
        }
        let mut lab = Lab::new(2);
        let c1 = lab.write("h1.conf", &conf(&lab, 150, &insts, sync));
        let c2 = lab.write("h2.conf", &conf(&lab, 100, &insts, sync));
        let p1 = start_keepalived(&mut lab, 1, "ka1", &c1);
        let vips: Vec<String> = insts.iter().map(|i| i.vip(&lab)).collect();
        let up = lab.wait_for(Duration::from_secs(20), || {
            vips.iter().all(|v| lab.has_addr(1, v))
        });
        assert!(up, "keepalived on h1 not MASTER\n{}", lab.logs(&["ka1"]));
        let p2 = start_keepalived(&mut lab, 2, "ka2", &c2);
        let n = insts.len();
        let backup = lab.wait_for(Duration::from_secs(20), || {
            lab.log("ka2").matches("Entering BACKUP STATE").count() >= n
        });
        assert!(
            backup,
            "keepalived on h2 not BACKUP\n{}",
            lab.logs(&["ka2"])
        );
        lab.monitor_addresses(1, "mon1");
        lab.monitor_addresses(2, "mon2");
        lab.capture_vrrp(2, "cap");
        // The capture is IPv4's (VRRP over IPv6 is not in it).
        let n4 = insts.iter().filter(|i| !i.v6).count();
        assert!(lab.wait_adverts("cap", 2 * n4, Duration::from_secs(10)));
        Some(Pair {
            lab,
            pidfiles: [p1, p2],
            confs: [c1, c2],
            insts,
        })
    }

    /// Runs `keepalived-rs --take-over` on host i with `conf`.
    fn take_over(&mut self, i: usize, conf: &Path) {
        let pidfile = self.pidfiles[i - 1].display().to_string();
        self.lab.start_rs_with(
            i,
            "ours",
            &[],
            OURS,
            &["-n", "-l", "-D", "-G", "--take-over", &pidfile],
            conf,
        );
    }

    /// Waits until our daemon says keepalived is stopped and its instances carry on.
    fn taken_over(&self) {
        let ok = self.lab.wait_for(Duration::from_secs(30), || {
            self.lab.log("ours").contains("keepalived stopped silently")
        });
        assert!(
            ok,
            "no takeover\n{}",
            self.lab.logs(&["ours", "ka1", "ka2"])
        );
    }

    /// No address event anywhere, h2 never MASTER, every VIP on h1 only, h1's adverts without
    /// a gap beyond advert_int + 60 ms and never priority 0.
    fn assert_nothing_moved(&self) {
        let lab = &self.lab;
        let logs = || lab.logs(&["ours", "ka1", "ka2"]);
        // Four more adverts per IPv4 VRID: the takeover is well inside the capture.
        let n4 = self.insts.iter().filter(|i| !i.v6).count();
        assert!(
            lab.wait_adverts("cap", 4 * n4, Duration::from_secs(10)),
            "{}",
            logs()
        );
        assert_eq!(
            lab.address_events("mon1"),
            Vec::<String>::new(),
            "{}",
            logs()
        );
        assert_eq!(
            lab.address_events("mon2"),
            Vec::<String>::new(),
            "{}",
            logs()
        );
        let adverts = lab.adverts("cap");
        let (h1, h2) = (lab.ip4(1), lab.ip4(2));
        assert!(
            !adverts.iter().any(|a| a.src == h2),
            "h2 sent adverts (became MASTER): {adverts:?}"
        );
        assert!(
            !adverts.iter().any(|a| a.prio == 0),
            "priority 0 sent: {adverts:?}"
        );
        for i in &self.insts {
            assert_eq!(lab.owners(&i.vip(lab)), vec![1], "{}", logs());
            if i.v6 {
                continue;
            }
            let (gap, at) = max_gap(&adverts, &h1, i.vrid).expect("adverts of h1");
            assert!(
                gap <= 1.06,
                "VRID {}: advert gap {gap:.3} s (ending at {at:.3}) beyond advert_int + 60 ms\n{}",
                i.vrid,
                logs()
            );
        }
    }
}

fn one() -> Vec<Inst> {
    vec![Inst {
        name: "VI_1",
        vrid: 51,
        vip: 100,
        vmac: false,
        v6: false,
    }]
}

#[test]
fn takes_over_the_master_without_moving_a_vip() {
    let _g = lab::serial();
    let Some(mut p) = Pair::start(one(), &[]) else {
        return;
    };
    let conf = p.confs[0].clone();
    p.take_over(1, &conf);
    p.taken_over();
    assert!(!p.lab.running("ka1"), "keepalived still running on h1");
    p.assert_nothing_moved();
    let ours = p.lab.log("ours");
    assert!(ours.contains("INIT -> MASTER (resume)"), "{ours}");
}

#[test]
fn takes_over_the_backup_which_stays_a_live_backup() {
    let _g = lab::serial();
    let Some(mut p) = Pair::start(one(), &[]) else {
        return;
    };
    let conf = p.confs[1].clone();
    p.take_over(2, &conf);
    p.taken_over();
    assert!(!p.lab.running("ka2"), "keepalived still running on h2");
    p.assert_nothing_moved();
    let ours = p.lab.log("ours");
    assert!(ours.contains("INIT -> BACKUP"), "{ours}");
    assert!(!ours.contains("-> MASTER"), "{ours}");
    // A live BACKUP: when keepalived on h1 stops (priority 0), ours takes the VIP.
    p.lab.signal("ka1", libc::SIGTERM);
    let vip = p.lab.vip4(100);
    assert!(
        p.lab
            .wait_for(Duration::from_secs(10), || p.lab.owners(&vip) == vec![2]),
        "{}",
        p.lab.logs(&["ours", "ka1"])
    );
}

#[test]
fn takes_over_a_sync_group_a_vmac_and_an_ipv6_instance() {
    let _g = lab::serial();
    let insts = vec![
        Inst {
            name: "VI_A",
            vrid: 61,
            vip: 100,
            vmac: false,
            v6: false,
        },
        Inst {
            name: "VI_B",
            vrid: 62,
            vip: 101,
            vmac: false,
            v6: false,
        },
        Inst {
            name: "VI_V",
            vrid: 63,
            vip: 102,
            vmac: true,
            v6: false,
        },
        Inst {
            name: "VI_6",
            vrid: 64,
            vip: 0x64,
            vmac: false,
            v6: true,
        },
    ];
    let Some(mut p) = Pair::start(insts, &["VI_A", "VI_B"]) else {
        return;
    };
    let ifindex = |lab: &Lab| {
        String::from_utf8_lossy(
            &lab.exec(1, &["cat", "/sys/class/net/vrrp.63/ifindex"])
                .stdout,
        )
        .trim()
        .to_string()
    };
    let before = ifindex(&p.lab);
    assert!(!before.is_empty(), "keepalived made no vmac");
    let conf = p.confs[0].clone();
    p.take_over(1, &conf);
    p.taken_over();
    assert!(!p.lab.running("ka1"), "keepalived still running on h1");
    p.assert_nothing_moved();
    assert_eq!(ifindex(&p.lab), before, "the vmac was re-created");
    let ours = p.lab.log("ours");
    assert_eq!(ours.matches("INIT -> MASTER (resume)").count(), 4, "{ours}");
}

#[test]
fn a_changed_vrid_is_refused_and_keepalived_runs_on_untouched() {
    let _g = lab::serial();
    let Some(mut p) = Pair::start(one(), &[]) else {
        return;
    };
    let text = std::fs::read_to_string(&p.confs[0])
        .unwrap()
        .replace("virtual_router_id 51", "virtual_router_id 52");
    let changed = p.lab.write("changed.conf", &text);
    let pid = std::fs::read_to_string(&p.pidfiles[0]).unwrap();
    let ka_from = p.lab.log("ka1").len();
    p.take_over(1, &changed);
    let status = p.lab.wait_exit("ours", Duration::from_secs(30));
    let ours = p.lab.log("ours");
    assert!(
        status.is_some_and(|s| !s.success()),
        "not refused: {status:?}\n{ours}"
    );
    assert!(ours.contains("take-over refused"), "{ours}");
    assert!(
        ours.contains("MASTER instance VI_1 (VRID 51 on eth0)") && ours.contains("VRID 52"),
        "{ours}"
    );
    // keepalived untouched: same pid file and process, still MASTER and advertising.
    assert!(p.lab.running("ka1"));
    assert_eq!(std::fs::read_to_string(&p.pidfiles[0]).unwrap(), pid);
    p.assert_nothing_moved();
    let ka = p.lab.log("ka1");
    assert!(
        !ka[ka_from..].contains("Entering") && !ka[ka_from..].contains("Stopping"),
        "{ka}"
    );
}

/// The IPVS side of a takeover, on an in-memory table (this host has no IPVS): a real server
/// keepalived had taken out (its check failing, slowly here: it hangs until connect_timeout)
/// stays out, where a configured start puts it in the table until its first check fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkers_start_from_the_ipvs_table_keepalived_left() {
    use keepalived_rs::config::{load_str, LoadOptions};
    use keepalived_rs::ipvs::writer::MemoryBackend;
    use keepalived_rs::ipvs::{DestKey, ServiceKey};
    use keepalived_rs::lvs::{start_lvs, Adopted, IpvsSink, LvsOptions};
    // Both servers accept and never answer: their HTTP checks fail only after 3 s.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    protocol TCP\n    delay_loop 0.2\n    real_server 127.0.1.1 80 {{\n        HTTP_GET {{\n            connect_ip 127.0.0.1\n            connect_port {port}\n            url {{\n                path /\n                status_code 200\n            }}\n            connect_timeout 3\n            retry 0\n            warmup 0\n        }}\n    }}\n    real_server 127.0.1.2 80 {{\n        HTTP_GET {{\n            connect_ip 127.0.0.1\n            connect_port {port}\n            url {{\n                path /\n                status_code 200\n            }}\n            connect_timeout 3\n            retry 0\n            warmup 0\n        }}\n    }}\n}}\n"
    );
    let l = load_str("test.conf", &text, &LoadOptions::default());
    assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
    let cfg = l.config;
    let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let up = DestKey::new("127.0.1.1".parse().unwrap(), 80);
    let down = DestKey::new("127.0.1.2".parse().unwrap(), 80);
    // keepalived's table: the first server in, the second taken out.
    let mut table = Adopted::new();
    table.insert(key, [(up, 1)].into_iter().collect());
    let run = |adopt: bool| {
        let mem = MemoryBackend::new();
        let opts = LvsOptions::new(&cfg, tokio::runtime::Handle::current())
            .with_sink(IpvsSink::Memory(mem.clone()));
        let opts = if adopt {
            opts.adopt(table.clone())
        } else {
            opts
        };
        (start_lvs(&cfg, opts), mem)
    };
    // Watches the table for 1.5 s: was the server taken out ever in it, and the other always
    // once the service is there?
    async fn watch(mem: &MemoryBackend, key: ServiceKey, up: DestKey, down: DestKey) -> bool {
        let mut seen_down = false;
        let until = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::Instant::now() < until {
            if let Some(w) = mem.weights(&key) {
                assert_eq!(w.get(&up), Some(&1), "{w:?}");
                seen_down |= w.contains_key(&down);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(mem.weights(&key).is_some(), "service never programmed");
        seen_down
    }
    let (h, mem) = run(true);
    assert!(
        !watch(&mem, key, up, down).await,
        "the server keepalived had taken out was put back"
    );
    h.shutdown().await;
    // The control: a configured start puts it in (the test can fail).
    let (h, mem) = run(false);
    assert!(watch(&mem, key, up, down).await);
    h.shutdown().await;
}

/// Nothing to take over: no pid file, or a pid file naming a process that is not keepalived.
/// Refused with the reason, exit status 1, nothing started.
#[test]
fn without_a_running_keepalived_it_refuses() {
    let dir = std::env::temp_dir().join(format!("takeover-none-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 9\n    priority 100\n    virtual_ipaddress {\n        192.0.2.9/32\n    }\n}\n",
    )
    .unwrap();
    let not_ka = dir.join("self.pid");
    std::fs::write(&not_ka, format!("{}\n", std::process::id())).unwrap();
    let missing = dir.join("missing.pid");
    for (pidfile, why) in [
        (&missing, "no keepalived to take over"),
        (&not_ka, "not keepalived"),
    ] {
        let out = std::process::Command::new(OURS)
            .args(["-n", "-l", "-G", "--no-config-watch", "--take-over"])
            .arg(pidfile)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.join("ours.pid"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("take-over refused") && err.contains(why),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
