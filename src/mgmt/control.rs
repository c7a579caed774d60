//! The local control socket: `keepalived-rs --status` asks a running daemon for its state.
//!
//! A unix stream socket next to the pid file (`/run/keepalived-rs.pid` ->
//! `/run/keepalived-rs.sock`), mode 0600 from the moment it has its name (bound under a
//! temporary name, restricted, then renamed), so several daemons side by side each have their
//! own. The protocol is one request line, one answer, then the daemon closes:
//!
//! - request: `json` (also an empty line), `data` or `stats`; or `plan [FILE]`, the reload
//!   plan of FILE (default: the running configuration's file) as JSON ([`crate::daemon::plan`]);
//! - answer: `ok\n` and the dump's text, or `error: MESSAGE\n`.
//!
//! Dumps are answered from the daemon's running snapshot ([`crate::mgmt::dumps::Running`],
//! read lock-free: a reload or a busy root never delays them), each VRRP instance asked for
//! its state without blocking any of them; plans go through the root ([`PlanQuery`]). A slow
//! client holds nothing (reads and writes are bounded).

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix::Recipient;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::mgmt::dumps::{render, RunningConfig};
use crate::runtime::root::{DumpKind, PlanQuery};

/// Bound on reading a request and on writing an answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on the daemon's rendering of an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request line accepted (`plan` and a path).
const MAX_REQUEST: usize = 4200;

/// The control socket of the daemon whose pid file is `pid`: `NAME.pid` -> `NAME.sock`,
/// anything else -> `PATH.sock`.
pub fn socket_path(pid: &Path) -> PathBuf {
    if pid.extension().is_some_and(|e| e == "pid") {
        pid.with_extension("sock")
    } else {
        let mut s = pid.as_os_str().to_owned();
        s.push(".sock");
        PathBuf::from(s)
    }
}

/// A request.
pub fn parse_request(line: &str) -> Option<DumpKind> {
    match line.trim() {
        "" | "json" => Some(DumpKind::Json),
        "data" => Some(DumpKind::Data),
        "stats" => Some(DumpKind::Stats),
        _ => None,
    }
}

/// A request of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A dump.
    Dump(DumpKind),
    /// A reload plan of this file (None: the running configuration's).
    Plan(Option<PathBuf>),
}

/// A request line.
pub fn parse(line: &str) -> Option<Request> {
    let line = line.trim_end_matches(['\r', '\n']);
    match line.split_once(' ') {
        None if line == "plan" => Some(Request::Plan(None)),
        Some(("plan", f)) if !f.is_empty() => Some(Request::Plan(Some(PathBuf::from(f)))),
        _ => parse_request(line).map(Request::Dump),
    }
}

/// Errors of the control socket (both ends).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing listens there (no daemon with that pid file, or it is not ours).
    #[error("cannot connect to {path}: {source} (is keepalived-rs running with this -p?)")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The exchange failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The daemon answered with an error.
    #[error("daemon: {0}")]
    Daemon(String),
    /// The path is taken by something that is not a socket.
    #[error("{0} exists and is not a socket")]
    NotASocket(PathBuf),
}

