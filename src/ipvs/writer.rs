//! The IPVS writer: ONE task owning the kernel's IPVS table.
//!
//! Callers (the LVS director) state the *desired* table, one service at a time
//! ([`WriterHandle::set_service`]); the writer reconciles the kernel with it by diffing against
//! what it believes the kernel holds (add / update / delete only the differences). What it
//! believes is refreshed from a kernel dump at start, periodically
//! ([`WriterConfig::resync_interval`], so a service someone else deleted or edited is put back),
//! and before retrying a service whose last operation failed.
//!
//! Errors are per service: a failed operation is logged with the service (and destination) it
//! concerns and retried with a backoff, while every other service keeps being reconciled.
//!
//! Only services the writer was asked to program are touched; foreign services are left alone
//! (unless `flush_on_start` / `flush_on_stop`). On shutdown our services are removed unless
//! [`WriterConfig::release_on_shutdown`] is false (keepalived's `--dont-release-ipvs`).
//!
//! The kernel is reached through [`IpvsBackend`]: [`KernelBackend`] (our generic-netlink
//! [`IpvsClient`]) or [`MemoryBackend`] (an in-memory table with the kernel's error semantics
//! and fault injection, for hosts without IPVS: tests and benchmarks).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::client::IpvsClient;
use super::dest::{DestKey, Destination, ForwardMethod};
use super::error::{explain, IpvsError, Operation, Subject};
use super::service::{Service, ServiceKey};
use super::settings::Timeouts;

/// One service as it should be in the kernel: its settings and destinations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredService {
    /// Scheduler, flags, persistence.
    pub service: Service,
    /// Destinations by key.
    pub dests: BTreeMap<DestKey, Destination>,
}

/// A whole table: services by key.
pub type Table = BTreeMap<ServiceKey, DesiredService>;

/// How the writer reaches the kernel. Each call is one request.
pub trait IpvsBackend: Send + 'static {
    /// Every service in the kernel (with settings).
    fn list_services(&mut self) -> impl Future<Output = Result<Vec<Service>, IpvsError>> + Send;
    /// The destinations of one service.
    fn list_destinations(
        &mut self,
        key: &ServiceKey,
    ) -> impl Future<Output = Result<Vec<Destination>, IpvsError>> + Send;
    /// `ipvsadm -A`.
    fn add_service(&mut self, s: &Service) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -E`.
    fn update_service(&mut self, s: &Service)
        -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -D`.
    fn delete_service(
        &mut self,
        key: &ServiceKey,
    ) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -a`.
    fn add_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -e`.
    fn update_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -d`.
    fn delete_destination(
        &mut self,
        key: &ServiceKey,
        d: &DestKey,
    ) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -C`.
    fn flush(&mut self) -> impl Future<Output = Result<(), IpvsError>> + Send;
    /// `ipvsadm -L --timeout`.
    fn timeouts(&mut self) -> impl Future<Output = Result<Timeouts, IpvsError>> + Send;
    /// `ipvsadm --set` (0: unchanged).
    fn set_timeouts(&mut self, t: &Timeouts) -> impl Future<Output = Result<(), IpvsError>> + Send;
}

/// The real kernel through [`IpvsClient`]; (re)connects lazily, so a kernel without IPVS (or a
/// broken socket) is an error per operation, retried later, never a crash.
#[derive(Default)]
pub struct KernelBackend {
    client: Option<IpvsClient>,
}

impl KernelBackend {
    /// Not connected yet; the first operation connects.
    pub fn new() -> Self {
        Self::default()
    }

    async fn client(&mut self) -> Result<&mut IpvsClient, IpvsError> {
        if self.client.is_none() {
            self.client = Some(IpvsClient::connect().await?);
        }
        // Just set above when missing.
        self.client.as_mut().ok_or(IpvsError::Unavailable)
    }

    fn check<T>(&mut self, r: Result<T, IpvsError>) -> Result<T, IpvsError> {
        if matches!(
            r,
            Err(IpvsError::Io { .. } | IpvsError::Timeout { .. } | IpvsError::Decode { .. })
        ) {
            // The socket may be out of step with the kernel: start afresh next time.
            self.client = None;
        }
        r
    }
}

impl IpvsBackend for KernelBackend {
    async fn list_services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.services().await,
            Err(e) => Err(e),
        };
        self.check(r)
            .map(|v| v.into_iter().map(|e| e.service).collect())
    }
    async fn list_destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>, IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.destinations(key).await,
            Err(e) => Err(e),
        };
        self.check(r)
            .map(|v| v.into_iter().map(|e| e.dest).collect())
    }
    async fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.add_service(s).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn update_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.update_service(s).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.delete_service(key).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn add_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.add_destination(key, d).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn update_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.update_destination(key, d).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn delete_destination(&mut self, key: &ServiceKey, d: &DestKey) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.delete_destination(key, d).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn flush(&mut self) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.flush().await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.timeouts().await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
    async fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        let r = match self.client().await {
            Ok(c) => c.set_timeouts(t).await,
            Err(e) => Err(e),
        };
        self.check(r)
    }
}

