//! Golden adverts captured from keepalived 2.2.7 (tests/fixtures/vrrp/README.md):
//! decode(golden) == expected and encode(expected) == golden, byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::vrrp::ip::parse_ipv4;
use crate::vrrp::packet::*;
use crate::vrrp::validate::{validate, RxContext, TtlCheck, Verdict};

struct Golden {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    bytes: Vec<u8>,
}

fn parse(text: &str) -> Golden {
    let mut src = None;
    let mut dst = None;
    let mut ttl = None;
    let mut hex = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# src ") {
            src = Some(rest.trim().parse().unwrap());
        } else if let Some(rest) = line.strip_prefix("# dst ") {
            dst = Some(rest.trim().parse().unwrap());
        } else if let Some(rest) = line.strip_prefix("# ttl ") {
            ttl = Some(rest.trim().parse().unwrap());
        } else if !line.starts_with('#') {
            hex.push_str(line.trim());
        }
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    Golden {
        src: src.unwrap(),
        dst: dst.unwrap(),
        ttl: ttl.unwrap(),
        bytes,
    }
}

macro_rules! fixture {
    ($name:literal) => {
        parse(include_str!(concat!(
            "../../../tests/fixtures/vrrp/",
            $name
        )))
    };
}

fn v2_expected(priority: u8) -> Advertisement {
    Advertisement::V2(AdvertV2 {
        vrid: 51,
        priority,
        advert_int_s: 1,
        auth: V2Auth::pass(b"secret12"),
        addresses: vec![Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 101)],
    })
}

fn v3_v4_expected(priority: u8) -> Advertisement {
    Advertisement::V3(AdvertV3 {
        vrid: 52,
        priority,
        max_advert_int_cs: 50,
        addresses: Addresses::V4(vec![Ipv4Addr::new(10, 99, 0, 110)]),
    })
}

fn v3_v6_expected(priority: u8) -> Advertisement {
    let a: Ipv6Addr = "fd00::100".parse().unwrap();
    let b: Ipv6Addr = "fd00::101".parse().unwrap();
    Advertisement::V3(AdvertV3 {
        vrid: 53,
        priority,
        max_advert_int_cs: 100,
        addresses: Addresses::V6(vec![a, b]),
    })
}

fn roundtrip(g: &Golden, family: Family, expected: &Advertisement) {
    let mode = ChecksumMode::Standard {
        src: g.src,
        dst: g.dst,
    };
    assert_eq!(decode(&g.bytes, family, mode).as_ref(), Ok(expected));
    assert_eq!(encode(expected, mode).unwrap(), g.bytes);
    assert_eq!(expected.encoded_len(), g.bytes.len());
}

#[test]
fn v2_pass_ipv4() {
    let g = fixture!("v2_pass_ipv4.hex");
    roundtrip(&g, Family::Ipv4, &v2_expected(150));
    // v2 checksum ignores the pseudo-header: any mode but Kernel gives the same bytes.
    assert_eq!(
        encode(&v2_expected(150), ChecksumMode::MessageOnly).unwrap(),
        g.bytes
    );
}

#[test]
fn v2_pass_ipv4_priority_0() {
    roundtrip(
        &fixture!("v2_pass_ipv4_prio0.hex"),
        Family::Ipv4,
        &v2_expected(0),
    );
}

#[test]
fn v3_ipv4() {
    let g = fixture!("v3_ipv4.hex");
    roundtrip(&g, Family::Ipv4, &v3_v4_expected(200));
    // keepalived 2.2.7 includes the IPv4 pseudo-header: the message-only sum differs.
    assert!(matches!(
        decode(&g.bytes, Family::Ipv4, ChecksumMode::MessageOnly),
        Err(DecodeError::Checksum { .. })
    ));
}

#[test]
fn v3_ipv4_priority_0() {
    roundtrip(
        &fixture!("v3_ipv4_prio0.hex"),
        Family::Ipv4,
        &v3_v4_expected(0),
    );
}

#[test]
fn v3_ipv6() {
    let g = fixture!("v3_ipv6.hex");
    roundtrip(&g, Family::Ipv6, &v3_v6_expected(100));
    // With kernel checksum offload decode skips the check and encode leaves the field zero.
    assert_eq!(
        decode(&g.bytes, Family::Ipv6, ChecksumMode::Kernel),
        Ok(v3_v6_expected(100))
    );
    let k = encode(&v3_v6_expected(100), ChecksumMode::Kernel).unwrap();
    assert_eq!(checksum_field(&k), Some(0));
    assert_eq!(k[..6], g.bytes[..6]);
    assert_eq!(k[8..], g.bytes[8..]);
}

#[test]
fn v3_ipv6_priority_0() {
    roundtrip(
        &fixture!("v3_ipv6_prio0.hex"),
        Family::Ipv6,
        &v3_v6_expected(0),
    );
}

#[test]
fn whole_ipv4_packet_parses_and_validates() {
    let g = fixture!("v3_ipv4_ip_packet.hex");
    let (hdr, payload) = parse_ipv4(&g.bytes).unwrap();
    assert_eq!(IpAddr::V4(hdr.src), g.src);
    assert_eq!(IpAddr::V4(hdr.dst), g.dst);
    assert_eq!((hdr.ttl, hdr.protocol, hdr.tos), (g.ttl, 112, 0xc0));
    let adv = decode(
        payload,
        Family::Ipv4,
        ChecksumMode::Standard {
            src: g.src,
            dst: g.dst,
        },
    )
    .unwrap();
    assert_eq!(adv, v3_v4_expected(200));
    let vips = [IpAddr::V4(Ipv4Addr::new(10, 99, 0, 110))];
    let ctx = RxContext {
        version: Version::V3,
        vrid: 52,
        ttl_check: TtlCheck::Exact255,
        ttl: Some(hdr.ttl),
        auth: V2Auth::NONE,
        advert_int: std::time::Duration::from_millis(500),
        vips: &vips,
        check_vips: true,
        src: g.src,
        allowed_sources: None,
        owner_ignores_adverts: false,
        ah: None,
    };
    assert_eq!(validate(&adv, &ctx), Verdict::Accept(Default::default()));
}

#[test]
fn golden_ttl_is_255() {
    for g in [
        fixture!("v2_pass_ipv4.hex"),
        fixture!("v3_ipv4.hex"),
        fixture!("v3_ipv6.hex"),
    ] {
        assert_eq!(g.ttl, 255);
    }
}
