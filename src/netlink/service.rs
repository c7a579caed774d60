//! The owner task and its handle.
//!
//! ```text
//!  VRRP actor ──NetlinkHandle::add_address──► mpsc<Request> ──► owner task ──rtnetlink──► kernel
//!  VRRP actor ◄──────────── broadcast<NetlinkEvent> ◄──────────┘ (multicast watch)
//! ```
//!
//! [`NetlinkService`] holds the rtnetlink connection and the watch state; [`spawn`] starts it
//! as one tokio task that serves [`Request`]s one at a time (so kernel changes are serialised)
//! and turns link/address notifications into [`NetlinkEvent`]s. An actor wrapper can either
//! forward [`Request`]s into [`NetlinkHandle::sender`] or own a [`NetlinkService`] and call
//! its methods directly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkMessage, MacVlanMode};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::SocketAddr;
use rtnetlink::{LinkMacVlan, LinkUnspec, MulticastGroup};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, info, warn};

use super::error::{NetlinkError, Result};
use super::msg;
use super::sysctl;
use super::types::*;
use super::watch::WatchState;
use crate::sys::socket as rawsock;

/// Where the answer to a [`Request`] goes.
pub type Reply<T> = oneshot::Sender<Result<T>>;

/// Everything the owner task can be asked to do. Each variant carries its own typed reply.
#[derive(Debug)]
pub enum Request {
    AddAddress(AddressSpec, Reply<Change>),
    DelAddress(AddressSpec, Reply<Change>),
    AddRoute(RouteSpec, Reply<Change>),
    DelRoute(RouteSpec, Reply<Change>),
    AddRule(RuleSpec, Reply<Change>),
    DelRule(RuleSpec, Reply<Change>),
    /// Look an interface up by name (fresh from the kernel).
    Link(String, Reply<LinkInfo>),
    Links(Reply<Vec<LinkInfo>>),
    /// Addresses, optionally of one interface (fresh from the kernel).
    Addresses(Option<String>, Reply<Vec<AddressInfo>>),
    CreateVmac(VmacSpec, Reply<(Change, LinkInfo)>),
    /// Delete a vmac by name; refuses to delete anything that is not a macvlan.
    DeleteVmac(String, Reply<Change>),
}

/// Settings of the owner task.
#[derive(Debug, Clone)]
pub struct NetlinkConfig {
    /// Depth of the request queue.
    pub request_capacity: usize,
    /// Events kept for slow subscribers before they see `RecvError::Lagged`.
    pub event_capacity: usize,
    /// Run the link/address watch.
    pub watch: bool,
    /// SO_RCVBUF(FORCE) of the watch socket: the bigger, the rarer ENOBUFS re-dumps.
    pub watch_rcvbuf: usize,
}

impl Default for NetlinkConfig {
    fn default() -> Self {
        NetlinkConfig {
            request_capacity: 1024,
            event_capacity: 4096,
            watch: true,
            watch_rcvbuf: 4 << 20,
        }
    }
}

/// Cheap, cloneable access to the owner task. All methods are safe to call from any task or
/// thread; they queue a [`Request`] and await its reply.
#[derive(Debug, Clone)]
pub struct NetlinkHandle {
    tx: mpsc::Sender<Request>,
    events: broadcast::Sender<NetlinkEvent>,
}

impl NetlinkHandle {
    /// The raw request channel.
    pub fn sender(&self) -> mpsc::Sender<Request> {
        self.tx.clone()
    }

