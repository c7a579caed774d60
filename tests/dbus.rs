//! keepalived's DBus interface (`enable_dbus`) with the real parts: a private `dbus-daemon`
//! of the system-bus type (its socket in the lab directory, given to the daemons as
//! `DBUS_SYSTEM_BUS_ADDRESS`), `busctl` and `gdbus` as clients, `busctl monitor` recording
//! the signals. The same configuration (an IPv4 and an IPv6 instance, both MASTER) runs under
//! keepalived 2.2.7 and then under keepalived-rs; each run reads the object tree, the
//! introspection, the properties, the errors of bad calls, calls every method (PrintData and
//! PrintStats write their files, SendGarp sends one gratuitous ARP, ReloadConfig reloads) and
//! stops the daemon. Everything read must be the same, and so must the signals.

mod common;

use common::lab::{self, Lab};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const SERVICE: &str = "org.keepalived.Vrrp1";
const VRRP: &str = "/org/keepalived/Vrrp1/Vrrp";
const V4: &str = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4";
const V6: &str = "/org/keepalived/Vrrp1/Instance/eth0/52/IPv6";
const INSTANCE: &str = "org.keepalived.Vrrp1.Instance";

fn bus_conf(dir: &std::path::Path) -> String {
    format!(
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n \
         \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n  \
         <type>system</type>\n  <listen>unix:path={}/bus</listen>\n  <auth>EXTERNAL</auth>\n  \
         <policy context=\"default\">\n    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n    \
         <allow send_destination=\"*\" eavesdrop=\"true\"/>\n    <allow eavesdrop=\"true\"/>\n  \
         </policy>\n</busconfig>\n",
        dir.display()
    )
}

