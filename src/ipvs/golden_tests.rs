//! Golden bytes of encoded requests.
//!
//! `CAPTURED_*` are the requests ipvsadm 1.31 (Debian bookworm, libnl 3.7)
//! sent to Debian's 6.1.0-56 kernel, captured on an nlmon device inside the
//! test VM (tests/ipvs_vm.rs `guest_wire_matches_ipvsadm`, which prints them
//! as `GOLDEN name hex` and re-checks them live on every VM run). Sequence
//! number and port id are zeroed; the IPVS family id was 0x20 in that VM.
//!
//! The hand-derived ones follow include/uapi/linux/ip_vs.h field by field.

use std::net::IpAddr;

use super::constants::*;
use super::*;

const FAMILY: u16 = 0x20;
/// NLM_F_REQUEST | NLM_F_ACK, what ipvsadm (libnl auto-ack) sends.
const REQ_ACK: u16 = 5;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn encode(m: IpvsMessage) -> Vec<u8> {
    m.to_request(FAMILY, REQ_ACK, 0, 0)
}

/// First-level attribute `kind` (flags masked) of a request, header included.
fn attr(req: &[u8], kind: u16) -> &[u8] {
    let mut off = 20;
    while off + 4 <= req.len() {
        let len = u16::from_ne_bytes([req[off], req[off + 1]]) as usize;
        if u16::from_ne_bytes([req[off + 2], req[off + 3]]) & 0x3fff == kind {
            return &req[off..off + len];
        }
        off += (len + 3) & !3;
    }
    panic!("no attribute {kind}");
}

// `ipvsadm -A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0`
const CAPTURED_NEW_SERVICE_TCP4_PERSISTENT: &str = "68000000200005000000000000000000010100005400018006000100020000000600020006000000140003000a000001000000000000000000000000060004000050000008000600777272000c00070001000000ffffffff080008002c01000008000900ffffff00";
// `ipvsadm -E -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback`
const CAPTURED_SET_SERVICE_SH_FLAGS: &str = "68000000200005000000000000000000020100005400018006000100020000000600020006000000140003000a000001000000000000000000000000060004000050000007000600736800000c00070018000000ffffffff080008000000000008000900ffffffff";
// `ipvsadm -A -f 5 -6 -s rr`
const CAPTURED_NEW_SERVICE_FWMARK6: &str = "4c0000002000050000000000000000000101000038000180060001000a000000080005000500000007000600727200000c00070000000000ffffffff08000800000000000800090080000000";
// `ipvsadm -A -u [2001:db8::1]:53 -s wlc`
const CAPTURED_NEW_SERVICE_UDP6: &str = "680000002000050000000000000000000101000054000180060001000a00000006000200110000001400030020010db8000000000000000000000001060004000035000008000600776c63000c00070000000000ffffffff08000800000000000800090080000000";
// `ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.2:8080 -m -w 3 -x 100 -y 10`
const CAPTURED_NEW_DEST_MASQ_THRESHOLDS: &str = "c8000000200005000000000000000000050100005400018006000100020000000600020006000000140003000a000001000000000000000000000000060004000050000005000600000000000c00070000000000ffffffff080008000000000008000900ffffffff6000028006000b000200000014000100c0a86402000000000000000000000000060002001f9000000800030000000000080004000300000005000d000000000006000e000000000006000f00000000000800050064000000080006000a000000";
// `ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum`
const CAPTURED_NEW_DEST_TUN_GUE: &str = "c8000000200005000000000000000000050100005400018006000100020000000600020006000000140003000a000001000000000000000000000000060004000050000005000600000000000c00070000000000ffffffff080008000000000008000900ffffffff6000028006000b000200000014000100c0a8640400000000000000000000000006000200005000000800030002000000080004000100000005000d000100000006000e0017c0000006000f000100000008000500000000000800060000000000";
// `ipvsadm -a -t 10.0.0.1:80 -r 192.168.100.3:80 -g -w 0`
const CAPTURED_NEW_DEST_DR: &str = "c8000000200005000000000000000000050100005400018006000100020000000600020006000000140003000a000001000000000000000000000000060004000050000005000600000000000c00070000000000ffffffff080008000000000008000900ffffffff6000028006000b000200000014000100c0a8640300000000000000000000000006000200005000000800030003000000080004000000000005000d000000000006000e000000000006000f000000000008000500000000000800060000000000";
// `ipvsadm -C`
const CAPTURED_FLUSH: &str = "1400000020000500000000000000000011010000";

