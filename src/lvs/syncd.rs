//! The IPVS connection-synchronisation daemons (`lvs_sync_daemon`): the kernel's master daemon
//! multicasts the director's connection table, the backup daemon receives it, so that an
//! established connection survives a failover to the other director.
//!
//! keepalived 2.2.7's behaviour, which this follows:
//! - with a VRRP instance (`lvs_sync_daemon IF INSTANCE`, or the instance's deprecated
//!   `lvs_sync_daemon_interface IF`), the daemons follow that instance: MASTER runs the master
//!   daemon (the backup one is stopped first), every other state the backup daemon; at start
//!   the backup daemon runs until the instance becomes MASTER;
//! - without an instance, both daemons run all the time;
//! - at stop, the daemons are stopped; after a reload that changes their parameters they are
//!   restarted with the new ones;
//! - keepalived's VRRP process owns the daemons that follow an instance and its checker process
//!   those without one: with only the checkers (`-C`) the first kind is not run, with only VRRP
//!   (`-P`) the second.
//!
//! Unlike keepalived, the running daemons are re-read every [`RESYNC`] and repaired (someone ran
//! `ipvsadm --stop-daemon`, or keepalived stopped its own after a `--take-over`).
//!
//! [`plan`] is the pure decision (what the kernel has → requests); [`start`] is the task that
//! owns the daemons: it hears the instance's transitions (from the VRRP notifier, see
//! `actors/vrrp/notifier.rs`), reads the running daemons (`IPVS_CMD_GET_DAEMON`) and sends
//! only the differences. A failed request is logged and retried.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::model::Config;
use crate::ipvs::client::IpvsClient;
use crate::ipvs::settings::{SyncDaemon, SyncRole};
use crate::vrrp::actor::notifier::Transition;
use crate::vrrp::events::State;

/// The daemons' parameters and whom they follow, from `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncdConfig {
    /// The master daemon's parameters (the backup's are the same).
    pub daemon: SyncDaemon,
    /// The instance followed (None: both daemons always run).
    pub instance: Option<String>,
}

impl SyncdConfig {
    /// `lvs_sync_daemon` of `cfg` (already resolved: the instance exists, the id is set).
    pub fn of(cfg: &Config) -> Option<Self> {
        let s = cfg.global.lvs_sync_daemon.as_ref()?;
        let mut d = SyncDaemon::new(
            SyncRole::Master,
            &s.ifname,
            u32::from(s.syncid.unwrap_or(0)),
        );
        d.maxlen = s.maxlen;
        d.port = s.port;
        d.ttl = s.ttl;
        d.group = s.group;
        Some(SyncdConfig {
            daemon: d,
            instance: s.instance.clone(),
        })
    }

    /// The daemons that should run while the followed instance is in `state` (None: no
    /// transition heard yet, which keepalived treats as BACKUP).
    pub fn wanted(&self, state: Option<State>) -> Vec<SyncDaemon> {
        let roles: &[SyncRole] = match (&self.instance, state) {
            (None, _) => &[SyncRole::Master, SyncRole::Backup],
            (Some(_), Some(State::Master)) => &[SyncRole::Master],
            (Some(_), Some(State::Stop)) => &[],
            (Some(_), _) => &[SyncRole::Backup],
        };
        roles
            .iter()
            .map(|r| SyncDaemon {
                role: *r,
                ..self.daemon.clone()
            })
            .collect()
    }
}

/// One request to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `IPVS_CMD_DEL_DAEMON`.
    Stop(SyncRole),
    /// `IPVS_CMD_NEW_DAEMON`.
    Start(SyncDaemon),
}

/// The requests that turn the running daemons `have` into `want`: stops first (a role whose
/// daemon is unwanted or runs with other parameters), then starts, master before backup. A
/// daemon already running as wanted is left alone (its connections table stays warm).
pub fn plan(have: &[SyncDaemon], want: &[SyncDaemon]) -> Vec<Step> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    for role in [SyncRole::Master, SyncRole::Backup] {
        let h = have.iter().find(|d| d.role == role);
        let w = want.iter().find(|d| d.role == role);
        match (w, h) {
            (None, Some(_)) => stops.push(Step::Stop(role)),
            (Some(w), Some(h)) if w.matches(h) => {}
            (Some(w), Some(_)) => {
                stops.push(Step::Stop(role));
                starts.push(Step::Start(w.clone()));
            }
            (Some(w), None) => starts.push(Step::Start(w.clone())),
            (None, None) => {}
        }
    }
    // keepalived's order on a transition: the old role's daemon goes, then the new one starts.
    stops.sort_by_key(|s| match s {
        Step::Stop(SyncRole::Backup) => 0,
        _ => 1,
    });
    stops.extend(starts);
    stops
}

enum Msg {
    Reload(Option<SyncdConfig>),
    Running(oneshot::Sender<Vec<SyncRole>>),
    Shutdown(oneshot::Sender<()>),
}

