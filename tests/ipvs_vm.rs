//! IPVS integration tests against a real IPVS kernel.
//!
//! This machine's kernel has no IPVS, so the host-side test `ipvs_in_vm`
//! boots Debian's kernel under qemu TCG (tests/vm/ipvs-vm.sh, driven by
//! tests/common/vm.rs) with *this* test binary in the initramfs and runs the
//! `guest_*` tests inside the VM (environment `KEEPALIVED_IPVS_GUEST=1`).
//! Outside the VM the `guest_*` tests return at once.
//!
//! Each guest test programs IPVS through `keepalived_rs::ipvs`, then checks
//! the result three ways: our own dump, `ipvsadm -Sn` (and `-Ln
//! --thresholds`) run in the same VM, and for the wire format, the bytes
//! ipvsadm itself sends (captured on an nlmon device) against ours.
//!
//! `KEEPALIVED_SKIP_VM=1` skips the VM (e.g. for quick local runs).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use keepalived_rs::ipvs::constants::*;
use keepalived_rs::ipvs::{
    DestKey, Destination, Family, ForwardMethod, IpvsClient, IpvsCmd, IpvsError, IpvsMessage,
    Operation, Protocol, Scheduler, Service, ServiceFlags, ServiceKey, Subject, Tunnel, TunnelType,
};

#[path = "common/vm.rs"]
mod vm;
use vm::{in_guest, sh};

// --------------------------------------------------------------------------
// Host side: build and boot the VM, fail unless every guest test passed.
// --------------------------------------------------------------------------

/// Number of `guest_*` tests below; the VM must report this many passes.
const GUEST_TESTS: usize = 10;

#[test]
fn ipvs_in_vm() {
    // iproute2's `ip` (veth pairs for the sync daemons) instead of busybox's.
    vm::run_guest_tests(
        "ipvs_in_vm",
        "console.log",
        &[("IPVS_VM_EXTRA_BINS", &vm::host_ip_binary())],
        GUEST_TESTS,
    );
}

/// On a kernel without IPVS (like this project's build machines) connecting
/// must fail with the typed `Unavailable` error, not hang or panic.
#[test]
fn host_connect_reports_missing_ipvs() {
    if in_guest() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(IpvsClient::connect()) {
        Ok(mut c) => {
            // This host has IPVS: the family resolved, so GET_INFO works.
            rt.block_on(c.info()).expect("info on a host with IPVS");
        }
        Err(IpvsError::Unavailable) => {}
        Err(e) => panic!("expected Unavailable, got {e}"),
    }
}

// --------------------------------------------------------------------------
// Guest helpers
// --------------------------------------------------------------------------

macro_rules! guest_test {
    ($name:ident, $client:ident, $body:block) => {
        #[test]
        fn $name() {
            if !in_guest() {
                return;
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut $client = IpvsClient::connect().await.expect("connect to IPVS");
                $client.flush().await.expect("flush");
                $body
            });
        }
    };
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One `ipvsadm -S` line: `-A|-a`, the service, the real server, options.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SaveLine {
    add: String,
    service: String,
    real: Option<String>,
    opts: BTreeMap<String, String>,
}

const VALUED: &[&str] = &[
    "-t",
    "-u",
    "--sctp-service",
    "-f",
    "-r",
    "-s",
    "-p",
    "-M",
    "-b",
    "--pe",
    "-w",
    "-x",
    "-y",
    "--tun-type",
    "--tun-port",
];

fn parse_save(text: &str) -> BTreeSet<SaveLine> {
    let mut set = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let mut l = SaveLine {
            add: toks[0].to_string(),
            service: String::new(),
            real: None,
            opts: BTreeMap::new(),
        };
        let mut i = 1;
        while i < toks.len() {
            let t = toks[i];
            let v = if VALUED.contains(&t) && i + 1 < toks.len() {
                i += 1;
                toks[i].to_string()
            } else {
                String::new()
            };
            match t {
                "-t" | "-u" | "--sctp-service" | "-f" => l.service = format!("{t} {v}"),
                "-r" => l.real = Some(v),
                _ => {
                    l.opts.insert(t.to_string(), v);
                }
            }
            i += 1;
        }
        set.insert(l);
    }
    set
}

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn service_spec(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let flag = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                Protocol::Other(_) => unreachable!(),
            };
            format!("{flag} {}", addr_port(addr, *port))
        }
        ServiceKey::Fwmark { mark, .. } => format!("-f {mark}"),
    }
}

