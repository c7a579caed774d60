//! keepalived's DBus objects as values: their paths, what each call on them answers and what
//! it asks the daemon to do. Pure (no bus, no actor): [`Objects::dispatch`] takes a decoded
//! method call and returns the reply and the effect, with GDBus's error names and texts so
//! that clients written against keepalived 2.2.7 see the same answers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::model::{Config, Family};

/// keepalived's default bus name (`dbus_service_name` overrides it).
pub const DEFAULT_SERVICE: &str = "org.keepalived.Vrrp1";
/// The daemon-wide interface (methods PrintData ... ReloadConfig, signals VrrpStarted ...).
pub const VRRP_IFACE: &str = "org.keepalived.Vrrp1.Vrrp";
/// One VRRP instance's interface (SendGarp, VrrpStatusChange, Name, State).
pub const INSTANCE_IFACE: &str = "org.keepalived.Vrrp1.Instance";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const INTROSPECTABLE: &str = "org.freedesktop.DBus.Introspectable";
const PEER: &str = "org.freedesktop.DBus.Peer";
const ROOT: &str = "/org/keepalived/Vrrp1";
/// The path segment of an instance without an interface (keepalived's `no_interface`).
const NO_INTERFACE: &str = "none";

/// GDBus's error names for what keepalived's object tree refuses.
pub const UNKNOWN_METHOD: &str = "org.freedesktop.DBus.Error.UnknownMethod";
/// A call with the wrong arguments, or a property that does not exist or cannot be set.
pub const INVALID_ARGS: &str = "org.freedesktop.DBus.Error.InvalidArgs";

/// keepalived's state names (`State` property) for its state numbers.
pub fn state_name(state: u32) -> &'static str {
    match state {
        0 => "Init",
        1 => "Backup",
        2 => "Master",
        3 => "Fault",
        97 => "Deleted",
        98 => "Stop",
        _ => "Unknown",
    }
}

/// A path segment as keepalived writes an interface name: every byte that is not an ASCII
/// letter or digit becomes `_` (the only other character DBus paths allow).
pub fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

/// `/org/keepalived/Vrrp1`, with keepalived's network namespace segment (`-s NAME`); the
/// name is not made valid (keepalived does not either: an invalid one fails to register).
pub fn root_path(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{ROOT}/{ns}"),
        None => ROOT.to_string(),
    }
}

/// One VRRP instance's object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceObject {
    /// The `vrrp_instance` name (the `Name` property, and how SendGarp finds the actor).
    pub name: String,
    /// Its path: `ROOT/Instance/IFACE/VRID/IPv4|IPv6`.
    pub path: String,
}

/// What a call asks the daemon to do, besides the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// PrintData: keepalived's data dump (as SIGUSR1).
    DumpData,
    /// PrintStats: the stats dump (as SIGUSR2).
    DumpStats,
    /// PrintStatsClear: the stats dump, then the counters restart.
    StatsClear,
    /// ReloadConfig: reload (as SIGHUP).
    Reload,
    /// SendGarp on this instance: one round of gratuitous ARPs/NAs if its VIPs are set.
    SendGarp(String),
}

/// A property value, typed as keepalived sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Property {
    /// `Name`: keepalived answers a one-string structure `(s)` (its introspection says `s`).
    Name(String),
    /// `State`: `(us)`, the state number and its name.
    State(u32, &'static str),
}

/// The reply to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// An empty method return.
    Empty,
    /// One string (Introspect, GetMachineId).
    Text(String),
    /// Properties.Get: the value in a variant.
    Property(Property),
    /// Properties.GetAll: name -> value.
    All(Vec<(&'static str, Property)>),
    /// An error: its DBus name and message.
    Error(&'static str, String),
}

/// A decoded method call. `args` are the string arguments when the body's signature is made
/// of strings only (`s`, `ss`); `signature` is the body's signature as sent.
#[derive(Clone, Debug, Default)]
pub struct Call<'a> {
    /// The object path.
    pub path: &'a str,
    /// The interface (a call may leave it out).
    pub interface: Option<&'a str>,
    /// The method.
    pub member: &'a str,
    /// The body's signature (`""` for none).
    pub signature: &'a str,
    /// The string arguments.
    pub args: Vec<String>,
}

/// The object tree keepalived registers for a configuration: the daemon object and one object
/// per VRRP instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objects {
    /// The daemon object's path (`ROOT[/NS]/Vrrp`).
    pub vrrp_path: String,
    /// The instances' objects, in configuration order. Two instances that would share a path
    /// keep the first (keepalived's registration of the second fails).
    pub instances: Vec<InstanceObject>,
}