#[derive(Debug, Default)]
struct MemoryInner {
    table: BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Destination>)>,
    fail: HashMap<ServiceKey, i32>,
    fail_all: Option<i32>,
    ops: u64,
    timeouts: Option<Timeouts>,
}

/// The kernel's default timeouts (tcp 900 s, tcpfin 120 s, udp 300 s).
pub const KERNEL_DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    tcp: 900,
    tcp_fin: 120,
    udp: 300,
};

/// An in-memory IPVS table with the kernel's error semantics (EEXIST on a second add, ESRCH for
/// an unknown service, ENOENT for an unknown destination) and fault injection. Clones share
/// the table, so a test keeps one clone to look at and to change "behind the writer's back".
#[derive(Clone, Debug, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<MemoryInner>>,
}

fn kernel_error(op: Operation, subject: Subject, errno: i32) -> IpvsError {
    IpvsError::Kernel {
        op,
        subject,
        errno,
        reason: explain(op, errno),
        extack: None,
    }
}

impl MemoryBackend {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current table.
    pub fn table(&self) -> Table {
        self.lock()
            .table
            .iter()
            .map(|(k, (s, d))| {
                (
                    *k,
                    DesiredService {
                        service: s.clone(),
                        dests: d.clone(),
                    },
                )
            })
            .collect()
    }

    /// Destinations of one service with their weights (`None` if the service is absent).
    pub fn weights(&self, key: &ServiceKey) -> Option<BTreeMap<DestKey, u32>> {
        self.lock()
            .table
            .get(key)
            .map(|(_, d)| d.iter().map(|(k, v)| (*k, v.weight)).collect())
    }

    /// Every later operation on `key` fails with `errno` (None: stop failing).
    pub fn fail_service(&self, key: ServiceKey, errno: Option<i32>) {
        let mut g = self.lock();
        match errno {
            Some(e) => g.fail.insert(key, e),
            None => g.fail.remove(&key),
        };
    }

    /// Every later operation fails with `errno` (None: stop failing).
    pub fn fail_all(&self, errno: Option<i32>) {
        self.lock().fail_all = errno;
    }

    /// The connection timeouts as `ipvsadm -L --timeout` would show them.
    pub fn current_timeouts(&self) -> Timeouts {
        self.lock().timeouts.unwrap_or(KERNEL_DEFAULT_TIMEOUTS)
    }

    /// Number of operations (requests) seen.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Changes the table directly, as another program (ipvsadm) would.
    pub fn tamper(
        &self,
        f: impl FnOnce(&mut BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Destination>)>),
    ) {
        f(&mut self.lock().table)
    }

    fn op<T>(
        &self,
        op: Operation,
        subject: Subject,
        f: impl FnOnce(&mut MemoryInner) -> Result<T, i32>,
    ) -> Result<T, IpvsError> {
        let mut g = self.lock();
        g.ops += 1;
        let key = match subject {
            Subject::Service(k) | Subject::Destination(k, _) => Some(k),
            Subject::None => None,
        };
        if let Some(e) = g.fail_all {
            return Err(kernel_error(op, subject, e));
        }
        if let Some(e) = key.and_then(|k| g.fail.get(&k).copied()) {
            return Err(kernel_error(op, subject, e));
        }
        f(&mut g).map_err(|e| kernel_error(op, subject, e))
    }
}

