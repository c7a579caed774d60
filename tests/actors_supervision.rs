//! Supervision, reconcile, shutdown and signal tests of the generic actor runtime.
//!
//! The test actor `Instance` shows how a protocol actor plugs in: its durable state
//! (`VrrpState`: "MASTER with these VIPs") lives in a `Durable` cell handed to it at start and
//! kept by its `ChildHandle`; `Supervised::restarting` rebuilds every volatile field from that
//! cell; every handler body runs inside `guarded`.
//!
//! No sleep stands in for synchronisation: every wait is on an event (oneshot, mpsc,
//! supervision event, reply) and bounded by a timeout.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rt::ArbiterHandle;
use keepalived_rs::runtime::{
    guarded, listen_signals, spawn_child, ActorRuntime, Arbiters, ChildFactory, ChildHandle,
    ChildOptions, ChildView, ControlSignal, Domain, DumpKind, Durable, EventBus, Family,
    ListChildren, Loading, ObjectId, Reconcile, Reload, RestartPolicy, Root, RootOptions,
    RootStopping, RuntimeConfig, Shutdown, ShutdownOutcome, ShutdownReason, ShutdownReport,
    StopAll, SupervisionEvent, SupervisionEventKind,
};
use tokio::sync::{broadcast, mpsc};

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// harness

/// Runs `body` on the control arbiter of a fresh runtime in its own thread, bounded by a
/// global timeout; shuts the runtime down afterwards and propagates panics.
fn with_runtime<F, Fut>(body: F)
where
    F: FnOnce(Arbiters) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = ActorRuntime::new(RuntimeConfig::default()).expect("runtime");
        let arbiters = rt.arbiters();
        let result = catch_unwind(AssertUnwindSafe(|| rt.block_on(body(arbiters))));
        let code = rt.shutdown();
        let _ = done_tx.send(());
        if let Err(p) = result {
            resume_unwind(p);
        }
        assert_eq!(code.expect("clean shutdown"), 0);
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = thread.join() {
                resume_unwind(p);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("test timed out"),
    }
}

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Next event about `child` matching `pred`.
async fn next_event(
    rx: &mut broadcast::Receiver<SupervisionEvent>,
    child: &str,
    pred: impl Fn(&SupervisionEventKind) -> bool,
) -> SupervisionEvent {
    within("supervision event", async {
        loop {
            let ev = rx.recv().await.expect("event bus open");
            if &*ev.child == child && pred(&ev.kind) {
                return ev;
            }
        }
    })
    .await
}

fn is_crash(k: &SupervisionEventKind) -> bool {
    matches!(k, SupervisionEventKind::Crashed { .. })
}

fn is_restart(k: &SupervisionEventKind) -> bool {
    matches!(k, SupervisionEventKind::Restarted { .. })
}

// ---------------------------------------------------------------------------------------------
// the test actor

/// Durable state: what must survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VrrpState {
    master: bool,
    vips: Vec<String>,
}

/// What every actor saw, in global order.
#[derive(Default)]
struct Probes {
    log: Mutex<Vec<(String, String)>>,
    starts: Mutex<HashMap<String, u32>>,
    addrs: Mutex<HashMap<String, Addr<Instance>>>,
}

impl Probes {
    fn record(&self, who: &str, what: impl Into<String>) {
        self.log.lock().unwrap().push((who.to_owned(), what.into()));
    }
    fn seen_by(&self, who: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(w, _)| w == who)
            .map(|(_, e)| e.clone())
            .collect()
    }
    fn position(&self, who: &str, what: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .position(|(w, e)| w == who && e == what)
            .unwrap_or_else(|| panic!("{who} never saw {what}"))
    }
    fn starts(&self, who: &str) -> u32 {
        *self.starts.lock().unwrap().get(who).unwrap_or(&0)
    }
    fn addr(&self, who: &str) -> Addr<Instance> {
        self.addrs.lock().unwrap()[who].clone()
    }
}