// `ipvsadm --set 7201 31 46`
const CAPTURED_SET_CONFIG: &str =
    "2c0000002000050000000000000000000c01000008000400211c0000080005001f000000080006002e000000";
// `ipvsadm --start-daemon master --mcast-interface sv0 --syncid 5 --sync-maxlen 1400
//  --mcast-group 224.0.0.90 --mcast-port 8850 --mcast-ttl 2`
const CAPTURED_NEW_DAEMON_MASTER_ALL: &str = "50000000200005000000000000000000090100003c00038008000100010000000800020073763000080003000500000006000400780500000600070092220000050008000200000008000500e000005a";
// `ipvsadm --stop-daemon master`
const CAPTURED_DEL_DAEMON_MASTER: &str = "300000002000050000000000000000000a0100001c000380080001000100000005000200000000000800030000000000";

fn tcp80() -> ServiceKey {
    ServiceKey::tcp(ip("10.0.0.1"), 80)
}

#[test]
fn new_service_matches_ipvsadm() {
    let svc = Service::new(tcp80(), Scheduler::Wrr).with_persistence(300, Some(24));
    assert_eq!(
        encode(IpvsMessage::new_service(&svc)),
        unhex(CAPTURED_NEW_SERVICE_TCP4_PERSISTENT)
    );
    let fw6 = Service::new(ServiceKey::fwmark(Family::V6, 5), Scheduler::Rr);
    assert_eq!(
        encode(IpvsMessage::new_service(&fw6)),
        unhex(CAPTURED_NEW_SERVICE_FWMARK6)
    );
    let udp6 = Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), Scheduler::Wlc);
    assert_eq!(
        encode(IpvsMessage::new_service(&udp6)),
        unhex(CAPTURED_NEW_SERVICE_UDP6)
    );
}

#[test]
fn set_service_matches_ipvsadm() {
    let svc = Service::new(tcp80(), Scheduler::Sh)
        .with_flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK);
    assert_eq!(
        encode(IpvsMessage::set_service(&svc)),
        unhex(CAPTURED_SET_SERVICE_SH_FLAGS)
    );
}

/// ipvsadm repeats the whole service (with an empty scheduler) in dest
/// requests; we send only the service key, which is all the kernel reads
/// there. Headers and the destination nest must match exactly.
#[test]
fn new_dest_matches_ipvsadm() {
    let cases = [
        (
            Destination::new(ip("192.168.100.2"), 8080, ForwardMethod::Masquerade, 3)
                .with_thresholds(100, 10),
            CAPTURED_NEW_DEST_MASQ_THRESHOLDS,
        ),
        (
            Destination::new(ip("192.168.100.4"), 80, ForwardMethod::Tunnel, 1).with_tunnel(
                Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                },
            ),
            CAPTURED_NEW_DEST_TUN_GUE,
        ),
        (
            Destination::new(ip("192.168.100.3"), 80, ForwardMethod::DirectRoute, 0),
            CAPTURED_NEW_DEST_DR,
        ),
    ];
    for (dest, captured) in cases {
        let theirs = unhex(captured);
        let ours = encode(IpvsMessage::new_dest(&tcp80(), &dest));
        assert_eq!(ours[4..20], theirs[4..20], "headers for {dest:?}");
        assert_eq!(
            attr(&ours, IPVS_CMD_ATTR_DEST),
            attr(&theirs, IPVS_CMD_ATTR_DEST),
            "dest nest for {dest:?}"
        );
        // Our service nest is exactly the key part of ipvsadm's.
        let svc = attr(&ours, IPVS_CMD_ATTR_SERVICE);
        assert_eq!(svc[4..], attr(&theirs, IPVS_CMD_ATTR_SERVICE)[4..svc.len()]);
    }
}

