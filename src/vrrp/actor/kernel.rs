//! The boundary between a VRRP instance actor and the kernel-resource owner (netlink actor):
//! the instance says what it wants; the owner does it, in order, off the instance's thread.

use futures::future::BoxFuture;
use std::net::{IpAddr, Ipv6Addr};

/// What an instance needs to know about its interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Index.
    pub ifindex: u32,
    /// Administratively and operationally up.
    pub up: bool,
    /// MAC address.
    pub mac: [u8; 6],
    /// IPv4 addresses, primary first.
    pub ipv4: Vec<IpAddr>,
    /// IPv6 link-local address, if any.
    pub ipv6_link_local: Option<Ipv6Addr>,
}

pub use crate::vrrp::virtual_set::VirtualSet;

/// A VRRP MAC interface (`use_vmac`) an instance needs on top of its interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacRequest {
    /// Its name (`vrrp.VRID` unless configured).
    pub name: String,
    /// The configured interface it sits on.
    pub parent: String,
    /// 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6) unless configured.
    pub mac: [u8; 6],
    /// IPv6 instance: the vmac gets the parent's link-local (`link_local`) instead of an
    /// automatic one; IPv4 instance: IPv6 is disabled on it.
    pub ipv6: bool,
    /// The parent's link-local address.
    pub link_local: Option<Ipv6Addr>,
}

/// A link went up or down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// Interface name.
    pub ifname: String,
    /// Up (IFF_UP and IFF_RUNNING) or not.
    pub up: bool,
}

/// Kernel operations an instance requests. Implementations must be idempotent (adding an
/// address that exists, or removing one that does not, is success).
pub trait Kernel: Send + Sync + 'static {
    /// Looks up an interface by name.
    fn interface(&self, name: &str) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>>;
    /// Installs addresses, then routes, then rules.
    fn add(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>>;
    /// Removes rules, routes, then addresses.
    fn remove(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>>;
    /// Sends `count` gratuitous ARPs / unsolicited NAs for each address, `interval` apart.
    fn gratuitous(
        &self,
        set: VirtualSet,
        count: u32,
        interval: std::time::Duration,
    ) -> BoxFuture<'static, anyhow::Result<()>>;
    /// Creates (or adopts an identical existing) vmac, up, and describes it.
    fn vmac(&self, req: VmacRequest) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>>;
    /// Deletes a vmac this daemon created (absent is success).
    fn delete_vmac(&self, name: String) -> BoxFuture<'static, anyhow::Result<()>>;
    /// Link up/down events, if this kernel can watch links.
    fn link_events(&self) -> Option<tokio::sync::broadcast::Receiver<LinkEvent>> {
        None
    }
}
