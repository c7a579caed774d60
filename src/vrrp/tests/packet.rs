//! Codec error paths and property tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::vrrp::packet::*;

const SRC4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const DST4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
const STD4: ChecksumMode = ChecksumMode::Standard {
    src: SRC4,
    dst: DST4,
};

fn v3(addrs: Vec<Ipv4Addr>) -> Advertisement {
    Advertisement::V3(AdvertV3 {
        vrid: 7,
        priority: 100,
        max_advert_int_cs: 1,
        addresses: Addresses::V4(addrs),
    })
}

fn v2() -> Advertisement {
    Advertisement::V2(AdvertV2 {
        vrid: 7,
        priority: 100,
        advert_int_s: 1,
        auth: V2Auth::NONE,
        addresses: vec![Ipv4Addr::new(10, 0, 0, 100)],
    })
}

fn enc(a: &Advertisement) -> Vec<u8> {
    encode(a, STD4).unwrap()
}

#[test]
fn truncated_header() {
    for n in 0..HEADER_LEN {
        let b = vec![0x31; n];
        assert_eq!(
            decode(&b, Family::Ipv4, STD4),
            Err(DecodeError::Truncated {
                expected: 8,
                actual: n
            })
        );
    }
}

#[test]
fn truncated_and_oversized_against_count() {
    let b = enc(&v3(vec![
        Ipv4Addr::new(10, 0, 0, 100),
        Ipv4Addr::new(10, 0, 0, 101),
    ]));
    assert_eq!(b.len(), 16);
    assert_eq!(
        decode(&b[..15], Family::Ipv4, STD4),
        Err(DecodeError::Truncated {
            expected: 16,
            actual: 15
        })
    );
    let mut long = b.clone();
    long.push(0);
    let err = decode(&long, Family::Ipv4, STD4).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Oversized {
            expected: 16,
            actual: 17
        }
    );
    assert_eq!(err.counter(), "packet_len_err");
    // The same bytes read as IPv6 need 8 + 2*16.
    assert!(matches!(
        decode(&b, Family::Ipv6, ChecksumMode::Kernel),
        Err(DecodeError::Truncated { expected: 40, .. })
    ));
    // v2 needs the 8 auth bytes too.
    let b2 = enc(&v2());
    assert_eq!(b2.len(), 20);
    assert!(matches!(
        decode(&b2[..12], Family::Ipv4, STD4),
        Err(DecodeError::Truncated { expected: 20, .. })
    ));
}

#[test]
fn wrong_version_type_auth() {
    let mut b = enc(&v3(vec![]));
    b[0] = 0x41;
    let e = decode(&b, Family::Ipv4, STD4).unwrap_err();
    assert_eq!(
        (e.clone(), e.counter()),
        (DecodeError::Version(4), "vers_err")
    );
    b[0] = 0x11;
    assert_eq!(decode(&b, Family::Ipv4, STD4), Err(DecodeError::Version(1)));
    b[0] = 0x32;
    let e = decode(&b, Family::Ipv4, STD4).unwrap_err();
    assert_eq!(
        (e.clone(), e.counter()),
        (DecodeError::Type(2), "invalid_type_rcvd")
    );

    let b2 = enc(&v2());
    assert_eq!(
        decode(&b2, Family::Ipv6, ChecksumMode::Kernel),
        Err(DecodeError::V2OverIpv6)
    );
    let mut bad = b2.clone();
    bad[4] = 3;
    let e = decode(&bad, Family::Ipv4, STD4).unwrap_err();
    assert_eq!(
        (e.clone(), e.counter()),
        (DecodeError::AuthType(3), "invalid_authtype")
    );
}

