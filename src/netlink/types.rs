//! Plain data types of the netlink module: what callers ask for and what they get back.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// `RTPROT_KEEPALIVED`: the route/rule protocol keepalived tags its routes with
/// (`/etc/iproute2/rt_protos` knows it as `keepalived`).
pub const RTPROT_KEEPALIVED: u8 = 18;

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The VRRP virtual router MAC of RFC 5798 §7.3: `00:00:5e:00:01:VRID` for IPv4,
    /// `00:00:5e:00:02:VRID` for IPv6.
    pub fn vrrp(vrid: u8, ipv6: bool) -> Self {
        MacAddr([0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid])
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for o in out.iter_mut() {
            let p = parts.next().ok_or_else(|| format!("bad MAC {s:?}"))?;
            *o = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC {s:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("bad MAC {s:?}"));
        }
        Ok(MacAddr(out))
    }
}

/// Address / route scope (`scope` keyword of keepalived and iproute2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    /// A numeric scope from `/etc/iproute2/rt_scopes`.
    Other(u8),
}

impl Scope {
    pub fn as_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    pub fn from_u8(n: u8) -> Self {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "global" | "universe" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            n => Scope::from_u8(n.parse().map_err(|_| format!("unknown scope {s:?}"))?),
        })
    }
}

/// An address to put on (or take off) an interface: one `virtual_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressSpec {
    /// Interface name (`dev`).
    pub dev: String,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only (`label eth0:1`); ignored for IPv6 as the kernel has no IPv6 labels.
    pub label: Option<String>,
    pub scope: Option<Scope>,
    /// IPv4 only (`brd`).
    pub broadcast: Option<Ipv4Addr>,
    /// IPv6: skip duplicate address detection (keepalived sets it on every IPv6 VIP).
    pub nodad: bool,
    /// IPv6: preferred lifetime; keepalived adds VIPs with 0 (deprecated) so they are never
    /// picked as a source address. `None` = permanent/forever.
    pub preferred_lft: Option<u32>,
    /// `noprefixroute`
    pub noprefixroute: bool,
}

impl AddressSpec {
    /// A VIP with keepalived's defaults: IPv6 gets `nodad` and `preferred_lft 0`.
    pub fn vip(dev: impl Into<String>, addr: IpAddr, prefix_len: u8) -> Self {
        let v6 = addr.is_ipv6();
        AddressSpec {
            dev: dev.into(),
            addr,
            prefix_len,
            label: None,
            scope: None,
            broadcast: None,
            nodad: v6,
            preferred_lft: if v6 { Some(0) } else { None },
            noprefixroute: false,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    pub fn with_broadcast(mut self, brd: Ipv4Addr) -> Self {
        self.broadcast = Some(brd);
        self
    }

    /// `brd +`: the all-ones host part of the prefix (None for IPv6 and for /31, /32).
    pub fn computed_broadcast(&self) -> Option<Ipv4Addr> {
        match self.addr {
            IpAddr::V4(a) if self.prefix_len < 31 => {
                Some(Ipv4Addr::from(u32::from(a) | (u32::MAX >> self.prefix_len)))
            }
            _ => None,
        }
    }
}

/// `type` of a route (`blackhole`, `unreachable`, `prohibit`, `throw`, or a normal route).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteKind {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    /// Any other `RTN_*` type by number (`local` 2, `broadcast` 3, `anycast` 4, `multicast` 5,
    /// `nat` 10, `xresolve` 11, or a bare number).
    Other(u8),
}

/// The `RTA_METRICS` of a route (`mtu`, `advmss`, `rtt` ... as `ip route` and keepalived 2.2.7
/// take them); `None` = not given. Times are in the kernel's units (already converted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RouteMetrics {
    pub mtu: Option<u32>,
    pub window: Option<u32>,
    /// `rtt`, in 1/8 ms.
    pub rtt: Option<u32>,
    /// `rttvar`, in 1/4 ms.
    pub rttvar: Option<u32>,
    pub ssthresh: Option<u32>,
    pub cwnd: Option<u32>,
    pub advmss: Option<u32>,
    pub reordering: Option<u32>,
    pub hoplimit: Option<u32>,
    pub initcwnd: Option<u32>,
    /// `features`: RTAX_FEATURE_* bits (`ecn` = 1); 0 = not given.
    pub features: u32,
    /// `rto_min`, in ms.
    pub rto_min: Option<u32>,
    pub initrwnd: Option<u32>,
    pub quickack: Option<u32>,
    /// `congctl NAME`.
    pub congctl: Option<String>,
    pub fastopen_no_cookie: Option<u32>,
    /// `RTAX_LOCK`: bit `1 << RTAX_x` for each metric given with `lock`.
    pub lock: u32,
}

