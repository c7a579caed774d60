//! tshark as an independent judge of what keepalived-rs puts on the wire.
//!
//! One daemon (h1, priority 150, VRID 51, two VIPs) becomes MASTER while h2 captures VRRP on its
//! `eth0`; then the daemon gets SIGTERM. Wireshark's dissector must find every packet well
//! formed (no "Malformed", no error-level expert info), with a good checksum, TTL / hop limit
//! 255, the configured version, VRID, priority, address count and addresses (and the PASS
//! string for v2); the last packet must be the priority-0 advert of the shutdown.
//! Cases: VRRPv2 + PASS, VRRPv3 IPv4, VRRPv3 IPv6, VRRPv2 unicast.

mod common;

use common::lab::{self, tshark_fields, Case, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const VRID: u8 = 51;
const PRIO: u8 = 150;

/// One dissected VRRP packet (the `-T fields` columns we ask for).
#[derive(Debug)]
struct Pkt {
    frame: String,
    src: String,
    dst: String,
    ttl: String,
    version: String,
    vtype: String,
    vrid: String,
    prio: String,
    count: String,
    addrs: Vec<String>,
    auth_type: String,
    auth_string: String,
    checksum_status: String,
    adver_int: String,
}

const FIELDS: &[&str] = &[
    "frame.number",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "ip.ttl",
    "ipv6.hlim",
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.auth_type",
    "vrrp.auth_string",
    "vrrp.checksum.status",
    "vrrp.adver_int",
];

fn dissect_fields(cap: &str) -> Vec<Pkt> {
    tshark_fields(cap, "vrrp", FIELDS)
        .into_iter()
        .map(|c| {
            let pick = |a: &str, b: &str| {
                if a.is_empty() {
                    b.to_string()
                } else {
                    a.to_string()
                }
            };
            let addrs = pick(&c[12], &c[13]);
            Pkt {
                frame: c[0].clone(),
                src: pick(&c[1], &c[2]),
                dst: pick(&c[3], &c[4]),
                ttl: pick(&c[5], &c[6]),
                version: c[7].clone(),
                vtype: c[8].clone(),
                vrid: c[9].clone(),
                prio: c[10].clone(),
                count: c[11].clone(),
                addrs: addrs
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                auth_type: c[14].clone(),
                auth_string: c[15].clone(),
                checksum_status: c[16].clone(),
                adver_int: c[17].clone(),
            }
        })
        .collect()
}

fn link_local(lab: &Lab, i: usize) -> String {
    lab.link_locals(i, "eth0")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no link-local address on h{i}"))
}

fn wire(c: Case) {
    if lab::skip_without(false, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vips = if c.v6 {
        vec![lab.vip6(0x100), lab.vip6(0x101)]
    } else {
        vec![lab.vip4(100), lab.vip4(101)]
    };
    let cfg = lab.write("h1.conf", &c.conf(&lab, 1, 2, VRID, PRIO, &vips));

    // The judge: h2 captures VRRP (IP protocol 112) for at most 60 s; it is stopped earlier
    // with SIGINT once the daemon has exited.
    let cap = lab.capture_pcap(
        2,
        "tshark",
        "ip proto 112 or ip6 proto 112",
        60,
        "wire.pcapng",
    );

    lab.start_rs(1, "ours", OURS, &cfg);
    assert!(
        lab.wait_for(Duration::from_secs(15), || vips
            .iter()
            .all(|v| lab.has_addr(1, v))),
        "h1 never became MASTER (VIPs {vips:?})\n{}",
        lab.log("ours")
    );
    // Let a few adverts of the MASTER go out (time passing is the event we wait for here).
    let advert: f64 = c.advert.parse().expect("advert");
    std::thread::sleep(Duration::from_secs_f64(advert * 3.0 + 0.2));

    lab.signal("ours", libc::SIGTERM);
    let st = lab.wait_exit("ours", Duration::from_secs(10));
    assert!(
        st.is_some(),
        "daemon did not exit on SIGTERM\n{}",
        lab.log("ours")
    );
    assert!(
        vips.iter().all(|v| !lab.has_addr(1, v)),
        "VIPs left on h1 after SIGTERM\n{}",
        lab.log("ours")
    );
    // The priority-0 advert was sent before exit; give the bridge a moment, then stop tshark.
    std::thread::sleep(Duration::from_millis(300));
    lab.stop_capture("tshark");

    // 1. The verbose dissection: nothing malformed, no error-level expert info, checksums good.
    let o = lab::run(&[
        "tshark",
        "-n",
        "-r",
        &cap,
        "-V",
        "-Y",
        "vrrp",
        "-o",
        "ip.check_checksum:TRUE",
    ]);
    assert!(
        o.status.success(),
        "tshark -r: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let verbose = String::from_utf8_lossy(&o.stdout).to_string();
    let frames = verbose.lines().filter(|l| l.starts_with("Frame ")).count();
    assert!(
        frames >= 3,
        "expected at least 3 VRRP packets, got {frames}\n{verbose}\n{}",
        lab.log("ours")
    );
    for bad in [
        "Malformed",
        "Expert Info (Error",
        "[Checksum Status: Bad]",
        "Bad checksum",
    ] {
        assert!(!verbose.contains(bad), "tshark reports {bad:?}:\n{verbose}");
    }
    assert!(
        !verbose.to_lowercase().contains("status: bad"),
        "tshark reports a bad checksum:\n{verbose}"
    );
    if !c.v6 {
        let ip_good = verbose.matches("[Header checksum status: Good]").count();
        assert_eq!(
            ip_good, frames,
            "IPv4 header checksum not Good on every packet:\n{verbose}"
        );
    }
    let good = verbose.matches("[Checksum Status: Good]").count();
    assert!(
        good >= frames,
        "expected a good VRRP checksum on each of {frames} packets, tshark says Good {good} times\n{verbose}"
    );

    // 2. The fields, packet by packet.
    let pkts = dissect_fields(&cap);
    assert_eq!(pkts.len(), frames, "{pkts:#?}");
    let src = if c.unicast {
        if c.v6 {
            lab.v6(1)
        } else {
            lab.ip4(1)
        }
    } else if c.v6 {
        link_local(&lab, 1)
    } else {
        lab.ip4(1)
    };
    let dst = if c.unicast {
        if c.v6 {
            lab.v6(2)
        } else {
            lab.ip4(2)
        }
    } else if c.v6 {
        "ff02::12".to_string()
    } else {
        "224.0.0.18".to_string()
    };
    let mut want_addrs = vips.clone();
    want_addrs.sort();
    for p in &pkts {
        let ctx = format!("frame {}: {p:?}", p.frame);
        assert_eq!(p.src, src, "source address, {ctx}");
        assert_eq!(p.dst, dst, "destination address, {ctx}");
        assert_eq!(p.ttl, "255", "TTL / hop limit, {ctx}");
        assert_eq!(p.version, c.version.to_string(), "version, {ctx}");
        assert_eq!(p.vtype, "1", "type ADVERTISEMENT, {ctx}");
        assert_eq!(p.vrid, VRID.to_string(), "VRID, {ctx}");
        assert_eq!(p.count, "2", "address count, {ctx}");
        let mut got = p.addrs.clone();
        got.sort();
        assert_eq!(got, want_addrs, "addresses, {ctx}");
        assert_eq!(p.checksum_status, "1", "checksum status (1 = Good), {ctx}");
        if c.version == 2 {
            assert_eq!(p.adver_int, "1", "advert interval, {ctx}");
            if c.auth {
                assert_eq!(p.auth_type, "1", "auth type PASS, {ctx}");
                assert_eq!(p.auth_string, Case::PASS, "auth string, {ctx}");
            } else {
                assert_eq!(p.auth_type, "0", "auth type none, {ctx}");
            }
        }
    }
    let (last, before) = pkts.split_last().expect("packets");
    assert_eq!(
        last.prio,
        "0",
        "last packet must be the priority-0 shutdown advert: {last:?}\n{}",
        lab.log("ours")
    );
    assert!(
        before.iter().all(|p| p.prio == PRIO.to_string()),
        "every advert before the shutdown must carry priority {PRIO}: {before:#?}"
    );
    if c.version == 3 {
        // Max Adver Int in centiseconds (12 bits): 0.1 s = 10.
        let o = lab::run(&["tshark", "-n", "-r", &cap, "-V", "-Y", "vrrp"]);
        let v = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            v.contains("Adver Int: 10"),
            "v3 advert interval 10 cs expected:\n{v}"
        );
    }
}

#[test]
fn wire_v2_pass_multicast() {
    wire(Case::V2_PASS);
}

#[test]
fn wire_v3_ipv4_multicast() {
    wire(Case::V3_IPV4);
}

#[test]
fn wire_v3_ipv6_multicast() {
    wire(Case::V3_IPV6);
}

#[test]
fn wire_v2_unicast() {
    wire(Case::V2_UNICAST);
}
