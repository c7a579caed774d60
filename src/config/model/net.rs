//! Addresses, routes and rules (`virtual_ipaddress`, `static_routes`, `virtual_rules` ...).

use crate::config::diag::Location;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Address scope (`scope global|site|link|host|nowhere|N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// 0
    Global,
    /// 200
    Site,
    /// 253
    Link,
    /// 254
    Host,
    /// 255
    Nowhere,
    /// Any other numeric scope.
    Other(u8),
}

impl Scope {
    /// The kernel's numeric value.
    pub fn value(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }
}

/// Broadcast setting of an address: `brd X`, `brd +` (computed) or `brd -` (none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Broadcast {
    /// An explicit broadcast address.
    Addr(IpAddr),
    /// `+`: computed from the prefix.
    Computed,
    /// `-`: none.
    None,
}

/// One address line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressSpec {
    /// Address and prefix (default /32, /128).
    pub addr: IpNet,
    /// `brd`.
    pub broadcast: Option<Broadcast>,
    /// `dev` (default: the instance's interface).
    pub dev: Option<String>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `label`.
    pub label: Option<String>,
    /// `peer`.
    pub peer: Option<IpNet>,
    /// `no_track`.
    pub no_track: bool,
    /// `-nodad`.
    pub nodad: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `home`.
    pub home: bool,
    /// `use_vmac` on this address.
    pub use_vmac: bool,
    /// `preferred_lft` (None: forever; keepalived deprecates v6 VIPs by default).
    pub preferred_lft: Option<u32>,
    /// `track_group` (static addresses).
    pub track_group: Option<String>,
    /// Where.
    pub loc: Location,
}

impl AddressSpec {
    /// The address as the dumps and logs print it: `10.0.0.1` for a host address, else
    /// `10.0.0.1/24` (keepalived-exporter's `ip_address` label).
    pub fn text(&self) -> String {
        if self.addr.prefix_len() == self.addr.max_prefix_len() {
            self.addr.addr().to_string()
        } else {
            self.addr.to_string()
        }
    }
}

impl AddressSpec {
    /// The address alone, every option unset (as a line with nothing after the address).
    pub fn new(addr: IpNet, loc: Location) -> Self {
        AddressSpec {
            addr,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            no_track: false,
            nodad: false,
            noprefixroute: false,
            home: false,
            use_vmac: false,
            preferred_lft: None,
            track_group: None,
            loc,
        }
    }
}

pub use crate::netlink::{
    Encap, EncapIp, NextHop, RouteAttrs, RouteMetrics, RouteMode, RuleAction, RuleSelectors,
};

/// Route type (`blackhole`, `unreachable`, `prohibit`, `throw`, or a normal unicast route).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    /// Normal route.
    Unicast,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
    /// `throw`.
    Throw,
    /// Another `RTN_*` type (`local`, `broadcast`, `anycast`, `multicast`, `nat`, `xresolve`,
    /// or a number).
    Other(u8),
}

/// A route line (`virtual_routes`, `static_routes`) in ip-route syntax.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteSpec {
    /// Destination (`default` = 0.0.0.0/0 or ::/0).
    pub to: IpNet,
    /// Type.
    pub route_type: RouteType,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    /// `dev` / `oif`.
    pub dev: Option<String>,
    /// `src`.
    pub src: Option<IpAddr>,
    /// `table` (number; names resolved by the builder).
    pub table: Option<u32>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `protocol` as installed (keepalived's rule: RTPROT_KEEPALIVED unless `no_track`).
    pub protocol: Option<u8>,
    /// `onlink`.
    pub onlink: bool,
    /// `from`, `tos`, `realms`, metrics (`mtu`, `advmss` ...), `pref`, `nexthop` list ...
    pub attrs: RouteAttrs,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group` (static routes).
    pub track_group: Option<String>,
    /// The words after the fields above, as written (for dumps; their meaning is in `attrs`).
    pub options: Vec<String>,
    /// Where.
    pub loc: Location,
}

/// A policy-routing rule line (`virtual_rules`, `static_rules`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `from`.
    pub from: Option<IpNet>,
    /// `to`.
    pub to: Option<IpNet>,
    /// `table` / `lookup`.
    pub table: Option<u32>,
    /// `preference` / `priority` / `order`.
    pub priority: Option<u32>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `inet6` given (family when no address says it).
    pub inet6: bool,
    /// `table`, `goto`, `nop`, `blackhole`, `unreachable`, `prohibit` (`type X`).
    pub action: RuleAction,
    /// `not`, `tos`, `realms`, `uidrange`, `l3mdev`, `protocol`, `ipproto`, `sport`, `dport`,
    /// `suppress_*`, `tunnel-id`.
    pub sel: RuleSelectors,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group` (static rules).
    pub track_group: Option<String>,
    /// The words after the fields above, as written (for dumps; their meaning is in `sel`).
    pub options: Vec<String>,
    /// Where.
    pub loc: Location,
}