/// What `ipvsadm -Sn` prints for this configuration (as parsed lines).
fn expected_save(config: &[(Service, Vec<Destination>)]) -> BTreeSet<SaveLine> {
    let mut set = BTreeSet::new();
    for (svc, dests) in config {
        let family = svc.key.family();
        let mut opts = BTreeMap::new();
        opts.insert("-s".to_string(), svc.scheduler.to_string());
        if let ServiceKey::Fwmark {
            family: Family::V6, ..
        } = svc.key
        {
            opts.insert("-6".into(), String::new());
        }
        if let Some(p) = svc.persistence {
            opts.insert("-p".into(), p.timeout.to_string());
            if p.prefix_len != family.max_prefix() {
                let mask = match family {
                    Family::V4 => std::net::Ipv4Addr::from(
                        u32::MAX
                            .checked_shl(32 - u32::from(p.prefix_len))
                            .unwrap_or(0),
                    )
                    .to_string(),
                    Family::V6 => p.prefix_len.to_string(),
                };
                opts.insert("-M".into(), mask);
            }
        }
        if svc.flags.contains(ServiceFlags::ONE_PACKET) {
            opts.insert("-o".into(), String::new());
        }
        let prefix = match svc.scheduler {
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            _ => "",
        };
        let mut names = Vec::new();
        if svc.flags.contains(ServiceFlags::SCHED1) {
            names.push(if prefix.is_empty() {
                "flag-1".to_string()
            } else {
                format!("{prefix}-fallback")
            });
        }
        if svc.flags.contains(ServiceFlags::SCHED2) {
            names.push(if prefix.is_empty() {
                "flag-2".to_string()
            } else {
                format!("{prefix}-port")
            });
        }
        if !names.is_empty() {
            opts.insert("-b".into(), names.join(","));
        }
        if let Some(pe) = &svc.pe_name {
            opts.insert("--pe".into(), pe.clone());
        }
        set.insert(SaveLine {
            add: "-A".into(),
            service: service_spec(&svc.key),
            real: None,
            opts,
        });
        for d in dests {
            let mut opts = BTreeMap::new();
            let m = match d.forward {
                ForwardMethod::Masquerade => "-m",
                ForwardMethod::DirectRoute => "-g",
                ForwardMethod::Tunnel => "-i",
                other => panic!("ipvsadm cannot show {other:?}"),
            };
            opts.insert(m.to_string(), String::new());
            opts.insert("-w".into(), d.weight.to_string());
            if let ServiceKey::Fwmark {
                family: Family::V6, ..
            } = svc.key
            {
                opts.insert("-6".into(), String::new());
            }
            if d.forward == ForwardMethod::Tunnel {
                match d.tunnel.kind {
                    TunnelType::Ipip => {
                        opts.insert("--tun-type".into(), "ipip".into());
                    }
                    TunnelType::Gue | TunnelType::Gre => {
                        let name = if d.tunnel.kind == TunnelType::Gue {
                            opts.insert("--tun-port".into(), d.tunnel.port.to_string());
                            "gue"
                        } else {
                            "gre"
                        };
                        opts.insert("--tun-type".into(), name.into());
                        let csum = if d.tunnel.flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM != 0 {
                            "--tun-remcsum"
                        } else if d.tunnel.flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM != 0 {
                            "--tun-csum"
                        } else {
                            "--tun-nocsum"
                        };
                        opts.insert(csum.into(), String::new());
                    }
                    TunnelType::Other(_) => unreachable!(),
                }
            }
            set.insert(SaveLine {
                add: "-a".into(),
                service: service_spec(&svc.key),
                real: Some(addr_port(&d.addr, d.port)),
                opts,
            });
        }
    }
    set
}

/// `(service line head, real server) -> (upper, lower)` from
/// `ipvsadm -Ln --thresholds`.
fn thresholds() -> BTreeMap<(String, String), (u32, u32)> {
    let text = sh("ipvsadm -Ln --thresholds");
    let mut map = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().skip(3) {
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.first() == Some(&"->") && toks.len() >= 4 {
            map.insert(
                (current.clone(), toks[1].to_string()),
                (toks[2].parse().unwrap(), toks[3].parse().unwrap()),
            );
        } else if toks.len() >= 2 {
            current = format!("{} {}", toks[0], toks[1]);
        }
    }
    map
}

