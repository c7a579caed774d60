//! Notify scripts and notify FIFOs for VRRP transitions (keepalived `vrrp/vrrp_notify.c`).
//!
//! Pure builders give the exact invocations keepalived makes:
//! - the specific `notify_master|backup|fault|stop|deleted` script gets ONLY its configured
//!   arguments, and runs first;
//! - the generic `notify` script gets `GROUP|INSTANCE name state priority` appended after its
//!   configured arguments (priority `0` for a group);
//! - a deleted instance reports `FAULT` unless `notify_deleted` was given;
//! - STOP scripts (shutdown) are killed after 1 s, as keepalived does;
//! - the FIFO line is `INSTANCE "VI_1" MASTER 100\n` / `GROUP "G1" BACKUP 0\n`.
//!
//! [`NotifyFifo`] writes lines without ever blocking (the FIFO is opened `O_RDWR|O_NONBLOCK`, so
//! it has a reader even when nobody listens; a full pipe drops the line as keepalived does).
//! [`NotifyQueue`] runs one instance's scripts strictly in order (a MASTER script finishes before
//! the following BACKUP script starts), unlike keepalived where they may overtake each other.
//!
//! Sync-group suppression (an instance's notifies are skipped when its group already reported
//! that state) is the instance actor's decision.

use crate::config::model::{NotifyScripts, ScriptSpec, ScriptUser};
use crate::track::exec::{PreparedScript, ResolvedUser, RunOptions, ScriptCommand, ScriptContext};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a STOP notify script may run (keepalived: `TIMER_HZ`).
pub const STOP_SCRIPT_TIMEOUT: Duration = Duration::from_secs(1);

/// Instance or sync group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyTarget {
    /// A `vrrp_instance`.
    Instance,
    /// A `vrrp_sync_group`.
    Group,
}

impl NotifyTarget {
    /// `INSTANCE` / `GROUP`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyTarget::Instance => "INSTANCE",
            NotifyTarget::Group => "GROUP",
        }
    }
}

/// A state reported to notify scripts and FIFOs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyState {
    /// MASTER.
    Master,
    /// BACKUP.
    Backup,
    /// FAULT.
    Fault,
    /// STOP (shutdown).
    Stop,
    /// DELETED (instance removed by a reload; reported as FAULT without `notify_deleted`).
    Deleted,
}

impl NotifyState {
    /// keepalived's word.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
        }
    }
}

/// FIFO-only events (no state change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyEvent {
    /// A master received an advert with a lower priority (also runs
    /// `notify_master_rx_lower_pri`).
    MasterRxLowerPri,
    /// `notify_priority_changes`: effective priority changed while MASTER.
    MasterPriority,
    /// `notify_priority_changes`: effective priority changed while BACKUP.
    BackupPriority,
}

impl NotifyEvent {
    /// keepalived's word.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyEvent::MasterPriority => "MASTER_PRIORITY",
            NotifyEvent::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

/// One script to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyInvocation {
    /// Command (argv, and the `sh -c` line if it must go through a shell).
    pub command: ScriptCommand,
    /// The `user [group]` configured after the script.
    pub user: Option<ScriptUser>,
    /// Kill after this long (STOP scripts only).
    pub timeout: Option<Duration>,
    /// The generic `notify` script (with the four appended arguments).
    pub generic: bool,
}

impl NotifyInvocation {
    fn specific(spec: &ScriptSpec, timeout: Option<Duration>) -> Self {
        Self {
            command: ScriptCommand::from_spec(spec),
            user: spec.user.clone(),
            timeout,
            generic: false,
        }
    }
}

/// Everything one transition triggers: scripts in order, then the FIFO line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Scripts, in keepalived's order (specific first, then generic).
    pub scripts: Vec<NotifyInvocation>,
    /// The line for `notify_fifo` / `vrrp_notify_fifo`.
    pub fifo_line: String,
}

/// `TYPE "name" STATE prio\n`.
pub fn fifo_line(target: NotifyTarget, name: &str, word: &str, priority: u8) -> String {
    format!("{} \"{}\" {} {}\n", target.as_str(), name, word, priority)
}

