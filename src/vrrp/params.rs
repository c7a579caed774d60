//! Plain per-instance parameters of the state machine; the config layer maps a parsed
//! `vrrp_instance` (plus global defaults) onto [`InstanceParams`].

use std::net::IpAddr;
use std::time::Duration;

use super::packet::{Family, Version, MAX_ADVERT_INT_CS, PRIORITY_OWNER};

/// The `state` keyword: only the initial state (every instance starts as BACKUP; MASTER only
/// shortens the first down timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// `state BACKUP` or none.
    #[default]
    Backup,
    /// `state MASTER`.
    Master,
}

/// Gratuitous ARP / unsolicited NA schedule on becoming MASTER and on hearing a lower
/// priority master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpParams {
    /// `garp_master_delay`: second burst this long after becoming MASTER (zero: none).
    pub master_delay: Duration,
    /// `garp_master_repeat`: messages per address in each burst.
    pub master_repeat: u32,
    /// `garp_master_refresh`: periodic burst interval while MASTER (zero: off).
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`: messages per refresh.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: second burst after a lower priority advert (zero: none).
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: burst on hearing a lower priority advert (zero: none).
    pub lower_prio_repeat: u32,
}

impl Default for GarpParams {
    /// keepalived's defaults outside strict mode: 5 s / 5, no refresh, lower-priority burst as
    /// the master one.
    fn default() -> Self {
        GarpParams {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// Everything the state machine needs to know about its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceParams {
    /// `virtual_router_id` 1..=255.
    pub vrid: u8,
    /// `version` (IPv6 is always v3).
    pub version: Version,
    /// Address family of the instance.
    pub family: Family,
    /// Base `priority` 1..=255 (255 = address owner).
    pub priority: u8,
    /// `advert_int` (v2: whole seconds; v3: multiple of 10 ms up to 40.95 s).
    pub advert_int: Duration,
    /// `state`.
    pub initial_state: InitialState,
    /// false with `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (zero: none).
    pub preempt_delay: Duration,
    /// `accept` / `no_accept` if given; default see [`InstanceParams::accept_mode`].
    pub accept: Option<bool>,
    /// `vrrp_strict` / `strict_mode`.
    pub strict: bool,
    /// `down_timer_adverts` 1..=100 (RFC: 3).
    pub down_timer_adverts: u32,
    /// `lower_prio_no_advert`: master stays silent on lower priority adverts (pre RFC 9568).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: master sends one more advert before yielding.
    pub higher_prio_send_advert: bool,
    /// GARP / NA schedule.
    pub garp: GarpParams,
    /// A preempting backup that hears a lower priority master takes over at once instead of
    /// letting Master_Down_Interval run out (RFC 5798 and keepalived wait). It would win
    /// anyway; this makes failover after a tracker (e.g. `track_bfd`) lowers the master's
    /// priority take one advert instead of three intervals.
    pub preempt_immediately: bool,
    /// Our primary address (the advert source) for equal-priority tie-breaks.
    pub primary_addr: IpAddr,
    /// Periodic adverts fall on `epoch + k × advert_int` (see [`super::timers::next_aligned`]):
    /// instances sharing an epoch and an interval advertise in the same instant, so a daemon
    /// with many instances wakes once per interval instead of once per instance, and so does
    /// its peer. `None`: every advert `advert_int` after the previous one (the RFC's wording).
    pub advert_epoch: Option<std::time::Instant>,
    /// keepalived's `vrrp_startup_delay`: the end of the delay after the daemon's start.
    /// Until then a Master_Down timer counts from this instant, so no instance (the owner
    /// included) leaves BACKUP before it. `None`: no delay (or it is over).
    pub delayed_start: Option<std::time::Instant>,
    /// Member of a `vrrp_sync_group`: the instance does not become MASTER on its own (down
    /// timer, preemption, address owner); it says it wants to
    /// ([`crate::vrrp::fsm::Instance::want_state`]) and waits for
    /// [`crate::vrrp::events::Event::SyncMaster`] from its group.
    pub sync_group: bool,
}

/// An inconsistent parameter set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// VRID 0.
    #[error("virtual_router_id must be 1..=255")]
    Vrid,
    /// Priority 0.
    #[error("priority must be 1..=255")]
    Priority,
    /// VRRPv2 with IPv6.
    #[error("VRRPv2 supports IPv4 only")]
    V2Ipv6,
    /// Interval not representable for the version.
    #[error("advert_int {0:?} out of range for this VRRP version")]
    AdvertInt(Duration),
    /// down_timer_adverts outside 1..=100.
    #[error("down_timer_adverts must be 1..=100")]
    DownTimerAdverts,
    /// Primary address of another family.
    #[error("primary address family does not match the instance")]
    PrimaryFamily,
}

impl InstanceParams {
    /// Parameters with keepalived's defaults for everything but the essentials.
    pub fn new(
        vrid: u8,
        version: Version,
        priority: u8,
        advert_int: Duration,
        primary_addr: IpAddr,
    ) -> Self {
        InstanceParams {
            vrid,
            version,
            family: Family::of(primary_addr),
            priority,
            advert_int,
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: None,
            strict: false,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp: GarpParams::default(),
            preempt_immediately: true,
            primary_addr,
            advert_epoch: None,
            delayed_start: None,
            sync_group: false,
        }
    }

    /// Priority 255: the address owner.
    pub fn is_owner(&self) -> bool {
        self.priority == PRIORITY_OWNER
    }

    /// Accept mode in force: as configured, else on (keepalived's deviation from RFC 5798's
    /// default false) unless strict, where only the owner accepts.
    pub fn accept_mode(&self) -> bool {
        self.accept.unwrap_or(!self.strict || self.is_owner())
    }

    /// Check the parameters are consistent.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.vrid == 0 {
            return Err(ParamError::Vrid);
        }
        if self.priority == 0 {
            return Err(ParamError::Priority);
        }
        if self.version == Version::V2 && self.family == Family::Ipv6 {
            return Err(ParamError::V2Ipv6);
        }
        let ok = match self.version {
            Version::V2 => {
                self.advert_int.subsec_nanos() == 0
                    && (1..=255).contains(&self.advert_int.as_secs())
            }
            Version::V3 => {
                let us = self.advert_int.as_micros();
                us.is_multiple_of(10_000)
                    && (1..=u128::from(MAX_ADVERT_INT_CS)).contains(&(us / 10_000))
            }
        };
        if !ok {
            return Err(ParamError::AdvertInt(self.advert_int));
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ParamError::DownTimerAdverts);
        }
        if Family::of(self.primary_addr) != self.family {
            return Err(ParamError::PrimaryFamily);
        }
        Ok(())
    }
}
