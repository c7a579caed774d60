//! Unit tests on real dumps written by keepalived 2.2.7 (Debian) in a namespace pair: a sync
//! group of two instances and a use_vmac instance, MASTER on one host, BACKUP on the other.

use super::*;
use crate::config::model::Config;
use std::sync::Arc;

const MASTER: &str = include_str!("../../../tests/fixtures/takeover/master-sync-vmac.json");
const BACKUP: &str = include_str!("../../../tests/fixtures/takeover/backup-sync-vmac.json");
const CONF: &str = include_str!("../../../tests/fixtures/takeover/master-sync-vmac.conf");

fn config(text: &str) -> Config {
    let dir = std::env::temp_dir().join(format!("takeover-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!(
        "{:x}.conf",
        text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()
    ));
    std::fs::write(&p, text).unwrap();
    let loaded = crate::config::load(&p, &crate::config::LoadOptions::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn resolved(cfg: &Config) -> Vec<Arc<crate::config::model::VrrpInstance>> {
    let mut v = cfg.instances.clone();
    crate::vrrp::actor::params::resolve_vmacs(&mut v, &cfg.global);
    v
}

fn kernel(addrs: &[&str]) -> Vec<(String, IpAddr)> {
    addrs
        .iter()
        .map(|a| ("eth0".to_string(), a.parse().unwrap()))
        .collect()
}

const HELD: [&str; 4] = ["10.77.0.100", "10.77.0.101", "10.77.0.102", "10.77.0.103"];

#[test]
fn parses_keepalived_2_2_7_dumps() {
    let m = parse_dump(MASTER).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].name, "VI_A");
    assert_eq!(m[0].vrid, 61);
    assert_eq!(m[0].state, KaState::Master);
    assert_eq!(m[0].ifname, "eth0");
    assert_eq!(m[0].vmac, None);
    assert!(m[0].vipset);
    assert_eq!(
        m[0].addresses,
        vec![
            ("10.77.0.100".parse().unwrap(), 24),
            ("10.77.0.101".parse().unwrap(), 24)
        ]
    );
    assert_eq!((m[0].routes, m[0].rules), (1, 0));
    assert_eq!(m[2].name, "VI_V");
    assert_eq!(m[2].vmac.as_deref(), Some("vrrp.63"));
    assert_eq!(m[2].vip_ifname(), "vrrp.63");
    let b = parse_dump(BACKUP).unwrap();
    assert!(b.iter().all(|i| i.state == KaState::Backup && !i.vipset));
    assert_eq!(b[0].family(), Some(Family::V4));
}

#[test]
fn broken_dumps_are_errors_not_guesses() {
    assert!(parse_dump("").is_err());
    assert!(parse_dump("{}").is_err());
    assert!(parse_dump(&MASTER[..MASTER.len() / 2]).is_err());
    assert!(parse_dump(r#"[{"data":{"iname":"X","vrid":300,"state":2}}]"#).is_err());
    assert!(
        parse_dump(r#"[{"data":{"iname":"X","vrid":3,"state":2,"vips":["nonsense"]}}]"#).is_err()
    );
    assert_eq!(
        parse_address("fd00::1 dev eth0"),
        Some(("fd00::1".parse().unwrap(), 128))
    );
    assert_eq!(parse_address("10.0.0.1/33 dev eth0"), None);
}

#[test]
fn same_configuration_resumes_masters_and_keeps_backups() {
    let cfg = config(CONF);
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let p = plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)).unwrap();
    for n in ["VI_A", "VI_B", "VI_V"] {
        assert_eq!(p.start_of(n), Some(&Start::Resume), "{n}: {p:?}");
    }
    let p = plan(&refs, &parse_dump(BACKUP).unwrap(), &kernel(&[])).unwrap();
    for n in ["VI_A", "VI_B", "VI_V"] {
        assert_eq!(p.start_of(n), Some(&Start::Backup), "{n}: {p:?}");
    }
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

fn refusal(r: Result<Plan, TakeoverError>) -> String {
    match r {
        Err(TakeoverError::Refused(v)) => v.join("\n"),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_master_whose_vrid_changed_is_refused_a_backup_is_not() {
    let cfg = config(&CONF.replace("virtual_router_id 61", "virtual_router_id 71"));
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)));
    assert!(
        why.contains("MASTER instance VI_A (VRID 61 on eth0)"),
        "{why}"
    );
    assert!(why.contains("VI_A has VRID 71 on eth0"), "{why}");
    // On the BACKUP side nothing is held: the changed instance starts as a new one.
    let p = plan(&refs, &parse_dump(BACKUP).unwrap(), &kernel(&[])).unwrap();
    assert_eq!(p.start_of("VI_A"), Some(&Start::New));
    assert_eq!(p.start_of("VI_B"), Some(&Start::Backup));
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("VI_A (VRID 61 on eth0) is not in the configuration")));
}