impl RouteMetrics {
    pub fn is_empty(&self) -> bool {
        *self == RouteMetrics::default()
    }
}

/// Lightweight tunnel encapsulation of a route or nexthop (`encap ...`, RTA_ENCAP).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encap {
    /// `encap mpls LABEL[/LABEL]` (bottom of stack on the last).
    Mpls(Vec<u32>),
    /// `encap ip ...` / `encap ip6 ...`.
    Ip(EncapIp),
    /// `encap ila LOCATOR` (four 16-bit hex groups, the first in the high bits).
    Ila(u64),
}

/// `encap ip|ip6 [id N] [dst A] [src A] [tos|tc T] [ttl|hoplimit N] [flags N]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct EncapIp {
    /// `ip6` (LWTUNNEL_ENCAP_IP6) rather than `ip`.
    pub v6: bool,
    pub id: Option<u64>,
    pub dst: Option<IpAddr>,
    pub src: Option<IpAddr>,
    /// `tos` (ip) / `tc` (ip6).
    pub tos: Option<u8>,
    /// `ttl` (ip) / `hoplimit` (ip6).
    pub ttl: Option<u8>,
    pub flags: Option<u16>,
}

/// How a route is added when one with the same destination, tos and metric exists:
/// keepalived's default `prepend` (NLM_F_CREATE), `add` (fails: NLM_F_EXCL) or `append`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    Prepend,
    Add,
    Append,
}

/// One `nexthop` of a multipath route (`nexthop via A dev D weight W onlink realms R`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct NextHop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// `weight` 1..=256 as written (the kernel's `rtnh_hops` is weight - 1).
    pub weight: Option<u16>,
    pub onlink: bool,
    /// `realms` (IPv4): `FROM << 16 | TO`.
    pub realms: Option<u32>,
    /// `encap ...` of this nexthop.
    pub encap: Option<Encap>,
}

/// What a route line says beyond destination, gateway, device, source, table, metric, scope
/// and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RouteAttrs {
    /// `from PREFIX` (IPv6 source-specific route, RTA_SRC).
    pub from: Option<IpNet>,
    /// `tos` / `dsfield` (rtm_tos).
    pub tos: Option<u8>,
    /// `realms` (IPv4, RTA_FLOW): `FROM << 16 | TO`.
    pub realms: Option<u32>,
    pub metrics: RouteMetrics,
    /// `pref low|medium|high|N` (IPv6 router preference, RTA_PREF).
    pub pref: Option<u8>,
    /// `expires SECS` (IPv6, RTA_EXPIRES).
    pub expires: Option<u32>,
    /// `ttl-propagate enabled|disabled` (RTA_TTL_PROPAGATE).
    pub ttl_propagate: Option<bool>,
    /// `nexthop ...` (or keepalived's old `via A or B`): one RTA_MULTIPATH route.
    pub nexthops: Vec<NextHop>,
    /// `encap ...`.
    pub encap: Option<Encap>,
    /// `add` / `append` / `prepend` (default).
    pub mode: RouteMode,
}

/// One `virtual_routes` / `static_routes` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// `to` (use `0.0.0.0/0` / `::/0` for `default`).
    pub dst: IpNet,
    /// `via` / `gw`
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// `src` (preferred source)
    pub src: Option<IpAddr>,
    /// `table` (main when None)
    pub table: Option<u32>,
    /// `metric` / `preference`
    pub metric: Option<u32>,
    /// `scope`; when None, iproute2's rule applies: link scope for a v4 unicast route without
    /// gateway, universe otherwise.
    pub scope: Option<Scope>,
    pub kind: RouteKind,
    /// `onlink`
    pub onlink: bool,
    /// `protocol`; [`RTPROT_KEEPALIVED`] when None.
    pub protocol: Option<u8>,
    /// Everything else (metrics, nexthops, realms ...).
    pub attrs: RouteAttrs,
}

impl RouteSpec {
    pub fn new(dst: IpNet) -> Self {
        RouteSpec {
            dst,
            via: None,
            dev: None,
            src: None,
            table: None,
            metric: None,
            scope: None,
            kind: RouteKind::Unicast,
            onlink: false,
            protocol: None,
            attrs: RouteAttrs::default(),
        }
    }
}

/// What a rule does with matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// `table N` / `lookup N`
    #[default]
    Table,
    Blackhole,
    Unreachable,
    Prohibit,
    /// `nop`
    Nop,
    /// `goto PRIORITY`
    Goto(u32),
}

