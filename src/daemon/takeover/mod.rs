//! `--take-over`: replace a running keepalived in place, without moving a VIP.
//!
//! The decisions are here, pure and unit-tested: what keepalived's JSON dump (written by its
//! VRRP process on `SIGRTMIN+2` as `$TMPDIR/keepalived.json`) says about each instance
//! ([`parse_dump`]), and whether the configuration can adopt that state ([`plan`]): which
//! instances resume as MASTER (VIPs, routes and rules kept), which start as BACKUP, and what
//! cannot be adopted (the takeover is then refused before anything is touched).
//! [`process`] does the IO: the pid file, the dump request, and stopping keepalived's
//! processes without letting them send priority 0 or remove anything.

pub mod process;

use crate::config::model::{Family, VrrpInstance};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// What keepalived said or did that makes a takeover impossible.
#[derive(Debug, thiserror::Error)]
pub enum TakeoverError {
    /// keepalived's dump is not the JSON keepalived 2.2.7 writes.
    #[error("keepalived's JSON dump cannot be read: {0}")]
    Dump(String),
    /// keepalived is not running, or not reachable.
    #[error("{0}")]
    Process(String),
    /// The configuration cannot adopt keepalived's state; one line per reason.
    #[error("the configuration cannot adopt keepalived's state, keepalived left running:\n  {}", .0.join("\n  "))]
    Refused(Vec<String>),
}

/// keepalived's VRRP states (its `VRRP_STATE_*` numbers in the dump).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KaState {
    /// 0.
    Init,
    /// 1.
    Backup,
    /// 2.
    Master,
    /// 3.
    Fault,
    /// Anything else (deleted, stopping).
    Other(u64),
}

impl KaState {
    fn from_number(n: u64) -> Self {
        match n {
            0 => KaState::Init,
            1 => KaState::Backup,
            2 => KaState::Master,
            3 => KaState::Fault,
            n => KaState::Other(n),
        }
    }
}

impl std::fmt::Display for KaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KaState::Init => f.write_str("INIT"),
            KaState::Backup => f.write_str("BACKUP"),
            KaState::Master => f.write_str("MASTER"),
            KaState::Fault => f.write_str("FAULT"),
            KaState::Other(n) => write!(f, "state {n}"),
        }
    }
}

/// One VRRP instance as keepalived's dump shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KaInstance {
    /// `iname`.
    pub name: String,
    /// `vrid`.
    pub vrid: u8,
    /// `state`.
    pub state: KaState,
    /// `ifp_ifname`: the interface adverts use (the vmac itself with `use_vmac`).
    pub ifname: String,
    /// `vmac_ifname` when the instance has a vmac.
    pub vmac: Option<String>,
    /// `vips` then `evips`: address and prefix.
    pub addresses: Vec<(IpAddr, u8)>,
    /// `vipset`: keepalived has its VIPs installed.
    pub vipset: bool,
    /// `vroutes` and `vrules`, as keepalived formats them (counted, not interpreted).
    pub routes: usize,
    /// `vrules`.
    pub rules: usize,
}

impl KaInstance {
    /// The interface the VIPs live on: the vmac, else the instance's interface.
    pub fn vip_ifname(&self) -> &str {
        self.vmac.as_deref().unwrap_or(&self.ifname)
    }

    /// The family of its addresses (None without any).
    pub fn family(&self) -> Option<Family> {
        self.addresses.first().map(|(a, _)| match a {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        })
    }
}

