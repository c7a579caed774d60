//! Running configured scripts the way keepalived does (`core/notify.c`).
//!
//! - `argv[0]` resolved to an executable regular file (a path, or a bare name found in `PATH`):
//!   `execve(path, argv)` without a shell; if the kernel says the file has no interpreter
//!   (ENOEXEC, a script without `#!`), it is run by `sh -c` with each argument single-quoted
//!   (keepalived's `system()` fallback). A bare name not found in `PATH` (a shell builtin or shell
//!   syntax) runs as `sh -c <command as configured>`.
//! - as the script's `user [group]`, else the global `script_user`, else `keepalived_script`
//!   if that user exists, else our own uid/gid (root): setgid, setgroups, setuid in the child;
//! - in its own process group; stdin/stdout/stderr on /dev/null; descriptors above 2 marked
//!   close-on-exec; `IFS`, `LD_PRELOAD`, `LD_LIBRARY_PATH` removed; SIGTERM when we die
//!   (PR_SET_PDEATHSIG: spawn from a long-lived thread, e.g. a runtime worker);
//! - with a timeout the whole group gets SIGTERM, then SIGKILL after a grace period; the run is
//!   reported [`ScriptOutcome::TimedOut`]. The caller's thread never blocks (tokio::process).
//! - `enable_script_security`: a script run as root (uid or gid 0, or a set-uid/gid-root file)
//!   whose path, symlink target, or any parent directory is writable by a non-root user is
//!   refused; without it keepalived only warns ([`check_script_security`] is pure over an
//!   `lstat` closure so it is testable). With it, a line whose first word is not a program
//!   (`FOO=1 /x.sh`, `exec /x.sh`: the shell fallback above) is refused too, since the program
//!   the shell would run is never checked (keepalived disables it: "Cannot find script in
//!   path"); only keepalived's `</path` open check, alone on its line, still goes to `sh -c`.

use crate::config::model::{GlobalDefs, ScriptSpec, ScriptUser};

use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// keepalived's default script user when no `script_user` is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Grace between SIGTERM and SIGKILL when a script times out (keepalived waits 2 s).
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// Errors that stop a script from being run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Empty command line.
    #[error("empty script command")]
    Empty,
    /// The script file does not exist.
    #[error("script {0} not found")]
    NotFound(String),
    /// The script exists but is not executable by the user it runs as.
    #[error("script {path} is not executable for uid:gid {uid}:{gid}")]
    NotExecutable {
        /// Path.
        path: String,
        /// uid it would run as.
        uid: u32,
        /// gid it would run as.
        gid: u32,
    },
    /// A user or group name that does not resolve.
    #[error("script user/group {0} does not exist")]
    NoSuchUser(String),
    /// `enable_script_security` refuses it.
    #[error("script {script} is insecure: {issue}")]
    Insecure {
        /// The script.
        script: String,
        /// Why.
        issue: SecurityIssue,
    },
    /// fork/exec failed.
    #[error("cannot run {0}: {1}")]
    Spawn(String, String),
}

/// A command ready to run: argv for `execve` and the command line for the `sh -c` fallback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptCommand {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The line given to `sh -c` when `argv[0]` is not an executable file found by path or in
    /// `PATH`.
    pub shell: String,
}

impl ScriptCommand {
    /// From a configured script (`argv` as keepalived splits it; the shell line as written).
    pub fn from_spec(spec: &ScriptSpec) -> Self {
        Self {
            argv: spec.argv.clone(),
            shell: spec.command.clone(),
        }
    }

    /// From an argv (shell line: every word single-quoted).
    pub fn from_argv<S: AsRef<str>>(argv: &[S]) -> Self {
        let argv: Vec<String> = argv.iter().map(|s| s.as_ref().to_string()).collect();
        Self {
            shell: quote_argv(&argv),
            argv,
        }
    }

    /// This command with `extra` arguments appended (they are quoted for the shell line).
    pub fn with_args<S: AsRef<str>>(&self, extra: &[S]) -> Self {
        let mut out = self.clone();
        for a in extra {
            out.argv.push(a.as_ref().to_string());
            out.shell.push(' ');
            out.shell.push_str(&shell_quote(a.as_ref()));
        }
        out
    }
}

