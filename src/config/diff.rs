//! Reload diff: compares two configurations object by object, by keepalived's identity rules
//! (an instance is its VRID, family, interface and unicast/multicast settings, not its name;
//! a script its name and command; a virtual server its address/protocol/port, fwmark or group;
//! a real server its address and port).

use super::model::{
    BfdInstance, Config, InstanceIdentity, Protocol, RealServer, SyncGroup, VirtualServer,
    VrrpInstance, VrrpScript, VsAddress,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::Hash;

/// What happened to one object between two configurations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Change<K> {
    /// Same identity and same configuration: the running actor is left alone.
    Unchanged(K),
    /// Same identity, different settings that can be applied to the running actor.
    InPlace(K),
    /// New object.
    Added(K),
    /// Gone object.
    Removed(K),
}

impl<K> Change<K> {
    /// The object's key.
    pub fn key(&self) -> &K {
        match self {
            Change::Unchanged(k) | Change::InPlace(k) | Change::Added(k) | Change::Removed(k) => k,
        }
    }

    /// True for `Unchanged`.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Change::Unchanged(_))
    }
}

/// The whole reload plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfigDiff {
    /// VRRP instances by identity.
    pub instances: Vec<Change<InstanceIdentity>>,
    /// vrrp_scripts by name (a changed command counts as removed + added).
    pub scripts: Vec<Change<String>>,
    /// Sync groups by name.
    pub sync_groups: Vec<Change<String>>,
    /// BFD instances by name.
    pub bfd: Vec<Change<String>>,
    /// Virtual servers by (address, protocol).
    pub virtual_servers: Vec<Change<VsKey>>,
    /// Real servers by (virtual server, address, port).
    pub real_servers: Vec<Change<RsKey>>,
    /// Global settings changed.
    pub global_changed: bool,
    /// Static addresses/routes/rules changed.
    pub static_changed: bool,
}

/// Identity of a virtual server.
pub type VsKey = (VsAddress, Protocol);
/// Identity of a real server within its virtual server.
pub type RsKey = (VsKey, std::net::IpAddr, Option<u16>);

impl ConfigDiff {
    /// Number of objects that are not unchanged.
    pub fn changed_count(&self) -> usize {
        fn count<K>(v: &[Change<K>]) -> usize {
            v.iter().filter(|x| !x.is_unchanged()).count()
        }
        count(&self.instances)
            + count(&self.scripts)
            + count(&self.sync_groups)
            + count(&self.bfd)
            + count(&self.virtual_servers)
            + count(&self.real_servers)
    }
}

/// Compares keyed lists: equal values are unchanged, differing ones changed in place.
fn diff_by<T, K, F, E>(old: &[T], new: &[T], key: F, same: E) -> Vec<Change<K>>
where
    K: Ord + Clone + Hash,
    F: Fn(&T) -> K,
    E: Fn(&T, &T) -> bool,
{
    let old_map: BTreeMap<K, &T> = old.iter().map(|o| (key(o), o)).collect();
    let new_map: BTreeMap<K, &T> = new.iter().map(|o| (key(o), o)).collect();
    let mut out = Vec::new();
    for (k, n) in &new_map {
        match old_map.get(k) {
            Some(o) if same(o, n) => out.push(Change::Unchanged(k.clone())),
            Some(_) => out.push(Change::InPlace(k.clone())),
            None => out.push(Change::Added(k.clone())),
        }
    }
    for k in old_map.keys() {
        if !new_map.contains_key(k) {
            out.push(Change::Removed(k.clone()));
        }
    }
    out
}

/// Two instances are the same for a reload when everything but the name and locations matches.
pub fn same_instance(a: &VrrpInstance, b: &VrrpInstance) -> bool {
    strip_instance(a) == strip_instance(b)
}

fn strip_instance(i: &VrrpInstance) -> serde_json::Value {
    let mut v = serde_json::to_value(i).unwrap_or_default();
    strip_locations(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.remove("name");
    }
    v
}

/// Removes every location (`loc`, `spans`) so that moving a block in the file is not a change.
fn strip_locations(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            o.remove("loc");
            o.remove("spans");
            for x in o.values_mut() {
                strip_locations(x);
            }
        }
        serde_json::Value::Array(a) => {
            // Member lists are (name, location) pairs: drop the location element.
            for x in a.iter_mut() {
                strip_locations(x);
            }
            if a.len() == 2 && a[1].get("file").is_some() && a[1].get("line").is_some() {
                a.pop();
            }
        }
        _ => {}
    }
}

