//! Pure translation between our specs and netlink-packet-route messages (no IO, unit-tested).

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::DefaultNla;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage};
use netlink_packet_route::route::{
    MplsLabel, RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteIp6Tunnel,
    RouteIp6TunnelFlags, RouteIpTunnel, RouteIpTunnelFlags, RouteLwEnCapType, RouteLwTunnelEncap,
    RouteMessage, RouteMetric, RouteMplsIpTunnel, RouteMplsTtlPropagation, RouteNextHop,
    RouteNextHopFlags, RoutePreference, RouteProtocol, RouteRealm, RouteScope, RouteType,
};
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::IpProtocol;

use super::error::{NetlinkError, Result};
use super::types::{
    AddressInfo, AddressSpec, Encap, LinkInfo, MacAddr, RouteAttrs, RouteKind, RouteMetrics,
    RouteSpec, RuleAction, RuleSelectors, RuleSpec, Scope, RTPROT_KEEPALIVED,
};

/// `INFINITY_LIFE_TIME` of the kernel.
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

fn family_of(ip: &IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn check_prefix(addr: &IpAddr, prefix_len: u8) -> Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(NetlinkError::Invalid(format!(
            "prefix length /{prefix_len} for {addr}"
        )));
    }
    Ok(())
}

/// RTM_NEWADDR body for `spec` on interface `ifindex`.
pub fn address_add_message(spec: &AddressSpec, ifindex: u32) -> Result<AddressMessage> {
    check_prefix(&spec.addr, spec.prefix_len)?;
    let mut m = address_base(spec, ifindex);
    if let Some(scope) = spec.scope {
        m.header.scope = AddressScope::from(scope.as_u8());
    }
    match spec.addr {
        IpAddr::V4(_) => {
            if let Some(label) = &spec.label {
                if label.is_empty() || label.len() >= 16 {
                    return Err(NetlinkError::Invalid(format!(
                        "label {label:?} must be 1..15 characters"
                    )));
                }
                m.attributes.push(AddressAttribute::Label(label.clone()));
            }
            if let Some(brd) = spec.broadcast {
                m.attributes.push(AddressAttribute::Broadcast(brd));
            }
        }
        IpAddr::V6(_) => {
            if spec.broadcast.is_some() {
                return Err(NetlinkError::Invalid("brd on an IPv6 address".into()));
            }
        }
    }
    let mut flags = AddressFlags::empty();
    if spec.nodad && spec.addr.is_ipv6() {
        flags |= AddressFlags::Nodad;
    }
    if spec.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    if !flags.is_empty() {
        m.header.flags = AddressHeaderFlags::from_bits_truncate((flags.bits() & 0xff) as u8);
        m.attributes.push(AddressAttribute::Flags(flags));
    }
    if let Some(pref) = spec.preferred_lft {
        let mut ci = CacheInfo::default();
        ci.ifa_preferred = pref;
        ci.ifa_valid = INFINITY_LIFE_TIME;
        m.attributes.push(AddressAttribute::CacheInfo(ci));
    }
    Ok(m)
}

/// RTM_DELADDR body: matches on address + prefix length only (no label), so an address is
/// removed whatever label it carries.
pub fn address_del_message(spec: &AddressSpec, ifindex: u32) -> Result<AddressMessage> {
    check_prefix(&spec.addr, spec.prefix_len)?;
    Ok(address_base(spec, ifindex))
}

fn address_base(spec: &AddressSpec, ifindex: u32) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = family_of(&spec.addr);
    m.header.prefix_len = spec.prefix_len;
    m.header.index = ifindex;
    m.attributes.push(AddressAttribute::Local(spec.addr));
    if spec.addr.is_ipv4() {
        m.attributes.push(AddressAttribute::Address(spec.addr));
    }
    m
}

fn route_type(kind: RouteKind) -> RouteType {
    match kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Throw => RouteType::Throw,
        RouteKind::Other(n) => RouteType::from(n),
    }
}

fn same_family(a: &IpNet, b: &IpAddr) -> bool {
    matches!(
        (a, b),
        (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_))
    )
}

