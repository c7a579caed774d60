//! What the VIP firewall installs (keepalived 2.2.7's nftables layout), as pure decisions:
//! which instances need it, and the batches that set up a family's table and add or remove
//! VIPs. The actor ([`super::actor`]) only sends them.

use super::nft::{Base, Batch, Expr, Family, Hook, KeyType, Verdict, SET_CONSTANT};
use crate::config::model::{GlobalDefs, VrrpInstance};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// keepalived's default table name.
pub const DEFAULT_TABLE: &str = "keepalived";
/// keepalived's default chain priority (`filter - 1`).
pub const DEFAULT_PRIORITY: i32 = -1;

impl FirewallConfig {
    /// The settings of `g` (default table when `nftables` is not given).
    pub fn of(g: &GlobalDefs) -> Self {
        FirewallConfig {
            table: g
                .nftables
                .clone()
                .unwrap_or_else(|| DEFAULT_TABLE.to_string()),
            priority: g.nftables_priority,
            counters: g.nftables_counters,
        }
    }
}

/// The firewall settings of `global_defs` (`nftables`, `nftables_priority`,
/// `nftables_counters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallConfig {
    /// Table name (in both `ip` and `ip6`).
    pub table: String,
    /// Priority of the `in` and `out` base chains.
    pub priority: i32,
    /// `nftables_counters`: a counter in every rule.
    pub counters: bool,
}

/// Whether the VIPs of `i` are firewalled while it is MASTER (keepalived: not the address
/// owner and accept mode off; accept mode defaults to on unless strict).
pub fn blocks_vips(i: &VrrpInstance) -> bool {
    let owner = i.priority == 255;
    !owner && !i.accept.unwrap_or(!i.strict)
}

/// The firewall the daemon needs: `nftables` (or `vrrp_iptables`) given, or else the default
/// table as soon as an instance blocks its VIPs (keepalived: "use_vmac or no_accept/strict
/// specified, but no firewall configured - using nftables").
pub fn config_for<'a>(
    g: &GlobalDefs,
    instances: impl IntoIterator<Item = &'a VrrpInstance>,
) -> Option<FirewallConfig> {
    (g.nftables.is_some() || instances.into_iter().any(blocks_vips)).then(|| FirewallConfig::of(g))
}

/// The firewall's view of the kernel: which families' tables are set up and how many
/// instances want each VIP dropped.
#[derive(Clone, Debug)]
pub struct FirewallState {
    cfg: FirewallConfig,
    ready: [bool; 2],
    refs: BTreeMap<IpAddr, u32>,
}

fn idx(f: Family) -> usize {
    match f {
        Family::Ip => 0,
        Family::Ip6 => 1,
    }
}

/// IPv6 link-local (fe80::/10).
pub fn is_link_local(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v) if (v.segments()[0] & 0xffc0) == 0xfe80)
}