/// Equal once every location (`loc`, `spans`) is ignored: moving or commenting a block is not
/// a change.
pub fn same_ignoring_locations<T: Serialize>(a: &T, b: &T) -> bool {
    same_json(a, b)
}

/// The top-level fields that differ between `a` and `b` once locations are ignored, with
/// their old and new values (serialised), in field order.
pub fn changed_fields<T: Serialize>(
    a: &T,
    b: &T,
) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let mut x = serde_json::to_value(a).unwrap_or_default();
    let mut y = serde_json::to_value(b).unwrap_or_default();
    strip_locations(&mut x);
    strip_locations(&mut y);
    match (x, y) {
        (serde_json::Value::Object(x), serde_json::Value::Object(mut y)) => {
            let mut out = Vec::new();
            for (k, v) in x {
                let w = y.remove(&k).unwrap_or_default();
                if v != w {
                    out.push((k, v, w));
                }
            }
            for (k, w) in y {
                out.push((k, serde_json::Value::Null, w));
            }
            out
        }
        (x, y) if x != y => vec![(String::new(), x, y)],
        _ => Vec::new(),
    }
}

fn same_json<T: Serialize>(a: &T, b: &T) -> bool {
    let mut x = serde_json::to_value(a).unwrap_or_default();
    let mut y = serde_json::to_value(b).unwrap_or_default();
    strip_locations(&mut x);
    strip_locations(&mut y);
    x == y
}

/// A script's identity: its name and command (keepalived keeps the result only when both match).
fn script_key(s: &VrrpScript) -> String {
    let cmd = s.script.as_ref().map(|c| c.command.as_str()).unwrap_or("");
    format!("{}\u{0}{}", s.name, cmd)
}

fn vs_key(v: &VirtualServer) -> VsKey {
    (v.address.clone(), v.protocol)
}

fn same_vs_settings(a: &VirtualServer, b: &VirtualServer) -> bool {
    let mut x = a.clone();
    let mut y = b.clone();
    x.real_servers.clear();
    y.real_servers.clear();
    same_json(&x, &y)
}

/// Computes the reload plan from `old` to `new`.
pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let mut rs_old: Vec<(RsKey, &RealServer)> = Vec::new();
    let mut rs_new: Vec<(RsKey, &RealServer)> = Vec::new();
    for (list, out) in [
        (&old.virtual_servers, &mut rs_old),
        (&new.virtual_servers, &mut rs_new),
    ] {
        for vs in list.iter() {
            for rs in &vs.real_servers {
                out.push(((vs_key(vs), rs.ip, rs.port), rs));
            }
        }
    }
    ConfigDiff {
        instances: diff_by(
            &old.instances,
            &new.instances,
            |i: &std::sync::Arc<VrrpInstance>| i.identity(),
            |a: &std::sync::Arc<VrrpInstance>, b: &std::sync::Arc<VrrpInstance>| {
                same_instance(a, b)
            },
        ),
        scripts: diff_by(&old.vrrp_scripts, &new.vrrp_scripts, script_key, same_json)
            .into_iter()
            .map(|c| {
                map_key(c, |k: String| {
                    k.split('\u{0}').next().unwrap_or_default().to_string()
                })
            })
            .collect(),
        sync_groups: diff_by(
            &old.sync_groups,
            &new.sync_groups,
            |g: &SyncGroup| g.name.clone(),
            same_json,
        ),
        bfd: diff_by(
            &old.bfd_instances,
            &new.bfd_instances,
            |b: &BfdInstance| b.name.clone(),
            same_json,
        ),
        virtual_servers: diff_by(
            &old.virtual_servers,
            &new.virtual_servers,
            vs_key,
            same_vs_settings,
        ),
        real_servers: diff_by(
            &rs_old,
            &rs_new,
            |(k, _)| k.clone(),
            |a, b| same_json(a.1, b.1),
        ),
        global_changed: !same_json(&old.global, &new.global),
        static_changed: !same_json(&old.static_ipaddress, &new.static_ipaddress)
            || !same_json(&old.static_routes, &new.static_routes)
            || !same_json(&old.static_rules, &new.static_rules),
    }
}

