//! Supervised children: start an actor on an arbiter under a supervisor that restarts it
//! (with backoff) when it stops or panics, and that ends it for good only when asked.
//!
//! actix's own `Supervisor` restarts an actor whenever it stops and someone still holds an
//! address, and a panic escaping a handler kills the whole task (the mailbox just closes). This
//! supervisor is the same idea (it drives the actor's `ContextFut` and calls
//! `Supervised::restarting` through `ContextFut::restart`) with what a daemon needs on top:
//! - a panic is caught at the handler boundary by [`guarded`](super::guarded) (which stops the
//!   actor), and as a backstop around every poll of the actor, so nothing escapes to the arbiter;
//! - restarts follow a [`RestartPolicy`] (burst, then exponential delay, capped); messages sent
//!   meanwhile wait in the mailbox and are handled after the restart;
//! - every crash/restart/termination is counted and published as a [`SupervisionEvent`];
//! - the child lives exactly as long as its [`ChildHandle`]: other holders of its `Addr` do not
//!   keep it alive, and an intentional end ([`ChildHandle::terminate`], dropping the handle, or
//!   [`finish`] from inside) is never mistaken for a crash.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use actix::dev::{channel, AsyncContextParts, ContextFut};
use actix::prelude::*;
use actix_rt::ArbiterHandle;
use futures::task::AtomicWaker;
use tokio::sync::broadcast;

use crate::runtime::backoff::{Backoff, RestartPolicy};
use crate::runtime::durable::Durable;

/// Why a child is asked to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownReason {
    /// The daemon is exiting (SIGTERM/SIGINT): release everything (VRRP: priority-0 advert).
    Terminate,
    /// The object is gone from the new configuration.
    Removed,
    /// The object's configuration changed; a successor is started right after.
    Replaced,
}

/// Last message a child receives before it is ended. The handler should do its cleanup
/// synchronously or return a future; the sender waits for the reply with a bounded timeout,
/// then the supervisor ends the actor (its `stopping`/`stopped` hooks run, then it is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// Why.
    pub reason: ShutdownReason,
}

impl Message for Shutdown {
    type Result = ();
}

/// What happened to a supervised child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisionEventKind {
    /// The actor panicked (`panic` is the message) or stopped without being asked to.
    Crashed {
        /// Panic message, if it was a panic.
        panic: Option<String>,
        /// Delay before the restart.
        restart_in: Duration,
        /// Crashes inside the policy window, this one included.
        crashes_in_window: u32,
    },
    /// The actor was restarted (`restarting()` then `started()`); `restarts` counts them all.
    Restarted {
        /// Total restarts of this child.
        restarts: u64,
    },
    /// The actor ended for good (terminated by its owner or finished itself).
    Terminated,
}

/// An event about one child, published on an [`EventBus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionEvent {
    /// The child's name.
    pub child: Arc<str>,
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub kind: SupervisionEventKind,
}

/// Fan-out of [`SupervisionEvent`]s (metrics, logs, tests). Cheap to clone; events published
/// while nobody listens are dropped; a slow listener may miss events (`RecvError::Lagged`),
/// counters on [`ChildHandle`] are exact.
#[derive(Debug, Clone)]
pub struct EventBus(broadcast::Sender<SupervisionEvent>);

impl EventBus {
    /// A bus keeping up to `capacity` undelivered events per listener.
    pub fn new(capacity: usize) -> Self {
        EventBus(broadcast::channel(capacity.max(1)).0)
    }

    /// A new listener, receiving events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisionEvent> {
        self.0.subscribe()
    }

    fn publish(&self, event: SupervisionEvent) {
        let _ = self.0.send(event);
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(1024)
    }
}

/// How to run a child.
#[derive(Debug, Clone)]
pub struct ChildOptions {
    /// Name used in logs and events (e.g. `vrrp_instance VI_1`).
    pub name: String,
    /// Shutdown stage: on daemon shutdown, stages are stopped in ascending order.
    pub stage: u8,
    /// Restart policy.
    pub policy: RestartPolicy,
    /// Where to publish events.
    pub events: Option<EventBus>,
    /// Mailbox capacity (backpressure for `send`; `do_send` ignores it).
    pub mailbox_capacity: usize,
}

