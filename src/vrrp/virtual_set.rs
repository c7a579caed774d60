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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn instance(body: &str) -> VrrpInstance {
        let text = format!("vrrp_instance VI {{\n interface lo\n virtual_router_id 1\n{body}}}\n");
        let l = load_str("t.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        (*l.config.instances[0]).clone()
    }

    #[test]
    fn the_set_is_vips_and_excluded_vips_routes_and_rules_on_the_interface() {
        let s = virtual_set_of(&instance(
            " virtual_ipaddress {\n  10.0.0.1\n }\n virtual_ipaddress_excluded {\n  10.0.0.2\n }\n\
             virtual_routes {\n  192.168.5.0/24 via 10.0.0.254\n }\n",
        ));
        assert_eq!(s.ifname, "lo");
        let addrs: Vec<String> = s.addresses.iter().map(|a| a.addr.to_string()).collect();
        assert_eq!(addrs, ["10.0.0.1/32", "10.0.0.2/32"]);
        assert_eq!((s.routes.len(), s.rules.len()), (1, 0));
        assert!(!s.is_empty());
        assert!(virtual_set_of(&instance("")).is_empty());
    }

    #[test]
    fn a_named_vmac_carries_the_vips() {
        let mut i = instance(" use_vmac\n virtual_ipaddress {\n  10.0.0.1\n }\n");
        if let Some(v) = i.use_vmac.as_mut() {
            v.name = Some("vrrp.1".into());
        }
        assert_eq!(virtual_set_of(&i).ifname, "vrrp.1");
    }

    #[test]
    fn differences_ignore_where_the_lines_are() {
        let a = virtual_set_of(&instance(
            " virtual_ipaddress {\n  10.0.0.1\n  10.0.0.2\n }\n",
        ));
        let b = virtual_set_of(&instance("\n\n\n virtual_ipaddress {\n  10.0.0.2\n }\n"));
        let d = set_minus(&a, &b);
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
        assert_eq!(addrs, ["10.0.0.1/32"]);
        assert!(set_minus(&b, &a).is_empty());
    }
}