/// What keepalived runs and writes when `name` enters `state` with effective `priority`
/// (ignored for groups: always 0).
pub fn state_notification(
    scripts: &NotifyScripts,
    target: NotifyTarget,
    name: &str,
    state: NotifyState,
    priority: u8,
) -> Notification {
    let priority = match target {
        NotifyTarget::Instance => priority,
        NotifyTarget::Group => 0,
    };
    let state = match (target, state) {
        (NotifyTarget::Instance, NotifyState::Deleted) if !scripts.deleted_state => {
            NotifyState::Fault
        }
        _ => state,
    };
    let timeout = (state == NotifyState::Stop).then_some(STOP_SCRIPT_TIMEOUT);
    let specific = match state {
        NotifyState::Master => scripts.master.as_ref(),
        NotifyState::Backup => scripts.backup.as_ref(),
        NotifyState::Fault => scripts.fault.as_ref(),
        NotifyState::Stop => scripts.stop.as_ref(),
        NotifyState::Deleted => match target {
            NotifyTarget::Instance => scripts.deleted.as_ref(),
            NotifyTarget::Group => None,
        },
    };
    let mut out = Vec::new();
    if let Some(s) = specific {
        out.push(NotifyInvocation::specific(s, timeout));
    }
    if let Some(g) = scripts.generic.as_ref() {
        let prio = priority.to_string();
        out.push(NotifyInvocation {
            command: ScriptCommand::from_spec(g).with_args(&[
                target.as_str(),
                name,
                state.as_str(),
                prio.as_str(),
            ]),
            user: g.user.clone(),
            timeout,
            generic: true,
        });
    }
    Notification {
        scripts: out,
        fifo_line: fifo_line(target, name, state.as_str(), priority),
    }
}

/// What keepalived runs and writes for an instance event (no state change).
pub fn event_notification(
    scripts: &NotifyScripts,
    name: &str,
    event: NotifyEvent,
    priority: u8,
) -> Notification {
    let mut out = Vec::new();
    if event == NotifyEvent::MasterRxLowerPri {
        if let Some(s) = scripts.master_rx_lower_pri.as_ref() {
            out.push(NotifyInvocation::specific(s, None));
        }
    }
    Notification {
        scripts: out,
        fifo_line: fifo_line(NotifyTarget::Instance, name, event.as_str(), priority),
    }
}

/// A notify FIFO opened for writing.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    created: bool,
    /// The reader script's pid (= process group) and whether it has exited.
    reader: Option<(i32, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
}

impl NotifyFifo {
    /// Creates the FIFO (mode 0644, chowned to `owner`) if missing, and opens it
    /// `O_RDWR|O_NONBLOCK|O_NOFOLLOW`. Refuses an existing path that is not a FIFO we (or
    /// `owner`) own.
    pub fn open(path: &Path, owner: Option<&ResolvedUser>) -> io::Result<Self> {
        let created = crate::sys::process::make_fifo(path, 0o644)?;
        let our_uid = crate::sys::user::uid();
        if let (true, Some(o)) = (created, owner) {
            std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path);
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
        let m = file.metadata()?;
        if !m.file_type().is_fifo() || (m.uid() != our_uid && Some(m.uid()) != owner.map(|o| o.uid))
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is not a fifo we own", path.display()),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            created,
            reader: None,
        })
    }

    /// Opens the FIFO and starts its `*_notify_fifo_script` with the FIFO path as last argument
    /// (its process group gets SIGTERM when this is dropped). As in keepalived, a reader that
    /// exits is logged and not restarted. Needs a tokio runtime.
    pub fn open_with_script(
        path: &Path,
        owner: Option<&ResolvedUser>,
        script: &ScriptSpec,
        ctx: &ScriptContext,
    ) -> io::Result<Self> {
        let mut fifo = Self::open(path, owner)?;
        let cmd = ScriptCommand::from_spec(script).with_args(&[path.to_string_lossy()]);
        let prepared = ctx
            .user_for(script.user.as_ref())
            .and_then(|u| PreparedScript::prepare(cmd, u, ctx.enable_script_security))
            .map_err(io::Error::other)?;
        let mut child = prepared.spawn().map_err(io::Error::other)?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let exited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = exited.clone();
        let shown = path.display().to_string();
        tokio::spawn(async move {
            let st = child.wait().await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::info!("notify fifo script for {shown} terminated ({st:?})");
        });
        tracing::info!(
            "notify fifo script for {} started (pid {pid})",
            path.display()
        );
        fifo.reader = Some((pid, exited));
        Ok(fifo)
    }

    /// The FIFO path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line; never blocks. Returns `Ok(false)` when the pipe is full and the line was
    /// dropped (keepalived ignores EAGAIN too).
    pub fn write_line(&self, line: &str) -> io::Result<bool> {
        match (&self.file).write(line.as_bytes()) {
            Ok(n) if n == line.len() => Ok(true),
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        // keepalived unlinks first, so that a reader reopening in a loop cannot find it again.
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some((pid, exited)) = &self.reader {
            if *pid > 1 && !exited.load(std::sync::atomic::Ordering::SeqCst) {
                // The reader's own process group (not yet reaped).
                let _ = crate::sys::process::kill(-*pid, libc::SIGTERM);
            }
        }
    }
}