struct Instance {
    name: String,
    durable: Durable<VrrpState>,
    probes: Arc<Probes>,
    /// 1 for a fresh actor, +1 per restart (volatile: only for the tests to observe).
    incarnation: u32,
    /// Volatile working state a panic may leave corrupt; rebuilt on restart.
    scratch: Vec<u8>,
    stuck_on_shutdown: bool,
}

impl Instance {
    fn new(name: &str, durable: Durable<VrrpState>, probes: Arc<Probes>) -> Self {
        Instance {
            name: name.to_owned(),
            durable,
            probes,
            incarnation: 1,
            scratch: Vec::new(),
            stuck_on_shutdown: false,
        }
    }
}

impl Actor for Instance {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        guarded(self, ctx, |this, _| {
            this.probes.record(&this.name, "started")
        });
    }
}

impl Supervised for Instance {
    /// The restore pattern: keep identity and the durable cell, rebuild everything else.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        let mut fresh = Instance::new(&self.name, self.durable.clone(), self.probes.clone());
        fresh.incarnation = self.incarnation + 1;
        fresh.stuck_on_shutdown = self.stuck_on_shutdown;
        *self = fresh;
        self.probes.record(&self.name, "restarting");
    }
}

impl Handler<Shutdown> for Instance {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        guarded(self, ctx, |this, _| {
            this.probes
                .record(&this.name, format!("shutdown:{:?}", msg.reason))
        });
        if self.stuck_on_shutdown {
            Box::pin(fut::wrap_future(futures::future::pending::<()>()))
        } else {
            Box::pin(fut::ready(()))
        }
    }
}

/// Sibling liveness probe (not logged).
struct Ping;
impl Message for Ping {
    type Result = Option<u32>;
}
impl Handler<Ping> for Instance {
    type Result = Option<u32>;
    fn handle(&mut self, _: Ping, ctx: &mut Context<Self>) -> Option<u32> {
        guarded(self, ctx, |this, _| this.incarnation)
    }
}

/// (durable state, incarnation, scratch length)
struct Get;
impl Message for Get {
    type Result = Option<(VrrpState, u32, usize)>;
}
impl Handler<Get> for Instance {
    type Result = Option<(VrrpState, u32, usize)>;
    fn handle(&mut self, _: Get, ctx: &mut Context<Self>) -> Self::Result {
        guarded(self, ctx, |this, _| {
            this.probes.record(&this.name, "get");
            (this.durable.get(), this.incarnation, this.scratch.len())
        })
    }
}

struct BecomeMaster(Vec<String>);
impl Message for BecomeMaster {
    type Result = Option<()>;
}
impl Handler<BecomeMaster> for Instance {
    type Result = Option<()>;
    fn handle(&mut self, msg: BecomeMaster, ctx: &mut Context<Self>) -> Option<()> {
        guarded(self, ctx, |this, _| {
            this.probes.record(&this.name, "become_master");
            // Transition done: checkpoint it.
            this.durable.set(VrrpState {
                master: true,
                vips: msg.0,
            });
        })
    }
}

/// Panics inside `guarded` after corrupting volatile state.
struct Crash;
impl Message for Crash {
    type Result = Option<()>;
}
impl Handler<Crash> for Instance {
    type Result = Option<()>;
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) -> Option<()> {
        guarded(self, ctx, |this, _| {
            this.probes.record(&this.name, "crash");
            this.scratch = vec![0xde, 0xad];
            panic!("boom in {}", this.name);
        })
    }
}

/// Panics without `guarded` (the supervisor's backstop catches it).
struct CrashUnguarded;
impl Message for CrashUnguarded {
    type Result = ();
}
impl Handler<CrashUnguarded> for Instance {
    type Result = ();
    fn handle(&mut self, _: CrashUnguarded, _: &mut Context<Self>) {
        self.scratch = vec![1];
        panic!("unguarded boom");
    }
}

/// Ends the actor for good from inside (no restart).
struct Finish;
impl Message for Finish {
    type Result = ();
}
impl Handler<Finish> for Instance {
    type Result = ();
    fn handle(&mut self, _: Finish, ctx: &mut Context<Self>) {
        self.probes.record(&self.name, "finish");
        keepalived_rs::runtime::finish(ctx);
    }
}