/// The whole state, three ways, must equal `config`.
async fn check_state(client: &mut IpvsClient, config: &[(Service, Vec<Destination>)]) {
    // 1. our own dump
    let mut got: Vec<Service> = client
        .services()
        .await
        .expect("dump services")
        .into_iter()
        .map(|e| e.service)
        .collect();
    got.sort_by_key(|s| s.key);
    let mut want: Vec<Service> = config.iter().map(|(s, _)| s.clone()).collect();
    want.sort_by_key(|s| s.key);
    assert_eq!(got, want, "services dumped by our module");
    for (svc, dests) in config {
        let mut got: Vec<Destination> = client
            .destinations(&svc.key)
            .await
            .expect("dump destinations")
            .into_iter()
            .map(|e| e.dest)
            .collect();
        got.sort_by_key(|d| d.key());
        let mut want = dests.clone();
        want.sort_by_key(|d| d.key());
        assert_eq!(got, want, "destinations of {}", svc.key);
        // single GET agrees with the dump
        let one = client.get_service(&svc.key).await.expect("get service");
        assert_eq!(one.map(|e| e.service).as_ref(), Some(svc));
    }
    // 2. ipvsadm's view
    let save = sh("ipvsadm -Sn");
    assert_eq!(
        parse_save(&save),
        expected_save(config),
        "ipvsadm -Sn shows:\n{save}"
    );
    // 3. thresholds through ipvsadm -Ln --thresholds
    let th = thresholds();
    for (svc, dests) in config {
        for d in dests {
            let head = match svc.key {
                ServiceKey::Addr {
                    protocol,
                    addr,
                    port,
                } => format!("{protocol} {}", addr_port(&addr, port)),
                ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
            };
            let real = addr_port(&d.addr, d.port);
            assert_eq!(
                th.get(&(head.clone(), real.clone())),
                Some(&(d.upper_threshold, d.lower_threshold)),
                "thresholds of {real} in {head}"
            );
        }
    }
}

async fn apply(client: &mut IpvsClient, config: &[(Service, Vec<Destination>)]) {
    for (svc, dests) in config {
        client.add_service(svc).await.expect("add service");
        for d in dests {
            client
                .add_destination(&svc.key, d)
                .await
                .expect("add destination");
        }
    }
}

// --------------------------------------------------------------------------
// Guest tests (run inside the VM)
// --------------------------------------------------------------------------

guest_test!(guest_info, client, {
    let info = client.info().await.expect("info");
    assert_eq!(info.version_string(), "1.2.1");
    assert!(info.conn_tab_size > 0);
    assert!(client.family_id() >= 0x10);
});

guest_test!(guest_services_every_protocol_and_scheduler, client, {
    let scheds = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ];
    let mut config = Vec::new();
    for (i, s) in scheds.iter().enumerate() {
        let sched: Scheduler = s.parse().unwrap();
        let port = 1000 + i as u16;
        let key = match i % 3 {
            0 => ServiceKey::tcp(ip("10.0.0.1"), port),
            1 => ServiceKey::udp(ip("10.0.0.1"), port),
            _ => ServiceKey::sctp(ip("10.0.0.1"), port),
        };
        let dests = vec![
            Destination::new(
                ip("192.168.100.2"),
                port,
                ForwardMethod::Masquerade,
                1 + i as u32,
            ),
            Destination::new(ip("192.168.100.3"), 8080, ForwardMethod::Masquerade, 0),
        ];
        config.push((Service::new(key, sched), dests));
    }
    apply(&mut client, &config).await;
    check_state(&mut client, &config).await;
});

guest_test!(guest_fwmark_ipv6_and_persistence, client, {
    let config = vec![
        (
            Service::new(ServiceKey::fwmark(Family::V4, 7), Scheduler::Lblcr)
                .with_persistence(10, Some(16)),
            vec![Destination::new(
                ip("192.168.100.9"),
                0,
                ForwardMethod::DirectRoute,
                1,
            )],
        ),
        (
            Service::new(ServiceKey::fwmark(Family::V6, 8), Scheduler::Sh)
                .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT),
            vec![Destination::new(
                ip("2001:db8:100::8"),
                0,
                ForwardMethod::DirectRoute,
                3,
            )],
        ),
        (
            Service::new(ServiceKey::tcp(ip("2001:db8::1"), 443), Scheduler::Wlc)
                .with_persistence(300, Some(64)),
            vec![
                Destination::new(ip("2001:db8:100::5"), 443, ForwardMethod::Masquerade, 5),
                Destination::new(ip("2001:db8:100::6"), 8443, ForwardMethod::Masquerade, 6),
            ],
        ),
        (
            Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), Scheduler::Mh)
                .with_flags(ServiceFlags::ONE_PACKET | ServiceFlags::MH_PORT),
            vec![Destination::new(
                ip("2001:db8:100::7"),
                53,
                ForwardMethod::DirectRoute,
                1,
            )],
        ),
        (
            Service::new(ServiceKey::tcp(ip("10.0.0.4"), 0), Scheduler::Dh)
                .with_persistence(360, None),
            vec![],
        ),
    ];
    apply(&mut client, &config).await;
    check_state(&mut client, &config).await;
});