/// Handle on the sync-daemon task. Cheap to clone.
#[derive(Clone)]
pub struct SyncdHandle {
    tx: mpsc::UnboundedSender<Msg>,
    owners: Owners,
}

impl std::fmt::Debug for SyncdHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncdHandle")
    }
}

impl SyncdHandle {
    /// A reloaded configuration (already valid).
    pub fn reload(&self, cfg: &Config) {
        let _ = self
            .tx
            .send(Msg::Reload(self.owners.filter(SyncdConfig::of(cfg))));
    }

    /// The roles the task believes run (for tests and dumps).
    pub async fn running(&self) -> Vec<SyncRole> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Running(tx));
        rx.await.unwrap_or_default()
    }

    /// Stops the daemons (keepalived does at exit) and the task.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// How long a failed request waits before the next try.
const RETRY: Duration = Duration::from_secs(5);
/// After the followed instance becomes MASTER, how long the daemons' swap waits: keepalived
/// swaps them once the VIPs are installed, and the swap (kernel threads stopped and started)
/// must not compete with the VIP installation and the gratuitous ARPs.
pub const MASTER_GRACE: Duration = Duration::from_millis(250);

/// How often the running daemons are re-read and repaired.
pub const RESYNC: Duration = Duration::from_secs(30);

/// Which of keepalived's processes would run here (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    /// The VRRP subsystem runs (owns daemons following an instance).
    pub vrrp: bool,
    /// The checkers run (own daemons without an instance).
    pub check: bool,
}

impl Owners {
    /// `c` if one of the running subsystems owns it.
    fn filter(self, c: Option<SyncdConfig>) -> Option<SyncdConfig> {
        c.filter(|c| {
            if c.instance.is_some() {
                self.vrrp
            } else {
                self.check
            }
        })
    }
}

/// Starts the task on the current tokio runtime. `states`: VRRP instances' transitions. Without
/// `lvs_sync_daemon` the task never touches the kernel.
pub fn start(cfg: &Config, owners: Owners, states: broadcast::Receiver<Transition>) -> SyncdHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = Task {
        config: owners.filter(SyncdConfig::of(cfg)),
        states: HashMap::new(),
        client: None,
        running: BTreeSet::new(),
        dirty: true,
        not_before: None,
        last_error: None,
    };
    tokio::spawn(task.run(rx, states));
    SyncdHandle { tx, owners }
}

struct Task {
    config: Option<SyncdConfig>,
    /// The last state heard of each instance.
    states: HashMap<String, State>,
    client: Option<IpvsClient>,
    running: BTreeSet<SyncRole>,
    /// The kernel may differ from what is wanted.
    dirty: bool,
    /// A dirty state is reconciled from then on ([`MASTER_GRACE`]).
    not_before: Option<tokio::time::Instant>,
    last_error: Option<String>,
}

