//! VRRPv2 `auth_type AH` against the real keepalived 2.2.7 in network namespaces: each
//! accepts the other's adverts (exactly one VIP owner, in both roles), failover both ways (port
//! cut and restore, daemon stopped and restarted: the restarted one starts with a fresh
//! sequence counter and must learn the master's), tshark dissects our packets as AH + VRRP
//! without complaint, and adverts under another key are dropped and counted on both sides.

mod common;

use common::lab::{self, metric, tshark_fields, vrrp_conf, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
/// Both daemons key the HMAC with the first 8 bytes ("ahsecret").
const KEY: &str = "ahsecret99";
const METRICS: &str = "127.0.0.1:9657";

fn conf(vrid: u8, prio: u8, vip: &str, pass: &str, state: &str) -> String {
    conf_with(vrid, prio, vip, pass, state, "")
}

/// [`conf`] with more instance lines (e.g. unicast peers).
fn conf_with(vrid: u8, prio: u8, vip: &str, pass: &str, state: &str, more: &str) -> String {
    let extra = format!(
        "    authentication {{\n        auth_type AH\n        auth_pass {pass}\n    }}\n{more}"
    );
    vrrp_conf("", vrid, prio, 2, "1", &[format!("{vip}/24")], &extra)
        .replace("state BACKUP", &format!("state {state}"))
}

fn start_ours(lab: &mut Lab, name: &str, conf: &std::path::Path) {
    lab.start_rs_with(
        1,
        name,
        &[],
        OURS,
        &["-n", "-l", "-D", "-G", "--metrics-listen", METRICS],
        conf,
    );
}

/// h1 runs keepalived-rs, h2 keepalived; `ours_master`: ours has priority 150, keepalived
/// 100, or the other way round. Both are written `state MASTER` (cleared with AH, as keepalived
/// does, or the lower one would start as a master the other drops as a replay).
fn scenario(ours_master: bool, unicast: bool) {
    if lab::skip_without(true, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let (p1, p2) = if ours_master { (150, 100) } else { (100, 150) };
    // Unicast: the TTL is left out of the ICV (keepalived's rule), the rest is the same.
    let uc = |me: usize, peer: usize| {
        if unicast {
            format!(
                "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
                lab.ip4(me),
                lab.ip4(peer)
            )
        } else {
            String::new()
        }
    };
    let c1 = lab.write(
        "h1.conf",
        &conf_with(51, p1, &vip, KEY, "MASTER", &uc(1, 2)),
    );
    let c2 = lab.write(
        "h2.conf",
        &conf_with(51, p2, &vip, KEY, "MASTER", &uc(2, 1)),
    );
    // Our adverts as the peer sees them.
    let cap = lab.capture_pcap(2, "cap", "ip proto 51", 120, "ah.pcap");
    start_ours(&mut lab, "ours", &c1);
    lab.start_keepalived(2, "ka", &c2);
    let master = if ours_master { 1 } else { 2 };
    let backup = 3 - master;
    let logs = |lab: &Lab| lab.logs(&["ours", "ka", "ours2", "ka2"]);

    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(&vip) == vec![master]),
        "expected only h{master} to own {vip}, owners {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    // Stable over several adverts: the backup accepts every one (a rejected advert would
    // make it take over after 3 s).
    assert!(
        lab.holds_for(Duration::from_secs(4), || lab.owners(&vip) == vec![master]),
        "owners changed: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert!(
        lab.log("ours")
            .contains("initial state MASTER is incompatible with AH"),
        "no located warning for the cleared state MASTER\n{}",
        lab.log("ours")
    );

    // Failover by port cut, and back.
    lab.set_port(master, false);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(backup, &vip)),
        "backup h{backup} did not take over\n{}",
        logs(&lab)
    );
    lab.set_port(master, true);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![master]),
        "h{master} did not preempt back: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );

    // Failover by stopping the master's daemon; restarted, it starts from sequence 0 and
    // must learn the running master's numbers before it preempts (else its adverts are
    // dropped as replays and both own the VIP).
    let (old, new) = if ours_master {
        ("ours", "ours2")
    } else {
        ("ka", "ka2")
    };
    lab.signal(old, libc::SIGTERM);
    assert!(
        lab.wait_exit(old, Duration::from_secs(10)).is_some(),
        "{old} did not stop\n{}",
        logs(&lab)
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![backup]),
        "backup h{backup} did not take over after the master stopped: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    if ours_master {
        start_ours(&mut lab, new, &c1);
    } else {
        lab.start_keepalived(2, new, &c2);
    }
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(&vip) == vec![master]),
        "restarted h{master} did not take over again: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert!(
        lab.holds_for(Duration::from_secs(3), || lab.owners(&vip) == vec![master]),
        "owners changed after the restart: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    // Neither side ever rejected an advert's ICV or SPI.
    let all = logs(&lab);
    assert!(
        !all.contains("invalid IPSEC HMAC-MD5") && !all.contains("invalid IPSEC SPI"),
        "{all}"
    );

    lab.stop_capture("cap");
    check_dissection(&cap, &lab.ip4(1));
}