fn start_instance(
    arbiter: &ArbiterHandle,
    opts: ChildOptions,
    durable: Durable<VrrpState>,
    probes: &Arc<Probes>,
) -> (ChildHandle, Addr<Instance>) {
    let name = opts.name.clone();
    let p = probes.clone();
    let d = durable.clone();
    let handle = spawn_child(arbiter, opts, move |_ctx| Instance::new(&name, d, p))
        .expect("arbiter alive")
        .with_durable(durable);
    let addr = handle.addr::<Instance>().expect("typed address");
    (handle, addr)
}

// ---------------------------------------------------------------------------------------------
// (a) crash + restart with preserved state, sibling unaffected

#[test]
fn panicking_actor_restarts_with_its_state_while_sibling_keeps_answering() {
    with_runtime(|arbiters| async move {
        let vrrp = arbiters.get(Domain::Vrrp).clone();
        let probes = Arc::new(Probes::default());
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        let backoff = Duration::from_millis(150);
        let policy = RestartPolicy {
            burst: 0,
            initial: backoff,
            max: Duration::from_secs(1),
            window: Duration::from_secs(60),
        };
        // Both on the same arbiter thread: the crash must not stall the sibling.
        let (_victim_h, victim) = start_instance(
            &vrrp,
            ChildOptions::new("victim")
                .policy(policy)
                .events(bus.clone()),
            Durable::default(),
            &probes,
        );
        let (_sibling_h, sibling) = start_instance(
            &vrrp,
            ChildOptions::new("sibling").events(bus.clone()),
            Durable::default(),
            &probes,
        );

        let vips = vec!["192.0.2.1/24".to_owned(), "192.0.2.2/24".to_owned()];
        within("become master", victim.send(BecomeMaster(vips.clone())))
            .await
            .unwrap()
            .unwrap();

        // Ping the sibling continuously until told to stop.
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let pinger = actix_rt::spawn(async move {
            let (mut replies, mut errors) = (Vec::new(), 0u32);
            loop {
                if stop_rx.try_recv().is_ok() {
                    return (replies, errors);
                }
                match tokio::time::timeout(Duration::from_secs(2), sibling.send(Ping)).await {
                    Ok(Ok(Some(_))) => replies.push(Instant::now()),
                    _ => errors += 1,
                }
            }
        });

        // The crashing message gets a reply (None) instead of killing the arbiter task.
        assert_eq!(
            within("crash reply", victim.send(Crash)).await.unwrap(),
            None
        );
        // Sent while the victim waits out its backoff: queued, answered after the restart.
        let during_backoff = victim.send(Get);

        let crashed = next_event(&mut events, "victim", is_crash).await;
        match &crashed.kind {
            SupervisionEventKind::Crashed {
                panic, restart_in, ..
            } => {
                assert_eq!(panic.as_deref(), Some("boom in victim"));
                assert_eq!(*restart_in, backoff);
            }
            other => panic!("unexpected {other:?}"),
        }
        let restarted = next_event(&mut events, "victim", is_restart).await;
        assert!(restarted.at.duration_since(crashed.at) >= backoff);

        let (state, incarnation, scratch) =
            within("queued get", during_backoff).await.unwrap().unwrap();
        assert_eq!(
            state,
            VrrpState {
                master: true,
                vips: vips.clone()
            },
            "durable state survives"
        );
        assert_eq!(incarnation, 2, "restarted exactly once");
        assert_eq!(
            scratch, 0,
            "volatile state was rebuilt, not the corrupt one"
        );

        // Let the sibling answer a few more, then stop the pinger.
        let _ = stop_tx.send(());
        let (replies, errors) = within("pinger", pinger).await.unwrap();
        assert_eq!(errors, 0, "sibling never failed to answer");
        let in_window = replies
            .iter()
            .filter(|t| **t > crashed.at && **t < restarted.at)
            .count();
        assert!(
            in_window >= 3,
            "sibling answered only {in_window} times while the victim was down"
        );
        assert_eq!(probes.seen_by("sibling"), vec!["started"]);
        assert_eq!(
            probes.seen_by("victim"),
            vec![
                "started",
                "become_master",
                "crash",
                "restarting",
                "started",
                "get"
            ]
        );
    });
}

