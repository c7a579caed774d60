//! The sync-group hub: one task for all `vrrp_sync_group`s around the sans-IO
//! [`crate::vrrp::sync::SyncGroup`] core.
//!
//! Instances report their (state, wanted state) after every event that changed them; the hub
//! feeds the group core and broadcasts its commands ([`SyncCommand`]: go MASTER / BACKUP),
//! which the named member turns into [`crate::vrrp::events::Event::SyncMaster`] /
//! [`crate::vrrp::events::Event::SyncBackup`]. Group transitions run the group's notify
//! scripts (in order, one queue per group), write `GROUP "G1" MASTER 0` to the notify FIFOs,
//! send the group's `smtp_alert` e-mail, set the `vrrp_sync_group_state` metric and open a
//! `sync_group.transition` span.
//!
//! Order on the FIFO: a member writes its `INSTANCE` line before it reports, and the group's
//! line follows the report that completes the group, so `INSTANCE "VI_1" MASTER 150`,
//! `INSTANCE "VI_2" MASTER 150`, `GROUP "G1" MASTER 0` come in that order (as keepalived).
//!
//! A FAULT member faults its group through the tracker hub (each member's own fault is a
//! tracked value of the others); the group core only follows it for the group state.

use super::notifier::Notifier;
use super::vrrp_state;
use crate::config::model::{Config, GlobalDefs, SyncGroup as SyncGroupConfig};
use crate::telemetry::{transition_span, Metrics, TransitionKind};
use crate::track::notify::{NotifyQueue, NotifyTarget};
use crate::track::smtp::smtp_alert_enabled;
use crate::vrrp::events::State;
use crate::vrrp::sync::{SyncAction, SyncGroup};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// A group's order to one of its members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncCommand {
    /// The vrrp_sync_group.
    pub group: Arc<str>,
    /// The member instance.
    pub member: Arc<str>,
    /// MASTER or BACKUP.
    pub to: State,
}

enum Msg {
    Report {
        group: String,
        member: String,
        state: State,
        want: State,
    },
    Reconcile(Vec<SyncGroupConfig>, Arc<GlobalDefs>),
    Drained(oneshot::Sender<()>),
}

struct Entry {
    core: SyncGroup,
    cfg: SyncGroupConfig,
    queue: Option<NotifyQueue>,
}

struct Task {
    groups: HashMap<String, Entry>,
    global: Arc<GlobalDefs>,
    notifier: Option<Arc<Notifier>>,
    metrics: Option<Arc<Metrics>>,
    cmds: broadcast::Sender<SyncCommand>,
}

/// Handle to the hub; cheap to clone.
#[derive(Clone, Debug)]
pub struct SyncHub {
    tx: mpsc::UnboundedSender<Msg>,
    cmds: broadcast::Sender<SyncCommand>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Report { group, member, .. } => write!(f, "Report({group}/{member})"),
            Msg::Reconcile(g, _) => write!(f, "Reconcile({})", g.len()),
            Msg::Drained(_) => write!(f, "Drained"),
        }
    }
}

impl SyncHub {
    /// Starts the hub (inside a tokio runtime) for the sync groups of `cfg`.
    pub fn start(
        cfg: &Config,
        notifier: Option<Arc<Notifier>>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let (cmds, _) = broadcast::channel(1024);
        let mut task = Task {
            groups: HashMap::new(),
            global: Arc::new(cfg.global.clone()),
            notifier,
            metrics,
            cmds: cmds.clone(),
        };
        task.reconcile(cfg.sync_groups.clone(), task.global.clone());
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                task.handle(msg);
            }
        });
        SyncHub { tx, cmds }
    }

    /// A member's state and wanted state ([`crate::vrrp::fsm::Instance::want_state`]).
    pub fn report(&self, group: &str, member: &str, state: State, want: State) {
        let _ = self.tx.send(Msg::Report {
            group: group.to_string(),
            member: member.to_string(),
            state,
            want,
        });
    }

    /// Commands to members (each member keeps its own).
    pub fn subscribe(&self) -> broadcast::Receiver<SyncCommand> {
        self.cmds.subscribe()
    }

    /// Applies a new configuration: groups matched by name keep their state (no repeated
    /// notifies), their members and scripts are updated; removed groups are forgotten.
    pub fn reconcile(&self, cfg: &Config) {
        let _ = self.tx.send(Msg::Reconcile(
            cfg.sync_groups.clone(),
            Arc::new(cfg.global.clone()),
        ));
    }

    /// Resolves once every report sent before has been handled and the group notify scripts
    /// it started have run (shutdown: the groups' STOP notifies).
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let _ = self.tx.send(Msg::Drained(done));
        async move {
            let _ = wait.await;
        }
    }
}