fn map_key<K, L>(c: Change<K>, f: impl Fn(K) -> L) -> Change<L> {
    match c {
        Change::Unchanged(k) => Change::Unchanged(f(k)),
        Change::InPlace(k) => Change::InPlace(f(k)),
        Change::Added(k) => Change::Added(f(k)),
        Change::Removed(k) => Change::Removed(f(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn cfg(text: &str) -> Config {
        let l = load_str("d.conf", text, &LoadOptions::default());
        assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    fn inst(name: &str, vrid: u8, prio: u8, vip: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
        )
    }

    #[test]
    fn identical_is_all_unchanged() {
        let a = cfg(&(inst("A", 1, 100, "10.0.0.1") + &inst("B", 2, 100, "10.0.0.2")));
        let d = diff(&a, &a.clone());
        assert_eq!(d.changed_count(), 0);
        assert_eq!(d.instances.len(), 2);
    }

    #[test]
    fn rename_and_move_are_unchanged() {
        let a = cfg(&(inst("A", 1, 100, "10.0.0.1") + &inst("B", 2, 100, "10.0.0.2")));
        // B renamed to C and moved first, with extra blank lines and comments.
        let b = cfg(&(String::from("# moved\n\n")
            + &inst("C", 2, 100, "10.0.0.2")
            + &inst("A", 1, 100, "10.0.0.1")));
        let d = diff(&a, &b);
        assert_eq!(d.changed_count(), 0, "{d:?}");
    }

    #[test]
    fn priority_and_vip_changes_are_in_place() {
        let a = cfg(&(inst("A", 1, 100, "10.0.0.1") + &inst("B", 2, 100, "10.0.0.2")));
        let b = cfg(&(inst("A", 1, 150, "10.0.0.1") + &inst("B", 2, 100, "10.0.0.3")));
        let d = diff(&a, &b);
        let inplace: Vec<u8> = d
            .instances
            .iter()
            .filter_map(|c| {
                if let Change::InPlace(k) = c {
                    Some(k.vrid)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(inplace, [1, 2]);
    }

    #[test]
    fn vrid_change_is_remove_plus_add() {
        let a = cfg(&inst("A", 1, 100, "10.0.0.1"));
        let b = cfg(&inst("A", 3, 100, "10.0.0.1"));
        let d = diff(&a, &b);
        assert!(d
            .instances
            .iter()
            .any(|c| matches!(c, Change::Removed(k) if k.vrid == 1)));
        assert!(d
            .instances
            .iter()
            .any(|c| matches!(c, Change::Added(k) if k.vrid == 3)));
    }

    #[test]
    fn changed_fields_name_the_keywords() {
        let a = cfg(&inst("A", 1, 100, "10.0.0.1"));
        let b = cfg(&("\n".to_string() + &inst("A", 1, 150, "10.0.0.1")));
        let f = changed_fields(&*a.instances[0], &*b.instances[0]);
        let names: Vec<&str> = f.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(names, ["priority"], "{f:?}");
        assert_eq!(f[0].1, serde_json::json!(100));
        assert_eq!(f[0].2, serde_json::json!(150));
        assert!(changed_fields(&*a.instances[0], &*a.instances[0]).is_empty());
    }

    #[test]
    fn script_command_change_is_new_identity() {
        let s = |cmd: &str| cfg(&format!("vrrp_script chk {{\n script \"{cmd}\"\n}}\n"));
        let d = diff(&s("/bin/true"), &s("/bin/false"));
        assert!(d
            .scripts
            .iter()
            .any(|c| matches!(c, Change::Removed(k) if k == "chk")));
        assert!(d
            .scripts
            .iter()
            .any(|c| matches!(c, Change::Added(k) if k == "chk")));
        let d = diff(&s("/bin/true"), &s("/bin/true"));
        assert_eq!(d.changed_count(), 0);
    }

    #[test]
    fn real_server_changes() {
        let vs = |rs: &str| {
            cfg(&format!(
                "virtual_server 10.0.0.1 80 {{\n    protocol TCP\n lb_algo rr\n {rs}\n}}\n"
            ))
        };
        let a = vs("real_server 10.0.1.1 80 {\n weight 1\n TCP_CHECK {\n }\n}\nreal_server 10.0.1.2 80 {\n TCP_CHECK {\n }\n}");
        let b = vs("real_server 10.0.1.1 80 {\n weight 5\n TCP_CHECK {\n }\n}\nreal_server 10.0.1.3 80 {\n TCP_CHECK {\n }\n}");
        let d = diff(&a, &b);
        assert!(d.virtual_servers.iter().all(Change::is_unchanged));
        assert_eq!(
            d.real_servers
                .iter()
                .filter(|c| matches!(c, Change::InPlace(_)))
                .count(),
            1
        );
        assert_eq!(
            d.real_servers
                .iter()
                .filter(|c| matches!(c, Change::Added(_)))
                .count(),
            1
        );
        assert_eq!(
            d.real_servers
                .iter()
                .filter(|c| matches!(c, Change::Removed(_)))
                .count(),
            1
        );
    }
}
