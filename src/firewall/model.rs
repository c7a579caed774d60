//! What the VIP firewall installs (keepalived 2.2.7's nftables layout), as pure decisions:
//! which instances need it, and the batches that set up a family's table and add or remove
//! VIPs. The actor ([`super::actor`]) only sends them.

use super::nft::{Base, Batch, Expr, Family, Hook, KeyType, MetaKey, Verdict, SET_CONSTANT};
use crate::config::model::{GlobalDefs, VrrpInstance};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// keepalived's default chain priority (`filter - 1`).
pub use crate::config::model::NFTABLES_DEFAULT_PRIORITY as DEFAULT_PRIORITY;
/// keepalived's default table name.
pub use crate::config::model::NFTABLES_DEFAULT_TABLE as DEFAULT_TABLE;

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

/// How an IPv6 link-local VIP is matched (keepalived: with its interface, by index unless
/// `dont_track_primary` and the VIP is on the instance's interface or `no_track`, and
/// `nftables_ifindex` is not given).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkKey {
    /// `vips_link_local`: address . interface index.
    Index(u32),
    /// `vips_link_local_name`: address . interface name.
    Name(String),
    /// `vips_link_local` by the index of this interface (resolved by the firewall owner).
    IndexOf(String),
}

/// One VIP to drop: the address and, for an IPv6 link-local one, its interface.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FwAddr {
    /// The VIP.
    pub addr: IpAddr,
    /// Link-local only: how its interface is matched.
    pub link: Option<LinkKey>,
}

/// The VIPs of an instance as the firewall sees them: `dev` is the instance's VIP interface,
/// `by_name` keepalived's choice of the name set for link-local VIPs on it (or `no_track`):
/// `dont_track_primary` without `nftables_ifindex`.
pub fn fw_addrs(
    addrs: &[crate::config::model::AddressSpec],
    dev: &str,
    by_name: bool,
) -> Vec<FwAddr> {
    addrs
        .iter()
        .map(|a| {
            let addr = a.addr.addr();
            let link = is_link_local(&addr).then(|| {
                let d = a.dev.as_deref().unwrap_or(dev);
                if by_name && (d == dev || a.no_track) {
                    LinkKey::Name(d.to_string())
                } else {
                    LinkKey::IndexOf(d.to_string())
                }
            });
            FwAddr { addr, link }
        })
        .collect()
}

/// The set an element goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SetKind {
    V4,
    V6,
    LinkIndex,
    LinkName,
}

impl SetKind {
    fn family(self) -> Family {
        match self {
            SetKind::V4 => Family::Ip,
            _ => Family::Ip6,
        }
    }
    fn name(self) -> &'static str {
        match self {
            SetKind::V4 | SetKind::V6 => "vips",
            SetKind::LinkIndex => "vips_link_local",
            SetKind::LinkName => "vips_link_local_name",
        }
    }
}

/// The set and element key of a VIP (None: a link-local VIP without its interface).
fn element(a: &FwAddr) -> Option<(SetKind, Vec<u8>)> {
    match (a.addr, &a.link) {
        (IpAddr::V4(v), _) => Some((SetKind::V4, v.octets().to_vec())),
        (IpAddr::V6(v), _) if !is_link_local(&a.addr) => Some((SetKind::V6, v.octets().to_vec())),
        (IpAddr::V6(v), Some(LinkKey::Index(i))) => {
            let mut k = v.octets().to_vec();
            k.extend_from_slice(&i.to_ne_bytes());
            Some((SetKind::LinkIndex, k))
        }
        (IpAddr::V6(v), Some(LinkKey::Name(n))) => {
            let mut k = v.octets().to_vec();
            let mut name = [0u8; 16];
            let b = n.as_bytes();
            let len = b.len().min(15);
            name[..len].copy_from_slice(&b[..len]);
            k.extend_from_slice(&name);
            Some((SetKind::LinkName, k))
        }
        (IpAddr::V6(_), None | Some(LinkKey::IndexOf(_))) => None,
    }
}

