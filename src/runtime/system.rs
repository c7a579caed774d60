//! The actix System over a tokio runtime we own, with one Arbiter (thread) per domain.
//!
//! - The calling thread runs the System's own arbiter ("control": root supervisor, signals,
//!   reload) on a LocalSet over a multi-thread tokio runtime; that runtime's worker threads
//!   take `tokio::spawn`ed work (slow or blocking jobs: scripts, TLS, file IO).
//! - Each dedicated domain (VRRP, checkers, BFD, netlink) gets its own Arbiter: one thread with
//!   its own current-thread runtime and IO driver, so a slow checker never delays an advert.
//!
//! ```no_run
//! use keepalived_rs::runtime::{ActorRuntime, Domain, RuntimeConfig};
//! let rt = ActorRuntime::new(RuntimeConfig::default()).unwrap();
//! let arbiters = rt.arbiters();
//! rt.block_on(async move {
//!     let _vrrp = arbiters.get(Domain::Vrrp);
//!     // start the Root, install signal handlers ...
//! });
//! let code = rt.run().unwrap(); // until System::current().stop()
//! # let _ = code;
//! ```

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use actix_rt::{Arbiter, ArbiterHandle, System, SystemRunner};

/// A domain with (optionally) its own arbiter thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// The System arbiter (the thread that calls [`ActorRuntime::run`]).
    Control,
    /// VRRP instances and sync groups.
    Vrrp,
    /// Real-server checkers and track scripts/files.
    Checkers,
    /// BFD sessions.
    Bfd,
    /// The netlink owner (addresses, routes, rules, links, IPVS).
    Netlink,
}

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Worker threads of the shared multi-thread tokio runtime.
    pub worker_threads: usize,
    /// Domains that get their own arbiter; the others run on the control arbiter.
    pub dedicated: Vec<Domain>,
    /// How long [`ActorRuntime::run`] waits for each arbiter thread and the tokio runtime to
    /// finish after the System stopped.
    pub shutdown_timeout: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            worker_threads: 2,
            dedicated: vec![Domain::Vrrp, Domain::Checkers, Domain::Bfd, Domain::Netlink],
            shutdown_timeout: Duration::from_secs(2),
        }
    }
}

/// Handles of the arbiters, by domain (cheap to clone, `Send`).
#[derive(Debug, Clone)]
pub struct Arbiters {
    control: ArbiterHandle,
    dedicated: Vec<(Domain, ArbiterHandle)>,
}

impl Arbiters {
    /// The arbiter for `domain` (the control arbiter if the domain has none of its own).
    pub fn get(&self, domain: Domain) -> &ArbiterHandle {
        self.dedicated
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, h)| h)
            .unwrap_or(&self.control)
    }

    /// The System (control) arbiter.
    pub fn control(&self) -> &ArbiterHandle {
        &self.control
    }
}

/// The running actor system. Create it on the thread that will run the control arbiter.
pub struct ActorRuntime {
    runner: SystemRunner,
    system: System,
    tokio: Arc<tokio::runtime::Runtime>,
    threads: Vec<(Domain, Arbiter)>,
    arbiters: Arbiters,
    shutdown_timeout: Duration,
}

impl std::fmt::Debug for ActorRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorRuntime")
            .field("system", &self.system.id())
            .field("arbiters", &self.arbiters)
            .finish_non_exhaustive()
    }
}

