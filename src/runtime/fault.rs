//! Fault injection for tests: makes VRRP instance actors panic inside a message handler on
//! demand, to prove that supervision restarts them without moving their VIPs.
//!
//! Off unless the daemon was started with `KEEPALIVED_RS_FAULT_INJECTION=1` in its environment
//! (read once; a running daemon cannot be switched on). Only then is a handler installed for
//! [`trigger_signal`] (`SIGRTMIN+4`); each such signal makes the VRRP instances named in
//! `KEEPALIVED_RS_FAULT_TARGET` (comma-separated instance names; every instance if unset)
//! panic in their handler. Without the variable nothing listens: the signal keeps its default
//! action, like any other signal the daemon does not handle, and no actor subscribes.

use std::sync::OnceLock;
use tokio::sync::broadcast;

/// The variable that enables fault injection (value `1`).
pub const ENV: &str = "KEEPALIVED_RS_FAULT_INJECTION";
/// The variable naming the instances that panic (comma-separated; all if unset).
pub const TARGET_ENV: &str = "KEEPALIVED_RS_FAULT_TARGET";

/// One injection request (the instances decide whether they are targeted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inject;

struct Injector {
    tx: broadcast::Sender<Inject>,
    targets: Option<Vec<String>>,
}

static INJECTOR: OnceLock<Option<Injector>> = OnceLock::new();

fn injector() -> Option<&'static Injector> {
    INJECTOR
        .get_or_init(|| {
            if std::env::var(ENV).ok().as_deref() != Some("1") {
                return None;
            }
            let targets = std::env::var(TARGET_ENV).ok().map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
            Some(Injector {
                tx: broadcast::channel(16).0,
                targets,
            })
        })
        .as_ref()
}

/// Whether fault injection is on in this process.
pub fn enabled() -> bool {
    injector().is_some()
}

/// The signal that injects a fault: `SIGRTMIN+4`.
pub fn trigger_signal() -> i32 {
    libc::SIGRTMIN() + 4
}

/// Injection requests, when fault injection is on.
pub fn subscribe() -> Option<broadcast::Receiver<Inject>> {
    injector().map(|i| i.tx.subscribe())
}

/// Whether the instance `name` panics on an injection request.
pub fn targets(name: &str) -> bool {
    injector().is_some_and(|i| match &i.targets {
        Some(t) => t.iter().any(|n| n == name),
        None => true,
    })
}

/// When fault injection is on: installs the handler for [`trigger_signal`] and forwards each
/// signal as an [`Inject`] request (must run inside a tokio runtime). Off: does nothing.
pub fn listen() -> std::io::Result<Option<tokio::task::JoinHandle<()>>> {
    use tokio::signal::unix::{signal, SignalKind};
    let Some(inj) = injector() else {
        return Ok(None);
    };
    let mut sig = signal(SignalKind::from_raw(trigger_signal()))?;
    tracing::warn!(
        "fault injection is ON ({ENV}=1): SIGRTMIN+4 makes VRRP instance actors {} panic; never use this in production",
        inj.targets
            .as_ref()
            .map(|t| t.join(","))
            .unwrap_or_else(|| "(all)".into())
    );
    let tx = inj.tx.clone();
    Ok(Some(tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::warn!("fault injection requested");
            let _ = tx.send(Inject);
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_without_the_variable() {
        // Test processes do not set it (scripts/test.sh neither): nothing listens, nobody is
        // a target.
        if std::env::var(ENV).ok().as_deref() == Some("1") {
            return;
        }
        assert!(!enabled());
        assert!(subscribe().is_none());
        assert!(!targets("VI_1"));
    }
}
