//! Test helper: the IPVS VM driver shared by tests/ipvs_vm.rs and tests/lvs_vm.rs (included
//! with `#[path]`).
//!
//! The host-side test boots Debian's kernel under qemu TCG (tests/vm/ipvs-vm.sh) with the
//! calling test binary in the initramfs and runs its `guest_*` tests inside the VM
//! (environment `KEEPALIVED_IPVS_GUEST=1`); outside the VM the `guest_*` tests return at once.
//! `KEEPALIVED_SKIP_VM=1` skips the VM.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Set inside the VM for the `guest_*` tests.
pub const GUEST_ENV: &str = "KEEPALIVED_IPVS_GUEST";

/// True inside the VM.
pub fn in_guest() -> bool {
    std::env::var_os(GUEST_ENV).is_some()
}

/// Boots the VM with this test binary and runs its `guest_*` tests there; fails unless the VM
/// reports exactly `guest_tests` passes. `test` names the host test in messages, `log` is the
/// console log under target/ipvs-vm/, `env` more of the script's settings (e.g.
/// `IPVS_VM_TIMEOUT`). Returns at once inside the VM; skips under `KEEPALIVED_SKIP_VM` or when
/// qemu cannot run here.
pub fn run_guest_tests(test: &str, log: &str, env: &[(&str, &str)], guest_tests: usize) {
    if in_guest() {
        return;
    }
    if std::env::var_os("KEEPALIVED_SKIP_VM").is_some() {
        eprintln!("{test}: SKIPPED (KEEPALIVED_SKIP_VM is set)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/vm/ipvs-vm.sh");
    let log = root.join("target/ipvs-vm").join(log);
    let exe = std::env::current_exe().expect("current_exe");
    let started = std::time::Instant::now();
    let out = Command::new(&script)
        .arg(&exe)
        .args(["--test-threads=1", "--nocapture", "guest_"])
        .env("IPVS_VM_LOG", &log)
        .envs(env.iter().copied())
        .output()
        .expect("run tests/vm/ipvs-vm.sh");
    let console = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(77) => {
            eprintln!("{test}: SKIPPED, cannot run qemu here:\n{console}");
            return;
        }
        Some(0) => {}
        other => panic!("{test}: VM run failed (exit {other:?}):\n{console}"),
    }
    let summary = format!("test result: ok. {guest_tests} passed; 0 failed");
    assert!(
        console.contains(&summary),
        "VM did not report `{summary}`:\n{console}"
    );
    eprintln!(
        "{test}: {guest_tests} guest test(s) passed in the VM ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `cmd` with /bin/sh, which must succeed; returns its stdout.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("/bin/sh")
        .args(["-c", cmd])
        .output()
        .expect("spawn sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The host's iproute2 `ip` (the VM's busybox `ip` has no veth, bridge or netns), for
/// `IPVS_VM_EXTRA_BINS`.
pub fn host_ip_binary() -> String {
    for p in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] {
        if let Ok(real) = std::fs::canonicalize(p) {
            return real.to_string_lossy().into_owned();
        }
    }
    panic!("iproute2's ip is not installed on the host");
}
