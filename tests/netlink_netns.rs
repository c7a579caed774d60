//! Integration tests of the netlink owner inside throw-away network namespaces (root only;
//! skipped otherwise). Only 10.x / fd00:: addresses; every wait is bounded.

#[path = "common/netns.rs"]
mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use keepalived_rs::netlink::garp::{self, GarpSender};
use keepalived_rs::netlink::{
    spawn, AddressSpec, Change, MacAddr, NetlinkConfig, NetlinkError, NetlinkEvent, NetlinkHandle,
    RouteKind, RouteSpec, RuleSpec, Scope, VmacSpec,
};
use netns::NetNs;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(5);

fn ip4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

async fn owner() -> NetlinkHandle {
    spawn(NetlinkConfig::default())
        .await
        .expect("spawn netlink owner")
        .0
}

/// Wait (bounded) for the first event matching `pred`.
async fn wait_for(
    rx: &mut broadcast::Receiver<NetlinkEvent>,
    what: &str,
    pred: impl Fn(&NetlinkEvent) -> bool,
) -> NetlinkEvent {
    let fut = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event channel: {e}"),
            }
        }
    };
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[test]
fn addresses_add_remove_idempotent_with_label_scope_brd() {
    let Some(ns) = NetNs::new() else { return };
    ns.veth("veth0", "veth1");
    ns.block_on(|| async {
        let nl = owner().await;
        let vip = AddressSpec::vip("veth0", ip4("10.77.1.10"), 24)
            .with_label("veth0:vip")
            .with_broadcast("10.77.1.255".parse().unwrap());
        assert_eq!(nl.add_address(&vip).await.unwrap(), Change::Applied);
        assert_eq!(nl.add_address(&vip).await.unwrap(), Change::AlreadyPresent);

        let link_scoped = AddressSpec::vip("veth0", ip4("10.77.2.1"), 32).with_scope(Scope::Link);
        assert_eq!(nl.add_address(&link_scoped).await.unwrap(), Change::Applied);

        let v6 = AddressSpec::vip("veth0", "fd00::10".parse().unwrap(), 64);
        assert_eq!(nl.add_address(&v6).await.unwrap(), Change::Applied);
        assert_eq!(nl.add_address(&v6).await.unwrap(), Change::AlreadyPresent);

        let shown = ns.ip(&["addr", "show", "dev", "veth0"]);
        assert!(
            shown.contains("inet 10.77.1.10/24 brd 10.77.1.255 scope global veth0:vip"),
            "{shown}"
        );
        assert!(shown.contains("inet 10.77.2.1/32 scope link"), "{shown}");
        let v6line = shown
            .lines()
            .find(|l| l.contains("fd00::10/64"))
            .expect(&shown);
        assert!(v6line.contains("nodad"), "{shown}");
        // preferred_lft 0: the kernel flags it deprecated
        assert!(v6line.contains("deprecated"), "{shown}");

        let listed = nl.addresses(Some("veth0")).await.unwrap();
        assert!(listed.iter().any(|a| a.addr == ip4("10.77.1.10")
            && a.prefix_len == 24
            && a.label.as_deref() == Some("veth0:vip")));

        for spec in [&vip, &link_scoped, &v6] {
            assert_eq!(
                nl.del_address(spec).await.unwrap(),
                Change::Applied,
                "{spec:?}"
            );
            assert_eq!(
                nl.del_address(spec).await.unwrap(),
                Change::AlreadyAbsent,
                "{spec:?}"
            );
        }
        let shown = ns.ip(&["addr", "show", "dev", "veth0"]);
        assert!(
            !shown.contains("10.77.") && !shown.contains("fd00::10"),
            "{shown}"
        );

        // typed errors / idempotent removal on a missing interface
        let ghost = AddressSpec::vip("nope0", ip4("10.77.3.1"), 32);
        assert!(matches!(
            nl.add_address(&ghost).await,
            Err(NetlinkError::NoSuchInterface(n)) if n == "nope0"
        ));
        assert_eq!(nl.del_address(&ghost).await.unwrap(), Change::AlreadyAbsent);
        let bad = AddressSpec::vip("veth0", ip4("10.77.3.1"), 40);
        assert!(matches!(
            nl.add_address(&bad).await,
            Err(NetlinkError::Invalid(_))
        ));
    });
}