/// RTM_NEWROUTE (`delete = false`) or RTM_DELROUTE (`delete = true`) body. `oif` is the resolved
/// `dev`, `nh_oifs` the resolved `dev` of each `nexthop` (same order; missing = none).
/// Deletion uses scope "nowhere" (the kernel's wildcard) unless a scope was given, and
/// keeps the protocol so that only routes we installed are removed.
pub fn route_message(
    spec: &RouteSpec,
    oif: Option<u32>,
    nh_oifs: &[Option<u32>],
    delete: bool,
) -> Result<RouteMessage> {
    let dst_ip = spec.dst.addr();
    let nh_vias = spec.attrs.nexthops.iter().map(|n| ("nexthop via", n.via));
    for (what, ip) in [("via", spec.via), ("src", spec.src)]
        .into_iter()
        .chain(nh_vias)
    {
        if let Some(ip) = ip {
            if !same_family(&spec.dst, &ip) {
                return Err(NetlinkError::Invalid(format!(
                    "route to {}: {what} {ip} is of another address family",
                    spec.dst
                )));
            }
        }
    }
    if spec.kind != RouteKind::Unicast && spec.via.is_some() {
        return Err(NetlinkError::Invalid(format!(
            "route to {}: a {:?} route cannot have a gateway",
            spec.dst, spec.kind
        )));
    }
    let mut m = RouteMessage::default();
    m.header.address_family = family_of(&dst_ip);
    m.header.destination_prefix_length = spec.dst.prefix_len();
    let table = spec.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
    m.header.table = if table < 256 {
        table as u8
    } else {
        RouteHeader::RT_TABLE_UNSPEC
    };
    m.header.protocol = RouteProtocol::from(spec.protocol.unwrap_or(RTPROT_KEEPALIVED));
    m.header.kind = route_type(spec.kind);
    m.header.scope = match spec.scope {
        Some(s) => RouteScope::from(s.as_u8()),
        None if delete => RouteScope::NoWhere,
        None => {
            if spec.kind == RouteKind::Unicast
                && spec.via.is_none()
                && spec.attrs.nexthops.is_empty()
                && !spec.onlink
                && dst_ip.is_ipv4()
            {
                RouteScope::Link
            } else {
                RouteScope::Universe
            }
        }
    };
    if spec.onlink {
        m.header.flags |= RouteFlags::Onlink;
    }
    m.attributes.push(RouteAttribute::Table(table));
    if spec.dst.prefix_len() > 0 {
        m.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                spec.dst.network(),
            )));
    }
    if let Some(gw) = spec.via {
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    }
    if let Some(oif) = oif {
        m.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(src) = spec.src {
        m.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    if let Some(metric) = spec.metric {
        m.attributes.push(RouteAttribute::Priority(metric));
    }
    route_attrs(&mut m, &spec.attrs, nh_oifs)?;
    Ok(m)
}

/// The attributes of [`RouteAttrs`]: source prefix, tos, realms, metrics, pref, expires,
/// ttl-propagate and the RTA_MULTIPATH nexthops.
fn route_attrs(m: &mut RouteMessage, a: &RouteAttrs, nh_oifs: &[Option<u32>]) -> Result<()> {
    if let Some(from) = &a.from {
        if matches!(from, IpNet::V4(_)) != (m.header.address_family == AddressFamily::Inet) {
            return Err(NetlinkError::Invalid(format!(
                "route from {from}: another address family"
            )));
        }
        m.header.source_prefix_length = from.prefix_len();
        m.attributes
            .push(RouteAttribute::Source(RouteAddress::from(from.network())));
    }
    if let Some(tos) = a.tos {
        m.header.tos = tos;
    }
    if let Some(r) = a.realms {
        m.attributes.push(RouteAttribute::Realm(realm(r)));
    }
    let metrics = route_metrics(&a.metrics);
    if !metrics.is_empty() {
        m.attributes.push(RouteAttribute::Metrics(metrics));
    }
    if let Some(p) = a.pref {
        m.attributes
            .push(RouteAttribute::Preference(RoutePreference::from(p)));
    }
    if let Some(e) = a.expires {
        m.attributes.push(RouteAttribute::Expires(e));
    }
    if let Some(t) = a.ttl_propagate {
        m.attributes.push(RouteAttribute::TtlPropagate(if t {
            RouteMplsTtlPropagation::Enabled
        } else {
            RouteMplsTtlPropagation::Disabled
        }));
    }
    if let Some(e) = &a.encap {
        m.attributes.extend(encap_attrs(e));
    }
    if !a.nexthops.is_empty() {
        let mut hops = Vec::with_capacity(a.nexthops.len());
        for (i, n) in a.nexthops.iter().enumerate() {
            let mut h = RouteNextHop::default();
            if let Some(w) = n.weight {
                if !(1..=256).contains(&w) {
                    return Err(NetlinkError::Invalid(format!("nexthop weight {w}")));
                }
                h.hops = (w - 1) as u8;
            }
            if n.onlink {
                h.flags |= RouteNextHopFlags::Onlink;
            }
            match (nh_oifs.get(i).copied().flatten(), &n.dev) {
                (Some(ifindex), _) => h.interface_index = ifindex,
                (None, Some(dev)) => {
                    return Err(NetlinkError::Invalid(format!(
                        "nexthop dev {dev}: interface index not resolved"
                    )))
                }
                (None, None) => {}
            }
            if let Some(gw) = n.via {
                h.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
            }
            if let Some(r) = n.realms {
                h.attributes.push(RouteAttribute::Realm(realm(r)));
            }
            if let Some(e) = &n.encap {
                h.attributes.extend(encap_attrs(e));
            }
            hops.push(h);
        }
        m.attributes.push(RouteAttribute::MultiPath(hops));
    }
    Ok(())
}

/// RTA_ENCAP (nested, in keepalived 2.2.7's order) and RTA_ENCAP_TYPE.
fn encap_attrs(e: &Encap) -> [RouteAttribute; 2] {
    let (kind, nest) = match e {
        Encap::Mpls(labels) => {
            let n = labels.len();
            let stack = labels
                .iter()
                .enumerate()
                .map(|(i, l)| MplsLabel {
                    label: *l,
                    traffic_class: 0,
                    bottom_of_stack: i + 1 == n,
                    ttl: 0,
                })
                .collect();
            (
                RouteLwEnCapType::Mpls,
                vec![RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(
                    stack,
                ))],
            )
        }
        Encap::Ila(locator) => (
            RouteLwEnCapType::Ila,
            // ILA_ATTR_LOCATOR (1): the locator in network order
            vec![RouteLwTunnelEncap::Other(DefaultNla::new(
                1,
                locator.to_be_bytes().to_vec(),
            ))],
        ),
        Encap::Ip(x) if !x.v6 => {
            let mut v = Vec::new();
            if let Some(id) = x.id {
                v.push(RouteIpTunnel::Id(id));
            }
            if let Some(IpAddr::V4(a)) = x.dst {
                v.push(RouteIpTunnel::Destination(a));
            }
            if let Some(IpAddr::V4(a)) = x.src {
                v.push(RouteIpTunnel::Source(a));
            }
            if let Some(t) = x.tos {
                v.push(RouteIpTunnel::Tos(t));
            }
            if let Some(t) = x.ttl {
                v.push(RouteIpTunnel::Ttl(t));
            }
            if let Some(f) = x.flags {
                v.push(RouteIpTunnel::Flags(RouteIpTunnelFlags::from_bits_retain(
                    f,
                )));
            }
            (
                RouteLwEnCapType::Ip,
                v.into_iter().map(RouteLwTunnelEncap::Ip).collect(),
            )
        }
        Encap::Ip(x) => {
            let mut v = Vec::new();
            if let Some(id) = x.id {
                v.push(RouteIp6Tunnel::Id(id));
            }
            if let Some(IpAddr::V6(a)) = x.dst {
                v.push(RouteIp6Tunnel::Destination(a));
            }
            if let Some(IpAddr::V6(a)) = x.src {
                v.push(RouteIp6Tunnel::Source(a));
            }
            if let Some(t) = x.tos {
                v.push(RouteIp6Tunnel::Tc(t));
            }
            if let Some(t) = x.ttl {
                v.push(RouteIp6Tunnel::Hoplimit(t));
            }
            if let Some(f) = x.flags {
                v.push(RouteIp6Tunnel::Flags(
                    RouteIp6TunnelFlags::from_bits_retain(f),
                ));
            }
            (
                RouteLwEnCapType::Ip6,
                v.into_iter().map(RouteLwTunnelEncap::Ip6).collect(),
            )
        }
    };
    [RouteAttribute::Encap(nest), RouteAttribute::EncapType(kind)]
}

