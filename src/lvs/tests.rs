//! Unit tests of the pure parts: planning and virtual-server state.

use super::plan::{plan, CheckSpec, Plan};
use super::state::{Effect, VsState, WeightAdj};
use crate::config::{load_str, LoadOptions};
use crate::ipvs::{
    DestKey, Family, ForwardMethod, Persistence, Scheduler, ServiceFlags, ServiceKey,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn load(text: &str) -> Plan {
    let l = load_str("test.conf", text, &LoadOptions::default());
    assert!(!l.diagnostics.has_errors(), "{:?}", l.diagnostics);
    plan(&l.config)
}

fn weights(d: &BTreeMap<DestKey, crate::ipvs::Destination>) -> Vec<(String, u32)> {
    d.iter().map(|(k, v)| (k.to_string(), v.weight)).collect()
}

fn ws(v: &[(&str, u32)]) -> Vec<(String, u32)> {
    v.iter().map(|(a, w)| (a.to_string(), *w)).collect()
}

#[test]
fn group_expansion_and_service_settings() {
    let p = load(
        r#"
virtual_server_group G1 {
    10.0.0.1-3 80
    10.0.1.0 8080
    fwmark 7
}
virtual_server group G1 {
    lb_algo wrr
    lb_kind DR
    persistence_timeout 120
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 192.168.1.10 80 { weight 3 }
}
virtual_server fwmark 5 {
    lb_algo sh
    sh-port
    real_server 192.168.1.11 { weight 2 }
}
virtual_server 10.0.0.9 443 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    ops
    real_server 192.168.1.12 {
        TCP_CHECK { connect_port 443 }
    }
}
"#,
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let g = &p.virtual_servers[0];
    assert_eq!(g.name, "[G1]:0");
    let keys: Vec<ServiceKey> = g.services.iter().map(|s| s.key).collect();
    assert_eq!(keys.len(), 5);
    assert!(keys.contains(&ServiceKey::tcp(ip("10.0.0.1"), 80)));
    assert!(keys.contains(&ServiceKey::tcp(ip("10.0.0.3"), 80)));
    assert!(keys.contains(&ServiceKey::tcp(ip("10.0.1.0"), 8080)));
    assert!(keys.contains(&ServiceKey::fwmark(Family::V4, 7)));
    for s in &g.services {
        assert_eq!(s.scheduler, Scheduler::Wrr);
        assert_eq!(
            s.persistence,
            Some(Persistence {
                timeout: 120,
                prefix_len: 24
            })
        );
    }
    assert_eq!(g.real_servers[0].dest.forward, ForwardMethod::DirectRoute);
    assert_eq!(g.real_servers[0].dest.weight, 3);

    let f = &p.virtual_servers[1];
    assert_eq!(f.name, "FWM 5");
    assert_eq!(f.services[0].key, ServiceKey::fwmark(Family::V4, 5));
    assert_eq!(f.services[0].flags, ServiceFlags::SH_PORT);
    assert_eq!(f.real_servers[0].dest.port, 0);

    let u = &p.virtual_servers[2];
    assert_eq!(u.name, "[10.0.0.9]:udp:443");
    assert_eq!(u.services[0].key, ServiceKey::udp(ip("10.0.0.9"), 443));
    assert_eq!(u.services[0].flags, ServiceFlags::ONE_PACKET);
    assert_eq!(
        u.real_servers[0].dest.port, 443,
        "RS port defaults to the VS port"
    );
    assert_eq!(u.real_servers[0].name, "[192.168.1.12]:udp:443");
    assert_eq!(u.real_servers[0].dest.forward, ForwardMethod::Masquerade);
}

#[test]
fn checker_defaults_follow_keepalived() {
    let p = load(
        r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    delay_loop 10
    real_server 192.168.1.1 80 {
        HTTP_GET { url { path / } }
        MISC_CHECK { misc_path "/bin/true" }
        DNS_CHECK { }
        TCP_CHECK {
            connect_timeout 2
            retry 4
            delay_before_retry 0.5
            warmup 0
        }
    }
}
"#,
    );
    let c = &p.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(c[0].kind, "HTTP_GET");
    assert_eq!(c[0].params.retry, 1);
    assert_eq!(c[0].params.delay_before_retry, Duration::from_secs(3));
    assert_eq!(c[0].params.delay_loop, Duration::from_secs(10));
    assert_eq!(c[0].params.warmup, Duration::from_secs(10));
    match &c[0].spec {
        CheckSpec::Http { urls, target, .. } => {
            assert_eq!(urls[0].status, vec![(200, 299)]);
            assert_eq!(target.timeout, Duration::from_secs(5));
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(c[1].params.retry, 0);
    assert!(
        matches!(&c[1].spec, CheckSpec::Misc { timeout, .. } if *timeout == Duration::from_secs(10))
    );
    assert_eq!(c[2].params.retry, 3);
    assert_eq!(c[2].params.delay_before_retry, Duration::from_secs(10));
    assert_eq!(c[3].params.retry, 4);
    assert_eq!(c[3].params.delay_before_retry, Duration::from_millis(500));
    assert_eq!(c[3].params.warmup, Duration::ZERO);
    assert!(
        matches!(&c[3].spec, CheckSpec::Tcp(t) if t.timeout == Duration::from_secs(2) && t.addr.port() == 80)
    );
}

fn four_servers(extra_vs: &str, extra_rs: &str) -> Plan {
    load(&format!(
        r#"
virtual_server 10.0.0.1 80 {{
    protocol TCP
    {extra_vs}
    real_server 192.168.1.1 80 {{
        weight 1
        {extra_rs}
        TCP_CHECK {{
        }}
    }}
    real_server 192.168.1.2 80 {{
        weight 1
        {extra_rs}
        TCP_CHECK {{
        }}
    }}
    real_server 192.168.1.3 80 {{
        weight 1
        {extra_rs}
        TCP_CHECK {{
        }}
    }}
    real_server 192.168.1.4 80 {{
        weight 1
        {extra_rs}
        TCP_CHECK {{
        }}
    }}
}}
"#
    ))
}

fn quorum_effects(fx: &[Effect]) -> Vec<bool> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Quorum { up, .. } => Some(*up),
            _ => None,
        })
        .collect()
}