#[test]
fn bad_checksum_detected_and_reported() {
    let mut b = enc(&v3(vec![Ipv4Addr::new(10, 0, 0, 100)]));
    let good = checksum_field(&b).unwrap();
    b[6] ^= 0x01;
    let e = decode(&b, Family::Ipv4, STD4).unwrap_err();
    assert_eq!(
        e,
        DecodeError::Checksum {
            received: good ^ 0x0100,
            computed: good
        }
    );
    assert_eq!(e.counter(), "chk_err");
    // A flipped payload bit is caught too, for v2 as well.
    let mut b2 = enc(&v2());
    b2[19] ^= 0x80;
    assert!(matches!(
        decode(&b2, Family::Ipv4, STD4),
        Err(DecodeError::Checksum { .. })
    ));
    // Another destination changes the v3 pseudo-header.
    let b = enc(&v3(vec![Ipv4Addr::new(10, 0, 0, 100)]));
    let other = ChecksumMode::Standard {
        src: SRC4,
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    };
    assert!(matches!(
        decode(&b, Family::Ipv4, other),
        Err(DecodeError::Checksum { .. })
    ));
}

#[test]
fn checksum_modes() {
    let a = v3(vec![Ipv4Addr::new(10, 0, 0, 100)]);
    let as_v2 = encode(&a, ChecksumMode::MessageOnly).unwrap();
    assert_eq!(
        decode(&as_v2, Family::Ipv4, ChecksumMode::MessageOnly),
        Ok(a.clone())
    );
    assert!(decode(&as_v2, Family::Ipv4, STD4).is_err());
    let v6 = ChecksumMode::Standard {
        src: IpAddr::V6(Ipv6Addr::LOCALHOST),
        dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    assert_eq!(encode(&a, v6), Err(EncodeError::ChecksumFamily));
    assert_eq!(
        decode(&as_v2, Family::Ipv4, v6),
        Err(DecodeError::ChecksumFamily)
    );
    assert_eq!(
        encode(&v2(), ChecksumMode::Kernel),
        Err(EncodeError::KernelChecksumV2)
    );
}

#[test]
fn reserved_bits_ignored_and_interval_limits() {
    let a = v3(vec![]);
    let mut b = encode(&a, ChecksumMode::MessageOnly).unwrap();
    b[4] |= 0xf0; // reserved nibble set by a sloppy peer
    b[6] = 0;
    b[7] = 0;
    let c = crate::vrrp::checksum::checksum(&b);
    b[6..8].copy_from_slice(&c.to_be_bytes());
    assert_eq!(decode(&b, Family::Ipv4, ChecksumMode::MessageOnly), Ok(a));

    let big = Advertisement::V3(AdvertV3 {
        vrid: 1,
        priority: 1,
        max_advert_int_cs: 4096,
        addresses: Addresses::V4(vec![]),
    });
    assert_eq!(
        encode(&big, STD4),
        Err(EncodeError::IntervalOutOfRange(4096))
    );
    let many = v3(vec![Ipv4Addr::new(10, 0, 0, 1); 256]);
    assert_eq!(encode(&many, STD4), Err(EncodeError::TooManyAddresses(256)));
    let max = v3(vec![Ipv4Addr::new(10, 0, 0, 1); 255]);
    let b = enc(&max);
    assert_eq!(b.len(), 8 + 255 * 4);
    assert_eq!(decode(&b, Family::Ipv4, STD4), Ok(max));
}

#[test]
fn accessors() {
    let a = v2();
    assert_eq!(a.version(), Version::V2);
    assert_eq!(a.advert_interval(), std::time::Duration::from_secs(1));
    assert!(a.contains_address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))));
    assert!(!a.contains_address(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert_eq!(a.v2_auth(), Some(&V2Auth::NONE));
    let b = v3(vec![]);
    assert_eq!(b.advert_interval(), std::time::Duration::from_millis(10));
    assert_eq!(b.v2_auth(), None);
    assert_eq!(V2Auth::pass(b"toolongpassword").data, *b"toolongp");
    assert_eq!(V2Auth::pass(b"ab").data, *b"ab\0\0\0\0\0\0");
    let l = Addresses::V6(vec![Ipv6Addr::LOCALHOST]);
    assert_eq!(
        l.iter().collect::<Vec<_>>(),
        vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
}

fn arb_v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn arb_v6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

fn arb_advert() -> impl Strategy<Value = Advertisement> {
    let v2 = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            Just(AuthType::None),
            Just(AuthType::Pass),
            Just(AuthType::Ah)
        ],
        any::<[u8; 8]>(),
        proptest::collection::vec(arb_v4(), 0..20),
    )
        .prop_map(
            |(vrid, priority, advert_int_s, auth_type, data, addresses)| {
                Advertisement::V2(AdvertV2 {
                    vrid,
                    priority,
                    advert_int_s,
                    auth: V2Auth { auth_type, data },
                    addresses,
                })
            },
        );
    let addrs = prop_oneof![
        proptest::collection::vec(arb_v4(), 0..20).prop_map(Addresses::V4),
        proptest::collection::vec(arb_v6(), 0..20).prop_map(Addresses::V6),
    ];
    let v3 = (any::<u8>(), any::<u8>(), 0..=MAX_ADVERT_INT_CS, addrs).prop_map(
        |(vrid, priority, max_advert_int_cs, addresses)| {
            Advertisement::V3(AdvertV3 {
                vrid,
                priority,
                max_advert_int_cs,
                addresses,
            })
        },
    );
    prop_oneof![v2, v3]
}

