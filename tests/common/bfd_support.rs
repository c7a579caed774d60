//! Helpers shared by the BFD integration tests (included with `#[path]`; as a test target
//! of its own it has no tests).
//!
//! [`NsBfd`] runs an actix System on a dedicated thread that first enters a network namespace
//! (`setns`), so the BFD session actors started on it open their sockets there; everything
//! else (registry, handles, messages) is used from the test thread.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keepalived_rs::bfd::actor::{GetStatus, SetEnabled, SetParams};
use keepalived_rs::bfd::{
    start_session, BfdRegistry, BfdSessionActor, BfdSessionStatus, BfdSpec, SessionParams, State,
};
use keepalived_rs::runtime::{ChildHandle, ShutdownReason};

/// Moves the calling thread into network namespace `ns` (`/run/netns/NAME`).
pub fn enter_netns(ns: &str) {
    let f = File::open(format!("/run/netns/{ns}")).expect("open netns");
    // SAFETY: setns on a valid namespace descriptor; affects only this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

/// An actix System running inside a namespace, with its own BFD registry.
pub struct NsBfd {
    pub registry: BfdRegistry,
    system: actix_rt::System,
    arbiter: actix_rt::ArbiterHandle,
    thread: Option<JoinHandle<()>>,
    rt: tokio::runtime::Runtime,
    pub handles: Vec<(String, ChildHandle)>,
}

impl NsBfd {
    /// Starts the System thread inside `ns`.
    pub fn start(ns: &str) -> NsBfd {
        let (tx, rx) = mpsc::channel();
        let ns = ns.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("bfd-{ns}"))
            .spawn(move || {
                enter_netns(&ns);
                let runner = actix_rt::System::new();
                tx.send((actix_rt::System::current(), actix_rt::Arbiter::current()))
                    .unwrap();
                let _ = runner.run();
            })
            .unwrap();
        let (system, arbiter) = rx.recv().unwrap();
        NsBfd {
            registry: BfdRegistry::new(),
            system,
            arbiter,
            thread: Some(thread),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            handles: Vec::new(),
        }
    }

    /// Starts a session (replacing the one with the same name, with handover).
    pub fn session(&mut self, spec: BfdSpec) {
        let name = spec.name.clone();
        let prev = self
            .handles
            .iter()
            .position(|(n, _)| *n == name)
            .map(|i| self.handles.remove(i).1);
        if let Some(p) = &prev {
            let fut = p.shutdown(ShutdownReason::Replaced, Duration::from_secs(2));
            self.rt.block_on(fut);
            p.terminate();
        }
        let h = start_session(&self.arbiter, spec, self.registry.clone(), prev.as_ref())
            .expect("start session");
        self.handles.push((name, h));
    }

    fn handle(&self, name: &str) -> &ChildHandle {
        &self.handles.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// The actor's status.
    pub fn status(&self, name: &str) -> BfdSessionStatus {
        let addr = self.handle(name).addr::<BfdSessionActor>().unwrap();
        self.rt.block_on(addr.send(GetStatus)).unwrap().unwrap()
    }

    /// New timers on the running session.
    pub fn set_params(&self, name: &str, p: SessionParams) {
        let addr = self.handle(name).addr::<BfdSessionActor>().unwrap();
        self.rt.block_on(addr.send(SetParams(p))).unwrap();
    }

    /// Enables / disables.
    pub fn set_enabled(&self, name: &str, on: bool) {
        let addr = self.handle(name).addr::<BfdSessionActor>().unwrap();
        self.rt.block_on(addr.send(SetEnabled(on))).unwrap();
    }

    /// Stops one session (as on removal from the configuration).
    pub fn remove(&mut self, name: &str) {
        if let Some(i) = self.handles.iter().position(|(n, _)| n == name) {
            let (_, h) = self.handles.remove(i);
            self.rt
                .block_on(h.shutdown(ShutdownReason::Removed, Duration::from_secs(2)));
            h.terminate();
        }
    }

    /// Local state of `name` per the registry.
    pub fn state(&self, name: &str) -> Option<State> {
        self.registry.state(name).map(|s| s.state)
    }

    /// Waits until `name` is in `state`; returns when it got there (the registry's `since`).
    pub fn wait_state(&self, name: &str, state: State, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.registry.state(name) {
                if s.state == state {
                    return Some(s.since);
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for NsBfd {
    fn drop(&mut self) {
        self.handles.clear();
        std::thread::sleep(Duration::from_millis(50));
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Params with the same min_tx / min_rx in milliseconds and a multiplier.
pub fn params(ms: u64, mult: u8) -> SessionParams {
    SessionParams {
        min_tx: Duration::from_millis(ms),
        min_rx: Duration::from_millis(ms),
        multiplier: mult,
        ..SessionParams::default()
    }
}

/// Whether FRR's bfdd and zebra are installed.
pub fn have_frr() -> bool {
    std::path::Path::new("/usr/lib/frr/bfdd").exists()
        && std::path::Path::new("/usr/lib/frr/zebra").exists()
        && Command::new("vtysh").arg("--help").output().is_ok()
}

/// Whether tshark is installed.
pub fn have_tshark() -> bool {
    Command::new("tshark").arg("--version").output().is_ok()
}