impl Objects {
    /// The objects for `config`'s VRRP instances under `root` ([`root_path`]).
    pub fn new(config: &Config, root: &str) -> Objects {
        let mut seen = BTreeSet::new();
        let instances = config
            .instances
            .iter()
            .filter_map(|i| {
                let path = format!(
                    "{root}/Instance/{}/{}/{}",
                    path_segment(i.interface.as_deref().unwrap_or(NO_INTERFACE)),
                    i.vrid,
                    match i.family {
                        Family::V4 => "IPv4",
                        Family::V6 => "IPv6",
                    }
                );
                seen.insert(path.clone()).then(|| InstanceObject {
                    name: i.name.clone(),
                    path,
                })
            })
            .collect();
        Objects {
            vrrp_path: format!("{root}/Vrrp"),
            instances,
        }
    }

    /// The instance object at `path`.
    pub fn instance_at(&self, path: &str) -> Option<&InstanceObject> {
        self.instances.iter().find(|o| o.path == path)
    }

    /// The instance object of the instance `name`.
    pub fn instance_named(&self, name: &str) -> Option<&InstanceObject> {
        self.instances.iter().find(|o| o.name == name)
    }

    /// The direct children of `path` in the tree (for Introspect's `<node name=...>`).
    fn children(&self, path: &str) -> BTreeSet<String> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        std::iter::once(self.vrrp_path.as_str())
            .chain(self.instances.iter().map(|o| o.path.as_str()))
            .filter_map(|p| p.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Answers a call. `states` are the instances' keepalived state numbers by name (an
    /// instance not in it is still INIT); `machine_id` is what Peer.GetMachineId answers.
    pub fn dispatch(
        &self,
        call: &Call<'_>,
        states: &HashMap<String, u32>,
        machine_id: &str,
    ) -> (Reply, Option<Effect>) {
        let instance = self.instance_at(call.path);
        let is_vrrp = call.path == self.vrrp_path;
        let own = if is_vrrp {
            Some(VRRP_IFACE)
        } else {
            instance.map(|_| INSTANCE_IFACE)
        };
        // GDBus answers Peer on every path, registered or not.
        if call.interface == Some(PEER) || (call.interface.is_none() && call.member == "Ping") {
            return match (call.member, call.signature) {
                ("Ping", "") => (Reply::Empty, None),
                ("GetMachineId", "") => (Reply::Text(machine_id.to_string()), None),
                ("Ping" | "GetMachineId", s) => (wrong_args(s, ""), None),
                (m, _) => (no_such_method(m), None),
            };
        }
        if call.interface == Some(INTROSPECTABLE)
            || (call.interface.is_none() && call.member == "Introspect")
        {
            return match (call.member, call.signature) {
                ("Introspect", "") => (Reply::Text(self.introspect(call.path, own)), None),
                ("Introspect", s) => (wrong_args(s, ""), None),
                (m, _) => (no_such_method(m), None),
            };
        }
        let Some(own) = own else {
            return (
                Reply::Error(
                    UNKNOWN_METHOD,
                    format!("Object does not exist at path “{}”", call.path),
                ),
                None,
            );
        };
        match call.interface {
            Some(PROPERTIES) => (self.properties(call, own, instance, states), None),
            Some(i) if i != own => (
                Reply::Error(
                    UNKNOWN_METHOD,
                    format!("No such interface “{i}” on object at path {}", call.path),
                ),
                None,
            ),
            _ => Self::method(call, own, instance),
        }
    }

    /// The methods of keepalived's two interfaces.
    fn method(
        call: &Call<'_>,
        own: &str,
        instance: Option<&InstanceObject>,
    ) -> (Reply, Option<Effect>) {
        let effect = match (own, call.member) {
            (VRRP_IFACE, "PrintData") => Effect::DumpData,
            (VRRP_IFACE, "PrintStats") => Effect::DumpStats,
            (VRRP_IFACE, "PrintStatsClear") => Effect::StatsClear,
            (VRRP_IFACE, "ReloadConfig") => Effect::Reload,
            (INSTANCE_IFACE, "SendGarp") => match instance {
                Some(o) => Effect::SendGarp(o.name.clone()),
                None => return (no_such_method(call.member), None),
            },
            (_, m) => return (no_such_method(m), None),
        };
        if !call.signature.is_empty() {
            return (wrong_args(call.signature, ""), None);
        }
        (Reply::Empty, Some(effect))
    }

    /// org.freedesktop.DBus.Properties on one of our objects.
    fn properties(
        &self,
        call: &Call<'_>,
        own: &str,
        instance: Option<&InstanceObject>,
        states: &HashMap<String, u32>,
    ) -> Reply {
        let expected = match call.member {
            "Get" => "ss",
            "GetAll" => "s",
            "Set" => "ssv",
            m => return no_such_method(m),
        };
        if call.signature != expected {
            return wrong_args(call.signature, expected);
        }
        let iface = call.args.first().map(String::as_str).unwrap_or_default();
        if iface != own {
            return Reply::Error(INVALID_ARGS, format!("No such interface “{iface}”"));
        }
        let value = |name: &str| -> Option<Property> {
            let o = instance?;
            match name {
                "Name" => Some(Property::Name(o.name.clone())),
                "State" => {
                    let s = states.get(&o.name).copied().unwrap_or(0);
                    Some(Property::State(s, state_name(s)))
                }
                _ => None,
            }
        };
        let property = call.args.get(1).map(String::as_str).unwrap_or_default();
        match call.member {
            "Get" => match value(property) {
                Some(v) => Reply::Property(v),
                None => Reply::Error(INVALID_ARGS, format!("No such property “{property}”")),
            },
            "Set" => match value(property) {
                Some(_) => Reply::Error(
                    INVALID_ARGS,
                    format!("Property “{property}” is not writable"),
                ),
                None => Reply::Error(INVALID_ARGS, format!("No such property “{property}”")),
            },
            _ => Reply::All(
                ["Name", "State"]
                    .into_iter()
                    .filter_map(|n| value(n).map(|v| (n, v)))
                    .collect(),
            ),
        }
    }

    /// The introspection XML of `path`: the standard interfaces and ours where an object is
    /// registered, and the child nodes (as GDBus writes it, with keepalived's interface).
    pub fn introspect(&self, path: &str, own: Option<&str>) -> String {
        let mut x = String::from(
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n\
             \x20                     \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n\
             <node>\n",
        );
        if let Some(own) = own {
            x.push_str(STANDARD_INTERFACES);
            x.push_str(if own == VRRP_IFACE {
                VRRP_INTERFACE_XML
            } else {
                INSTANCE_INTERFACE_XML
            });
        }
        for c in self.children(path) {
            x.push_str(&format!("  <node name=\"{c}\"/>\n"));
        }
        x.push_str("</node>\n");
        x
    }
}

/// The state numbers of the instances a new object tree keeps (by name), for a reload.
pub fn kept_states(states: &HashMap<String, u32>, objects: &Objects) -> HashMap<String, u32> {
    let names: BTreeMap<&str, ()> = objects
        .instances
        .iter()
        .map(|o| (o.name.as_str(), ()))
        .collect();
    states
        .iter()
        .filter(|(n, _)| names.contains_key(n.as_str()))
        .map(|(n, s)| (n.clone(), *s))
        .collect()
}

fn no_such_method(member: &str) -> Reply {
    Reply::Error(UNKNOWN_METHOD, format!("No such method “{member}”"))
}

fn wrong_args(got: &str, expected: &str) -> Reply {
    Reply::Error(
        INVALID_ARGS,
        format!("Type of message, “({got})”, does not match expected type “({expected})”"),
    )
}

const STANDARD_INTERFACES: &str = r#"  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
"#;

const VRRP_INTERFACE_XML: &str = r#"  <interface name="org.keepalived.Vrrp1.Vrrp">
    <method name="PrintData"/>
    <method name="PrintStats"/>
    <method name="PrintStatsClear"/>
    <method name="ReloadConfig"/>
    <signal name="VrrpStarted"/>
    <signal name="VrrpReloaded"/>
    <signal name="VrrpStopped"/>
  </interface>
"#;

const INSTANCE_INTERFACE_XML: &str = r#"  <interface name="org.keepalived.Vrrp1.Instance">
    <method name="SendGarp"/>
    <signal name="VrrpStatusChange">
      <arg type="u" name="status"/>
    </signal>
    <property type="s" name="Name" access="read"/>
    <property type="(us)" name="State" access="read"/>
  </interface>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> Objects {
        let text =
            "vrrp_instance VI_1 {\n interface eth0.10\n virtual_router_id 51\n priority 100\n \
                    virtual_ipaddress { 10.0.0.1 }\n}\n\
                    vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 52\n priority 100\n \
                    virtual_ipaddress { fd00::1 }\n}\n";
        let loaded = crate::config::load_str("t.conf", text, &Default::default());
        assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
        Objects::new(&loaded.config, &root_path(None))
    }