impl ChildOptions {
    /// Defaults: stage 0, default policy, no event bus, mailbox of 16.
    pub fn new(name: impl Into<String>) -> Self {
        ChildOptions {
            name: name.into(),
            stage: 0,
            policy: RestartPolicy::default(),
            events: None,
            mailbox_capacity: 16,
        }
    }

    /// Sets the shutdown stage.
    pub fn stage(mut self, stage: u8) -> Self {
        self.stage = stage;
        self
    }

    /// Sets the restart policy.
    pub fn policy(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Publishes events on `bus`.
    pub fn events(mut self, bus: EventBus) -> Self {
        self.events = Some(bus);
        self
    }
}

/// Starting a child failed.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The target arbiter has stopped.
    #[error("arbiter is not running; cannot start {0}")]
    ArbiterGone(String),
}

/// Outcome of asking a child to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// The child handled [`Shutdown`] and replied.
    Acked,
    /// No reply within the timeout.
    TimedOut,
    /// The child was already gone.
    Closed,
}

/// State shared by a child's handle, its supervisor and (through a thread-local while it runs)
/// the actor itself.
#[derive(Debug)]
pub(crate) struct ChildShared {
    pub(crate) name: Arc<str>,
    terminate: AtomicBool,
    expedite: AtomicBool,
    waker: AtomicWaker,
    restarts: AtomicU64,
    crashes: AtomicU64,
    pub(crate) last_panic: Mutex<Option<String>>,
}

impl ChildShared {
    pub(crate) fn request_terminate(&self) {
        self.terminate.store(true, Ordering::Release);
        self.waker.wake();
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<ChildShared>>> = const { RefCell::new(None) };
}

/// Extracts the message of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Runs `f` with the shared state of the supervised child currently running on this thread.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<ChildShared>>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().as_ref()))
}

/// Marks `shared` as the running child for the scope of the guard (restores the previous one).
struct Enter(Option<Arc<ChildShared>>);

impl Enter {
    fn new(shared: &Arc<ChildShared>) -> Enter {
        Enter(CURRENT.with(|c| c.replace(Some(Arc::clone(shared)))))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Owner's handle on a supervised child. Dropping it ends the child.
pub struct ChildHandle {
    shared: Arc<ChildShared>,
    stage: u8,
    shutdown: Recipient<Shutdown>,
    addr: Box<dyn Any + Send>,
    durable: Option<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildHandle")
            .field("name", &self.shared.name)
            .field("stage", &self.stage)
            .field("restarts", &self.restarts())
            .finish_non_exhaustive()
    }
}

impl ChildHandle {
    /// The child's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Its shutdown stage.
    pub fn stage(&self) -> u8 {
        self.stage
    }

    /// How many times it was restarted.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// How many times it crashed (panicked or stopped unasked).
    pub fn crashes(&self) -> u64 {
        self.shared.crashes.load(Ordering::Relaxed)
    }

    /// Its typed address, if it is an `A`.
    pub fn addr<A: Actor>(&self) -> Option<Addr<A>> {
        self.addr.downcast_ref::<Addr<A>>().cloned()
    }

    /// Attaches the child's durable state, so a successor (or a state dump) can read it.
    pub fn with_durable<S: Send + 'static>(mut self, durable: Durable<S>) -> Self {
        self.durable = Some(Box::new(durable));
        self
    }

