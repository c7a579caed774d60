//! The parser never panics: random bytes, and random token soups built from real keywords.

use keepalived_rs::config::{load_str, LoadOptions};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "real_server",
    "bfd_instance",
    "track_file",
    "virtual_server_group",
    "static_routes",
    "virtual_ipaddress",
    "virtual_routes",
    "unicast_peer",
    "track_script",
    "track_bfd",
    "group",
    "url",
    "HTTP_GET",
    "TCP_CHECK",
    "MISC_CHECK",
    "authentication",
    "auth_type",
    "PASS",
    "state",
    "MASTER",
    "priority",
    "virtual_router_id",
    "advert_int",
    "interface",
    "eth0",
    "10.0.0.1/24",
    "fd00::1",
    "dev",
    "label",
    "brd",
    "+",
    "-",
    "via",
    "table",
    "weight",
    "reverse",
    "script",
    "\"/bin/true arg\"",
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\n",
    "0",
    "255",
    "300",
    "-1",
    "0.03",
    "1e9",
    "include",
    "@x",
    "@^x",
    "$A=",
    "$A",
    "${A}",
    "~SEQ(i,1,3)",
    "~LST(x,a,b)",
    "~SEQ(",
    "\\",
    "\"",
    "'",
    "#",
    "!",
    "fwmark",
    "group",
    "lb_algo",
    "rr",
    "nb_get_retry",
    "digest",
    "status_code",
    "200-299",
];

fn opts() -> LoadOptions {
    let mut o = LoadOptions::default();
    o.preprocess.config_id = "x".into();
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str("/nonexistent-dir/fuzz.conf", &text, &opts());
    }

    #[test]
    fn keyword_soup_never_panics(idx in proptest::collection::vec(0..WORDS.len(), 0..300)) {
        let mut text = String::new();
        for i in idx {
            text.push_str(WORDS[i]);
            text.push(' ');
        }
        let _ = load_str("/nonexistent-dir/soup.conf", &text, &opts());
    }
}

#[test]
fn exponential_parameter_is_bounded() {
    let text = "$A=$A$A$A\nx $A\n";
    let l = load_str("p.conf", text, &opts());
    assert!(l.diagnostics.has_errors());
}

#[test]
fn huge_generator_is_refused() {
    let l = load_str(
        "g.conf",
        "~SEQ(i,1,100000000000) vrrp_instance VI_$i {\n",
        &opts(),
    );
    assert!(l.diagnostics.has_errors());
}

/// The keyword soup that kept CI busy past its 90 minutes: `$A` generating itself. It must be
/// refused with a located error; the watchdog turns a regression into a failure, not a hang.
#[test]
fn self_generating_parameter_soup_finishes() {
    let text = "$A= ~LST(x,a,b) $A HTTP_GET ~SEQ(i,1,3) label status_code \n $A TCP_CHECK } \n";
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let l = load_str("/nonexistent-dir/soup.conf", text, &opts());
        let _ = tx.send(
            l.diagnostics
                .errors()
                .map(|d| d.to_string())
                .collect::<Vec<_>>(),
        );
    });
    let errors = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the parser must finish");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("soup.conf:2: error: parameter $A refers to itself")),
        "{errors:?}"
    );
}
