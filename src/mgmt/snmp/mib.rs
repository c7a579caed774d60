//! The MIB view: a sorted OID -> value table built from a plain state snapshot, and the
//! Get/GetNext/GetBulk semantics of RFC 2741 section 7.2.3 over it.
//!
//! Served (OIDs as in the MIB files keepalived ships, `/usr/share/snmp/mibs/`):
//! - KEEPALIVED-MIB `global` (1.3.6.1.4.1.9586.100.5.1): every scalar (dbus always false: no
//!   DBus interface here; smtpServerAddress only for an address, not a host name).
//! - KEEPALIVED-MIB `vrrpInstanceTable` (…5.2.3.1): the columns listed in [`INSTANCE_COLUMNS`].
//! - KEEPALIVED-MIB `vrrpAddressTable` (…5.2.6.1): VIPs and excluded VIPs (not the static
//!   addresses keepalived lists with instance index 0).
//! - KEEPALIVED-MIB `vrrpSyncGroupTable` (…5.2.1.1) and `vrrpSyncGroupMemberTable` (…5.2.2.1).
//! - KEEPALIVED-MIB `vrrpTrackedScriptTable` (…5.2.5.1) and `vrrpScriptTable` (…5.2.9.1).
//! - Not served: the tracked interface/file/bfd/process tables, the sync-group tracked-*
//!   tables, the file table, route and rule tables, the check subtree, VRRPv3-MIB.
//! - VRRP-MIB (RFC 2787, 1.3.6.1.2.1.68): node version, notification control, vrrpOperTable,
//!   vrrpAssoIpAddrTable, vrrpRouterStatistics and vrrpRouterStatsTable, for the instances
//!   RFC 2787 can describe (VRRPv2 over IPv4 with at least one VIP, as keepalived).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::agentx::{Oid, SearchRange, Value, VarBind};

/// KEEPALIVED-MIB's root: enterprises.debian(9586).project(100).keepalived(5).
pub const KEEPALIVED: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5];
/// KEEPALIVED-MIB `global`.
pub const KA_GLOBAL: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1];
/// KEEPALIVED-MIB `vrrp`.
pub const KA_VRRP: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2];
/// VRRP-MIB (RFC 2787): mib-2.vrrpMIB(68).
pub const VRRP_MIB: &[u32] = &[1, 3, 6, 1, 2, 1, 68];
/// VRRPv3-MIB (RFC 6527): mib-2.vrrpv3MIB(207).
pub const VRRPV3_MIB: &[u32] = &[1, 3, 6, 1, 2, 1, 207];

/// The vrrpInstanceTable columns served (see KEEPALIVED-MIB): name, virtualRouterId, state,
/// initialState, wantedState, basePriority, effectivePriority, vipsEnabled, primaryInterface,
/// advertisementsInt, preempt, preemptDelay, authType, syncGroup, garpDelay, version,
/// multicast address type and address.
pub const INSTANCE_COLUMNS: &[u32] = &[
    2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 18, 19, 30, 34, 35,
];

/// keepalived's VRRP state numbering (init 0, backup 1, master 2, fault 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KaState {
    /// INIT.
    Init = 0,
    /// BACKUP.
    Backup = 1,
    /// MASTER.
    Master = 2,
    /// FAULT.
    Fault = 3,
}

impl KaState {
    /// KEEPALIVED-MIB's `VrrpState` value.
    pub fn ka(self) -> i32 {
        self as i32
    }
    /// VRRP-MIB's `vrrpOperState` (initialize 1, backup 2, master 3).
    pub fn rfc(self) -> i32 {
        match self {
            KaState::Backup => 2,
            KaState::Master => 3,
            KaState::Init | KaState::Fault => 1,
        }
    }
}

/// One virtual address of an instance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddrRow {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 broadcast (0.0.0.0 when none).
    pub broadcast: Ipv4Addr,
    /// Kernel scope number (0 global, 200 site, 253 link, 254 host, 255 nowhere).
    pub scope: u8,
    /// Interface index (0: unknown).
    pub ifindex: u32,
    /// Interface name.
    pub ifname: String,
    /// `label`.
    pub label: Option<String>,
    /// `peer`.
    pub peer: Option<IpAddr>,
    /// Installed.
    pub set: bool,
}

