//! The reload plan (`keepalived-rs --reload-plan`): what a reload of a file would do, without
//! applying it.
//!
//! The running daemon loads the file as a reload does, builds the desired children with the
//! reload's own code ([`crate::daemon::children::children`]) and runs the root's own decision
//! ([`crate::runtime::root::decide`], with the factory's `can_update`, i.e. the instance's
//! [`restart_reasons`]) against what is running; the VIPs, routes and rules an in-place update
//! would change are the instance's own set difference (`set_minus`), the virtual servers,
//! real servers and checkers the director's keys and checker decision ([`crate::lvs::plan`],
//! [`crate::lvs::state::checker_fates`]), scripts the tracker hub's
//! ([`crate::vrrp::actor::trackers::script_fate`]), sync groups (matched by name, updated in place)
//! [`crate::config::diff`].
//! This module turns those decisions into a report (pure functions, unit-tested); the report
//! travels as JSON over the control socket and is rendered as text by the client.

use crate::config::diff::{self, Change};
use crate::config::model::{AddressSpec, Config, RouteSpec, RuleSpec};
use crate::config::{Diagnostics, Severity};
use crate::daemon::children::ChildSpec;
use crate::runtime::root::{Decision, ReconcilePlan};
use crate::runtime::ObjectId;
use crate::vrrp::actor::instance::InstanceSpec;
use crate::vrrp::actor::kernel::VirtualSet;
use crate::vrrp::reconfigure::restart_reasons;
use crate::vrrp::virtual_set::{set_minus, virtual_set_of};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What a reload does to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fate {
    /// Left alone.
    Unchanged,
    /// Changed in place, without a restart (`detail`: which settings).
    Updated,
    /// Stopped and started again (`detail`: why, which identity field).
    Replaced,
    /// New.
    Added,
    /// Gone.
    Removed,
}

/// One object of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPlan {
    /// `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`, `virtual_server`, `real_server`,
    /// `checker`, `bfd_instance`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What happens to it.
    pub fate: Fate,
    /// The settings that change (updated) or why it is replaced.
    pub detail: Vec<String>,
}

/// A VIP, route or rule a reload adds or removes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPlan {
    /// `address`, `route` or `rule`.
    pub kind: String,
    /// `add` or `remove`.
    pub op: String,
    /// The address, route or rule.
    pub what: String,
    /// The VRRP instance it belongs to.
    pub instance: String,
    /// `now` (the instance holds its VIPs), or `when MASTER`.
    pub when: String,
}

/// What the root's reconcile would do (the counts of its "reconciled children" line).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Started.
    pub started: usize,
    /// Stopped.
    pub stopped: usize,
    /// Replaced.
    pub replaced: usize,
    /// Updated in place.
    pub updated: usize,
    /// Unchanged.
    pub unchanged: usize,
}

/// The reload plan of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadPlan {
    /// The file.
    pub file: String,
    /// The reload would be rejected (the running configuration goes on).
    pub rejected: bool,
    /// The errors that reject it.
    pub errors: Vec<String>,
    /// keepalived's recoveries the new file would log (located warnings).
    pub recoveries: Vec<String>,
    /// Unsupported keywords the new file would log.
    pub unsupported: Vec<String>,
    /// Every object, with its fate.
    pub objects: Vec<ObjectPlan>,
    /// VIPs, routes and rules added or removed.
    pub addresses: Vec<AddressPlan>,
    /// The root's reconcile.
    pub reconcile: Counts,
    /// `global_defs` changed.
    pub global_changed: bool,
    /// `static_ipaddress`/`static_routes`/`static_rules` changed (installed at start only:
    /// a reload does not apply them, as keepalived).
    pub static_changed: bool,
}

/// `--reload-plan`'s exit status: nothing would change.
pub const EXIT_NOTHING: i32 = 0;
/// Something would change.
pub const EXIT_CHANGES: i32 = 1;
/// The file would be rejected.
pub const EXIT_REJECTED: i32 = 5;
/// No plan: the daemon could not be asked (not running with this `-p`, a bad answer) or an
/// unknown format. Not 1, which says "something would change".
pub const EXIT_NO_ANSWER: i32 = 3;

impl ReloadPlan {
    /// True when the reload would change something.
    pub fn changes(&self) -> bool {
        self.objects.iter().any(|o| o.fate != Fate::Unchanged)
            || !self.addresses.is_empty()
            || self.global_changed
    }