/// `'word'` with embedded `'` written as `'\''` (keepalived's `append_quoted_arg`).
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// keepalived's `cmd_str`: every word quoted, except a first word starting with `<` or `>`
/// (the "`</path`" file test form).
pub fn quote_argv(argv: &[String]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
                a.clone()
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The identity a script runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    /// User name (None: our own identity).
    pub name: Option<String>,
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Supplementary groups to set (empty: cleared, as keepalived does).
    pub groups: Vec<u32>,
}

impl ResolvedUser {
    /// Our own identity (no switch).
    pub fn current() -> Self {
        let (uid, gid) = (crate::sys::user::uid(), crate::sys::user::gid());
        Self {
            name: None,
            uid,
            gid,
            groups: Vec::new(),
        }
    }
}

/// Where scripts get their defaults from (global_defs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptContext {
    /// `script_user`.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
}

impl ScriptContext {
    /// From `global_defs`.
    pub fn from_global(g: &GlobalDefs) -> Self {
        Self {
            script_user: g.script_user.clone(),
            enable_script_security: g.enable_script_security,
        }
    }

    /// The identity for a script with its own `user` setting (None: the default).
    pub fn user_for(&self, own: Option<&ScriptUser>) -> Result<ResolvedUser, ExecError> {
        match own.or(self.script_user.as_ref()) {
            Some(u) => resolve_user(u),
            None => match crate::sys::user::lookup_user(DEFAULT_SCRIPT_USER) {
                Ok(Some((uid, gid))) => Ok(ResolvedUser {
                    name: Some(DEFAULT_SCRIPT_USER.to_string()),
                    uid,
                    gid,
                    groups: Vec::new(),
                }),
                _ => Ok(ResolvedUser::current()),
            },
        }
    }
}

/// The name of the user we run as.
pub(crate) fn current_user_name() -> Option<String> {
    crate::sys::user::lookup_uid(crate::sys::user::uid()).map(|(name, _)| name)
}

/// Resolves `user [:][group]` (names or numeric ids) like keepalived's `set_uid_gid`.
pub fn resolve_user(u: &ScriptUser) -> Result<ResolvedUser, ExecError> {
    let (name, uid, user_gid) = match crate::sys::user::lookup_user(&u.user) {
        Ok(Some((uid, gid))) => (Some(u.user.clone()), uid, gid),
        _ => match u.user.parse::<u32>() {
            Ok(uid) => match crate::sys::user::lookup_uid(uid) {
                Some((name, gid)) => (Some(name), uid, gid),
                None => (None, uid, uid),
            },
            Err(_) => return Err(ExecError::NoSuchUser(u.user.clone())),
        },
    };
    let gid = match &u.group {
        None => user_gid,
        Some(g) => match crate::sys::user::lookup_group(g) {
            Ok(Some(gid)) => gid,
            _ => g
                .parse::<u32>()
                .map_err(|_| ExecError::NoSuchUser(g.clone()))?,
        },
    };
    let groups = match (&name, u.supplementary) {
        (Some(n), true) => crate::sys::user::group_list(n, user_gid),
        _ => Vec::new(),
    };
    Ok(ResolvedUser {
        name,
        uid,
        gid,
        groups,
    })
}

/// The parts of `lstat` the security rule needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMeta {
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
}

