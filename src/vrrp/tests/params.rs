//! Parameter checks and defaults.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::vrrp::packet::{Family, Version};
use crate::vrrp::params::*;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn p(version: Version, prio: u8, int: Duration, addr: IpAddr) -> InstanceParams {
    InstanceParams::new(1, version, prio, int, addr)
}

#[test]
fn defaults_match_keepalived() {
    let x = p(Version::V2, 100, Duration::from_secs(1), V4);
    assert_eq!(x.family, Family::Ipv4);
    assert!(x.preempt);
    assert_eq!(x.down_timer_adverts, 3);
    assert_eq!(x.initial_state, InitialState::Backup);
    assert_eq!(x.garp, GarpParams::default());
    assert_eq!(x.garp.master_delay, Duration::from_secs(5));
    assert_eq!(x.garp.master_repeat, 5);
    assert!(!x.lower_prio_no_advert);
    assert_eq!(x.check(), Ok(()));
}

#[test]
fn accept_mode_default_on_unless_strict() {
    let mut x = p(Version::V3, 100, Duration::from_secs(1), V4);
    assert!(x.accept_mode());
    x.strict = true;
    assert!(!x.accept_mode());
    x.priority = 255;
    assert!(x.accept_mode());
    x.accept = Some(false);
    assert!(!x.accept_mode());
}

#[test]
fn check_rejects_inconsistent_params() {
    let ok = p(Version::V3, 100, Duration::from_millis(10), V4);
    assert_eq!(ok.check(), Ok(()));
    assert_eq!(
        InstanceParams {
            vrid: 0,
            ..ok.clone()
        }
        .check(),
        Err(ParamError::Vrid)
    );
    assert_eq!(
        InstanceParams {
            priority: 0,
            ..ok.clone()
        }
        .check(),
        Err(ParamError::Priority)
    );
    assert_eq!(
        p(Version::V2, 100, Duration::from_secs(1), V6).check(),
        Err(ParamError::V2Ipv6)
    );
    for bad in [
        Duration::ZERO,
        Duration::from_millis(15),
        Duration::from_millis(40_960),
    ] {
        assert_eq!(
            p(Version::V3, 100, bad, V4).check(),
            Err(ParamError::AdvertInt(bad))
        );
    }
    assert_eq!(
        p(Version::V3, 100, Duration::from_millis(40_950), V4).check(),
        Ok(())
    );
    for bad in [
        Duration::from_millis(1500),
        Duration::from_secs(256),
        Duration::ZERO,
    ] {
        assert_eq!(
            p(Version::V2, 100, bad, V4).check(),
            Err(ParamError::AdvertInt(bad))
        );
    }
    assert_eq!(
        InstanceParams {
            down_timer_adverts: 0,
            ..ok.clone()
        }
        .check(),
        Err(ParamError::DownTimerAdverts)
    );
    assert_eq!(
        InstanceParams {
            down_timer_adverts: 101,
            ..ok.clone()
        }
        .check(),
        Err(ParamError::DownTimerAdverts)
    );
    assert_eq!(
        InstanceParams {
            family: Family::Ipv6,
            ..ok
        }
        .check(),
        Err(ParamError::PrimaryFamily)
    );
}