#[test]
fn panic_outside_guarded_is_caught_by_the_supervisor_backstop() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        let durable = Durable::new(VrrpState {
            master: true,
            vips: vec!["198.51.100.7/32".into()],
        });
        let (handle, victim) = start_instance(
            arbiters.get(Domain::Vrrp),
            ChildOptions::new("raw").events(bus),
            durable.clone(),
            &probes,
        );
        // The reply channel is dropped by the unwinding handler.
        assert!(within("raw crash", victim.send(CrashUnguarded))
            .await
            .is_err());
        let crashed = next_event(&mut events, "raw", is_crash).await;
        assert!(matches!(
            crashed.kind,
            SupervisionEventKind::Crashed { ref panic, .. } if panic.as_deref() == Some("unguarded boom")
        ));
        next_event(&mut events, "raw", is_restart).await;
        let (state, incarnation, scratch) = within("get", victim.send(Get)).await.unwrap().unwrap();
        assert_eq!(state, durable.get());
        assert_eq!((incarnation, scratch), (2, 0));
        assert_eq!((handle.crashes(), handle.restarts()), (1, 1));
    });
}

// ---------------------------------------------------------------------------------------------
// (b) repeated panics back off, the System survives

#[test]
fn repeated_panics_back_off_exponentially_and_never_kill_the_system() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        let ms = Duration::from_millis;
        let policy = RestartPolicy {
            window: Duration::from_secs(60),
            burst: 1,
            initial: ms(20),
            max: ms(80),
        };
        let (handle, victim) = start_instance(
            arbiters.get(Domain::Checkers),
            ChildOptions::new("flaky").policy(policy).events(bus),
            Durable::new(VrrpState {
                master: true,
                vips: vec!["203.0.113.9/24".into()],
            }),
            &probes,
        );

        let mut delays = Vec::new();
        let mut restart_times: Vec<Instant> = Vec::new();
        for _ in 0..6 {
            assert_eq!(within("crash", victim.send(Crash)).await.unwrap(), None);
            let crashed = next_event(&mut events, "flaky", is_crash).await;
            let SupervisionEventKind::Crashed { restart_in, .. } = crashed.kind else {
                unreachable!()
            };
            let restarted = next_event(&mut events, "flaky", is_restart).await;
            assert!(
                restarted.at.duration_since(crashed.at) >= restart_in,
                "restart did not wait its backoff"
            );
            if let Some(prev) = restart_times.last() {
                assert!(restarted.at > *prev, "restart timestamps increase");
            }
            delays.push(restart_in);
            restart_times.push(restarted.at);
        }
        assert_eq!(delays, vec![ms(0), ms(20), ms(40), ms(80), ms(80), ms(80)]);
        // Gaps between restarts grow with the backoff.
        let gaps: Vec<Duration> = restart_times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[3] >= ms(80) && gaps[2] >= ms(40), "gaps {gaps:?}");

        // Still alive, still the same durable state, and the System runs on.
        let (state, incarnation, _) = within("get", victim.send(Get)).await.unwrap().unwrap();
        assert!(state.master);
        assert_eq!(incarnation, 7);
        assert_eq!((handle.crashes(), handle.restarts()), (6, 6));
        let (_h2, other) = start_instance(
            arbiters.get(Domain::Checkers),
            ChildOptions::new("other"),
            Durable::default(),
            &probes,
        );
        assert_eq!(within("ping", other.send(Ping)).await.unwrap(), Some(1));
        assert!(System::try_current().is_some());
    });
}

#[test]
fn finish_ends_an_actor_without_restart() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        let (handle, actor) = start_instance(
            arbiters.get(Domain::Bfd),
            ChildOptions::new("done").events(bus),
            Durable::default(),
            &probes,
        );
        within("finish", actor.send(Finish)).await.unwrap();
        let ev = next_event(&mut events, "done", |_| true).await;
        assert_eq!(ev.kind, SupervisionEventKind::Terminated);
        assert!(handle.is_terminated());
        assert!(within("dead", actor.send(Ping)).await.is_err());
        assert_eq!((handle.crashes(), handle.restarts()), (0, 0));
    });
}

