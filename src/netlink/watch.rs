//! Link/address watch state: turns kernel notifications (and re-dumps after ENOBUFS) into
//! de-duplicated [`NetlinkEvent`]s. Pure: fed by the owner task, unit-tested here.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::types::{AddressInfo, LinkInfo, NetlinkEvent};

type AddrKey = (u32, IpAddr, u8);

fn key(a: &AddressInfo) -> AddrKey {
    (a.ifindex, a.addr, a.prefix_len)
}

/// What the watcher believes the kernel has.
#[derive(Debug, Default)]
pub struct WatchState {
    links: HashMap<u32, LinkInfo>,
    addrs: HashMap<AddrKey, AddressInfo>,
}

impl WatchState {
    pub fn link(&self, ifindex: u32) -> Option<&LinkInfo> {
        self.links.get(&ifindex)
    }

    pub fn link_by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.links.values().find(|l| l.name == name)
    }

    pub fn links(&self) -> impl Iterator<Item = &LinkInfo> {
        self.links.values()
    }

    pub fn addresses(&self) -> impl Iterator<Item = &AddressInfo> {
        self.addrs.values()
    }

    fn name_of(&self, ifindex: u32) -> Option<String> {
        self.links.get(&ifindex).map(|l| l.name.clone())
    }

    /// RTM_NEWLINK (creation or any change).
    pub fn new_link(&mut self, info: LinkInfo, out: &mut Vec<NetlinkEvent>) {
        let (ifname, ifindex) = (info.name.clone(), info.ifindex);
        match self.links.insert(ifindex, info.clone()) {
            None => out.push(NetlinkEvent::LinkAdded(info)),
            Some(old) => {
                if old.name != ifname {
                    // a rename: tell subscribers the old name is gone and the new one exists
                    if old.up {
                        out.push(NetlinkEvent::LinkDown {
                            ifname: old.name.clone(),
                            ifindex,
                        });
                    }
                    out.push(NetlinkEvent::LinkRemoved {
                        ifname: old.name,
                        ifindex,
                    });
                    out.push(NetlinkEvent::LinkAdded(info));
                } else if old.up != info.up {
                    out.push(if info.up {
                        NetlinkEvent::LinkUp { ifname, ifindex }
                    } else {
                        NetlinkEvent::LinkDown { ifname, ifindex }
                    });
                }
            }
        }
    }

    /// RTM_DELLINK
    pub fn del_link(&mut self, ifindex: u32, out: &mut Vec<NetlinkEvent>) {
        if let Some(old) = self.links.remove(&ifindex) {
            if old.up {
                out.push(NetlinkEvent::LinkDown {
                    ifname: old.name.clone(),
                    ifindex,
                });
            }
            // the kernel flushes the addresses of a vanishing device
            self.addrs.retain(|k, _| k.0 != ifindex);
            out.push(NetlinkEvent::LinkRemoved {
                ifname: old.name,
                ifindex,
            });
        }
    }

    /// RTM_NEWADDR
    pub fn new_addr(&mut self, mut a: AddressInfo, out: &mut Vec<NetlinkEvent>) {
        a.ifname = self.name_of(a.ifindex);
        if self.addrs.insert(key(&a), a.clone()).is_none() {
            out.push(NetlinkEvent::AddressAdded(a));
        }
    }

    /// RTM_DELADDR
    pub fn del_addr(&mut self, a: &AddressInfo, out: &mut Vec<NetlinkEvent>) {
        if let Some(old) = self.addrs.remove(&key(a)) {
            out.push(NetlinkEvent::AddressRemoved(old));
        }
    }

    /// Replace everything with a fresh dump; emit what changed (links first so that address
    /// events carry interface names), then [`NetlinkEvent::Resynced`].
    pub fn reconcile(
        &mut self,
        links: Vec<LinkInfo>,
        addrs: Vec<AddressInfo>,
        out: &mut Vec<NetlinkEvent>,
    ) {
        let present: HashSet<u32> = links.iter().map(|l| l.ifindex).collect();
        let gone: Vec<u32> = self
            .links
            .keys()
            .copied()
            .filter(|i| !present.contains(i))
            .collect();
        for l in links {
            self.new_link(l, out);
        }
        let present: HashSet<AddrKey> = addrs.iter().map(key).collect();
        let gone_addrs: Vec<AddressInfo> = self
            .addrs
            .values()
            .filter(|a| !present.contains(&key(a)))
            .cloned()
            .collect();
        for a in gone_addrs {
            self.del_addr(&a, out);
        }
        for a in addrs {
            self.new_addr(a, out);
        }
        for i in gone {
            self.del_link(i, out);
        }
        out.push(NetlinkEvent::Resynced);
    }

    /// Seed without emitting anything (start-up).
    pub fn seed(&mut self, links: Vec<LinkInfo>, addrs: Vec<AddressInfo>) {
        let mut sink = Vec::new();
        self.reconcile(links, addrs, &mut sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::types::Scope;

    fn link(i: u32, name: &str, up: bool) -> LinkInfo {
        LinkInfo {
            ifindex: i,
            name: name.into(),
            mac: None,
            admin_up: up,
            up,
            mtu: None,
            kind: None,
            parent: None,
        }
    }

    fn addr(i: u32, a: &str) -> AddressInfo {
        AddressInfo {
            ifindex: i,
            ifname: None,
            addr: a.parse().unwrap(),
            prefix_len: 24,
            label: None,
            scope: Scope::Global,
        }
    }

    #[test]
    fn link_transitions_are_deduplicated() {
        let mut s = WatchState::default();
        let mut ev = Vec::new();
        s.new_link(link(2, "eth0", false), &mut ev);
        s.new_link(link(2, "eth0", false), &mut ev); // e.g. a stats/mtu change: nothing
        s.new_link(link(2, "eth0", true), &mut ev);
        s.new_link(link(2, "eth0", true), &mut ev);
        s.new_link(link(2, "eth0", false), &mut ev);
        s.del_link(2, &mut ev);
        s.del_link(2, &mut ev);
        let i = 2;
        let n = || "eth0".to_string();
        assert_eq!(
            ev,
            vec![
                NetlinkEvent::LinkAdded(link(2, "eth0", false)),
                NetlinkEvent::LinkUp {
                    ifname: n(),
                    ifindex: i
                },
                NetlinkEvent::LinkDown {
                    ifname: n(),
                    ifindex: i
                },
                NetlinkEvent::LinkRemoved {
                    ifname: n(),
                    ifindex: i
                },
            ]
        );
    }

    #[test]
    fn removal_of_up_link_reports_down_first_and_rename_is_remove_add() {
        let mut s = WatchState::default();
        let mut ev = Vec::new();
        s.seed(vec![link(3, "a", true)], vec![]);
        s.new_link(link(3, "b", true), &mut ev);
        s.del_link(3, &mut ev);
        assert_eq!(
            ev,
            vec![
                NetlinkEvent::LinkDown {
                    ifname: "a".into(),
                    ifindex: 3
                },
                NetlinkEvent::LinkRemoved {
                    ifname: "a".into(),
                    ifindex: 3
                },
                NetlinkEvent::LinkAdded(link(3, "b", true)),
                NetlinkEvent::LinkDown {
                    ifname: "b".into(),
                    ifindex: 3
                },
                NetlinkEvent::LinkRemoved {
                    ifname: "b".into(),
                    ifindex: 3
                },
            ]
        );
    }

    #[test]
    fn addresses_carry_names_and_dedupe() {
        let mut s = WatchState::default();
        s.seed(vec![link(2, "eth0", true)], vec![]);
        let mut ev = Vec::new();
        s.new_addr(addr(2, "10.0.0.1"), &mut ev);
        s.new_addr(addr(2, "10.0.0.1"), &mut ev); // v6 flag updates re-send NEWADDR
        s.del_addr(&addr(2, "10.0.0.1"), &mut ev);
        s.del_addr(&addr(2, "10.0.0.1"), &mut ev);
        let mut named = addr(2, "10.0.0.1");
        named.ifname = Some("eth0".into());
        assert_eq!(
            ev,
            vec![
                NetlinkEvent::AddressAdded(named.clone()),
                NetlinkEvent::AddressRemoved(named)
            ]
        );
    }

    #[test]
    fn reconcile_emits_missed_changes() {
        let mut s = WatchState::default();
        s.seed(
            vec![link(2, "eth0", true), link(3, "eth1", true)],
            vec![addr(2, "10.0.0.1"), addr(3, "10.0.1.1")],
        );
        let mut ev = Vec::new();
        // while we were deaf: eth0 went down, eth1 vanished, 10.0.0.2 appeared, 10.0.0.1 left
        s.reconcile(
            vec![link(2, "eth0", false)],
            vec![addr(2, "10.0.0.2")],
            &mut ev,
        );
        let mut a1 = addr(2, "10.0.0.1");
        a1.ifname = Some("eth0".into());
        let mut a2 = addr(2, "10.0.0.2");
        a2.ifname = Some("eth0".into());
        let mut b = addr(3, "10.0.1.1");
        b.ifname = Some("eth1".into());
        assert_eq!(
            ev[0],
            NetlinkEvent::LinkDown {
                ifname: "eth0".into(),
                ifindex: 2
            }
        );
        assert!(ev.contains(&NetlinkEvent::AddressRemoved(a1)));
        assert!(ev.contains(&NetlinkEvent::AddressRemoved(b)));
        assert!(ev.contains(&NetlinkEvent::AddressAdded(a2)));
        assert!(ev.contains(&NetlinkEvent::LinkDown {
            ifname: "eth1".into(),
            ifindex: 3
        }));
        assert!(ev.contains(&NetlinkEvent::LinkRemoved {
            ifname: "eth1".into(),
            ifindex: 3
        }));
        assert_eq!(ev.last(), Some(&NetlinkEvent::Resynced));
        assert_eq!(s.links().count(), 1);
        assert_eq!(s.addresses().count(), 1);
    }
}
