//! Logs of the running daemon: one human-readable line per VRRP transition, with the words of
//! its span (`VRRP_Instance(VI_71) BACKUP -> MASTER (master_down_timer), priority 150`), on
//! stderr (`-l`) and through syslog with the `-S` facility (to a syslog socket the test binds).

mod common;

use common::lab::{self, Lab};
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const WAIT: Duration = Duration::from_secs(15);

#[test]
fn one_line_per_transition_on_stderr_and_syslog() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let vips = [format!("{vip}/24")];
    let c1 = lab.write(
        "ours.conf",
        &lab::vrrp_conf("", 71, 150, 3, "0.1", &vips, ""),
    );
    let c2 = lab.write("ka.conf", &lab::vrrp_conf("", 71, 200, 3, "0.1", &vips, ""));
    let sock = lab.dir.join("syslog");
    let rx_sock = UnixDatagram::bind(&sock).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = rx_sock.recv(&mut buf) {
            if tx
                .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    let env = format!("KEEPALIVED_RS_SYSLOG_SOCKET={}", sock.display());
    lab.start_rs_with(1, "ours", &[&env], OURS, &["-n", "-l", "-S", "local3"], &c1);
    let up = "VRRP_Instance(VI_71) BACKUP -> MASTER (master_down_timer), priority 150";
    assert!(
        lab.wait_for(WAIT, || lab.log("ours").contains(up)),
        "{}",
        lab.log("ours")
    );
    // A higher priority router appears: we step down, for that reason.
    lab.start_keepalived(2, "ka", &c2);
    let down = "VRRP_Instance(VI_71) MASTER -> BACKUP (higher_priority_advert), priority 150";
    assert!(
        lab.wait_for(WAIT, || lab.log("ours").contains(down)),
        "{}",
        lab.log("ours")
    );

    // stderr: exactly one line per transition, and it ends with the priority (no field dump).
    let log = lab.log("ours");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("VRRP_Instance(VI_71)") && l.contains(" -> "))
        .collect();
    let start = "VRRP_Instance(VI_71) INIT -> BACKUP (startup), priority 150";
    for want in [start, up, down] {
        // `TIME  INFO message`: nothing between the level and the message (no span dump).
        let n = lines
            .iter()
            .filter(|l| l.split_once(" INFO ").map(|(_, m)| m) == Some(want))
            .count();
        assert_eq!(n, 1, "{want:?} {n} times in:\n{}", lines.join("\n"));
    }
    assert_eq!(lines.len(), 3, "{}", lines.join("\n"));

    // syslog: the same lines, with PRI = local3 (19 << 3) | info (6) = 158.
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    while !got.iter().any(|l: &String| l.ends_with(down)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => got.push(l),
            Err(_) => panic!("no {down:?} through syslog; got:\n{}", got.join("\n")),
        }
    }
    for want in [start, up, down] {
        let l = got
            .iter()
            .find(|l| l.ends_with(want))
            .unwrap_or_else(|| panic!("{want:?} not in syslog:\n{}", got.join("\n")));
        assert!(l.starts_with("<158>"), "{l}");
        assert!(l.contains(" Keepalived_rs["), "{l}");
    }
}
