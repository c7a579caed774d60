//! The reload of one instance (sans-IO): whether a changed configuration replaces the running
//! instance or is applied in place, and, in place, what changes in the kernel.
//!
//! Rules:
//! - a socket-level setting (version, source or multicast addresses, unicast <-> multicast,
//!   use_vmac, vmac_xmit_base, unicast_ttl, to or from AH) replaces the instance; anything else
//!   is applied in place (priority, advert interval and the rest go to the state machine);
//! - in place, with the VIPs installed: the entries the new configuration dropped are removed,
//!   the new ones added, and GARPs sent for added addresses;
//! - keepalived #1719: when addresses change, every virtual route is re-added (the kernel
//!   deletes routes using a removed address on its own; adding a present one is a no-op);
//! - in place, with the VIPs not installed: nothing is added; whatever the reload claimed for
//!   the instance is let go.

use crate::config::model::{Authentication, Family, VrrpInstance, VrrpVersion};
use crate::vrrp::virtual_set::{set_minus, VirtualSet};

/// Whether `i` sends and receives its adverts inside an IPsec AH (`auth_type AH`, VRRPv2 over
/// IPv4 only; elsewhere keepalived ignores it).
pub fn uses_ah(i: &VrrpInstance) -> bool {
    matches!(
        (&i.authentication, i.version, i.family),
        (Some(Authentication::Ah(_)), VrrpVersion::V2, Family::V4)
    )
}

/// The socket-level settings that differ between `o` and `n` (keepalived.conf keywords): any
/// of them replaces the instance instead of updating it in place.
pub fn restart_reasons(o: &VrrpInstance, n: &VrrpInstance) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |differs: bool, what: &'static str| {
        if differs {
            out.push(what);
        }
    };
    check(o.version != n.version, "version");
    check(o.unicast_src_ip != n.unicast_src_ip, "unicast_src_ip");
    check(o.mcast_src_ip != n.mcast_src_ip, "mcast_src_ip");
    check(o.mcast_dst_ip != n.mcast_dst_ip, "mcast_dst_ip");
    check(o.use_vmac != n.use_vmac, "use_vmac");
    check(o.vmac_xmit_base != n.vmac_xmit_base, "vmac_xmit_base");
    check(o.unicast_ttl != n.unicast_ttl, "unicast_ttl");
    check(
        o.is_unicast() != n.is_unicast(),
        "unicast_peer (unicast <-> multicast)",
    );
    // AH uses its own socket (IP protocol 51).
    check(uses_ah(o) != uses_ah(n), "authentication (to or from AH)");
    out
}

/// Whether the change from `o` to `n` replaces the instance (the one decision: the
/// supervisor asks it, the instance then applies what it is sent).
pub fn needs_restart(o: &VrrpInstance, n: &VrrpInstance) -> bool {
    !restart_reasons(o, n).is_empty()
}

/// What an in-place reload changes in the kernel while the VIPs are installed: remove, then
/// add (and GARP the added addresses); the new set is what is installed afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipChange {
    /// To remove (empty: nothing).
    pub remove: VirtualSet,
    /// To add (empty: nothing).
    pub add: VirtualSet,
    /// GARPs / NAs for `add`'s addresses.
    pub garp: bool,
}