#[test]
fn flush_matches_ipvsadm() {
    assert_eq!(encode(IpvsMessage::flush()), unhex(CAPTURED_FLUSH));
}

/// Hand-derived from ip_vs.h: DEL_DEST for [2001:db8::1]:443/TCP,
/// destination [2001:db8:100::5]:8443.
#[test]
fn del_dest_hand_derived() {
    let svc = ServiceKey::tcp(ip("2001:db8::1"), 443);
    let dest = DestKey::new(ip("2001:db8:100::5"), 8443);
    let got = encode(IpvsMessage::del_dest(&svc, &dest));
    #[rustfmt::skip]
    let want: Vec<u8> = [
        // nlmsghdr: len 16+4+48+40 = 108, type = family 0x20, flags REQUEST|ACK, seq 0, pid 0
        &[108, 0, 0, 0, 0x20, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
        // genlmsghdr: cmd IPVS_CMD_DEL_DEST (7), version 1, reserved
        &[7, 1, 0, 0],
        // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, len 4+8+8+20+8 = 48
        &[48, 0, 0x01, 0x80],
        //   IPVS_SVC_ATTR_AF (1) u16 AF_INET6 (10), padded
        &[6, 0, 1, 0, 10, 0, 0, 0],
        //   IPVS_SVC_ATTR_PROTOCOL (2) u16 IPPROTO_TCP (6)
        &[6, 0, 2, 0, 6, 0, 0, 0],
        //   IPVS_SVC_ATTR_ADDR (3) union nf_inet_addr (16 bytes)
        &[20, 0, 3, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        //   IPVS_SVC_ATTR_PORT (4) __be16 443
        &[6, 0, 4, 0, 0x01, 0xbb, 0, 0],
        // IPVS_CMD_ATTR_DEST | NLA_F_NESTED, len 4+8+20+8 = 40
        &[40, 0, 0x02, 0x80],
        //   IPVS_DEST_ATTR_ADDR_FAMILY (11) u16 AF_INET6
        &[6, 0, 11, 0, 10, 0, 0, 0],
        //   IPVS_DEST_ATTR_ADDR (1)
        &[20, 0, 1, 0, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
        //   IPVS_DEST_ATTR_PORT (2) __be16 8443
        &[6, 0, 2, 0, 0x20, 0xfb, 0, 0],
    ]
    .concat();
    assert_eq!(got, want);
}

/// Hand-derived: a dump request carries NLM_F_REQUEST|NLM_F_DUMP (0x301)
/// and no attributes (services) or the service key (destinations).
#[test]
fn dump_requests_hand_derived() {
    let got = IpvsMessage::dump_services().to_request(FAMILY, 0x301, 9, 77);
    #[rustfmt::skip]
    let want = [
        20, 0, 0, 0, 0x20, 0, 0x01, 0x03, 9, 0, 0, 0, 77, 0, 0, 0,
        IPVS_CMD_GET_SERVICE, 1, 0, 0,
    ];
    assert_eq!(got, want);
    let got = IpvsMessage::dump_dests(&ServiceKey::fwmark(Family::V4, 0x0102_0304))
        .to_request(FAMILY, 0x301, 1, 0);
    #[rustfmt::skip]
    let want = [
        40, 0, 0, 0, 0x20, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
        IPVS_CMD_GET_DEST, 1, 0, 0,
        // SERVICE nest (len 4+8+8): AF_INET, FWMARK (5) host-order u32
        20, 0, 0x01, 0x80,
        6, 0, 1, 0, 2, 0, 0, 0,
        8, 0, 5, 0, 0x04, 0x03, 0x02, 0x01,
    ];
    assert_eq!(got, want);
}

/// A kernel-style reply (nests without NLA_F_NESTED, 16-byte address, stats,
/// HASHED flag) decodes to the typed model.
#[test]
fn kernel_service_reply_decodes() {
    use super::attrs::ServiceNla;
    use super::stats::{StatsNla, StatsWidth};
    let nlas = vec![
        ServiceNla::AddressFamily(AF_INET),
        ServiceNla::Protocol(17),
        ServiceNla::Address(super::service::inet_addr_bytes(&ip("10.1.2.3"))),
        ServiceNla::Port(53),
        ServiceNla::SchedName("sed".into()),
        ServiceNla::Flags {
            flags: IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT,
            mask: !0,
        },
        ServiceNla::Timeout(60),
        ServiceNla::Netmask([255, 255, 0, 0]),
        ServiceNla::Stats(StatsNla {
            kind: IPVS_SVC_ATTR_STATS,
            width: StatsWidth::Legacy,
            stats: Stats {
                conns: 1,
                ..Stats::default()
            },
        }),
        ServiceNla::Stats64(StatsNla {
            kind: IPVS_SVC_ATTR_STATS64,
            width: StatsWidth::Wide,
            stats: Stats {
                conns: 5_000_000_000,
                ..Stats::default()
            },
        }),
    ];
    let msg = IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(nlas)]);
    // Emit, strip NLA_F_NESTED like the kernel, parse back.
    let mut bytes = msg.to_request(FAMILY, 2, 1, 0);
    bytes[23] &= 0x7f;
    let parsed = IpvsMessage::from_genl_payload(&bytes[16..]).unwrap();
    let nest = parsed.service_nlas().next().unwrap();
    let entry = ServiceEntry::from_nlas(nest).unwrap();
    assert_eq!(
        entry.service,
        Service::new(ServiceKey::udp(ip("10.1.2.3"), 53), Scheduler::Sed)
            .with_persistence(60, Some(16))
    );
    assert_eq!(entry.stats.conns, 5_000_000_000, "STATS64 preferred");
}

#[test]
fn settings_match_ipvsadm() {
    use super::settings::{SyncDaemon, SyncRole, Timeouts};
    let t = Timeouts {
        tcp: 7201,
        tcp_fin: 31,
        udp: 46,
    };
    assert_eq!(
        encode(IpvsMessage::set_config(&t)),
        unhex(CAPTURED_SET_CONFIG)
    );
    let mut d = SyncDaemon::new(SyncRole::Master, "sv0", 5);
    d.maxlen = Some(1400);
    d.port = Some(8850);
    d.ttl = Some(2);
    d.group = Some(ip("224.0.0.90"));
    assert_eq!(
        encode(IpvsMessage::new_daemon(&d)),
        unhex(CAPTURED_NEW_DAEMON_MASTER_ALL)
    );
    assert_eq!(
        encode(IpvsMessage::del_daemon(SyncRole::Master)),
        unhex(CAPTURED_DEL_DAEMON_MASTER)
    );
    // ipvsadm's request decodes to the same daemon.
    let req = unhex(CAPTURED_NEW_DAEMON_MASTER_ALL);
    let m = IpvsMessage::from_genl_payload(&req[16..]).unwrap();
    let nlas = match &m.attrs[..] {
        [IpvsAttr::Daemon(n)] => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(SyncDaemon::from_nlas(nlas), Some(d));
}

/// Hand-derived: a GET_CONFIG reply (`IPVS_CMD_SET_CONFIG` with the three timeouts).
#[test]
fn get_config_reply_decodes() {
    #[rustfmt::skip]
    let payload = [
        IPVS_CMD_SET_CONFIG, 1, 0, 0,
        8, 0, 4, 0, 0x84, 0x03, 0, 0, // tcp 900
        8, 0, 5, 0, 120, 0, 0, 0,     // tcpfin 120
        8, 0, 6, 0, 0x2c, 0x01, 0, 0, // udp 300
    ];
    let m = IpvsMessage::from_genl_payload(&payload).unwrap();
    assert_eq!(
        m.timeouts(),
        Some(super::settings::Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        })
    );
    assert_eq!(
        encode(IpvsMessage::get_config()),
        [
            20,
            0,
            0,
            0,
            0x20,
            0,
            5,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            IPVS_CMD_GET_CONFIG,
            1,
            0,
            0
        ]
    );
}