    /// Link/address events from now on. Subscribe first, then query the current state
    /// ([`Self::link`]) to have no gap. A receiver that falls behind gets `Lagged` and should
    /// re-query.
    pub fn subscribe(&self) -> broadcast::Receiver<NetlinkEvent> {
        self.events.subscribe()
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| NetlinkError::ServiceGone)?;
        rx.await.map_err(|_| NetlinkError::ServiceGone)?
    }

    /// `ip addr add`; an address already present is `Ok(AlreadyPresent)`.
    pub async fn add_address(&self, spec: &AddressSpec) -> Result<Change> {
        self.call(|r| Request::AddAddress(spec.clone(), r)).await
    }

    /// `ip addr del`; a missing address (or interface) is `Ok(AlreadyAbsent)`.
    pub async fn del_address(&self, spec: &AddressSpec) -> Result<Change> {
        self.call(|r| Request::DelAddress(spec.clone(), r)).await
    }

    pub async fn add_route(&self, spec: &RouteSpec) -> Result<Change> {
        self.call(|r| Request::AddRoute(spec.clone(), r)).await
    }

    pub async fn del_route(&self, spec: &RouteSpec) -> Result<Change> {
        self.call(|r| Request::DelRoute(spec.clone(), r)).await
    }

    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<Change> {
        self.call(|r| Request::AddRule(spec.clone(), r)).await
    }

    pub async fn del_rule(&self, spec: &RuleSpec) -> Result<Change> {
        self.call(|r| Request::DelRule(spec.clone(), r)).await
    }

    pub async fn link(&self, name: &str) -> Result<LinkInfo> {
        self.call(|r| Request::Link(name.to_string(), r)).await
    }

    pub async fn ifindex(&self, name: &str) -> Result<u32> {
        Ok(self.link(name).await?.ifindex)
    }

    pub async fn links(&self) -> Result<Vec<LinkInfo>> {
        self.call(Request::Links).await
    }

    pub async fn addresses(&self, dev: Option<&str>) -> Result<Vec<AddressInfo>> {
        self.call(|r| Request::Addresses(dev.map(str::to_string), r))
            .await
    }

    /// Create (or adopt an identical existing) vmac, set it up, apply keepalived's sysctls.
    pub async fn create_vmac(&self, spec: &VmacSpec) -> Result<(Change, LinkInfo)> {
        self.call(|r| Request::CreateVmac(spec.clone(), r)).await
    }

    pub async fn delete_vmac(&self, name: &str) -> Result<Change> {
        self.call(|r| Request::DeleteVmac(name.to_string(), r))
            .await
    }
}

type MonitorRx = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// Start the owner task on the current tokio runtime. Returns once the watch (if enabled) is
/// subscribed and has its initial snapshot, so every later change becomes an event.
pub async fn spawn(config: NetlinkConfig) -> Result<(NetlinkHandle, tokio::task::JoinHandle<()>)> {
    let (events, _) = broadcast::channel(config.event_capacity.max(16));
    let mut service = NetlinkService::new(events.clone())?;
    let monitor = if config.watch {
        let rx = open_monitor(config.watch_rcvbuf)?;
        service.resync(false).await?;
        Some(rx)
    } else {
        None
    };
    let (tx, rx) = mpsc::channel(config.request_capacity.max(1));
    let task = tokio::spawn(service.run(rx, monitor));
    Ok((NetlinkHandle { tx, events }, task))
}

fn open_monitor(rcvbuf: usize) -> Result<MonitorRx> {
    let (mut conn, _handle, rx) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    let fd = conn.socket_mut().as_raw_fd();
    let size = i32::try_from(rcvbuf).unwrap_or(i32::MAX);
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it, what SO_RCVBUF allows.
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        if rawsock::set_int(&fd, libc::SOL_SOCKET, opt, size).is_ok() {
            break;
        }
    }
    // The watch connection is only read: its handle is dropped, so netlink-proto hands every
    // message (including the Overrun marker it makes from ENOBUFS) to `rx`.
    tokio::spawn(conn);
    Ok(rx)
}

/// Where an interface index came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// The watch state (kept by link notifications; may lag the kernel by a notification).
    Cached,
    /// The kernel, just now.
    Kernel,
}

/// The owner: one rtnetlink connection for requests plus the watch state.
pub struct NetlinkService {
    handle: rtnetlink::Handle,
    state: WatchState,
    events: broadcast::Sender<NetlinkEvent>,
    /// parent ifname -> (values before our first vmac on it, number of our vmacs on it)
    parents: HashMap<String, (sysctl::SavedParent, usize)>,
    /// vmac ifname -> parent ifname, for the vmacs whose sysctls we set
    vmac_parent: HashMap<String, String>,
}

fn errno_is(e: &NetlinkError, codes: &[i32]) -> bool {
    matches!(e, NetlinkError::Kernel { errno, .. } if codes.contains(errno))
}

fn check_ifname(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
        return Err(NetlinkError::Invalid(format!(
            "bad interface name {name:?}"
        )));
    }
    Ok(())
}