    /// The attached durable state, if it is a `Durable<S>`.
    pub fn durable<S: Send + 'static>(&self) -> Option<Durable<S>> {
        self.durable
            .as_ref()
            .and_then(|d| d.downcast_ref::<Durable<S>>())
            .cloned()
    }

    /// Sends [`Shutdown`] and waits for the reply at most `timeout`. The returned future owns
    /// what it needs (it does not borrow the handle). If the child is waiting out a restart
    /// backoff it is restarted at once so that it can handle the message.
    pub fn shutdown(
        &self,
        reason: ShutdownReason,
        timeout: Duration,
    ) -> impl Future<Output = ShutdownOutcome> + 'static {
        let request = self.shutdown.send(Shutdown { reason });
        self.shared.expedite.store(true, Ordering::Release);
        self.shared.waker.wake();
        async move {
            match tokio::time::timeout(timeout, request).await {
                Ok(Ok(())) => ShutdownOutcome::Acked,
                Ok(Err(_)) => ShutdownOutcome::Closed,
                Err(_) => ShutdownOutcome::TimedOut,
            }
        }
    }

    /// Ends the child for good (idempotent, non-blocking): its `stopping`/`stopped` hooks run
    /// on its arbiter, then it is dropped. Messages still queued are dropped (senders see
    /// `MailboxError::Closed`).
    pub fn terminate(&self) {
        self.shared.request_terminate();
    }

    /// Whether [`terminate`](Self::terminate) (or `finish`) was requested.
    pub fn is_terminated(&self) -> bool {
        self.shared.terminate.load(Ordering::Acquire)
    }
}

impl Drop for ChildHandle {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Ends the currently running supervised child for good from inside its own handler (no
/// restart). Outside a supervised child this is just `ctx.stop()`.
pub fn finish<A>(ctx: &mut Context<A>)
where
    A: Actor<Context = Context<A>>,
{
    with_current(|c| {
        if let Some(c) = c {
            c.terminate.store(true, Ordering::Release);
        }
    });
    ctx.stop();
}

/// Starts `A` on `arbiter` under supervision. `build` runs on the arbiter thread (so it may
/// create `!Send` things) and only once: restarts reuse the same actor value and call its
/// `Supervised::restarting`, which is where it restores itself from its [`Durable`] state.
pub fn spawn_child<A, F>(
    arbiter: &ArbiterHandle,
    opts: ChildOptions,
    build: F,
) -> Result<ChildHandle, SuperviseError>
where
    A: Actor<Context = Context<A>> + Supervised + Handler<Shutdown>,
    F: FnOnce(&mut Context<A>) -> A + Send + 'static,
{
    let shared = Arc::new(ChildShared {
        name: Arc::from(opts.name.as_str()),
        terminate: AtomicBool::new(false),
        expedite: AtomicBool::new(false),
        waker: AtomicWaker::new(),
        restarts: AtomicU64::new(0),
        crashes: AtomicU64::new(0),
        last_panic: Mutex::new(None),
    });
    let (tx, rx) = channel::channel::<A>(opts.mailbox_capacity.max(1));
    let addr = Addr::new(tx);
    let sup_shared = Arc::clone(&shared);
    let policy = opts.policy;
    let events = opts.events.clone();
    let spawned = arbiter.spawn_fn(move || {
        let mut ctx = Context::with_receiver(rx);
        let built = {
            let _enter = Enter::new(&sup_shared);
            catch_unwind(AssertUnwindSafe(|| build(&mut ctx)))
        };
        match built {
            Ok(act) => {
                actix_rt::spawn(SupervisedFut {
                    fut: ctx.into_future(act),
                    shared: sup_shared,
                    backoff: Backoff::new(policy),
                    phase: Phase::Running,
                    events,
                });
            }
            Err(payload) => tracing::error!(
                actor = %sup_shared.name,
                panic = %panic_message(payload.as_ref()),
                "actor constructor panicked; child not started"
            ),
        }
    });
    if !spawned {
        return Err(SuperviseError::ArbiterGone(opts.name));
    }
    Ok(ChildHandle {
        shared,
        stage: opts.stage,
        shutdown: addr.clone().recipient(),
        addr: Box::new(addr),
        durable: None,
    })
}

enum Phase {
    Running,
    Backoff(Pin<Box<tokio::time::Sleep>>),
    RestartNow,
}

struct SupervisedFut<A>
where
    A: Actor<Context = Context<A>> + Supervised,
{
    fut: ContextFut<A, Context<A>>,
    shared: Arc<ChildShared>,
    backoff: Backoff,
    phase: Phase,
    events: Option<EventBus>,
}

impl<A> SupervisedFut<A>
where
    A: Actor<Context = Context<A>> + Supervised,
{
    fn publish(&self, kind: SupervisionEventKind) {
        if let Some(bus) = &self.events {
            bus.publish(SupervisionEvent {
                child: Arc::clone(&self.shared.name),
                at: Instant::now(),
                kind,
            });
        }
    }

    /// The actor crashed (`panic`) or stopped unasked: count it and schedule the restart.
    fn failed(&mut self, panic: Option<String>) {
        let recorded = self
            .shared
            .last_panic
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let panic = panic.or(recorded);
        let delay = self.backoff.on_crash(Instant::now());
        let crashes_in_window = self.backoff.crashes_in_window();
        self.shared.crashes.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            actor = %self.shared.name,
            panic = panic.as_deref().unwrap_or("<stopped>"),
            restart_in_ms = delay.as_millis() as u64,
            crashes_in_window,
            "supervised actor failed; restarting"
        );
        self.publish(SupervisionEventKind::Crashed {
            panic,
            restart_in: delay,
            crashes_in_window,
        });
        self.phase = if delay.is_zero() {
            Phase::RestartNow
        } else {
            Phase::Backoff(Box::pin(tokio::time::sleep(delay)))
        };
    }

    /// Ends the actor for good: graceful stop if it is running, then drop.
    fn end(&mut self, cx: &mut TaskContext<'_>) {
        if matches!(self.phase, Phase::Running) && self.fut.ctx().parts().started() {
            let _enter = Enter::new(&self.shared);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                self.fut.ctx().stop();
                let _ = Pin::new(&mut self.fut).poll(cx);
            }));
        }
        tracing::debug!(actor = %self.shared.name, "supervised actor terminated");
        self.publish(SupervisionEventKind::Terminated);
    }
}