/// tshark sees our packets as IPv4 + AH + VRRPv2 (auth type 2), SPI = our address, sequence
/// numbers and IP IDs increasing, and no malformed packet or expert error anywhere.
fn check_dissection(cap: &str, ours: &str) {
    let rows = tshark_fields(
        cap,
        &format!("ip.src == {ours}"),
        &[
            "ip.proto",
            "ah.spi",
            "ah.sequence",
            "ip.id",
            "vrrp.version",
            "vrrp.auth_type",
            "vrrp.checksum.status",
            "ip.ttl",
            "ip.dsfield",
        ],
    );
    assert!(
        rows.len() >= 4,
        "too few adverts of ours captured: {rows:?}"
    );
    let spi = {
        let o: Vec<u32> = ours.split('.').map(|x| x.parse().unwrap_or(0)).collect();
        format!("0x{:02x}{:02x}{:02x}{:02x}", o[0], o[1], o[2], o[3])
    };
    let mut last: Option<(u64, u64)> = None;
    let mut increases = 0;
    for r in &rows {
        assert_eq!(r[0], "51", "not AH: {r:?}");
        assert_eq!(r[1].to_lowercase(), spi, "SPI is not our address: {r:?}");
        assert_eq!((r[4].as_str(), r[5].as_str()), ("2", "2"), "{r:?}");
        assert_eq!(r[6], "1", "VRRP checksum not good: {r:?}");
        assert_eq!((r[7].as_str(), r[8].as_str()), ("255", "0xc0"), "{r:?}");
        let seq: u64 = r[2].parse().expect("sequence");
        let id = u64::from_str_radix(r[3].trim_start_matches("0x"), 16).expect("ip.id");
        if let Some((s, i)) = last {
            // Within one run of our daemon both grow by one per advert.
            if seq == s + 1 && id == i + 1 {
                increases += 1;
            }
        }
        last = Some((seq, id));
    }
    assert!(increases >= 3, "sequence/ID not increasing: {rows:?}");
    let bad = tshark_fields(
        cap,
        "_ws.malformed || _ws.expert.severity >= 6291456",
        &["frame.number", "_ws.expert.message"],
    );
    assert!(bad.is_empty(), "tshark complains: {bad:?}");
}

#[test]
fn ah_ours_master_keepalived_backup() {
    scenario(true, false);
}

#[test]
fn ah_keepalived_master_ours_backup() {
    scenario(false, false);
}

#[test]
fn ah_unicast_ours_master_keepalived_backup() {
    scenario(true, true);
}

#[test]
fn ah_unicast_keepalived_master_ours_backup() {
    scenario(false, true);
}

/// The IPv4 datagrams of a capture (pcapng converted to pcap by tshark, Ethernet frames).
fn datagrams(lab: &Lab, cap: &str) -> Vec<Vec<u8>> {
    let pcap = lab.dir.join("replay.pcap").display().to_string();
    let o = lab::run(&["tshark", "-r", cap, "-F", "pcap", "-w", &pcap]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = std::fs::read(&pcap).expect("pcap");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32::from_le_bytes([d[off + 8], d[off + 9], d[off + 10], d[off + 11]]) as usize;
        off += 16;
        if let Some(frame) = d.get(off..off + incl) {
            if frame.len() > 14 && frame[12..14] == [0x08, 0x00] {
                out.push(frame[14..].to_vec());
            }
        }
        off += incl;
    }
    out
}