#[test]
fn shutdown_cuts_a_restart_backoff_short() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        let long = Duration::from_secs(30);
        let policy = RestartPolicy {
            burst: 0,
            initial: long,
            max: long,
            window: Duration::from_secs(60),
        };
        let (handle, actor) = start_instance(
            arbiters.get(Domain::Vrrp),
            ChildOptions::new("slow").policy(policy).events(bus),
            Durable::default(),
            &probes,
        );
        within("crash", actor.send(Crash)).await.unwrap();
        next_event(&mut events, "slow", is_crash).await;
        // Without the cut, Shutdown would wait 30 s in the mailbox and time out.
        let outcome = within(
            "shutdown",
            handle.shutdown(ShutdownReason::Terminate, Duration::from_secs(5)),
        )
        .await;
        assert_eq!(outcome, ShutdownOutcome::Acked);
        assert_eq!(
            probes.seen_by("slow"),
            vec![
                "started",
                "crash",
                "restarting",
                "started",
                "shutdown:Terminate"
            ]
        );
        drop(handle); // ends it
        let ev = next_event(&mut events, "slow", |k| {
            *k == SupervisionEventKind::Terminated
        })
        .await;
        assert_eq!(&*ev.child, "slow");
    });
}

// ---------------------------------------------------------------------------------------------
// (c) reconcile, (d) shutdown: a Root driven by a test factory

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cfg {
    priority: u8,
    stage: u8,
    stuck: bool,
}

fn cfg(priority: u8) -> Cfg {
    Cfg {
        priority,
        stage: 0,
        stuck: false,
    }
}

