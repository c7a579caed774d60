//! `auth_type AH` against adverts captured from keepalived 2.2.7
//! (tests/fixtures/vrrp/ah/README.md): our encoder rebuilds them byte for byte, our checks
//! accept them with the right key and reject them with a wrong one or when altered.

use std::net::Ipv4Addr;

use crate::vrrp::ah::*;
use crate::vrrp::packet::{
    decode, encode as encode_vrrp, AdvertV2, Advertisement, ChecksumMode, Family, V2Auth,
};
use crate::vrrp::validate::DropReason;

fn hex(text: &str) -> Vec<u8> {
    let h: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::trim)
        .collect();
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

macro_rules! fixture {
    ($name:literal) => {
        hex(include_str!(concat!(
            "../../../tests/fixtures/vrrp/ah/",
            $name
        )))
    };
}

const KA: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);

fn mcast_advert(priority: u8) -> Advertisement {
    Advertisement::V2(AdvertV2 {
        vrid: 61,
        priority,
        advert_int_s: 1,
        auth: V2Auth::AH,
        addresses: vec![Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 101)],
    })
}

fn ucast_advert() -> Advertisement {
    Advertisement::V2(AdvertV2 {
        vrid: 62,
        priority: 255,
        advert_int_s: 1,
        auth: V2Auth::AH,
        addresses: vec![Ipv4Addr::new(10, 99, 0, 120)],
    })
}

/// keepalived keys the HMAC with the first 8 bytes of `auth_pass`.
fn mkey() -> AhKey {
    AhKey::from_pass(b"ahsecret99")
}

#[test]
fn encode_rebuilds_keepalived_multicast_adverts() {
    for (file, id, seq, prio) in [
        (fixture!("ah_mcast.hex"), 1, 1, 150),
        (fixture!("ah_mcast_prio0.hex"), 5, 5, 0),
    ] {
        let vrrp = encode_vrrp(&mcast_advert(prio), ChecksumMode::MessageOnly).unwrap();
        let p = SendParams {
            src: KA,
            dst: GROUP,
            id,
            ttl: 255,
            seq,
            unicast: false,
        };
        assert_eq!(encode(&vrrp, &p, &mkey()), file);
    }
}

#[test]
fn encode_rebuilds_keepalived_unicast_adverts() {
    // Unicast: the TTL is left out of the ICV (keepalived zeroes it only then).
    for (file, n) in [
        (fixture!("ah_ucast.hex"), 1),
        (fixture!("ah_ucast_2.hex"), 2),
    ] {
        let vrrp = encode_vrrp(&ucast_advert(), ChecksumMode::MessageOnly).unwrap();
        let p = SendParams {
            src: KA,
            dst: PEER,
            id: n,
            ttl: 255,
            seq: u32::from(n),
            unicast: true,
        };
        assert_eq!(encode(&vrrp, &p, &AhKey::from_pass(b"uc")), file);
    }
}

#[test]
fn keepalived_adverts_verify_and_decode() {
    let g = fixture!("ah_mcast.hex");
    let p = split(&g).unwrap();
    assert_eq!((p.ihl, p.src, p.next_header), (20, KA, IPPROTO_VRRP));
    assert_eq!((p.spi, p.seq, p.vrid()), (u32::from(KA), 1, Some(61)));
    assert_eq!(p.verify(&mkey(), false), Ok(()));
    // The same key spelt with its 8 significant bytes only.
    assert_eq!(p.verify(&AhKey::from_pass(b"ahsecret"), false), Ok(()));
    let adv = decode(p.vrrp, Family::Ipv4, ChecksumMode::MessageOnly).unwrap();
    assert_eq!(adv, mcast_advert(150));
    let u = fixture!("ah_ucast.hex");
    let p = split(&u).unwrap();
    assert_eq!(p.verify(&AhKey::from_pass(b"uc"), true), Ok(()));
    // Checked as multicast, the TTL would be part of the ICV: no match.
    assert_eq!(
        p.verify(&AhKey::from_pass(b"uc"), false),
        Err(DropReason::AhIcv)
    );
}