impl Task {
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Report {
                group,
                member,
                state,
                want,
            } => self.report(&group, &member, state, want),
            Msg::Reconcile(groups, global) => self.reconcile(groups, global),
            Msg::Drained(done) => {
                let waits: Vec<_> = self
                    .groups
                    .values()
                    .filter_map(|e| e.queue.as_ref().map(|q| q.drained()))
                    .collect();
                tokio::spawn(async move {
                    futures::future::join_all(waits).await;
                    let _ = done.send(());
                });
            }
        }
    }

    fn reconcile(&mut self, groups: Vec<SyncGroupConfig>, global: Arc<GlobalDefs>) {
        self.global = global;
        let mut old = std::mem::take(&mut self.groups);
        for g in groups {
            let members: Vec<String> = g.members.iter().map(|(m, _)| m.clone()).collect();
            let entry = match old.remove(&g.name) {
                Some(mut e) => {
                    e.core.set_members(members);
                    e.cfg = g;
                    e
                }
                None => {
                    if members.len() == 1 {
                        tracing::warn!(
                            "VRRP_Group({}) has only 1 virtual router - this probably isn't what you want",
                            g.name
                        );
                    }
                    Entry {
                        core: SyncGroup::new(members),
                        cfg: g,
                        queue: None,
                    }
                }
            };
            self.groups.insert(entry.cfg.name.clone(), entry);
        }
        if let Some(m) = &self.metrics {
            for name in old.keys() {
                m.remove_sync_group(name);
            }
        }
    }

    fn report(&mut self, group: &str, member: &str, state: State, want: State) {
        let Some(e) = self.groups.get_mut(group) else {
            return;
        };
        let actions = e.core.report(member, state, want);
        let moving = actions
            .iter()
            .any(|a| matches!(a, SyncAction::Command { .. }));
        if state == State::Backup && want == State::Master && !moving {
            // Tell the operator why a backup that would take over does not.
            let others: Vec<&str> = e
                .core
                .members()
                .filter(|m| e.core.member(m).is_some_and(|(_, w)| w != State::Master))
                .collect();
            if !others.is_empty() {
                tracing::info!(
                    "VRRP_Group({group}) {member} would be MASTER; waiting for {}",
                    others.join(", ")
                );
            }
        }
        let group: Arc<str> = Arc::from(group);
        let mut syncing = None;
        for a in actions {
            match a {
                SyncAction::Command { member, to } => {
                    if syncing != Some(to) {
                        syncing = Some(to);
                        tracing::info!(
                            "VRRP_Group({group}) Syncing instances to {} state",
                            to.as_str()
                        );
                    }
                    let _ = self.cmds.send(SyncCommand {
                        group: group.clone(),
                        member: Arc::from(member.as_str()),
                        to,
                    });
                }
                SyncAction::Transition { from, to, member } => {
                    let span = transition_span(TransitionKind::SyncGroup, &group)
                        .from(from.as_str())
                        .to(to.as_str())
                        .reason("member_transition")
                        .priority(0);
                    span.in_scope(|| {
                        tracing::info!(
                            group = %group,
                            from = from.as_str(),
                            to = to.as_str(),
                            member = %member,
                            "VRRP_Group({group}) {} -> {} ({member})",
                            from.as_str(),
                            to.as_str()
                        );
                    });
                    if let Some(m) = &self.metrics {
                        m.sync_group_state(&group, vrrp_state(to));
                    }
                    if let Some(n) = &self.notifier {
                        n.state(
                            &mut e.queue,
                            &e.cfg.notify,
                            NotifyTarget::Group,
                            &group,
                            to,
                            0,
                        );
                        if smtp_alert_enabled(e.cfg.smtp_alert, &self.global) {
                            n.email(NotifyTarget::Group, &group, to);
                        }
                    }
                }
            }
        }
    }
}