/// A rule's selectors beyond from/to/fwmark/iif/oif/priority (`ip rule` words).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RuleSelectors {
    /// `not`: FIB_RULE_INVERT.
    pub invert: bool,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `realms` (IPv4): `FROM << 16 | TO`.
    pub realms: Option<u32>,
    /// `uidrange START-END`.
    pub uidrange: Option<(u32, u32)>,
    /// `l3mdev`.
    pub l3mdev: bool,
    /// `protocol` (FRA_PROTOCOL).
    pub protocol: Option<u8>,
    /// `ipproto`.
    pub ipproto: Option<u8>,
    /// `sport START[-END]`.
    pub sport: Option<(u16, u16)>,
    /// `dport START[-END]`.
    pub dport: Option<(u16, u16)>,
    /// `suppress_prefixlength`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup`.
    pub suppress_ifgroup: Option<u32>,
    /// `tunnel-id`.
    pub tunnel_id: Option<u64>,
}

/// One `virtual_rules` / `static_rules` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RuleSpec {
    /// Needed only when neither `from` nor `to` is given (`true` = `inet6`).
    pub ipv6: bool,
    pub from: Option<IpNet>,
    pub to: Option<IpNet>,
    pub table: Option<u32>,
    /// `priority` / `preference` / `pref`
    pub priority: Option<u32>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// `iif`
    pub iif: Option<String>,
    /// `oif`
    pub oif: Option<String>,
    pub action: RuleAction,
    /// uidrange, ipproto, ports, suppressors ...
    pub sel: RuleSelectors,
}

impl RuleSpec {
    pub fn is_ipv6(&self) -> bool {
        match (&self.from, &self.to) {
            (Some(n), _) | (None, Some(n)) => matches!(n, IpNet::V6(_)),
            (None, None) => self.ipv6,
        }
    }
}

/// A VRRP virtual MAC interface (`use_vmac`): a macvlan in private mode on `parent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmacSpec {
    /// e.g. `vrrp.51`
    pub name: String,
    pub parent: String,
    pub mac: MacAddr,
    /// Apply keepalived's sysctls (arp_ignore, accept_local, rp_filter, promote_secondaries on
    /// the vmac; arp_ignore/arp_filter on the parent).
    pub set_sysctls: bool,
    /// IPv6 on the vmac. `None`: disabled (an IPv4 instance; nothing answers or sends IPv6
    /// with the virtual MAC). `Some(ll)`: enabled without an automatic (EUI-64, hence
    /// identical on every router) link-local; `ll`, the parent's own link-local, is added
    /// instead so adverts leave from a unique, non-virtual address (RFC 5798 §7.4).
    pub ipv6: Option<Option<std::net::Ipv6Addr>>,
}

impl VmacSpec {
    pub fn for_vrid(
        name: impl Into<String>,
        parent: impl Into<String>,
        vrid: u8,
        ipv6: bool,
    ) -> Self {
        VmacSpec {
            name: name.into(),
            parent: parent.into(),
            mac: MacAddr::vrrp(vrid, ipv6),
            set_sysctls: true,
            ipv6: ipv6.then_some(None),
        }
    }
}

/// What a mutating request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The kernel state was changed.
    Applied,
    /// Add of something that was already there: nothing done, success.
    AlreadyPresent,
    /// Removal of something that was not there: nothing done, success.
    AlreadyAbsent,
}

impl Change {
    /// True if the kernel state was modified.
    pub fn changed(self) -> bool {
        self == Change::Applied
    }
}

/// A snapshot of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    pub mac: Option<MacAddr>,
    /// IFF_UP (administratively up)
    pub admin_up: bool,
    /// IFF_UP and IFF_RUNNING: what keepalived calls "up" for track_interface.
    pub up: bool,
    pub mtu: Option<u32>,
    /// `macvlan`, `veth`, `bridge`, ... (IFLA_INFO_KIND)
    pub kind: Option<String>,
    /// IFLA_LINK: the parent of a macvlan/vlan
    pub parent: Option<u32>,
}

/// An address as seen in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressInfo {
    pub ifindex: u32,
    /// Interface name when known to the watcher.
    pub ifname: Option<String>,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub scope: Scope,
}

/// Events delivered to subscribers of [`super::NetlinkHandle::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetlinkEvent {
    /// A new interface appeared (its `up` state is in the info).
    LinkAdded(LinkInfo),
    /// An interface disappeared (a `LinkDown` precedes this if it was up).
    LinkRemoved {
        ifname: String,
        ifindex: u32,
    },
    /// IFF_UP && IFF_RUNNING became true.
    LinkUp {
        ifname: String,
        ifindex: u32,
    },
    /// IFF_UP && IFF_RUNNING became false.
    LinkDown {
        ifname: String,
        ifindex: u32,
    },
    AddressAdded(AddressInfo),
    AddressRemoved(AddressInfo),
    /// The kernel dropped notifications (ENOBUFS); the watcher re-dumped links and addresses
    /// and has already emitted the differences it found. Subscribers holding state derived
    /// from other sources may want to re-check it.
    Resynced,
}