guest_test!(
    guest_forwarding_methods_weights_thresholds_tunnels,
    client,
    {
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let dests = vec![
            Destination::new(ip("192.168.100.2"), 80, ForwardMethod::Masquerade, 3)
                .with_thresholds(100, 10),
            Destination::new(ip("192.168.100.3"), 80, ForwardMethod::DirectRoute, 0),
            Destination::new(ip("192.168.100.4"), 80, ForwardMethod::Tunnel, 1),
            Destination::new(ip("192.168.100.5"), 80, ForwardMethod::Tunnel, 2).with_tunnel(
                Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: 0,
                },
            ),
            Destination::new(ip("192.168.100.6"), 80, ForwardMethod::Tunnel, 2).with_tunnel(
                Tunnel {
                    kind: TunnelType::Gre,
                    port: 0,
                    flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                },
            ),
            Destination::new(ip("192.168.100.7"), 80, ForwardMethod::Tunnel, 2).with_tunnel(
                Tunnel {
                    kind: TunnelType::Gue,
                    port: 5555,
                    flags: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
                },
            ),
            // IPv6 real server behind an IPv4 service: tunnel only
            Destination::new(ip("2001:db8:100::9"), 80, ForwardMethod::Tunnel, 4),
        ];
        let config = vec![(Service::new(key, Scheduler::Wrr), dests)];
        apply(&mut client, &config).await;
        check_state(&mut client, &config).await;
    }
);

guest_test!(guest_edit_and_delete, client, {
    let key = ServiceKey::udp(ip("10.0.0.2"), 53);
    let d1 = Destination::new(ip("192.168.100.2"), 53, ForwardMethod::Masquerade, 1);
    let d2 = Destination::new(ip("192.168.100.3"), 53, ForwardMethod::Masquerade, 1);
    let mut config = vec![(Service::new(key, Scheduler::Rr), vec![d1, d2])];
    apply(&mut client, &config).await;
    check_state(&mut client, &config).await;

    // edit the service: scheduler, persistence, flags
    config[0].0 = Service::new(key, Scheduler::Sh)
        .with_persistence(120, Some(24))
        .with_flags(ServiceFlags::SH_PORT | ServiceFlags::ONE_PACKET);
    client.update_service(&config[0].0).await.unwrap();
    check_state(&mut client, &config).await;

    // and back: persistence and flags off again
    config[0].0 = Service::new(key, Scheduler::Wlc);
    client.update_service(&config[0].0).await.unwrap();
    check_state(&mut client, &config).await;

    // edit a destination: weight, method, thresholds
    config[0].1[0] = Destination::new(ip("192.168.100.2"), 53, ForwardMethod::DirectRoute, 9)
        .with_thresholds(50, 5);
    client
        .update_destination(&key, &config[0].1[0])
        .await
        .unwrap();
    check_state(&mut client, &config).await;

    // delete a destination
    client.delete_destination(&key, &d2.key()).await.unwrap();
    config[0].1.pop();
    check_state(&mut client, &config).await;

    // delete the service
    client.delete_service(&key).await.unwrap();
    check_state(&mut client, &[]).await;
    assert_eq!(client.get_service(&key).await.unwrap(), None);
});

