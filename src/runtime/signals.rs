//! Unix signals as typed control messages, like keepalived:
//! SIGHUP -> [`ControlSignal::Reload`], SIGTERM/SIGINT -> [`ControlSignal::Shutdown`],
//! SIGUSR1 -> [`ControlSignal::DumpData`], SIGUSR2 -> [`ControlSignal::DumpStats`],
//! SIGRTMIN+2 -> [`ControlSignal::DumpJson`], SIGRTMAX-1 -> [`ControlSignal::StatsClear`]
//! (the numbers `keepalived --signum=JSON|STATS_CLEAR` prints).
//!
//! [`listen_signals`] installs the handlers before it returns (so a signal sent right after
//! cannot kill the process with its default action) and forwards each signal to a recipient,
//! normally the [`Root`](super::Root). Installing a handler is process-wide and permanent.

use std::io;

use actix::prelude::*;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::task::JoinHandle;

/// A control request coming from a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlSignal {
    /// SIGHUP: reload the configuration.
    Reload,
    /// The configuration watcher saw the files change and then stay the same for a debounce:
    /// reload, unless the file is empty or changed again while being read (a half-written
    /// file is never applied; SIGHUP still applies whatever is there).
    WatchReload,
    /// SIGTERM / SIGINT: graceful shutdown.
    Shutdown,
    /// SIGUSR1: dump configuration/state data.
    DumpData,
    /// SIGUSR2: dump statistics.
    DumpStats,
    /// SIGRTMAX-1: dump statistics and clear the counters.
    StatsClear,
    /// SIGRTMIN+2: dump the JSON state.
    DumpJson,
}

impl Message for ControlSignal {
    type Result = ();
}

/// The control message for a raw signal number, if it is one we handle.
pub fn control_for_signal(signum: i32) -> Option<ControlSignal> {
    match signum {
        libc::SIGHUP => Some(ControlSignal::Reload),
        libc::SIGTERM | libc::SIGINT => Some(ControlSignal::Shutdown),
        libc::SIGUSR1 => Some(ControlSignal::DumpData),
        libc::SIGUSR2 => Some(ControlSignal::DumpStats),
        n if n == json_signal() => Some(ControlSignal::DumpJson),
        n if n == stats_clear_signal() => Some(ControlSignal::StatsClear),
        _ => None,
    }
}

/// keepalived's SIGJSON: SIGRTMIN+2 (36 with glibc).
pub fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's STATS_CLEAR signal: SIGRTMAX-1 (63 with glibc).
pub fn stats_clear_signal() -> i32 {
    libc::SIGRTMAX() - 1
}

fn handled() -> [i32; 7] {
    [
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        json_signal(),
        stats_clear_signal(),
    ]
}

/// The running signal forwarder; dropping it stops forwarding (handlers stay installed, so the
/// signals are then ignored rather than fatal).
#[derive(Debug)]
pub struct SignalListener {
    task: JoinHandle<()>,
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Installs handlers for SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGRTMIN+2 and SIGRTMAX-1
/// (whose default action would kill the process) and forwards them to
/// `target` (with `do_send`: never blocks on a full mailbox). Must be called inside a tokio
/// runtime (e.g. from an actor or [`ActorRuntime::block_on`](super::ActorRuntime::block_on)).
/// Forwarding ends when the target's mailbox is closed.
pub fn listen_signals(target: Recipient<ControlSignal>) -> io::Result<SignalListener> {
    let mut streams: Vec<(ControlSignal, Signal)> = Vec::with_capacity(handled().len());
    for signum in handled() {
        let control = control_for_signal(signum).expect("handled signal maps to a control");
        streams.push((control, signal(SignalKind::from_raw(signum))?));
    }
    let task = tokio::spawn(async move {
        loop {
            let next = futures::future::select_all(
                streams
                    .iter_mut()
                    .map(|(control, s)| Box::pin(async move { s.recv().await.map(|_| *control) })),
            );
            let (received, _, _) = next.await;
            let Some(control) = received else { return };
            tracing::info!(?control, "signal received");
            if !target.connected() {
                return;
            }
            target.do_send(control);
        }
    });
    Ok(SignalListener { task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_matches_keepalived() {
        assert_eq!(
            control_for_signal(libc::SIGHUP),
            Some(ControlSignal::Reload)
        );
        assert_eq!(
            control_for_signal(libc::SIGTERM),
            Some(ControlSignal::Shutdown)
        );
        assert_eq!(
            control_for_signal(libc::SIGINT),
            Some(ControlSignal::Shutdown)
        );
        assert_eq!(
            control_for_signal(libc::SIGUSR1),
            Some(ControlSignal::DumpData)
        );
        assert_eq!(
            control_for_signal(libc::SIGUSR2),
            Some(ControlSignal::DumpStats)
        );
        assert_eq!(control_for_signal(36), Some(ControlSignal::DumpJson));
        assert_eq!(control_for_signal(63), Some(ControlSignal::StatsClear));
        assert_eq!(control_for_signal(libc::SIGPIPE), None);
    }
}
