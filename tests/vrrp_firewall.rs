//! The VIP firewall (accept mode, vrrp_strict, nftables*) against keepalived 2.2.7 in network
//! namespaces:
//! - `nft list ruleset` of the daemon's namespace is the same as keepalived's for the same
//!   file, in BACKUP (initial), MASTER, BACKUP again (a higher-priority peer took over) and
//!   after exit, for several files (strict IPv4+IPv6, named table with priority and counters,
//!   `vrrp_iptables`);
//! - a client's ping and TCP connection to the VIP are dropped by a MASTER without accept
//!   mode and answered with `accept`, by both daemons (the master's own address answers in
//!   both cases, so a failure is the firewall's).

mod common;

use common::lab::{self, Lab};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

#[derive(Clone, Copy, Debug, PartialEq)]
enum Daemon {
    Ours,
    Keepalived,
}

fn start(lab: &mut Lab, d: Daemon, i: usize, name: &str, conf: &std::path::Path) {
    match d {
        Daemon::Ours => lab.start_rs(i, name, OURS, conf),
        Daemon::Keepalived => {
            lab.start_keepalived(i, name, conf);
        }
    }
}

fn ruleset(lab: &Lab, i: usize) -> String {
    let o = lab.exec(i, &["nft", "-a", "list", "ruleset"]);
    assert!(
        o.status.success(),
        "nft list ruleset: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    normalise(lab, &String::from_utf8_lossy(&o.stdout))
}

/// Handles, counter values and each lab's own subnet differ between runs.
fn normalise(lab: &Lab, text: &str) -> String {
    let text = text
        .replace(&format!("10.{}.0.", lab.net()), "10.N.0.")
        .replace(&format!("fd00:{:x}::", lab.net()), "fd00:N::");
    text.lines()
        .map(|l| {
            let l = match l.find(" # handle") {
                Some(p) => &l[..p],
                None => l,
            };
            match l.find("counter packets") {
                Some(p) => {
                    let rest = &l[p..];
                    let tail = rest
                        .split_whitespace()
                        .skip(5)
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("{}counter {tail}", &l[..p])
                }
                None => l.trim_end().to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn in_backup(lab: &Lab, d: Daemon, name: &str) -> bool {
    let log = lab.log(name);
    match d {
        Daemon::Ours => log.contains("-> BACKUP"),
        Daemon::Keepalived => log.contains("Entering BACKUP STATE"),
    }
}

fn conf(lab: &Lab, global: &str, instance_extra: &str, prio: u8, v6: bool) -> String {
    let mut s = format!(
        "global_defs {{\n  router_id fw{prio}\n{global}\n}}\n\
         vrrp_instance VI_4 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  \
         priority {prio}\n  advert_int 1\n{instance_extra}\n  virtual_ipaddress {{\n    {}/24\n    {}\n  }}\n}}\n",
        lab.vip4(100),
        lab.vip4(101),
    );
    if v6 {
        s.push_str(&format!(
            "vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 62\n  \
             priority {prio}\n  advert_int 1\n{instance_extra}\n  virtual_ipaddress {{\n    {}\n  }}\n}}\n",
            lab.vip6(0x100)
        ));
    }
    s
}

/// A test file: its text for priority `prio`, and the VIPs h1 must hold as MASTER.
type MakeConf<'a> = &'a dyn Fn(&Lab, u8) -> String;
type Vips<'a> = &'a dyn Fn(&Lab) -> Vec<String>;

/// The ruleset of h1 in each state, with daemon `d` on h1 and keepalived as the
/// higher-priority peer started on h2 to push h1 back to BACKUP.
fn states(d: Daemon, conf: MakeConf<'_>, vips: Vips<'_>) -> (Vec<(&'static str, String)>, String) {
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    let c1 = lab.write("h1.conf", &conf(&lab, 100));
    let c2 = lab.write("h2.conf", &conf(&lab, 200));
    let vips = vips(&lab);
    let shown: Vec<String> = vips.iter().map(|v| normalise(&lab, v)).collect();
    let mut out = Vec::new();
    start(&mut lab, d, 1, "dut", &c1);
    let logs = |lab: &Lab| lab.logs(&["dut", "peer"]);
    assert!(
        lab.wait_for(Duration::from_secs(5), || in_backup(&lab, d, "dut")),
        "{d:?} not BACKUP\n{}",
        logs(&lab)
    );
    out.push(("backup", ruleset(&lab, 1)));
    assert!(
        lab.wait_for(Duration::from_secs(10), || vips
            .iter()
            .all(|v| lab.has_addr(1, v))),
        "{d:?} did not become MASTER with {vips:?}\n{}",
        logs(&lab)
    );
    // Ours installs the rules in parallel with the VIPs: wait until the VIPs are in the sets
    // (keepalived's are in before its addresses). A daemon that installs no table at all
    // also passes here; the comparison decides.
    lab.wait_for(Duration::from_secs(5), || {
        let r = ruleset(&lab, 1);
        !r.contains("table") || shown.iter().all(|v| r.contains(v.as_str()))
    });
    out.push(("master", ruleset(&lab, 1)));
    start(&mut lab, Daemon::Keepalived, 2, "peer", &c2);
    assert!(
        lab.wait_for(Duration::from_secs(10), || vips
            .iter()
            .all(|v| !lab.has_addr(1, v))),
        "{d:?} did not give the VIPs up\n{}",
        logs(&lab)
    );
    // Our firewall removal follows the addresses' removal: poll for the sets to empty.
    lab.wait_for(Duration::from_secs(3), || {
        let r = ruleset(&lab, 1);
        shown.iter().all(|v| !r.contains(v.as_str()))
    });
    out.push(("backup again", ruleset(&lab, 1)));
    lab.signal("dut", libc::SIGTERM);
    assert!(
        lab.wait_exit("dut", Duration::from_secs(10)).is_some(),
        "{d:?} did not exit\n{}",
        logs(&lab)
    );
    out.push(("stopped", ruleset(&lab, 1)));
    (out, logs(&lab))
}

fn compare_with(conf: MakeConf<'_>, vips: Vips<'_>, expect: &str) {
    if lab::skip_without(true, &["nft"]) {
        return;
    }
    let (theirs, their_logs) = states(Daemon::Keepalived, conf, vips);
    let (ours, our_logs) = states(Daemon::Ours, conf, vips);
    // The reference itself is what we think it is (the file does firewall).
    let master = &theirs[1].1;
    assert!(
        master.contains(expect),
        "keepalived's MASTER ruleset has no '{expect}':\n{master}"
    );
    for ((state, k), (_, o)) in theirs.iter().zip(ours.iter()) {
        assert_eq!(
            o, k,
            "nft list ruleset in {state} differs from keepalived 2.2.7's (right)\n\
             ours:\n{our_logs}\nkeepalived:\n{their_logs}"
        );
    }
}

fn compare(global: &str, extra: &str, v6: bool, expect_table: &str) {
    let vips = |lab: &Lab| {
        let mut v = vec![lab.vip4(100), lab.vip4(101)];
        if v6 {
            v.push(lab.vip6(0x100));
        }
        v
    };
    compare_with(
        &|lab, prio| conf(lab, global, extra, prio, v6),
        &vips,
        &format!("table ip {expect_table} {{"),
    )
}

/// One IPv6 instance whose first VIP is link-local (RFC 5798): keepalived's
/// `vips_link_local` set (address . interface index), or with `dont_track_primary` its
/// `vips_link_local_name` set (address . interface name).
fn link_local(extra: &str, expect: &str) {
    let conf = |lab: &Lab, prio: u8| {
        format!(
            "global_defs {{\n  vrrp_strict\n}}\n\
             vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 62\n  \
             priority {prio}\n  advert_int 1\n{extra}\n  virtual_ipaddress {{\n    fe80::100\n    {}\n  }}\n}}\n",
            lab.vip6(0x100)
        )
    };
    let vips = |lab: &Lab| vec!["fe80::100".to_string(), lab.vip6(0x100)];
    compare_with(&conf, &vips, expect);
}

#[test]
fn link_local_vip_by_index_same_ruleset_as_keepalived() {
    link_local("", "set vips_link_local {");
}

#[test]
fn link_local_vip_by_name_same_ruleset_as_keepalived() {
    link_local("  dont_track_primary", "set vips_link_local_name {");
}

#[test]
fn strict_ipv4_and_ipv6_same_ruleset_as_keepalived() {
    compare("  vrrp_strict", "", true, "keepalived");
}

#[test]
fn named_table_priority_counters_no_accept_same_ruleset_as_keepalived() {
    compare(
        "  nftables vipfw\n  nftables_priority 5\n  nftables_counters",
        "  no_accept",
        true,
        "vipfw",
    );
}

#[test]
fn vrrp_iptables_maps_to_nftables_as_keepalived() {
    compare("  vrrp_iptables", "  no_accept", false, "keepalived");
}

/// Runs `f` on a thread inside the namespace `ns`.
fn in_ns<R: Send + 'static>(ns: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
    std::thread::spawn(move || {
        // SAFETY: a valid fd of a netns file; CLONE_NEWNET only affects this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread")
}

/// A TCP server on port 7000 of every address of `ns`, answering until dropped.
struct Server(Arc<AtomicBool>);

impl Server {
    fn start(ns: &str) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let listener = in_ns(ns, || TcpListener::bind("0.0.0.0:7000").expect("bind 7000"));
        listener.set_nonblocking(true).expect("nonblocking");
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((c, _)) => drop(c),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server(stop)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn tcp_ok(ns: &str, addr: &str) -> bool {
    let to: SocketAddr = format!("{addr}:7000").parse().expect("address");
    in_ns(ns, move || {
        TcpStream::connect_timeout(&to, Duration::from_millis(700)).is_ok()
    })
}

fn ping_ok(lab: &Lab, i: usize, addr: &str) -> bool {
    lab.exec(i, &["ping", "-c", "1", "-W", "1", addr])
        .status
        .success()
}

/// h1 runs `d` as the only router (MASTER); h3 is the client.
fn traffic(d: Daemon, accept: bool) {
    let _g = lab::serial();
    let mut lab = Lab::new(2);
    // VRRPv3: strict VRRPv2 resets accept mode (RFC 3768 has none).
    let extra = if accept { "  accept" } else { "" };
    let c1 = lab.write(
        "h1.conf",
        &conf(&lab, "  vrrp_strict\n  vrrp_version 3", extra, 100, false),
    );
    let vip = lab.vip4(100);
    let real = lab.ip4(1);
    let _server = Server::start(lab.ns(1));
    start(&mut lab, d, 1, "dut", &c1);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)),
        "{d:?} did not become MASTER\n{}",
        lab.log("dut")
    );
    let (ns2, v) = (lab.ns(2).to_string(), vip.clone());
    // The master's own address answers: the network works.
    assert!(ping_ok(&lab, 2, &real), "{d:?}: no ping to {real}");
    assert!(tcp_ok(&ns2, &real), "{d:?}: no TCP to {real}");
    if accept {
        assert!(
            lab.wait_for(Duration::from_secs(3), || ping_ok(&lab, 2, &vip)),
            "{d:?} with accept: ping to the VIP {vip} dropped\n{}",
            ruleset(&lab, 1)
        );
        assert!(
            tcp_ok(&ns2, &v),
            "{d:?} with accept: TCP to the VIP dropped"
        );
    } else {
        // Ours may install the drop rule a moment after the address: wait for the table.
        lab.wait_for(Duration::from_secs(3), || {
            ruleset(&lab, 1).contains("10.N.0.100")
        });
        assert!(
            !ping_ok(&lab, 2, &vip),
            "{d:?} without accept: ping to the VIP {vip} answered\n{}",
            ruleset(&lab, 1)
        );
        assert!(
            !tcp_ok(&ns2, &v),
            "{d:?} without accept: TCP to the VIP connected"
        );
    }
}

#[test]
fn vip_traffic_dropped_without_accept_like_keepalived() {
    if lab::skip_without(true, &["nft", "ping"]) {
        return;
    }
    traffic(Daemon::Keepalived, false);
    traffic(Daemon::Ours, false);
}

#[test]
fn vip_traffic_accepted_with_accept_like_keepalived() {
    if lab::skip_without(true, &["nft", "ping"]) {
        return;
    }
    traffic(Daemon::Keepalived, true);
    traffic(Daemon::Ours, true);
}

/// A reload that turns accept mode off on a MASTER puts its VIPs in the set; one that adds a
/// VIP adds it; turning accept mode back on empties the set (keepalived's
/// clear_diff_vrrp_vip), and the MASTER keeps its VIPs throughout.
#[test]
fn reload_changing_accept_mode_updates_the_set() {
    if lab::skip_without(false, &["nft"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let path = lab.write("h1.conf", &conf(&lab, "", "  accept", 100, false));
    lab.start_rs(1, "dut", OURS, &path);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)),
        "not MASTER\n{}",
        lab.log("dut")
    );
    assert!(
        !ruleset(&lab, 1).contains("10.N.0.100"),
        "accept: no VIP in a set\n{}",
        ruleset(&lab, 1)
    );
    let in_set = |lab: &Lab, addrs: &[&str]| {
        lab.wait_for(Duration::from_secs(3), || {
            let r = ruleset(lab, 1);
            addrs.iter().all(|a| r.contains(a))
        })
    };
    lab.rewrite(&path, &conf(&lab, "", "  no_accept", 100, false));
    assert!(
        lab.reload("dut", Duration::from_secs(10)),
        "{}",
        lab.log("dut")
    );
    assert!(
        in_set(&lab, &["10.N.0.100", "10.N.0.101"]),
        "no_accept after reload: VIPs not in the set\n{}\n{}",
        ruleset(&lab, 1),
        lab.log("dut")
    );
    let more = conf(&lab, "", "  no_accept", 100, false).replace(
        "  virtual_ipaddress {\n",
        &format!("  virtual_ipaddress {{\n    {}\n", lab.vip4(102)),
    );
    lab.rewrite(&path, &more);
    assert!(
        lab.reload("dut", Duration::from_secs(10)),
        "{}",
        lab.log("dut")
    );
    assert!(
        in_set(&lab, &["10.N.0.100", "10.N.0.101", "10.N.0.102"]),
        "added VIP not in the set\n{}",
        ruleset(&lab, 1)
    );
    lab.rewrite(&path, &conf(&lab, "", "  accept", 100, false));
    assert!(
        lab.reload("dut", Duration::from_secs(10)),
        "{}",
        lab.log("dut")
    );
    assert!(
        lab.wait_for(Duration::from_secs(3), || !ruleset(&lab, 1)
            .contains("10.N.0.10")),
        "accept again: VIPs still in the set\n{}",
        ruleset(&lab, 1)
    );
    assert!(
        lab.has_addr(1, &vip),
        "MASTER lost its VIP\n{}",
        lab.log("dut")
    );
}

/// The table deleted behind the daemon's back (`nft flush ruleset`, or a keepalived stopping
/// after a take-over): the next change fails, and the owner rebuilds everything claimed.
#[test]
fn table_deleted_behind_our_back_is_rebuilt_at_the_next_change() {
    if lab::skip_without(false, &["nft"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let path = lab.write("h1.conf", &conf(&lab, "", "  no_accept", 100, false));
    lab.start_rs(1, "dut", OURS, &path);
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)),
        "not MASTER\n{}",
        lab.log("dut")
    );
    assert!(
        lab.wait_for(Duration::from_secs(3), || ruleset(&lab, 1)
            .contains("10.N.0.101")),
        "no VIP in the set\n{}",
        ruleset(&lab, 1)
    );
    lab.must_exec(1, &["nft", "flush", "ruleset"]);
    assert!(!ruleset(&lab, 1).contains("table"));
    let more = conf(&lab, "", "  no_accept", 100, false).replace(
        "  virtual_ipaddress {\n",
        &format!("  virtual_ipaddress {{\n    {}\n", lab.vip4(102)),
    );
    lab.rewrite(&path, &more);
    assert!(
        lab.reload("dut", Duration::from_secs(10)),
        "{}",
        lab.log("dut")
    );
    assert!(
        lab.wait_for(Duration::from_secs(5), || {
            let r = ruleset(&lab, 1);
            ["10.N.0.100", "10.N.0.101", "10.N.0.102"]
                .iter()
                .all(|a| r.contains(a))
                && r.contains("ip daddr @vips drop")
        }),
        "table not rebuilt\n{}\n{}",
        ruleset(&lab, 1),
        lab.log("dut")
    );
    assert!(lab.log("dut").contains("rebuilt"), "{}", lab.log("dut"));
}

/// A MASTER instance actor that panics is restarted (resumes MASTER) with its firewall
/// handle: after the restart, leaving MASTER still takes its VIPs out of the set.
#[test]
fn restarted_instance_still_releases_its_vips_from_the_set() {
    if lab::skip_without(false, &["nft"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let vip = lab.vip4(100);
    let path = lab.write("h1.conf", &conf(&lab, "", "  no_accept", 100, false));
    lab.start_rs_with(
        1,
        "dut",
        &[
            "KEEPALIVED_RS_FAULT_INJECTION=1",
            "KEEPALIVED_RS_FAULT_TARGET=VI_4",
        ],
        OURS,
        &["-n", "-l", "-D", "-G"],
        &path,
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab.has_addr(1, &vip)
            && ruleset(&lab, 1).contains("10.N.0.101")),
        "not MASTER with its VIPs in the set\n{}\n{}",
        ruleset(&lab, 1),
        lab.log("dut")
    );
    lab.signal("dut", keepalived_rs::runtime::fault::trigger_signal());
    assert!(
        lab.wait_for(Duration::from_secs(5), || lab
            .log("dut")
            .contains("VRRP_Instance(VI_4) INIT -> MASTER (resume)")),
        "no resume\n{}",
        lab.log("dut")
    );
    assert!(
        ruleset(&lab, 1).contains("10.N.0.101"),
        "{}",
        ruleset(&lab, 1)
    );
    // Leave MASTER: the instance goes FAULT when its interface goes down.
    lab.must_exec(1, &["ip", "link", "set", "eth0", "down"]);
    assert!(
        lab.wait_for(Duration::from_secs(5), || {
            let r = ruleset(&lab, 1);
            r.contains("table ip keepalived") && !r.contains("10.N.0.10")
        }),
        "VIPs still in the set after leaving MASTER\n{}\n{}",
        ruleset(&lab, 1),
        lab.log("dut")
    );
}