impl<A> Future for SupervisedFut<A>
where
    A: Actor<Context = Context<A>> + Supervised,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared.waker.register(cx.waker());
        loop {
            if this.shared.terminate.load(Ordering::Acquire) {
                this.end(cx);
                return Poll::Ready(());
            }
            match &mut this.phase {
                Phase::Backoff(sleep) => {
                    if !this.shared.expedite.load(Ordering::Acquire)
                        && sleep.as_mut().poll(cx).is_pending()
                    {
                        return Poll::Pending;
                    }
                    this.phase = Phase::RestartNow;
                }
                Phase::RestartNow => {
                    let restarted = {
                        let _enter = Enter::new(&this.shared);
                        catch_unwind(AssertUnwindSafe(|| this.fut.restart()))
                    };
                    match restarted {
                        Ok(true) => {
                            let restarts = this.shared.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                            tracing::info!(actor = %this.shared.name, restarts, "supervised actor restarted");
                            this.phase = Phase::Running;
                            this.publish(SupervisionEventKind::Restarted { restarts });
                        }
                        // Nobody can reach the actor any more: nothing to restart for.
                        Ok(false) => {
                            this.publish(SupervisionEventKind::Terminated);
                            return Poll::Ready(());
                        }
                        Err(payload) => {
                            let msg = panic_message(payload.as_ref());
                            tracing::error!(actor = %this.shared.name, panic = %msg, "actor panicked in restarting()");
                            this.failed(Some(msg));
                        }
                    }
                }
                Phase::Running => {
                    let polled = {
                        let _enter = Enter::new(&this.shared);
                        catch_unwind(AssertUnwindSafe(|| Pin::new(&mut this.fut).poll(cx)))
                    };
                    match polled {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(())) => {
                            if this.shared.terminate.load(Ordering::Acquire) {
                                this.publish(SupervisionEventKind::Terminated);
                                return Poll::Ready(());
                            }
                            this.failed(None);
                        }
                        Err(payload) => {
                            let msg = panic_message(payload.as_ref());
                            tracing::error!(
                                actor = %this.shared.name,
                                panic = %msg,
                                "panic escaped an actor handler (not wrapped in guarded)"
                            );
                            this.failed(Some(msg));
                        }
                    }
                }
            }
        }
    }
}
