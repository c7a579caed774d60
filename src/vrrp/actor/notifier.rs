//! Notifications of VRRP transitions: notify scripts (in order, per instance or sync group),
//! the notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`; lines are written synchronously by
//! the caller, so they keep the order of the transitions) and `smtp_alert` e-mails.

use crate::config::model::{GlobalDefs, NotifyScripts};
use crate::track::exec::ScriptContext;
use crate::track::notify::{
    fifo_line, state_notification, NotifyEvent, NotifyFifo, NotifyQueue, NotifyState, NotifyTarget,
};
use crate::track::smtp::{SmtpAlerter, SmtpConfig};
use crate::vrrp::events::State;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Daemon-wide notification sinks, shared by all instances.
pub struct Notifier {
    fifos: Vec<NotifyFifo>,
    ctx: ScriptContext,
    smtp: Option<SmtpAlerter>,
    /// Every transition of an instance or sync group, for whoever follows them (the IPVS
    /// sync daemons of `lvs_sync_daemon`, the SNMP subagent's notifications).
    transitions: tokio::sync::broadcast::Sender<Transition>,
}

/// An instance or sync group entered a state (what [`Notifier::subscribe`] publishes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// A sync group (else an instance).
    pub group: bool,
    /// The `vrrp_instance` or `vrrp_sync_group` name.
    pub name: String,
    /// The new state.
    pub state: State,
}

/// How many transitions a slow follower may fall behind before it misses some (a mass
/// failover of 1000 instances fits).
const TRANSITIONS_BUFFERED: usize = 4096;

impl Notifier {
    /// Opens the FIFOs configured in `global_defs` (a FIFO that cannot be opened is logged)
    /// and, with an `smtp_server` and recipients, starts the e-mail sender (inside a tokio
    /// runtime).
    pub fn new(g: &GlobalDefs) -> Arc<Self> {
        let ctx = ScriptContext::from_global(g);
        let mut fifos = Vec::new();
        for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
            let owner = f
                .user
                .as_ref()
                .and_then(|u| crate::track::exec::resolve_user(u).ok());
            // keepalived starts the reader script with the FIFO path as last argument.
            let opened = match &f.script {
                Some(s) => {
                    NotifyFifo::open_with_script(Path::new(&f.path), owner.as_ref(), s, &ctx)
                }
                None => NotifyFifo::open(Path::new(&f.path), owner.as_ref()),
            };
            match opened {
                Ok(fifo) => fifos.push(fifo),
                Err(e) => tracing::error!("notify FIFO {}: {e}", f.path),
            }
        }
        let smtp = SmtpConfig::from_global(g).map(SmtpAlerter::spawn);
        Arc::new(Notifier {
            fifos,
            ctx,
            smtp,
            transitions: tokio::sync::broadcast::channel(TRANSITIONS_BUFFERED).0,
        })
    }

    /// The transitions of instances and sync groups from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Transition> {
        self.transitions.subscribe()
    }

    /// Where the transitions are published (to subscribe later, from elsewhere).
    pub fn transitions(&self) -> tokio::sync::broadcast::Sender<Transition> {
        self.transitions.clone()
    }

    /// A per-instance script queue (scripts of one instance never overtake each other).
    pub fn queue(&self) -> NotifyQueue {
        NotifyQueue::spawn(self.ctx.clone(), Duration::from_secs(10))
    }

    /// Runs the notify scripts and writes the FIFO line for a new state. The object's script
    /// queue is started by its first script (objects without scripts never need one).
    pub fn state(
        &self,
        queue: &mut Option<NotifyQueue>,
        scripts: &NotifyScripts,
        target: NotifyTarget,
        name: &str,
        state: State,
        priority: u8,
    ) {
        // Nobody listening (no sync daemon, no SNMP) is not an error.
        let _ = self.transitions.send(Transition {
            group: target != NotifyTarget::Instance,
            name: name.to_string(),
            state,
        });
        let Some(s) = notify_state(state) else {
            return;
        };
        let n = state_notification(scripts, target, name, s, priority);
        if !n.scripts.is_empty() {
            queue.get_or_insert_with(|| self.queue()).push(n.scripts);
        }
        self.write_fifos(&n.fifo_line);
    }

    /// `notify_priority_changes`: writes keepalived's `INSTANCE "name" MASTER_PRIORITY prio`
    /// (MASTER) or `BACKUP_PRIORITY` (any other state) line; FIFO only, no script.
    pub fn priority(&self, name: &str, state: State, priority: u8) {
        let event = if state == State::Master {
            NotifyEvent::MasterPriority
        } else {
            NotifyEvent::BackupPriority
        };
        let line = fifo_line(NotifyTarget::Instance, name, event.as_str(), priority);
        self.write_fifos(&line);
    }

    fn write_fifos(&self, line: &str) {
        for f in &self.fifos {
            match f.write_line(line) {
                Ok(true) => {}
                Ok(false) => tracing::warn!("notify FIFO full: dropped {:?}", line.trim_end()),
                Err(e) => tracing::warn!("notify FIFO write: {e}"),
            }
        }
    }

    /// Sends the `smtp_alert` e-mail for `name` entering `state` (the caller checked that
    /// the object has `smtp_alert`); nothing without an `smtp_server` and recipients.
    pub fn email(&self, target: NotifyTarget, name: &str, state: State) {
        if let (Some(smtp), Some(s)) = (&self.smtp, notify_state(state)) {
            smtp.alert(target, name, s);
        }
    }
}

fn notify_state(state: State) -> Option<NotifyState> {
    match state {
        State::Master => Some(NotifyState::Master),
        State::Backup => Some(NotifyState::Backup),
        State::Fault => Some(NotifyState::Fault),
        State::Stop => Some(NotifyState::Stop),
        State::Initialize => None,
    }
}