impl FileMeta {
    fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    fn is_reg(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    fn is_link(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// `lstat` of a real path.
pub fn lstat_meta(p: &Path) -> io::Result<FileMeta> {
    let m = std::fs::symlink_metadata(p)?;
    Ok(FileMeta {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode(),
    })
}

/// Why a path is unsafe to run as root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityIssue {
    /// A component cannot be examined.
    #[error("{0} cannot be examined")]
    Missing(PathBuf),
    /// A parent is not a directory, or the last component is neither a file nor a symlink.
    #[error("{0} has the wrong file type")]
    WrongType(PathBuf),
    /// A component is owned by, or writable by, a non-root user.
    #[error("{0} is owned or writable by a non-root user")]
    Writable(PathBuf),
    /// The line's first word is not a file (a shell builtin such as `exec`, an assignment
    /// such as `FOO=1`, shell syntax): the program the shell would run cannot be checked.
    /// keepalived disables such a script ("Cannot find script ... in path").
    #[error("its first word `{0}` is not a program found by path or in PATH: what the shell would run cannot be checked")]
    NotAProgram(String),
}

/// keepalived's `check_security`: walks `/`, each parent directory and the file itself (not
/// following symlinks); unsafe when a component is not owned by root, or is group-writable with
/// a non-root group or world-writable (directories with the sticky bit excepted).
pub fn check_path_secure(
    path: &Path,
    lstat: &mut dyn FnMut(&Path) -> io::Result<FileMeta>,
) -> Result<(), SecurityIssue> {
    let comps: Vec<Component> = path.components().collect();
    let mut cur = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        cur.push(c.as_os_str());
        let last = i + 1 == comps.len();
        let m = lstat(&cur).map_err(|_| SecurityIssue::Missing(cur.clone()))?;
        if (!last && !m.is_dir()) || (last && !m.is_reg() && !m.is_link()) {
            return Err(SecurityIssue::WrongType(cur));
        }
        let sticky = m.mode & libc::S_ISVTX != 0;
        let writable = (m.gid != 0 && m.mode & libc::S_IWGRP != 0) || m.mode & libc::S_IWOTH != 0;
        if m.uid != 0 || (((m.is_dir() && !sticky) || m.is_reg()) && writable) {
            return Err(SecurityIssue::Writable(cur));
        }
    }
    Ok(())
}

/// keepalived's `is_executable` for the identity the script runs as.
pub fn is_executable(m: &FileMeta, uid: u32, gid: u32) -> bool {
    (uid == 0 && m.mode & 0o111 != 0)
        || (uid == m.uid && m.mode & libc::S_IXUSR != 0)
        || (uid != m.uid
            && ((gid == m.gid && m.mode & libc::S_IXGRP != 0)
                || (gid != m.gid && m.mode & libc::S_IXOTH != 0)))
}

/// Whether keepalived checks the path at all: the script runs with uid 0 or gid 0, or the file is
/// set-uid root / set-gid root.
pub fn needs_protection(file: &FileMeta, uid: u32, gid: u32) -> bool {
    uid == 0
        || gid == 0
        || (file.uid == 0 && file.mode & libc::S_IXUSR != 0 && file.mode & libc::S_ISUID != 0)
        || (file.gid == 0 && file.mode & libc::S_IXGRP != 0 && file.mode & libc::S_ISGID != 0)
}

/// Outcome of [`check_script_security`] when the script may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecurityVerdict {
    /// Not run as root: nothing to check.
    NotNeeded,
    /// Every component is root-owned and not writable by others.
    Secure,
    /// Unsafe, but `enable_script_security` is off: keepalived logs a warning and runs it.
    InsecureAllowed(SecurityIssue),
}

/// The `enable_script_security` rule for a script at `exec_path` (as configured, made absolute)
/// whose symlinks resolve to `real_path`, with `file` = stat of the final file, run as
/// `uid:gid`. `lstat` examines one path component.
pub fn check_script_security(
    exec_path: &Path,
    real_path: &Path,
    file: &FileMeta,
    uid: u32,
    gid: u32,
    enforce: bool,
    lstat: &mut dyn FnMut(&Path) -> io::Result<FileMeta>,
) -> Result<SecurityVerdict, ExecError> {
    if !needs_protection(file, uid, gid) {
        return Ok(SecurityVerdict::NotNeeded);
    }
    let mut res = check_path_secure(exec_path, lstat);
    if res.is_ok() && real_path != exec_path {
        res = check_path_secure(real_path, lstat);
    }
    match res {
        Ok(()) => Ok(SecurityVerdict::Secure),
        Err(issue) if enforce => Err(ExecError::Insecure {
            script: exec_path.display().to_string(),
            issue,
        }),
        Err(issue) => Ok(SecurityVerdict::InsecureAllowed(issue)),
    }
}

/// How a prepared script starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// `execve(path, argv)`.
    Direct(PathBuf),
    /// `/bin/sh -c line`.
    Shell(String),
}

