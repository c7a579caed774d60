//! Building the advertisement an instance sends for [`super::events::Action::SendAdvert`].

use std::net::IpAddr;

use super::packet::{Addresses, AdvertV2, AdvertV3, Advertisement, Family, V2Auth, Version};
use super::params::InstanceParams;
use super::timers::interval_to_wire;

/// Most addresses one advertisement can list (Count IP is one byte); keepalived moves the
/// excess to the excluded (not advertised) list.
pub const MAX_ADVERTISED: usize = 255;

/// The advertisement for `params` with `priority`, listing the `vips` of the instance's
/// family (at most [`MAX_ADVERTISED`], others skipped) and, for v2, `auth`.
pub fn build_advert(
    params: &InstanceParams,
    priority: u8,
    vips: &[IpAddr],
    auth: V2Auth,
) -> Advertisement {
    let wire = interval_to_wire(params.version, params.advert_int);
    match params.version {
        Version::V2 => Advertisement::V2(AdvertV2 {
            vrid: params.vrid,
            priority,
            advert_int_s: u8::try_from(wire).unwrap_or(u8::MAX),
            auth,
            addresses: vips
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .take(MAX_ADVERTISED)
                .collect(),
        }),
        Version::V3 => Advertisement::V3(AdvertV3 {
            vrid: params.vrid,
            priority,
            max_advert_int_cs: wire,
            addresses: match params.family {
                Family::Ipv4 => Addresses::V4(
                    vips.iter()
                        .filter_map(|a| match a {
                            IpAddr::V4(a) => Some(*a),
                            IpAddr::V6(_) => None,
                        })
                        .take(MAX_ADVERTISED)
                        .collect(),
                ),
                Family::Ipv6 => Addresses::V6(
                    vips.iter()
                        .filter_map(|a| match a {
                            IpAddr::V6(a) => Some(*a),
                            IpAddr::V4(_) => None,
                        })
                        .take(MAX_ADVERTISED)
                        .collect(),
                ),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    use super::*;
    use crate::vrrp::packet::{encode, ChecksumMode};

    #[test]
    fn rebuilds_the_keepalived_v2_golden_advert() {
        let p = InstanceParams::new(
            51,
            Version::V2,
            150,
            Duration::from_secs(1),
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
        );
        let vips = [
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100)),
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 101)),
            IpAddr::V6(Ipv6Addr::LOCALHOST), // wrong family: skipped
        ];
        let a = build_advert(&p, 150, &vips, V2Auth::pass(b"secret12"));
        let bytes = encode(&a, ChecksumMode::MessageOnly).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "213396020101c4bb0a6300640a6300657365637265743132");
    }

    #[test]
    fn v3_interval_in_centiseconds_and_cap() {
        let p = InstanceParams::new(
            52,
            Version::V3,
            200,
            Duration::from_millis(500),
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
        );
        let vips: Vec<IpAddr> = (0..300u32).map(|i| IpAddr::V4(Ipv4Addr::from(i))).collect();
        let a = build_advert(&p, 0, &vips, V2Auth::NONE);
        assert_eq!(a.advert_interval(), Duration::from_millis(500));
        assert_eq!(a.address_count(), MAX_ADVERTISED);
        assert_eq!(a.priority(), 0);
        let p6 = InstanceParams::new(
            53,
            Version::V3,
            100,
            Duration::from_secs(1),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        );
        let a = build_advert(
            &p6,
            100,
            &[IpAddr::V6(Ipv6Addr::LOCALHOST), vips[1]],
            V2Auth::NONE,
        );
        assert_eq!(a.family(), Family::Ipv6);
        assert_eq!(a.address_count(), 1);
    }
}