fn vrrp_id(vrid: u8) -> ObjectId {
    ObjectId::VrrpInstance {
        vrid,
        family: Family::V4,
        ifname: "eth0".into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Note {
    Reloaded,
    Dumped(DumpKind, usize),
    ShutdownComplete(ShutdownReport),
}

struct TestFactory {
    arbiter: ArbiterHandle,
    probes: Arc<Probes>,
    reload_with: Option<Vec<(ObjectId, Cfg)>>,
    notes: Option<mpsc::UnboundedSender<Note>>,
}

impl TestFactory {
    fn new(arbiter: &ArbiterHandle, probes: &Arc<Probes>) -> Self {
        TestFactory {
            arbiter: arbiter.clone(),
            probes: probes.clone(),
            reload_with: None,
            notes: None,
        }
    }
    fn note(&self, n: Note) {
        if let Some(tx) = &self.notes {
            let _ = tx.send(n);
        }
    }
}

impl ChildFactory<ObjectId, Cfg> for TestFactory {
    fn start(
        &mut self,
        key: &ObjectId,
        config: &Cfg,
        previous: Option<&ChildHandle>,
    ) -> anyhow::Result<ChildHandle> {
        let name = key.to_string();
        // A replacement takes over its predecessor's durable state.
        let durable = previous
            .and_then(|p| p.durable::<VrrpState>())
            .unwrap_or_default();
        *self
            .probes
            .starts
            .lock()
            .unwrap()
            .entry(name.clone())
            .or_default() += 1;
        let (p, d, n, stuck) = (
            self.probes.clone(),
            durable.clone(),
            name.clone(),
            config.stuck,
        );
        let handle = spawn_child(
            &self.arbiter,
            ChildOptions::new(name.clone()).stage(config.stage),
            move |_ctx| {
                let mut i = Instance::new(&n, d, p);
                i.stuck_on_shutdown = stuck;
                i
            },
        )?
        .with_durable(durable);
        self.probes
            .addrs
            .lock()
            .unwrap()
            .insert(name, handle.addr::<Instance>().unwrap());
        Ok(handle)
    }

    fn reload(&mut self, _watched: bool) -> Option<Loading<ObjectId, Cfg>> {
        self.note(Note::Reloaded);
        let reload = self
            .reload_with
            .clone()
            .map(|desired| Reload {
                desired,
                commit: Box::new(|_, _| {}),
            })
            .ok_or_else(|| anyhow::anyhow!("invalid configuration"));
        Some(Box::pin(std::future::ready(reload)))
    }

    fn dump(&mut self, kind: DumpKind, children: &[ChildView<'_, ObjectId, Cfg>]) {
        self.note(Note::Dumped(kind, children.len()));
    }

    fn shutdown_complete(&mut self, report: &ShutdownReport) {
        self.note(Note::ShutdownComplete(report.clone()));
    }
}

#[test]
fn reconcile_touches_only_added_removed_and_changed_children() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let factory = TestFactory::new(arbiters.get(Domain::Vrrp), &probes);
        let root = Root::new(factory, RootOptions::default()).start();
        let (a, b, c, d) = (
            vrrp_id(1),
            vrrp_id(2),
            ObjectId::Script("chk_c".into()),
            ObjectId::BfdInstance("d".into()),
        );
        let (an, bn, cn, dn) = (a.to_string(), b.to_string(), c.to_string(), d.to_string());

        let first = vec![
            (a.clone(), cfg(100)),
            (b.clone(), cfg(100)),
            (c.clone(), cfg(100)),
        ];
        let report = within("reconcile 1", root.send(Reconcile(first)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.started, vec![a.clone(), b.clone(), c.clone()]);
        assert_eq!(report.unchanged, 0);

        // Wait until every child has started (first message handled), then make B master.
        for n in [&an, &bn, &cn] {
            within("ping", probes.addr(n).send(Ping)).await.unwrap();
        }
        let b_vips = vec!["10.1.1.1/24".to_owned()];
        within(
            "b master",
            probes.addr(&bn).send(BecomeMaster(b_vips.clone())),
        )
        .await
        .unwrap();
        let old_b = probes.addr(&bn);
        let old_c = probes.addr(&cn);

        // A unchanged, B changed, C removed, D added.
        let second = vec![
            (a.clone(), cfg(100)),
            (b.clone(), cfg(200)),
            (d.clone(), cfg(50)),
        ];
        let report = within("reconcile 2", root.send(Reconcile(second)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.started, vec![d.clone()]);
        assert_eq!(report.stopped, vec![c.clone()]);
        assert_eq!(report.replaced, vec![b.clone()]);
        assert_eq!(report.unchanged, 1);
        assert!(report.failed.is_empty() && report.timed_out.is_empty());

        // Starts: only B (again) and D.
        assert_eq!([&an, &bn, &cn, &dn].map(|n| probes.starts(n)), [1, 2, 1, 1]);
        // The removed and the replaced actors are gone although we still hold their Addrs.
        assert!(within("old c", old_c.send(Ping)).await.is_err());
        assert!(within("old b", old_b.send(Ping)).await.is_err());
        // The replacement took over B's durable state; it is a fresh actor.
        let (state, incarnation, _) = within("new b", probes.addr(&bn).send(Get))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (state, incarnation),
            (
                VrrpState {
                    master: true,
                    vips: b_vips
                },
                1
            )
        );

        // A saw nothing at all after its start: no Shutdown, no restart, no message.
        assert_eq!(probes.seen_by(&an), vec!["started"]);
        assert_eq!(
            probes.seen_by(&bn),
            vec![
                "started",
                "become_master",
                "shutdown:Replaced",
                "started",
                "get"
            ]
        );
        assert_eq!(probes.seen_by(&cn), vec!["started", "shutdown:Removed"]);

        let children = within("list", root.send(ListChildren)).await.unwrap();
        let names: Vec<_> = children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec![an.as_str(), bn.as_str(), dn.as_str()]);
        assert!(children.iter().all(|c| c.restarts == 0));

        // Re-applying the same list is a no-op.
        let again = vec![
            (a.clone(), cfg(100)),
            (b.clone(), cfg(200)),
            (d.clone(), cfg(50)),
        ];
        let report = within("reconcile 3", root.send(Reconcile(again)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.unchanged, 3);
        assert!(
            report.started.is_empty() && report.stopped.is_empty() && report.replaced.is_empty()
        );
        assert_eq!(probes.seen_by(&an), vec!["started"]);

        // The default root stops the System after StopAll; the harness copes with that.
        let report = within("stop all", root.send(StopAll)).await.unwrap();
        assert_eq!(report.acked.len(), 3);
    });
}

#[test]
fn shutdown_reaches_every_child_in_stage_order_within_the_timeout() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let mut factory = TestFactory::new(arbiters.get(Domain::Vrrp), &probes);
        factory.notes = Some(notes_tx);
        let stop_timeout = Duration::from_millis(300);
        let root = Root::new(
            factory,
            RootOptions {
                stop_timeout,
                stop_system_on_shutdown: false,
            },
        )
        .start();
        let staged = |stage: u8, stuck: bool| Cfg {
            priority: 100,
            stage,
            stuck,
        };
        let (v1, v2, stuck, net) = (
            vrrp_id(1),
            vrrp_id(2),
            ObjectId::Other("stuck".into()),
            ObjectId::Other("netlink".into()),
        );
        let desired = vec![
            (net.clone(), staged(1, false)),
            (v1.clone(), staged(0, false)),
            (v2.clone(), staged(0, false)),
            (stuck.clone(), staged(0, true)),
        ];
        within("reconcile", root.send(Reconcile(desired)))
            .await
            .unwrap()
            .unwrap();
        for k in [&v1, &v2, &stuck, &net] {
            within("ping", probes.addr(&k.to_string()).send(Ping))
                .await
                .unwrap();
        }

        let t0 = Instant::now();
        let report = within("stop all", root.send(StopAll)).await.unwrap();
        let took = t0.elapsed();
        assert!(
            took < stop_timeout * 2 + Duration::from_millis(500),
            "shutdown took {took:?}"
        );
        let mut acked = report.acked.clone();
        acked.sort();
        let mut expected = vec![v1.to_string(), v2.to_string(), net.to_string()];
        expected.sort();
        assert_eq!(acked, expected);
        assert_eq!(report.timed_out, vec![stuck.to_string()]);
        assert!(report.closed.is_empty());
        // Everyone got Shutdown(Terminate); stage 0 before stage 1.
        for k in [&v1, &v2, &stuck, &net] {
            assert!(probes
                .seen_by(&k.to_string())
                .contains(&"shutdown:Terminate".to_owned()));
        }
        let net_at = probes.position(&net.to_string(), "shutdown:Terminate");
        for k in [&v1, &v2, &stuck] {
            assert!(probes.position(&k.to_string(), "shutdown:Terminate") < net_at);
        }
        assert_eq!(
            within("note", notes.recv()).await,
            Some(Note::ShutdownComplete(report.clone()))
        );
        // All children ended, the root refuses further changes.
        assert!(within("list", root.send(ListChildren))
            .await
            .unwrap()
            .is_empty());
        for k in [&v1, &net, &stuck] {
            assert!(within("dead", probes.addr(&k.to_string()).send(Ping))
                .await
                .is_err());
        }
        assert_eq!(
            within(
                "late reconcile",
                root.send(Reconcile(vec![(v1.clone(), cfg(1))]))
            )
            .await
            .unwrap(),
            Err(RootStopping)
        );
    });
}