    /// The exit status of `--reload-plan`.
    pub fn exit_code(&self) -> i32 {
        if self.rejected {
            EXIT_REJECTED
        } else if self.changes() {
            EXIT_CHANGES
        } else {
            EXIT_NOTHING
        }
    }

    /// Human-readable.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "reload plan for {}", self.file);
        if self.rejected {
            let _ = writeln!(
                s,
                "REJECTED: the running configuration would be kept ({} error(s))",
                self.errors.len()
            );
            for e in &self.errors {
                let _ = writeln!(s, "  {e}");
            }
        } else if !self.changes() {
            let _ = writeln!(s, "nothing would change");
        }
        let changed: Vec<&ObjectPlan> = self
            .objects
            .iter()
            .filter(|o| o.fate != Fate::Unchanged)
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(s, "objects:");
            for o in changed {
                let fate = match o.fate {
                    Fate::Updated => "updated in place",
                    Fate::Replaced => "replaced",
                    Fate::Added => "added",
                    Fate::Removed => "removed",
                    Fate::Unchanged => "unchanged",
                };
                let _ = write!(s, "  {} {}: {fate}", o.kind, o.name);
                if !o.detail.is_empty() {
                    let _ = write!(s, " ({})", o.detail.join("; "));
                }
                s.push('\n');
            }
        }
        let unchanged = self
            .objects
            .iter()
            .filter(|o| o.fate == Fate::Unchanged)
            .count();
        if unchanged > 0 {
            let _ = writeln!(s, "unchanged: {unchanged} object(s)");
        }
        if !self.addresses.is_empty() {
            let _ = writeln!(s, "addresses, routes, rules:");
            for a in &self.addresses {
                let sign = if a.op == "add" { "+" } else { "-" };
                let _ = writeln!(
                    s,
                    "  {sign} {} {} ({}, {})",
                    a.kind, a.what, a.instance, a.when
                );
            }
        }
        if self.global_changed {
            let _ = writeln!(s, "global_defs: changed");
        }
        if self.static_changed {
            let _ = writeln!(
                s,
                "static addresses/routes/rules: changed (applied at the next start, not by a reload)"
            );
        }
        if !self.rejected {
            let c = &self.reconcile;
            let _ = writeln!(
                s,
                "reconcile: {} started, {} stopped, {} replaced, {} updated in place, {} unchanged",
                c.started, c.stopped, c.replaced, c.updated, c.unchanged
            );
        }
        for (title, list) in [
            ("recoveries the new file would log", &self.recoveries),
            (
                "unsupported keywords the new file would log",
                &self.unsupported,
            ),
        ] {
            if !list.is_empty() {
                let _ = writeln!(s, "{title}:");
                for w in list {
                    let _ = writeln!(s, "  {w}");
                }
            }
        }
        s
    }
}

/// Sorts the new file's diagnostics into the plan.
fn diagnostics(plan: &mut ReloadPlan, d: &Diagnostics) {
    for x in d.sorted() {
        let line = x.to_string();
        if x.severity == Severity::Error {
            plan.errors.push(line);
        } else if x.message.contains("not supported") {
            plan.unsupported.push(line);
        } else {
            plan.recoveries.push(line);
        }
    }
}

/// The plan of a file that would be rejected.
pub fn rejected(file: &str, d: &Diagnostics) -> ReloadPlan {
    let mut p = ReloadPlan {
        file: file.to_string(),
        rejected: true,
        ..ReloadPlan::default()
    };
    diagnostics(&mut p, d);
    p
}

/// The running side of the plan: each running child's config and whether it holds its VIPs.
pub struct Running<'a> {
    /// The running configuration.
    pub config: &'a Config,
    /// The running children.
    pub children: Vec<(&'a ObjectId, &'a ChildSpec)>,
    /// Whether the instance with this key has its VIPs installed now.
    pub installed: &'a dyn Fn(&ObjectId) -> bool,
    /// The checkers (LVS) run (not `-P`).
    pub check: bool,
}