#[test]
fn quorum_with_hysteresis() {
    let p = four_servers("quorum 3\n    hysteresis 1", "");
    let vs = &p.virtual_servers[0];
    let (mut s, fx) = VsState::start(vs);
    assert!(s.quorum_up);
    assert!(fx.is_empty());
    // 4 -> 3 -> 2: still at or above quorum - hysteresis (2).
    assert!(quorum_effects(&s.set_checker(vs, 0, 0, false, None)).is_empty());
    assert!(quorum_effects(&s.set_checker(vs, 1, 0, false, None)).is_empty());
    assert!(s.quorum_up);
    // 1 < 2: lost.
    assert_eq!(
        quorum_effects(&s.set_checker(vs, 2, 0, false, None)),
        [false]
    );
    // Back to 3: below quorum + hysteresis (4), still down.
    assert!(quorum_effects(&s.set_checker(vs, 0, 0, true, None)).is_empty());
    assert!(quorum_effects(&s.set_checker(vs, 1, 0, true, None)).is_empty());
    assert!(!s.quorum_up);
    // 4: gained.
    assert_eq!(quorum_effects(&s.set_checker(vs, 2, 0, true, None)), [true]);
    assert!(s.quorum_up);
}

#[test]
fn failed_servers_leave_the_pool_and_the_sorry_server_takes_over() {
    let p = four_servers("sorry_server 192.168.9.9 8080", "");
    let vs = &p.virtual_servers[0];
    let (mut s, fx) = VsState::start(vs);
    assert!(fx.is_empty());
    assert_eq!(
        weights(&s.desired(vs)),
        ws(&[
            ("192.168.1.1:80", 1),
            ("192.168.1.2:80", 1),
            ("192.168.1.3:80", 1),
            ("192.168.1.4:80", 1)
        ])
    );
    let fx = s.set_checker(vs, 1, 0, false, None);
    assert_eq!(fx, [Effect::Rs { rs: 1, up: false }]);
    assert_eq!(s.desired(vs).len(), 3);
    for i in [0, 2, 3] {
        s.set_checker(vs, i, 0, false, None);
    }
    assert!(!s.quorum_up);
    assert_eq!(weights(&s.desired(vs)), ws(&[("192.168.9.9:8080", 1)]));
    // One back: quorum (1) regained, sorry server out.
    let fx = s.set_checker(vs, 2, 0, true, None);
    assert_eq!(quorum_effects(&fx), [true]);
    assert_eq!(weights(&s.desired(vs)), ws(&[("192.168.1.3:80", 1)]));
}

#[test]
fn inhibit_on_failure_keeps_weight_zero() {
    let p = four_servers(
        "sorry_server 192.168.9.9 80\n sorry_server_inhibit",
        "inhibit_on_failure",
    );
    let vs = &p.virtual_servers[0];
    let (mut s, _) = VsState::start(vs);
    assert_eq!(
        weights(&s.desired(vs)),
        ws(&[
            ("192.168.1.1:80", 1),
            ("192.168.1.2:80", 1),
            ("192.168.1.3:80", 1),
            ("192.168.1.4:80", 1),
            ("192.168.9.9:80", 0)
        ])
    );
    s.set_checker(vs, 0, 0, false, None);
    assert_eq!(
        weights(&s.desired(vs))[0],
        ("192.168.1.1:80".to_string(), 0)
    );
    for i in 1..4 {
        s.set_checker(vs, i, 0, false, None);
    }
    assert_eq!(
        weights(&s.desired(vs)),
        ws(&[
            ("192.168.1.1:80", 0),
            ("192.168.1.2:80", 0),
            ("192.168.1.3:80", 0),
            ("192.168.1.4:80", 0),
            ("192.168.9.9:80", 1)
        ])
    );
}