#[test]
fn invalid_reload_keeps_the_running_children() {
    with_runtime(|arbiters| async move {
        let probes = Arc::new(Probes::default());
        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let mut factory = TestFactory::new(arbiters.get(Domain::Vrrp), &probes);
        factory.notes = Some(notes_tx);
        factory.reload_with = None; // reload() fails: "invalid configuration"
        let root = Root::new(factory, RootOptions::default()).start();
        within(
            "reconcile",
            root.send(Reconcile(vec![(vrrp_id(9), cfg(1))])),
        )
        .await
        .unwrap()
        .unwrap();
        let nine = probes.addr(&vrrp_id(9).to_string());
        within("ping", nine.send(Ping)).await.unwrap(); // started() has run
        within("reload", root.send(ControlSignal::Reload))
            .await
            .unwrap();
        assert_eq!(within("note", notes.recv()).await, Some(Note::Reloaded));
        assert_eq!(within("ping", nine.send(Ping)).await.unwrap(), Some(1));
        let children = within("list", root.send(ListChildren)).await.unwrap();
        assert_eq!(children.len(), 1);
        assert_eq!(probes.seen_by(&vrrp_id(9).to_string()), vec!["started"]);
    });
}

// ---------------------------------------------------------------------------------------------
// (e) signals, in a child process so the handlers do not touch the test harness