    fn call<'a>(
        path: &'a str,
        iface: &'a str,
        member: &'a str,
        sig: &'a str,
        args: &[&str],
    ) -> Call<'a> {
        Call {
            path,
            interface: Some(iface),
            member,
            signature: sig,
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn paths_as_keepalived_writes_them() {
        let o = objects();
        assert_eq!(o.vrrp_path, "/org/keepalived/Vrrp1/Vrrp");
        let paths: Vec<_> = o.instances.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/org/keepalived/Vrrp1/Instance/eth0_10/51/IPv4",
                "/org/keepalived/Vrrp1/Instance/eth0/52/IPv6"
            ]
        );
        assert_eq!(root_path(Some("blue")), "/org/keepalived/Vrrp1/blue");
        assert_eq!(path_segment("br-lan.5é"), "br_lan_5__");
    }

    #[test]
    fn properties_name_and_state() {
        let o = objects();
        let p = "/org/keepalived/Vrrp1/Instance/eth0_10/51/IPv4";
        let mut states = HashMap::new();
        let get = |states: &HashMap<String, u32>, prop: &str| {
            o.dispatch(
                &call(p, PROPERTIES, "Get", "ss", &[INSTANCE_IFACE, prop]),
                states,
                "m",
            )
            .0
        };
        assert_eq!(
            get(&states, "Name"),
            Reply::Property(Property::Name("VI_1".into()))
        );
        // Not transitioned yet: INIT.
        assert_eq!(
            get(&states, "State"),
            Reply::Property(Property::State(0, "Init"))
        );
        states.insert("VI_1".to_string(), 2);
        assert_eq!(
            get(&states, "State"),
            Reply::Property(Property::State(2, "Master"))
        );
        let all = o.dispatch(
            &call(p, PROPERTIES, "GetAll", "s", &[INSTANCE_IFACE]),
            &states,
            "m",
        );
        assert_eq!(
            all.0,
            Reply::All(vec![
                ("Name", Property::Name("VI_1".into())),
                ("State", Property::State(2, "Master"))
            ])
        );
        // The daemon object has no properties.
        let all = o.dispatch(
            &call(
                "/org/keepalived/Vrrp1/Vrrp",
                PROPERTIES,
                "GetAll",
                "s",
                &[VRRP_IFACE],
            ),
            &states,
            "m",
        );
        assert_eq!(all.0, Reply::All(vec![]));
    }

    #[test]
    fn gdbus_errors() {
        let o = objects();
        let s = HashMap::new();
        let p = "/org/keepalived/Vrrp1/Instance/eth0_10/51/IPv4";
        let err = |c: Call<'_>| match o.dispatch(&c, &s, "m").0 {
            Reply::Error(n, m) => (n, m),
            r => panic!("not an error: {r:?}"),
        };
        assert_eq!(
            err(call(p, PROPERTIES, "Get", "ss", &[INSTANCE_IFACE, "Foo"])),
            (INVALID_ARGS, "No such property “Foo”".into())
        );
        assert_eq!(
            err(call(p, PROPERTIES, "Get", "ss", &["org.x.Nope", "Name"])),
            (INVALID_ARGS, "No such interface “org.x.Nope”".into())
        );
        assert_eq!(
            err(call(p, PROPERTIES, "Set", "ssv", &[INSTANCE_IFACE, "Name"])),
            (INVALID_ARGS, "Property “Name” is not writable".into())
        );
        assert_eq!(
            err(call(p, INSTANCE_IFACE, "Foo", "", &[])),
            (UNKNOWN_METHOD, "No such method “Foo”".into())
        );
        assert_eq!(
            err(call(p, INSTANCE_IFACE, "SendGarp", "s", &["x"])),
            (
                INVALID_ARGS,
                "Type of message, “(s)”, does not match expected type “()”".into()
            )
        );
        assert_eq!(
            err(call(
                "/org/keepalived/Vrrp1/Nope",
                INSTANCE_IFACE,
                "SendGarp",
                "",
                &[]
            )),
            (
                UNKNOWN_METHOD,
                "Object does not exist at path “/org/keepalived/Vrrp1/Nope”".into()
            )
        );
        assert_eq!(
            err(call(p, "org.x.Nope", "Foo", "", &[])),
            (
                UNKNOWN_METHOD,
                format!("No such interface “org.x.Nope” on object at path {p}")
            )
        );
    }

    #[test]
    fn methods_and_their_effects() {
        let o = objects();
        let s = HashMap::new();
        let v = "/org/keepalived/Vrrp1/Vrrp";
        for (m, e) in [
            ("PrintData", Effect::DumpData),
            ("PrintStats", Effect::DumpStats),
            ("PrintStatsClear", Effect::StatsClear),
            ("ReloadConfig", Effect::Reload),
        ] {
            assert_eq!(
                o.dispatch(&call(v, VRRP_IFACE, m, "", &[]), &s, "m"),
                (Reply::Empty, Some(e))
            );
        }
        let p = "/org/keepalived/Vrrp1/Instance/eth0/52/IPv6";
        assert_eq!(
            o.dispatch(&call(p, INSTANCE_IFACE, "SendGarp", "", &[]), &s, "m"),
            (Reply::Empty, Some(Effect::SendGarp("VI_6".into())))
        );
        // The instance method is not on the daemon object, nor the other way round.
        assert!(matches!(
            o.dispatch(&call(v, VRRP_IFACE, "SendGarp", "", &[]), &s, "m")
                .0,
            Reply::Error(..)
        ));
        assert!(matches!(
            o.dispatch(&call(p, INSTANCE_IFACE, "PrintData", "", &[]), &s, "m")
                .0,
            Reply::Error(..)
        ));
        // Peer answers everywhere (GDBus), even where no object is.
        let ping = Call {
            path: "/org",
            interface: Some(PEER),
            member: "Ping",
            ..Default::default()
        };
        assert_eq!(o.dispatch(&ping, &s, "m").0, Reply::Empty);
        let id = Call {
            member: "GetMachineId",
            ..ping
        };
        assert_eq!(o.dispatch(&id, &s, "abc").0, Reply::Text("abc".into()));
    }

    #[test]
    fn introspection_lists_children_and_interfaces() {
        let o = objects();
        let s = HashMap::new();
        let intro = |p: &str| match o
            .dispatch(&call(p, INTROSPECTABLE, "Introspect", "", &[]), &s, "m")
            .0
        {
            Reply::Text(t) => t,
            r => panic!("{r:?}"),
        };
        assert!(intro("/").contains("<node name=\"org\"/>"));
        let mid = intro("/org/keepalived/Vrrp1");
        assert!(
            mid.contains("<node name=\"Instance\"/>") && mid.contains("<node name=\"Vrrp\"/>"),
            "{mid}"
        );
        assert!(
            !mid.contains("<interface"),
            "no object at an inner node: {mid}"
        );
        let i = intro("/org/keepalived/Vrrp1/Instance");
        assert!(
            i.contains("<node name=\"eth0_10\"/>") && i.contains("<node name=\"eth0\"/>"),
            "{i}"
        );
        let leaf = intro("/org/keepalived/Vrrp1/Instance/eth0/52/IPv6");
        assert!(leaf.contains("<interface name=\"org.keepalived.Vrrp1.Instance\">"));
        assert!(leaf.contains("<property type=\"(us)\" name=\"State\" access=\"read\"/>"));
        assert!(!leaf.contains("<node name"), "{leaf}");
        let v = intro("/org/keepalived/Vrrp1/Vrrp");
        assert!(
            v.contains("<signal name=\"VrrpReloaded\"/>")
                && v.contains("<method name=\"ReloadConfig\"/>")
        );
    }

    #[test]
    fn a_reload_keeps_the_states_of_the_instances_it_keeps() {
        let o = objects();
        let states: HashMap<String, u32> = [("VI_1".to_string(), 2), ("GONE".to_string(), 1)]
            .into_iter()
            .collect();
        let kept = kept_states(&states, &o);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get("VI_1"), Some(&2));
    }
}