impl ActorRuntime {
    /// Builds the tokio runtime, starts the System on it and one arbiter per dedicated domain.
    pub fn new(cfg: RuntimeConfig) -> io::Result<Self> {
        let tokio = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cfg.worker_threads.max(1))
                .thread_name("keepalived-worker")
                .enable_all()
                .build()?,
        );
        let shared = Arc::clone(&tokio);
        let runner = System::with_tokio_rt(move || shared);
        let system = System::current();
        let mut threads = Vec::new();
        for domain in cfg.dedicated {
            if domain == Domain::Control || threads.iter().any(|(d, _)| *d == domain) {
                continue;
            }
            threads.push((domain, Arbiter::try_new()?));
        }
        let arbiters = Arbiters {
            control: system.arbiter().clone(),
            dedicated: threads.iter().map(|(d, a)| (*d, a.handle())).collect(),
        };
        Ok(ActorRuntime {
            runner,
            system,
            tokio,
            threads,
            arbiters,
            shutdown_timeout: cfg.shutdown_timeout,
        })
    }

    /// Arbiter handles by domain.
    pub fn arbiters(&self) -> Arbiters {
        self.arbiters.clone()
    }

    /// The actix System (`stop()` ends [`run`](Self::run)).
    pub fn system(&self) -> System {
        self.system.clone()
    }

    /// Runs `fut` to completion on the control arbiter (actors may be started inside).
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runner.block_on(fut)
    }

    /// Runs until the System is stopped, then stops and joins every arbiter and shuts the
    /// tokio runtime down (each bounded by `shutdown_timeout`). Returns the System's exit code.
    pub fn run(self) -> io::Result<i32> {
        let ActorRuntime {
            runner,
            system: _,
            tokio,
            threads,
            arbiters: _,
            shutdown_timeout,
        } = self;
        let code = runner.run_with_code();
        for (domain, arbiter) in threads {
            arbiter.stop();
            if !join_with_timeout(arbiter, shutdown_timeout) {
                tracing::warn!(?domain, "arbiter did not stop in time; leaving it behind");
            }
        }
        // `runner` (and its LocalSet with the control arbiter's actors) is gone: we hold the
        // last reference to the tokio runtime unless an actor leaked a clone.
        if let Ok(rt) = Arc::try_unwrap(tokio) {
            rt.shutdown_timeout(shutdown_timeout);
        }
        code
    }

    /// Stops the System and finishes like [`run`](Self::run).
    pub fn shutdown(self) -> io::Result<i32> {
        self.system.stop();
        self.run()
    }
}

/// Joins an arbiter thread, giving up after `timeout` (the thread is then left detached).
fn join_with_timeout(arbiter: Arbiter, timeout: Duration) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("arbiter-join".into())
        .spawn(move || {
            let _ = arbiter.join();
            let _ = tx.send(());
        });
    spawned.is_ok() && rx.recv_timeout(timeout).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_of(rt: &ActorRuntime, d: Domain) -> std::thread::ThreadId {
        let arbiters = rt.arbiters();
        rt.block_on(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            assert!(arbiters.get(d).spawn_fn(move || {
                let _ = tx.send(std::thread::current().id());
            }));
            tokio::time::timeout(Duration::from_secs(5), rx)
                .await
                .unwrap()
                .unwrap()
        })
    }

    #[test]
    fn arbiters_are_distinct_threads_and_shutdown_is_clean() {
        let rt = ActorRuntime::new(RuntimeConfig::default()).unwrap();
        let all = [
            Domain::Control,
            Domain::Vrrp,
            Domain::Checkers,
            Domain::Bfd,
            Domain::Netlink,
        ];
        let ids: Vec<_> = all.iter().map(|d| thread_of(&rt, *d)).collect();
        assert_eq!(ids[0], std::thread::current().id());
        let uniq: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(uniq.len(), 5, "each domain on its own thread: {ids:?}");
        assert_eq!(rt.shutdown().unwrap(), 0);
    }

    #[test]
    fn non_dedicated_domains_fall_back_to_control() {
        let rt = ActorRuntime::new(RuntimeConfig {
            dedicated: vec![Domain::Vrrp],
            ..RuntimeConfig::default()
        })
        .unwrap();
        let control = thread_of(&rt, Domain::Control);
        assert_eq!(thread_of(&rt, Domain::Bfd), control);
        assert_ne!(thread_of(&rt, Domain::Vrrp), control);
        rt.shutdown().unwrap();
    }
}