fn key(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

impl FirewallState {
    /// Nothing installed yet.
    pub fn new(cfg: FirewallConfig) -> Self {
        FirewallState {
            cfg,
            ready: [false; 2],
            refs: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FirewallConfig {
        &self.cfg
    }

    /// VIPs currently in the sets.
    pub fn installed(&self) -> impl Iterator<Item = &IpAddr> {
        self.refs.keys()
    }

    /// Adds one claim on each of `addrs`; the batch (if any element is new) creates the
    /// family's table first when it does not exist yet (as keepalived, at the first MASTER).
    /// IPv6 link-local VIPs are not handled (returned in the second value).
    pub fn add(&mut self, addrs: &[IpAddr], seq: u32) -> (Option<Batch>, Vec<IpAddr>) {
        let mut b = Batch::new(seq);
        let mut skipped = Vec::new();
        let mut new: BTreeMap<Family, Vec<Vec<u8>>> = BTreeMap::new();
        for a in addrs {
            if is_link_local(a) {
                skipped.push(*a);
                continue;
            }
            let n = self.refs.entry(*a).or_insert(0);
            *n += 1;
            if *n == 1 {
                new.entry(Family::of(a)).or_default().push(key(a));
            }
        }
        for (f, keys) in &new {
            if !self.ready[idx(*f)] {
                self.setup(&mut b, *f);
                self.ready[idx(*f)] = true;
            }
            b.set_elems(true, *f, &self.cfg.table, "vips", keys);
        }
        ((!b.is_empty()).then_some(b), skipped)
    }

    /// Drops one claim on each of `addrs`; the batch removes the elements nobody claims.
    pub fn remove(&mut self, addrs: &[IpAddr], seq: u32) -> Option<Batch> {
        let mut gone: BTreeMap<Family, Vec<Vec<u8>>> = BTreeMap::new();
        for a in addrs {
            let Some(n) = self.refs.get_mut(a) else {
                continue;
            };
            *n -= 1;
            if *n == 0 {
                self.refs.remove(a);
                gone.entry(Family::of(a)).or_default().push(key(a));
            }
        }
        let mut b = Batch::new(seq);
        for (f, keys) in &gone {
            if self.ready[idx(*f)] {
                b.set_elems(false, *f, &self.cfg.table, "vips", keys);
            }
        }
        (!b.is_empty()).then_some(b)
    }

    /// Deletes the tables set up (at exit).
    pub fn teardown(&mut self, seq: u32) -> Option<Batch> {
        let mut b = Batch::new(seq);
        for f in [Family::Ip, Family::Ip6] {
            if self.ready[idx(f)] {
                b.del_table(f, &self.cfg.table);
            }
        }
        self.ready = [false; 2];
        self.refs.clear();
        (!b.is_empty()).then_some(b)
    }

    /// keepalived's table for a family: a table left by an earlier run is replaced, then
    /// `out` and `in` base chains, the `vips` set and the drop rules (IPv6: neighbour
    /// discovery accepted first, link-local traffic sent to its own chains).
    fn setup(&self, b: &mut Batch, f: Family) {
        let t = self.cfg.table.as_str();
        let prio = self.cfg.priority;
        // add + delete + add: no residue, and no ENOENT when there was none.
        b.new_table(f, t);
        b.del_table(f, t);
        b.new_table(f, t);
        b.new_chain(f, t, "out", Some((Hook::Output, prio)));
        b.new_chain(f, t, "in", Some((Hook::Input, prio)));
        let counter = self.cfg.counters;
        let rule = |b: &mut Batch, chain: &str, mut e: Vec<Expr>, v: Verdict| {
            if counter {
                e.push(Expr::Counter);
            }
            e.push(Expr::Verdict(v));
            b.new_rule(f, t, chain, &e);
        };
        let addr = |src: bool| match (f, src) {
            (Family::Ip, true) => (12, 4),
            (Family::Ip, false) => (16, 4),
            (Family::Ip6, true) => (8, 16),
            (Family::Ip6, false) => (24, 16),
        };
        let load = |src: bool| {
            let (offset, len) = addr(src);
            Expr::Payload {
                base: Base::Network,
                offset,
                len,
            }
        };
        match f {
            Family::Ip => {
                b.new_set(f, t, "vips", KeyType::Ipv4Addr, 0, 1);
            }
            Family::Ip6 => {
                b.new_chain(f, t, "in_link_local", None);
                b.new_chain(f, t, "out_link_local", None);
                b.new_set(f, t, "vips", KeyType::Ipv6Addr, 0, 1);
                b.new_set(
                    f,
                    t,
                    "neighbor-discovery",
                    KeyType::Icmpv6Type,
                    SET_CONSTANT,
                    2,
                );
                // nd-neighbor-solicit, nd-neighbor-advert
                b.set_elems(true, f, t, "neighbor-discovery", &[vec![135], vec![136]]);
                let nd = || {
                    vec![
                        Expr::Payload {
                            base: Base::Network,
                            offset: 6,
                            len: 1,
                        },
                        Expr::CmpEq(vec![58]),
                        Expr::Payload {
                            base: Base::Transport,
                            offset: 0,
                            len: 1,
                        },
                        Expr::Lookup("neighbor-discovery".into()),
                    ]
                };
                let ll = |src: bool| {
                    let mut mask = vec![0u8; 16];
                    mask[0] = 0xff;
                    mask[1] = 0xc0;
                    let mut fe80 = vec![0u8; 16];
                    fe80[0] = 0xfe;
                    fe80[1] = 0x80;
                    vec![
                        load(src),
                        Expr::Bitwise {
                            mask,
                            xor: vec![0; 16],
                        },
                        Expr::CmpEq(fe80),
                    ]
                };
                rule(b, "in", nd(), Verdict::Accept);
                rule(b, "in", ll(false), Verdict::Goto("in_link_local".into()));
                rule(b, "out", nd(), Verdict::Accept);
                rule(b, "out", ll(true), Verdict::Goto("out_link_local".into()));
            }
        }
        let lookup = || Expr::Lookup("vips".into());
        rule(b, "in", vec![load(false), lookup()], Verdict::Drop);
        rule(b, "out", vec![load(true), lookup()], Verdict::Drop);
    }
}

/// What `old` has and `now` lacks, and the other way round (order of first appearance).
pub fn diff(old: &[IpAddr], now: &[IpAddr]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let gone = old.iter().filter(|a| !now.contains(a)).copied().collect();
    let new = now.iter().filter(|a| !old.contains(a)).copied().collect();
    (gone, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> FirewallConfig {
        FirewallConfig {
            table: "keepalived".into(),
            priority: -1,
            counters: false,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn instance(priority: u8, accept: Option<bool>, strict: bool) -> VrrpInstance {
        let conf = "vrrp_instance VI { interface eth0\n virtual_router_id 1\n }\n";
        let l = crate::config::load_str("t.conf", conf, &Default::default());
        let mut i = l
            .config
            .instances
            .first()
            .map(|i| (**i).clone())
            .expect("instance");
        i.priority = priority;
        i.accept = accept;
        i.strict = strict;
        i
    }

    #[test]
    fn who_blocks_vips() {
        // keepalived: accept defaults on unless strict; the owner never blocks.
        assert!(!blocks_vips(&instance(100, None, false)));
        assert!(blocks_vips(&instance(100, None, true)));
        assert!(blocks_vips(&instance(100, Some(false), false)));
        assert!(!blocks_vips(&instance(100, Some(true), true)));
        assert!(!blocks_vips(&instance(255, Some(false), true)));
    }

    #[test]
    fn config_only_when_needed_or_asked() {
        let mut g = GlobalDefs::default();
        let open = instance(100, None, false);
        let strict = instance(100, None, true);
        assert_eq!(config_for(&g, [&open]), None);
        assert_eq!(config_for(&g, [&open, &strict]), Some(cfg()));
        g.nftables = Some("fw".into());
        g.nftables_priority = 7;
        g.nftables_counters = true;
        let c = config_for(&g, [&open]).expect("asked for");
        assert_eq!((c.table.as_str(), c.priority, c.counters), ("fw", 7, true));
    }

    #[test]
    fn tables_set_up_once_per_family_and_elements_counted() {
        let mut s = FirewallState::new(cfg());
        let (b, skipped) = s.add(&[ip("10.0.0.1"), ip("10.0.0.2")], 1);
        let b = b.expect("first add");
        // table (add, delete, add), out, in, set, 2 rules, elements.
        assert_eq!(b.len(), 9);
        assert!(skipped.is_empty());
        // A second claim on the same VIP changes nothing in the kernel.
        assert!(s.add(&[ip("10.0.0.1")], 20).0.is_none());
        assert!(s.remove(&[ip("10.0.0.1")], 30).is_none());
        let b = s
            .remove(&[ip("10.0.0.1"), ip("10.0.0.2")], 40)
            .expect("last claims");
        assert_eq!(b.len(), 1);
        // The table stays; the next add is one element message.
        assert_eq!(s.add(&[ip("10.0.0.3")], 50).0.expect("add").len(), 1);
        // IPv6: its own table (+2 chains, nd set and elements, 4 more rules).
        let (b, skipped) = s.add(&[ip("fd00::1"), ip("fe80::1")], 60);
        assert_eq!(b.expect("v6").len(), 3 + 4 + 2 + 1 + 6 + 1);
        assert_eq!(skipped, vec![ip("fe80::1")]);
        assert_eq!(s.teardown(70).expect("teardown").len(), 2);
        assert!(s.teardown(80).is_none());
    }

    #[test]
    fn counters_go_in_every_rule() {
        let mut with = FirewallState::new(FirewallConfig {
            counters: true,
            ..cfg()
        });
        let mut without = FirewallState::new(cfg());
        let a = with.add(&[ip("fd00::1")], 1).0.expect("add").finish().0;
        let b = without.add(&[ip("fd00::1")], 1).0.expect("add").finish().0;
        let count = |v: &[u8]| v.windows(8).filter(|w| w == b"counter\0").count();
        assert_eq!(count(&a), 6);
        assert_eq!(count(&b), 0);
    }

    #[test]
    fn diff_of_claims() {
        let (a, b, c) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"));
        assert_eq!(diff(&[a, b], &[b, c]), (vec![a], vec![c]));
        assert_eq!(diff(&[], &[a]), (vec![], vec![a]));
    }
}