#[test]
fn routes_and_rules() {
    let Some(ns) = NetNs::new() else { return };
    ns.veth("veth0", "veth1");
    ns.ip(&["addr", "add", "10.77.1.10/24", "dev", "veth0"]);
    ns.ip(&["addr", "add", "fd00:1::10/64", "dev", "veth0", "nodad"]);
    ns.block_on(|| async {
        let nl = owner().await;

        let mut via = RouteSpec::new("10.99.0.0/16".parse().unwrap());
        via.via = Some(ip4("10.77.1.1"));
        via.dev = Some("veth0".into());
        via.src = Some(ip4("10.77.1.10"));
        via.table = Some(100);
        via.metric = Some(50);

        let mut direct = RouteSpec::new("10.98.0.0/16".parse().unwrap());
        direct.dev = Some("veth0".into());

        let mut hole = RouteSpec::new("10.97.0.0/16".parse().unwrap());
        hole.kind = RouteKind::Blackhole;
        hole.table = Some(100);

        let mut unreach6 = RouteSpec::new("fd00:99::/64".parse().unwrap());
        unreach6.kind = RouteKind::Unreachable;

        let mut host_scope = RouteSpec::new("10.96.0.1/32".parse().unwrap());
        host_scope.dev = Some("veth0".into());
        host_scope.scope = Some(Scope::Host);

        let routes = [&via, &direct, &hole, &unreach6, &host_scope];
        for r in routes {
            assert_eq!(nl.add_route(r).await.unwrap(), Change::Applied, "{r:?}");
            assert_eq!(
                nl.add_route(r).await.unwrap(),
                Change::AlreadyPresent,
                "{r:?}"
            );
        }
        let t100 = ns.ip(&["route", "show", "table", "100"]);
        assert!(
            t100.contains(
                "10.99.0.0/16 via 10.77.1.1 dev veth0 proto keepalived src 10.77.1.10 metric 50"
            ),
            "{t100}"
        );
        assert!(
            t100.contains("blackhole 10.97.0.0/16 proto keepalived"),
            "{t100}"
        );
        let main = ns.ip(&["route", "show"]);
        assert!(
            main.contains("10.98.0.0/16 dev veth0 proto keepalived scope link"),
            "{main}"
        );
        assert!(
            main.contains("10.96.0.1 dev veth0 proto keepalived scope host"),
            "{main}"
        );
        let main6 = ns.ip(&["-6", "route", "show"]);
        assert!(main6.contains("unreachable fd00:99::/64"), "{main6}");

        let rule = RuleSpec {
            from: Some("10.77.0.0/16".parse().unwrap()),
            to: Some("10.99.0.0/16".parse().unwrap()),
            table: Some(100),
            priority: Some(1000),
            ..Default::default()
        };
        let mark_rule = RuleSpec {
            fwmark: Some(7),
            table: Some(100),
            priority: Some(1001),
            ..Default::default()
        };
        let rule6 = RuleSpec {
            to: Some("fd00:99::/64".parse().unwrap()),
            table: Some(200),
            priority: Some(1002),
            ..Default::default()
        };
        for r in [&rule, &mark_rule, &rule6] {
            assert_eq!(nl.add_rule(r).await.unwrap(), Change::Applied, "{r:?}");
            assert_eq!(
                nl.add_rule(r).await.unwrap(),
                Change::AlreadyPresent,
                "{r:?}"
            );
        }
        let rules = ns.ip(&["rule", "show"]);
        assert!(
            rules.contains("1000:\tfrom 10.77.0.0/16 to 10.99.0.0/16 lookup 100"),
            "{rules}"
        );
        assert!(
            rules.contains("1001:\tfrom all fwmark 0x7 lookup 100"),
            "{rules}"
        );
        let rules6 = ns.ip(&["-6", "rule", "show"]);
        assert!(
            rules6.contains("1002:\tfrom all to fd00:99::/64 lookup 200"),
            "{rules6}"
        );

        for r in routes {
            assert_eq!(nl.del_route(r).await.unwrap(), Change::Applied, "{r:?}");
            assert_eq!(
                nl.del_route(r).await.unwrap(),
                Change::AlreadyAbsent,
                "{r:?}"
            );
        }
        for r in [&rule, &mark_rule, &rule6] {
            assert_eq!(nl.del_rule(r).await.unwrap(), Change::Applied, "{r:?}");
            assert_eq!(
                nl.del_rule(r).await.unwrap(),
                Change::AlreadyAbsent,
                "{r:?}"
            );
        }
        let all = ns.ip(&["route", "show", "table", "all"])
            + &ns.ip(&["-6", "route", "show", "table", "all"]);
        assert!(
            !all.contains("keepalived") && !all.contains("fd00:99"),
            "{all}"
        );
        let rules = ns.ip(&["rule", "show"]) + &ns.ip(&["-6", "rule", "show"]);
        assert!(
            !rules.contains("lookup 100") && !rules.contains("lookup 200"),
            "{rules}"
        );

        // a route we did not install (other protocol) is not ours to delete
        ns.ip(&["route", "add", "10.95.0.0/16", "dev", "veth0"]);
        let mut foreign = RouteSpec::new("10.95.0.0/16".parse().unwrap());
        foreign.dev = Some("veth0".into());
        assert_eq!(nl.del_route(&foreign).await.unwrap(), Change::AlreadyAbsent);
        assert!(ns.ip(&["route", "show"]).contains("10.95.0.0/16"));
    });
}