impl IpvsBackend for MemoryBackend {
    async fn list_services(&mut self) -> Result<Vec<Service>, IpvsError> {
        self.op(Operation::ListServices, Subject::None, |g| {
            Ok(g.table.values().map(|(s, _)| s.clone()).collect())
        })
    }
    async fn list_destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>, IpvsError> {
        self.op(Operation::ListDestinations, Subject::Service(*key), |g| {
            Ok(g.table
                .get(key)
                .map(|(_, d)| d.values().copied().collect())
                .unwrap_or_default())
        })
    }
    async fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.op(Operation::AddService, Subject::Service(s.key), |g| {
            if g.table.contains_key(&s.key) {
                return Err(libc::EEXIST);
            }
            g.table.insert(s.key, (s.clone(), BTreeMap::new()));
            Ok(())
        })
    }
    async fn update_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.op(
            Operation::UpdateService,
            Subject::Service(s.key),
            |g| match g.table.get_mut(&s.key) {
                Some(e) => {
                    e.0 = s.clone();
                    Ok(())
                }
                None => Err(libc::ESRCH),
            },
        )
    }
    async fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.op(Operation::DeleteService, Subject::Service(*key), |g| {
            g.table.remove(key).map(drop).ok_or(libc::ESRCH)
        })
    }
    async fn add_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> Result<(), IpvsError> {
        self.op(
            Operation::AddDestination,
            Subject::Destination(*key, d.key()),
            |g| {
                let (_, dests) = g.table.get_mut(key).ok_or(libc::ESRCH)?;
                if dests.contains_key(&d.key()) {
                    return Err(libc::EEXIST);
                }
                dests.insert(d.key(), *d);
                Ok(())
            },
        )
    }
    async fn update_destination(
        &mut self,
        key: &ServiceKey,
        d: &Destination,
    ) -> Result<(), IpvsError> {
        self.op(
            Operation::UpdateDestination,
            Subject::Destination(*key, d.key()),
            |g| {
                let (_, dests) = g.table.get_mut(key).ok_or(libc::ESRCH)?;
                let e = dests.get_mut(&d.key()).ok_or(libc::ENOENT)?;
                *e = *d;
                Ok(())
            },
        )
    }
    async fn delete_destination(&mut self, key: &ServiceKey, d: &DestKey) -> Result<(), IpvsError> {
        self.op(
            Operation::DeleteDestination,
            Subject::Destination(*key, *d),
            |g| {
                let (_, dests) = g.table.get_mut(key).ok_or(libc::ESRCH)?;
                dests.remove(d).map(drop).ok_or(libc::ENOENT)
            },
        )
    }
    async fn flush(&mut self) -> Result<(), IpvsError> {
        self.op(Operation::Flush, Subject::None, |g| {
            g.table.clear();
            Ok(())
        })
    }
    async fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        self.op(Operation::GetTimeouts, Subject::None, |g| {
            Ok(g.timeouts.unwrap_or(KERNEL_DEFAULT_TIMEOUTS))
        })
    }
    async fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.op(Operation::SetTimeouts, Subject::None, |g| {
            // The kernel leaves a 0 unchanged.
            let cur = g.timeouts.unwrap_or(KERNEL_DEFAULT_TIMEOUTS);
            g.timeouts = Some(t.or(cur));
            Ok(())
        })
    }
}

/// Writer settings.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Remove our services on shutdown (false = keepalived's `--dont-release-ipvs`).
    pub release_on_shutdown: bool,
    /// `lvs_flush`: flush the whole IPVS table at start.
    pub flush_on_start: bool,
    /// `lvs_flush_on_stop`: flush the whole table on shutdown (unless `release_on_shutdown` is
    /// false: keepalived's `--dont-release-ipvs` leaves everything).
    pub flush_on_stop: bool,
    /// `lvs_timeouts`: set at start (unset values from the kernel's), the kernel's values put
    /// back on shutdown. All 0: left alone.
    pub timeouts: Timeouts,
    /// Re-read the kernel table this often and repair differences (someone else changed it).
    pub resync_interval: Duration,
    /// First retry delay after a failed operation; doubles up to `retry_max`.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            release_on_shutdown: true,
            flush_on_start: false,
            flush_on_stop: false,
            timeouts: Timeouts::default(),
            resync_interval: Duration::from_secs(30),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// What the writer reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStatus {
    /// Number of `set_service` requests received so far.
    pub requested: u64,
    /// `requested` value the kernel fully matches (equal to `requested` when in sync).
    pub applied: u64,
    /// Services currently failing (waiting for a retry).
    pub failing: usize,
    /// Total failed operations.
    pub errors: u64,
    /// Completed kernel dumps.
    pub resyncs: u64,
}

impl WriterStatus {
    /// Everything requested is in the kernel.
    pub fn in_sync(&self) -> bool {
        self.applied == self.requested && self.failing == 0
    }
}

enum Msg {
    Set(Vec<(ServiceKey, Option<DesiredService>)>),
    Resync,
    Desired(oneshot::Sender<Table>),
    Timeouts(Timeouts),
    Shutdown(oneshot::Sender<()>),
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::UnboundedSender<Msg>,
    status: watch::Receiver<WriterStatus>,
    sent: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Set(v) => write!(f, "Set({})", v.len()),
            Msg::Resync => f.write_str("Resync"),
            Msg::Desired(_) => f.write_str("Desired"),
            Msg::Timeouts(t) => write!(f, "Timeouts({t:?})"),
            Msg::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

impl WriterHandle {
    /// Sets (Some) or removes (None) one desired service. Never blocks.
    pub fn set_service(&self, key: ServiceKey, desired: Option<DesiredService>) {
        self.set_services(vec![(key, desired)]);
    }