/// Parses keepalived 2.2.7's `keepalived.json` (an array of `{"data": {...}, "stats": {...}}`).
pub fn parse_dump(text: &str) -> Result<Vec<KaInstance>, TakeoverError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| TakeoverError::Dump(e.to_string()))?;
    let arr = v
        .as_array()
        .ok_or_else(|| TakeoverError::Dump("not an array".into()))?;
    arr.iter()
        .enumerate()
        .map(|(n, o)| {
            let d = o
                .get("data")
                .ok_or_else(|| TakeoverError::Dump(format!("entry {n}: no \"data\"")))?;
            let s = |k: &str| d.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let num = |k: &str| {
                d.get(k)
                    .and_then(serde_json::Value::as_u64)
                    .ok_or_else(|| TakeoverError::Dump(format!("entry {n}: no number \"{k}\"")))
            };
            let list = |k: &str| -> Vec<String> {
                d.get(k)
                    .and_then(|x| x.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let name = s("iname");
            let vrid = u8::try_from(num("vrid")?)
                .map_err(|_| TakeoverError::Dump(format!("{name}: VRID out of range")))?;
            let mut addresses = Vec::new();
            for a in list("vips").iter().chain(&list("evips")) {
                addresses.push(parse_address(a).ok_or_else(|| {
                    TakeoverError::Dump(format!("{name}: cannot read address '{a}'"))
                })?);
            }
            let vmac = Some(s("vmac_ifname")).filter(|v| !v.is_empty());
            Ok(KaInstance {
                vrid,
                state: KaState::from_number(num("state")?),
                ifname: s("ifp_ifname"),
                vmac,
                addresses,
                vipset: d.get("vipset").and_then(|x| x.as_bool()).unwrap_or(false),
                routes: list("vroutes").len(),
                rules: list("vrules").len(),
                name,
            })
        })
        .collect()
}

/// The address of one of keepalived's formatted VIPs (`10.0.0.1/24 dev eth0 scope global`),
/// with its prefix (/32 or /128 when absent).
fn parse_address(s: &str) -> Option<(IpAddr, u8)> {
    let first = s.split_whitespace().next()?;
    let (a, p) = match first.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (first, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((addr, prefix))
}

/// How one configured instance starts after the takeover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// keepalived had it MASTER with its VIPs: resume as MASTER at once, nothing re-added.
    Resume,
    /// keepalived had it BACKUP (or INIT/FAULT): start as a BACKUP, nothing removed.
    Backup,
    /// keepalived did not have it: start like a new instance (BACKUP first), nothing removed.
    New,
}

/// What the takeover will do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// By configured instance name.
    pub starts: Vec<(String, Start)>,
    /// Things worth a log line (instances keepalived had that stop, new ones, stray VIPs).
    pub notes: Vec<String>,
    /// The kernel's addresses the plan was made with (for [`recheck`]).
    pub kernel: Vec<(String, IpAddr)>,
}

