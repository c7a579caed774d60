//! Who wants each virtual address installed: a VIP leaves the kernel only when no VRRP
//! instance claims it any more.
//!
//! Instances add and remove addresses from their own kernel queues, concurrently. When one
//! reload moves a VIP from instance A to instance B (keepalived #1854), A's removal and B's
//! addition race: if B's (no-op) add runs first, A's removal deletes the address B needs. With
//! claims, A's removal skips an address that B claims; and the reload claims, for every
//! instance that is MASTER with its VIPs installed, the addresses of its new configuration
//! before any instance is told about the change, so the move never deletes the VIP.
//!
//! Claims are taken and released synchronously by the instances (in their handlers, in the
//! order their decisions are made); the check happens in the kernel queue right before a
//! removal is executed, so the outcome does not depend on which queue runs first.

use super::kernel::VirtualSet;
use crate::config::model::{AddressSpec, Family, VrrpInstance};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// An address as the kernel knows it: device, address, prefix length.
type Key = (String, IpAddr, u8);

#[derive(Default)]
struct Entry {
    spec: Option<AddressSpec>,
    owners: BTreeSet<String>,
}

/// The shared claim table (cheap to clone).
#[derive(Clone, Default)]
pub struct VipClaims(Arc<Mutex<HashMap<Key, Entry>>>);

impl std::fmt::Debug for VipClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VipClaims").finish_non_exhaustive()
    }
}

/// The claimant name of an instance: its identity (interface, family, VRID), which a rename
/// does not change.
pub fn owner_of(i: &VrrpInstance) -> String {
    let family = if i.family == Family::V6 { "V6" } else { "V4" };
    format!(
        "{}/{family}/{}",
        i.interface.as_deref().unwrap_or("eth0"),
        i.vrid
    )
}

fn key(a: &AddressSpec, ifname: &str) -> Key {
    (
        a.dev.clone().unwrap_or_else(|| ifname.to_string()),
        a.addr.addr(),
        a.addr.prefix_len(),
    )
}

impl VipClaims {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `owner` wants every address of `set` installed.
    pub fn claim(&self, owner: &str, set: &VirtualSet) {
        let mut t = self.table();
        for a in &set.addresses {
            let e = t.entry(key(a, &set.ifname)).or_default();
            e.spec.get_or_insert_with(|| a.clone());
            e.owners.insert(owner.to_string());
        }
    }

    /// `owner` no longer wants the addresses of `set`.
    pub fn release(&self, owner: &str, set: &VirtualSet) {
        let mut t = self.table();
        for a in &set.addresses {
            let k = key(a, &set.ifname);
            if let Some(e) = t.get_mut(&k) {
                e.owners.remove(owner);
                if e.owners.is_empty() {
                    t.remove(&k);
                }
            }
        }
    }

    /// Releases everything `owner` claims; returns those addresses (on `ifname` unless they
    /// say otherwise) for a removal that skips what others still claim.
    pub fn release_all(&self, owner: &str, ifname: &str) -> VirtualSet {
        let mut t = self.table();
        let mut out = VirtualSet {
            ifname: ifname.to_string(),
            ..Default::default()
        };
        t.retain(|_, e| {
            if e.owners.remove(owner) {
                if let Some(s) = &e.spec {
                    let mut s = s.clone();
                    s.dev.get_or_insert_with(|| ifname.to_string());
                    out.addresses.push(s);
                }
            }
            !e.owners.is_empty()
        });
        out
    }

    /// `set` without the addresses somebody claims (what may really be removed now).
    pub fn unclaimed(&self, mut set: VirtualSet) -> VirtualSet {
        let t = self.table();
        set.addresses
            .retain(|a| !t.contains_key(&key(a, &set.ifname)));
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(addrs: &[&str]) -> VirtualSet {
        VirtualSet {
            ifname: "eth0".into(),
            addresses: addrs
                .iter()
                .map(|a| AddressSpec::new(a.parse().unwrap(), Default::default()))
                .collect(),
            ..Default::default()
        }
    }

    fn addrs(s: &VirtualSet) -> Vec<String> {
        s.addresses.iter().map(|a| a.addr.to_string()).collect()
    }

    #[test]
    fn a_move_between_owners_keeps_the_address_whatever_the_order() {
        let c = VipClaims::new();
        c.claim("A", &set(&["10.0.0.1/32", "10.0.0.2/32"]));
        // The reload pre-claims B's new set, then A lets go of X.
        c.claim("B", &set(&["10.0.0.1/32"]));
        c.release("A", &set(&["10.0.0.1/32"]));
        assert!(addrs(&c.unclaimed(set(&["10.0.0.1/32"]))).is_empty());
        // Once B lets go too, it may be removed.
        c.release("B", &set(&["10.0.0.1/32"]));
        assert_eq!(addrs(&c.unclaimed(set(&["10.0.0.1/32"]))), ["10.0.0.1/32"]);
        // A still holds .2.
        assert!(addrs(&c.unclaimed(set(&["10.0.0.2/32"]))).is_empty());
    }

    #[test]
    fn prefix_and_device_are_part_of_the_address() {
        let c = VipClaims::new();
        c.claim("A", &set(&["10.0.0.1/24"]));
        assert_eq!(addrs(&c.unclaimed(set(&["10.0.0.1/32"]))), ["10.0.0.1/32"]);
        let mut other_dev = set(&["10.0.0.1/24"]);
        other_dev.ifname = "eth1".into();
        assert_eq!(addrs(&c.unclaimed(other_dev)), ["10.0.0.1/24"]);
    }

    #[test]
    fn release_all_returns_what_was_claimed() {
        let c = VipClaims::new();
        c.claim("B", &set(&["10.0.0.1/32", "10.0.0.3/32"]));
        c.claim("A", &set(&["10.0.0.1/32"]));
        let mut freed = addrs(&c.release_all("B", "eth0"));
        freed.sort();
        assert_eq!(freed, ["10.0.0.1/32", "10.0.0.3/32"]);
        // .1 is still A's: a removal of B's addresses leaves it.
        let gone = c.unclaimed(c.release_all("B", "eth0"));
        assert!(gone.addresses.is_empty());
        assert_eq!(
            addrs(&c.unclaimed(set(&["10.0.0.1/32", "10.0.0.3/32"]))),
            ["10.0.0.3/32"]
        );
    }
}