#[test]
fn wrong_key_or_altered_packet_is_rejected() {
    let g = fixture!("ah_mcast.hex");
    let p = split(&g).unwrap();
    for k in [&b"ahsecreT"[..], b"ahsecre", b"", b"secret12"] {
        assert_eq!(
            p.verify(&AhKey::from_pass(k), false),
            Err(DropReason::AhIcv)
        );
    }
    // Any covered byte changed: IP ID, TTL, addresses, AH fields, VRRP priority, VIPs.
    for at in [4, 8, 12, 16, 20, 24, 28, 32, 45, 52] {
        let mut bad = g.clone();
        bad[at] ^= 1;
        let p = split(&bad).unwrap();
        assert_eq!(
            p.verify(&mkey(), false),
            Err(DropReason::AhIcv),
            "byte {at}"
        );
    }
    // Mutable fields are not covered: TOS, fragment field, header checksum.
    for at in [1, 6, 7, 10, 11] {
        let mut ok = g.clone();
        ok[at] ^= 0x20;
        assert_eq!(
            split(&ok).unwrap().verify(&mkey(), false),
            Ok(()),
            "byte {at}"
        );
    }
}

#[test]
fn spi_must_be_the_source() {
    // A packet whose ICV is right but whose SPI is not its source (built by us).
    let vrrp = encode_vrrp(&mcast_advert(150), ChecksumMode::MessageOnly).unwrap();
    let p = SendParams {
        src: KA,
        dst: GROUP,
        id: 9,
        ttl: 255,
        seq: 3,
        unicast: false,
    };
    let mut pkt = encode(&vrrp, &p, &mkey());
    pkt[24..28].copy_from_slice(&[10, 99, 0, 7]);
    // Recompute the ICV over the altered SPI, as a sender with the key would.
    pkt[32..44].fill(0);
    let mut head = pkt.clone();
    head[1] = 0;
    head[10] = 0;
    head[11] = 0;
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(b"ahsecret").unwrap();
    mac.update(&head);
    let icv = mac.finalize().into_bytes();
    pkt[32..44].copy_from_slice(&icv[..12]);
    let s = split(&pkt).unwrap();
    assert_eq!(
        s.verify(&mkey(), false),
        Err(DropReason::AhSpi {
            spi: u32::from(Ipv4Addr::new(10, 99, 0, 7)),
            src: u32::from(KA)
        })
    );
    assert_eq!(
        s.verify(&mkey(), false).unwrap_err().counter(),
        "auth_failure"
    );
}

#[test]
fn split_rejects_short_and_foreign_packets() {
    let g = fixture!("ah_mcast.hex");
    assert_eq!(split(&g[..40]), Err(SplitError::Truncated(40)));
    assert_eq!(split(&[]), Err(SplitError::Truncated(0)));
    let mut v = g.clone();
    v[9] = 112;
    assert_eq!(split(&v), Err(SplitError::NotAh(112)));
    assert_eq!(SplitError::NotAh(112).counter(), "authtype_mismatch");
    let mut v = g.clone();
    v[0] = 0x65;
    assert_eq!(split(&v), Err(SplitError::BadHeader));
    // Ethernet padding after the total length is not part of the datagram.
    let mut padded = g.clone();
    padded.extend_from_slice(&[0; 6]);
    let p = split(&padded).unwrap();
    assert_eq!(p.packet, &g[..]);
    assert_eq!(p.verify(&mkey(), false), Ok(()));
    // Another protocol behind the AH is reported as such (keepalived ignores the packet).
    let mut other = g.clone();
    other[20] = 6;
    assert_eq!(split(&other).unwrap().next_header, 6);
}