/// One VRRP instance as the MIBs show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstanceRow {
    /// Name.
    pub name: String,
    /// VRID.
    pub vrid: u8,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// IPv6 instance.
    pub ipv6: bool,
    /// Current state.
    pub state: KaState,
    /// Configured (initial) state.
    pub initial_state: KaState,
    /// Wanted state.
    pub wanted_state: KaState,
    /// Configured priority.
    pub base_priority: u8,
    /// Effective priority.
    pub effective_priority: u8,
    /// VIPs installed.
    pub vips_set: bool,
    /// Interface name.
    pub interface: Option<String>,
    /// Interface index (0: none or not found).
    pub ifindex: u32,
    /// Interface hardware address.
    pub hw_addr: Vec<u8>,
    /// Advertisement interval.
    pub advert_int: Duration,
    /// Preempt.
    pub preempt: bool,
    /// Preempt delay.
    pub preempt_delay: Duration,
    /// keepalived's auth type (0 none, 1 PASS, 2 AH; v2 only).
    pub auth_type: u8,
    /// Sync group name.
    pub sync_group: Option<String>,
    /// `garp_master_delay`.
    pub garp_delay: Duration,
    /// Multicast destination (None for unicast).
    pub mcast: Option<IpAddr>,
    /// The master's address last heard from (0.0.0.0 when none).
    pub master_ip: Ipv4Addr,
    /// The interface's primary IPv4 address.
    pub primary_ip: Ipv4Addr,
    /// Centiseconds since the instance came up as backup or master (0 otherwise).
    pub up_cs: u32,
    /// VIPs.
    pub vips: Vec<AddrRow>,
    /// Excluded VIPs.
    pub evips: Vec<AddrRow>,
    /// Counters by keepalived's names.
    pub counters: BTreeMap<String, u64>,
    /// `track_interface` is not empty.
    pub track_primary_if: bool,
    /// `smtp_alert` (resolved from the global defaults as keepalived does).
    pub smtp_alert: bool,
    /// A notify script is configured.
    pub notify_exec: bool,
    /// Accept mode (VRRPv3).
    pub accept: bool,
    /// `notify_deleted`.
    pub notify_deleted: bool,
    /// `track_script`: name, weight, reverse.
    pub tracked_scripts: Vec<(String, i32, bool)>,
    /// Notify scripts as keepalived prints them, by vrrpInstanceTable column (22 master,
    /// 23 backup, 24 fault, 25 stop, 26 generic, 31 master_rx_lower_pri, 32 deleted).
    pub scripts: Vec<(u32, String)>,
}

impl InstanceRow {
    fn counter(&self, n: &str) -> u32 {
        // Counter32 wraps, as SNMP counters do.
        self.counters.get(n).copied().unwrap_or(0) as u32
    }
    fn suitable_for_rfc2787(&self) -> bool {
        self.version == 2 && !self.ipv6 && !self.vips.is_empty()
    }
}

/// Which MIBs are enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    /// KEEPALIVED-MIB's global and vrrp subtrees (`enable_snmp_vrrp`).
    pub keepalived: bool,
    /// VRRP-MIB (`enable_snmp_rfcv2`).
    pub rfcv2: bool,
    /// VRRPv3-MIB (`enable_snmp_rfcv3`; not served yet).
    pub rfcv3: bool,
}

/// One `vrrp_script`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptRow {
    /// Name.
    pub name: String,
    /// The command as keepalived shows it.
    pub command: String,
    /// Interval in seconds.
    pub interval: u32,
    /// Weight.
    pub weight: i32,
    /// `weight ... reverse`.
    pub reverse: bool,
    /// vrrpScriptResult: init(1), bad(2), good(3).
    pub result: i32,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
}

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupRow {
    /// Name.
    pub name: String,
    /// State (its members').
    pub state: Option<KaState>,
    /// `smtp_alert` (resolved from the global defaults as keepalived does).
    pub smtp_alert: bool,
    /// A group notify script is configured.
    pub notify_exec: bool,
    /// `sync_group_tracking_weight`.
    pub tracking_weight: bool,
    /// Notify scripts by vrrpSyncGroupTable column (6 master, 7 backup, 8 fault, 9 generic,
    /// 11 stop).
    pub scripts: Vec<(u32, String)>,
    /// Member instance names.
    pub members: Vec<String>,
}

