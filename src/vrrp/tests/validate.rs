//! Configuration-dependent receive checks.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::vrrp::packet::*;
use crate::vrrp::validate::*;

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const VIP1: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));
const VIP2: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 101));
const VIPS: [IpAddr; 2] = [VIP1, VIP2];

fn ctx(version: Version) -> RxContext<'static> {
    RxContext {
        version,
        vrid: 51,
        ttl_check: TtlCheck::Exact255,
        ttl: Some(255),
        auth: V2Auth::pass(b"secret12"),
        advert_int: Duration::from_secs(1),
        vips: &VIPS,
        check_vips: true,
        src: SRC,
        allowed_sources: None,
        owner_ignores_adverts: false,
        ah: None,
    }
}

fn v2(priority: u8, int_s: u8, auth: V2Auth, addrs: &[[u8; 4]]) -> Advertisement {
    Advertisement::V2(AdvertV2 {
        vrid: 51,
        priority,
        advert_int_s: int_s,
        auth,
        addresses: addrs.iter().map(|a| Ipv4Addr::from(*a)).collect(),
    })
}

fn v3(priority: u8, cs: u16, addrs: &[[u8; 4]]) -> Advertisement {
    Advertisement::V3(AdvertV3 {
        vrid: 51,
        priority,
        max_advert_int_cs: cs,
        addresses: Addresses::V4(addrs.iter().map(|a| Ipv4Addr::from(*a)).collect()),
    })
}

const GOOD: &[[u8; 4]] = &[[10, 0, 0, 100], [10, 0, 0, 101]];

fn dropped(v: Verdict) -> DropReason {
    match v {
        Verdict::Drop(r) => r,
        Verdict::Accept(n) => panic!("accepted: {n:?}"),
    }
}

#[test]
fn good_v2_accepted_with_counters() {
    let a = v2(100, 1, V2Auth::pass(b"secret12"), GOOD);
    let v = validate(&a, &ctx(Version::V2));
    assert_eq!(v, Verdict::Accept(AcceptNotes::default()));
    assert_eq!(v.counters(), vec!["advert_rcvd"]);
    let z = v2(0, 1, V2Auth::pass(b"secret12"), GOOD);
    assert_eq!(
        validate(&z, &ctx(Version::V2)).counters(),
        vec!["advert_rcvd", "pri_zero_rcvd"]
    );
}

#[test]
fn ttl_checks() {
    let a = v2(100, 1, V2Auth::pass(b"secret12"), GOOD);
    let mut c = ctx(Version::V2);
    c.ttl = Some(254);
    let r = dropped(validate(&a, &c));
    assert_eq!(
        (r, r.counter()),
        (DropReason::Ttl { received: 254 }, "ip_ttl_err")
    );
    c.ttl = None; // not reported by the socket: not checked
    assert!(matches!(validate(&a, &c), Verdict::Accept(_)));
    c.ttl = Some(64);
    c.ttl_check = TtlCheck::Skip; // unicast without limits
    assert!(matches!(validate(&a, &c), Verdict::Accept(_)));
    c.ttl_check = TtlCheck::Range { min: 60, max: 64 };
    assert!(matches!(validate(&a, &c), Verdict::Accept(_)));
    c.ttl = Some(65);
    assert_eq!(dropped(validate(&a, &c)), DropReason::Ttl { received: 65 });
}

#[test]
fn version_and_vrid() {
    let a = v3(100, 100, GOOD);
    let r = dropped(validate(&a, &ctx(Version::V2)));
    assert_eq!(
        (r, r.counter()),
        (
            DropReason::Version {
                expected: 2,
                received: 3
            },
            "vers_err"
        )
    );
    let mut c = ctx(Version::V3);
    c.vrid = 52;
    assert_eq!(dropped(validate(&a, &c)), DropReason::Vrid(51));
}