/// A script resolved, checked and ready to spawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedScript {
    /// The command.
    pub command: ScriptCommand,
    /// Who it runs as.
    pub user: ResolvedUser,
    /// How it starts.
    pub launch: Launch,
    /// Result of the security rule.
    pub security: SecurityVerdict,
}

/// keepalived's `</path` form (a check that a file can be opened, run by the shell): safe
/// under `enable_script_security` only when the line is that one redirection and nothing else
/// (no second command, substitution, or other word the shell would run).
pub fn is_safe_redirect_check(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix('<') else {
        return false;
    };
    let target = rest.trim_start_matches([' ', '\t']);
    target.starts_with('/')
        && !target.chars().any(|c| {
            c.is_whitespace()
                || matches!(
                    c,
                    ';' | '&'
                        | '|'
                        | '$'
                        | '`'
                        | '('
                        | ')'
                        | '<'
                        | '>'
                        | '\\'
                        | '\''
                        | '"'
                        | '*'
                        | '?'
                        | '['
                        | '{'
                        | '~'
                        | '#'
                )
        })
}

/// Searches `PATH` (glibc's default when unset) for an executable regular file.
fn search_path(name: &str, uid: u32, gid: u32) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| match std::fs::metadata(p) {
            Ok(m) => {
                m.is_file()
                    && is_executable(
                        &FileMeta {
                            uid: m.uid(),
                            gid: m.gid(),
                            mode: m.mode(),
                        },
                        uid,
                        gid,
                    )
            }
            Err(_) => false,
        })
}

impl PreparedScript {
    /// Resolves the user and `argv[0]`, checks executability and script security.
    pub fn prepare(
        command: ScriptCommand,
        user: ResolvedUser,
        enable_script_security: bool,
    ) -> Result<Self, ExecError> {
        let argv0 = command.argv.first().ok_or(ExecError::Empty)?.clone();
        // keepalived's `</path` open check (checked before the path: it contains a '/').
        let redirect = argv0.starts_with('<') || argv0.starts_with('>');
        let path = if redirect {
            None
        } else if argv0.contains('/') {
            let p = PathBuf::from(&argv0);
            let abs = if p.is_absolute() {
                p
            } else {
                std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
            };
            Some(abs)
        } else {
            search_path(&argv0, user.uid, user.gid)
        };
        let Some(path) = path else {
            let line = command.shell.clone();
            if enable_script_security && !is_safe_redirect_check(&line) {
                // Never hand a line nobody checked to a shell as root.
                return Err(ExecError::Insecure {
                    script: line,
                    issue: SecurityIssue::NotAProgram(argv0),
                });
            }
            return Ok(Self {
                command,
                user,
                launch: Launch::Shell(line),
                security: SecurityVerdict::NotNeeded,
            });
        };
        let meta = std::fs::metadata(&path).map_err(|_| ExecError::NotFound(argv0.clone()))?;
        let file = FileMeta {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode(),
        };
        if !meta.is_file() || !is_executable(&file, user.uid, user.gid) {
            return Err(ExecError::NotExecutable {
                path: argv0,
                uid: user.uid,
                gid: user.gid,
            });
        }
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let security = check_script_security(
            &path,
            &real,
            &file,
            user.uid,
            user.gid,
            enable_script_security,
            &mut lstat_meta,
        )?;
        Ok(Self {
            command,
            user,
            launch: Launch::Direct(path),
            security,
        })
    }

    /// [`prepare`](Self::prepare) for a configured script with the context's default user.
    pub fn from_spec(spec: &ScriptSpec, ctx: &ScriptContext) -> Result<Self, ExecError> {
        Self::prepare(
            ScriptCommand::from_spec(spec),
            ctx.user_for(spec.user.as_ref())?,
            ctx.enable_script_security,
        )
    }