/// The listening socket; dropping it stops serving and removes the file.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `path` (replacing a stale socket: the caller holds the pid file, so no live daemon
/// owns it) with mode 0600 and serves requests: dumps from the `running` snapshot (no mailbox
/// round trip to read configuration), reload plans through `plans` (the root). Call inside
/// the actix System.
pub fn bind(
    path: &Path,
    running: RunningConfig,
    plans: Recipient<PlanQuery>,
) -> Result<ControlSocket, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path).map_err(io)?,
        Ok(_) => return Err(ControlError::NotASocket(path.to_path_buf())),
        Err(_) => {}
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "control".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let std_listener = std::os::unix::net::UnixListener::bind(&tmp).map_err(io)?;
    let ready = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| std_listener.set_nonblocking(true));
    if let Err(e) = ready {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    let listener = tokio::net::UnixListener::from_std(std_listener).map_err(io)?;
    let task = actix::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let (running, plans) = (running.clone(), plans.clone());
                    actix::spawn(async move {
                        if let Err(e) = serve(stream, running, plans).await {
                            tracing::debug!("control socket client: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("control socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(ControlSocket {
        path: path.to_path_buf(),
        task,
    })
}

async fn serve(
    stream: tokio::net::UnixStream,
    running: RunningConfig,
    plans: Recipient<PlanQuery>,
) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut limited = BufReader::new(tokio::io::AsyncReadExt::take(rd, MAX_REQUEST as u64));
    tokio::time::timeout(IO_TIMEOUT, limited.read_line(&mut line))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no request"))??;
    let asked = match parse(&line) {
        None => None,
        Some(Request::Dump(kind)) => Some(
            tokio::time::timeout(ANSWER_TIMEOUT, render(&running, kind))
                .await
                .map(Ok),
        ),
        Some(Request::Plan(file)) => Some(
            tokio::time::timeout(ANSWER_TIMEOUT, plans.send(PlanQuery(file)))
                .await
                .map(|r| r.map_err(|e| e.to_string()).and_then(|a| a)),
        ),
    };
    let answer = match asked {
        None => format!(
            "error: unknown request {:?} (json, data, stats, plan [FILE])\n",
            line.trim()
        ),
        Some(Ok(Ok(text))) => format!("ok\n{text}"),
        Some(Ok(Err(e))) => format!("error: {e}\n"),
        Some(Err(_)) => "error: the daemon did not answer in time\n".to_string(),
    };
    tokio::time::timeout(IO_TIMEOUT, async {
        wr.write_all(answer.as_bytes()).await?;
        wr.shutdown().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client does not read"))?
}

/// The client side: sends `request` to the daemon at `path` and returns its answer's text.
pub fn query(path: &Path, request: &str, timeout: Duration) -> Result<String, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut s =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    s.write_all(format!("{request}\n").as_bytes()).map_err(io)?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(io)?;
    match answer.split_once('\n') {
        Some(("ok", body)) => Ok(body.to_string()),
        Some((head, _)) => Err(ControlError::Daemon(
            head.strip_prefix("error: ").unwrap_or(head).to_string(),
        )),
        None => Err(ControlError::Daemon(format!(
            "unexpected answer {answer:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_next_to_the_pid_file() {
        assert_eq!(
            socket_path(Path::new("/run/keepalived-rs.pid")),
            Path::new("/run/keepalived-rs.sock")
        );
        assert_eq!(
            socket_path(Path::new("/tmp/lab/ours")),
            Path::new("/tmp/lab/ours.sock")
        );
        assert_eq!(
            socket_path(Path::new("/run/ka.main.pid")),
            Path::new("/run/ka.main.sock")
        );
    }

    #[test]
    fn requests() {
        assert_eq!(parse_request("\n"), Some(DumpKind::Json));
        assert_eq!(parse_request("json\n"), Some(DumpKind::Json));
        assert_eq!(parse_request("data"), Some(DumpKind::Data));
        assert_eq!(parse_request("stats\r\n"), Some(DumpKind::Stats));
        assert_eq!(parse_request("stats_clear"), None);
        assert_eq!(parse_request("rm -rf /"), None);
    }

    #[test]
    fn plan_requests() {
        assert_eq!(parse("plan\n"), Some(Request::Plan(None)));
        assert_eq!(
            parse("plan /etc/k a.conf\n"),
            Some(Request::Plan(Some(PathBuf::from("/etc/k a.conf"))))
        );
        assert_eq!(parse("stats\n"), Some(Request::Dump(DumpKind::Stats)));
        assert_eq!(parse("planet"), None);
    }

    /// Answers plan requests after 3 s (a busy root).
    struct Stuck;

    impl actix::Actor for Stuck {
        type Context = actix::Context<Self>;
    }

    impl actix::Handler<PlanQuery> for Stuck {
        type Result = Result<String, String>;

        fn handle(&mut self, _: PlanQuery, _: &mut Self::Context) -> Self::Result {
            std::thread::sleep(Duration::from_secs(3));
            Ok("{}".into())
        }
    }

    #[test]
    fn dumps_are_answered_from_the_snapshot_while_the_root_is_busy() {
        use actix::Actor as _;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("c.sock");
        let system = actix::System::new();
        let arbiter = actix::Arbiter::new();
        system.block_on(async {
            let running: RunningConfig = std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
                crate::mgmt::dumps::test_running(150, 0),
            ));
            let stuck = Stuck::start_in_arbiter(&arbiter.handle(), |_| Stuck);
            let _socket = bind(&path, running.clone(), stuck.recipient()).unwrap();
            let p = path.clone();
            let plan = std::thread::spawn(move || query(&p, "plan", Duration::from_secs(10)));
            // The plan has reached the busy actor before the dump is asked.
            tokio::time::sleep(Duration::from_millis(300)).await;
            running.store(std::sync::Arc::new(crate::mgmt::dumps::test_running(
                120, 1,
            )));
            let p = path.clone();
            let asked = std::time::Instant::now();
            let json =
                tokio::task::spawn_blocking(move || query(&p, "json", Duration::from_secs(5)))
                    .await
                    .unwrap()
                    .unwrap();
            assert!(
                asked.elapsed() < Duration::from_secs(2),
                "{:?}",
                asked.elapsed()
            );
            assert!(json.contains("\"base_priority\":120"), "{json}");
            // The plan is answered too, once the actor is done (joined off this thread, which
            // serves the socket).
            let plan = tokio::task::spawn_blocking(move || plan.join().unwrap())
                .await
                .unwrap();
            assert_eq!(plan.unwrap(), "{}");
        });
        arbiter.stop();
    }

    #[test]
    fn nobody_listening_is_a_connect_error() {
        let d = tempfile::tempdir().unwrap();
        let e = query(&d.path().join("none.sock"), "json", Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, ControlError::Connect { .. }), "{e}");
    }
}