fn read_sysctl(ns: &NetNs, path: &str) -> String {
    let o = ns.exec_output("cat", &[path]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn vmac_macvlan_lifecycle() {
    let Some(ns) = NetNs::new() else { return };
    ns.veth("veth0", "veth1");
    let before = read_sysctl(&ns, "/proc/sys/net/ipv4/conf/veth0/arp_ignore");
    ns.block_on(|| async {
        let nl = owner().await;
        let parent = nl.link("veth0").await.unwrap();
        let spec = VmacSpec::for_vrid("vrrp.51", "veth0", 51, false);
        let (change, link) = nl.create_vmac(&spec).await.unwrap();
        assert_eq!(change, Change::Applied);
        assert_eq!(link.mac, Some(MacAddr([0, 0, 0x5e, 0, 1, 51])));
        assert_eq!(link.kind.as_deref(), Some("macvlan"));
        assert_eq!(link.parent, Some(parent.ifindex));
        assert!(link.admin_up);

        let shown = ns.ip(&["-d", "link", "show", "vrrp.51"]);
        assert!(shown.contains("link/ether 00:00:5e:00:01:33"), "{shown}");
        assert!(shown.contains("macvlan mode private"), "{shown}");
        assert!(shown.contains("UP"), "{shown}");
        for (k, v) in [
            ("arp_ignore", "1"),
            ("accept_local", "1"),
            ("rp_filter", "0"),
            ("promote_secondaries", "1"),
        ] {
            assert_eq!(
                read_sysctl(&ns, &format!("/proc/sys/net/ipv4/conf/vrrp.51/{k}")),
                v,
                "{k}"
            );
        }
        assert_eq!(
            read_sysctl(&ns, "/proc/sys/net/ipv4/conf/veth0/arp_ignore"),
            "1"
        );
        assert_eq!(
            read_sysctl(&ns, "/proc/sys/net/ipv4/conf/veth0/arp_filter"),
            "1"
        );

        // idempotent create; a conflicting one is a typed error
        assert_eq!(
            nl.create_vmac(&spec).await.unwrap().0,
            Change::AlreadyPresent
        );
        let other_mac = VmacSpec::for_vrid("vrrp.51", "veth0", 52, false);
        assert!(matches!(
            nl.create_vmac(&other_mac).await,
            Err(NetlinkError::LinkConflict { .. })
        ));

        // VIP on the vmac works like on any interface
        let vip = AddressSpec::vip("vrrp.51", ip4("10.77.5.5"), 32);
        assert_eq!(nl.add_address(&vip).await.unwrap(), Change::Applied);
        assert!(ns
            .ip(&["addr", "show", "dev", "vrrp.51"])
            .contains("10.77.5.5/32"));

        // never deletes a non-macvlan
        assert!(matches!(
            nl.delete_vmac("veth0").await,
            Err(NetlinkError::LinkConflict { .. })
        ));
        assert_eq!(nl.delete_vmac("vrrp.51").await.unwrap(), Change::Applied);
        assert_eq!(
            nl.delete_vmac("vrrp.51").await.unwrap(),
            Change::AlreadyAbsent
        );
        assert!(ns.try_ip(&["link", "show", "vrrp.51"]).is_err());
    });
    // parent sysctls restored after the last vmac went
    assert_eq!(
        read_sysctl(&ns, "/proc/sys/net/ipv4/conf/veth0/arp_ignore"),
        before
    );
}

#[test]
fn link_and_address_events() {
    let Some(ns) = NetNs::new() else { return };
    ns.veth("veth0", "veth1");
    ns.block_on(|| async {
        let nl = owner().await;
        let mut rx = nl.subscribe();
        let veth0 = nl.link("veth0").await.unwrap();
        // carrier is up once both ends are up; wait for it if the kernel is still settling
        if !veth0.up {
            wait_for(&mut rx, "veth0 up", |e| matches!(e, NetlinkEvent::LinkUp { ifname, .. } if ifname == "veth0")).await;
        }

        // peer down -> veth0 loses carrier
        ns.ip(&["link", "set", "veth1", "down"]);
        let e = wait_for(&mut rx, "LinkDown veth0", |e| {
            matches!(e, NetlinkEvent::LinkDown { ifname, .. } if ifname == "veth0")
        })
        .await;
        assert_eq!(e, NetlinkEvent::LinkDown { ifname: "veth0".into(), ifindex: veth0.ifindex });
        assert!(!nl.link("veth0").await.unwrap().up);

        ns.ip(&["link", "set", "veth1", "up"]);
        wait_for(&mut rx, "LinkUp veth0", |e| {
            matches!(e, NetlinkEvent::LinkUp { ifname, ifindex } if ifname == "veth0" && *ifindex == veth0.ifindex)
        })
        .await;

        // address events, with the interface name filled in
        ns.ip(&["addr", "add", "10.77.7.7/32", "dev", "veth0"]);
        let e = wait_for(&mut rx, "AddressAdded", |e| matches!(e, NetlinkEvent::AddressAdded(a) if a.addr == ip4("10.77.7.7"))).await;
        let NetlinkEvent::AddressAdded(a) = e else { unreachable!() };
        assert_eq!(a.ifname.as_deref(), Some("veth0"));
        ns.ip(&["addr", "del", "10.77.7.7/32", "dev", "veth0"]);
        wait_for(&mut rx, "AddressRemoved", |e| matches!(e, NetlinkEvent::AddressRemoved(a) if a.addr == ip4("10.77.7.7"))).await;

        // our own changes are visible too
        let v6 = AddressSpec::vip("veth0", "fd00::77".parse().unwrap(), 128);
        nl.add_address(&v6).await.unwrap();
        wait_for(&mut rx, "AddressAdded v6", |e| matches!(e, NetlinkEvent::AddressAdded(a) if a.addr == v6.addr)).await;

        // link removal: down then removed
        ns.ip(&["link", "del", "veth1"]);
        wait_for(&mut rx, "LinkRemoved veth0", |e| matches!(e, NetlinkEvent::LinkRemoved { ifname, .. } if ifname == "veth0")).await;
    });
}

/// The owner adds VIPs and routes with the interface index its watch knows (one kernel
/// request per VIP on failover). When that index is stale — the interface was deleted and
/// re-created and the watch has not read the notifications yet — the add is made again with
/// the kernel's index; an interface that is simply gone is a typed error.
#[test]
fn add_with_a_stale_interface_index_retries_with_the_current_one() {
    let Some(ns) = NetNs::new() else { return };
    // (this kernel has no dummy interfaces: a veth pair stands in)
    ns.veth("kx0", "kx1");
    ns.block_on(|| async {
        // The owner's watch starts from a dump of the links: it knows kx0 from here on.
        let nl = owner().await;
        let before = nl.link("kx0").await.unwrap().ifindex;
        // Blocking on purpose: the owner's runtime cannot read the notifications meanwhile,
        // and requests are served before notifications, so the watch still has the old index.
        let script = "link del kx0\nlink add kx0 type veth peer name kx1\nlink set kx0 up\nlink set kx1 up\n";
        ip_batch(&ns, script);
        let after = nix_ifindex_in(&ns, "kx0");
        assert_ne!(before, after, "the kernel gave the new kx0 the same index");

        let vip = AddressSpec::vip("kx0", ip4("10.77.9.1"), 24);
        assert_eq!(nl.add_address(&vip).await.unwrap(), Change::Applied);
        let shown = ns.ip(&["addr", "show", "dev", "kx0"]);
        assert!(shown.contains("10.77.9.1/24"), "{shown}");
        let mut route = RouteSpec::new("10.77.10.0/24".parse().unwrap());
        route.dev = Some("kx0".into());
        ip_batch(&ns, script);
        assert_eq!(nl.add_route(&route).await.unwrap(), Change::Applied);
        let shown = ns.ip(&["route", "show", "dev", "kx0"]);
        assert!(shown.contains("10.77.10.0/24"), "{shown}");

        // Gone for good: the fresh lookup says so.
        ip_batch(&ns, "link del kx0\n");
        assert!(matches!(
            nl.add_address(&vip).await,
            Err(NetlinkError::NoSuchInterface(n)) if n == "kx0"
        ));
    });
}

/// `ip -n NS -batch` of `script`, blocking the calling (owner's) thread meanwhile.
fn ip_batch(ns: &NetNs, script: &str) {
    let file = std::env::temp_dir().join(format!("{}.batch", ns.name()));
    std::fs::write(&file, script).unwrap();
    let out = std::process::Command::new("ip")
        .args(["-n", ns.name(), "-batch"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nix_ifindex_in(ns: &NetNs, name: &str) -> u32 {
    let out = ns.ip(&["-o", "link", "show", "dev", name]);
    out.split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no index in {out:?}"))
}

/// Overrun the watch socket while the owner cannot read (runtime blocked), then check it
/// re-dumps and reports what it missed.
#[test]
fn enobufs_triggers_resync() {
    let Some(ns) = NetNs::new() else { return };
    ns.veth("veth0", "veth1");
    let batch: String = (0..400)
        .map(|i| format!("addr add 10.78.{}.{}/32 dev veth0\n", i / 200, i % 200 + 1))
        .collect();
    ns.block_on(|| async {
        let cfg = NetlinkConfig {
            watch_rcvbuf: 1,
            ..Default::default()
        };
        let (nl, _task) = spawn(cfg).await.unwrap();
        let mut rx = nl.subscribe();
        // Blocking call on purpose: the current-thread runtime cannot drain the socket meanwhile.
        ip_batch(&ns, &batch);
        let mut seen_last = false;
        let fut = async {
            loop {
                match rx.recv().await {
                    Ok(NetlinkEvent::AddressAdded(a)) if a.addr == ip4("10.78.1.200") => {
                        seen_last = true
                    }
                    Ok(NetlinkEvent::Resynced) => break,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        };
        tokio::time::timeout(WAIT, fut)
            .await
            .expect("no Resynced after overrun");
        assert!(
            seen_last,
            "the resync did not report an address added during the overrun"
        );
        assert_eq!(
            nl.addresses(Some("veth0"))
                .await
                .unwrap()
                .iter()
                .filter(|a| a.addr.to_string().starts_with("10.78."))
                .count(),
            400
        );
    });
}

/// Capture raw frames on `ifname` until `pred` accepts one (bounded).
fn capture(ifname: &str, pred: impl Fn(&[u8]) -> bool, trigger: impl Fn()) -> Vec<u8> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let ifindex = nix_ifindex(ifname);
    // SAFETY: socket(2); fd owned right after the check.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        )
    };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zeroed sockaddr_ll is valid; bind to the interface.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(rc, 0);
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: valid fd and timeval.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    let deadline = std::time::Instant::now() + WAIT;
    trigger();
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < deadline {
        // SAFETY: valid fd and buffer.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 && pred(&buf[..n as usize]) {
            return buf[..n as usize].to_vec();
        }
        if n <= 0 {
            trigger(); // nothing within 200 ms: send again
        }
    }
    panic!("no matching frame on {ifname}");
}

fn nix_ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(i > 0, "no interface {name}");
    i
}

fn mac_of(ns: &NetNs, name: &str) -> MacAddr {
    let shown = ns.ip(&["link", "show", name]);
    let tail = shown.split("link/ether ").nth(1).expect(&shown);
    tail.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn garp_and_na_on_the_wire() {
    let Some(ns) = NetNs::new() else { return };
    ns.ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    // a usable link-local right away (source of the NA)
    ns.sysctl("net.ipv6.conf.veth0.accept_dad", "0");
    ns.ip(&["link", "set", "veth0", "up"]);
    ns.ip(&["link", "set", "veth1", "up"]);
    let vip4: Ipv4Addr = "10.77.9.9".parse().unwrap();
    let vip6: Ipv6Addr = "fd00::99".parse().unwrap();
    let vmac = MacAddr::vrrp(9, false);
    let veth0_mac = mac_of(&ns, "veth0");

    // exact bytes on the wire, seen by a raw capture on the peer
    ns.run(|| {
        let sender = GarpSender::new().unwrap();
        let idx = nix_ifindex("veth0");
        let arp = capture(
            "veth1",
            |f| f.len() >= 42 && f[12..14] == [0x08, 0x06],
            || sender.send_garp(idx, vmac, vip4).unwrap(),
        );
        assert_eq!(&arp[..42], &garp::garp_frame(vmac, vip4)[..]);

        let mac = veth0_mac;
        let na = capture(
            "veth1",
            |f| f.len() >= 14 + 40 + 32 && f[12..14] == [0x86, 0xdd] && f[20] == 58 && f[54] == 136,
            || sender.send_na(idx, mac, vip6, false).unwrap(),
        );
        assert_eq!(na[21], 255, "hop limit");
        assert_eq!(
            &na[38..54],
            &garp::ALL_NODES.octets(),
            "destination ff02::1"
        );
        assert_eq!(
            &na[0..6],
            &[0x33, 0x33, 0, 0, 0, 1],
            "ethernet multicast for ff02::1"
        );
        let src = Ipv6Addr::from(<[u8; 16]>::try_from(&na[22..38]).unwrap());
        assert!(src.is_unicast_link_local(), "source {src}");
        let body = &na[54..54 + 32];
        let mut expected = garp::unsolicited_na(mac, vip6, false);
        expected[2..4].copy_from_slice(&body[2..4]);
        assert_eq!(body, &expected[..]);
        assert_eq!(
            garp::icmpv6_checksum(src, garp::ALL_NODES, body),
            0,
            "checksum"
        );
    });

    // and tshark finds them well-formed
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("tshark not installed: skipping dissector check");
        return;
    }
    let mut child = ns
        .exec("tshark")
        .args([
            "-ni",
            "veth1",
            "-l",
            "-V",
            "-c",
            "4",
            "-a",
            "duration:20",
            "-f",
            "arp or (icmp6 and ip6[40] == 136)",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait until tshark is capturing
    let stderr = child.stderr.take().unwrap();
    let (tx, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("Capturing on") {
                let _ = tx.send(());
            }
        }
    });
    started
        .recv_timeout(Duration::from_secs(20))
        .expect("tshark did not start");
    // dumpcap may attach a moment after tshark says it is capturing: keep announcing (one
    // GARP + one NA every 200 ms) until tshark has its packets or gives up.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            ns.run(|| {
                let sender = GarpSender::new().unwrap();
                let idx = nix_ifindex("veth0");
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    sender.send_garp(idx, vmac, vip4).unwrap();
                    sender.send_na(idx, veth0_mac, vip6, true).unwrap();
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        });
        let out = child.wait_with_output().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.to_lowercase().contains("malformed"), "{text}");
    assert!(text.contains("[Is gratuitous: True]"), "{text}");
    assert!(
        text.contains("Sender MAC address: 00:00:5e:00:01:09"),
        "{text}"
    );
    assert!(text.contains("Neighbor Advertisement"), "{text}");
    assert!(text.contains("Hop Limit: 255"), "{text}");
    assert!(text.contains("Target Address: fd00::99"), "{text}");
    assert!(text.contains("[Checksum Status: Good]"), "{text}");
    assert!(!text.contains("Checksum Status: Bad"), "{text}");
    assert!(
        text.contains("Override: Set") && text.contains("Router: Set"),
        "{text}"
    );
}

/// The helper's promise: a panicking test body still removes its namespace.
#[test]
fn netns_helper_cleans_up_on_panic() {
    let Some(probe) = NetNs::new() else { return };
    drop(probe);
    let name = std::panic::catch_unwind(|| {
        let ns = NetNs::new().unwrap();
        let name = ns.name().to_string();
        ns.veth("veth0", "veth1");
        ns.run(|| -> () { panic!("{name}") });
        unreachable!()
    })
    .expect_err("the body panicked");
    let name = name.downcast_ref::<String>().cloned().unwrap();
    assert!(name.starts_with("ktest-"));
    assert!(
        !std::path::Path::new(&format!("/run/netns/{name}")).exists(),
        "{name} left behind"
    );
}