/// The plan of a reload from `running` to `new` (loaded from `file` with `diags`), given the
/// root's `decisions`.
pub fn build(
    file: &str,
    running: &Running<'_>,
    new: &Config,
    diags: &Diagnostics,
    decisions: &ReconcilePlan<ObjectId, ChildSpec>,
) -> ReloadPlan {
    let mut p = ReloadPlan {
        file: file.to_string(),
        ..ReloadPlan::default()
    };
    diagnostics(&mut p, diags);
    p.reconcile = Counts {
        started: decisions.count(Decision::Start),
        stopped: decisions.removed.len(),
        replaced: decisions.count(Decision::Replace),
        updated: decisions.count(Decision::Update),
        unchanged: decisions.count(Decision::Unchanged),
    };
    children(&mut p, running, new, decisions);
    let d = diff::diff(running.config, new);
    named(
        &mut p,
        "vrrp_sync_group",
        &d.sync_groups,
        |n| running.config.sync_groups.iter().find(|g| &g.name == n),
        |n| new.sync_groups.iter().find(|g| &g.name == n),
    );
    scripts(&mut p, running.config, new);
    if running.check {
        lvs(&mut p, running.config, new);
    }
    p.global_changed = d.global_changed;
    p.static_changed = d.static_changed;
    p
}

fn object(kind: &str, name: &str, fate: Fate, detail: Vec<String>) -> ObjectPlan {
    ObjectPlan {
        kind: kind.to_string(),
        name: name.to_string(),
        fate,
        detail,
    }
}

/// The settings that differ (top-level keywords, locations ignored), with short values shown.
pub fn changed_settings<T: Serialize>(old: &T, new: &T) -> Vec<String> {
    diff::changed_fields(old, new)
        .into_iter()
        .map(|(k, o, n)| {
            let (o, n) = (short(&o), short(&n));
            match (o, n) {
                (Some(o), Some(n)) => format!("{k} {o} -> {n}"),
                _ => k,
            }
        })
        .collect()
}

fn short(v: &serde_json::Value) -> Option<String> {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => v.to_string(),
        _ => return None,
    };
    (s.len() <= 40).then_some(s)
}

fn instance_changes(o: &InstanceSpec, n: &InstanceSpec) -> Vec<String> {
    let mut out = changed_settings(&*o.instance, &*n.instance);
    out.retain(|x| !x.starts_with("name "));
    if o.instance.name != n.instance.name {
        out.push(format!("name {} -> {}", o.instance.name, n.instance.name));
    }
    if o.trackers != n.trackers {
        out.push("trackers".into());
    }
    if o.sync_group != n.sync_group {
        let g = |x: &Option<String>| x.clone().unwrap_or_else(|| "none".into());
        out.push(format!(
            "sync group {} -> {}",
            g(&o.sync_group),
            g(&n.sync_group)
        ));
    }
    if !std::sync::Arc::ptr_eq(&o.global, &n.global)
        && !diff::same_ignoring_locations(&*o.global, &*n.global)
    {
        out.push("global_defs".into());
    }
    out
}

fn identity_changes(o: &ObjectId, n: &ObjectId) -> Vec<String> {
    let mut out = Vec::new();
    if let (
        ObjectId::VrrpInstance {
            vrid: v1,
            family: f1,
            ifname: i1,
        },
        ObjectId::VrrpInstance {
            vrid: v2,
            family: f2,
            ifname: i2,
        },
    ) = (o, n)
    {
        if v1 != v2 {
            out.push(format!("virtual_router_id {v1} -> {v2}"));
        }
        if f1 != f2 {
            out.push(format!("address family {f1:?} -> {f2:?}"));
        }
        if i1 != i2 {
            out.push(format!("interface {i1} -> {i2}"));
        }
    }
    out
}

fn show_addr(a: &AddressSpec, ifname: &str) -> String {
    format!("{} dev {}", a.addr, a.dev.as_deref().unwrap_or(ifname))
}

fn show_route(r: &RouteSpec) -> String {
    let mut s = format!("{}", r.to);
    if let Some(v) = r.via {
        s += &format!(" via {v}");
    }
    if let Some(d) = &r.dev {
        s += &format!(" dev {d}");
    }
    if let Some(t) = r.table {
        s += &format!(" table {t}");
    }
    s
}

fn show_rule(r: &RuleSpec) -> String {
    let mut s = String::new();
    if let Some(f) = r.from {
        s += &format!("from {f} ");
    }
    if let Some(t) = r.to {
        s += &format!("to {t} ");
    }
    if let Some(t) = r.table {
        s += &format!("table {t} ");
    }
    if let Some(p) = r.priority {
        s += &format!("priority {p}");
    }
    s.trim_end().to_string()
}