guest_test!(guest_errors_are_typed, client, {
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let svc = Service::new(key, Scheduler::Rr);
    let dest = Destination::new(ip("192.168.100.2"), 80, ForwardMethod::Masquerade, 1);
    let missing = ServiceKey::tcp(ip("10.0.0.99"), 80);

    // destination on a missing service: ESRCH, names both
    let e = client.add_destination(&missing, &dest).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(e.errno(), Some(libc::ESRCH));
    assert_eq!(e.subject(), Subject::Destination(missing, dest.key()));
    eprintln!("example error: {e}");

    client.add_service(&svc).await.unwrap();
    let e = client.add_service(&svc).await.unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    assert!(matches!(
        e,
        IpvsError::Kernel {
            op: Operation::AddService,
            errno: libc::EEXIST,
            ..
        }
    ));

    client.add_destination(&key, &dest).await.unwrap();
    let e = client.add_destination(&key, &dest).await.unwrap_err();
    assert!(e.is_already_exists(), "{e}");

    let other = DestKey::new(ip("192.168.100.77"), 80);
    let e = client.delete_destination(&key, &other).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(e.errno(), Some(libc::ENOENT));
    let e = client
        .update_destination(
            &key,
            &Destination::new(other.addr, 80, ForwardMethod::Masquerade, 1),
        )
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");

    let e = client.delete_service(&missing).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(e.subject(), Subject::Service(missing));
    let e = client
        .update_service(&Service::new(missing, Scheduler::Rr))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");

    // unknown scheduler module: ENOENT from the kernel
    let e = client
        .add_service(&Service::new(
            ServiceKey::tcp(ip("10.0.0.5"), 1),
            Scheduler::Other("nosuch".into()),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
    assert!(e.to_string().contains("scheduler"), "{e}");

    // refused before sending
    let e = client
        .add_destination(
            &key,
            &Destination::new(ip("192.168.100.8"), 80, ForwardMethod::Masquerade, 1)
                .with_thresholds(1, 2),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, IpvsError::Invalid { .. }), "{e}");

    // mixed families need tunnelling: the kernel says EINVAL
    let e = client
        .add_destination(
            &key,
            &Destination::new(ip("2001:db8:100::3"), 80, ForwardMethod::Masquerade, 1),
        )
        .await
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::EINVAL), "{e}");

    // state untouched by the failures
    check_state(&mut client, &[(svc, vec![dest])]).await;
});

guest_test!(guest_reads_what_ipvsadm_wrote, client, {
    sh("ipvsadm -A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0 \
        && ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.2:8080 -m -w 3 -x 100 -y 10 \
        && ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum \
        && ipvsadm -A -u [2001:db8::1]:53 -s sh -b sh-fallback -o \
        && ipvsadm -a -u [2001:db8::1]:53 -r [2001:db8:100::5]:53 -g -w 2 \
        && ipvsadm -A -f 9 -6 -s nq --pe sip -p 30 -M 64 \
        && ipvsadm -A --sctp-service 10.0.0.3:9 -s fo");
    let config = vec![
        (
            Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), Scheduler::Wrr)
                .with_persistence(300, Some(24)),
            vec![
                Destination::new(ip("192.168.100.2"), 8080, ForwardMethod::Masquerade, 3)
                    .with_thresholds(100, 10),
                Destination::new(ip("192.168.100.4"), 80, ForwardMethod::Tunnel, 1).with_tunnel(
                    Tunnel {
                        kind: TunnelType::Gue,
                        port: 6080,
                        flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                    },
                ),
            ],
        ),
        (
            Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), Scheduler::Sh)
                .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::ONE_PACKET),
            vec![Destination::new(
                ip("2001:db8:100::5"),
                53,
                ForwardMethod::DirectRoute,
                2,
            )],
        ),
        (
            Service {
                pe_name: Some("sip".into()),
                ..Service::new(ServiceKey::fwmark(Family::V6, 9), Scheduler::Nq)
                    .with_persistence(30, Some(64))
            },
            vec![],
        ),
        (
            Service::new(ServiceKey::sctp(ip("10.0.0.3"), 9), Scheduler::Fo),
            vec![],
        ),
    ];
    check_state(&mut client, &config).await;
    // and we can remove what ipvsadm made
    for (svc, _) in &config {
        client.delete_service(&svc.key).await.unwrap();
    }
    check_state(&mut client, &[]).await;
});

guest_test!(guest_flush, client, {
    let config = vec![
        (
            Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), Scheduler::Rr),
            vec![Destination::new(
                ip("192.168.100.2"),
                80,
                ForwardMethod::Masquerade,
                1,
            )],
        ),
        (
            Service::new(ServiceKey::fwmark(Family::V4, 3), Scheduler::Rr),
            vec![],
        ),
    ];
    apply(&mut client, &config).await;
    check_state(&mut client, &config).await;
    client.flush().await.unwrap();
    check_state(&mut client, &[]).await;
    assert!(client.services().await.unwrap().is_empty());
});

// ---- wire format: ipvsadm's own requests, captured on nlmon -------------