impl NetlinkService {
    /// Open the request connection (its driver is spawned on the current runtime).
    pub fn new(events: broadcast::Sender<NetlinkEvent>) -> Result<Self> {
        let (mut conn, handle, _) = rtnetlink::new_connection()?;
        // Hand ACKs to us, so that "acknowledged" and "connection gone" can be told apart in
        // `ack` (only our own NLM_F_ACK requests get ACKs; rtnetlink's gets do not ask).
        conn.set_forward_ack(true);
        tokio::spawn(conn);
        Ok(NetlinkService {
            handle,
            state: WatchState::default(),
            events,
            parents: HashMap::new(),
            vmac_parent: HashMap::new(),
        })
    }

    /// Serve requests and watch notifications until every [`NetlinkHandle`] is dropped.
    /// Requests are served first: a burst of notifications never delays a VIP change.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Request>, mut monitor: Option<MonitorRx>) {
        loop {
            tokio::select! {
                biased;
                req = rx.recv() => match req {
                    Some(req) => self.execute(req).await,
                    None => break,
                },
                msg = next_monitor(&mut monitor) => match msg {
                    Some((msg, _)) => self.on_monitor(msg).await,
                    None => {
                        warn!("netlink watch socket closed; link/address events stop");
                        monitor = None;
                    }
                },
            }
        }
        debug!("netlink owner task: all handles dropped, stopping");
    }

    /// Execute one request and send its reply (a dropped receiver is not an error).
    pub async fn execute(&mut self, req: Request) {
        match req {
            Request::AddAddress(s, r) => drop(r.send(self.add_address(&s).await)),
            Request::DelAddress(s, r) => drop(r.send(self.del_address(&s).await)),
            Request::AddRoute(s, r) => drop(r.send(self.add_route(&s).await)),
            Request::DelRoute(s, r) => drop(r.send(self.del_route(&s).await)),
            Request::AddRule(s, r) => drop(r.send(self.add_rule(&s).await)),
            Request::DelRule(s, r) => drop(r.send(self.del_rule(&s).await)),
            Request::Link(n, r) => drop(r.send(self.link(&n).await)),
            Request::Links(r) => drop(r.send(self.links().await)),
            Request::Addresses(d, r) => drop(r.send(self.addresses(d.as_deref()).await)),
            Request::CreateVmac(s, r) => drop(r.send(self.create_vmac(&s).await)),
            Request::DeleteVmac(n, r) => drop(r.send(self.delete_vmac(&n).await)),
        }
    }

    async fn ack(
        &mut self,
        op: &'static str,
        payload: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<()> {
        let mut req = NetlinkMessage::from(payload);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut resp = self.handle.request(req)?;
        while let Some(m) = resp.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                return match e.code {
                    Some(code) => Err(NetlinkError::kernel(op, -code.get())),
                    None => Ok(()), // the ACK
                };
            }
        }
        // the stream ended without an ACK: the connection is gone, the outcome is unknown
        Err(NetlinkError::Protocol(format!(
            "{op}: no acknowledgement from the kernel"
        )))
    }

    pub async fn link(&mut self, name: &str) -> Result<LinkInfo> {
        check_ifname(name)?;
        let mut s = self.handle.link().get().match_name(name).execute();
        match s.next().await {
            Some(Ok(m)) => msg::parse_link(&m)
                .ok_or_else(|| NetlinkError::Protocol(format!("odd RTM_NEWLINK for {name}"))),
            Some(Err(e)) => match NetlinkError::from(e) {
                e if errno_is(&e, &[libc::ENODEV]) => {
                    Err(NetlinkError::NoSuchInterface(name.into()))
                }
                e => Err(e),
            },
            None => Err(NetlinkError::NoSuchInterface(name.into())),
        }
    }

    pub async fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let mut s = self.handle.link().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.next().await {
            if let Some(l) = msg::parse_link(&m?) {
                out.push(l);
            }
        }
        Ok(out)
    }

    pub async fn addresses(&mut self, dev: Option<&str>) -> Result<Vec<AddressInfo>> {
        let index = match dev {
            Some(d) => Some(self.link(d).await?.ifindex),
            None => None,
        };
        let mut s = self.handle.address().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.next().await {
            if let Some(mut a) = msg::parse_address(&m?) {
                if index.is_none_or(|i| i == a.ifindex) {
                    a.ifname = self.state.link(a.ifindex).map(|l| l.name.clone());
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// The index of `name` as the watch state knows it (no kernel round trip: a VIP add on
    /// failover is then one request), or from the kernel when the watch does not know it.
    /// `Cached` answers are checked by the request that uses them: see [`Self::stale`].
    async fn ifindex(&mut self, name: &str) -> Result<(u32, Lookup)> {
        if let Some(l) = self.state.link_by_name(name) {
            return Ok((l.ifindex, Lookup::Cached));
        }
        Ok((self.link(name).await?.ifindex, Lookup::Kernel))
    }

    /// A cached index was stale if the kernel says ENODEV (the device went away, perhaps
    /// came back with a new index, and the watch has not seen it yet): then the request is
    /// made once more with the kernel's current index.
    fn stale<T>(r: &Result<T>, how: Lookup) -> bool {
        how == Lookup::Cached && matches!(r, Err(e) if errno_is(e, &[libc::ENODEV]))
    }

    pub async fn add_address(&mut self, spec: &AddressSpec) -> Result<Change> {
        let (ifindex, how) = self.ifindex(&spec.dev).await?;
        let r = self.add_address_at(spec, ifindex).await;
        if !Self::stale(&r, how) {
            return r;
        }
        let ifindex = self.link(&spec.dev).await?.ifindex;
        self.add_address_at(spec, ifindex).await
    }

    async fn add_address_at(&mut self, spec: &AddressSpec, ifindex: u32) -> Result<Change> {
        let m = msg::address_add_message(spec, ifindex)?;
        match self
            .ack(
                "add address",
                RouteNetlinkMessage::NewAddress(m),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::EEXIST]) => Ok(Change::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    pub async fn del_address(&mut self, spec: &AddressSpec) -> Result<Change> {
        let ifindex = match self.link(&spec.dev).await {
            Ok(l) => l.ifindex,
            Err(NetlinkError::NoSuchInterface(_)) => return Ok(Change::AlreadyAbsent),
            Err(e) => return Err(e),
        };
        let m = msg::address_del_message(spec, ifindex)?;
        match self
            .ack("delete address", RouteNetlinkMessage::DelAddress(m), 0)
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::EADDRNOTAVAIL, libc::ENOENT, libc::ESRCH]) => {
                Ok(Change::AlreadyAbsent)
            }
            Err(e) => Err(e),
        }
    }

    async fn oif(&mut self, dev: &Option<String>) -> Result<Option<u32>> {
        Ok(match dev {
            Some(d) => Some(self.link(d).await?.ifindex),
            None => None,
        })
    }

    pub async fn add_route(&mut self, spec: &RouteSpec) -> Result<Change> {
        let Some(dev) = &spec.dev else {
            return self.add_route_via(spec, None).await;
        };
        let (oif, how) = self.ifindex(dev).await?;
        let r = self.add_route_via(spec, Some(oif)).await;
        if !Self::stale(&r, how) {
            return r;
        }
        let oif = self.link(dev).await?.ifindex;
        self.add_route_via(spec, Some(oif)).await
    }

    /// The interface index of each `nexthop ... dev D` (kernel lookup: multipath routes are rare).
    async fn nexthop_oifs(&mut self, spec: &RouteSpec) -> Result<Vec<Option<u32>>> {
        let mut v = Vec::with_capacity(spec.attrs.nexthops.len());
        for n in &spec.attrs.nexthops {
            v.push(self.oif(&n.dev).await?);
        }
        Ok(v)
    }

    async fn add_route_via(&mut self, spec: &RouteSpec, oif: Option<u32>) -> Result<Change> {
        let nh = self.nexthop_oifs(spec).await?;
        let m = msg::route_message(spec, oif, &nh, false)?;
        // keepalived's default is `prepend` (create only); an identical route is EEXIST
        // either way.
        let how = match spec.attrs.mode {
            RouteMode::Prepend => NLM_F_CREATE,
            RouteMode::Add => NLM_F_CREATE | NLM_F_EXCL,
            RouteMode::Append => NLM_F_CREATE | NLM_F_APPEND,
        };
        match self
            .ack("add route", RouteNetlinkMessage::NewRoute(m), how)
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::EEXIST]) => Ok(Change::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    pub async fn del_route(&mut self, spec: &RouteSpec) -> Result<Change> {
        let oif = match self.oif(&spec.dev).await {
            Ok(o) => o,
            // the kernel drops routes through a vanished device
            Err(NetlinkError::NoSuchInterface(_)) => return Ok(Change::AlreadyAbsent),
            Err(e) => return Err(e),
        };
        let nh = match self.nexthop_oifs(spec).await {
            Ok(nh) => nh,
            Err(NetlinkError::NoSuchInterface(_)) => return Ok(Change::AlreadyAbsent),
            Err(e) => return Err(e),
        };
        let m = msg::route_message(spec, oif, &nh, true)?;
        match self
            .ack("delete route", RouteNetlinkMessage::DelRoute(m), 0)
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::ESRCH, libc::ENOENT]) => Ok(Change::AlreadyAbsent),
            Err(e) => Err(e),
        }
    }

    pub async fn add_rule(&mut self, spec: &RuleSpec) -> Result<Change> {
        let m = msg::rule_message(spec)?;
        match self
            .ack(
                "add rule",
                RouteNetlinkMessage::NewRule(m),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::EEXIST]) => Ok(Change::AlreadyPresent),
            Err(e) => Err(e),
        }
    }

    pub async fn del_rule(&mut self, spec: &RuleSpec) -> Result<Change> {
        let m = msg::rule_message(spec)?;
        match self
            .ack("delete rule", RouteNetlinkMessage::DelRule(m), 0)
            .await
        {
            Ok(()) => Ok(Change::Applied),
            Err(e) if errno_is(&e, &[libc::ENOENT, libc::ESRCH]) => Ok(Change::AlreadyAbsent),
            Err(e) => Err(e),
        }
    }

    async fn set_up(&mut self, ifindex: u32) -> Result<()> {
        let m: LinkMessage = LinkUnspec::new_with_index(ifindex).up().build();
        self.ack("set link up", RouteNetlinkMessage::SetLink(m), 0)
            .await
    }

    pub async fn create_vmac(&mut self, spec: &VmacSpec) -> Result<(Change, LinkInfo)> {
        check_ifname(&spec.name)?;
        let parent = self.link(&spec.parent).await?;
        // Created down: IPv6 is set up before the link comes up (an up link would get its
        // EUI-64 link-local at once).
        let m = LinkMacVlan::new(&spec.name, parent.ifindex, MacVlanMode::Private)
            .address(spec.mac.0.to_vec())
            .build();
        let change = match self
            .ack(
                "create vmac",
                RouteNetlinkMessage::NewLink(m),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .await
        {
            Ok(()) => Change::Applied,
            Err(e) if errno_is(&e, &[libc::EEXIST]) => {
                let existing = self.link(&spec.name).await?;
                let why = if existing.kind.as_deref() != Some("macvlan") {
                    Some(format!("kind {:?}", existing.kind))
                } else if existing.parent != Some(parent.ifindex) {
                    Some(format!("parent ifindex {:?}", existing.parent))
                } else if existing.mac != Some(spec.mac) {
                    Some(format!("MAC {:?}", existing.mac.map(|m| m.to_string())))
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(NetlinkError::LinkConflict {
                        name: spec.name.clone(),
                        why,
                    });
                }
                Change::AlreadyPresent
            }
            Err(e) => return Err(e),
        };
        match spec.ipv6 {
            None => sysctl::write("ipv6", &spec.name, "disable_ipv6", "1")?,
            Some(_) => {
                sysctl::write("ipv6", &spec.name, "disable_ipv6", "0")?;
                sysctl::write("ipv6", &spec.name, "addr_gen_mode", "1")?;
            }
        }
        let link = self.link(&spec.name).await?;
        if !link.admin_up {
            self.set_up(link.ifindex).await?;
        }
        if let Some(Some(ll)) = spec.ipv6 {
            let mut a = AddressSpec::vip(spec.name.clone(), IpAddr::V6(ll), 64);
            a.preferred_lft = None;
            a.scope = Some(Scope::Link);
            self.add_address(&a).await?;
        }
        if spec.set_sysctls {
            sysctl::apply_vmac(&spec.name)?;
            if !self.vmac_parent.contains_key(&spec.name) {
                match self.parents.get_mut(&spec.parent) {
                    Some((_, n)) => *n += 1,
                    None => {
                        let saved = sysctl::apply_parent(&spec.parent)?;
                        self.parents.insert(spec.parent.clone(), (saved, 1));
                    }
                }
                self.vmac_parent
                    .insert(spec.name.clone(), spec.parent.clone());
            }
        }
        info!(vmac = %spec.name, parent = %spec.parent, mac = %spec.mac, ?change, "vmac ready");
        Ok((change, self.link(&spec.name).await?))
    }

    pub async fn delete_vmac(&mut self, name: &str) -> Result<Change> {
        let link = match self.link(name).await {
            Ok(l) => l,
            Err(NetlinkError::NoSuchInterface(_)) => {
                return self.forget_vmac(name, Change::AlreadyAbsent)
            }
            Err(e) => return Err(e),
        };
        if link.kind.as_deref() != Some("macvlan") {
            return Err(NetlinkError::LinkConflict {
                name: name.into(),
                why: format!("refusing to delete a {:?} link", link.kind),
            });
        }
        let mut m = LinkMessage::default();
        m.header.index = link.ifindex;
        let change = match self
            .ack("delete vmac", RouteNetlinkMessage::DelLink(m), 0)
            .await
        {
            Ok(()) => Change::Applied,
            Err(e) if errno_is(&e, &[libc::ENODEV]) => Change::AlreadyAbsent,
            Err(e) => return Err(e),
        };
        self.forget_vmac(name, change)
    }

    fn forget_vmac(&mut self, name: &str, change: Change) -> Result<Change> {
        if let Some(parent) = self.vmac_parent.remove(name) {
            if let Some((saved, n)) = self.parents.get_mut(&parent) {
                *n -= 1;
                if *n == 0 {
                    let saved = saved.clone();
                    self.parents.remove(&parent);
                    if let Err(e) = sysctl::restore_parent(&parent, &saved) {
                        warn!(%parent, error = %e, "could not restore arp sysctls");
                    }
                }
            }
        }
        Ok(change)
    }

    /// Re-dump links and addresses into the watch state; with `emit`, publish the differences.
    pub async fn resync(&mut self, emit: bool) -> Result<()> {
        let links = self.links().await?;
        let mut s = self.handle.address().get().execute();
        let mut addrs = Vec::new();
        while let Some(m) = s.next().await {
            if let Some(a) = msg::parse_address(&m?) {
                addrs.push(a);
            }
        }
        if emit {
            let mut out = Vec::new();
            self.state.reconcile(links, addrs, &mut out);
            self.publish(out);
        } else {
            self.state.seed(links, addrs);
        }
        Ok(())
    }

    fn publish(&self, events: Vec<NetlinkEvent>) {
        for e in events {
            debug!(event = ?e, "netlink event");
            // no subscriber is fine
            let _ = self.events.send(e);
        }
    }

    async fn on_monitor(&mut self, m: NetlinkMessage<RouteNetlinkMessage>) {
        let mut out = Vec::new();
        match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                if let Some(info) = msg::parse_link(&l) {
                    self.state.new_link(info, &mut out);
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                if let Some(info) = msg::parse_link(&l) {
                    self.state.del_link(info.ifindex, &mut out);
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                if let Some(a) = msg::parse_address(&a) {
                    self.state.new_addr(a, &mut out);
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => {
                if let Some(a) = msg::parse_address(&a) {
                    self.state.del_addr(&a, &mut out);
                }
            }
            NetlinkPayload::Overrun(_) => {
                warn!("netlink watch overrun (ENOBUFS): re-dumping links and addresses");
                if let Err(e) = self.resync(true).await {
                    warn!(error = %e, "netlink resync failed");
                }
            }
            _ => {}
        }
        self.publish(out);
    }
}

async fn next_monitor(
    m: &mut Option<MonitorRx>,
) -> Option<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> {
    match m {
        Some(rx) => rx.next().await,
        None => std::future::pending().await,
    }
}