fn addresses(p: &mut ReloadPlan, set: &VirtualSet, op: &str, instance: &str, when: &str) {
    let mut push = |kind: &str, what: String| {
        p.addresses.push(AddressPlan {
            kind: kind.into(),
            op: op.into(),
            what,
            instance: instance.into(),
            when: when.into(),
        })
    };
    for a in &set.addresses {
        push("address", show_addr(a, &set.ifname));
    }
    for r in &set.routes {
        push("route", show_route(r));
    }
    for r in &set.rules {
        push("rule", show_rule(r));
    }
}

/// VRRP instances and BFD sessions: the root's decisions.
fn children<'a>(
    p: &mut ReloadPlan,
    running: &Running<'a>,
    new: &'a Config,
    decisions: &ReconcilePlan<ObjectId, ChildSpec>,
) {
    let old: HashMap<&ObjectId, &ChildSpec> = running.children.iter().copied().collect();
    // An instance whose identity changed is stopped under its old key and started under the
    // new one: shown as one replacement when the name is the same.
    let mut removed: Vec<&ObjectId> = decisions.removed.iter().collect();
    for (key, spec, d) in &decisions.desired {
        match spec {
            ChildSpec::Vrrp(n) => {
                let name = &n.instance.name;
                let prev = old.get(key).and_then(|s| match s {
                    ChildSpec::Vrrp(o) => Some(o),
                    ChildSpec::Bfd(_) => None,
                });
                let installed = (running.installed)(key);
                match (d, prev) {
                    (Decision::Unchanged, _) => {
                        p.objects
                            .push(object("vrrp_instance", name, Fate::Unchanged, vec![]))
                    }
                    (Decision::Update | Decision::Replace, Some(o)) => {
                        let (fate, detail) = if *d == Decision::Update {
                            (Fate::Updated, instance_changes(o, n))
                        } else {
                            let why = restart_reasons(&o.instance, &n.instance)
                                .into_iter()
                                .map(|r| format!("{r} changed"))
                                .collect();
                            (Fate::Replaced, why)
                        };
                        p.objects.push(object("vrrp_instance", name, fate, detail));
                        if installed {
                            let (os, ns) =
                                (virtual_set_of(&o.instance), virtual_set_of(&n.instance));
                            addresses(p, &set_minus(&os, &ns), "remove", name, "now");
                            addresses(p, &set_minus(&ns, &os), "add", name, "now");
                        }
                    }
                    _ => {
                        let twin = removed.iter().position(|k| {
                            matches!(old.get(k), Some(ChildSpec::Vrrp(o)) if o.instance.name == *name)
                        });
                        let ns = virtual_set_of(&n.instance);
                        if let Some(i) = twin {
                            let k = removed.remove(i);
                            let why = identity_changes(k, key);
                            p.objects
                                .push(object("vrrp_instance", name, Fate::Replaced, why));
                            if let Some(ChildSpec::Vrrp(o)) = old.get(k) {
                                if (running.installed)(k) {
                                    let os = virtual_set_of(&o.instance);
                                    addresses(p, &os, "remove", name, "now");
                                }
                            }
                        } else {
                            p.objects
                                .push(object("vrrp_instance", name, Fate::Added, vec![]));
                        }
                        addresses(p, &ns, "add", name, "when MASTER");
                    }
                }
            }
            ChildSpec::Bfd(_) => {
                let fate = match d {
                    Decision::Unchanged => Fate::Unchanged,
                    Decision::Update => Fate::Updated,
                    // A BFD session hands its state over to its replacement: no flap.
                    Decision::Replace => Fate::Replaced,
                    Decision::Start => Fate::Added,
                };
                let name = bfd_name(key);
                let find = |c: &'a Config| c.bfd_instances.iter().find(|x| x.name == name);
                let detail = match (d, find(running.config), find(new)) {
                    (Decision::Replace | Decision::Update, Some(o), Some(n)) => {
                        changed_settings(o, n)
                    }
                    _ => vec![],
                };
                p.objects.push(object("bfd_instance", &name, fate, detail));
            }
        }
    }
    for k in removed {
        match old.get(k) {
            Some(ChildSpec::Vrrp(o)) => {
                let name = &o.instance.name;
                p.objects
                    .push(object("vrrp_instance", name, Fate::Removed, vec![]));
                if (running.installed)(k) {
                    addresses(p, &virtual_set_of(&o.instance), "remove", name, "now");
                }
            }
            Some(ChildSpec::Bfd(_)) => {
                p.objects
                    .push(object("bfd_instance", &bfd_name(k), Fate::Removed, vec![]))
            }
            None => {}
        }
    }
}