    /// Several services at once (applied together).
    pub fn set_services(&self, v: Vec<(ServiceKey, Option<DesiredService>)>) {
        if !v.is_empty() {
            self.sent
                .fetch_add(v.len() as u64, std::sync::atomic::Ordering::SeqCst);
            let _ = self.tx.send(Msg::Set(v));
        }
    }

    /// `lvs_timeouts` after a reload: set them (all 0: put the kernel's values back if we
    /// changed them).
    pub fn set_timeouts(&self, t: Timeouts) {
        let _ = self.tx.send(Msg::Timeouts(t));
    }

    /// Re-read the kernel now.
    pub fn resync(&self) {
        let _ = self.tx.send(Msg::Resync);
    }

    /// The desired table as the writer holds it.
    pub async fn desired(&self) -> Table {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Desired(tx));
        rx.await.unwrap_or_default()
    }

    /// Latest status.
    pub fn status(&self) -> WriterStatus {
        self.status.borrow().clone()
    }

    /// Waits until everything requested so far through this handle (and its clones) is in the
    /// kernel; false after `timeout`.
    pub async fn synced(&self, timeout: Duration) -> bool {
        let mut rx = self.status.clone();
        let sent = self.sent.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::timeout(timeout, async {
            loop {
                let s = rx.borrow_and_update().clone();
                if s.in_sync() && s.applied >= sent {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
    }

    /// Releases our services (per config) and stops the task.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the writer on the current tokio runtime.
pub fn spawn_writer<B: IpvsBackend>(backend: B, config: WriterConfig) -> WriterHandle {
    spawn_writer_on(&tokio::runtime::Handle::current(), backend, config)
}

/// Starts the writer on `rt`.
pub fn spawn_writer_on<B: IpvsBackend>(
    rt: &tokio::runtime::Handle,
    backend: B,
    config: WriterConfig,
) -> WriterHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stx, srx) = watch::channel(WriterStatus::default());
    let w = Writer {
        backend,
        config,
        desired: Table::new(),
        believed: Table::new(),
        dirty: BTreeSet::new(),
        failing: HashMap::new(),
        status: WriterStatus::default(),
        status_tx: stx,
        next_resync: Instant::now(),
        orig_timeouts: None,
        timeouts_wanted: None,
    };
    rt.spawn(w.run(rx));
    WriterHandle {
        tx,
        status: srx,
        sent: Arc::default(),
    }
}

#[derive(Debug)]
struct Failure {
    retry_at: Instant,
    delay: Duration,
    last: String,
    count: u32,
}

struct Writer<B> {
    backend: B,
    config: WriterConfig,
    desired: Table,
    /// What we believe the kernel has, for the services we manage.
    believed: Table,
    dirty: BTreeSet<ServiceKey>,
    failing: HashMap<ServiceKey, Failure>,
    status: WriterStatus,
    status_tx: watch::Sender<WriterStatus>,
    next_resync: Instant,
    /// The kernel's timeouts before we first changed them (put back at stop).
    orig_timeouts: Option<Timeouts>,
    /// Timeouts to apply before the next kernel work.
    timeouts_wanted: Option<Timeouts>,
}

/// Whether the kernel's destination matches the desired one. The kernel reports `Local` for a
/// destination on one of its own addresses whatever was asked, so that is not a difference.
fn dest_matches(want: &Destination, have: &Destination) -> bool {
    let fwd_ok = want.forward == have.forward || have.forward == ForwardMethod::Local;
    fwd_ok
        && want.weight == have.weight
        && want.upper_threshold == have.upper_threshold
        && want.lower_threshold == have.lower_threshold
        && (want.forward != ForwardMethod::Tunnel || want.tunnel == have.tunnel)
}

/// An operation failed for this service: the error to log and retry.
struct OpFailed(IpvsError);

impl<B: IpvsBackend> Writer<B> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        if self.config.flush_on_start {
            if let Err(e) = self.backend.flush().await {
                tracing::error!("IPVS: {e}");
            }
        }
        self.timeouts_wanted = Some(self.config.timeouts);
        loop {
            if let Some(t) = self.timeouts_wanted.take() {
                self.apply_timeouts(t).await;
            }
            // Work first (everything not waiting for a retry), then wait.
            if Instant::now() >= self.next_resync {
                self.resync().await;
            }
            self.reconcile_ready().await;
            self.publish();
            let wake = self.next_wake();
            let msg = tokio::select! {
                m = rx.recv() => m,
                _ = tokio::time::sleep_until(wake) => continue,
            };
            let Some(msg) = msg else {
                // Every handle dropped: stop as on shutdown, without releasing (the owner is gone
                // abnormally; leaving the table is the safe choice for traffic).
                return;
            };
            let mut stop = None;
            self.handle(msg, &mut stop);
            // Batch everything already queued before touching the kernel.
            while stop.is_none() {
                match rx.try_recv() {
                    Ok(m) => self.handle(m, &mut stop),
                    Err(_) => break,
                }
            }
            if let Some(done) = stop {
                self.release().await;
                self.publish();
                let _ = done.send(());
                return;
            }
        }
    }

    fn handle(&mut self, msg: Msg, stop: &mut Option<oneshot::Sender<()>>) {
        match msg {
            Msg::Set(v) => {
                for (key, d) in v {
                    self.status.requested += 1;
                    let changed = match d {
                        Some(d) => self.desired.insert(key, d.clone()) != Some(d),
                        None => self.desired.remove(&key).is_some(),
                    };
                    if changed {
                        self.dirty.insert(key);
                    }
                }
            }
            Msg::Resync => self.next_resync = Instant::now(),
            Msg::Desired(tx) => {
                let _ = tx.send(self.desired.clone());
            }
            Msg::Timeouts(t) => self.timeouts_wanted = Some(t),
            Msg::Shutdown(tx) => *stop = Some(tx),
        }
    }

    /// keepalived's `ipvs_set_timeouts`: the first change remembers the kernel's values; values
    /// not configured come from them; nothing configured puts them back (if we changed them).
    async fn apply_timeouts(&mut self, want: Timeouts) {
        let target = match (want.is_empty(), self.orig_timeouts) {
            (true, None) => return,
            (true, Some(orig)) => orig,
            (false, Some(orig)) => want.or(orig),
            (false, None) => match self.backend.timeouts().await {
                Ok(orig) => {
                    self.orig_timeouts = Some(orig);
                    want.or(orig)
                }
                Err(e) => {
                    self.status.errors += 1;
                    tracing::error!("IPVS: failed to set ipvs timeouts: {e}");
                    return;
                }
            },
        };
        match self.backend.set_timeouts(&target).await {
            Ok(()) => tracing::info!(
                "IPVS: timeouts tcp {} tcpfin {} udp {}",
                target.tcp,
                target.tcp_fin,
                target.udp
            ),
            Err(e) => {
                self.status.errors += 1;
                tracing::error!("IPVS: failed to set ipvs timeouts: {e}");
            }
        }
    }

    fn next_wake(&self) -> Instant {
        let mut t = self.next_resync;
        for f in self.failing.values() {
            t = t.min(f.retry_at);
        }
        t
    }

    fn publish(&mut self) {
        self.status.failing = self.failing.len();
        if self.dirty.is_empty() && self.failing.is_empty() {
            self.status.applied = self.status.requested;
        }
        let s = self.status.clone();
        self.status_tx.send_if_modified(|old| {
            if *old != s {
                *old = s;
                true
            } else {
                false
            }
        });
    }

    /// Reads the kernel's version of every service we manage or want.
    async fn resync(&mut self) {
        self.next_resync = Instant::now() + self.config.resync_interval;
        let services = match self.backend.list_services().await {
            Ok(s) => s,
            Err(e) => {
                self.status.errors += 1;
                tracing::warn!(
                    "IPVS resync: {e}; retrying in {:?}",
                    self.config.retry_max.min(self.config.resync_interval)
                );
                self.next_resync =
                    Instant::now() + self.config.retry_max.min(self.config.resync_interval);
                return;
            }
        };
        let kernel: HashMap<ServiceKey, Service> =
            services.into_iter().map(|s| (s.key, s)).collect();
        let keys: BTreeSet<ServiceKey> = self
            .desired
            .keys()
            .chain(self.believed.keys())
            .copied()
            .collect();
        for key in keys {
            self.refresh_from(&kernel, key).await;
        }
        self.status.resyncs += 1;
    }

    /// Sets what we believe about `key` from a kernel listing; marks it dirty if it differs.
    async fn refresh_from(&mut self, kernel: &HashMap<ServiceKey, Service>, key: ServiceKey) {
        match kernel.get(&key) {
            None => {
                if self.believed.remove(&key).is_some() && self.desired.contains_key(&key) {
                    tracing::warn!(
                        "IPVS service {key} disappeared from the kernel; adding it back"
                    );
                }
            }
            Some(svc) => {
                match self.backend.list_destinations(&key).await {
                    Ok(dests) => {
                        let fresh = DesiredService {
                            service: svc.clone(),
                            dests: dests.into_iter().map(|d| (d.key(), d)).collect(),
                        };
                        if let Some(old) = self.believed.get(&key) {
                            if old != &fresh {
                                tracing::warn!("IPVS service {key} was changed outside keepalived-rs; repairing");
                            }
                        }
                        self.believed.insert(key, fresh);
                    }
                    Err(e) => {
                        self.status.errors += 1;
                        tracing::warn!("IPVS resync: {e}");
                        // Unknown: assume nothing, the next operation tells.
                        self.believed.remove(&key);
                    }
                }
            }
        }
        if self.desired.get(&key) != self.believed.get(&key) || !self.desired.contains_key(&key) {
            self.dirty.insert(key);
        }
    }

    async fn refresh_one(&mut self, key: ServiceKey) {
        match self.backend.list_services().await {
            Ok(s) => {
                let kernel: HashMap<ServiceKey, Service> =
                    s.into_iter().map(|s| (s.key, s)).collect();
                self.refresh_from(&kernel, key).await;
            }
            Err(e) => {
                self.status.errors += 1;
                tracing::debug!("IPVS refresh of {key}: {e}");
            }
        }
    }

    async fn reconcile_ready(&mut self) {
        let now = Instant::now();
        // Services due for a retry: refresh from the kernel first (the error may mean our belief
        // is wrong), then reconcile like any other.
        let due: Vec<ServiceKey> = self
            .failing
            .iter()
            .filter(|(_, f)| f.retry_at <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            self.refresh_one(key).await;
            self.dirty.insert(key);
        }
        let work: Vec<ServiceKey> = self
            .dirty
            .iter()
            .filter(|k| self.failing.get(k).is_none_or(|f| f.retry_at <= now))
            .copied()
            .collect();
        for key in work {
            self.dirty.remove(&key);
            match self.reconcile(key).await {
                Ok(()) => {
                    if let Some(f) = self.failing.remove(&key) {
                        tracing::info!(
                            "IPVS service {key}: in sync again after {} failure(s)",
                            f.count
                        );
                    }
                }
                Err(OpFailed(e)) => {
                    self.status.errors += 1;
                    let msg = e.to_string();
                    let (min, max) = (self.config.retry_min, self.config.retry_max);
                    let f = self.failing.entry(key).or_insert(Failure {
                        retry_at: now,
                        delay: Duration::ZERO,
                        last: String::new(),
                        count: 0,
                    });
                    f.delay = if f.delay.is_zero() {
                        min
                    } else {
                        (f.delay * 2).min(max)
                    };
                    f.retry_at = Instant::now() + f.delay;
                    f.count += 1;
                    if f.last != msg || f.count.is_power_of_two() {
                        tracing::error!(
                            service = %key,
                            "IPVS: {msg}; retrying in {:?} (failure {})",
                            f.delay,
                            f.count
                        );
                    }
                    f.last = msg;
                    self.dirty.insert(key);
                }
            }
        }
    }

    /// Makes the kernel's `key` match the desired one, updating `believed` op by op.
    async fn reconcile(&mut self, key: ServiceKey) -> Result<(), OpFailed> {
        let Some(want) = self.desired.get(&key).cloned() else {
            if self.believed.contains_key(&key) {
                match self.backend.delete_service(&key).await {
                    Ok(()) => tracing::info!("IPVS: removed service {key}"),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(OpFailed(e)),
                }
                self.believed.remove(&key);
            }
            return Ok(());
        };
        if !self.believed.contains_key(&key) {
            match self.backend.add_service(&want.service).await {
                Ok(()) => {
                    tracing::info!("IPVS: added service {key}");
                    self.believed.insert(
                        key,
                        DesiredService {
                            service: want.service.clone(),
                            dests: BTreeMap::new(),
                        },
                    );
                }
                Err(e) if e.is_already_exists() => {
                    // Someone (a previous run) left it: adopt what is there, then diff.
                    self.refresh_one(key).await;
                    if !self.believed.contains_key(&key) {
                        return Err(OpFailed(e));
                    }
                }
                Err(e) => return Err(OpFailed(e)),
            }
        }
        let have_svc = self.believed.get(&key).map(|b| b.service.clone());
        if have_svc.as_ref() != Some(&want.service) {
            match self.backend.update_service(&want.service).await {
                Ok(()) => {
                    tracing::info!("IPVS: updated service {key}");
                    if let Some(b) = self.believed.get_mut(&key) {
                        b.service = want.service.clone();
                    }
                }
                Err(e) if e.is_not_found() => {
                    self.believed.remove(&key);
                    return Err(OpFailed(e));
                }
                Err(e) => return Err(OpFailed(e)),
            }
        }
        let have = self
            .believed
            .get(&key)
            .map(|b| b.dests.clone())
            .unwrap_or_default();
        let mut first_err = None;
        // Removals first: a weight-0/removed server stops taking connections before new ones
        // start (and the kernel's per-service limits are respected).
        for dk in have.keys().filter(|k| !want.dests.contains_key(k)) {
            match self.backend.delete_destination(&key, dk).await {
                Ok(()) => {
                    tracing::info!("IPVS: removed {dk} from {key}");
                    self.forget(&key, dk);
                }
                Err(e) if e.is_not_found() && e.errno() == Some(libc::ENOENT) => {
                    self.forget(&key, dk)
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        for (dk, d) in &want.dests {
            let r = match have.get(dk) {
                Some(h) if dest_matches(d, h) => continue,
                Some(_) => match self.backend.update_destination(&key, d).await {
                    Err(e) if e.errno() == Some(libc::ENOENT) => {
                        self.backend.add_destination(&key, d).await
                    }
                    r => r,
                },
                None => match self.backend.add_destination(&key, d).await {
                    Err(e) if e.is_already_exists() => {
                        self.backend.update_destination(&key, d).await
                    }
                    r => r,
                },
            };
            match r {
                Ok(()) => {
                    tracing::info!("IPVS: set {dk} weight {} in {key}", d.weight);
                    if let Some(b) = self.believed.get_mut(&key) {
                        b.dests.insert(*dk, *d);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(OpFailed(e)),
            None => Ok(()),
        }
    }

    fn forget(&mut self, key: &ServiceKey, dk: &DestKey) {
        if let Some(b) = self.believed.get_mut(key) {
            b.dests.remove(dk);
        }
    }

    async fn release(&mut self) {
        // keepalived's ipvs_stop: the kernel's timeouts back, whatever else is left.
        self.apply_timeouts(Timeouts::default()).await;
        if self.config.flush_on_stop && self.config.release_on_shutdown {
            match self.backend.flush().await {
                Ok(()) => tracing::info!("IPVS: flushed on stop"),
                Err(e) => tracing::error!("IPVS: {e}"),
            }
            self.believed.clear();
            return;
        }
        if !self.config.release_on_shutdown {
            tracing::info!(
                "IPVS: leaving {} service(s) in place (--dont-release-ipvs)",
                self.believed.len()
            );
            return;
        }
        let keys: BTreeSet<ServiceKey> = self
            .believed
            .keys()
            .chain(self.desired.keys())
            .copied()
            .collect();
        for key in keys {
            match self.backend.delete_service(&key).await {
                Ok(()) => tracing::info!("IPVS: removed service {key}"),
                Err(e) if e.is_not_found() => {}
                Err(e) => tracing::error!("IPVS: {e}"),
            }
        }
        self.believed.clear();
        self.desired.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::Scheduler;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn svc(port: u16, dests: &[(&str, u32)]) -> (ServiceKey, DesiredService) {
        let key = ServiceKey::tcp(ip("10.0.0.1"), port);
        (
            key,
            DesiredService {
                service: Service::new(key, Scheduler::Wrr),
                dests: dests
                    .iter()
                    .map(|(a, w)| {
                        let d = Destination::new(ip(a), port, ForwardMethod::Masquerade, *w);
                        (d.key(), d)
                    })
                    .collect(),
            },
        )
    }

    fn fast() -> WriterConfig {
        WriterConfig {
            resync_interval: Duration::from_millis(200),
            retry_min: Duration::from_millis(20),
            retry_max: Duration::from_millis(100),
            ..WriterConfig::default()
        }
    }

    #[tokio::test]
    async fn applies_diffs_and_releases() {
        let mem = MemoryBackend::new();
        let w = spawn_writer(mem.clone(), fast());
        let (k, d) = svc(80, &[("192.168.1.1", 1), ("192.168.1.2", 2)]);
        w.set_service(k, Some(d.clone()));
        assert!(w.synced(Duration::from_secs(5)).await);
        assert_eq!(mem.table().get(&k), Some(&d));
        let ops = mem.ops();
        // Same again: nothing to do.
        w.set_service(k, Some(d.clone()));
        assert!(w.synced(Duration::from_secs(5)).await);
        assert_eq!(mem.ops(), ops);
        // Change one weight: one update.
        let (_, d2) = svc(80, &[("192.168.1.1", 1), ("192.168.1.2", 0)]);
        w.set_service(k, Some(d2.clone()));
        assert!(w.synced(Duration::from_secs(5)).await);
        assert_eq!(mem.table().get(&k), Some(&d2));
        assert_eq!(mem.ops(), ops + 1);
        w.shutdown().await;
        assert!(mem.table().is_empty());
    }

    #[tokio::test]
    async fn errors_are_retried_per_service_and_others_proceed() {
        let mem = MemoryBackend::new();
        let w = spawn_writer(mem.clone(), fast());
        let (k1, d1) = svc(80, &[("192.168.1.1", 1)]);
        let (k2, d2) = svc(81, &[("192.168.1.1", 1)]);
        mem.fail_service(k1, Some(libc::ENOMEM));
        w.set_services(vec![(k1, Some(d1.clone())), (k2, Some(d2.clone()))]);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(mem.table().get(&k2), Some(&d2));
        assert!(!mem.table().contains_key(&k1));
        assert!(w.status().failing == 1 && w.status().errors > 0);
        mem.fail_service(k1, None);
        assert!(w.synced(Duration::from_secs(5)).await);
        assert_eq!(mem.table().get(&k1), Some(&d1));
    }

    #[tokio::test]
    async fn repairs_outside_changes_on_resync_and_keeps_foreign_services() {
        let mem = MemoryBackend::new();
        let (kf, df) = svc(9999, &[("192.168.9.9", 1)]);
        mem.tamper(|t| {
            t.insert(kf, (df.service.clone(), df.dests.clone()));
        });
        let w = spawn_writer(mem.clone(), fast());
        let (k, d) = svc(80, &[("192.168.1.1", 3)]);
        w.set_service(k, Some(d.clone()));
        assert!(w.synced(Duration::from_secs(5)).await);
        mem.tamper(|t| {
            t.remove(&k);
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(mem.table().get(&k), Some(&d));
        mem.tamper(|t| {
            t.get_mut(&k)
                .unwrap()
                .1
                .values_mut()
                .for_each(|d| d.weight = 77);
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(mem.table().get(&k), Some(&d));
        w.shutdown().await;
        // Only ours went away.
        assert_eq!(mem.table().keys().copied().collect::<Vec<_>>(), vec![kf]);
    }

    #[tokio::test]
    async fn adopts_existing_service_and_dont_release() {
        let mem = MemoryBackend::new();
        let (k, d) = svc(80, &[("192.168.1.1", 3)]);
        let (_, stale) = svc(80, &[("192.168.1.7", 1)]);
        mem.tamper(|t| {
            t.insert(k, (stale.service.clone(), stale.dests.clone()));
        });
        let w = spawn_writer(
            mem.clone(),
            WriterConfig {
                release_on_shutdown: false,
                ..fast()
            },
        );
        w.set_service(k, Some(d.clone()));
        assert!(w.synced(Duration::from_secs(5)).await);
        assert_eq!(mem.table().get(&k), Some(&d));
        w.shutdown().await;
        assert_eq!(mem.table().get(&k), Some(&d));
    }

    /// keepalived's ipvs_set_timeouts: configured values set, the others kept from the
    /// kernel's; a reload without lvs_timeouts and the stop put the kernel's values back.
    #[tokio::test]
    async fn timeouts_set_then_restored() {
        let mem = MemoryBackend::new();
        mem.tamper(|_| {});
        let w = spawn_writer(
            mem.clone(),
            WriterConfig {
                timeouts: Timeouts {
                    tcp: 7200,
                    tcp_fin: 0,
                    udp: 60,
                },
                ..fast()
            },
        );
        let (k, d) = svc(80, &[("192.168.1.1", 1)]);
        w.set_service(k, Some(d));
        assert!(w.synced(Duration::from_secs(5)).await);
        let want = Timeouts {
            tcp: 7200,
            tcp_fin: 120,
            udp: 60,
        };
        assert_eq!(mem.current_timeouts(), want);
        w.set_timeouts(Timeouts {
            tcp: 0,
            tcp_fin: 10,
            udp: 0,
        });
        w.resync();
        let deadline = Instant::now() + Duration::from_secs(5);
        while mem.current_timeouts().tcp_fin != 10 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Unset values are the kernel's original ones, not the previous configuration's.
        assert_eq!(
            mem.current_timeouts(),
            Timeouts {
                tcp: 900,
                tcp_fin: 10,
                udp: 300
            }
        );
        w.set_timeouts(want);
        w.shutdown().await;
        assert_eq!(mem.current_timeouts(), KERNEL_DEFAULT_TIMEOUTS);
    }

    /// lvs_flush_on_stop flushes everything, other programs' services too; with
    /// --dont-release-ipvs keepalived leaves the table, flush or not.
    #[tokio::test]
    async fn flush_on_stop_and_dont_release() {
        for release in [true, false] {
            let mem = MemoryBackend::new();
            let (foreign, fd) = svc(81, &[("192.168.1.9", 1)]);
            mem.tamper(|t| {
                t.insert(foreign, (fd.service.clone(), fd.dests.clone()));
            });
            let w = spawn_writer(
                mem.clone(),
                WriterConfig {
                    flush_on_stop: true,
                    release_on_shutdown: release,
                    ..fast()
                },
            );
            let (k, d) = svc(80, &[("192.168.1.1", 1)]);
            w.set_service(k, Some(d));
            assert!(w.synced(Duration::from_secs(5)).await);
            w.shutdown().await;
            let left: Vec<ServiceKey> = mem.table().keys().copied().collect();
            if release {
                assert!(left.is_empty(), "{left:?}");
            } else {
                assert!(left.contains(&foreign) && left.contains(&k), "{left:?}");
            }
        }
    }
}