fn std_mode(f: Family) -> ChecksumMode {
    match f {
        Family::Ipv4 => STD4,
        Family::Ipv6 => ChecksumMode::Standard {
            src: IpAddr::V6("fe80::1".parse().unwrap()),
            dst: IpAddr::V6("ff02::12".parse().unwrap()),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2200),
                                v6 in any::<bool>(), mode in 0u8..3) {
        let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
        let mode = match mode { 0 => std_mode(family), 1 => ChecksumMode::MessageOnly, _ => ChecksumMode::Kernel };
        let _ = decode(&bytes, family, mode);
        let _ = crate::vrrp::ip::parse_ipv4(&bytes);
    }

    #[test]
    fn plausible_headers_never_panic(head in any::<[u8; 8]>(), tail in proptest::collection::vec(any::<u8>(), 0..64),
                                     v6 in any::<bool>()) {
        // Valid version/type nibbles reach the deeper checks more often than random bytes.
        let mut b = head.to_vec();
        b[0] = if head[0] & 1 == 0 { 0x21 } else { 0x31 };
        b.extend_from_slice(&tail);
        let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
        let _ = decode(&b, family, ChecksumMode::MessageOnly);
    }

    #[test]
    fn encode_decode_roundtrip(a in arb_advert()) {
        let mode = std_mode(a.family());
        let bytes = encode(&a, mode).unwrap();
        prop_assert_eq!(bytes.len(), a.encoded_len());
        prop_assert_eq!(decode(&bytes, a.family(), mode), Ok(a.clone()));
        // Any single bit flip is caught (by a check or the checksum), or decodes to
        // something else: never silently to the same advert with bad bytes.
        for i in 0..bytes.len() {
            let mut c = bytes.clone();
            c[i] ^= 0x04;
            prop_assert_ne!(decode(&c, a.family(), mode), Ok(a.clone()));
        }
    }
}

#[test]
fn checksum_mode_of_a_received_advert() {
    let (a, b) = (
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
    );
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert_eq!(
        ChecksumMode::for_received(true, a, Some(b)),
        ChecksumMode::MessageOnly
    );
    assert_eq!(
        ChecksumMode::for_received(false, v6, Some(v6)),
        ChecksumMode::Kernel
    );
    assert_eq!(
        ChecksumMode::for_received(false, a, Some(b)),
        ChecksumMode::Standard { src: a, dst: b }
    );
    assert_eq!(
        ChecksumMode::for_received(false, a, None),
        ChecksumMode::MessageOnly
    );
}