fn realm(r: u32) -> RouteRealm {
    RouteRealm {
        source: (r >> 16) as u16,
        destination: (r & 0xffff) as u16,
    }
}

/// RTA_METRICS in the order keepalived 2.2.7 emits them (RTAX_LOCK last, only with others).
fn route_metrics(x: &RouteMetrics) -> Vec<RouteMetric> {
    let mut v = Vec::new();
    if let Some(c) = &x.congctl {
        v.push(RouteMetric::CcAlgo(c.clone()));
    }
    type Plain = (Option<u32>, fn(u32) -> RouteMetric);
    let plain: [Plain; 15] = [
        (x.rtt, RouteMetric::Rtt),
        (x.rttvar, RouteMetric::RttVar),
        (x.rto_min, RouteMetric::RtoMin),
        (
            (x.features != 0).then_some(x.features),
            RouteMetric::Features,
        ),
        (x.mtu, RouteMetric::Mtu),
        (x.window, RouteMetric::Window),
        (x.ssthresh, RouteMetric::SsThresh),
        (x.cwnd, RouteMetric::Cwnd),
        (x.advmss, RouteMetric::Advmss),
        (x.reordering, RouteMetric::Reordering),
        (x.hoplimit, RouteMetric::Hoplimit),
        (x.initcwnd, RouteMetric::InitCwnd),
        (x.initrwnd, RouteMetric::InitRwnd),
        (x.quickack, RouteMetric::QuickAck),
        (x.fastopen_no_cookie, RouteMetric::FastopenNoCookie),
    ];
    v.extend(plain.into_iter().filter_map(|(val, f)| val.map(f)));
    if !v.is_empty() && x.lock != 0 {
        v.push(RouteMetric::Lock(x.lock));
    }
    v
}