const CHILD_ENV: &str = "KEEPALIVED_RS_ACTORS_SIGNAL_CHILD";

#[test]
fn signals_are_delivered_as_control_messages() {
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "signal_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("signal child process timed out");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("SIGNALS-OK"),
        "child failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

/// Records control signals.
struct Recorder(mpsc::UnboundedSender<ControlSignal>);
impl Actor for Recorder {
    type Context = Context<Self>;
}
impl Handler<ControlSignal> for Recorder {
    type Result = ();
    fn handle(&mut self, msg: ControlSignal, _: &mut Context<Self>) {
        let _ = self.0.send(msg);
    }
}

fn raise(sig: i32) {
    // SAFETY: sending a signal to our own process; handlers are installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

/// Runs only in the child process spawned above (a no-op in the normal test run).
#[test]
fn signal_child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = ActorRuntime::new(RuntimeConfig::default()).unwrap();
    let arbiters = rt.arbiters();
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    rt.block_on(async move {
        // 1. Each signal maps to its control message.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let recorder = Recorder(tx).start();
        let listener = listen_signals(recorder.recipient()).unwrap();
        for (sig, expected) in [
            (libc::SIGHUP, ControlSignal::Reload),
            (libc::SIGUSR1, ControlSignal::DumpData),
            (libc::SIGUSR2, ControlSignal::DumpStats),
            (libc::SIGINT, ControlSignal::Shutdown),
            (libc::SIGTERM, ControlSignal::Shutdown),
        ] {
            raise(sig);
            assert_eq!(within("signal", rx.recv()).await, Some(expected));
        }
        drop(listener);

        // 2. End to end through the Root: SIGHUP reloads, SIGUSR1 dumps, SIGTERM stops all
        //    children and then the System.
        let probes = Arc::new(Probes::default());
        let mut factory = TestFactory::new(arbiters.get(Domain::Vrrp), &probes);
        factory.notes = Some(notes_tx);
        factory.reload_with = Some(vec![(vrrp_id(1), cfg(100)), (vrrp_id(2), cfg(100))]);
        let root = Root::new(factory, RootOptions::default()).start();
        within(
            "reconcile",
            root.send(Reconcile(vec![(vrrp_id(1), cfg(100))])),
        )
        .await
        .unwrap()
        .unwrap();
        let _listener = listen_signals(root.clone().recipient()).unwrap();

        raise(libc::SIGHUP);
        assert_eq!(within("reload", notes.recv()).await, Some(Note::Reloaded));
        // Reload and the next message are serialized by the root: when List answers, the
        // reconcile has been applied.
        let children = within("list", root.send(ListChildren)).await.unwrap();
        assert_eq!(children.len(), 2);

        raise(libc::SIGUSR1);
        assert_eq!(
            within("dump", notes.recv()).await,
            Some(Note::Dumped(DumpKind::Data, 2))
        );

        raise(libc::SIGTERM);
        match within("shutdown", notes.recv()).await {
            Some(Note::ShutdownComplete(report)) => {
                assert_eq!(report.acked.len(), 2, "{report:?}")
            }
            other => panic!("unexpected {other:?}"),
        }
        for id in [vrrp_id(1), vrrp_id(2)] {
            assert!(probes
                .seen_by(&id.to_string())
                .contains(&"shutdown:Terminate".to_owned()));
        }
    });
    // The root stopped the System: run() returns at once.
    assert_eq!(rt.run().unwrap(), 0);
    println!("SIGNALS-OK");
}
