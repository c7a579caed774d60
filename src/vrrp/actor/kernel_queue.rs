//! The VRRP thread's kernel-operation executor: every instance's requests (add / remove its
//! virtual set, gratuitous ARPs, vmac removal) run in the order that instance made them, one
//! at a time per instance, while different instances' requests run concurrently.
//!
//! One executor serves all instances of a thread (like the socket pool), instead of a task
//! and a channel per instance: instances cost no memory here while they ask for nothing.
//! Requests outlive the instance that made them (a panicking instance's last requests still
//! run); the executor ends once every handle is gone and its work is done.

use super::claims::VipClaims;
use super::kernel::{Kernel, VirtualSet};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A kernel operation.
pub enum KernelOp {
    /// Install addresses, then routes, then rules.
    Add(VirtualSet),
    /// Remove rules, routes, then addresses.
    Remove(VirtualSet),
    /// `count` gratuitous ARP / unsolicited NA rounds, `interval` apart.
    Garp(VirtualSet, u32, Duration),
    /// Delete a vmac.
    DeleteVmac(String),
    /// Answers once everything asked before it is done.
    Flush(oneshot::Sender<()>),
}

/// Requests of one instance, in order.
pub struct KernelQueue {
    id: u64,
    name: Arc<str>,
    claims: Option<VipClaims>,
    tx: mpsc::UnboundedSender<Request>,
}

struct Request {
    id: u64,
    name: Arc<str>,
    claims: Option<VipClaims>,
    op: KernelOp,
}

impl KernelQueue {
    /// A queue for instance `name` on this thread's executor for `kernel` (started on first
    /// use, on the current runtime). With `claims`, a removal skips, when it runs, the
    /// addresses another instance claims (see [`VipClaims`]).
    pub fn new(kernel: &Arc<dyn Kernel>, name: &str, claims: Option<VipClaims>) -> Self {
        let key = Arc::as_ptr(kernel).cast::<()>() as usize;
        let tx = EXECUTORS.with(|e| {
            let mut e = e.borrow_mut();
            if let Some(tx) = e.get(&key).and_then(|w| w.upgrade()) {
                return tx;
            }
            let (tx, rx) = mpsc::unbounded_channel();
            actix_rt::spawn(run(kernel.clone(), rx));
            e.insert(key, tx.downgrade());
            tx
        });
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        KernelQueue {
            id,
            name: Arc::from(name),
            claims,
            tx,
        }
    }

    /// Queues `op` after this instance's earlier requests.
    pub fn push(&self, op: KernelOp) {
        let _ = self.tx.send(Request {
            id: self.id,
            name: self.name.clone(),
            claims: self.claims.clone(),
            op,
        });
    }
}

thread_local! {
    static EXECUTORS: RefCell<HashMap<usize, mpsc::WeakUnboundedSender<Request>>> =
        RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

type InFlight = BoxFuture<'static, (u64, Arc<str>, anyhow::Result<()>)>;

fn execute(kernel: &Arc<dyn Kernel>, r: Request) -> InFlight {
    let Request {
        id,
        name,
        claims,
        op,
    } = r;
    let fut: BoxFuture<'static, anyhow::Result<()>> = match op {
        KernelOp::Add(s) => kernel.add(s),
        // Decided now, not when queued: another instance may have claimed an address since
        // (a VIP moved to it by a reload).
        KernelOp::Remove(s) => kernel.remove(match &claims {
            Some(c) => c.unclaimed(s),
            None => s,
        }),
        KernelOp::Garp(s, n, interval) => kernel.gratuitous(s, n, interval),
        KernelOp::DeleteVmac(v) => kernel.delete_vmac(v),
        KernelOp::Flush(done) => {
            let _ = done.send(());
            futures::future::ready(Ok(())).boxed()
        }
    };
    fut.map(move |r| (id, name, r)).boxed()
}

