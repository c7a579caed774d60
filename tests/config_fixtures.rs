//! Real configurations: every example from the seed guides parses (the ones the web pages broke
//! report located errors); each broken fixture yields exactly its expected diagnostic at its
//! line; the preprocessing fixtures produce what keepalived would.

use keepalived_rs::config::{load, LoadOptions, Loaded, Severity};
use std::path::{Path, PathBuf};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    v.sort();
    v
}

fn opts(id: &str) -> LoadOptions {
    let mut o = LoadOptions::default();
    o.preprocess.config_id = id.into();
    o
}

fn show(l: &Loaded) -> String {
    l.diagnostics.iter().map(|d| format!("{d}\n")).collect()
}

/// Seeds whose page lost braces or elided blocks with `...` (see tests/fixtures/seeds/INDEX.md):
/// they must fail with a located error in that very file, never crash.
const SCRAPED_BROKEN: &[&str] = &[
    "001_1_unicast-sync-group.conf",
    "003_1_bfd-track.conf",
    "004_4_sync-group.conf",
];

#[test]
fn every_seed_example_parses() {
    let files = fixtures("seeds");
    assert!(files.len() >= 12, "seed fixtures missing: {files:?}");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let l = load(&f, &opts("node"));
        if SCRAPED_BROKEN.contains(&name.as_str()) {
            assert!(
                l.diagnostics.has_errors(),
                "{name} should report its broken part"
            );
            for e in l.diagnostics.errors() {
                assert!(
                    e.location.file.ends_with(&name) && e.location.line > 0,
                    "{name}: unlocated error {e}"
                );
            }
        } else {
            assert!(!l.diagnostics.has_errors(), "{name}:\n{}", show(&l));
        }
    }
}

#[test]
fn seed_highlights_are_understood() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    // VRRPv3 with advert_int 0.03 from the 又拍云 guide.
    let l = load(&dir.join("003_2_vrrp3-fast-advert.conf"), &opts("node"));
    let i = &l.config.instances[0];
    assert_eq!(
        i.advert_int,
        std::time::Duration::from_millis(30),
        "{}",
        show(&l)
    );
    assert_eq!(i.version, keepalived_rs::config::model::VrrpVersion::V3);
    assert_eq!(l.config.vrrp_scripts[0].weight, -30);
    // LVS: virtual_server with real servers and checkers.
    let l = load(&dir.join("004_10_lvs-virtual-server.conf"), &opts("node"));
    assert!(
        !l.config.virtual_servers.is_empty()
            && !l.config.virtual_servers[0].real_servers.is_empty(),
        "{}",
        show(&l)
    );
}

/// `# expect: error|warning [FILE:]LINE word` on the first line.
#[test]
fn every_bad_fixture_reports_its_problem_where_it_is() {
    let files = fixtures("bad");
    assert!(files.len() >= 20);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let Some(expect) = text.lines().find_map(|l| l.strip_prefix("# expect: ")) else {
            continue; // an included helper file
        };
        let parts: Vec<&str> = expect.split_whitespace().collect();
        let (sev, at, word) = (parts[0], parts[1], parts[2].to_lowercase());
        let (file, line) = match at.rsplit_once(':') {
            Some((file, line)) => (file.to_string(), line.parse::<u32>().unwrap()),
            None => (name.clone(), at.parse::<u32>().unwrap()),
        };
        // `recover`: keepalived logs the problem and carries on: a warning naming the
        // recovery, and an error with --strict.
        let recover = sev == "recover";
        let sev = if sev == "error" {
            Severity::Error
        } else {
            Severity::Warning
        };
        let l = load(&f, &opts("node"));
        let hit = l.diagnostics.iter().any(|d| {
            d.severity == sev
                && d.location.line == line
                && d.location.file.ends_with(&file)
                && d.message.to_lowercase().contains(&word)
                && (!recover || d.message.ends_with(", as keepalived does"))
        });
        assert!(hit, "{name}: expected {expect}, got:\n{}", show(&l));
        if recover {
            let mut o = opts("node");
            o.strict = true;
            let strict = load(&f, &o);
            let hit = strict.diagnostics.errors().any(|d| {
                d.location.line == line
                    && d.location.file.ends_with(&file)
                    && d.message.to_lowercase().contains(&word)
            });
            assert!(hit, "{name}: --strict must refuse it:\n{}", show(&strict));
        }
        if sev == Severity::Warning {
            assert!(
                !l.diagnostics.has_errors(),
                "{name}: warnings only expected:\n{}",
                show(&l)
            );
        }
    }
}

#[test]
fn good_fixtures_have_no_errors() {
    for f in fixtures("good") {
        for id in ["node1", "node2", "other"] {
            let l = load(&f, &opts(id));
            assert!(
                !l.diagnostics.has_errors(),
                "{} (-i {id}):\n{}",
                f.display(),
                show(&l)
            );
        }
    }
}

#[test]
fn preprocessing_fixtures_expand_like_keepalived() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good");
    // ~SEQ: VI_1..VI_3 with VRIDs 51..53, then VI_SEQ with generated address lists.
    let l = load(&dir.join("05-seq.conf"), &opts("x"));
    let names: Vec<&str> = l.config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["VI_1", "VI_2", "VI_3", "VI_SEQ"], "{}", show(&l));
    let vrids: Vec<u8> = l.config.instances.iter().map(|i| i.vrid).collect();
    assert_eq!(vrids, [51, 52, 53, 50]);
    let seq = &l.config.instances[3];
    let vips: Vec<String> = seq
        .virtual_ipaddress
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(vips, ["10.0.50.10/24", "10.0.50.12/24", "10.0.50.14/24"]);
    let excl: Vec<String> = seq
        .virtual_ipaddress_excluded
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(
        excl,
        [
            "2001:db8:5::e/64",
            "2001:db8:5::f/64",
            "2001:db8:5::10/64",
            "10.0.51.3/32",
            "10.0.51.2/32",
            "10.0.51.1/32"
        ]
    );
    // @id conditionals.
    let l = load(&dir.join("03-conditional.conf"), &opts("node1"));
    let i = &l.config.instances[0];
    assert_eq!(
        (i.priority, i.unicast_src_ip.map(|a| a.to_string())),
        (150, Some("10.0.3.11".into()))
    );
    assert_eq!(l.config.global.router_id.as_deref(), Some("lb-node1"));
    let l = load(&dir.join("03-conditional.conf"), &opts("node2"));
    assert_eq!(l.config.instances[0].priority, 100);
    let l = load(&dir.join("03-conditional.conf"), &opts("other"));
    assert_eq!(l.config.instances[0].unicast_peers.len(), 2);
    // Includes with globs: files in inc01/ but not inc01/nested/.
    let l = load(&dir.join("01-include-glob.conf"), &opts("x"));
    assert!(l.config.instances.len() >= 2, "{}", show(&l));
    assert!(
        l.diagnostics
            .iter()
            .all(|d| !d.location.file.contains("nested/decoy")),
        "{}",
        show(&l)
    );
    // Parameters: lazy expansion, undefined `$NAME` verbatim without a diagnostic.
    let l = load(&dir.join("04-params.conf"), &opts("node1"));
    let i = &l.config.instances[0];
    assert_eq!((i.vrid, i.priority), (41, 150), "{}", show(&l));
    let excl: Vec<String> = i
        .virtual_ipaddress_excluded
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(excl, ["10.0.4.200/32", "10.0.4.201/32"]);
    let backup = i.notify.backup.as_ref().unwrap();
    assert!(backup.command.contains("$UNDEFINED_STAYS"), "{backup:?}");
}