    fn build(&self, launch: &Launch) -> Command {
        let mut cmd = match launch {
            Launch::Direct(p) => {
                let mut c = Command::new(p);
                c.arg0(&self.command.argv[0]).args(&self.command.argv[1..]);
                c
            }
            Launch::Shell(line) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(line);
                c
            }
        };
        cmd.env_remove("IFS")
            .env_remove("LD_PRELOAD")
            .env_remove("LD_LIBRARY_PATH")
            // systemd's notification variables are the daemon's, not its scripts'.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
        crate::sys::process::run_child_as(
            &mut cmd,
            self.user.uid,
            self.user.gid,
            self.user.groups.clone(),
        );
        cmd
    }

    /// Spawns the script (not waiting). ENOEXEC (no `#!`) falls back to `sh -c` with quoted args.
    pub fn spawn(&self) -> Result<tokio::process::Child, ExecError> {
        match self.build(&self.launch).spawn() {
            Ok(c) => Ok(c),
            Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => self
                .build(&Launch::Shell(quote_argv(&self.command.argv)))
                .spawn()
                .map_err(|e| ExecError::Spawn(self.command.argv[0].clone(), e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(ExecError::NotFound(self.command.argv[0].clone()))
            }
            Err(e) => Err(ExecError::Spawn(
                self.command.argv[0].clone(),
                e.to_string(),
            )),
        }
    }

    /// Runs the script to completion, killing its process group on timeout.
    pub async fn run(&self, opts: &RunOptions) -> ScriptRun {
        let start = Instant::now();
        let child = match self.spawn() {
            Ok(c) => c,
            Err(e) => {
                return ScriptRun {
                    outcome: ScriptOutcome::Error(e),
                    elapsed: start.elapsed(),
                    pid: None,
                }
            }
        };
        wait_child(child, opts, start).await
    }
}

/// Timeout settings of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Kill after this long (None: wait for ever).
    pub timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

impl RunOptions {
    /// A timeout with keepalived's 2 s grace.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Ran past its timeout; its process group was killed.
    TimedOut,
    /// Could not be started.
    Error(ExecError),
}

impl ScriptOutcome {
    /// keepalived's success: exit status 0.
    pub fn success(&self) -> bool {
        matches!(self, ScriptOutcome::Exited(0))
    }
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    /// How it ended.
    pub outcome: ScriptOutcome,
    /// Wall time from spawn.
    pub elapsed: Duration,
    /// Its pid (= its process group id).
    pub pid: Option<u32>,
}

/// Kills a process group with SIGKILL when dropped while armed (a cancelled run leaves nothing).
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pg) = self.0 {
            kill_group(pg, libc::SIGKILL);
        }
    }
}

fn kill_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // A process group we created.
        let _ = crate::sys::process::kill(-pgid, sig);
    }
}

