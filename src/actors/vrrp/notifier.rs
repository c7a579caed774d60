//! Notifications of VRRP transitions: notify scripts (in order, per instance) and the notify
//! FIFOs (`notify_fifo`, `vrrp_notify_fifo`; one writer thread, so lines keep their order).

use crate::config::model::{GlobalDefs, NotifyScripts};
use crate::track::exec::ScriptContext;
use crate::track::notify::{
    state_notification, NotifyFifo, NotifyQueue, NotifyState, NotifyTarget,
};
use crate::vrrp::events::State;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Daemon-wide notification sinks, shared by all instances.
pub struct Notifier {
    fifos: Vec<NotifyFifo>,
    ctx: ScriptContext,
}

impl Notifier {
    /// Opens the FIFOs configured in `global_defs` (a FIFO that cannot be opened is logged).
    pub fn new(g: &GlobalDefs) -> Arc<Self> {
        let ctx = ScriptContext::from_global(g);
        let mut fifos = Vec::new();
        for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
            match NotifyFifo::open(Path::new(&f.path), None) {
                Ok(fifo) => fifos.push(fifo),
                Err(e) => tracing::error!("notify FIFO {}: {e}", f.path),
            }
        }
        Arc::new(Notifier { fifos, ctx })
    }

    /// A per-instance script queue (scripts of one instance never overtake each other).
    pub fn queue(&self) -> NotifyQueue {
        NotifyQueue::spawn(self.ctx.clone(), Duration::from_secs(10))
    }

    /// Runs the notify scripts and writes the FIFO line for a new state.
    pub fn state(
        &self,
        queue: &NotifyQueue,
        scripts: &NotifyScripts,
        target: NotifyTarget,
        name: &str,
        state: State,
        priority: u8,
    ) {
        let s = match state {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            State::Fault => NotifyState::Fault,
            State::Stop => NotifyState::Stop,
            State::Initialize => return,
        };
        let n = state_notification(scripts, target, name, s, priority);
        queue.push(n.scripts);
        for f in &self.fifos {
            match f.write_line(&n.fifo_line) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("notify FIFO full: dropped {:?}", n.fifo_line.trim_end())
                }
                Err(e) => tracing::warn!("notify FIFO write: {e}"),
            }
        }
    }
}
