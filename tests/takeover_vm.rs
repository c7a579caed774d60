//! `--take-over` on a real IPVS kernel (issue #20, point (c), the LVS director part): keepalived
//! 2.2.7 runs a virtual server in the VM (tests/vm/ipvs-vm.sh boots Debian's kernel under qemu,
//! driven by tests/common/vm.rs), one real server up (a listener) and one down (its check times
//! out) and a client connection through the virtual server is open; keepalived-rs takes it
//! over: keepalived's processes are gone, the connection still echoes, and the IPVS table stays
//! exactly as keepalived left it at every 20 ms sample for 3 s; then, as the control, a
//! configured start of keepalived-rs puts the down server back until its first check fails.
//!
//! `KEEPALIVED_SKIP_VM=1` skips the VM.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/vm.rs"]
mod vm;
use vm::{in_guest, sh};

#[test]
fn takeover_in_vm() {
    let keepalived = "/usr/sbin/keepalived";
    if !std::path::Path::new(keepalived).exists() {
        eprintln!("SKIP: needs keepalived (scripts/install-deps.sh)");
        return;
    }
    let bins = format!("{} {keepalived}", env!("CARGO_BIN_EXE_keepalived-rs"));
    vm::run_guest_tests(
        "takeover_in_vm",
        "takeover-console.log",
        &[("IPVS_VM_TIMEOUT", "400"), ("IPVS_VM_EXTRA_BINS", &bins)],
        1,
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
            Some(&"TCP") | Some(&"UDP") if t.len() >= 2 => {
                let k = format!("{} {}", t[0], t[1]);
                out.entry(k.clone()).or_default();
                cur = Some(k);
            }
            Some(&"->") if t.len() >= 4 && t[1] != "RemoteAddress:Port" => {
                if let Some(k) = &cur {
                    if let Some(m) = out.get_mut(k) {
                        m.insert(t[1].to_string(), t[3].parse().unwrap_or(u32::MAX));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
    matches!(state, Some(s) if s != 'Z' && s != 'X')
}

#[test]
fn guest_takeover_adopts_the_ipvs_table() {
    if !in_guest() {
        return;
    }
    // 192.168.100.21:8080 answers; 192.168.100.22 does not exist on the VM's dummy LAN, so
    // its check hangs until connect_timeout.
    sh("ip addr add 192.168.100.21/32 dev lo");
    // The virtual address is routed (out of the VM's LAN); IPVS takes the local client's
    // packets before they leave.
    sh("ip route add 10.20.0.1/32 dev dummy0 || ip route add 10.20.0.1/32 dev lo");
    let l = std::net::TcpListener::bind("192.168.100.21:8080").expect("listener");
    // An echo server: a connection through the virtual server answers what it is sent.
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut s = s;
                let mut b = [0u8; 64];
                while let Ok(n) = s.read(&mut b) {
                    if n == 0 || s.write_all(&b[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let conf = "/tmp/takeover.conf";
    std::fs::write(
        conf,
        "virtual_server 10.20.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    delay_loop 1\n    real_server 192.168.100.21 8080 {\n        weight 2\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n    real_server 192.168.100.22 8080 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n",
    )
    .unwrap();
    let ka_log = std::fs::File::create("/tmp/ka.log").unwrap();
    let mut ka = Command::new("/bin/keepalived")
        .args(["-n", "-l", "-D", "-C", "-f", conf])
        .args(["-p", "/tmp/ka.pid", "-c", "/tmp/ka_c.pid"])
        .stdout(Stdio::from(ka_log.try_clone().unwrap()))
        .stderr(Stdio::from(ka_log))
        .spawn()
        .expect("start keepalived in the VM");
    let want: BTreeMap<String, BTreeMap<String, u32>> = [(
        "TCP 10.20.0.1:80".to_string(),
        [("192.168.100.21:8080".to_string(), 2)]
            .into_iter()
            .collect(),
    )]
    .into_iter()
    .collect();
    let ka_log = || std::fs::read_to_string("/tmp/ka.log").unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(60), || ipvsadm() == want),
        "keepalived did not program {want:?}: {:?}\n{}",
        ipvsadm(),
        ka_log()
    );
    let ka_pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "keepalived")
        })
        .collect();
    assert!(ka_pids.len() >= 2, "keepalived processes: {ka_pids:?}");
    // A connection through the virtual server (a local client, NAT), open across the takeover.
    let echo = |c: &mut std::net::TcpStream, what: &[u8]| {
        use std::io::{Read, Write};
        c.write_all(what).unwrap();
        let mut b = vec![0u8; what.len()];
        c.read_exact(&mut b).unwrap();
        assert_eq!(b, what);
    };
    let mut conn = std::net::TcpStream::connect_timeout(
        &"10.20.0.1:80".parse().unwrap(),
        Duration::from_secs(5),
    )
    .expect("connect through the virtual server");
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    echo(&mut conn, b"before");
    let log = std::fs::File::create("/tmp/ours.log").unwrap();
    let mut ours = Command::new("/bin/keepalived-rs")
        .args([
            "-n",
            "-l",
            "-G",
            "-C",
            "--no-config-watch",
            "--take-over",
            "/tmp/ka.pid",
        ])
        .args(["-f", conf, "-p", "/tmp/ours.pid"])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start keepalived-rs in the VM");
    let ours_log = || std::fs::read_to_string("/tmp/ours.log").unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(60), || ours_log()
            .contains("keepalived stopped silently")),
        "no takeover:\n{}\n{}",
        ours_log(),
        ka_log()
    );
    let _ = ka.try_wait();
    for p in &ka_pids {
        assert!(!alive(*p), "keepalived process {p} still running");
    }
    // keepalived's table, untouched, at every sample.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let t = ipvsadm();
        assert_eq!(
            t,
            want,
            "IPVS table changed after the takeover\n{}",
            ours_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = ours_log();
    assert!(
        log.contains("IPVS: 1 service(s), 1 real server(s) adopted"),
        "{log}"
    );
    // The connection opened under keepalived still goes through.
    echo(&mut conn, b"after the takeover");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(ours.id() as i32, libc::SIGTERM) };
    let _ = ours.wait();
    // The control (the test can fail): a configured start puts the down server in the table
    // until its first check fails.
    let mut plain = Command::new("/bin/keepalived-rs")
        .args([
            "-n",
            "-G",
            "-C",
            "--no-config-watch",
            "-f",
            conf,
            "-p",
            "/tmp/plain.pid",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keepalived-rs in the VM");
    assert!(
        wait_for(Duration::from_secs(10), || ipvsadm()
            .get("TCP 10.20.0.1:80")
            .is_some_and(|d| d.contains_key("192.168.100.22:8080"))),
        "a configured start did not put the down server in: {:?}",
        ipvsadm()
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(plain.id() as i32, libc::SIGTERM) };
    let _ = plain.wait();
}
