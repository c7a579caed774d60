//! `use_vmac` against the real keepalived 2.2.7 (which also uses a vmac) in namespaces: both
//! routers create the macvlan `vrrp.VRID` with the virtual MAC, the master's VIP sits on it,
//! adverts and gratuitous ARPs leave with the virtual MAC (tshark judges), failover moves
//! the VIP between the vmacs, and a daemon that exits removes its vmac. IPv6 too: the vmac
//! gets no EUI-64 link-local of its own (it would be the same on every router) but the
//! configured interface's, and adverts leave from it.

mod common;

use common::lab::{self, tshark_fields, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const VRID: u8 = 51;
const VMAC: &str = "vrrp.51";

fn conf(prio: u8, vip: &str) -> String {
    lab::vrrp_conf(
        "",
        VRID,
        prio,
        3,
        "0.1",
        &[vip.to_string()],
        "    use_vmac\n",
    )
}

/// `ip -d link show` of the vmac in host i, if it exists.
fn vmac_link(lab: &Lab, i: usize) -> Option<String> {
    let o = lab.exec(i, &["ip", "-d", "link", "show", "dev", VMAC]);
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The addresses (without prefix) on `dev` in host i.
fn addrs_on(lab: &Lab, i: usize, dev: &str) -> Vec<String> {
    let o = lab.exec(i, &["ip", "-o", "addr", "show", "dev", dev]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace().skip(3);
            w.next()
                .and_then(|a| a.split('/').next())
                .map(str::to_string)
        })
        .collect()
}

/// Starts tshark on host i's eth0 (VRRP, ARP, ICMPv6); returns the capture path.
fn capture(lab: &mut Lab, i: usize) -> String {
    lab.capture_pcap(
        i,
        "tshark",
        "ip proto 112 or ip6 proto 112 or arp or icmp6",
        90,
        "vmac.pcapng",
    )
}

fn logs(lab: &Lab) -> String {
    lab.logs(&["ours", "ka"])
}

/// Both routers have the vmac (macvlan on eth0, private mode, the virtual MAC, up).
fn assert_vmacs(lab: &Lab, mac: &str) {
    for i in [1, 2] {
        assert!(
            lab.wait_for(Duration::from_secs(10), || vmac_link(lab, i).is_some()),
            "h{i} has no {VMAC}\n{}",
            logs(lab)
        );
        let l = vmac_link(lab, i).unwrap_or_default();
        assert!(l.contains(&format!("link/ether {mac}")), "h{i}: {l}");
        assert!(l.contains("macvlan mode private"), "h{i}: {l}");
        assert!(l.contains("@eth0"), "h{i}: {l}");
        assert!(l.contains(",UP"), "h{i}: {l}");
    }
}

/// h1 runs keepalived-rs, h2 keepalived; `ours_master` picks the priorities (150 / 100).
fn v4_scenario(ours_master: bool) {
    if lab::skip_without(true, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip4(100);
    let (p1, p2) = if ours_master { (150, 100) } else { (100, 150) };
    let (master, backup) = if ours_master { (1, 2) } else { (2, 1) };
    let c1 = lab.write("h1.conf", &conf(p1, &format!("{vip}/24")));
    let c2 = lab.write("h2.conf", &conf(p2, &format!("{vip}/24")));
    let cap = capture(&mut lab, backup);
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);

    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![master]),
        "expected only h{master} to own {vip}: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert_vmacs(&lab, "00:00:5e:00:01:33");
    assert_eq!(
        addrs_on(&lab, master, VMAC),
        vec![vip.clone()],
        "the VIP is on the vmac, only there"
    );
    assert!(!addrs_on(&lab, master, "eth0").contains(&vip));

    // Failover between the vmacs, and back.
    lab.set_port(master, false);
    assert!(
        lab.wait_for(Duration::from_secs(10), || addrs_on(&lab, backup, VMAC)
            .contains(&vip)),
        "h{backup} did not take over on its vmac\n{}",
        logs(&lab)
    );
    lab.set_port(master, true);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![master]),
        "h{master} did not preempt back: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    // A few adverts of the master after preempting back.
    std::thread::sleep(Duration::from_millis(500));
    lab.stop_capture("tshark");

    // The wire: the master's adverts (from its eth0 address) and its gratuitous ARPs for the
    // VIP leave with the virtual MAC.
    let mip = lab.ip4(master);
    let adverts = tshark_fields(
        &cap,
        &format!("vrrp && ip.src == {mip}"),
        &["eth.src", "ip.ttl", "vrrp.prio"],
    );
    assert!(
        adverts.len() >= 3,
        "too few adverts from h{master}: {adverts:?}"
    );
    for a in &adverts {
        assert_eq!(a[0], "00:00:5e:00:01:33", "advert from h{master}: {a:?}");
        assert_eq!(a[1], "255");
    }
    let garps = tshark_fields(
        &cap,
        &format!("arp && arp.src.proto_ipv4 == {vip}"),
        &["eth.src", "arp.src.hw_mac"],
    );
    assert!(!garps.is_empty(), "no gratuitous ARP for {vip}");
    for g in &garps {
        assert_eq!(g, &["00:00:5e:00:01:33", "00:00:5e:00:01:33"], "GARP {g:?}");
    }

    // Our daemon's exit: VIP released, vmac deleted; the other router takes over.
    lab.signal("ours", libc::SIGTERM);
    assert!(
        lab.wait_exit("ours", Duration::from_secs(10)).is_some(),
        "no exit on SIGTERM\n{}",
        logs(&lab)
    );
    assert!(vmac_link(&lab, 1).is_none(), "h1 kept its vmac after exit");
    assert!(!lab.has_addr(1, &vip));
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![2]),
        "keepalived did not take over after our exit\n{}",
        logs(&lab)
    );
}