#[test]
fn alpha_starts_down_and_announces_the_sorry_server() {
    let p = four_servers("alpha\n sorry_server 192.168.9.9 80", "");
    let vs = &p.virtual_servers[0];
    let (s, fx) = VsState::start(vs);
    assert!(!s.quorum_up);
    assert!(matches!(
        fx[..],
        [Effect::Quorum {
            up: false,
            init: true,
            ..
        }]
    ));
    assert_eq!(weights(&s.desired(vs)), ws(&[("192.168.9.9:80", 1)]));
    // Without a sorry server nothing is announced at start (keepalived).
    let p = four_servers("alpha", "");
    let (s, fx) = VsState::start(&p.virtual_servers[0]);
    assert!(!s.quorum_up && fx.is_empty());
    assert!(s.desired(&p.virtual_servers[0]).is_empty());
}

#[test]
fn dynamic_and_file_weights() {
    let p = four_servers("quorum 5", "");
    let vs = &p.virtual_servers[0];
    let (mut s, _) = VsState::start(vs);
    assert!(!s.quorum_up);
    let fx = s.set_checker(vs, 0, 0, true, Some(WeightAdj::Absolute(10)));
    assert_eq!(fx[0], Effect::Weight { rs: 0, weight: 10 });
    assert_eq!(quorum_effects(&fx), [true]);
    assert_eq!(
        s.desired(vs)[&DestKey::new(ip("192.168.1.1"), 80)].weight,
        10
    );
    // A negative file delta bottoms out at 0 but the server stays alive.
    s.set_checker(vs, 1, 0, true, Some(WeightAdj::Delta(-5)));
    assert_eq!(
        s.desired(vs)[&DestKey::new(ip("192.168.1.2"), 80)].weight,
        0
    );
    // Back to the configured weight.
    s.set_checker(vs, 0, 0, true, Some(WeightAdj::None));
    assert_eq!(
        s.desired(vs)[&DestKey::new(ip("192.168.1.1"), 80)].weight,
        1
    );
}

#[test]
fn migrate_keeps_states_by_identity() {
    let old = load(
        r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 192.168.1.1 80 { MISC_CHECK { misc_path "/bin/false" } }
    real_server 192.168.1.2 80 { TCP_CHECK { } }
    real_server 192.168.1.3 80 { TCP_CHECK { } }
}
"#,
    );
    let new = load(
        r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 192.168.1.4 80 { TCP_CHECK { } }
    real_server 192.168.1.3 80 { TCP_CHECK { } }
    real_server 192.168.1.1 80 { MISC_CHECK { misc_path "/bin/true" } }
}
"#,
    );
    let (o, n) = (&old.virtual_servers[0], &new.virtual_servers[0]);
    let (mut s, _) = VsState::start(o);
    s.set_checker(o, 0, 0, false, None);
    s.set_checker(o, 2, 0, false, None);
    let (m, fx) = VsState::migrate(o, &s, n);
    // .4 is new (up), .3 kept down, .1's changed checker inherits down.
    assert_eq!(
        m.rs.iter().map(|r| r.alive).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert!(fx.iter().all(|e| !matches!(e, Effect::Rs { .. })));
    assert_eq!(weights(&m.desired(n)), ws(&[("192.168.1.4:80", 1)]));
}

#[test]
fn a_takeover_starts_real_servers_as_keepalived_left_them_in_ipvs() {
    let p = four_servers("", "inhibit_on_failure");
    let vs = &p.virtual_servers[0];
    let key = vs.services[0].key;
    let d = |a: &str| DestKey::new(ip(a), 80);
    // keepalived's table: .1 up, .2 inhibited (weight 0), .3 missing (down), .4 up.
    let mut dests = std::collections::HashMap::new();
    dests.insert(d("192.168.1.1"), 1);
    dests.insert(d("192.168.1.2"), 0);
    dests.insert(d("192.168.1.4"), 1);
    let mut table = super::Adopted::new();
    table.insert(key, dests);
    let seeds: Vec<Option<bool>> = vs
        .real_servers
        .iter()
        .map(|rs| super::adopted_up(&table, vs, rs))
        .collect();
    assert_eq!(seeds, [Some(true), Some(false), Some(false), Some(true)]);
    let (s, _) = VsState::start_seeded(vs, |rs| super::adopted_up(&table, vs, rs));
    // Down servers are inhibited (weight 0), the others keep their weight: keepalived's
    // table (.3, missing from it, comes back at weight 0 as inhibit_on_failure wants).
    assert_eq!(
        weights(&s.desired(vs)),
        ws(&[
            ("192.168.1.1:80", 1),
            ("192.168.1.2:80", 0),
            ("192.168.1.3:80", 0),
            ("192.168.1.4:80", 1)
        ])
    );
    // A fresh start would have put every server up.
    let (f, _) = VsState::start(vs);
    assert_eq!(
        weights(&f.desired(vs))
            .iter()
            .filter(|(_, w)| *w == 1)
            .count(),
        4
    );
    // A service keepalived did not have: the configured start.
    let empty = super::Adopted::new();
    assert_eq!(super::adopted_up(&empty, vs, &vs.real_servers[0]), None);
}
