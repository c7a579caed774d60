//! Test helper: a throw-away network namespace.
//!
//! - `NetNs::new()` creates `ktest-<pid>-<n>` (and first removes `ktest-<pid>-*` namespaces
//!   left behind by test processes that no longer exist); it returns `None` when the test
//!   cannot run here (not root, no `ip`), so tests can skip instead of failing.
//! - The namespace is deleted when the value is dropped, including while unwinding a panic.
//! - `run` / `block_on` execute a closure on a dedicated thread that has `setns`-ed into the
//!   namespace (a tokio current-thread runtime for `block_on` is built on that thread, so
//!   every socket it opens lives in the namespace). A panic inside is re-raised in the caller
//!   after the thread ended.
//! - Only ever creates interfaces inside the namespace; nothing on the host is touched.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub struct NetNs {
    name: String,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn sweep_stale() {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("ktest-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

impl NetNs {
    /// A fresh namespace with `lo` up, or `None` if this environment cannot do it.
    pub fn new() -> Option<Self> {
        if !is_root() {
            eprintln!("skipping: needs root for network namespaces");
            return None;
        }
        sweep_stale();
        let name = format!(
            "ktest-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        match Command::new("ip").args(["netns", "add", &name]).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "skipping: ip netns add failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return None;
            }
            Err(e) => {
                eprintln!("skipping: cannot run ip: {e}");
                return None;
            }
        }
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NS <args>`; Err(stderr) on failure.
    pub fn try_ip(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `ip -n NS <args>`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        self.try_ip(args)
            .unwrap_or_else(|e| panic!("ip -n {} {args:?}: {e}", self.name))
    }

    /// A command run inside the namespace (`ip netns exec NS prog`).
    pub fn exec(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]);
        c
    }

    pub fn exec_output(&self, prog: &str, args: &[&str]) -> Output {
        self.exec(prog).args(args).output().expect("ip netns exec")
    }

    /// Write a sysctl inside the namespace, e.g. `("net.ipv6.conf.veth0.accept_dad", "0")`.
    pub fn sysctl(&self, key: &str, value: &str) {
        let o = self.exec_output("sysctl", &["-qw", &format!("{key}={value}")]);
        assert!(
            o.status.success(),
            "sysctl {key}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// A veth pair with both ends in this namespace, both up.
    pub fn veth(&self, a: &str, b: &str) {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        self.ip(&["link", "set", a, "up"]);
        self.ip(&["link", "set", b, "up"]);
    }

    /// A bridge in this namespace, up.
    pub fn bridge(&self, br: &str) {
        self.ip(&["link", "add", br, "type", "bridge"]);
        self.ip(&["link", "set", br, "up"]);
    }

    /// Run `f` on a thread inside the namespace.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let file = File::open(format!("/run/netns/{}", self.name)).expect("open netns");
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                // SAFETY: valid fd of a netns file; CLONE_NEWNET only affects this thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Run an async test body on a current-thread tokio runtime inside the namespace.
    pub fn block_on<F, R>(&self, f: impl FnOnce() -> F + Send) -> R
    where
        F: Future<Output = R>,
        R: Send,
    {
        self.run(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(f())
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