#[test]
fn auth_type_and_password() {
    let c = ctx(Version::V2);
    let none = v2(100, 1, V2Auth::NONE, GOOD);
    let r = dropped(validate(&none, &c));
    assert_eq!(
        (r, r.counter()),
        (
            DropReason::AuthTypeMismatch {
                expected: 1,
                received: 0
            },
            "authtype_mismatch"
        )
    );
    let wrong = v2(100, 1, V2Auth::pass(b"secret13"), GOOD);
    let r = dropped(validate(&wrong, &c));
    assert_eq!((r, r.counter()), (DropReason::AuthFailure, "auth_failure"));
    // Only 8 bytes matter: a longer configured password matches on its first 8.
    let long = v2(100, 1, V2Auth::pass(b"secret12-and-more"), GOOD);
    assert!(matches!(validate(&long, &c), Verdict::Accept(_)));
    // No auth on both sides: data ignored.
    let mut c0 = c;
    c0.auth = V2Auth::NONE;
    let junk = v2(
        100,
        1,
        V2Auth {
            auth_type: AuthType::None,
            data: *b"whatever",
        },
        GOOD,
    );
    assert!(matches!(validate(&junk, &c0), Verdict::Accept(_)));
}

#[test]
fn constant_time_compare() {
    assert!(constant_time_eq(b"secret12", b"secret12"));
    assert!(!constant_time_eq(b"secret12", b"Secret12"));
    assert!(!constant_time_eq(b"secret12", b"secret1"));
    assert!(constant_time_eq(b"", b""));
}

#[test]
fn v2_interval_mismatch_drops_v3_only_flags() {
    let a = v2(100, 2, V2Auth::pass(b"secret12"), GOOD);
    let r = dropped(validate(&a, &ctx(Version::V2)));
    assert_eq!(
        (r, r.counter()),
        (
            DropReason::IntervalMismatch {
                ours_s: 1,
                received_s: 2
            },
            "advert_interval_err"
        )
    );
    let b = v3(100, 50, GOOD);
    assert_eq!(
        validate(&b, &ctx(Version::V3)),
        Verdict::Accept(AcceptNotes {
            interval_mismatch: true,
            ..Default::default()
        })
    );
    let same = v3(100, 100, GOOD);
    assert_eq!(
        validate(&same, &ctx(Version::V3)),
        Verdict::Accept(AcceptNotes::default())
    );
}

#[test]
fn vip_mismatch_is_accepted_but_flagged() {
    let c = ctx(Version::V3);
    let fewer = v3(100, 100, &[[10, 0, 0, 100]]);
    let v = validate(&fewer, &c);
    assert_eq!(
        v,
        Verdict::Accept(AcceptNotes {
            vip_mismatch: true,
            ..Default::default()
        })
    );
    assert_eq!(v.counters(), vec!["advert_rcvd", "addr_list_err"]);
    let other = v3(100, 100, &[[10, 0, 0, 100], [10, 0, 0, 102]]);
    assert!(matches!(
        validate(&other, &c),
        Verdict::Accept(AcceptNotes {
            vip_mismatch: true,
            ..
        })
    ));
    let reordered = v3(100, 100, &[[10, 0, 0, 101], [10, 0, 0, 100]]);
    assert_eq!(
        validate(&reordered, &c),
        Verdict::Accept(AcceptNotes::default())
    );
    // skip_check_adv_addr with the known master: content not compared, count still is.
    let mut skip = c;
    skip.check_vips = false;
    assert_eq!(
        validate(&other, &skip),
        Verdict::Accept(AcceptNotes::default())
    );
    assert!(matches!(
        validate(&fewer, &skip),
        Verdict::Accept(AcceptNotes {
            vip_mismatch: true,
            ..
        })
    ));
}

#[test]
fn unicast_source_and_owner() {
    let a = v3(100, 100, GOOD);
    let peers = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))];
    let mut c = ctx(Version::V3);
    c.allowed_sources = Some(&peers);
    let r = dropped(validate(&a, &c));
    assert_eq!(
        (r, r.counter()),
        (DropReason::UnknownSource, "unicast_src_err")
    );
    c.src = peers[0];
    assert!(matches!(validate(&a, &c), Verdict::Accept(_)));
    c.owner_ignores_adverts = true;
    assert_eq!(dropped(validate(&a, &c)), DropReason::OwnerIgnoresAdverts);
}

