//! What an instance installs in the kernel as MASTER (its VIPs, excluded VIPs, virtual routes
//! and rules), and set differences over it (reload diffs, resume, stale leftovers).

use crate::config::model::{AddressSpec, RouteSpec, RuleSpec, VrrpInstance};

/// The virtual state of one instance in the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualSet {
    /// Interface the VIPs go on unless an address says `dev`.
    pub ifname: String,
    /// `virtual_ipaddress` + `virtual_ipaddress_excluded`.
    pub addresses: Vec<AddressSpec>,
    /// `virtual_routes`.
    pub routes: Vec<RouteSpec>,
    /// `virtual_rules`.
    pub rules: Vec<RuleSpec>,
}

impl VirtualSet {
    /// No address, route or rule (the interface name does not count).
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

/// What an instance installs as MASTER: VIPs and excluded VIPs (on its interface unless they
/// name another), virtual routes and rules.
pub fn virtual_set_of(i: &VrrpInstance) -> VirtualSet {
    // With use_vmac the VIPs go on the vmac (named when the daemon built the instance).
    let vmac = i.use_vmac.as_ref().and_then(|v| v.name.clone());
    VirtualSet {
        ifname: vmac.unwrap_or_else(|| i.interface.clone().unwrap_or_else(|| "eth0".into())),
        addresses: i
            .virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
            .cloned()
            .collect(),
        routes: i.virtual_routes.clone(),
        rules: i.virtual_rules.clone(),
    }
}

/// An address line without its location, for set differences.
fn addr_key(a: &AddressSpec) -> AddressSpec {
    let mut k = a.clone();
    k.loc = Default::default();
    k
}

/// The entries of `a` that are not in `b` (locations ignored).
pub fn set_minus(a: &VirtualSet, b: &VirtualSet) -> VirtualSet {
    let strip_r = |r: &RouteSpec| {
        let mut r = r.clone();
        r.loc = Default::default();
        r
    };
    let strip_u = |r: &RuleSpec| {
        let mut r = r.clone();
        r.loc = Default::default();
        r
    };
    let b_addrs: Vec<_> = b.addresses.iter().map(addr_key).collect();
    VirtualSet {
        ifname: a.ifname.clone(),
        addresses: a
            .addresses
            .iter()
            .filter(|x| !b_addrs.contains(&addr_key(x)))
            .cloned()
            .collect(),
        routes: a
            .routes
            .iter()
            .filter(|r| !b.routes.iter().any(|x| strip_r(x) == strip_r(r)))
            .cloned()
            .collect(),
        rules: a
            .rules
            .iter()
            .filter(|r| !b.rules.iter().any(|x| strip_u(x) == strip_u(r)))
            .cloned()
            .collect(),
    }
}
