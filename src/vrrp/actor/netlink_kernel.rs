//! The [`Kernel`] of VRRP instances, backed by the netlink owner ([`crate::netlink`]): the one
//! place that changes addresses, routes and rules, and the source of link events.

use super::kernel::{InterfaceInfo, Kernel, LinkEvent, VirtualSet, VmacRequest};
use crate::config::model::{self, Broadcast};
use crate::netlink::garp::GarpSender;
use crate::netlink::{self as nl, NetlinkEvent, NetlinkHandle};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Kernel operations through the netlink owner.
pub struct NetlinkKernel {
    handle: NetlinkHandle,
    garp: Option<Arc<GarpSender>>,
    links: broadcast::Sender<LinkEvent>,
}

impl NetlinkKernel {
    /// Wraps a running netlink owner; link events are re-published for instances.
    pub fn new(handle: NetlinkHandle) -> Self {
        let (links, _) = broadcast::channel(1024);
        let mut rx = handle.subscribe();
        let tx = links.clone();
        let h = handle.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(NetlinkEvent::LinkUp { ifname, .. }) => {
                        let _ = tx.send(LinkEvent { ifname, up: true });
                    }
                    Ok(NetlinkEvent::LinkDown { ifname, .. })
                    | Ok(NetlinkEvent::LinkRemoved { ifname, .. }) => {
                        let _ = tx.send(LinkEvent { ifname, up: false });
                    }
                    Ok(NetlinkEvent::LinkAdded(l)) => {
                        let _ = tx.send(LinkEvent {
                            ifname: l.name,
                            up: l.up,
                        });
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // Missed events: every link's current state is published instead
                        // (instances ignore the ones that did not change).
                        tracing::warn!("link events: {n} missed; publishing every link's state");
                        match h.links().await {
                            Ok(all) => {
                                for l in all {
                                    let _ = tx.send(LinkEvent {
                                        ifname: l.name,
                                        up: l.up,
                                    });
                                }
                            }
                            Err(e) => tracing::warn!("link dump after missed events: {e}"),
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let garp = match GarpSender::new() {
            Ok(g) => Some(Arc::new(g)),
            Err(e) => {
                tracing::warn!(
                    "cannot open the gratuitous ARP socket: {e}; no GARP/NA will be sent"
                );
                None
            }
        };
        NetlinkKernel {
            handle,
            garp,
            links,
        }
    }
}

/// Config address line -> netlink request.
pub fn address_spec(a: &model::AddressSpec, default_dev: &str) -> nl::AddressSpec {
    let dev = a.dev.clone().unwrap_or_else(|| default_dev.to_string());
    let mut s = nl::AddressSpec::vip(dev, a.addr.addr(), a.addr.prefix_len());
    s.label = a.label.clone();
    s.scope = a.scope.map(|sc| nl::Scope::from_u8(sc.value()));
    s.broadcast = match a.broadcast {
        Some(Broadcast::Addr(IpAddr::V4(b))) => Some(b),
        Some(Broadcast::Computed) => s.computed_broadcast(),
        _ => None,
    };
    if a.addr.addr().is_ipv6() {
        s.nodad = true;
        if a.preferred_lft.is_some() {
            s.preferred_lft = a.preferred_lft;
        }
    } else {
        s.nodad = a.nodad;
    }
    s.noprefixroute = a.noprefixroute;
    s
}

/// Config route line -> netlink request.
pub fn route_spec(r: &model::RouteSpec, default_dev: &str) -> nl::RouteSpec {
    let mut dst = r.to;
    // `default` was parsed as 0.0.0.0/0; an IPv6 gateway or source means ::/0.
    if dst.prefix_len() == 0
        && (r.via.is_some_and(|v| v.is_ipv6()) || r.src.is_some_and(|s| s.is_ipv6()))
    {
        // (the builder already settles the family from every word; this covers specs made
        // elsewhere)
        dst = ipnet::IpNet::V6(Default::default());
    }
    let mut s = nl::RouteSpec::new(dst.trunc());
    s.via = r.via;
    s.dev = r.dev.clone().or_else(|| {
        (r.via.is_none()
            && r.attrs.nexthops.is_empty()
            && r.route_type == model::RouteType::Unicast)
            .then(|| default_dev.to_string())
    });
    s.src = r.src;
    s.table = r.table;
    s.metric = r.metric;
    s.scope = r.scope.map(|sc| nl::Scope::from_u8(sc.value()));
    s.kind = match r.route_type {
        model::RouteType::Unicast => nl::RouteKind::Unicast,
        model::RouteType::Blackhole => nl::RouteKind::Blackhole,
        model::RouteType::Unreachable => nl::RouteKind::Unreachable,
        model::RouteType::Prohibit => nl::RouteKind::Prohibit,
        model::RouteType::Throw => nl::RouteKind::Throw,
        model::RouteType::Other(t) => nl::RouteKind::Other(t),
    };
    s.onlink = r.onlink;
    s.protocol = r.protocol;
    s.attrs = r.attrs.clone();
    s
}

/// Config rule line -> netlink request.
pub fn rule_spec(r: &model::RuleSpec) -> nl::RuleSpec {
    nl::RuleSpec {
        ipv6: r.inet6,
        from: r.from,
        to: r.to,
        table: r.table,
        priority: r.priority,
        fwmark: r.fwmark.map(|(m, _)| m),
        fwmask: r.fwmark.and_then(|(_, k)| k),
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        action: r.action,
        sel: r.sel.clone(),
    }
}

/// What an instance needs to know of interface `name`.
async fn describe(h: &NetlinkHandle, name: &str) -> anyhow::Result<InterfaceInfo> {
    let link = h.link(name).await?;
    let addrs = h.addresses(Some(name)).await?;
    let mut info = InterfaceInfo {
        ifindex: link.ifindex,
        up: link.up,
        mac: link.mac.map(|m| m.octets()).unwrap_or_default(),
        ..Default::default()
    };
    for a in addrs {
        match a.addr {
            IpAddr::V4(_) => info.ipv4.push(a.addr),
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
                info.ipv6_link_local.get_or_insert(v6);
            }
            IpAddr::V6(_) => {}
        }
    }
    Ok(info)
}

impl Kernel for NetlinkKernel {
    fn interface(&self, name: &str) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>> {
        let h = self.handle.clone();
        let name = name.to_string();
        async move { describe(&h, &name).await }.boxed()
    }