#[test]
fn sequence_numbers_as_keepalived() {
    let mut c = SeqCounter::default();
    // A new master starts at 1 and counts up.
    assert_eq!((c.next_send(), c.next_send()), (1, 2));
    // Replay protection: only numbers above the counter pass.
    assert_eq!(c.check(2), Err(DropReason::AhReplay { seq: 2, last: 2 }));
    assert_eq!(c.check(1).unwrap_err().counter(), "auth_failure");
    assert_eq!(c.check(3), Ok(()));
    // Sending and receiving share the counter: a backup taking over continues above.
    c.accepted(40, true);
    assert_eq!(c.value(), 40);
    assert_eq!(c.next_send(), 41);
    // A master hearing a lower-priority advert continues after its number.
    c.lower_priority_heard(100);
    assert_eq!(c.next_send(), 102);
    // End of the number space: the counter stops and is flagged; becoming master resets it.
    let mut c = SeqCounter::default();
    c.accepted(0xFFFF_FFFD, true);
    assert_eq!(c.next_send(), 0xFFFF_FFFE);
    assert!(!c.cycled());
    assert_eq!(c.next_send(), 0xFFFF_FFFE);
    assert!(c.cycled());
    c.becoming_master();
    assert_eq!((c.cycled(), c.next_send()), (false, 1));
    // Not cycled: becoming master keeps the counter.
    c.becoming_master();
    assert_eq!(c.value(), 1);
    // IP identification: per advert, never 0.
    let mut id = u16::MAX - 1;
    assert_eq!(
        (
            next_ip_id(&mut id),
            next_ip_id(&mut id),
            next_ip_id(&mut id)
        ),
        (u16::MAX, 1, 2)
    );
}

#[test]
fn an_advert_past_the_ah_checks_moves_the_counter_as_keepalived() {
    use crate::vrrp::events::State;
    use std::cmp::Ordering;
    let heard = |state, accepted, priority, order| Heard {
        state: Some(state),
        accepted,
        priority,
        ours: Some(100),
        order,
    };
    // Any state takes the number; a BACKUP hearing the master clears the cycled flag.
    let cycled = || {
        let mut c = SeqCounter::default();
        c.accepted(0xFFFF_FFFD, true);
        c.next_send();
        c.next_send();
        assert!(c.cycled());
        c
    };
    let mut c = cycled();
    c.heard(
        0xFFFF_FFFF,
        heard(State::Backup, true, 150, Ordering::Equal),
    );
    assert_eq!((c.value(), c.cycled()), (0xFFFF_FFFF, false));
    // Dropped after the AH checks: the number counts, nothing more.
    let mut c = SeqCounter::default();
    c.heard(7, heard(State::Master, false, 50, Ordering::Equal));
    assert_eq!(c.value(), 7);
    // A MASTER hearing a lower priority (or equal priority from a lower address) syncs.
    let mut c = SeqCounter::default();
    c.accepted(500, false);
    c.heard(9, heard(State::Master, true, 50, Ordering::Equal));
    assert_eq!(c.value(), 10);
    c.heard(3, heard(State::Master, true, 100, Ordering::Less));
    assert_eq!(c.value(), 4);
    // Equal priority and address: nothing.
    c.heard(2, heard(State::Master, true, 100, Ordering::Equal));
    assert_eq!(c.value(), 4);
    // A higher priority clears the cycled flag, keeps the number above.
    let mut c = cycled();
    c.heard(1, heard(State::Master, true, 150, Ordering::Less));
    assert_eq!((c.value(), c.cycled()), (0xFFFF_FFFE, false));
    let mut c = cycled();
    c.heard(1, heard(State::Master, true, 100, Ordering::Greater));
    assert!(!c.cycled());
    // Priority 0 (a stopping master) or not started: the number only.
    let mut c = cycled();
    c.heard(1, heard(State::Master, true, 0, Ordering::Greater));
    assert!(c.cycled());
    let mut c = SeqCounter::default();
    c.heard(
        5,
        Heard {
            ours: None,
            ..heard(State::Master, true, 50, Ordering::Equal)
        },
    );
    assert_eq!(c.value(), 5);
}
