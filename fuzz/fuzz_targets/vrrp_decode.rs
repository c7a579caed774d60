#![no_main]
//! Fuzzes the VRRP receive path: IPv4 header split, advertisement decode (both families,
//! every checksum mode), validation, and re-encoding of whatever decodes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use keepalived_rs::vrrp::ip::parse_ipv4;
use keepalived_rs::vrrp::packet::{decode, encode, ChecksumMode, Family, V2Auth, Version};
use keepalived_rs::vrrp::validate::{validate, RxContext, TtlCheck};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let dst4 = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let src6 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let dst6 = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));

    // A raw IPv4 socket's view: header + payload.
    if let Ok((hdr, payload)) = parse_ipv4(data) {
        let mode = ChecksumMode::Standard {
            src: IpAddr::V4(hdr.src),
            dst: IpAddr::V4(hdr.dst),
        };
        let _ = decode(payload, Family::Ipv4, mode);
    }

    let cases = [
        (
            Family::Ipv4,
            ChecksumMode::Standard {
                src: src4,
                dst: dst4,
            },
            src4,
        ),
        (Family::Ipv4, ChecksumMode::MessageOnly, src4),
        (
            Family::Ipv6,
            ChecksumMode::Standard {
                src: src6,
                dst: dst6,
            },
            src6,
        ),
        (Family::Ipv6, ChecksumMode::Kernel, src6),
    ];
    for (family, mode, src) in cases {
        let Ok(adv) = decode(data, family, mode) else {
            continue;
        };
        // Whatever decodes must re-encode to the same length and decode to itself.
        if let Ok(bytes) = encode(&adv, mode) {
            assert_eq!(bytes.len(), adv.encoded_len());
            assert_eq!(decode(&bytes, family, mode).as_ref(), Ok(&adv));
        }
        let vips = [src];
        for version in [Version::V2, Version::V3] {
            let ctx = RxContext {
                version,
                vrid: adv.vrid(),
                ttl_check: TtlCheck::Exact255,
                ttl: data.first().copied(),
                auth: V2Auth::pass(b"secret12"),
                advert_int: Duration::from_secs(1),
                vips: &vips,
                check_vips: true,
                src,
                allowed_sources: None,
                owner_ignores_adverts: false,
            };
            let _ = validate(&adv, &ctx).counters();
        }
    }
});