#[test]
fn vmac_v4_ours_master_keepalived_backup() {
    v4_scenario(true);
}

#[test]
fn vmac_v4_keepalived_master_ours_backup() {
    v4_scenario(false);
}

#[test]
fn vmac_v6_ours_master_keepalived_backup() {
    if lab::skip_without(true, &["tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let vip = lab.vip6(0x100);
    let c1 = lab.write("h1.conf", &conf(150, &format!("{vip}/64")));
    let c2 = lab.write("h2.conf", &conf(100, &format!("{vip}/64")));
    let cap = capture(&mut lab, 2);
    lab.start_rs(1, "ours", OURS, &c1);
    lab.start_keepalived(2, "ka", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab.owners(&vip) == vec![1]),
        "expected only h1 to own {vip}: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    assert_vmacs(&lab, "00:00:5e:00:02:33");
    // Our vmac's only link-local is eth0's (no EUI-64 from the shared virtual MAC).
    let eth0_ll = lab.link_locals(1, "eth0");
    assert_eq!(eth0_ll.len(), 1, "{eth0_ll:?}");
    assert_eq!(lab.link_locals(1, VMAC), eth0_ll, "h1's vmac link-local");
    assert!(addrs_on(&lab, 1, VMAC).contains(&vip));

    lab.set_port(1, false);
    assert!(
        lab.wait_for(Duration::from_secs(10), || addrs_on(&lab, 2, VMAC)
            .contains(&vip)),
        "keepalived did not take over\n{}",
        logs(&lab)
    );
    lab.set_port(1, true);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.owners(&vip) == vec![1]),
        "h1 did not preempt back: {:?}\n{}",
        lab.owners(&vip),
        logs(&lab)
    );
    std::thread::sleep(Duration::from_millis(500));
    lab.stop_capture("tshark");

    let adverts = tshark_fields(
        &cap,
        &format!("vrrp && ipv6.src == {}", eth0_ll[0]),
        &["eth.src", "ipv6.hlim", "vrrp.prio"],
    );
    assert!(adverts.len() >= 3, "too few adverts from h1: {adverts:?}");
    for a in &adverts {
        assert_eq!(a[0], "00:00:5e:00:02:33", "advert from h1: {a:?}");
        assert_eq!(a[1], "255");
    }
    // Unsolicited neighbour advertisements for the VIP, from the virtual MAC.
    let nas = tshark_fields(
        &cap,
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {vip}"),
        &["eth.src"],
    );
    assert!(!nas.is_empty(), "no unsolicited NA for {vip}");
    for n in &nas {
        assert_eq!(n, &["00:00:5e:00:02:33"], "NA {n:?}");
    }
}