fn conf(lab: &Lab) -> String {
    let inst = |name: &str, vrid: u8, vip: String| {
        format!(
            "vrrp_instance {name} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority 150\n    advert_int 1\n    garp_master_delay 0\n    garp_master_repeat 1\n    \
             virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id lab\n    enable_dbus\n}}\n{}{}",
        inst("VI_4", 51, format!("{}/24", lab.vip4(100))),
        inst("VI_6", 52, format!("{}/64", lab.vip6(100)))
    )
}

/// What one daemon showed over DBus.
#[derive(Debug, Default)]
struct Seen {
    tree: String,
    introspect: Vec<String>,
    properties: Vec<String>,
    errors: Vec<String>,
    /// `(path, member, payload)` of the daemon's signals, in order.
    signals: Vec<(String, String, String)>,
    /// Gratuitous ARPs for the IPv4 VIP on the wire up to SendGarp's.
    garps: usize,
}

fn busctl(lab: &Lab, addr: &str, args: &[&str]) -> (bool, String) {
    let a = format!("--address={addr}");
    let mut v = vec!["busctl", a.as_str()];
    v.extend_from_slice(args);
    let o = lab.exec(1, &v);
    let text = if o.status.success() {
        String::from_utf8_lossy(&o.stdout).to_string()
    } else {
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    (o.status.success(), text)
}

fn state(lab: &Lab, addr: &str, path: &str) -> String {
    busctl(
        lab,
        addr,
        &["get-property", SERVICE, path, INSTANCE, "State"],
    )
    .1
}

/// The signals `busctl monitor --json=short` recorded from the daemon (the bus's own left out).
fn signals(lab: &Lab, monitor: &str) -> Vec<(String, String, String)> {
    lab.log(monitor)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["type"] == "signal" && m["sender"] != "org.freedesktop.DBus")
        .map(|m| {
            (
                m["path"].as_str().unwrap_or_default().to_string(),
                m["member"].as_str().unwrap_or_default().to_string(),
                m["payload"]["data"].to_string(),
            )
        })
        .collect()
}

fn run(lab: &mut Lab, addr: &str, who: &str, keepalived: bool) -> Seen {
    let monitor = format!("{who}-monitor");
    let a = format!("--address={addr}");
    // Line-buffered: the signals are read while it runs.
    lab.spawn(
        1,
        &monitor,
        &["stdbuf", "-oL", "busctl", &a, "monitor", "--json=short"],
    );
    assert!(
        lab.wait_for(Duration::from_secs(10), || lab
            .log(&monitor)
            .contains("Monitoring bus message stream")),
        "busctl monitor did not start\n{}",
        lab.log(&monitor)
    );
    // Gratuitous ARPs for the VIP, one line each as they go out.
    let cap = format!("{who}-cap");
    lab.spawn(
        1,
        &cap,
        &[
            "tshark",
            "-l",
            "-ni",
            "eth0",
            "-f",
            "arp",
            "-Y",
            "arp.isgratuitous == 1",
            "-T",
            "fields",
            "-e",
            "arp.src.proto_ipv4",
        ],
    );
    assert!(
        lab.wait_for(Duration::from_secs(15), || lab
            .log(&cap)
            .contains("Capturing on")),
        "tshark did not start\n{}",
        lab.log(&cap)
    );
    let vip = lab.vip4(100);
    let garps = |lab: &Lab| lab.log(&cap).lines().filter(|l| l.trim() == vip).count();
    let conf = lab.write(&format!("{who}.conf"), &conf(lab));
    let bus = format!("DBUS_SYSTEM_BUS_ADDRESS={addr}");
    let tmp = format!("TMPDIR={}/{who}", lab.dir.display());
    std::fs::create_dir_all(lab.dir.join(who)).unwrap();
    if keepalived {
        lab.start_keepalived_with(1, who, &[&bus, &tmp], &conf);
    } else {
        lab.start_rs_with(
            1,
            who,
            &[&bus, &tmp],
            OURS,
            &["-n", "-l", "-D", "-G"],
            &conf,
        );
    }
    let master = "(us) 2 \"Master\"";
    assert!(
        lab.wait_for(Duration::from_secs(20), || state(lab, addr, V4).trim()
            == master
            && state(lab, addr, V6).trim() == master
            && lab.has_addr(1, &lab.vip4(100))),
        "{who}: instances not MASTER over DBus: {} / {}\n{}",
        state(lab, addr, V4),
        state(lab, addr, V6),
        lab.logs(&[who])
    );
    let mut seen = Seen {
        tree: busctl(lab, addr, &["tree", SERVICE]).1,
        ..Seen::default()
    };
    for p in [VRRP, V4, V6, "/org/keepalived/Vrrp1/Instance", "/"] {
        seen.introspect
            .push(busctl(lab, addr, &["introspect", SERVICE, p]).1);
    }
    for p in [V4, V6] {
        for prop in ["Name", "State"] {
            seen.properties
                .push(busctl(lab, addr, &["get-property", SERVICE, p, INSTANCE, prop]).1);
        }
        let o = lab.exec(
            1,
            &[
                "gdbus",
                "call",
                "--address",
                addr,
                "--dest",
                SERVICE,
                "--object-path",
                p,
                "--method",
                "org.freedesktop.DBus.Properties.GetAll",
                INSTANCE,
            ],
        );
        seen.properties
            .push(String::from_utf8_lossy(&o.stdout).to_string());
    }
    let bad: &[&[&str]] = &[
        &["get-property", SERVICE, V4, INSTANCE, "Foo"],
        &[
            "get-property",
            SERVICE,
            V4,
            "org.keepalived.Vrrp1.Nope",
            "Name",
        ],
        &["set-property", SERVICE, V4, INSTANCE, "Name", "s", "x"],
        &["call", SERVICE, V4, INSTANCE, "Foo"],
        &["call", SERVICE, V4, INSTANCE, "SendGarp", "s", "x"],
        &["call", SERVICE, V4, "org.keepalived.Vrrp1.Nope", "Foo"],
        &[
            "call",
            SERVICE,
            "/org/keepalived/Vrrp1/Nope",
            INSTANCE,
            "SendGarp",
        ],
        &[
            "call",
            SERVICE,
            VRRP,
            "org.keepalived.Vrrp1.Vrrp",
            "SendGarp",
        ],
    ];
    for args in bad {
        let (ok, text) = busctl(lab, addr, args);
        assert!(!ok, "{who}: {args:?} succeeded: {text}");
        seen.errors.push(text);
    }
    // Methods: the dumps are written where the daemon's TMPDIR says.
    for (method, file) in [
        ("PrintData", "keepalived.data"),
        ("PrintStats", "keepalived.stats"),
    ] {
        let (ok, text) = busctl(
            lab,
            addr,
            &["call", SERVICE, VRRP, "org.keepalived.Vrrp1.Vrrp", method],
        );
        assert!(ok, "{who}: {method}: {text}");
        let path = lab.dir.join(who).join(file);
        assert!(
            lab.wait_for(Duration::from_secs(10), || path.exists()),
            "{who}: {method} wrote no {}",
            path.display()
        );
    }
    // One at the transition (garp_master_repeat 1, no delayed round), then one for SendGarp.
    assert!(
        lab.wait_for(Duration::from_secs(5), || garps(lab) >= 1),
        "{who}: no gratuitous ARP at the transition\n{}",
        lab.log(&cap)
    );
    let before = garps(lab);
    let (ok, text) = busctl(lab, addr, &["call", SERVICE, V4, INSTANCE, "SendGarp"]);
    assert!(ok, "{who}: SendGarp: {text}");
    assert!(
        lab.wait_for(Duration::from_secs(5), || garps(lab) > before),
        "{who}: no gratuitous ARP for SendGarp\n{}\n{}",
        lab.log(&cap),
        lab.logs(&[who])
    );
    seen.garps = garps(lab);
    let (ok, text) = busctl(
        lab,
        addr,
        &[
            "call",
            SERVICE,
            VRRP,
            "org.keepalived.Vrrp1.Vrrp",
            "ReloadConfig",
        ],
    );
    assert!(ok, "{who}: ReloadConfig: {text}");
    assert!(
        lab.wait_for(Duration::from_secs(15), || signals(lab, &monitor)
            .iter()
            .any(|(_, m, _)| m == "VrrpReloaded")),
        "{who}: no VrrpReloaded\n{:?}\n{}",
        signals(lab, &monitor),
        lab.logs(&[who])
    );
    lab.signal(who, libc::SIGTERM);
    assert!(
        lab.wait_exit(who, Duration::from_secs(15)).is_some(),
        "{who} did not stop"
    );
    assert!(
        lab.wait_for(Duration::from_secs(5), || signals(lab, &monitor)
            .iter()
            .any(|(_, m, _)| m == "VrrpStopped")),
        "{who}: no VrrpStopped\n{:?}",
        signals(lab, &monitor)
    );
    lab.signal(&cap, libc::SIGTERM);
    lab.wait_exit(&cap, Duration::from_secs(5));
    lab.signal(&monitor, libc::SIGTERM);
    lab.wait_exit(&monitor, Duration::from_secs(5));
    seen.signals = signals(lab, &monitor);
    seen
}

/// Starts the lab's private system bus in host 1; returns its address.
fn start_bus(lab: &mut Lab) -> String {
    let bc = lab.write("bus.conf", &bus_conf(&lab.dir));
    let c = bc.display().to_string();
    lab.spawn(
        1,
        "dbus-daemon",
        &["dbus-daemon", "--nofork", "--config-file", &c],
    );
    let sock = lab.dir.join("bus");
    assert!(
        lab.wait_for(Duration::from_secs(10), || sock.exists()),
        "dbus-daemon did not start\n{}",
        lab.log("dbus-daemon")
    );
    format!("unix:path={}", sock.display())
}

/// The signals of one object, in order.
fn of(signals: &[(String, String, String)], path: &str) -> Vec<(String, String)> {
    signals
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, m, d)| (m.clone(), d.clone()))
        .collect()
}