fn bfd_name(k: &ObjectId) -> String {
    match k {
        ObjectId::BfdInstance(n) => n.clone(),
        other => other.to_string(),
    }
}

/// Objects compared by name by [`diff::diff`].
fn named<T: Serialize>(
    p: &mut ReloadPlan,
    kind: &str,
    changes: &[Change<String>],
    old: impl Fn(&String) -> Option<T>,
    new: impl Fn(&String) -> Option<T>,
) {
    for c in changes {
        let (fate, detail) = match c {
            Change::Unchanged(_) => (Fate::Unchanged, vec![]),
            Change::InPlace(k) => (
                Fate::Updated,
                match (old(k), new(k)) {
                    (Some(o), Some(n)) => changed_settings(&o, &n),
                    _ => vec![],
                },
            ),
            Change::Added(_) => (Fate::Added, vec![]),
            Change::Removed(_) => (Fate::Removed, vec![]),
        };
        p.objects.push(object(kind, c.key(), fate, detail));
    }
}

/// Scripts: the tracker hub's own decision ([`script_fate`]).
fn scripts(p: &mut ReloadPlan, old: &Config, new: &Config) {
    use crate::vrrp::actor::trackers::{script_configs, script_fate, ScriptFate};
    let (o, n) = (script_configs(old), script_configs(new));
    let mut names: Vec<&String> = n
        .keys()
        .chain(o.keys().filter(|k| !n.contains_key(*k)))
        .collect();
    names.sort();
    names.dedup();
    let find = |c: &'_ Config, name: &str| c.vrrp_scripts.iter().find(|s| s.name == name).cloned();
    for name in names {
        let (fate, detail) = match script_fate(o.get(name), n.get(name)) {
            None => continue,
            Some(ScriptFate::Kept) => (Fate::Unchanged, vec![]),
            Some(ScriptFate::Resumed) => {
                let mut d = match (find(old, name), find(new, name)) {
                    (Some(a), Some(b)) => changed_settings(&a, &b),
                    _ => vec![],
                };
                d.push("restarted with its last result kept".into());
                (Fate::Updated, d)
            }
            Some(ScriptFate::Restarted) => (
                Fate::Replaced,
                vec!["script command or user changed: restarted from its initial state".into()],
            ),
            Some(ScriptFate::Started) => (Fate::Added, vec![]),
            Some(ScriptFate::Stopped) => (Fate::Removed, vec![]),
        };
        p.objects.push(object("vrrp_script", name, fate, detail));
    }
}

/// Virtual servers, real servers and checkers, by the director's keys and checker matching.
fn lvs(p: &mut ReloadPlan, old: &Config, new: &Config) {
    use crate::lvs::plan::plan;
    let (o, n) = (plan(old), plan(new));
    for nv in &n.virtual_servers {
        let ov = o.virtual_servers.iter().find(|v| v.key == nv.key);
        let fate = match ov {
            None => Fate::Added,
            Some(ov) => {
                let strip = |v: &crate::lvs::plan::VsPlan| {
                    let mut v = v.clone();
                    v.real_servers.clear();
                    v
                };
                if strip(ov) == strip(nv) {
                    Fate::Unchanged
                } else {
                    Fate::Updated
                }
            }
        };
        p.objects
            .push(object("virtual_server", &nv.name, fate, vec![]));
        for nr in &nv.real_servers {
            let or = ov.and_then(|ov| ov.real_servers.iter().find(|r| r.key == nr.key));
            let rname = format!("{} -> {}", nv.name, nr.name);
            let fate = match or {
                None => Fate::Added,
                Some(or) => {
                    let strip = |r: &crate::lvs::plan::RsPlan| {
                        let mut r = r.clone();
                        r.checkers.clear();
                        r
                    };
                    if strip(or) == strip(nr) {
                        Fate::Unchanged
                    } else {
                        Fate::Updated
                    }
                }
            };
            p.objects.push(object("real_server", &rname, fate, vec![]));
            use crate::lvs::state::{checker_fates, CheckerFate};
            let fates = checker_fates(or, nr);
            for (ci, c) in nr.checkers.iter().enumerate() {
                let cname = format!("{rname} {}#{}", c.kind, ci + 1);
                let (fate, detail) = match fates[ci] {
                    CheckerFate::Keep(_) => (Fate::Unchanged, vec![]),
                    CheckerFate::Resume(_) => (
                        Fate::Replaced,
                        vec!["settings changed: restarted with the old checker's state".into()],
                    ),
                    CheckerFate::Fresh => (Fate::Added, vec![]),
                };
                p.objects.push(object("checker", &cname, fate, detail));
            }
            if let Some(or) = or {
                for (oi, c) in or.checkers.iter().enumerate() {
                    let used = fates.iter().any(
                        |f| matches!(f, CheckerFate::Keep(j) | CheckerFate::Resume(j) if *j == oi),
                    );
                    if !used {
                        let cname = format!("{rname} {}#{}", c.kind, oi + 1);
                        p.objects
                            .push(object("checker", &cname, Fate::Removed, vec![]));
                    }
                }
            }
        }
        if let Some(ov) = ov {
            for or in &ov.real_servers {
                if !nv.real_servers.iter().any(|r| r.key == or.key) {
                    let rname = format!("{} -> {}", nv.name, or.name);
                    p.objects
                        .push(object("real_server", &rname, Fate::Removed, vec![]));
                }
            }
        }
    }
    for ov in &o.virtual_servers {
        if !n.virtual_servers.iter().any(|v| v.key == ov.key) {
            p.objects
                .push(object("virtual_server", &ov.name, Fate::Removed, vec![]));
        }
    }
}