impl Task {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Msg>,
        mut states: broadcast::Receiver<Transition>,
    ) {
        let mut states_open = true;
        loop {
            let now = tokio::time::Instant::now();
            let held = self.not_before.filter(|t| *t > now);
            if self.dirty && held.is_none() {
                self.not_before = None;
                self.reconcile(false).await;
            }
            let wait = if let Some(t) = held {
                Some(t - now)
            } else if self.dirty {
                Some(RETRY)
            } else if self.config.is_some() {
                Some(RESYNC)
            } else {
                None
            };
            let retry = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Msg::Reload(c)) => {
                        if c != self.config {
                            self.config = c;
                            self.dirty = true;
                        }
                    }
                    Some(Msg::Running(tx)) => {
                        let _ = tx.send(self.running.iter().copied().collect());
                    }
                    Some(Msg::Shutdown(tx)) => {
                        self.reconcile(true).await;
                        let _ = tx.send(());
                        return;
                    }
                    // The daemon is gone without a shutdown: leave the daemons as they are.
                    None => return,
                },
                ev = states.recv(), if states_open => match ev {
                    Ok(ev) if ev.group => {}
                    Ok(ev) => {
                        let followed = self
                            .config
                            .as_ref()
                            .and_then(|c| c.instance.as_deref())
                            == Some(ev.name.as_str());
                        if followed {
                            self.dirty = true;
                            self.not_before = (ev.state == State::Master)
                                .then(|| tokio::time::Instant::now() + MASTER_GRACE);
                        }
                        self.states.insert(ev.name, ev.state);
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("IPVS sync daemon: {n} VRRP transition(s) missed");
                    }
                    Err(broadcast::error::RecvError::Closed) => states_open = false,
                },
                _ = retry => self.dirty = true,
            }
        }
    }

    /// Brings the kernel's daemons to what is wanted (`stopping`: none).
    async fn reconcile(&mut self, stopping: bool) {
        let want = match (&self.config, stopping) {
            (Some(c), false) => {
                let state = c
                    .instance
                    .as_ref()
                    .and_then(|i| self.states.get(i).copied());
                c.wanted(state)
            }
            // Nothing configured and nothing started by us: the kernel is not ours to touch.
            _ if self.running.is_empty() && self.client.is_none() => {
                self.dirty = false;
                return;
            }
            _ => Vec::new(),
        };
        match self.apply(&want).await {
            Ok(()) => {
                self.dirty = false;
                self.last_error = None;
            }
            Err(e) => {
                // Once per distinct error; retried every RETRY.
                if self.last_error.as_deref() != Some(e.as_str()) {
                    tracing::error!("IPVS sync daemon: {e}; retrying every {RETRY:?}");
                    self.last_error = Some(e);
                }
                self.client = None;
            }
        }
    }

    async fn apply(&mut self, want: &[SyncDaemon]) -> Result<(), String> {
        if self.client.is_none() {
            self.client = Some(IpvsClient::connect().await.map_err(|e| e.to_string())?);
        }
        let Some(c) = self.client.as_mut() else {
            return Err("no IPVS connection".into());
        };
        let have = c.daemons().await.map_err(|e| e.to_string())?;
        self.running = have.iter().map(|d| d.role).collect();
        for step in plan(&have, want) {
            match &step {
                Step::Stop(role) => match c.stop_daemon(*role).await {
                    Ok(()) => tracing::info!("IPVS: stopped the {role} sync daemon"),
                    Err(e) if e.errno() == Some(libc::ESRCH) => {}
                    Err(e) => return Err(e.to_string()),
                },
                Step::Start(d) => {
                    c.start_daemon(d).await.map_err(|e| e.to_string())?;
                    tracing::info!(
                        "IPVS: started the {} sync daemon (interface {}, sync id {})",
                        d.role,
                        d.ifname,
                        d.syncid
                    );
                }
            }
            match step {
                Step::Stop(role) => {
                    self.running.remove(&role);
                }
                Step::Start(d) => {
                    self.running.insert(d.role);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(instance: Option<&str>) -> SyncdConfig {
        SyncdConfig {
            daemon: SyncDaemon::new(SyncRole::Master, "eth1", 51),
            instance: instance.map(str::to_string),
        }
    }

    fn roles(v: &[SyncDaemon]) -> Vec<SyncRole> {
        v.iter().map(|d| d.role).collect()
    }

    #[test]
    fn the_daemons_follow_the_instance_as_keepalived() {
        let c = cfg(Some("VI_1"));
        assert_eq!(roles(&c.wanted(None)), [SyncRole::Backup], "at start");
        assert_eq!(roles(&c.wanted(Some(State::Backup))), [SyncRole::Backup]);
        assert_eq!(roles(&c.wanted(Some(State::Master))), [SyncRole::Master]);
        assert_eq!(roles(&c.wanted(Some(State::Fault))), [SyncRole::Backup]);
        assert!(c.wanted(Some(State::Stop)).is_empty());
        let both = cfg(None);
        assert_eq!(
            roles(&both.wanted(Some(State::Master))),
            [SyncRole::Master, SyncRole::Backup]
        );
        assert!(c
            .wanted(Some(State::Master))
            .iter()
            .all(|d| d.ifname == "eth1" && d.syncid == 51));
    }

    #[test]
    fn plan_swaps_roles_stopping_first_and_keeps_matching_daemons() {
        let c = cfg(Some("VI_1"));
        let backup = c.wanted(Some(State::Backup));
        let master = c.wanted(Some(State::Master));
        // BACKUP -> MASTER: the backup daemon goes, then the master starts.
        assert_eq!(
            plan(&backup, &master),
            vec![Step::Stop(SyncRole::Backup), Step::Start(master[0].clone())]
        );
        // MASTER -> BACKUP.
        assert_eq!(
            plan(&master, &backup),
            vec![Step::Stop(SyncRole::Master), Step::Start(backup[0].clone())]
        );
        // Already right: nothing.
        assert!(plan(&master, &master).is_empty());
        // The kernel chose maxlen/port/ttl itself: still a match.
        let mut kernel = master[0].clone();
        kernel.maxlen = Some(1472);
        kernel.port = Some(8848);
        kernel.ttl = Some(1);
        assert!(plan(&[kernel.clone()], &master).is_empty());
        // A daemon with another interface or id is restarted.
        let mut other = kernel;
        other.ifname = "eth9".into();
        assert_eq!(
            plan(&[other], &master),
            vec![Step::Stop(SyncRole::Master), Step::Start(master[0].clone())]
        );
        // Stop everything.
        assert_eq!(
            plan(&cfg(None).wanted(None), &[]),
            vec![Step::Stop(SyncRole::Backup), Step::Stop(SyncRole::Master)]
        );
    }

    #[test]
    fn owners_as_keepalived_processes() {
        let vrrp_only = Owners {
            vrrp: true,
            check: false,
        };
        let check_only = Owners {
            vrrp: false,
            check: true,
        };
        assert!(vrrp_only.filter(Some(cfg(Some("VI_1")))).is_some());
        assert!(vrrp_only.filter(Some(cfg(None))).is_none());
        assert!(check_only.filter(Some(cfg(Some("VI_1")))).is_none());
        assert!(check_only.filter(Some(cfg(None))).is_some());
    }
}