#[test]
fn same_objects_properties_methods_and_signals_as_keepalived() {
    if lab::skip_without(true, &["dbus-daemon", "busctl", "gdbus", "tshark"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let addr = start_bus(&mut lab);

    let ka = run(&mut lab, &addr, "ka", true);
    let rs = run(&mut lab, &addr, "rs", false);

    // Real content, not two empty answers agreeing.
    assert!(
        rs.tree
            .contains("/org/keepalived/Vrrp1/Instance/eth0/52/IPv6"),
        "{}",
        rs.tree
    );
    assert!(
        rs.properties[0].contains("(s) \"VI_4\""),
        "{:?}",
        rs.properties
    );
    assert_eq!(ka.tree, rs.tree, "busctl tree");
    for (k, r) in ka.introspect.iter().zip(&rs.introspect) {
        assert_eq!(k, r, "busctl introspect");
    }
    assert_eq!(ka.properties, rs.properties, "properties");
    assert_eq!(ka.errors, rs.errors, "errors of bad calls");
    // One gratuitous ARP at the transition and one for SendGarp.
    assert_eq!(ka.garps, 2, "keepalived's gratuitous ARPs");
    assert_eq!(rs.garps, ka.garps, "gratuitous ARPs");
    // Signals: the daemon object's in the same order; each instance's states end the same way
    // (MASTER before the reload, STOP at the end); the first states may be signalled before
    // or after the transitions depending on when the bus is acquired.
    assert_eq!(
        of(&ka.signals, VRRP),
        of(&rs.signals, VRRP),
        "{:#?}\n{:#?}",
        ka.signals,
        rs.signals
    );
    assert_eq!(
        of(&ka.signals, VRRP)
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        ["VrrpStarted", "VrrpReloaded", "VrrpStopped"]
    );
    for p in [V4, V6] {
        for s in [&ka.signals, &rs.signals] {
            let states: Vec<String> = of(s, p).into_iter().map(|(_, d)| d).collect();
            assert_eq!(
                states.iter().rev().take(2).rev().collect::<Vec<_>>(),
                ["[2]", "[98]"],
                "{p}: {s:#?}"
            );
            assert!(of(s, p).iter().all(|(m, _)| m == "VrrpStatusChange"));
        }
    }
}

/// Without `enable_dbus` the daemon has no bus connection at all; a reload that sets it
/// connects and serves the objects, a reload that clears it sends VrrpStopped and leaves the
/// bus (keepalived's dbus_start / dbus_stop on reload).
#[test]
fn a_reload_turns_dbus_on_and_off() {
    if lab::skip_without(false, &["dbus-daemon", "busctl"]) {
        return;
    }
    let _g = lab::serial();
    let mut lab = Lab::new(1);
    let addr = start_bus(&mut lab);
    let with = conf(&lab);
    let without = with.replace("    enable_dbus\n", "");
    let path = lab.write("rs.conf", &without);
    let baseline = busctl(&lab, &addr, &["list", "--unique", "--no-legend"])
        .1
        .lines()
        .count();
    let bus = format!("DBUS_SYSTEM_BUS_ADDRESS={addr}");
    lab.start_rs_with(1, "rs", &[&bus], OURS, &["-n", "-l", "-D", "-G"], &path);
    let vip = lab.vip4(100);
    assert!(lab.wait_for(Duration::from_secs(20), || lab.has_addr(1, &vip)));
    // Connections on the bus (unique names; the asking busctl is one of them each time).
    let connections = |lab: &Lab| {
        busctl(lab, &addr, &["list", "--unique", "--no-legend"])
            .1
            .lines()
            .count()
    };
    let connected = |lab: &Lab| connections(lab) > baseline;
    let owned = |lab: &Lab| busctl(lab, &addr, &["status", SERVICE]).0;
    assert!(
        !connected(&lab) && !owned(&lab),
        "connected without enable_dbus"
    );

    lab.rewrite(&path, &with);
    assert!(lab.reload("rs", Duration::from_secs(10)));
    assert!(
        lab.wait_for(Duration::from_secs(10), || state(&lab, &addr, V4).trim()
            == "(us) 2 \"Master\""),
        "enable_dbus by reload: {}\n{}",
        state(&lab, &addr, V4),
        lab.log("rs")
    );
    assert!(
        connected(&lab),
        "not on the bus:\n{}\n{}",
        busctl(&lab, &addr, &["list"]).1,
        lab.log("rs")
    );

    lab.rewrite(&path, &without);
    assert!(lab.reload("rs", Duration::from_secs(10)));
    assert!(
        lab.wait_for(Duration::from_secs(10), || !connected(&lab) && !owned(&lab)),
        "still on the bus after enable_dbus was removed\n{}",
        lab.log("rs")
    );
    // The daemon itself carries on.
    assert!(lab.running("rs") && lab.has_addr(1, &vip));
}