    fn vmac(&self, req: VmacRequest) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>> {
        let h = self.handle.clone();
        async move {
            let spec = nl::VmacSpec {
                name: req.name.clone(),
                parent: req.parent,
                mac: nl::MacAddr(req.mac),
                set_sysctls: true,
                ipv6: req.ipv6.then_some(req.link_local),
            };
            h.create_vmac(&spec).await?;
            describe(&h, &req.name).await
        }
        .boxed()
    }

    fn delete_vmac(&self, name: String) -> BoxFuture<'static, anyhow::Result<()>> {
        let h = self.handle.clone();
        async move {
            h.delete_vmac(&name).await?;
            Ok(())
        }
        .boxed()
    }

    fn add(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
        let h = self.handle.clone();
        async move {
            let mut first_err = None;
            for a in &set.addresses {
                if let Err(e) = h.add_address(&address_spec(a, &set.ifname)).await {
                    tracing::error!("add address {} ({}): {e}", a.addr, a.loc);
                    first_err.get_or_insert(e);
                }
            }
            for r in &set.routes {
                if let Err(e) = h.add_route(&route_spec(r, &set.ifname)).await {
                    tracing::error!("add route {} ({}): {e}", r.to, r.loc);
                    first_err.get_or_insert(e);
                }
            }
            for r in &set.rules {
                if let Err(e) = h.add_rule(&rule_spec(r)).await {
                    tracing::error!("add rule ({}): {e}", r.loc);
                    first_err.get_or_insert(e);
                }
            }
            first_err.map_or(Ok(()), |e| Err(e.into()))
        }
        .boxed()
    }

    fn remove(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
        let h = self.handle.clone();
        async move {
            for r in &set.rules {
                if let Err(e) = h.del_rule(&rule_spec(r)).await {
                    tracing::warn!("remove rule ({}): {e}", r.loc);
                }
            }
            for r in &set.routes {
                if let Err(e) = h.del_route(&route_spec(r, &set.ifname)).await {
                    tracing::warn!("remove route {} ({}): {e}", r.to, r.loc);
                }
            }
            let mut first_err = None;
            for a in &set.addresses {
                if let Err(e) = h.del_address(&address_spec(a, &set.ifname)).await {
                    tracing::error!("remove address {} ({}): {e}", a.addr, a.loc);
                    first_err.get_or_insert(e);
                }
            }
            first_err.map_or(Ok(()), |e| Err(e.into()))
        }
        .boxed()
    }

    fn gratuitous(
        &self,
        set: VirtualSet,
        count: u32,
        interval: Duration,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        let h = self.handle.clone();
        let garp = self.garp.clone();
        async move {
            let Some(garp) = garp else { return Ok(()) };
            for round in 0..count {
                if round > 0 {
                    tokio::time::sleep(interval.max(Duration::from_millis(1))).await;
                }
                for a in &set.addresses {
                    let dev = a.dev.clone().unwrap_or_else(|| set.ifname.clone());
                    let link = match h.link(&dev).await {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::debug!("GARP: {dev}: {e}");
                            continue;
                        }
                    };
                    let mac = link.mac.unwrap_or(nl::MacAddr([0; 6]));
                    let r = match a.addr.addr() {
                        IpAddr::V4(v4) => garp.send_garp(link.ifindex, mac, v4),
                        IpAddr::V6(v6) => garp.send_na(link.ifindex, mac, v6, false),
                    };
                    if let Err(e) = r {
                        tracing::debug!("GARP/NA for {} on {dev}: {e}", a.addr);
                    }
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn link_events(&self) -> Option<broadcast::Receiver<LinkEvent>> {
        Some(self.links.subscribe())
    }
}