async fn wait_child(
    mut child: tokio::process::Child,
    opts: &RunOptions,
    start: Instant,
) -> ScriptRun {
    let pid = child.id();
    let pg = pid.and_then(|p| i32::try_from(p).ok());
    let mut guard = GroupGuard(pg);
    let waited = match opts.timeout {
        Some(t) => tokio::time::timeout(t, child.wait()).await.ok(),
        None => Some(child.wait().await),
    };
    let outcome = match waited {
        Some(Ok(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => ScriptOutcome::Exited(c),
            (None, Some(s)) => ScriptOutcome::Signaled(s),
            _ => ScriptOutcome::Exited(-1),
        },
        Some(Err(e)) => ScriptOutcome::Error(ExecError::Spawn("wait".into(), e.to_string())),
        None => {
            if let Some(pg) = pg {
                kill_group(pg, libc::SIGTERM);
                let _ = tokio::time::timeout(opts.kill_grace, child.wait()).await;
                // Whatever survived SIGTERM (or was left by the leader) goes now.
                kill_group(pg, libc::SIGKILL);
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            ScriptOutcome::TimedOut
        }
    };
    guard.0 = None;
    ScriptRun {
        outcome,
        elapsed: start.elapsed(),
        pid,
    }
}

/// What keepalived logs when a `startup_script` / `shutdown_script` run ends (`kind` is
/// "startup" or "shutdown"); `None` for a plain success.
pub fn start_stop_outcome_line(kind: &str, outcome: &ScriptOutcome) -> Option<String> {
    match outcome {
        ScriptOutcome::Exited(0) => None,
        ScriptOutcome::Exited(c) => Some(format!("{kind} script failed, status {c}")),
        ScriptOutcome::Signaled(s) => Some(format!("{kind} script killed by signal {s}")),
        ScriptOutcome::TimedOut => Some(format!("{kind} script timed out")),
        ScriptOutcome::Error(e) => Some(format!("Call of {kind} script failed: {e}")),
    }
}

/// Runs `startup_script` / `shutdown_script` as keepalived does: as its user (script_user
/// rules), checked by script security (an insecure or missing script is not run), waited for
/// at most `timeout`, then its process group gets SIGTERM and, 2 s later, SIGKILL.
pub async fn run_start_stop_script(
    kind: &str,
    spec: &crate::config::model::ScriptSpec,
    ctx: &ScriptContext,
    timeout: Duration,
) -> ScriptOutcome {
    let prepared = match PreparedScript::from_spec(spec, ctx) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("{}: {kind} script not run: {e}", spec.loc);
            return ScriptOutcome::Error(e);
        }
    };
    tracing::info!("Running {kind} script {}", spec.command);
    let run = prepared.run(&RunOptions::with_timeout(timeout)).await;
    match start_stop_outcome_line(kind, &run.outcome) {
        Some(line) => tracing::warn!("{line} (after {:?})", run.elapsed),
        None => tracing::info!("{kind} script succeeded"),
    }
    run.outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const DIR: u32 = libc::S_IFDIR;
    const REG: u32 = libc::S_IFREG;
    const LNK: u32 = libc::S_IFLNK;

    fn fs(entries: &[(&str, u32, u32, u32)]) -> HashMap<PathBuf, FileMeta> {
        entries
            .iter()
            .map(|&(p, uid, gid, mode)| (PathBuf::from(p), FileMeta { uid, gid, mode }))
            .collect()
    }

    fn check(map: &HashMap<PathBuf, FileMeta>, p: &str) -> Result<(), SecurityIssue> {
        check_path_secure(Path::new(p), &mut |q: &Path| {
            map.get(q)
                .copied()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        })
    }

    #[test]
    fn start_stop_lines_are_keepalived_s() {
        assert_eq!(
            start_stop_outcome_line("startup", &ScriptOutcome::Exited(0)),
            None
        );
        assert_eq!(
            start_stop_outcome_line("startup", &ScriptOutcome::TimedOut).as_deref(),
            Some("startup script timed out")
        );
        assert_eq!(
            start_stop_outcome_line("shutdown", &ScriptOutcome::Exited(3)).as_deref(),
            Some("shutdown script failed, status 3")
        );
    }

    fn base() -> Vec<(&'static str, u32, u32, u32)> {
        vec![
            ("/", 0, 0, DIR | 0o755),
            ("/etc", 0, 0, DIR | 0o755),
            ("/etc/keepalived", 0, 0, DIR | 0o755),
            ("/etc/keepalived/chk.sh", 0, 0, REG | 0o755),
            ("/tmp", 0, 0, DIR | 0o1777),
        ]
    }

    #[test]
    fn root_owned_path_is_secure() {
        assert_eq!(check(&fs(&base()), "/etc/keepalived/chk.sh"), Ok(()));
    }

    #[test]
    fn world_writable_parent_is_insecure() {
        let mut e = base();
        e[2] = ("/etc/keepalived", 0, 0, DIR | 0o777);
        assert_eq!(
            check(&fs(&e), "/etc/keepalived/chk.sh"),
            Err(SecurityIssue::Writable("/etc/keepalived".into()))
        );
    }

    #[test]
    fn sticky_world_writable_dir_is_fine_but_file_in_it_must_be_safe() {
        let mut e = base();
        e.push(("/tmp/x.sh", 0, 0, REG | 0o755));
        assert_eq!(check(&fs(&e), "/tmp/x.sh"), Ok(()));
        e.push(("/tmp/y.sh", 0, 0, REG | 0o757));
        assert_eq!(
            check(&fs(&e), "/tmp/y.sh"),
            Err(SecurityIssue::Writable("/tmp/y.sh".into()))
        );
    }

    #[test]
    fn non_root_owner_anywhere_is_insecure() {
        let mut e = base();
        e[1] = ("/etc", 1000, 0, DIR | 0o755);
        assert_eq!(
            check(&fs(&e), "/etc/keepalived/chk.sh"),
            Err(SecurityIssue::Writable("/etc".into()))
        );
        let mut e = base();
        e[3] = ("/etc/keepalived/chk.sh", 1000, 0, REG | 0o755);
        assert!(check(&fs(&e), "/etc/keepalived/chk.sh").is_err());
    }

    #[test]
    fn group_write_only_matters_for_non_root_group() {
        let mut e = base();
        e[3] = ("/etc/keepalived/chk.sh", 0, 0, REG | 0o775);
        assert_eq!(check(&fs(&e), "/etc/keepalived/chk.sh"), Ok(()));
        e[3] = ("/etc/keepalived/chk.sh", 0, 50, REG | 0o775);
        assert!(check(&fs(&e), "/etc/keepalived/chk.sh").is_err());
        e[3] = ("/etc/keepalived/chk.sh", 0, 50, REG | 0o755);
        assert_eq!(check(&fs(&e), "/etc/keepalived/chk.sh"), Ok(()));
    }

    #[test]
    fn wrong_types_and_missing() {
        let mut e = base();
        e[2] = ("/etc/keepalived", 0, 0, REG | 0o755);
        assert_eq!(
            check(&fs(&e), "/etc/keepalived/chk.sh"),
            Err(SecurityIssue::WrongType("/etc/keepalived".into()))
        );
        let e = base();
        assert_eq!(
            check(&fs(&e), "/etc/keepalived"),
            Err(SecurityIssue::WrongType("/etc/keepalived".into()))
        );
        assert_eq!(
            check(&fs(&e), "/etc/nope.sh"),
            Err(SecurityIssue::Missing("/etc/nope.sh".into()))
        );
        // A root-owned symlink as last component is accepted (its target is checked separately).
        let mut e = base();
        e.push(("/etc/keepalived/link", 0, 0, LNK | 0o777));
        assert_eq!(check(&fs(&e), "/etc/keepalived/link"), Ok(()));
    }

    #[test]
    fn security_only_for_root_and_enforced_only_when_enabled() {
        let mut e = base();
        e[2] = ("/etc/keepalived", 0, 0, DIR | 0o777);
        let map = fs(&e);
        let mut lstat = |q: &Path| {
            map.get(q)
                .copied()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        };
        let p = Path::new("/etc/keepalived/chk.sh");
        let file = FileMeta {
            uid: 0,
            gid: 0,
            mode: REG | 0o755,
        };
        // Runs as nobody: not checked.
        assert_eq!(
            check_script_security(p, p, &file, 65534, 65534, true, &mut lstat),
            Ok(SecurityVerdict::NotNeeded)
        );
        // Root + enforce: refused.
        assert!(matches!(
            check_script_security(p, p, &file, 0, 0, true, &mut lstat),
            Err(ExecError::Insecure { .. })
        ));
        // Root without enable_script_security: warning only.
        assert!(matches!(
            check_script_security(p, p, &file, 0, 0, false, &mut lstat),
            Ok(SecurityVerdict::InsecureAllowed(_))
        ));
        // Non-root but file is set-uid root: checked.
        let suid = FileMeta {
            uid: 0,
            gid: 0,
            mode: REG | 0o4755,
        };
        assert!(check_script_security(p, p, &suid, 1000, 1000, true, &mut lstat).is_err());
    }

    #[test]
    fn symlink_target_is_checked_too() {
        let mut e = base();
        e.push(("/etc/keepalived/link", 0, 0, LNK | 0o777));
        e.push(("/home", 0, 0, DIR | 0o755));
        e.push(("/home/u", 1000, 1000, DIR | 0o755));
        e.push(("/home/u/s.sh", 1000, 1000, REG | 0o755));
        let map = fs(&e);
        let mut lstat = |q: &Path| {
            map.get(q)
                .copied()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        };
        let file = FileMeta {
            uid: 1000,
            gid: 1000,
            mode: REG | 0o755,
        };
        let r = check_script_security(
            Path::new("/etc/keepalived/link"),
            Path::new("/home/u/s.sh"),
            &file,
            0,
            0,
            true,
            &mut lstat,
        );
        assert_eq!(
            r,
            Err(ExecError::Insecure {
                script: "/etc/keepalived/link".into(),
                issue: SecurityIssue::Writable("/home/u".into())
            })
        );
    }

    #[test]
    fn executable_rule() {
        let m = |uid, gid, mode| FileMeta { uid, gid, mode };
        assert!(is_executable(&m(5, 5, REG | 0o001), 0, 0)); // root: any x bit
        assert!(!is_executable(&m(5, 5, REG | 0o644), 0, 0));
        assert!(is_executable(&m(5, 5, REG | 0o100), 5, 9));
        assert!(!is_executable(&m(5, 5, REG | 0o011), 5, 5)); // owner bit decides for owner
        assert!(is_executable(&m(5, 7, REG | 0o010), 6, 7));
        assert!(!is_executable(&m(5, 7, REG | 0o001), 6, 7)); // group bit decides for group
        assert!(is_executable(&m(5, 7, REG | 0o001), 6, 8));
    }

    #[test]
    fn quoting_like_keepalived() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(
            quote_argv(&["</etc/x".to_string(), "y".to_string()]),
            "</etc/x 'y'"
        );
        let c = ScriptCommand::from_argv(&["/bin/echo", "a b"]).with_args(&["INSTANCE", "VI 1"]);
        assert_eq!(c.argv, ["/bin/echo", "a b", "INSTANCE", "VI 1"]);
        assert_eq!(c.shell, "'/bin/echo' 'a b' 'INSTANCE' 'VI 1'");
    }

    #[test]
    fn resolves_root_and_numeric_users() {
        let root = resolve_user(&ScriptUser {
            user: "root".into(),
            group: None,
            supplementary: false,
        })
        .unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        let n = resolve_user(&ScriptUser {
            user: "4242".into(),
            group: Some("4243".into()),
            supplementary: false,
        })
        .unwrap();
        assert_eq!((n.uid, n.gid), (4242, 4243));
        assert!(resolve_user(&ScriptUser {
            user: "no-such-user-xyz".into(),
            group: None,
            supplementary: false,
        })
        .is_err());
    }

    fn root() -> ResolvedUser {
        ResolvedUser {
            uid: 0,
            gid: 0,
            groups: vec![0],
            name: Some("root".into()),
        }
    }

    #[test]
    fn lines_whose_first_word_is_not_a_program_are_refused_under_script_security() {
        for line in [
            "FOO=1 /tmp/x.sh",
            "exec /tmp/x.sh",
            "cd /tmp && ./x.sh",
            "<x; /tmp/x.sh",
            "< /etc/passwd; /tmp/x.sh",
            "< /etc/passwd /tmp/x.sh",
        ] {
            let cmd = ScriptCommand {
                argv: crate::config::model::split_command(line),
                shell: line.into(),
            };
            let r = PreparedScript::prepare(cmd.clone(), root(), true);
            assert!(
                matches!(
                    &r,
                    Err(ExecError::Insecure {
                        issue: SecurityIssue::NotAProgram(_),
                        ..
                    })
                ),
                "{line}: {r:?}"
            );
            // Without enable_script_security the shell fallback stays (keepalived warns).
            let p = PreparedScript::prepare(cmd, root(), false).expect(line);
            assert_eq!(p.launch, Launch::Shell(line.into()));
        }
        // keepalived's open check, alone on its line, is still run by the shell.
        for line in ["</etc/passwd", "< /dev/null"] {
            let cmd = ScriptCommand {
                argv: crate::config::model::split_command(line),
                shell: line.into(),
            };
            let p = PreparedScript::prepare(cmd, root(), true).expect(line);
            assert_eq!(p.launch, Launch::Shell(line.into()));
        }
    }

    #[test]
    fn redirect_check_is_one_redirection_and_nothing_else() {
        assert!(is_safe_redirect_check("</dev/tcp/10.0.0.1/80"));
        assert!(is_safe_redirect_check("  <  /etc/keepalived/flag "));
        assert!(!is_safe_redirect_check("<etc/passwd"));
        assert!(!is_safe_redirect_check("</a /b"));
        assert!(!is_safe_redirect_check("</a|/b"));
        assert!(!is_safe_redirect_check("</a`/b`"));
        assert!(!is_safe_redirect_check(">/a"));
        assert!(!is_safe_redirect_check("/a"));
    }
}