/// The `-f` default: without `-f` the plan is of the daemon's own file.
const DEFAULT_FILE: &str = "/etc/keepalived/keepalived.conf";

/// `keepalived-rs --reload-plan[=FORMAT] [--json] [-f FILE] [-p PIDFILE]`: asks the daemon
/// and prints its plan; returns the exit status.
pub fn ask(args: &crate::daemon::args::Args, format: &str) -> i32 {
    let json = match (format, args.json) {
        ("json", _) | (_, true) => true,
        ("text", false) => false,
        (other, _) => {
            eprintln!("--reload-plan: unknown format '{other}' (text, json)");
            return EXIT_NO_ANSWER;
        }
    };
    let request = if args.use_file.as_os_str() == DEFAULT_FILE {
        "plan".to_string()
    } else {
        let f = std::path::absolute(&args.use_file).unwrap_or_else(|_| args.use_file.clone());
        format!("plan {}", f.display())
    };
    // The daemon's settings may put its control socket elsewhere.
    let path = match crate::daemon::settings::Settings::for_args(args) {
        Ok(s) => s.control_socket(&args.pid_file()),
        Err(e) => {
            eprintln!("{e}");
            return EXIT_NO_ANSWER;
        }
    };
    let answer =
        match crate::mgmt::control::query(&path, &request, std::time::Duration::from_secs(10)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_NO_ANSWER;
            }
        };
    let plan: ReloadPlan = match serde_json::from_str(&answer) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("unexpected answer from the daemon: {e}");
            return EXIT_NO_ANSWER;
        }
    };
    let out = if json {
        serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n"
    } else {
        plan.text()
    };
    use std::io::Write;
    let _ = std::io::stdout().write_all(out.as_bytes());
    plan.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use crate::daemon::children::{children, in_place, Subsystems};
    use crate::runtime::root::decide;
    use std::sync::Arc;

    fn inst(name: &str, vrid: u8, prio: u8, vips: &[&str], extra: &str) -> String {
        let vips: String = vips.iter().map(|v| format!("  {v}\n")).collect();
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n{extra} virtual_ipaddress {{\n{vips} }}\n}}\n"
        )
    }

    const VRRP: Subsystems = Subsystems {
        vrrp: true,
        check: true,
        bfd: true,
    };

    /// The plan from `old` to `new` text, instances in `installed` holding their VIPs.
    fn plan_of(old: &str, new: &str, installed: &[&str]) -> ReloadPlan {
        let o = load_str("k.conf", old, &LoadOptions::default());
        assert!(!o.diagnostics.has_errors(), "{:?}", o.diagnostics);
        let n = load_str("k.conf", new, &LoadOptions::default());
        if n.diagnostics.has_errors() {
            return rejected("k.conf", &n.diagnostics);
        }
        let g = Arc::new(o.config.global.clone());
        let running_children = children(&o.config, &g, VRRP);
        let desired = children(&n.config, &g, VRRP);
        let decisions = decide(
            running_children.iter().map(|(k, c)| (k, c)),
            desired,
            |_, a, b| in_place(a, b),
        );
        let names: HashMap<ObjectId, String> = running_children
            .iter()
            .filter_map(|(k, c)| match c {
                ChildSpec::Vrrp(s) => Some((k.clone(), s.instance.name.clone())),
                ChildSpec::Bfd(_) => None,
            })
            .collect();
        let held = |k: &ObjectId| {
            names
                .get(k)
                .is_some_and(|n| installed.contains(&n.as_str()))
        };
        let running = Running {
            config: &o.config,
            children: running_children.iter().map(|(k, c)| (k, c)).collect(),
            installed: &held,
            check: true,
        };
        build("k.conf", &running, &n.config, &n.diagnostics, &decisions)
    }

    fn fate(p: &ReloadPlan, kind: &str, name: &str) -> (Fate, Vec<String>) {
        let o = p
            .objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
            .unwrap_or_else(|| panic!("{kind} {name} not in {p:#?}"));
        (o.fate, o.detail.clone())
    }

    fn addrs(p: &ReloadPlan) -> Vec<String> {
        p.addresses
            .iter()
            .map(|a| format!("{} {} {} {}", a.op, a.what, a.instance, a.when))
            .collect()
    }

    #[test]
    fn the_same_file_changes_nothing() {
        let a = inst("VI_1", 1, 100, &["10.0.0.1/24"], "");
        let p = plan_of(&a, &format!("# moved\n\n{a}"), &["VI_1"]);
        assert!(!p.changes(), "{p:#?}");
        assert_eq!(p.exit_code(), EXIT_NOTHING);
        assert_eq!(p.reconcile.unchanged, 1);
        assert!(p.text().contains("nothing would change"), "{}", p.text());
    }

    #[test]
    fn updates_replacements_additions_and_removals() {
        let old = inst("VI_1", 1, 100, &["10.0.0.1/24"], "")
            + &inst("VI_2", 2, 100, &["10.0.0.2/24"], "")
            + &inst("VI_3", 3, 100, &["10.0.0.3/24"], "")
            + &inst(
                "VI_5",
                5,
                100,
                &["10.0.0.5/24"],
                " unicast_src_ip 10.0.0.9\n unicast_peer {\n  10.0.0.8\n }\n",
            );
        let new = inst("VI_1", 1, 150, &["10.0.0.1/24", "10.0.0.11/24"], "")
            + &inst("VI_2", 22, 100, &["10.0.0.2/24"], "")
            + &inst("VI_4", 4, 100, &["10.0.0.4/24"], "")
            + &inst(
                "VI_5",
                5,
                100,
                &["10.0.0.5/24"],
                " unicast_src_ip 10.0.0.7\n unicast_peer {\n  10.0.0.8\n }\n",
            );
        let p = plan_of(&old, &new, &["VI_1", "VI_2", "VI_5"]);
        let (f, d) = fate(&p, "vrrp_instance", "VI_1");
        assert_eq!(f, Fate::Updated);
        assert!(d.contains(&"priority 100 -> 150".to_string()), "{d:?}");
        assert!(d.contains(&"virtual_ipaddress".to_string()), "{d:?}");
        let (f, d) = fate(&p, "vrrp_instance", "VI_2");
        assert_eq!(
            (f, d),
            (
                Fate::Replaced,
                vec!["virtual_router_id 2 -> 22".to_string()]
            )
        );
        assert_eq!(fate(&p, "vrrp_instance", "VI_3").0, Fate::Removed);
        assert_eq!(fate(&p, "vrrp_instance", "VI_4").0, Fate::Added);
        let (f, d) = fate(&p, "vrrp_instance", "VI_5");
        assert_eq!(
            (f, d),
            (Fate::Replaced, vec!["unicast_src_ip changed".to_string()])
        );
        assert_eq!(
            addrs(&p),
            [
                "add 10.0.0.11/24 dev eth0 VI_1 now",
                "remove 10.0.0.2/24 dev eth0 VI_2 now",
                "add 10.0.0.2/24 dev eth0 VI_2 when MASTER",
                "add 10.0.0.4/24 dev eth0 VI_4 when MASTER",
                // VI_5's replacement keeps its VIPs (same key: it takes over the old state).
                // VI_3 did not hold its VIP: nothing to remove.
            ]
        );
        assert_eq!(
            p.reconcile,
            Counts {
                started: 2,
                stopped: 2,
                replaced: 1,
                updated: 1,
                unchanged: 0
            }
        );
        assert_eq!(p.exit_code(), EXIT_CHANGES);
        let t = p.text();
        assert!(
            t.contains("vrrp_instance VI_2: replaced (virtual_router_id 2 -> 22)"),
            "{t}"
        );
        assert!(
            t.contains("+ address 10.0.0.11/24 dev eth0 (VI_1, now)"),
            "{t}"
        );
        // JSON round trip (the control socket carries it).
        let back: ReloadPlan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn a_rejected_file_and_the_warnings_of_a_new_one() {
        let a = inst("VI_1", 1, 100, &["10.0.0.1/24"], "");
        let p = plan_of(&a, "vrrp_instance VI_1 {\n virtual_router_id 300\n}\n", &[]);
        assert!(p.rejected && !p.errors.is_empty(), "{p:#?}");
        assert_eq!(p.exit_code(), EXIT_REJECTED);
        assert!(p.text().contains("REJECTED"));
        let b = format!("global_defs {{\n  lvs_sync_daemon eth0 VI_9\n}}\n{a}");
        let p = plan_of(&a, &b, &[]);
        assert!(!p.rejected);
        assert!(
            !p.unsupported.is_empty() || !p.recoveries.is_empty(),
            "{p:#?}"
        );
    }

    #[test]
    fn scripts_sync_groups_and_real_servers() {
        let base = |cmd: &str, prio: u8, weight: u8, rs2: &str| {
            format!(
                "vrrp_script chk {{\n script \"{cmd}\"\n}}\nvrrp_sync_group G {{\n group {{\n  VI_1\n }}\n}}\n{}virtual_server 10.0.0.1 80 {{\n    protocol TCP\n lb_algo rr\n real_server 10.0.1.1 80 {{\n  weight {weight}\n  TCP_CHECK {{\n  }}\n }}\n real_server {rs2} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n",
                inst("VI_1", 1, prio, &["10.0.0.1/24"], " track_script {\n  chk\n }\n")
            )
        };
        let p = plan_of(
            &base("/bin/true", 100, 1, "10.0.1.2"),
            &base("/bin/false", 100, 5, "10.0.1.3"),
            &[],
        );
        let (f, d) = fate(&p, "vrrp_script", "chk");
        assert_eq!(
            (f, d),
            (
                Fate::Replaced,
                vec![
                    "script command or user changed: restarted from its initial state".to_string()
                ]
            )
        );
        assert_eq!(fate(&p, "vrrp_sync_group", "G").0, Fate::Unchanged);
        let rs = |ip: &str| format!("[10.0.0.1]:tcp:80 -> [{ip}]:tcp:80");
        assert_eq!(fate(&p, "real_server", &rs("10.0.1.1")).0, Fate::Updated);
        assert_eq!(fate(&p, "real_server", &rs("10.0.1.2")).0, Fate::Removed);
        assert_eq!(fate(&p, "real_server", &rs("10.0.1.3")).0, Fate::Added);
        assert_eq!(
            fate(&p, "checker", &format!("{} TCP_CHECK#1", rs("10.0.1.1"))).0,
            Fate::Unchanged
        );
        assert_eq!(
            fate(&p, "virtual_server", "[10.0.0.1]:tcp:80").0,
            Fate::Unchanged
        );
        // Same command, another interval: the hub restarts it with its result kept; a
        // checker with other settings is restarted with its state.
        let a = base("/bin/true", 100, 1, "10.0.1.2");
        let b = a
            .replace("script \"/bin/true\"", "script \"/bin/true\"\n interval 7")
            .replace(
                " real_server 10.0.1.1 80 {\n  weight 1\n  TCP_CHECK {\n",
                " real_server 10.0.1.1 80 {\n  weight 1\n  TCP_CHECK {\n   connect_timeout 9\n",
            );
        assert_ne!(a, b);
        let p = plan_of(&a, &b, &[]);
        let (f, d) = fate(&p, "vrrp_script", "chk");
        assert_eq!(f, Fate::Updated, "{d:?}");
        assert!(d.iter().any(|x| x.starts_with("interval")), "{d:?}");
        let (f, _) = fate(&p, "checker", &format!("{} TCP_CHECK#1", rs("10.0.1.1")));
        assert_eq!(f, Fate::Replaced);
        assert_eq!(fate(&p, "real_server", &rs("10.0.1.1")).0, Fate::Unchanged);
    }
}