/// Every netlink frame seen on nlmon0 while `cmd` runs.
fn capture(cmd: &str) -> Vec<Vec<u8>> {
    // SAFETY: plain libc socket calls on a local fd; buffers are sized.
    unsafe {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
        assert!(fd >= 0, "AF_PACKET socket");
        let name = std::ffi::CString::new("nlmon0").unwrap();
        let ifindex = libc::if_nametoindex(name.as_ptr());
        assert!(ifindex > 0, "nlmon0 missing");
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        let rc = libc::bind(
            fd,
            &sll as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(rc, 0, "bind nlmon0");
        sh(cmd);
        let mut frames = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT);
            if n <= 0 {
                break;
            }
            frames.push(buf[..n as usize].to_vec());
        }
        libc::close(fd);
        frames
    }
}

/// ipvsadm's request with genl command `cmd` among captured frames, with
/// sequence number and port id zeroed.
fn request_of(frames: &[Vec<u8>], family: u16, cmd: IpvsCmd) -> Vec<u8> {
    let cmd = u8::from(cmd);
    let mut f = frames
        .iter()
        .find(|f| {
            f.len() >= 20
                && u16::from_ne_bytes([f[4], f[5]]) == family
                && u16::from_ne_bytes([f[6], f[7]]) & 1 != 0 // NLM_F_REQUEST
                && f[16] == cmd
        })
        .unwrap_or_else(|| panic!("no request with cmd {cmd} captured"))
        .clone();
    f[8..16].fill(0);
    f
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The attribute bytes of the nest `kind` at the first level of a request.
fn nest(req: &[u8], kind: u16) -> Vec<u8> {
    let mut off = 20;
    while off + 4 <= req.len() {
        let len = u16::from_ne_bytes([req[off], req[off + 1]]) as usize;
        let k = u16::from_ne_bytes([req[off + 2], req[off + 3]]) & 0x3fff;
        if len < 4 {
            break;
        }
        if k == kind {
            return req[off..off + len].to_vec();
        }
        off += (len + 3) & !3;
    }
    panic!("no attribute {kind} in request");
}

guest_test!(guest_wire_matches_ipvsadm, client, {
    sh("ip link add nlmon0 type nlmon 2>/dev/null; ip link set nlmon0 up");
    let fam = client.family_id();
    let ours = |m: IpvsMessage| {
        let mut b = m.to_request(fam, 5, 0, 0);
        b[8..16].fill(0);
        b
    };
    let mut golden = Vec::new();

    // NEW_SERVICE, IPv4 TCP, persistence with a /24 mask
    let svc = Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), Scheduler::Wrr)
        .with_persistence(300, Some(24));
    let frames = capture("ipvsadm -A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0");
    let theirs = request_of(&frames, fam, IpvsCmd::NewService);
    golden.push(("new_service_tcp4_persistent", hex(&theirs)));
    assert_eq!(
        hex(&theirs),
        hex(&ours(IpvsMessage::new_service(&svc))),
        "NEW_SERVICE tcp4"
    );

    // SET_SERVICE
    let svc2 = Service::new(svc.key, Scheduler::Sh)
        .with_flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK);
    let frames = capture("ipvsadm -E -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback");
    let theirs = request_of(&frames, fam, IpvsCmd::SetService);
    golden.push(("set_service_sh_flags", hex(&theirs)));
    assert_eq!(
        hex(&theirs),
        hex(&ours(IpvsMessage::set_service(&svc2))),
        "SET_SERVICE"
    );

    // NEW_SERVICE, fwmark IPv6
    let fw6 = Service::new(ServiceKey::fwmark(Family::V6, 5), Scheduler::Rr);
    let frames = capture("ipvsadm -A -f 5 -6 -s rr");
    let theirs = request_of(&frames, fam, IpvsCmd::NewService);
    golden.push(("new_service_fwmark6", hex(&theirs)));
    assert_eq!(
        hex(&theirs),
        hex(&ours(IpvsMessage::new_service(&fw6))),
        "NEW_SERVICE fwmark6"
    );

    // NEW_SERVICE, UDP IPv6
    let udp6 = Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), Scheduler::Wlc);
    let frames = capture("ipvsadm -A -u [2001:db8::1]:53 -s wlc");
    let theirs = request_of(&frames, fam, IpvsCmd::NewService);
    golden.push(("new_service_udp6", hex(&theirs)));
    assert_eq!(
        hex(&theirs),
        hex(&ours(IpvsMessage::new_service(&udp6))),
        "NEW_SERVICE udp6"
    );

    // NEW_DEST: ipvsadm repeats the whole service in the service nest (we
    // send only its key, which is all the kernel reads), so compare the
    // destination nest and the headers.
    let d = Destination::new(ip("192.168.100.2"), 8080, ForwardMethod::Masquerade, 3)
        .with_thresholds(100, 10);
    let frames = capture("ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.2:8080 -m -w 3 -x 100 -y 10");
    let theirs = request_of(&frames, fam, IpvsCmd::NewDest);
    let mine = ours(IpvsMessage::new_dest(&svc.key, &d));
    golden.push(("new_dest_masq_thresholds", hex(&theirs)));
    assert_eq!(hex(&theirs[4..20]), hex(&mine[4..20]), "NEW_DEST headers");
    assert_eq!(
        hex(&nest(&theirs, IPVS_CMD_ATTR_DEST)),
        hex(&nest(&mine, IPVS_CMD_ATTR_DEST)),
        "NEW_DEST dest nest"
    );

    let d =
        Destination::new(ip("192.168.100.4"), 80, ForwardMethod::Tunnel, 1).with_tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
        });
    let frames = capture(
        "ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum",
    );
    let theirs = request_of(&frames, fam, IpvsCmd::NewDest);
    let mine = ours(IpvsMessage::new_dest(&svc.key, &d));
    golden.push(("new_dest_tun_gue", hex(&theirs)));
    assert_eq!(
        hex(&nest(&theirs, IPVS_CMD_ATTR_DEST)),
        hex(&nest(&mine, IPVS_CMD_ATTR_DEST)),
        "NEW_DEST gue dest nest"
    );

    let d = Destination::new(ip("192.168.100.3"), 80, ForwardMethod::DirectRoute, 0);
    let frames = capture("ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.3:80 -g -w 0");
    let theirs = request_of(&frames, fam, IpvsCmd::NewDest);
    let mine = ours(IpvsMessage::new_dest(&svc.key, &d));
    golden.push(("new_dest_dr", hex(&theirs)));
    assert_eq!(
        hex(&nest(&theirs, IPVS_CMD_ATTR_DEST)),
        hex(&nest(&mine, IPVS_CMD_ATTR_DEST)),
        "NEW_DEST dr dest nest"
    );

    // FLUSH
    let frames = capture("ipvsadm -C");
    let theirs = request_of(&frames, fam, IpvsCmd::Flush);
    golden.push(("flush", hex(&theirs)));
    assert_eq!(hex(&theirs), hex(&ours(IpvsMessage::flush())), "FLUSH");

    for (name, h) in golden {
        eprintln!("GOLDEN {name} {h}");
    }
});