/// The kernel side of an in-place reload from `old` to `new` with the VIPs `installed`; None
/// when they are not: nothing is added, and whatever the reload claimed for the instance is
/// released.
pub fn vip_change(old: &VirtualSet, new: &VirtualSet, installed: bool) -> Option<VipChange> {
    if !installed {
        return None;
    }
    let remove = set_minus(old, new);
    let mut add = set_minus(new, old);
    if !remove.addresses.is_empty() || !add.addresses.is_empty() {
        add.routes = new.routes.clone();
    }
    Some(VipChange {
        garp: !add.addresses.is_empty(),
        remove,
        add,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use crate::vrrp::virtual_set::virtual_set_of;

    fn instance(body: &str) -> VrrpInstance {
        // With a VIP: keepalived refuses a VRRPv3 (or strict) instance without one.
        let vip = if body.contains("virtual_ipaddress") {
            ""
        } else {
            " virtual_ipaddress {\n  192.0.2.1/32\n }\n"
        };
        let text =
            format!("vrrp_instance VI {{\n interface lo\n virtual_router_id 1\n{vip}{body}}}\n");
        let l = load_str("t.conf", &text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        (*l.config.instances[0]).clone()
    }

    fn vset(body: &str) -> VirtualSet {
        virtual_set_of(&instance(body))
    }

    fn addrs(s: &VirtualSet) -> Vec<String> {
        s.addresses.iter().map(|a| a.addr.to_string()).collect()
    }

    #[test]
    fn priority_and_advert_changes_apply_in_place() {
        let o = instance(" priority 100\n advert_int 1\n");
        let n = instance(" priority 150\n advert_int 3\n nopreempt\n");
        assert!(restart_reasons(&o, &n).is_empty());
        assert!(!needs_restart(&o, &n));
    }

    #[test]
    fn socket_level_settings_replace_the_instance() {
        let o = instance("");
        for (body, why) in [
            (" version 3\n", "version"),
            (" mcast_src_ip 10.0.0.1\n", "mcast_src_ip"),
            (
                " unicast_peer {\n  10.0.0.2\n }\n",
                "unicast_peer (unicast <-> multicast)",
            ),
            (" use_vmac\n", "use_vmac"),
            (
                " authentication {\n  auth_type AH\n  auth_pass secret\n }\n",
                "authentication (to or from AH)",
            ),
        ] {
            let n = instance(body);
            assert!(restart_reasons(&o, &n).contains(&why), "{body}: {why}");
            assert!(needs_restart(&o, &n));
        }
    }

    #[test]
    fn a_password_change_is_not_a_restart() {
        let o = instance(" authentication {\n  auth_type PASS\n  auth_pass one\n }\n");
        let n = instance(" authentication {\n  auth_type PASS\n  auth_pass two\n }\n");
        assert!(!needs_restart(&o, &n));
    }

    #[test]
    fn installed_vips_are_diffed_and_added_ones_garped() {
        let old = vset(" virtual_ipaddress {\n  10.0.0.1\n  10.0.0.2\n }\n");
        let new = vset(" virtual_ipaddress {\n  10.0.0.1\n  10.0.0.3\n }\n");
        let c = vip_change(&old, &new, true).expect("installed: applied");
        assert_eq!(addrs(&c.remove), ["10.0.0.2/32"]);
        assert_eq!(addrs(&c.add), ["10.0.0.3/32"]);
        assert!(c.garp);
    }

    #[test]
    fn moved_lines_change_nothing() {
        let old = vset(" virtual_ipaddress {\n  10.0.0.1\n }\n");
        let new = vset("\n\n priority 90\n virtual_ipaddress {\n  10.0.0.1\n }\n");
        let c = vip_change(&old, &new, true).expect("installed: applied");
        assert!(c.remove.is_empty() && c.add.is_empty() && !c.garp);
    }

    #[test]
    fn address_changes_re_add_every_virtual_route() {
        let routes = " virtual_routes {\n  192.168.5.0/24 via 10.0.0.254\n }\n";
        let old = vset(&format!(" virtual_ipaddress {{\n  10.0.0.1\n }}\n{routes}"));
        let new = vset(&format!(
            " virtual_ipaddress {{\n  10.0.0.1\n  10.0.0.9\n }}\n{routes}"
        ));
        let c = vip_change(&old, &new, true).expect("installed: applied");
        assert_eq!(c.add.routes.len(), 1, "the unchanged route is re-added");
        // Without an address change an unchanged route is left alone.
        let c = vip_change(&old, &old, true).expect("installed: applied");
        assert!(c.add.routes.is_empty());
    }

    #[test]
    fn a_route_only_change_garps_nothing() {
        let old = vset(" virtual_ipaddress {\n  10.0.0.1\n }\n");
        let new = vset(
            " virtual_ipaddress {\n  10.0.0.1\n }\n virtual_routes {\n  192.168.5.0/24 via 10.0.0.254\n }\n",
        );
        let c = vip_change(&old, &new, true).expect("installed: applied");
        assert_eq!(c.add.routes.len(), 1);
        assert!(!c.garp);
    }

    #[test]
    fn not_installed_adds_nothing_and_releases_claims() {
        let old = vset(" virtual_ipaddress {\n  10.0.0.1\n }\n");
        let new = vset(" virtual_ipaddress {\n  10.0.0.2\n }\n");
        assert_eq!(vip_change(&old, &new, false), None);
    }
}