#[test]
fn a_master_moved_to_another_interface_or_without_its_vmac_is_refused() {
    let cfg = config(&CONF.replace(" use_vmac\n", ""));
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)));
    assert!(why.contains("VI_V (VRID 63 on vrrp.63)"), "{why}");
}

#[test]
fn a_master_with_other_vips_or_routes_is_refused() {
    let cfg = config(&CONF.replace("10.77.0.102/24", "10.77.0.109/24"));
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)));
    assert!(
        why.contains(
            "keepalived holds 10.77.0.102/24 where the configuration's VI_B has 10.77.0.109/24"
        ),
        "{why}"
    );
    let cfg = config(&CONF.replace(" virtual_routes { 10.99.0.0/24 via 10.77.0.1 }\n", ""));
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)));
    assert!(why.contains("1 virtual route(s)"), "{why}");
}

#[test]
fn a_master_whose_vips_are_not_in_the_kernel_is_refused() {
    let cfg = config(CONF);
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(
        &refs,
        &parse_dump(MASTER).unwrap(),
        &kernel(&HELD[..3]),
    ));
    assert!(why.contains("10.77.0.103 is not in the kernel"), "{why}");
}

#[test]
fn a_master_missing_from_the_configuration_is_refused() {
    let cfg = config(
        &CONF
            .replace("vrrp_instance VI_B", "vrrp_instance VI_X")
            .replace("group { VI_A VI_B }", "group { VI_A VI_X }"),
    );
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    // Renamed but same VRID and interface: adopted (the identity is VRID + interface).
    let p = plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)).unwrap();
    assert_eq!(p.start_of("VI_X"), Some(&Start::Resume));
    let cfg = config(&CONF.replace(
        "vrrp_instance VI_V { state BACKUP\n interface eth0\n use_vmac\n virtual_router_id 63\n priority 150\n advert_int 1\n virtual_ipaddress { 10.77.0.103/24 }\n}\n",
        "",
    ));
    let inst = resolved(&cfg);
    assert_eq!(inst.len(), 2);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let why = refusal(plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)));
    assert!(
        why.contains("VI_V (VRID 63 on vrrp.63) has no configured instance"),
        "{why}"
    );
    assert!(why.contains("left without an owner"), "{why}");
}

#[test]
fn the_kernel_after_the_stop_corrects_a_state_changed_since_the_dump() {
    let cfg = config(CONF);
    let inst = resolved(&cfg);
    let refs: Vec<_> = inst.iter().map(|i| &**i).collect();
    let masters = plan(&refs, &parse_dump(MASTER).unwrap(), &kernel(&HELD)).unwrap();
    let held = kernel(&HELD);
    assert!(recheck(&masters, &refs, &held, &held).is_empty());
    // VI_B gave up its VIP just before the stop.
    assert_eq!(
        recheck(
            &masters,
            &refs,
            &held,
            &kernel(&["10.77.0.100", "10.77.0.101", "10.77.0.103"])
        ),
        vec![("VI_B".to_string(), Start::Backup)]
    );
    let backups = plan(&refs, &parse_dump(BACKUP).unwrap(), &kernel(&[])).unwrap();
    assert!(recheck(&backups, &refs, &kernel(&[]), &kernel(&[])).is_empty());
    // VI_V became MASTER just before the stop; VI_A holds one of its two VIPs only: not MASTER.
    assert_eq!(
        recheck(
            &backups,
            &refs,
            &kernel(&[]),
            &kernel(&["10.77.0.103", "10.77.0.100"])
        ),
        vec![("VI_V".to_string(), Start::Resume)]
    );
    // VIPs already there while keepalived was BACKUP are not keepalived's: no MASTER.
    assert!(recheck(&backups, &refs, &held, &held).is_empty());
}