/// RTM_NEWRULE / RTM_DELRULE body.
pub fn rule_message(spec: &RuleSpec) -> Result<RuleMessage> {
    let v6 = spec.is_ipv6();
    if let (Some(a), Some(b)) = (&spec.from, &spec.to) {
        if matches!(a, IpNet::V6(_)) != matches!(b, IpNet::V6(_)) {
            return Err(NetlinkError::Invalid(format!(
                "rule from {a} to {b}: mixed families"
            )));
        }
    }
    let mut m = RuleMessage::default();
    m.header.family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    m.header.action = match spec.action {
        RuleAction::Table => {
            if spec.table.is_none() && !spec.sel.l3mdev {
                return Err(NetlinkError::Invalid("rule without table".into()));
            }
            NlRuleAction::ToTable
        }
        RuleAction::Blackhole => NlRuleAction::Blackhole,
        RuleAction::Unreachable => NlRuleAction::Unreachable,
        RuleAction::Prohibit => NlRuleAction::Prohibit,
        RuleAction::Nop => NlRuleAction::Nop,
        RuleAction::Goto(target) => {
            m.attributes.push(RuleAttribute::Goto(target));
            NlRuleAction::Goto
        }
    };
    if let Some(table) = spec.table {
        m.header.table = if table < 256 {
            table as u8
        } else {
            RouteHeader::RT_TABLE_UNSPEC
        };
        m.attributes.push(RuleAttribute::Table(table));
    }
    if let Some(from) = &spec.from {
        m.header.src_len = from.prefix_len();
        if from.prefix_len() > 0 {
            m.attributes.push(RuleAttribute::Source(from.network()));
        }
    }
    if let Some(to) = &spec.to {
        m.header.dst_len = to.prefix_len();
        if to.prefix_len() > 0 {
            m.attributes.push(RuleAttribute::Destination(to.network()));
        }
    }
    if let Some(p) = spec.priority {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    if let Some(mark) = spec.fwmark {
        m.attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = spec.fwmask {
            m.attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(i) = &spec.iif {
        m.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &spec.oif {
        m.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    rule_selectors(&mut m, &spec.sel);
    Ok(m)
}

fn rule_selectors(m: &mut RuleMessage, x: &RuleSelectors) {
    if x.invert {
        m.header.flags |= RuleFlags::Invert;
    }
    if let Some(tos) = x.tos {
        m.header.tos = tos;
    }
    if let Some(r) = x.realms {
        m.attributes.push(RuleAttribute::Realm(realm(r)));
    }
    if let Some(p) = x.suppress_prefixlength {
        m.attributes.push(RuleAttribute::SuppressPrefixLen(p));
    }
    if let Some(g) = x.suppress_ifgroup {
        m.attributes.push(RuleAttribute::SuppressIfGroup(g));
    }
    if let Some(t) = x.tunnel_id {
        m.attributes.push(RuleAttribute::TunId(t));
    }
    if let Some((start, end)) = x.uidrange {
        m.attributes
            .push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    if x.l3mdev {
        m.attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some(p) = x.protocol {
        m.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    if let Some(p) = x.ipproto {
        m.attributes
            .push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
    }
    if let Some((start, end)) = x.sport {
        m.attributes
            .push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = x.dport {
        m.attributes
            .push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
    }
}

/// Our view of an RTM_NEWLINK. `None` for messages that are not about a link itself
/// (AF_BRIDGE port notifications carry a family and must not be taken for link changes).
pub fn parse_link(m: &LinkMessage) -> Option<LinkInfo> {
    if m.header.interface_family != AddressFamily::Unspec {
        return None;
    }
    let flags = m.header.flags;
    let mut info = LinkInfo {
        ifindex: m.header.index,
        name: String::new(),
        mac: None,
        admin_up: flags.contains(LinkFlags::Up),
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        mtu: None,
        kind: None,
        parent: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => info.name = n.clone(),
            LinkAttribute::Address(mac) if mac.len() == 6 => {
                let mut o = [0u8; 6];
                o.copy_from_slice(mac);
                info.mac = Some(MacAddr(o));
            }
            LinkAttribute::Mtu(mtu) => info.mtu = Some(*mtu),
            LinkAttribute::Link(p) => info.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let NlLinkInfo::Kind(k) = i {
                        info.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Some(info)
}

/// Our view of an RTM_NEWADDR / RTM_DELADDR.
pub fn parse_address(m: &AddressMessage) -> Option<AddressInfo> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    Some(AddressInfo {
        ifindex: m.header.index,
        ifname: None,
        addr: local.or(address)?,
        prefix_len: m.header.prefix_len,
        label,
        scope: Scope::from_u8(u8::from(m.header.scope)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::NextHop;
    use netlink_packet_core::{Emitable, NetlinkHeader, NetlinkMessage, NLM_F_REQUEST};
    use netlink_packet_route::RouteNetlinkMessage;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn v4_vip_with_label_scope_brd() {
        let spec = AddressSpec::vip("eth0", v4("10.1.2.3"), 24)
            .with_label("eth0:vip")
            .with_scope(Scope::Link)
            .with_broadcast("10.1.2.255".parse().unwrap());
        let m = address_add_message(&spec, 7).unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.prefix_len, 24);
        assert_eq!(u8::from(m.header.scope), 253);
        assert!(m
            .attributes
            .contains(&AddressAttribute::Local(v4("10.1.2.3"))));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Address(v4("10.1.2.3"))));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Label("eth0:vip".into())));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Broadcast("10.1.2.255".parse().unwrap())));
        // no DAD / lifetime business for IPv4
        assert!(!m.attributes.iter().any(|a| matches!(
            a,
            AddressAttribute::Flags(_) | AddressAttribute::CacheInfo(_)
        )));
    }

    #[test]
    fn v6_vip_is_nodad_and_deprecated() {
        let spec = AddressSpec::vip("eth0", "fd00::10".parse().unwrap(), 64);
        let m = address_add_message(&spec, 3).unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert!(m.header.flags.contains(AddressHeaderFlags::Nodad));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
        let ci = m
            .attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::CacheInfo(ci) => Some(*ci),
                _ => None,
            })
            .unwrap();
        assert_eq!((ci.ifa_preferred, ci.ifa_valid), (0, INFINITY_LIFE_TIME));
        // IPv6 carries only IFA_LOCAL; a label would be ignored
        let spec = spec.with_label("x");
        let m = address_add_message(&spec, 3).unwrap();
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Label(_))));
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Address(_))));
    }

    #[test]
    fn delete_ignores_label_and_bad_input_is_typed() {
        let spec = AddressSpec::vip("eth0", v4("10.0.0.1"), 32).with_label("eth0:1");
        let m = address_del_message(&spec, 2).unwrap();
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Label(_))));
        let bad = AddressSpec::vip("eth0", v4("10.0.0.1"), 33);
        assert!(matches!(
            address_add_message(&bad, 2),
            Err(NetlinkError::Invalid(_))
        ));
        let long = AddressSpec::vip("eth0", v4("10.0.0.1"), 32).with_label("a-very-long-label-x");
        assert!(matches!(
            address_add_message(&long, 2),
            Err(NetlinkError::Invalid(_))
        ));
    }

    #[test]
    fn computed_broadcast() {
        let s = AddressSpec::vip("e", v4("10.1.2.3"), 22);
        assert_eq!(s.computed_broadcast(), Some("10.1.3.255".parse().unwrap()));
        assert_eq!(
            AddressSpec::vip("e", v4("10.1.2.3"), 31).computed_broadcast(),
            None
        );
    }

    #[test]
    fn route_defaults_follow_iproute2() {
        // dev-only v4 unicast route: scope link, main table, proto keepalived
        let mut r = RouteSpec::new("10.9.0.0/16".parse().unwrap());
        r.dev = Some("eth0".into());
        let m = route_message(&r, Some(4), &[], false).unwrap();
        assert_eq!(m.header.scope, RouteScope::Link);
        assert_eq!(m.header.table, 254);
        assert_eq!(m.header.kind, RouteType::Unicast);
        assert_eq!(u8::from(m.header.protocol), RTPROT_KEEPALIVED);
        assert!(m.attributes.contains(&RouteAttribute::Oif(4)));
        assert!(m
            .attributes
            .contains(&RouteAttribute::Destination(RouteAddress::Inet(
                "10.9.0.0".parse().unwrap()
            ))));
        // deletion without explicit scope uses the kernel's wildcard
        let d = route_message(&r, Some(4), &[], true).unwrap();
        assert_eq!(d.header.scope, RouteScope::NoWhere);

        // via + big table + metric + src
        let mut r = RouteSpec::new("0.0.0.0/0".parse().unwrap());
        r.via = Some(v4("10.0.0.1"));
        r.src = Some(v4("10.0.0.5"));
        r.table = Some(1000);
        r.metric = Some(50);
        let m = route_message(&r, None, &[], false).unwrap();
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.table, 0);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(50)));
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));

        // blackhole v6
        let mut r = RouteSpec::new("fd00:1::/64".parse().unwrap());
        r.kind = RouteKind::Blackhole;
        let m = route_message(&r, None, &[], false).unwrap();
        assert_eq!(m.header.kind, RouteType::BlackHole);
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        r.via = Some("fd00::1".parse().unwrap());
        assert!(matches!(
            route_message(&r, None, &[], false),
            Err(NetlinkError::Invalid(_))
        ));

        // mixed families
        let mut r = RouteSpec::new("10.0.0.0/8".parse().unwrap());
        r.via = Some("fd00::1".parse().unwrap());
        assert!(matches!(
            route_message(&r, None, &[], false),
            Err(NetlinkError::Invalid(_))
        ));
    }

    #[test]
    fn rule_message_fields() {
        let spec = RuleSpec {
            from: Some("10.1.0.0/16".parse().unwrap()),
            to: Some("10.2.0.5/32".parse().unwrap()),
            table: Some(100),
            priority: Some(1000),
            fwmark: Some(7),
            ..Default::default()
        };
        let m = rule_message(&spec).unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(
            (m.header.src_len, m.header.dst_len, m.header.table),
            (16, 32, 100)
        );
        assert_eq!(m.header.action, NlRuleAction::ToTable);
        assert!(m.attributes.contains(&RuleAttribute::Priority(1000)));
        assert!(m.attributes.contains(&RuleAttribute::FwMark(7)));
        assert!(m
            .attributes
            .contains(&RuleAttribute::Source(v4("10.1.0.0"))));

        let v6 = RuleSpec {
            ipv6: true,
            table: Some(5000),
            ..Default::default()
        };
        let m = rule_message(&v6).unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RuleAttribute::Table(5000)));

        assert!(rule_message(&RuleSpec::default()).is_err());
        let mixed = RuleSpec {
            from: Some("10.0.0.0/8".parse().unwrap()),
            to: Some("fd00::/8".parse().unwrap()),
            table: Some(1),
            ..Default::default()
        };
        assert!(rule_message(&mixed).is_err());
    }

    #[test]
    fn multipath_metrics_and_attrs() {
        let mut r = RouteSpec::new("10.4.0.0/16".parse().unwrap());
        r.attrs.nexthops = vec![
            NextHop {
                via: Some(v4("10.0.0.1")),
                dev: Some("a".into()),
                weight: Some(2),
                ..Default::default()
            },
            NextHop {
                via: Some(v4("10.0.1.1")),
                onlink: true,
                realms: Some(5),
                ..Default::default()
            },
        ];
        r.attrs.metrics.mtu = Some(1400);
        r.attrs.metrics.rtt = Some(2400);
        r.attrs.metrics.lock = 1 << 2;
        r.attrs.tos = Some(0x10);
        r.attrs.realms = Some((1 << 16) | 2);
        // a nexthop dev that was not resolved is an error, not a hop without device
        assert!(route_message(&r, None, &[], false).is_err());
        let m = route_message(&r, None, &[Some(9), None], false).unwrap();
        // gateways only in the nexthops: universe scope, as iproute2 and the kernel need
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.tos, 0x10);
        let hops = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].hops, hops[0].interface_index), (1, 9));
        assert!(hops[0]
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::from(v4("10.0.0.1")))));
        assert_eq!((hops[1].hops, hops[1].interface_index), (0, 0));
        assert!(hops[1].flags.contains(RouteNextHopFlags::Onlink));
        assert!(hops[1]
            .attributes
            .contains(&RouteAttribute::Realm(RouteRealm {
                source: 0,
                destination: 5
            })));
        assert!(m.attributes.contains(&RouteAttribute::Metrics(vec![
            RouteMetric::Rtt(2400),
            RouteMetric::Mtu(1400),
            RouteMetric::Lock(4),
        ])));
        assert!(m.attributes.contains(&RouteAttribute::Realm(RouteRealm {
            source: 1,
            destination: 2
        })));
        // a weight outside 1..=256 cannot be sent
        r.attrs.nexthops[0].weight = Some(0);
        assert!(route_message(&r, None, &[Some(9), None], false).is_err());
    }

    #[test]
    fn encap_attributes() {
        let mut r = RouteSpec::new("10.4.0.0/16".parse().unwrap());
        r.attrs.encap = Some(Encap::Mpls(vec![100, 200]));
        let m = route_message(&r, Some(1), &[], false).unwrap();
        assert!(m
            .attributes
            .contains(&RouteAttribute::EncapType(RouteLwEnCapType::Mpls)));
        let labels = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Encap(v) => Some(v.clone()),
                _ => None,
            })
            .unwrap();
        match &labels[..] {
            [RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(l))] => {
                assert_eq!(
                    l.iter()
                        .map(|x| (x.label, x.bottom_of_stack))
                        .collect::<Vec<_>>(),
                    [(100, false), (200, true)]
                );
            }
            other => panic!("{other:?}"),
        }
        r.attrs.encap = Some(Encap::Ila(0x2001_0000_0000_0001));
        let m = route_message(&r, Some(1), &[], false).unwrap();
        assert!(m
            .attributes
            .contains(&RouteAttribute::Encap(vec![RouteLwTunnelEncap::Other(
                DefaultNla::new(1, vec![0x20, 1, 0, 0, 0, 0, 0, 1])
            )])));
        r.attrs.encap = Some(Encap::Ip(crate::netlink::EncapIp {
            v6: false,
            id: Some(5),
            dst: Some(v4("1.2.3.4")),
            ttl: Some(9),
            ..Default::default()
        }));
        let m = route_message(&r, Some(1), &[], false).unwrap();
        assert!(m.attributes.contains(&RouteAttribute::Encap(vec![
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Id(5)),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Destination("1.2.3.4".parse().unwrap())),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Ttl(9)),
        ])));
        assert!(m
            .attributes
            .contains(&RouteAttribute::EncapType(RouteLwEnCapType::Ip)));
    }

    #[test]
    fn rule_selectors_attributes() {
        let spec = RuleSpec {
            from: Some("10.1.0.0/16".parse().unwrap()),
            table: Some(100),
            priority: Some(10),
            sel: RuleSelectors {
                invert: true,
                tos: Some(8),
                uidrange: Some((1000, 2000)),
                protocol: Some(18),
                ipproto: Some(6),
                sport: Some((1, 2)),
                dport: Some((80, 80)),
                suppress_prefixlength: Some(0),
                suppress_ifgroup: Some(3),
                tunnel_id: Some(42),
                realms: Some(7),
                l3mdev: false,
            },
            ..Default::default()
        };
        let m = rule_message(&spec).unwrap();
        assert!(m.header.flags.contains(RuleFlags::Invert));
        assert_eq!(m.header.tos, 8);
        for a in [
            RuleAttribute::UidRange(RuleUidRange {
                start: 1000,
                end: 2000,
            }),
            RuleAttribute::Protocol(RouteProtocol::from(18)),
            RuleAttribute::IpProtocol(IpProtocol::from(6u8)),
            RuleAttribute::SourcePortRange(RulePortRange { start: 1, end: 2 }),
            RuleAttribute::DestinationPortRange(RulePortRange { start: 80, end: 80 }),
            RuleAttribute::SuppressPrefixLen(0),
            RuleAttribute::SuppressIfGroup(3),
            RuleAttribute::TunId(42),
        ] {
            assert!(m.attributes.contains(&a), "{a:?} missing");
        }
        let nop = RuleSpec {
            priority: Some(3),
            action: RuleAction::Nop,
            ..Default::default()
        };
        assert_eq!(rule_message(&nop).unwrap().header.action, NlRuleAction::Nop);
        let l3 = RuleSpec {
            priority: Some(3),
            sel: RuleSelectors {
                l3mdev: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(rule_message(&l3)
            .unwrap()
            .attributes
            .contains(&RuleAttribute::L3MDev(true)));
    }

    /// The RTM_NEWADDR we send for a v6 VIP, byte for byte (same layout iproute2 produces for
    /// `ip addr add fd00::10/64 dev <7> nodad preferred_lft 0`, minus attribute order).
    #[test]
    fn v6_vip_golden_bytes() {
        let spec = AddressSpec::vip("eth0", "fd00::10".parse::<Ipv6Addr>().unwrap().into(), 64);
        let m = address_add_message(&spec, 7).unwrap();
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST;
        hdr.sequence_number = 1;
        let mut nl = NetlinkMessage::new(hdr, RouteNetlinkMessage::NewAddress(m).into());
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.emit(&mut buf);
        #[rustfmt::skip]
        let golden: Vec<u8> = vec![
            // nlmsghdr: len 72, RTM_NEWADDR (20), NLM_F_REQUEST, seq 1, pid 0
            72, 0, 0, 0, 20, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            // ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, scope universe, ifindex 7
            10, 64, 2, 0, 7, 0, 0, 0,
            // IFA_LOCAL fd00::10
            20, 0, 2, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            // IFA_FLAGS NODAD
            8, 0, 8, 0, 2, 0, 0, 0,
            // IFA_CACHEINFO preferred 0, valid forever
            20, 0, 6, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(buf, golden);
    }
}
