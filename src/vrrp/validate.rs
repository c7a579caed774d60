//! Receive checks that need the instance's configuration (RFC 3768 §7.1, RFC 5798 §7.1, and
//! keepalived's choices), applied after [`super::packet::decode`].
//!
//! Drop: TTL/hop limit not 255 on multicast (or outside a unicast peer's min/max), version
//! not ours, VRID not ours, v2 auth type or PASS data mismatch (constant-time compare), v2
//! advert interval mismatch, unicast source not a peer, owner ignoring adverts.
//! Accept but flag: v3 advert interval mismatch (log only), address list mismatch
//! (keepalived ≥ 2.3.3 / RFC 9568 accept it and count `addr_list_err`).

use std::net::IpAddr;
use std::time::Duration;

use super::packet::{Advertisement, V2Auth, Version};

/// How the IP TTL / hop limit is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlCheck {
    /// Multicast: must be exactly 255.
    Exact255,
    /// Unicast peer with `min_ttl`/`max_ttl`: must lie in the range.
    Range {
        /// Lowest accepted value.
        min: u8,
        /// Highest accepted value.
        max: u8,
    },
    /// Unicast without limits: not checked.
    Skip,
}

impl TtlCheck {
    /// keepalived's TTL rule for a packet: multicast wants 255; on a unicast instance, the
    /// sending peer's `min_ttl`/`max_ttl` (`limits`, None: not a configured peer) make a range
    /// (a missing bound is 0 or 255), and a peer without either is not checked.
    pub fn for_source(unicast: bool, limits: Option<(Option<u8>, Option<u8>)>) -> Self {
        if !unicast {
            return TtlCheck::Exact255;
        }
        match limits {
            Some((min, max)) if min.is_some() || max.is_some() => TtlCheck::Range {
                min: min.unwrap_or(0),
                max: max.unwrap_or(255),
            },
            _ => TtlCheck::Skip,
        }
    }
}

/// The sources a unicast instance accepts adverts from, as keepalived decides it: with the
/// instance's `check_unicast_src` or global `vrrp_check_unicast_src`, only its unicast peers
/// (any other source is dropped: "unicast source address X not a unicast peer"); without
/// either, or on a multicast instance (no peer), any source.
pub fn allowed_sources(
    unicast: bool,
    instance_check: bool,
    global_check: bool,
    peers: &[IpAddr],
) -> Option<&[IpAddr]> {
    (unicast && (instance_check || global_check)).then_some(peers)
}

/// Everything [`validate`] compares a decoded advertisement with.
#[derive(Debug, Clone, Copy)]
pub struct RxContext<'a> {
    /// Our VRRP version.
    pub version: Version,
    /// Our VRID.
    pub vrid: u8,
    /// TTL policy for this packet's source.
    pub ttl_check: TtlCheck,
    /// TTL / hop limit of the received packet, if the socket reported it.
    pub ttl: Option<u8>,
    /// Our v2 authentication (type and 8 data bytes); ignored for v3.
    pub auth: V2Auth,
    /// Our configured advertisement interval.
    pub advert_int: Duration,
    /// Our virtual addresses (`virtual_ipaddress`, not the excluded ones).
    pub vips: &'a [IpAddr],
    /// Compare the address list (false with `skip_check_adv_addr` when the sender is the
    /// master already known).
    pub check_vips: bool,
    /// IP source of the packet.
    pub src: IpAddr,
    /// With `check_unicast_src`: the unicast peers allowed to send to us.
    pub allowed_sources: Option<&'a [IpAddr]>,
    /// We are the address owner and `owner_ignore_adverts` is set.
    pub owner_ignores_adverts: bool,
    /// `auth_type AH`: the outcome of the AH checks (ICV, SPI, sequence number, see
    /// [`super::ah`]), applied where keepalived applies them: after the auth type check,
    /// before the interval check. `None` without AH.
    pub ah: Option<Result<(), DropReason>>,
}

/// Why a packet is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// TTL / hop limit check failed.
    #[error("invalid TTL/hop limit {received}")]
    Ttl {
        /// Received value.
        received: u8,
    },
    /// VRRP version differs from ours.
    #[error("wrong VRRP version {received}, expect {expected}")]
    Version {
        /// Ours.
        expected: u8,
        /// Received.
        received: u8,
    },
    /// VRID is not ours (for the demultiplexer).
    #[error("VRID {0} not ours")]
    Vrid(u8),
    /// v2 auth type differs from ours.
    #[error("auth type {received} received, expect {expected}")]
    AuthTypeMismatch {
        /// Ours.
        expected: u8,
        /// Received.
        received: u8,
    },
    /// v2 PASS data differs.
    #[error("invalid password")]
    AuthFailure,
    /// AH: the HMAC-MD5-96 ICV does not verify (wrong key or altered packet).
    #[error("IPSEC-AH: invalid HMAC-MD5 value (fields mutation or bad password)")]
    AhIcv,
    /// AH: the SPI is not the IP source address.
    #[error("IPSEC-AH: invalid SPI {spi:#010x}, expect the source {src:#010x}")]
    AhSpi {
        /// Received SPI.
        spi: u32,
        /// IP source as a number.
        src: u32,
    },
    /// AH: sequence number not above the last one sent or accepted (replay).
    #[error("IPSEC-AH: sequence number {seq} already processed (local {last})")]
    AhReplay {
        /// Received.
        seq: u32,
        /// Ours.
        last: u32,
    },
    /// v2 advert interval differs from ours (RFC 3768: MUST discard).
    #[error("advert interval mismatch: ours {ours_s} s, received {received_s} s")]
    IntervalMismatch {
        /// Ours (seconds).
        ours_s: u64,
        /// Received (seconds).
        received_s: u8,
    },
    /// Unicast source not in `unicast_peer` (with `check_unicast_src`).
    #[error("source not a configured unicast peer")]
    UnknownSource,
    /// We are the owner and ignore adverts (`owner_ignore_adverts`, forced by strict mode).
    #[error("address owner ignores adverts")]
    OwnerIgnoresAdverts,
}