#[test]
fn ah_checks_apply_between_auth_type_and_interval() {
    let mut c = ctx(Version::V2);
    c.auth = V2Auth::AH;
    c.ah = Some(Ok(()));
    let good = v2(100, 1, V2Auth::AH, GOOD);
    assert!(matches!(validate(&good, &c), Verdict::Accept(_)));
    // A failed AH check drops with auth_failure, even when the interval also differs ...
    c.ah = Some(Err(DropReason::AhIcv));
    assert_eq!(dropped(validate(&good, &c)), DropReason::AhIcv);
    let slow = v2(100, 2, V2Auth::AH, GOOD);
    let r = dropped(validate(&slow, &c));
    assert_eq!(
        (r, r.counter(), r.after_auth()),
        (DropReason::AhIcv, "auth_failure", false)
    );
    // ... but an advert without auth type 2 in the VRRP header is an auth type mismatch first.
    let none = v2(100, 1, V2Auth::NONE, GOOD);
    assert_eq!(dropped(validate(&none, &c)).counter(), "authtype_mismatch");
    // With AH passed, the interval check still drops (after authentication: the sequence
    // number counts).
    c.ah = Some(Ok(()));
    let r = dropped(validate(&slow, &c));
    assert!(matches!(r, DropReason::IntervalMismatch { .. }) && r.after_auth());
    // The AH result does not matter for other auth types.
    let mut p = ctx(Version::V2);
    p.ah = None;
    assert!(matches!(
        validate(&v2(100, 1, V2Auth::pass(b"secret12"), GOOD), &p),
        Verdict::Accept(_)
    ));
}

#[test]
fn ttl_rule_and_passed_auth_for_a_packet() {
    // Multicast: exactly 255, whatever the peers say.
    assert_eq!(
        TtlCheck::for_source(false, Some((Some(5), None))),
        TtlCheck::Exact255
    );
    // Unicast: a peer's bounds make a range (missing bound 0 / 255), else no check.
    assert_eq!(
        TtlCheck::for_source(true, Some((Some(5), None))),
        TtlCheck::Range { min: 5, max: 255 }
    );
    assert_eq!(
        TtlCheck::for_source(true, Some((None, Some(9)))),
        TtlCheck::Range { min: 0, max: 9 }
    );
    assert_eq!(
        TtlCheck::for_source(true, Some((None, None))),
        TtlCheck::Skip
    );
    assert_eq!(TtlCheck::for_source(true, None), TtlCheck::Skip);
    // Past the authentication: accepted, or dropped by a later check.
    assert!(Verdict::Accept(AcceptNotes::default()).passed_auth());
    assert!(Verdict::Drop(DropReason::UnknownSource).passed_auth());
    assert!(!Verdict::Drop(DropReason::AhReplay { seq: 1, last: 2 }).passed_auth());
}

/// `check_unicast_src` (instance) or `vrrp_check_unicast_src` (global) restricts a unicast
/// instance's sources to its peers; neither, or a multicast instance, accepts any source.
#[test]
fn check_unicast_src_from_the_instance_or_global_keyword() {
    let peers = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))];
    assert_eq!(allowed_sources(true, true, false, &peers), Some(&peers[..]));
    assert_eq!(allowed_sources(true, false, true, &peers), Some(&peers[..]));
    assert_eq!(allowed_sources(true, false, false, &peers), None);
    assert_eq!(allowed_sources(false, true, true, &[]), None);
    // With the instance's keyword, an advert from an unlisted source is dropped and counted.
    let a = v3(200, 100, GOOD);
    let mut c = ctx(Version::V3);
    c.allowed_sources = allowed_sources(true, true, false, &peers);
    assert_eq!(dropped(validate(&a, &c)), DropReason::UnknownSource);
    c.allowed_sources = allowed_sources(true, false, false, &peers);
    assert!(matches!(validate(&a, &c), Verdict::Accept(_)));
}
