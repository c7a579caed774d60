//! The Debian package: `scripts/build-deb.sh` builds it from the release binary; lintian finds no
//! error in it; installed into a throw-away root (never the host's /) with dpkg, the installed
//! binary checks the installed example, the man pages are found by man, completions are in their
//! directories, nothing is installed under /etc (no clash with Debian's keepalived), and
//! `systemd-analyze verify` accepts the installed unit.
//!
//! Needs the release binary (scripts/test.sh builds it first); without it the test prints SKIP,
//! unless `KEEPALIVED_DEMO_REQUIRE_RELEASE=1` (set by scripts/test.sh) makes that an error.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("command runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

#[test]
fn debian_package_builds_lints_installs_and_runs() {
    let bin = root().join("target/release/keepalived-rs");
    if !bin.exists() {
        assert!(
            std::env::var_os("KEEPALIVED_DEMO_REQUIRE_RELEASE").is_none(),
            "{} missing: scripts/test.sh builds it first",
            bin.display()
        );
        println!(
            "SKIP debian package: no {} (cargo build --release)",
            bin.display()
        );
        return;
    }
    for tool in ["dpkg-deb", "dpkg", "lintian", "systemd-analyze", "man"] {
        if !have(tool) {
            assert!(
                std::env::var_os("KEEPALIVED_DEMO_REQUIRE_RELEASE").is_none(),
                "{tool} missing: scripts/install-deps.sh installs it"
            );
            println!("SKIP debian package: no {tool}");
            return;
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let (ok, text) = run(Command::new("bash")
        .arg(root().join("scripts/build-deb.sh"))
        .arg(&out)
        .current_dir(root()));
    assert!(ok, "build-deb.sh failed: {text}");
    let deb = PathBuf::from(
        text.lines()
            .last()
            .expect("build-deb prints the package")
            .trim(),
    );
    assert!(deb.exists(), "no package at {}", deb.display());

    // lintian: no errors (E:). Warnings are printed for the record.
    let (_, lint) = run(Command::new("lintian")
        .arg("--tag-display-limit")
        .arg("0")
        .arg(&deb));
    println!("lintian:\n{lint}");
    let errors: Vec<&str> = lint.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors: {errors:#?}");

    // Install into a throw-away root with its own dpkg database.
    let r = tmp.path().join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(r.join(d)).expect("dpkg dirs");
    }
    std::fs::write(r.join("var/lib/dpkg/status"), "").expect("dpkg status");
    let (ok, text) = run(Command::new("dpkg")
        .arg(format!("--root={}", r.display()))
        .args(["--force-depends", "--force-script-chrootless", "-i"])
        .arg(&deb));
    assert!(ok, "dpkg -i into {} failed: {text}", r.display());

    let mut files = Vec::new();
    files_under(&r, &mut files);
    let rel: Vec<String> = files
        .iter()
        .filter_map(|p| p.strip_prefix(&r).ok())
        .map(|p| p.display().to_string())
        .filter(|p| !p.starts_with("var/lib/dpkg"))
        .collect();
    assert!(
        rel.iter().all(|p| !p.starts_with("etc/")),
        "nothing under /etc (no clash with keepalived's conffiles): {rel:#?}"
    );
    for want in [
        "usr/sbin/keepalived-rs",
        "lib/systemd/system/keepalived-rs.service",
        "usr/share/man/man8/keepalived-rs.8.gz",
        "usr/share/man/man5/keepalived-rs.conf.5.gz",
        "usr/share/bash-completion/completions/keepalived-rs",
        "usr/share/zsh/vendor-completions/_keepalived-rs",
        "usr/share/fish/vendor_completions.d/keepalived-rs.fish",
        "usr/share/doc/keepalived-rs/copyright",
        "usr/share/doc/keepalived-rs/examples/keepalived.conf",
        "usr/share/doc/keepalived-rs/observability/grafana-dashboard.json",
    ] {
        assert!(
            rel.iter().any(|p| p == want),
            "{want} not installed: {rel:#?}"
        );
    }

    // The installed binary tests the installed example.
    let (ok, text) = run(Command::new(r.join("usr/sbin/keepalived-rs"))
        .arg("-t")
        .arg("-f")
        .arg(r.join("usr/share/doc/keepalived-rs/examples/keepalived.conf")));
    assert!(ok, "installed keepalived-rs -t on the example: {text}");

    // man finds both pages in the installed tree.
    for page in ["keepalived-rs.8", "keepalived-rs.conf.5"] {
        let (ok, text) = run(Command::new("man")
            .env("MANPATH", r.join("usr/share/man"))
            .args(["-w", page]));
        assert!(
            ok && text.contains(&*r.display().to_string()),
            "man -w {page}: {text}"
        );
    }

    // systemd accepts the installed unit (its ExecStart pointed at the installed binary, since
    // the throw-away root is not where systemd looks).
    let unit =
        std::fs::read_to_string(r.join("lib/systemd/system/keepalived-rs.service")).expect("unit");
    assert!(
        unit.contains("Type=notify")
            && unit.contains("WatchdogSec=")
            && unit.contains("ExecReload=")
    );
    let udir = tmp.path().join("unit");
    std::fs::create_dir_all(&udir).expect("unit dir");
    let installed_bin = r.join("usr/sbin/keepalived-rs").display().to_string();
    std::fs::write(
        udir.join("keepalived-rs.service"),
        unit.replace("/usr/sbin/keepalived-rs", &installed_bin),
    )
    .expect("unit copy");
    let (ok, text) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(udir.join("keepalived-rs.service")));
    assert!(ok, "systemd-analyze verify: {text}");
}