impl DropReason {
    /// Name of the per-instance counter to increment.
    pub fn counter(&self) -> &'static str {
        match self {
            DropReason::Ttl { .. } => "ip_ttl_err",
            DropReason::Version { .. } => "vers_err",
            DropReason::Vrid(_) => "vrid_err",
            DropReason::AuthTypeMismatch { .. } => "authtype_mismatch",
            DropReason::AuthFailure
            | DropReason::AhIcv
            | DropReason::AhSpi { .. }
            | DropReason::AhReplay { .. } => "auth_failure",
            DropReason::IntervalMismatch { .. } => "advert_interval_err",
            DropReason::UnknownSource => "unicast_src_err",
            DropReason::OwnerIgnoresAdverts => "owner_ignored",
        }
    }
}

impl DropReason {
    /// Whether keepalived applies this check after the authentication (so a packet dropped
    /// for it has passed the AH checks, and its sequence number counts).
    pub fn after_auth(&self) -> bool {
        matches!(
            self,
            DropReason::IntervalMismatch { .. }
                | DropReason::UnknownSource
                | DropReason::OwnerIgnoresAdverts
        )
    }
}

/// Notes on an accepted advertisement (for logs and counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcceptNotes {
    /// The address list differs from ours (count or content): accepted, counted.
    pub vip_mismatch: bool,
    /// v3 interval differs from ours: accepted (the backup adopts it), log rate-limited.
    pub interval_mismatch: bool,
    /// The sender is stopping (priority 0).
    pub priority_zero: bool,
}

/// Outcome of [`validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Give the advertisement to the state machine.
    Accept(AcceptNotes),
    /// Discard it and count [`DropReason::counter`].
    Drop(DropReason),
}

impl Verdict {
    /// Whether the packet passed the authentication (accepted, or dropped by a check keepalived
    /// applies after it): with AH, its sequence number counts.
    pub fn passed_auth(&self) -> bool {
        match self {
            Verdict::Accept(_) => true,
            Verdict::Drop(r) => r.after_auth(),
        }
    }

    /// Counters to increment for this packet.
    pub fn counters(&self) -> Vec<&'static str> {
        match self {
            Verdict::Drop(r) => vec![r.counter()],
            Verdict::Accept(n) => {
                let mut v = vec!["advert_rcvd"];
                if n.vip_mismatch {
                    v.push("addr_list_err");
                }
                if n.priority_zero {
                    v.push("pri_zero_rcvd");
                }
                v
            }
        }
    }
}

/// Compare two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Apply the configuration-dependent receive checks to a decoded advertisement.
pub fn validate(adv: &Advertisement, ctx: &RxContext<'_>) -> Verdict {
    match check(adv, ctx) {
        Ok(notes) => Verdict::Accept(notes),
        Err(r) => Verdict::Drop(r),
    }
}

fn check(adv: &Advertisement, ctx: &RxContext<'_>) -> Result<AcceptNotes, DropReason> {
    if let Some(ttl) = ctx.ttl {
        let ok = match ctx.ttl_check {
            TtlCheck::Exact255 => ttl == 255,
            TtlCheck::Range { min, max } => (min..=max).contains(&ttl),
            TtlCheck::Skip => true,
        };
        if !ok {
            return Err(DropReason::Ttl { received: ttl });
        }
    }
    if adv.version() != ctx.version {
        return Err(DropReason::Version {
            expected: ctx.version.number(),
            received: adv.version().number(),
        });
    }
    if adv.vrid() != ctx.vrid {
        return Err(DropReason::Vrid(adv.vrid()));
    }
    let mut notes = AcceptNotes::default();
    match adv {
        Advertisement::V2(a) => {
            if a.auth.auth_type != ctx.auth.auth_type {
                return Err(DropReason::AuthTypeMismatch {
                    expected: ctx.auth.auth_type.number(),
                    received: a.auth.auth_type.number(),
                });
            }
            if a.auth.auth_type == super::packet::AuthType::Pass
                && !constant_time_eq(&a.auth.data, &ctx.auth.data)
            {
                return Err(DropReason::AuthFailure);
            }
            if let Some(Err(r)) = ctx.ah {
                return Err(r);
            }
            if Duration::from_secs(u64::from(a.advert_int_s)) != ctx.advert_int {
                return Err(DropReason::IntervalMismatch {
                    ours_s: ctx.advert_int.as_secs(),
                    received_s: a.advert_int_s,
                });
            }
        }
        Advertisement::V3(_) => {
            notes.interval_mismatch = adv.advert_interval() != ctx.advert_int;
        }
    }
    if let Some(peers) = ctx.allowed_sources {
        if !peers.contains(&ctx.src) {
            return Err(DropReason::UnknownSource);
        }
    }
    if ctx.owner_ignores_adverts {
        return Err(DropReason::OwnerIgnoresAdverts);
    }
    notes.priority_zero = adv.priority() == 0;
    notes.vip_mismatch = adv.address_count() != ctx.vips.len()
        || (ctx.check_vips && !ctx.vips.iter().all(|v| adv.contains_address(*v)));
    Ok(notes)
}