enum Job {
    Run(Vec<NotifyInvocation>),
    Barrier(oneshot::Sender<()>),
}

/// Runs one instance's (or group's) notify scripts strictly in order on a background task.
///
/// Each script is waited for before the next starts; a script still running after `max_wait`
/// is left running (not killed, its exit reaped in the background) and the queue moves on, so
/// one hung script cannot hold back later notifications for ever. STOP scripts are killed after
/// [`STOP_SCRIPT_TIMEOUT`].
#[derive(Debug)]
pub struct NotifyQueue {
    tx: mpsc::UnboundedSender<Job>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Run(v) => write!(f, "Run({})", v.len()),
            Job::Barrier(_) => write!(f, "Barrier"),
        }
    }
}

/// Default [`NotifyQueue`] wait per script before moving on.
pub const DEFAULT_NOTIFY_MAX_WAIT: Duration = Duration::from_secs(10);

impl NotifyQueue {
    /// Starts the queue on the current tokio runtime.
    pub fn spawn(ctx: ScriptContext, max_wait: Duration) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let task = tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Barrier(done) => {
                        let _ = done.send(());
                    }
                    Job::Run(list) => {
                        for inv in list {
                            run_one(&ctx, inv, max_wait).await;
                        }
                    }
                }
            }
        });
        Self { tx, task }
    }

    /// Queues scripts (one transition's, in order). Never blocks.
    pub fn push(&self, scripts: Vec<NotifyInvocation>) {
        if !scripts.is_empty() {
            let _ = self.tx.send(Job::Run(scripts));
        }
    }

    /// Resolves when everything queued before this call has run (or been given up on).
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let _ = self.tx.send(Job::Barrier(done));
        async move {
            let _ = wait.await;
        }
    }
}

impl Drop for NotifyQueue {
    fn drop(&mut self) {
        // Queued-but-unstarted scripts are dropped; a running one is left to finish.
        self.task.abort();
    }
}

