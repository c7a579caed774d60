//! The systemd watchdog's heartbeat: `WATCHDOG=1` is sent only after a round trip through the
//! root's mailbox (the control arbiter, where reloads and signals are handled) and through
//! every domain arbiter (VRRP, checkers, BFD, netlink) succeeded in time. A stuck thread or a
//! root wedged in a handler therefore stops the pings and systemd restarts the daemon; a
//! free-running timer thread would keep pinging a dead daemon.

use std::sync::Arc;
use std::time::Duration;

use actix::Recipient;
use actix_rt::ArbiterHandle;

use crate::runtime::root::Heartbeat;
use crate::telemetry::systemd::{SdNotify, WATCHDOG};

/// One liveness check: the root answers a [`Heartbeat`] and each arbiter runs a task, each
/// within `timeout`.
pub async fn probe(
    root: &Recipient<Heartbeat>,
    arbiters: &[ArbiterHandle],
    timeout: Duration,
) -> bool {
    if !matches!(
        tokio::time::timeout(timeout, root.send(Heartbeat)).await,
        Ok(Ok(()))
    ) {
        return false;
    }
    for a in arbiters {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !a.spawn(async move {
            let _ = tx.send(());
        }) {
            return false;
        }
        if !matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(()))) {
            return false;
        }
    }
    true
}

/// Pings systemd every `interval` while [`probe`] succeeds (each probe bounded by half the
/// interval, so one stall skips one ping). Runs on the calling arbiter until the System stops.
pub fn start(
    notify: Arc<SdNotify>,
    interval: Duration,
    root: Recipient<Heartbeat>,
    arbiters: Vec<ArbiterHandle>,
) -> tokio::task::JoinHandle<()> {
    actix::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if probe(&root, &arbiters, interval / 2).await {
                notify.notify(WATCHDOG);
            } else {
                tracing::warn!(
                    "watchdog: the actor system did not answer in time; not pinging systemd"
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;

    struct Echo;
    impl Actor for Echo {
        type Context = Context<Self>;
    }
    impl Handler<Heartbeat> for Echo {
        type Result = ();
        fn handle(&mut self, _: Heartbeat, _: &mut Context<Self>) {}
    }

    #[test]
    fn a_blocked_arbiter_fails_the_probe() {
        let sys = actix::System::new();
        sys.block_on(async {
            let root = Echo.start().recipient();
            let worker = actix::Arbiter::new();
            let h = worker.handle();
            let t = Duration::from_millis(200);
            assert!(probe(&root, std::slice::from_ref(&h), t).await);
            // The arbiter's thread is busy (as if a handler looped): no ping.
            h.spawn_fn(|| std::thread::sleep(Duration::from_millis(600)));
            assert!(!probe(&root, std::slice::from_ref(&h), t).await);
            // It recovers once the thread is free again.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(probe(&root, std::slice::from_ref(&h), t).await);
            worker.stop();
        });
    }

    #[test]
    fn a_gone_root_fails_the_probe() {
        let sys = actix::System::new();
        sys.block_on(async {
            let addr = Echo.start();
            let root = addr.clone().recipient();
            let stopped = addr.send(StopEcho);
            let _ = stopped.await;
            assert!(!probe(&root, &[], Duration::from_millis(200)).await);
        });
    }

    #[derive(Message)]
    #[rtype(result = "()")]
    struct StopEcho;
    impl Handler<StopEcho> for Echo {
        type Result = ();
        fn handle(&mut self, _: StopEcho, ctx: &mut Context<Self>) {
            ctx.stop();
        }
    }
}