/// A replayed advert (a real one of keepalived's, captured and sent again from its host) is
/// dropped by ours as a replay and counted (`reason="auth"`), while keepalived's fresh adverts
/// keep ours BACKUP.
#[test]
fn ah_replayed_advert_is_dropped_and_counted() {
    if lab::skip_without(true, &["tshark", "python3"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let c1 = lab.write("h1.conf", &conf(53, 100, &vip, KEY, "BACKUP"));
    let c2 = lab.write("h2.conf", &conf(53, 150, &vip, KEY, "BACKUP"));
    start_ours(&mut lab, "ours", &c1);
    lab.start_keepalived(2, "ka", &c2);
    let logs = |lab: &Lab| lab.logs(&["ours", "ka"]);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(&vip) == vec![2]),
        "keepalived did not become the only master: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    let cap = lab.capture_pcap(1, "cap", "ip proto 51", 30, "ka.pcap");
    // Two adverts (they come once a second).
    std::thread::sleep(Duration::from_millis(2500));
    lab.stop_capture("cap");
    let grams = datagrams(&lab, &cap);
    assert!(grams.len() >= 2, "no adverts captured: {}", lab.log("cap"));
    let drops = |lab: &Lab| {
        metric(
            &lab.scrape(1, 9657),
            "keepalived_vrrp_rx_dropped_total",
            "reason=\"auth\"",
        )
        .unwrap_or(0.0)
    };
    assert_eq!(drops(&lab), 0.0, "auth drops before any replay");
    // Send the first captured advert again, three times, from keepalived's host.
    let hex: String = grams[0].iter().map(|b| format!("{b:02x}")).collect();
    let script = "import socket,sys\n\
        s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n\
        s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'eth0')\n\
        s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_LOOP,0)\n\
        p=bytes.fromhex(sys.argv[1])\n\
        [s.sendto(p,('224.0.0.18',0)) for _ in range(3)]\n";
    lab.must_exec(2, &["python3", "-c", script, &hex]);
    assert!(
        lab.wait_for(Duration::from_secs(5), || drops(&lab) >= 3.0),
        "replays not counted: {}\n{}",
        lab.scrape(1, 9657),
        logs(&lab)
    );
    // keepalived's own adverts still pass: ours stays BACKUP.
    assert!(
        lab.holds_for(Duration::from_secs(3), || lab.owners(&vip) == vec![2]),
        "owners changed: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert_eq!(drops(&lab), 3.0, "more than the replays dropped");
}

/// keepalived (priority 150) and ours (100) with different keys: each drops the other's
/// adverts (keepalived logs an invalid HMAC, ours counts `auth` drops), so both become master.
#[test]
fn ah_wrong_key_is_dropped_and_counted() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let c1 = lab.write("h1.conf", &conf(52, 100, &vip, "rightkey", "BACKUP"));
    let c2 = lab.write("h2.conf", &conf(52, 150, &vip, "wrongkey", "BACKUP"));
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.has_addr(2, &vip)),
        "keepalived did not become master\n{}",
        lab.log("ka")
    );
    start_ours(&mut lab, "ours", &c1);
    let logs = |lab: &Lab| lab.logs(&["ours", "ka"]);
    let drops = |lab: &Lab| {
        metric(
            &lab.scrape(1, 9657),
            "keepalived_vrrp_rx_dropped_total",
            "reason=\"auth\"",
        )
        .unwrap_or(0.0)
    };
    assert!(
        lab.wait_for(Duration::from_secs(15), || drops(&lab) >= 3.0),
        "no auth drops counted: {}\n{}",
        lab.scrape(1, 9657),
        logs(&lab)
    );
    // Nothing accepted: ours takes over though a higher-priority master is on the wire.
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)),
        "ours accepted adverts under another key\n{}",
        logs(&lab)
    );
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab
            .log("ka")
            .contains("invalid IPSEC HMAC-MD5")),
        "keepalived did not reject our adverts\n{}",
        logs(&lab)
    );
}

/// A MASTER replaced on reload (a socket-level change: `mcast_src_ip`) resumes with the
/// sequence numbers where its predecessor left them; restarted from 1, keepalived (backup)
/// would drop every advert as a replay and take over.
#[test]
fn ah_master_replaced_on_reload_continues_its_sequence() {
    if lab::skip(true) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let c1 = lab.write("h1.conf", &conf(54, 150, &vip, KEY, "BACKUP"));
    let c2 = lab.write("h2.conf", &conf(54, 100, &vip, KEY, "BACKUP"));
    start_ours(&mut lab, "ours", &c1);
    lab.start_keepalived(2, "ka", &c2);
    let logs = |lab: &Lab| lab.logs(&["ours", "ka"]);
    assert!(
        lab.wait_for(Duration::from_secs(20), || lab.owners(&vip) == vec![1]),
        "ours did not become the only master: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    // A few adverts, so that keepalived's counter is well above 1.
    assert!(lab.holds_for(Duration::from_secs(3), || lab.owners(&vip) == vec![1]));
    let src = format!("    mcast_src_ip {}\n", lab.ip4(1));
    lab.rewrite(&c1, &conf_with(54, 150, &vip, KEY, "BACKUP", &src));
    assert!(lab.reload("ours", Duration::from_secs(5)), "{}", logs(&lab));
    let log = lab.log("ours");
    assert!(
        log.contains("1 replaced") && log.contains("(resume)"),
        "not replaced / resumed\n{log}"
    );
    assert!(
        lab.holds_for(Duration::from_secs(5), || lab.owners(&vip) == vec![1]),
        "keepalived took over after the replacement: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert!(
        !lab.log("ka").contains("already processed"),
        "keepalived dropped adverts as replays\n{}",
        logs(&lab)
    );
}