/// The firewall's view of the kernel: which tables and link-local sets are set up and how
/// many instances want each VIP dropped.
#[derive(Clone, Debug)]
pub struct FirewallState {
    cfg: FirewallConfig,
    ready: [bool; 2],
    link_ready: [bool; 2],
    refs: BTreeMap<(SetKind, Vec<u8>), u32>,
    /// A batch failed: the kernel may not hold what we think (a table deleted behind our
    /// back, e.g. by a keepalived stopping after a take-over): the next change rebuilds all.
    dirty: bool,
    /// Families whose table was ever set up (deleted at exit even when `dirty`).
    used: [bool; 2],
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

impl FirewallState {
    /// Nothing installed yet.
    pub fn new(cfg: FirewallConfig) -> Self {
        FirewallState {
            cfg,
            ready: [false; 2],
            link_ready: [false; 2],
            refs: BTreeMap::new(),
            dirty: false,
            used: [false; 2],
        }
    }

    /// A batch failed: see [`FirewallState::resync`].
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Rebuilds everything claimed: the tables of the families in use (replacing what is
    /// there), their link-local sets and all elements.
    pub fn resync(&mut self, seq: u32) -> Option<Batch> {
        self.ready = [false; 2];
        self.link_ready = [false; 2];
        self.dirty = false;
        let mut all: Vec<(SetKind, Vec<Vec<u8>>)> = Vec::new();
        for (kind, key) in self.refs.keys() {
            match all.iter_mut().find(|(k, _)| k == kind) {
                Some((_, keys)) => keys.push(key.clone()),
                None => all.push((*kind, vec![key.clone()])),
            }
        }
        let mut b = Batch::new(seq);
        // A family's table stays (empty) once set up, as keepalived's.
        for f in [Family::Ip, Family::Ip6] {
            if self.used[idx(f)] && !all.iter().any(|(k, _)| k.family() == f) {
                self.setup(&mut b, f);
                self.ready[idx(f)] = true;
            }
        }
        self.emit(&mut b, all);
        (!b.is_empty()).then_some(b)
    }

    /// The configuration.
    pub fn config(&self) -> &FirewallConfig {
        &self.cfg
    }

    /// Adds one claim on each of `addrs`; the batch (if any element is new) creates the
    /// family's table first when it does not exist yet (as keepalived, at the first MASTER),
    /// and a link-local set with its rules at its first element. Link-local VIPs without
    /// their interface are returned (not handled).
    pub fn add(&mut self, addrs: &[FwAddr], seq: u32) -> (Option<Batch>, Vec<IpAddr>) {
        let mut b = Batch::new(seq);
        let mut skipped = Vec::new();
        let mut new: Vec<(SetKind, Vec<Vec<u8>>)> = Vec::new();
        for a in addrs {
            let Some((kind, key)) = element(a) else {
                skipped.push(a.addr);
                continue;
            };
            let n = self.refs.entry((kind, key.clone())).or_insert(0);
            *n += 1;
            if *n == 1 {
                match new.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, keys)) => keys.push(key),
                    None => new.push((kind, vec![key])),
                }
            }
        }
        if self.dirty {
            return (self.resync(seq), skipped);
        }
        self.emit(&mut b, new);
        ((!b.is_empty()).then_some(b), skipped)
    }

    /// Appends the setup a set needs (table, link-local set) in the order of `new`, then the
    /// elements set by set (keepalived's batch).
    fn emit(&mut self, b: &mut Batch, mut new: Vec<(SetKind, Vec<Vec<u8>>)>) {
        // keepalived's batch: the sets in the order of the VIPs, elements per set after.
        for (kind, _) in &new {
            let f = kind.family();
            if !self.ready[idx(f)] {
                self.setup(b, f);
                self.ready[idx(f)] = true;
                self.used[idx(f)] = true;
            }
            let l = match kind {
                SetKind::LinkIndex => Some(0),
                SetKind::LinkName => Some(1),
                _ => None,
            };
            if let Some(l) = l {
                if !self.link_ready[l] {
                    self.setup_link(b, *kind);
                    self.link_ready[l] = true;
                }
            }
        }
        new.sort_by_key(|(k, _)| *k);
        for (kind, keys) in &new {
            b.set_elems(true, kind.family(), &self.cfg.table, kind.name(), keys);
        }
    }

    /// Drops one claim on each of `addrs`; the batch removes the elements nobody claims.
    pub fn remove(&mut self, addrs: &[FwAddr], seq: u32) -> Option<Batch> {
        let mut gone: BTreeMap<SetKind, Vec<Vec<u8>>> = BTreeMap::new();
        for a in addrs {
            let Some((kind, key)) = element(a) else {
                continue;
            };
            let k = (kind, key);
            let Some(n) = self.refs.get_mut(&k) else {
                continue;
            };
            *n -= 1;
            if *n == 0 {
                self.refs.remove(&k);
                gone.entry(k.0).or_default().push(k.1);
            }
        }
        if self.dirty {
            return self.resync(seq);
        }
        let mut b = Batch::new(seq);
        for (kind, keys) in &gone {
            b.set_elems(false, kind.family(), &self.cfg.table, kind.name(), keys);
        }
        (!b.is_empty()).then_some(b)
    }

    /// Deletes the tables set up (at exit).
    pub fn teardown(&mut self, seq: u32) -> Option<Batch> {
        let mut b = Batch::new(seq);
        for f in [Family::Ip, Family::Ip6] {
            if self.used[idx(f)] {
                // add + delete: no ENOENT if someone deleted it already.
                b.new_table(f, &self.cfg.table);
                b.del_table(f, &self.cfg.table);
            }
        }
        self.used = [false; 2];
        self.ready = [false; 2];
        self.link_ready = [false; 2];
        self.refs.clear();
        (!b.is_empty()).then_some(b)
    }

    /// keepalived's link-local set and its two rules (`ip6 daddr . iif @set drop` in
    /// `in_link_local`, `ip6 saddr . oif @set drop` in `out_link_local`).
    fn setup_link(&self, b: &mut Batch, kind: SetKind) {
        let t = self.cfg.table.as_str();
        let f = Family::Ip6;
        let (key, id, inm, outm) = match kind {
            SetKind::LinkName => (KeyType::Ipv6Ifname, 4, MetaKey::IifName, MetaKey::OifName),
            _ => (KeyType::Ipv6Ifindex, 3, MetaKey::Iif, MetaKey::Oif),
        };
        b.new_set(f, t, kind.name(), key, 0, id);
        for (chain, offset, meta) in [("in_link_local", 24, inm), ("out_link_local", 8, outm)] {
            let mut e = vec![
                Expr::Payload {
                    base: Base::Network,
                    offset,
                    len: 16,
                },
                Expr::Meta(meta),
                Expr::Lookup(kind.name().into()),
            ];
            if self.cfg.counters {
                e.push(Expr::Counter);
            }
            e.push(Expr::Verdict(Verdict::Drop));
            b.new_rule(f, t, chain, &e);
        }
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
pub fn diff<T: PartialEq + Clone>(old: &[T], now: &[T]) -> (Vec<T>, Vec<T>) {
    let gone = old.iter().filter(|a| !now.contains(a)).cloned().collect();
    let new = now.iter().filter(|a| !old.contains(a)).cloned().collect();
    (gone, new)
}

/// keepalived 2.2.7 does not apply a changed `nftables` / `nftables_priority` /
/// `nftables_counters` on reload ("will not work properly"); nor do we: the table keeps its
/// name and rules until a restart. Says so.
pub fn warn_reload(old: &GlobalDefs, new: &GlobalDefs) {
    let (o, n) = (FirewallConfig::of(old), FirewallConfig::of(new));
    if o != n {
        tracing::warn!(
            "reload: nftables settings changed (table {} priority {} counters {} -> table {} priority {} counters {}): not applied until keepalived-rs restarts, as keepalived 2.2.7",
            o.table, o.priority, o.counters, n.table, n.priority, n.counters
        );
    }
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

    fn fw(s: &str) -> FwAddr {
        FwAddr {
            addr: ip(s),
            link: None,
        }
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
        let (b, skipped) = s.add(&[fw("10.0.0.1"), fw("10.0.0.2")], 1);
        let b = b.expect("first add");
        // table (add, delete, add), out, in, set, 2 rules, elements.
        assert_eq!(b.len(), 9);
        assert!(skipped.is_empty());
        // A second claim on the same VIP changes nothing in the kernel.
        assert!(s.add(&[fw("10.0.0.1")], 20).0.is_none());
        assert!(s.remove(&[fw("10.0.0.1")], 30).is_none());
        let b = s
            .remove(&[fw("10.0.0.1"), fw("10.0.0.2")], 40)
            .expect("last claims");
        assert_eq!(b.len(), 1);
        // The table stays; the next add is one element message.
        assert_eq!(s.add(&[fw("10.0.0.3")], 50).0.expect("add").len(), 1);
        // IPv6: its own table (+2 chains, nd set and elements, 4 more rules).
        let (b, skipped) = s.add(&[fw("fd00::1"), fw("fe80::1")], 60);
        assert_eq!(b.expect("v6").len(), 3 + 4 + 2 + 1 + 6 + 1);
        assert_eq!(skipped, vec![ip("fe80::1")]);
        assert_eq!(s.teardown(70).expect("teardown").len(), 4);
        assert!(s.teardown(80).is_none());
    }

    #[test]
    fn counters_go_in_every_rule() {
        let mut with = FirewallState::new(FirewallConfig {
            counters: true,
            ..cfg()
        });
        let mut without = FirewallState::new(cfg());
        let a = with.add(&[fw("fd00::1")], 1).0.expect("add").finish().0;
        let b = without.add(&[fw("fd00::1")], 1).0.expect("add").finish().0;
        let count = |v: &[u8]| v.windows(8).filter(|w| w == b"counter\0").count();
        assert_eq!(count(&a), 6);
        assert_eq!(count(&b), 0);
    }

    #[test]
    fn link_local_sets_by_index_and_by_name() {
        let mut s = FirewallState::new(cfg());
        let ll = |a: &str, l: LinkKey| FwAddr {
            addr: ip(a),
            link: Some(l),
        };
        let (b, skipped) = s.add(&[ll("fe80::1", LinkKey::Index(3)), fw("fd00::1")], 1);
        // ip6 table (3 + 4 + 2 + 1 + 6), the index set and its 2 rules, then the elements
        // of vips and vips_link_local.
        assert_eq!(b.expect("add").len(), 16 + 3 + 2);
        assert!(skipped.is_empty());
        let (b, _) = s.add(&[ll("fe80::2", LinkKey::Name("eth0".into()))], 2);
        assert_eq!(b.expect("name set").len(), 3 + 1);
        // Same address, another interface: another element.
        let (b, _) = s.add(&[ll("fe80::1", LinkKey::Index(4))], 3);
        assert_eq!(b.expect("element").len(), 1);
        let b = s.remove(&[ll("fe80::1", LinkKey::Index(3))], 4);
        assert_eq!(b.expect("removed").len(), 1);
        // Unresolved interfaces are not handled.
        let (b, skipped) = s.add(&[ll("fe80::9", LinkKey::IndexOf("x".into()))], 5);
        assert!(b.is_none());
        assert_eq!(skipped, vec![ip("fe80::9")]);
    }

    #[test]
    fn link_local_key_choice_as_keepalived() {
        let conf = "vrrp_instance VI { interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n fe80::1\n fe80::2 dev eth1\n fe80::3 dev eth1 no_track\n fd00::1\n }\n }\n";
        let l = crate::config::load_str("t.conf", conf, &Default::default());
        let vips = &l.config.instances[0].virtual_ipaddress;
        let idx = |d: &str| Some(LinkKey::IndexOf(d.into()));
        let name = |d: &str| Some(LinkKey::Name(d.into()));
        let links = |v: Vec<FwAddr>| v.into_iter().map(|a| a.link).collect::<Vec<_>>();
        assert_eq!(
            links(fw_addrs(vips, "eth0", false)),
            vec![idx("eth0"), idx("eth1"), idx("eth1"), None]
        );
        assert_eq!(
            links(fw_addrs(vips, "eth0", true)),
            vec![name("eth0"), idx("eth1"), name("eth1"), None]
        );
    }

    #[test]
    fn a_failed_batch_rebuilds_everything_at_the_next_change() {
        let mut s = FirewallState::new(cfg());
        assert!(s.add(&[fw("10.0.0.1"), fw("fd00::1")], 1).0.is_some());
        s.mark_dirty();
        // The next change (here a removal) replaces both tables with what is claimed.
        let b = s.remove(&[fw("fd00::1")], 10).expect("resync");
        // Both tables again (ip6: 16 messages, empty), the ip element.
        assert_eq!(b.len(), 16 + 9);
        // Then incremental again.
        assert_eq!(s.add(&[fw("10.0.0.2")], 20).0.expect("add").len(), 1);
        // Both families used: both deleted at exit.
        assert_eq!(s.teardown(30).expect("teardown").len(), 4);
    }

    #[test]
    fn diff_of_claims() {
        let (a, b, c) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"));
        assert_eq!(diff(&[a, b], &[b, c]), (vec![a], vec![c]));
        assert_eq!(diff(&[], &[a]), (vec![], vec![a]));
    }
}