// ---- kernel-wide settings: timeouts (SET_CONFIG) and sync daemons -------

/// `ipvsadm -L --timeout`: (tcp, tcpfin, udp).
fn ipvsadm_timeouts() -> (u32, u32, u32) {
    let out = sh("ipvsadm -L --timeout");
    let nums: Vec<u32> = out
        .split(':')
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(nums.len(), 3, "{out}");
    (nums[0], nums[1], nums[2])
}

guest_test!(guest_settings_match_ipvsadm, client, {
    use keepalived_rs::ipvs::settings::{SyncDaemon, SyncRole, Timeouts};
    sh("ip link add nlmon0 type nlmon 2>/dev/null; ip link set nlmon0 up");
    let fam = client.family_id();
    let ours = |m: IpvsMessage| {
        let mut b = m.to_request(fam, 5, 0, 0);
        b[8..16].fill(0);
        b
    };
    let mut golden = Vec::new();

    // Timeouts: ours read what ipvsadm shows, set what ipvsadm then shows.
    let (tcp, fin, udp) = ipvsadm_timeouts();
    let t = client.timeouts().await.expect("GET_CONFIG");
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (tcp, fin, udp));
    let want = Timeouts {
        tcp: 7200,
        tcp_fin: 30,
        udp: 45,
    };
    client.set_timeouts(&want).await.expect("SET_CONFIG");
    assert_eq!(ipvsadm_timeouts(), (7200, 30, 45));
    // A 0 leaves that timeout alone.
    client
        .set_timeouts(&Timeouts {
            tcp: 0,
            tcp_fin: 99,
            udp: 0,
        })
        .await
        .unwrap();
    assert_eq!(ipvsadm_timeouts(), (7200, 99, 45));
    let frames = capture("ipvsadm --set 7201 31 46");
    let theirs = request_of(&frames, fam, IpvsCmd::SetConfig);
    golden.push(("set_config", hex(&theirs)));
    let mine = ours(IpvsMessage::set_config(&Timeouts {
        tcp: 7201,
        tcp_fin: 31,
        udp: 46,
    }));
    client.set_timeouts(&t).await.unwrap();
    assert_eq!(ipvsadm_timeouts(), (tcp, fin, udp), "restored");

    // Sync daemons: ipvsadm's request bytes, and each side reads what the other started. The
    // master's socket is connected to the group: it needs a route.
    // On a veth pair (a dummy device has no multicast), with iproute2's ip (/bin/ip: busybox's
    // sh runs its own applet for a bare `ip`).
    sh("/bin/ip link add sv0 type veth peer name sv1 && /bin/ip addr add 192.168.77.1/24 dev sv0 && /bin/ip link set sv0 up && /bin/ip link set sv1 up");
    let mut d = SyncDaemon::new(SyncRole::Master, "sv0", 5);
    d.maxlen = Some(1400);
    d.port = Some(8850);
    d.ttl = Some(2);
    d.group = Some(ip("224.0.0.90"));
    let frames = capture(
        "ipvsadm --start-daemon master --mcast-interface sv0 --syncid 5 --sync-maxlen 1400 --mcast-group 224.0.0.90 --mcast-port 8850 --mcast-ttl 2",
    );
    let theirs_new = request_of(&frames, fam, IpvsCmd::NewDaemon);
    golden.push(("new_daemon_master_all", hex(&theirs_new)));
    let listed = client.daemons().await.expect("GET_DAEMON");
    eprintln!("IPVS-VM: daemons after ipvsadm --start-daemon: {listed:?}");
    let frames = capture("ipvsadm --stop-daemon master");
    let theirs_del = request_of(&frames, fam, IpvsCmd::DelDaemon);
    golden.push(("del_daemon_master", hex(&theirs_del)));
    for (name, h) in &golden {
        eprintln!("GOLDEN {name} {h}");
    }
    eprintln!("OURS set_config {}", hex(&mine));
    eprintln!(
        "OURS new_daemon_master_all {}",
        hex(&ours(IpvsMessage::new_daemon(&d)))
    );
    eprintln!(
        "OURS del_daemon_master {}",
        hex(&ours(IpvsMessage::del_daemon(SyncRole::Master)))
    );
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(d.matches(&listed[0]), "{:?} vs {:?}", d, listed[0]);
    assert_eq!(hex(&theirs), hex(&mine), "SET_CONFIG");
    let their_nest = nest(&theirs_new, IPVS_CMD_ATTR_DAEMON);
    let parsed = keepalived_rs::ipvs::settings::DaemonNla::parse_nest(&their_nest[4..]).unwrap();
    assert_eq!(
        SyncDaemon::from_nlas(&parsed),
        Some(d.clone()),
        "ipvsadm's NEW_DAEMON decodes"
    );

    assert!(client.daemons().await.unwrap().is_empty());
    client.start_daemon(&d).await.expect("NEW_DAEMON");
    let backup = SyncDaemon::new(SyncRole::Backup, "sv0", 5);
    client
        .start_daemon(&backup)
        .await
        .expect("NEW_DAEMON backup");
    let out = sh("ipvsadm -L --daemon");
    eprintln!("IPVS-VM: ipvsadm -L --daemon:\n{out}");
    assert!(
        out.contains("master sync daemon (mcast=sv0, syncid=5"),
        "{out}"
    );
    assert!(
        out.contains("backup sync daemon (mcast=sv0, syncid=5"),
        "{out}"
    );
    for w in ["maxlen=1400", "group=224.0.0.90", "port=8850", "ttl=2"] {
        assert!(out.contains(w), "{w}: {out}");
    }
    let e = client.start_daemon(&d).await.unwrap_err();
    assert_eq!(e.errno(), Some(libc::EEXIST), "{e}");
    client
        .stop_daemon(SyncRole::Master)
        .await
        .expect("DEL_DAEMON");
    client
        .stop_daemon(SyncRole::Backup)
        .await
        .expect("DEL_DAEMON backup");
    let e = client.stop_daemon(SyncRole::Master).await.unwrap_err();
    assert_eq!(e.errno(), Some(libc::ESRCH), "{e}");
    assert_eq!(sh("ipvsadm -L --daemon").trim(), "");
    assert_eq!(
        hex(&nest(&theirs_del, IPVS_CMD_ATTR_DAEMON)[4..]),
        hex(&nest(
            &ours(IpvsMessage::del_daemon(SyncRole::Master)),
            IPVS_CMD_ATTR_DAEMON
        )[4..]),
        "DEL_DAEMON nest"
    );
    assert_eq!(
        hex(&theirs_new),
        hex(&ours(IpvsMessage::new_daemon(&d))),
        "NEW_DAEMON"
    );
});