async fn run_one(ctx: &ScriptContext, inv: NotifyInvocation, max_wait: Duration) {
    let argv0 = inv.command.argv.first().cloned().unwrap_or_default();
    let prepared = match ctx
        .user_for(inv.user.as_ref())
        .and_then(|u| PreparedScript::prepare(inv.command, u, ctx.enable_script_security))
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(script = %argv0, "notify script not run: {e}");
            return;
        }
    };
    if let Some(t) = inv.timeout {
        let run = prepared.run(&RunOptions::with_timeout(t)).await;
        tracing::debug!(script = %argv0, outcome = ?run.outcome, "notify script done");
        return;
    }
    let mut child = match prepared.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(script = %argv0, "notify script not run: {e}");
            return;
        }
    };
    match tokio::time::timeout(max_wait, child.wait()).await {
        Ok(st) => tracing::debug!(script = %argv0, status = ?st, "notify script done"),
        Err(_) => {
            tracing::warn!(script = %argv0, "notify script still running after {max_wait:?}; not waiting for it");
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Location;
    use crate::config::model::split_command;

    fn spec(cmd: &str) -> ScriptSpec {
        ScriptSpec {
            command: cmd.to_string(),
            argv: split_command(cmd),
            user: None,
            loc: Location::new(&std::sync::Arc::from("k.conf"), 1),
        }
    }

    fn all() -> NotifyScripts {
        NotifyScripts {
            master: Some(spec("/m.sh arg1 'two words'")),
            backup: Some(spec("/b.sh")),
            fault: Some(spec("/f.sh x")),
            stop: Some(spec("/s.sh")),
            deleted: Some(spec("/d.sh")),
            deleted_state: false,
            master_rx_lower_pri: Some(spec("/rx.sh lower")),
            generic: Some(spec("/n.sh --flag")),
            priority_changes: None,
        }
    }

    fn argvs(n: &Notification) -> Vec<Vec<String>> {
        n.scripts.iter().map(|s| s.command.argv.clone()).collect()
    }

    #[test]
    fn instance_master_specific_gets_only_its_args_then_generic_appended() {
        let n = state_notification(
            &all(),
            NotifyTarget::Instance,
            "VI_1",
            NotifyState::Master,
            100,
        );
        assert_eq!(
            argvs(&n),
            vec![
                vec!["/m.sh", "arg1", "two words"],
                vec!["/n.sh", "--flag", "INSTANCE", "VI_1", "MASTER", "100"],
            ]
        );
        assert!(!n.scripts[0].generic && n.scripts[1].generic);
        assert_eq!(n.fifo_line, "INSTANCE \"VI_1\" MASTER 100\n");
        assert_eq!(n.scripts[0].timeout, None);
    }

    #[test]
    fn generic_without_args_is_exactly_dollar_1_to_4() {
        let s = NotifyScripts {
            generic: Some(spec("/n.sh")),
            ..Default::default()
        };
        let n = state_notification(&s, NotifyTarget::Instance, "VI_1", NotifyState::Backup, 90);
        assert_eq!(
            argvs(&n),
            vec![vec!["/n.sh", "INSTANCE", "VI_1", "BACKUP", "90"]]
        );
        assert_eq!(
            n.scripts[0].command.shell,
            "/n.sh 'INSTANCE' 'VI_1' 'BACKUP' '90'"
        );
    }

    #[test]
    fn group_priority_is_zero() {
        let n = state_notification(&all(), NotifyTarget::Group, "G1", NotifyState::Backup, 200);
        assert_eq!(
            argvs(&n),
            vec![
                vec!["/b.sh"],
                vec!["/n.sh", "--flag", "GROUP", "G1", "BACKUP", "0"]
            ]
        );
        assert_eq!(n.fifo_line, "GROUP \"G1\" BACKUP 0\n");
    }

    #[test]
    fn each_state_picks_its_script() {
        let s = all();
        for (st, first) in [
            (NotifyState::Master, "/m.sh"),
            (NotifyState::Backup, "/b.sh"),
            (NotifyState::Fault, "/f.sh"),
            (NotifyState::Stop, "/s.sh"),
        ] {
            let n = state_notification(&s, NotifyTarget::Instance, "VI_1", st, 50);
            assert_eq!(n.scripts[0].command.argv[0], first);
            assert_eq!(n.scripts[1].command.argv[4], st.as_str());
        }
    }

    #[test]
    fn deleted_reports_fault_unless_notify_deleted() {
        let mut s = all();
        let n = state_notification(
            &s,
            NotifyTarget::Instance,
            "VI_1",
            NotifyState::Deleted,
            100,
        );
        assert_eq!(n.scripts[0].command.argv, vec!["/f.sh", "x"]);
        assert_eq!(n.scripts[1].command.argv[4], "FAULT");
        assert_eq!(n.fifo_line, "INSTANCE \"VI_1\" FAULT 100\n");
        s.deleted_state = true;
        let n = state_notification(
            &s,
            NotifyTarget::Instance,
            "VI_1",
            NotifyState::Deleted,
            100,
        );
        assert_eq!(n.scripts[0].command.argv, vec!["/d.sh"]);
        assert_eq!(n.scripts[1].command.argv[4], "DELETED");
        assert_eq!(n.fifo_line, "INSTANCE \"VI_1\" DELETED 100\n");
    }

    #[test]
    fn stop_scripts_have_one_second_timeout() {
        let n = state_notification(&all(), NotifyTarget::Group, "G1", NotifyState::Stop, 0);
        assert!(n
            .scripts
            .iter()
            .all(|s| s.timeout == Some(STOP_SCRIPT_TIMEOUT)));
        assert_eq!(n.fifo_line, "GROUP \"G1\" STOP 0\n");
    }

    #[test]
    fn nothing_configured_still_has_fifo_line() {
        let n = state_notification(
            &NotifyScripts::default(),
            NotifyTarget::Instance,
            "VI_2",
            NotifyState::Fault,
            1,
        );
        assert!(n.scripts.is_empty());
        assert_eq!(n.fifo_line, "INSTANCE \"VI_2\" FAULT 1\n");
    }

    #[test]
    fn events() {
        let n = event_notification(&all(), "VI_1", NotifyEvent::MasterRxLowerPri, 100);
        assert_eq!(argvs(&n), vec![vec!["/rx.sh", "lower"]]);
        assert_eq!(n.fifo_line, "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n");
        let n = event_notification(&all(), "VI_1", NotifyEvent::BackupPriority, 80);
        assert!(n.scripts.is_empty());
        assert_eq!(n.fifo_line, "INSTANCE \"VI_1\" BACKUP_PRIORITY 80\n");
        assert_eq!(NotifyEvent::MasterPriority.as_str(), "MASTER_PRIORITY");
    }
}