async fn run(kernel: Arc<dyn Kernel>, mut rx: mpsc::UnboundedReceiver<Request>) {
    // Instances with a request in flight, and what they asked for meanwhile.
    let mut waiting: HashMap<u64, VecDeque<Request>> = HashMap::new();
    let mut in_flight: FuturesUnordered<InFlight> = FuturesUnordered::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            r = rx.recv(), if open => match r {
                Some(r) => match waiting.get_mut(&r.id) {
                    Some(q) => q.push_back(r),
                    None => {
                        waiting.insert(r.id, VecDeque::new());
                        in_flight.push(execute(&kernel, r));
                    }
                },
                None => open = false,
            },
            Some((id, name, r)) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(e) = r {
                    tracing::error!(instance = %name, "kernel operation failed: {e:#}");
                }
                match waiting.get_mut(&id).and_then(VecDeque::pop_front) {
                    Some(next) => in_flight.push(execute(&kernel, next)),
                    None => {
                        waiting.remove(&id);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::actor::kernel::{InterfaceInfo, VmacRequest};
    use std::sync::Mutex;

    type Log = Arc<Mutex<Vec<String>>>;

    fn note(log: &Log, s: String) {
        if let Ok(mut v) = log.lock() {
            v.push(s);
        }
    }

    fn entries(log: &Log) -> Vec<String> {
        log.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Records operations; `add` of a set named "slow" takes 50 ms.
    #[derive(Default)]
    struct Rec(Log);

    impl Kernel for Rec {
        fn interface(&self, _: &str) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>> {
            futures::future::ready(Ok(InterfaceInfo::default())).boxed()
        }
        fn add(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
            note(&self.0, format!("add {} start", set.ifname));
            let log = self.0.clone();
            async move {
                if set.ifname == "slow" {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                note(&log, format!("add {} done", set.ifname));
                Ok(())
            }
            .boxed()
        }
        fn remove(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
            note(&self.0, format!("remove {}", set.ifname));
            futures::future::ready(Ok(())).boxed()
        }
        fn gratuitous(
            &self,
            _: VirtualSet,
            _: u32,
            _: Duration,
        ) -> BoxFuture<'static, anyhow::Result<()>> {
            futures::future::ready(Ok(())).boxed()
        }
        fn vmac(&self, _: VmacRequest) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>> {
            futures::future::ready(Ok(InterfaceInfo::default())).boxed()
        }
        fn delete_vmac(&self, _: String) -> BoxFuture<'static, anyhow::Result<()>> {
            futures::future::ready(Err(anyhow::anyhow!("refused"))).boxed()
        }
    }

    fn set(name: &str) -> VirtualSet {
        VirtualSet {
            ifname: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn in_order_per_instance_concurrent_across_instances() {
        let log = Log::default();
        let kernel: Arc<dyn Kernel> = Arc::new(Rec(log.clone()));
        actix_rt::System::new().block_on(async {
            let a = KernelQueue::new(&kernel, "A", None);
            let b = KernelQueue::new(&kernel, "B", None);
            // A's remove must wait for A's slow add; B is not held up by A.
            a.push(KernelOp::Add(set("slow")));
            a.push(KernelOp::Remove(set("slow")));
            b.push(KernelOp::Add(set("fast")));
            // A failing operation is logged and the queue goes on.
            b.push(KernelOp::DeleteVmac("x".into()));
            let (ta, ra) = oneshot::channel();
            let (tb, rb) = oneshot::channel();
            a.push(KernelOp::Flush(ta));
            b.push(KernelOp::Flush(tb));
            let _ = rb.await;
            let after_b = entries(&log);
            assert!(
                after_b.contains(&"add fast done".to_string()),
                "{after_b:?}"
            );
            assert!(
                !after_b.contains(&"add slow done".to_string()),
                "B waited for A: {after_b:?}"
            );
            let _ = ra.await;
        });
        let l = entries(&log);
        let pos = |s: &str| l.iter().position(|x| x == s);
        // A's flush came after its slow add and its remove: both done, in that order.
        let (Some(added), Some(removed)) = (pos("add slow done"), pos("remove slow")) else {
            panic!("A's requests did not all run before its flush: {l:?}");
        };
        assert!(added < removed, "{l:?}");
    }

    #[test]
    fn requests_outlive_their_queue() {
        let log = Log::default();
        let kernel: Arc<dyn Kernel> = Arc::new(Rec(log.clone()));
        actix_rt::System::new().block_on(async {
            let a = KernelQueue::new(&kernel, "A", None);
            a.push(KernelOp::Add(set("slow")));
            drop(a);
            // A new queue on the same kernel still works after the old one is gone.
            let b = KernelQueue::new(&kernel, "B", None);
            let (tx, rx) = oneshot::channel();
            b.push(KernelOp::Add(set("fast")));
            b.push(KernelOp::Flush(tx));
            let _ = rx.await;
            // The dropped queue's slow add finishes on its own (polled, bounded).
            for _ in 0..200 {
                if entries(&log).len() == 4 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let mut l = entries(&log);
        l.sort();
        assert_eq!(
            l,
            [
                "add fast done",
                "add fast start",
                "add slow done",
                "add slow start"
            ]
        );
    }
}