impl Plan {
    /// How instance `name` starts.
    pub fn start_of(&self, name: &str) -> Option<&Start> {
        self.starts.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

fn show(addrs: &BTreeSet<(IpAddr, u8)>) -> String {
    let v: Vec<String> = addrs.iter().map(|(a, p)| format!("{a}/{p}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The interface a configured instance's VIPs live on (its vmac, named by the daemon, else
/// its interface).
fn conf_vip_ifname(i: &VrrpInstance) -> String {
    i.use_vmac
        .as_ref()
        .and_then(|v| v.name.clone())
        .or_else(|| i.interface.clone())
        .unwrap_or_else(|| "eth0".into())
}

/// Decides how each configured instance (`instances`: with their vmacs named, as the daemon
/// builds them) adopts keepalived's state `ka`, given the addresses in the kernel `kernel`
/// (interface name, address). Refuses what cannot be adopted without moving or orphaning a
/// VIP: a MASTER of keepalived's without a configured instance of the same VRID, family and
/// interface; a MASTER whose VIPs differ from the configuration's; a MASTER whose VIPs are not
/// in the kernel (the dump does not match the host).
// Long by design: the adoption rules above, checked one after another in the order the doc
// lists them, each with its refusal message (unit tests in tests.rs, one per rule).
pub fn plan(
    instances: &[&VrrpInstance],
    ka: &[KaInstance],
    kernel: &[(String, IpAddr)],
) -> Result<Plan, TakeoverError> {
    let mut p = Plan {
        kernel: kernel.to_vec(),
        ..Plan::default()
    };
    let mut refused = Vec::new();
    let mut matched: Vec<Option<&KaInstance>> = vec![None; instances.len()];
    for k in ka {
        let found = instances.iter().position(|c| {
            c.vrid == k.vrid
                && conf_vip_ifname(c) == k.vip_ifname()
                && k.family().is_none_or(|f| f == c.family)
        });
        let what = format!(
            "keepalived's {} instance {} (VRID {} on {})",
            k.state,
            k.name,
            k.vrid,
            k.vip_ifname()
        );
        let Some(ci) = found else {
            if k.state == KaState::Master {
                let same_name = instances
                    .iter()
                    .find(|c| c.name == k.name)
                    .map(|c| {
                        format!(
                            " (the configuration's {} has VRID {} on {})",
                            c.name,
                            c.vrid,
                            conf_vip_ifname(c)
                        )
                    })
                    .unwrap_or_default();
                refused.push(format!(
                    "{what} has no configured instance with that VRID and interface{same_name}: its VIPs would be left without an owner"
                ));
            } else {
                p.notes.push(format!(
                    "{what} is not in the configuration: it stops with keepalived"
                ));
            }
            continue;
        };
        matched[ci] = Some(k);
        let c = instances[ci];
        if k.state != KaState::Master {
            let stray: Vec<String> = k
                .addresses
                .iter()
                .filter(|(a, _)| kernel.iter().any(|(_, x)| x == a))
                .map(|(a, _)| a.to_string())
                .collect();
            if !stray.is_empty() {
                p.notes.push(format!(
                    "{what}: its address(es) {} are in the kernel although keepalived is not MASTER; left as they are",
                    stray.join(", ")
                ));
            }
            continue;
        }
        let theirs: BTreeSet<(IpAddr, u8)> = k.addresses.iter().copied().collect();
        let ours: BTreeSet<(IpAddr, u8)> = c
            .virtual_ipaddress
            .iter()
            .chain(&c.virtual_ipaddress_excluded)
            .map(|a| (a.addr.addr(), a.addr.prefix_len()))
            .collect();
        if theirs != ours {
            refused.push(format!(
                "{what}: keepalived holds {} where the configuration's {} has {}: take over with keepalived's configuration, then reload",
                show(&theirs),
                c.name,
                show(&ours)
            ));
            continue;
        }
        if k.routes != c.virtual_routes.len() || k.rules != c.virtual_rules.len() {
            refused.push(format!(
                "{what}: keepalived holds {} virtual route(s) and {} rule(s) where the configuration's {} has {} and {}: take over with keepalived's configuration, then reload",
                k.routes,
                k.rules,
                c.name,
                c.virtual_routes.len(),
                c.virtual_rules.len()
            ));
            continue;
        }
        let missing: Vec<String> = k
            .addresses
            .iter()
            .filter(|(a, _)| !kernel.iter().any(|(_, x)| x == a))
            .map(|(a, _)| a.to_string())
            .collect();
        if !missing.is_empty() || !k.vipset {
            refused.push(format!(
                "{what}: keepalived reports MASTER but {} not in the kernel",
                if missing.is_empty() {
                    "its VIPs are".to_string()
                } else {
                    format!("{} is", missing.join(", "))
                }
            ));
            continue;
        }
    }
    for (c, k) in instances.iter().zip(&matched) {
        let start = match k {
            Some(k) if k.state == KaState::Master => Start::Resume,
            Some(_) => Start::Backup,
            None => {
                p.notes.push(format!(
                    "{} (VRID {} on {}) is not in keepalived's state: it starts as a new instance",
                    c.name,
                    c.vrid,
                    conf_vip_ifname(c)
                ));
                Start::New
            }
        };
        p.starts.push((c.name.clone(), start));
    }
    if refused.is_empty() {
        Ok(p)
    } else {
        Err(TakeoverError::Refused(refused))
    }
}

/// After keepalived is stopped: its state may have changed between its dump and the stop (an
/// instance became MASTER, or gave up). The kernel's addresses, `before` (when the plan was
/// made) and `after` (keepalived stopped), tell: an instance planned to resume whose VIPs are
/// no longer all there starts as BACKUP; one planned as BACKUP (or new) whose VIPs were not
/// all there and now are resumes as MASTER (VIPs that were there already, with keepalived
/// BACKUP, are not keepalived's doing). Returns the instances whose start changes.
pub fn recheck(
    plan: &Plan,
    instances: &[&VrrpInstance],
    before: &[(String, IpAddr)],
    after: &[(String, IpAddr)],
) -> Vec<(String, Start)> {
    let mut out = Vec::new();
    for c in instances {
        let vips: Vec<IpAddr> = c
            .virtual_ipaddress
            .iter()
            .chain(&c.virtual_ipaddress_excluded)
            .map(|a| a.addr.addr())
            .collect();
        if vips.is_empty() {
            continue;
        }
        let holds = |k: &[(String, IpAddr)]| vips.iter().all(|v| k.iter().any(|(_, a)| a == v));
        match (plan.start_of(&c.name), holds(before), holds(after)) {
            (Some(Start::Resume), _, false) => out.push((c.name.clone(), Start::Backup)),
            (Some(Start::Backup | Start::New), false, true) => {
                out.push((c.name.clone(), Start::Resume))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