/// KEEPALIVED-MIB `global` scalars beyond version and router id.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalRow {
    /// `smtp_server` address (None: unset, or a host name).
    pub smtp_server: Option<IpAddr>,
    /// `smtp_server` is a host name (its address is not served).
    pub smtp_server_is_name: bool,
    /// `smtp_server` port (0 when unset).
    pub smtp_port: u16,
    /// `smtp_connect_timeout` in seconds (0 without `smtp_server`).
    pub smtp_timeout: u32,
    /// `notification_email_from`.
    pub email_from: Option<String>,
    /// `notification_email`.
    pub emails: Vec<String>,
    /// Not `no_email_faults`.
    pub email_faults: bool,
    /// `smtp_alert`, `smtp_alert_vrrp`, `smtp_alert_checker` (None: unset).
    pub smtp_alert: [Option<bool>; 3],
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_onstop`.
    pub lvs_flush_on_stop: bool,
}

/// Everything the MIBs show.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MibSnapshot {
    /// KEEPALIVED-MIB `version`.
    pub version: String,
    /// `router_id`.
    pub router_id: String,
    /// `enable_traps`.
    pub traps: bool,
    /// `net_namespace` ("" when none).
    pub net_namespace: String,
    /// Instances, in configuration order (their 1-based position is the table index).
    pub instances: Vec<InstanceRow>,
    /// The other global scalars.
    pub global: GlobalRow,
    /// Sync groups, in configuration order.
    pub groups: Vec<GroupRow>,
    /// `vrrp_script`s, in configuration order.
    pub scripts: Vec<ScriptRow>,
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn ip_octets(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn inet_type(a: &IpAddr) -> Value {
    Value::Integer(if a.is_ipv4() { 1 } else { 2 })
}

/// keepalived's mapping of kernel scopes to the MIB's `IpAddressScope`.
fn mib_scope(kernel: u8) -> i32 {
    match kernel {
        0 => 14,
        254 => 1,
        253 => 2,
        200 => 5,
        _ => 0,
    }
}

fn secs(d: Duration) -> u32 {
    d.as_secs().min(u64::from(u32::MAX)) as u32
}

/// The sorted table.
#[derive(Clone, Debug, Default)]
pub struct MibView {
    table: BTreeMap<Oid, Value>,
    regions: Vec<Oid>,
}

impl MibView {
    /// Builds the view of `s` for the enabled MIBs.
    pub fn build(s: &MibSnapshot, on: Enabled) -> Self {
        let mut t = BTreeMap::new();
        if on.keepalived {
            keepalived_mib(s, &mut t);
        }
        if on.rfcv2 {
            vrrp_mib(s, &mut t);
        }
        MibView {
            table: t,
            regions: regions(on),
        }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// No objects at all.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The value at exactly `oid`: noSuchInstance inside a subtree we serve (an object or
    /// row that has no value now), noSuchObject elsewhere.
    pub fn get(&self, oid: &Oid) -> VarBind {
        if let Some(v) = self.table.get(oid) {
            return VarBind::new(oid.clone(), v.clone());
        }
        let v = if self.regions.iter().any(|r| oid.starts_with(r)) {
            Value::NoSuchInstance
        } else {
            Value::NoSuchObject
        };
        VarBind::new(oid.clone(), v)
    }

    /// The first object in `r` (after `start`, or at it with `include`; before `end` unless
    /// `end` is null), else endOfMibView named `start`.
    pub fn get_next(&self, r: &SearchRange) -> VarBind {
        use std::ops::Bound;
        let lower = if r.include {
            Bound::Included(r.start.clone())
        } else {
            Bound::Excluded(r.start.clone())
        };
        let found = self
            .table
            .range((lower, Bound::Unbounded))
            .next()
            .filter(|(k, _)| r.end.is_null() || *k < &r.end);
        match found {
            Some((k, v)) => VarBind::new(k.clone(), v.clone()),
            None => VarBind::new(r.start.clone(), Value::EndOfMibView),
        }
    }

    /// GetBulk (RFC 2741 7.2.3.3): the first `non_repeaters` ranges once, then up to
    /// `max_repetitions` rows of the others, stopping early once every repeater ended.
    pub fn get_bulk(
        &self,
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: &[SearchRange],
    ) -> Vec<VarBind> {
        let n = (non_repeaters as usize).min(ranges.len());
        let mut out: Vec<VarBind> = ranges[..n].iter().map(|r| self.get_next(r)).collect();
        let mut cur: Vec<SearchRange> = ranges[n..].to_vec();
        for _ in 0..max_repetitions {
            if cur.is_empty() {
                break;
            }
            let mut all_ended = true;
            for r in cur.iter_mut() {
                let vb = self.get_next(r);
                if vb.value != Value::EndOfMibView {
                    all_ended = false;
                    r.start = vb.name.clone();
                    r.include = false;
                }
                out.push(vb);
            }
            if all_ended {
                break;
            }
        }
        out
    }

    /// Every object in order (tests, debugging).
    pub fn iter(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.table.iter()
    }
}

/// The subtrees registered with the master agent for `on` (as keepalived registers them).
pub fn regions(on: Enabled) -> Vec<Oid> {
    let mut v = Vec::new();
    if on.keepalived {
        v.push(Oid::new(KA_GLOBAL));
        v.push(Oid::new(KA_VRRP));
    }
    if on.rfcv2 {
        v.push(Oid::new(VRRP_MIB));
    }
    v
}

fn put(t: &mut BTreeMap<Oid, Value>, base: &[u32], rest: &[u32], v: Value) {
    let mut o = base.to_vec();
    o.extend_from_slice(rest);
    t.insert(Oid(o), v);
}

// Long by design: KEEPALIVED-MIB's objects one after another in the MIB's own order (global
// scalars, then each table's columns), so each OID can be read against KEEPALIVED-MIB.txt.
fn keepalived_mib(s: &MibSnapshot, t: &mut BTreeMap<Oid, Value>) {
    let g = KA_GLOBAL;
    put(t, g, &[1, 0], Value::string(&s.version));
    put(t, g, &[2, 0], Value::string(&s.router_id));
    let gl = &s.global;
    // smtpServerAddressType: keepalived gives ipv6(2) for an unset server (AF_UNSPEC).
    if !gl.smtp_server_is_name {
        let (ty, bytes) = match &gl.smtp_server {
            Some(a) => (if a.is_ipv4() { 1 } else { 2 }, ip_octets(a)),
            None => (2, vec![0; 4]),
        };
        put(t, g, &[3, 1, 0], Value::Integer(ty));
        put(t, g, &[3, 2, 0], Value::OctetString(bytes));
    }
    put(t, g, &[3, 3, 0], Value::Gauge32(gl.smtp_timeout));
    if let Some(f) = &gl.email_from {
        put(t, g, &[3, 4, 0], Value::string(f));
    }
    for (n, e) in gl.emails.iter().enumerate() {
        put(t, g, &[3, 5, 1, 2, n as u32 + 1], Value::string(e));
    }
    put(t, g, &[3, 6, 0], Value::Gauge32(u32::from(gl.smtp_port)));
    put(t, g, &[3, 7, 0], truth(gl.email_faults));
    for (k, a) in gl.smtp_alert.iter().enumerate() {
        let v = match a {
            None => 3,
            Some(true) => 1,
            Some(false) => 2,
        };
        put(t, g, &[3, 8 + k as u32, 0], Value::Integer(v));
    }
    put(t, g, &[4, 0], truth(s.traps));
    // linkbeatPolling: netlink only (linkbeat_use_polling is not supported).
    put(t, g, &[5, 0], Value::Integer(1));
    put(t, g, &[6, 0], truth(gl.lvs_flush));
    // ipvs64BitStats: our IPVS client reads the 64-bit counters.
    put(t, g, &[7, 0], Value::Integer(1));
    put(t, g, &[8, 0], Value::string(&s.net_namespace));
    put(t, g, &[9, 0], truth(false));
    // dynamicInterfaces: an equivalent no-op here, keepalived's default (false) shown.
    put(t, g, &[10, 0], truth(false));
    put(
        t,
        g,
        &[11, 0],
        Value::Integer(if gl.lvs_flush_on_stop { 1 } else { 2 }),
    );

    // vrrpSyncGroupTable and vrrpSyncGroupMemberTable.
    for (gi, grp) in s.groups.iter().enumerate() {
        let gx = gi as u32 + 1;
        let mut col = |c: u32, v: Value| put(t, KA_VRRP, &[1, 1, c, gx], v);
        col(2, Value::string(&grp.name));
        col(3, Value::Integer(grp.state.unwrap_or(KaState::Init).ka()));
        col(4, truth(grp.smtp_alert));
        col(5, truth(grp.notify_exec));
        for (c, text) in &grp.scripts {
            col(*c, Value::string(text));
        }
        col(10, truth(grp.tracking_weight));
        for (mi, m) in grp.members.iter().enumerate() {
            put(t, KA_VRRP, &[2, 1, 2, gx, mi as u32 + 1], Value::string(m));
        }
    }

    let inst = [KA_VRRP, &[3, 1]].concat();
    for (i, r) in s.instances.iter().enumerate() {
        let idx = i as u32 + 1;
        let mut col = |c: u32, v: Value| put(t, &inst, &[c, idx], v);
        col(2, Value::string(&r.name));
        col(3, Value::Gauge32(u32::from(r.vrid)));
        col(4, Value::Integer(r.state.ka()));
        col(5, Value::Integer(r.initial_state.ka()));
        col(6, Value::Integer(r.wanted_state.ka()));
        col(7, Value::Integer(i32::from(r.base_priority)));
        col(8, Value::Integer(i32::from(r.effective_priority)));
        col(9, truth(r.vips_set));
        if let Some(ifn) = &r.interface {
            col(10, Value::string(ifn));
        }
        // v2 in seconds, v3 in centiseconds.
        let adv = if r.version == 2 {
            secs(r.advert_int)
        } else {
            (r.advert_int.as_millis() / 10).min(u128::from(u32::MAX)) as u32
        };
        col(11, truth(r.track_primary_if));
        col(12, Value::Gauge32(adv));
        col(13, truth(r.preempt));
        col(14, Value::Gauge32(secs(r.preempt_delay)));
        col(
            15,
            Value::Integer(if r.version == 2 {
                i32::from(r.auth_type)
            } else {
                0
            }),
        );
        // useLvsSyncDaemon: lvs_sync_daemon is not supported.
        col(16, truth(false));
        if let Some(sg) = &r.sync_group {
            col(18, Value::string(sg));
        }
        col(19, Value::Gauge32(secs(r.garp_delay)));
        col(20, truth(r.smtp_alert));
        col(21, truth(r.notify_exec));
        for (c, text) in &r.scripts {
            col(*c, Value::string(text));
        }
        col(
            27,
            if r.version == 3 {
                truth(r.accept)
            } else {
                Value::Integer(0)
            },
        );
        // promoteSecondaries, useLinkbeat: not supported, false.
        col(28, truth(false));
        col(29, truth(false));
        col(30, Value::Integer(i32::from(r.version)));
        col(33, truth(r.notify_deleted));
        if let Some(m) = &r.mcast {
            col(34, inet_type(m));
            col(35, Value::OctetString(ip_octets(m)));
        }
    }

    // vrrpTrackedScriptTable: index (instance position, script position).
    for (i, r) in s.instances.iter().enumerate() {
        for (k, (name, weight, reverse)) in r.tracked_scripts.iter().enumerate() {
            let ix = [i as u32 + 1, k as u32 + 1];
            put(t, KA_VRRP, &[5, 1, 2, ix[0], ix[1]], Value::string(name));
            put(
                t,
                KA_VRRP,
                &[5, 1, 3, ix[0], ix[1]],
                Value::Integer(*weight),
            );
            put(t, KA_VRRP, &[5, 1, 4, ix[0], ix[1]], truth(*reverse));
        }
    }
    // vrrpScriptTable.
    for (i, sc) in s.scripts.iter().enumerate() {
        let ix = i as u32 + 1;
        let mut col = |c: u32, v: Value| put(t, KA_VRRP, &[9, 1, c, ix], v);
        col(2, Value::string(&sc.name));
        col(3, Value::string(&sc.command));
        col(4, Value::Integer(sc.interval as i32));
        col(5, Value::Integer(sc.weight));
        col(6, Value::Integer(sc.result));
        col(7, Value::Gauge32(sc.rise));
        col(8, Value::Gauge32(sc.fall));
        col(9, truth(sc.reverse));
    }

    // vrrpAddressTable: index (instance position, address position); VIPs then eVIPs share
    // the position counter, as keepalived numbers them.
    let at = [KA_VRRP, &[6, 1]].concat();
    for (i, r) in s.instances.iter().enumerate() {
        let idx = i as u32 + 1;
        let all = r
            .vips
            .iter()
            .map(|a| (a, true))
            .chain(r.evips.iter().map(|a| (a, false)));
        for (n, (a, advertised)) in all.enumerate() {
            let k = n as u32 + 1;
            let mut col = |c: u32, v: Value| put(t, &at, &[c, idx, k], v);
            col(2, inet_type(&a.addr));
            col(3, Value::OctetString(ip_octets(&a.addr)));
            if a.addr.is_ipv4() {
                col(4, Value::OctetString(a.broadcast.octets().to_vec()));
            }
            col(5, Value::Gauge32(u32::from(a.prefix)));
            col(6, Value::Integer(mib_scope(a.scope)));
            col(7, Value::Integer(a.ifindex as i32));
            col(8, Value::string(&a.ifname));
            if let Some(l) = &a.label {
                col(9, Value::string(l));
            }
            col(10, truth(a.set));
            col(11, truth(advertised));
            if let Some(p) = &a.peer {
                col(12, Value::OctetString(ip_octets(p)));
            }
        }
    }
}

fn vrrp_mib(s: &MibSnapshot, t: &mut BTreeMap<Oid, Value>) {
    let m = VRRP_MIB;
    put(t, m, &[1, 1, 0], Value::Integer(2));
    put(
        t,
        m,
        &[1, 2, 0],
        Value::Integer(if s.traps { 1 } else { 2 }),
    );
    let rows: Vec<&InstanceRow> = s
        .instances
        .iter()
        .filter(|r| r.suitable_for_rfc2787())
        .collect();
    let (mut chk, mut ver, mut vrid) = (0u32, 0u32, 0u32);
    for r in &rows {
        chk = chk.wrapping_add(r.counter("chk_err"));
        ver = ver.wrapping_add(r.counter("vers_err"));
        vrid = vrid.wrapping_add(r.counter("vrid_err"));
    }
    put(t, m, &[2, 1, 0], Value::Counter32(chk));
    put(t, m, &[2, 2, 0], Value::Counter32(ver));
    put(t, m, &[2, 3, 0], Value::Counter32(vrid));
    for r in rows {
        let ix = [r.ifindex, u32::from(r.vrid)];
        let mut oper = |c: u32, v: Value| put(t, m, &[1, 3, 1, c, ix[0], ix[1]], v);
        if r.interface.is_some() {
            oper(2, Value::OctetString(r.hw_addr.clone()));
        }
        oper(3, Value::Integer(r.state.rfc()));
        oper(4, Value::Integer(1));
        oper(5, Value::Integer(i32::from(r.base_priority)));
        oper(6, Value::Integer(r.vips.len() as i32));
        oper(7, Value::IpAddress(r.master_ip));
        if r.interface.is_some() {
            oper(8, Value::IpAddress(r.primary_ip));
        }
        oper(9, Value::Integer(i32::from(r.auth_type) + 1));
        oper(11, Value::Integer(secs(r.advert_int) as i32));
        oper(12, truth(r.preempt));
        let up = if matches!(r.state, KaState::Backup | KaState::Master) {
            r.up_cs
        } else {
            0
        };
        oper(13, Value::TimeTicks(up));
        oper(14, Value::Integer(1));
        oper(15, Value::Integer(1));
        for a in &r.vips {
            if let IpAddr::V4(v4) = a.addr {
                let o = v4.octets();
                let idx = [
                    1,
                    4,
                    1,
                    2,
                    ix[0],
                    ix[1],
                    u32::from(o[0]),
                    u32::from(o[1]),
                    u32::from(o[2]),
                    u32::from(o[3]),
                ];
                put(t, m, &idx, Value::Integer(1));
            }
        }
        let stats = [
            "become_master",
            "advert_rcvd",
            "advert_interval_err",
            "auth_failure",
            "ip_ttl_err",
            "pri_zero_rcvd",
            "pri_zero_sent",
            "invalid_type_rcvd",
            "addr_list_err",
            "invalid_authtype",
            "authtype_mismatch",
            "packet_len_err",
        ];
        for (c, name) in stats.iter().enumerate() {
            put(
                t,
                m,
                &[2, 4, 1, c as u32 + 1, ix[0], ix[1]],
                Value::Counter32(r.counter(name)),
            );
        }
    }
}

/// Rows for the SNMP tests (here and in the agent's).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An IPv4 address row on eth0 (ifindex 7).
    pub(crate) fn addr(a: &str) -> AddrRow {
        AddrRow {
            addr: a.parse().unwrap(),
            prefix: 32,
            broadcast: Ipv4Addr::UNSPECIFIED,
            scope: 0,
            ifindex: 7,
            ifname: "eth0".into(),
            label: None,
            peer: None,
            set: true,
        }
    }

    /// An IPv4 instance on eth0 in `state`.
    pub(crate) fn row(name: &str, vrid: u8, state: KaState) -> InstanceRow {
        InstanceRow {
            name: name.into(),
            vrid,
            version: 2,
            ipv6: false,
            state,
            initial_state: KaState::Backup,
            wanted_state: KaState::Backup,
            base_priority: 100,
            effective_priority: 100,
            vips_set: state == KaState::Master,
            interface: Some("eth0".into()),
            ifindex: 7,
            hw_addr: vec![2, 0, 0, 0, 0, 1],
            advert_int: Duration::from_secs(1),
            preempt: true,
            preempt_delay: Duration::ZERO,
            auth_type: 0,
            sync_group: None,
            garp_delay: Duration::from_secs(5),
            mcast: Some("224.0.0.18".parse().unwrap()),
            master_ip: Ipv4Addr::UNSPECIFIED,
            primary_ip: Ipv4Addr::new(10, 0, 0, 1),
            up_cs: 1234,
            vips: vec![addr("10.0.0.100"), addr("10.0.0.99")],
            evips: vec![addr("10.0.1.1")],
            counters: [("become_master".to_string(), 3)].into_iter().collect(),
            track_primary_if: false,
            smtp_alert: false,
            notify_exec: true,
            accept: false,
            notify_deleted: false,
            scripts: vec![(22, "/bin/m".into())],
            tracked_scripts: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{addr, row};
    use super::*;

    fn snap() -> MibSnapshot {
        MibSnapshot {
            version: "Keepalived v2.2.7".into(),
            router_id: "r1".into(),
            traps: true,
            net_namespace: String::new(),
            instances: vec![row("VI_1", 51, KaState::Master), {
                let mut r = row("VI_6", 52, KaState::Backup);
                r.ipv6 = true;
                r.vips = vec![addr("fd00::1")];
                r.evips.clear();
                r
            }],
            global: GlobalRow::default(),
            groups: vec![GroupRow {
                name: "G1".into(),
                state: Some(KaState::Master),
                members: vec!["VI_1".into(), "VI_6".into()],
                ..GroupRow::default()
            }],
            scripts: vec![],
        }
    }

    fn all() -> Enabled {
        Enabled {
            keepalived: true,
            rfcv2: true,
            rfcv3: false,
        }
    }

    fn o(base: &[u32], rest: &[u32]) -> Oid {
        Oid([base, rest].concat())
    }

    fn walk(v: &MibView, root: &[u32]) -> Vec<VarBind> {
        let mut out = Vec::new();
        let end = {
            let mut e = root.to_vec();
            if let Some(l) = e.last_mut() {
                *l += 1;
            }
            Oid(e)
        };
        let mut r = SearchRange {
            start: Oid::new(root),
            include: false,
            end,
        };
        loop {
            let vb = v.get_next(&r);
            if vb.value == Value::EndOfMibView {
                return out;
            }
            r.start = vb.name.clone();
            out.push(vb);
        }
    }

    #[test]
    fn scalars_and_instance_columns_at_the_mib_oids() {
        let v = MibView::build(&snap(), all());
        let g = |rest: &[u32]| v.get(&o(KA_GLOBAL, rest)).value;
        assert_eq!(g(&[1, 0]), Value::string("Keepalived v2.2.7"));
        assert_eq!(g(&[2, 0]), Value::string("r1"));
        assert_eq!(g(&[4, 0]), Value::Integer(1));
        let i = |c: u32, idx: u32| v.get(&o(KA_VRRP, &[3, 1, c, idx])).value;
        assert_eq!(i(2, 1), Value::string("VI_1"));
        assert_eq!(i(2, 2), Value::string("VI_6"));
        assert_eq!(i(3, 1), Value::Gauge32(51));
        assert_eq!(i(4, 1), Value::Integer(2), "master");
        assert_eq!(i(4, 2), Value::Integer(1), "backup");
        assert_eq!(i(8, 1), Value::Integer(100));
        assert_eq!(i(35, 1), Value::OctetString(vec![224, 0, 0, 18]));
        assert_eq!(i(18, 1), Value::NoSuchInstance, "no sync group: no value");
        let sg = |rest: &[u32]| v.get(&o(KA_VRRP, rest)).value;
        assert_eq!(sg(&[1, 1, 2, 1]), Value::string("G1"));
        assert_eq!(sg(&[1, 1, 3, 1]), Value::Integer(2));
        assert_eq!(sg(&[2, 1, 2, 1, 2]), Value::string("VI_6"));
        // Addresses: VIPs 1, 2 then the eVIP 3 of instance 1.
        let a = |c: u32, idx: u32, k: u32| v.get(&o(KA_VRRP, &[6, 1, c, idx, k])).value;
        assert_eq!(a(3, 1, 1), Value::OctetString(vec![10, 0, 0, 100]));
        assert_eq!(a(3, 1, 3), Value::OctetString(vec![10, 0, 1, 1]));
        assert_eq!(a(11, 1, 2), Value::Integer(1), "VIP advertised");
        assert_eq!(a(11, 1, 3), Value::Integer(2), "eVIP not advertised");
        assert_eq!(a(6, 1, 1), Value::Integer(14), "global scope");
        assert_eq!(a(4, 2, 1), Value::NoSuchInstance, "no broadcast for IPv6");
        assert_eq!(
            v.get(&Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 99, 1]))
                .value,
            Value::NoSuchObject
        );
    }

    #[test]
    fn rfc2787_only_v2_ipv4_instances_indexed_by_ifindex_and_vrid() {
        let v = MibView::build(&snap(), all());
        let oper = walk(&v, &[1, 3, 6, 1, 2, 1, 68, 1, 3]);
        // 13 columns (no auth key) of one row: the IPv6 instance is left out.
        assert_eq!(oper.len(), 13);
        assert!(oper.iter().all(|vb| vb.name.0.ends_with(&[7, 51])));
        assert_eq!(
            v.get(&o(VRRP_MIB, &[1, 3, 1, 3, 7, 51])).value,
            Value::Integer(3),
            "master"
        );
        assert_eq!(
            v.get(&o(VRRP_MIB, &[1, 3, 1, 13, 7, 51])).value,
            Value::TimeTicks(1234)
        );
        // vrrpAssoIpAddrTable sorts by address (the index), not configuration order.
        let asso = walk(&v, &[1, 3, 6, 1, 2, 1, 68, 1, 4]);
        let names: Vec<_> = asso.iter().map(|vb| vb.name.to_string()).collect();
        assert_eq!(
            names,
            vec![
                "1.3.6.1.2.1.68.1.4.1.2.7.51.10.0.0.99",
                "1.3.6.1.2.1.68.1.4.1.2.7.51.10.0.0.100"
            ]
        );
        assert_eq!(
            v.get(&o(VRRP_MIB, &[2, 4, 1, 1, 7, 51])).value,
            Value::Counter32(3)
        );
    }

    #[test]
    fn get_next_is_lexicographic_and_honours_include_and_end() {
        let v = MibView::build(&snap(), all());
        // From the root of everything: the first object is VRRP-MIB (1.3.6.1.2 < 1.3.6.1.4).
        let first = v.get_next(&SearchRange {
            start: Oid::new(&[1, 3]),
            include: false,
            end: Oid::null(),
        });
        assert_eq!(first.name, o(VRRP_MIB, &[1, 1, 0]));
        // include: the start itself.
        let same = v.get_next(&SearchRange {
            start: o(KA_GLOBAL, &[2, 0]),
            include: true,
            end: Oid::null(),
        });
        assert_eq!(same.value, Value::string("r1"));
        let next = v.get_next(&SearchRange {
            start: o(KA_GLOBAL, &[2, 0]),
            include: false,
            end: Oid::null(),
        });
        assert_eq!(next.name, o(KA_GLOBAL, &[3, 1, 0]));
        // Column order: all of column 2 before column 3 (2.1, 2.2, 3.1 ...).
        let c = walk(&v, &[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3]);
        let n: Vec<_> = c
            .iter()
            .take(3)
            .map(|vb| vb.name.0[12..].to_vec())
            .collect();
        assert_eq!(n, vec![vec![2, 1], vec![2, 2], vec![3, 1]]);
        // An end bound stops the walk.
        let bounded = v.get_next(&SearchRange {
            start: o(KA_GLOBAL, &[11, 0]),
            include: false,
            end: Oid::new(KA_VRRP),
        });
        assert_eq!(bounded.value, Value::EndOfMibView);
        assert_eq!(bounded.name, o(KA_GLOBAL, &[11, 0]));
        // Past everything.
        let end = v.get_next(&SearchRange {
            start: Oid::new(&[2]),
            include: false,
            end: Oid::null(),
        });
        assert_eq!(end.value, Value::EndOfMibView);
    }

    #[test]
    fn get_bulk_repeats_and_stops_at_the_end() {
        let v = MibView::build(&snap(), all());
        let rs = vec![
            SearchRange {
                start: o(KA_GLOBAL, &[1]),
                include: false,
                end: Oid::null(),
            },
            SearchRange {
                start: o(KA_GLOBAL, &[8, 0]),
                include: false,
                end: Oid::new(KA_VRRP),
            },
        ];
        let got = v.get_bulk(1, 9, &rs);
        assert_eq!(got[0].name, o(KA_GLOBAL, &[1, 0]));
        let names: Vec<_> = got[1..4].iter().map(|vb| vb.name.clone()).collect();
        assert_eq!(
            names,
            vec![
                o(KA_GLOBAL, &[9, 0]),
                o(KA_GLOBAL, &[10, 0]),
                o(KA_GLOBAL, &[11, 0])
            ]
        );
        assert_eq!(got[4].value, Value::EndOfMibView);
        assert_eq!(got.len(), 5, "stops once every repeater ended");
    }

    #[test]
    fn disabled_mibs_are_absent() {
        let only_rfc = MibView::build(
            &snap(),
            Enabled {
                rfcv2: true,
                ..Enabled::default()
            },
        );
        assert!(only_rfc
            .iter()
            .all(|(k, _)| k.starts_with(&Oid::new(VRRP_MIB))));
        assert!(MibView::build(&snap(), Enabled::default()).is_empty());
    }
}
