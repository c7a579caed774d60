//! The process watcher behind `vrrp_track_process`: the kernel's process events (the proc
//! connector: netlink `NETLINK_CONNECTOR`, group `CN_IDX_PROC`, `PROC_CN_MCAST_LISTEN`) after an
//! initial scan of /proc, as keepalived does. The proc connector exists only in the initial
//! network namespace (elsewhere the listen request fails with ECONNREFUSED, errno 111, and
//! keepalived 2.2.7 leaves its instances in FAULT); keepalived-rs then falls back to scanning
//! /proc every [`SCAN_INTERVAL`], reading at most [`MAX_SCAN_PIDS`] processes per scan, and logs
//! that it does so. The decisions are in [`super::process`]; this module only reads and
//! listens. No `unsafe`: the socket is netlink-sys's.

use super::process::{Change, ProcInfo, ProcSpec, ProcessTable};
use netlink_sys::{
    protocols::NETLINK_CONNECTOR, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket,
};
use std::io::Read;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The fallback scan period.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(1);
/// At most this many processes are read per scan (bounded work).
pub const MAX_SCAN_PIDS: usize = 65_536;
/// At most this much of a command line is read.
const MAX_CMDLINE: u64 = 4096;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_DONE: u16 = 3;
const CN_MSG_LEN: usize = 20;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event (pid = thread id, tgid = process id, as the kernel names them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// A fork (or a new thread when child_pid != child_tgid).
    Fork {
        /// The parent process.
        parent_tgid: u32,
        /// The child thread id.
        child_pid: u32,
        /// The child process id.
        child_tgid: u32,
    },
    /// An exec.
    Exec {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
    /// A comm change (prctl PR_SET_NAME).
    Comm {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
        /// The new name.
        comm: String,
    },
    /// An exit.
    Exit {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// The `PROC_CN_MCAST_LISTEN` request (nlmsghdr + cn_msg + op), for port id `port`.
pub fn listen_request(port: u32) -> Vec<u8> {
    let total = (NLMSG_HDRLEN + CN_MSG_LEN + 4) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&total.to_ne_bytes());
    b.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    b.extend_from_slice(&0u16.to_ne_bytes()); // flags
    b.extend_from_slice(&0u32.to_ne_bytes()); // seq
    b.extend_from_slice(&port.to_ne_bytes());
    b.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    b.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // seq
    b.extend_from_slice(&0u32.to_ne_bytes()); // ack
    b.extend_from_slice(&4u16.to_ne_bytes()); // len
    b.extend_from_slice(&0u16.to_ne_bytes()); // flags
    b.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    b
}

/// The events in one datagram (unknown events and malformed messages are skipped).
pub fn parse_events(buf: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while let Some(len) = u32_at(buf, off) {
        let len = len as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        let msg = &buf[off..off + len];
        off += (len + 3) & !3;
        let ty = u16::from_ne_bytes([msg[4], msg[5]]);
        if ty != NLMSG_DONE {
            continue;
        }
        let cn = &msg[NLMSG_HDRLEN..];
        if u32_at(cn, 0) != Some(CN_IDX_PROC) || u32_at(cn, 4) != Some(CN_VAL_PROC) {
            continue;
        }
        // proc_event: what, cpu, timestamp_ns (u64), event_data.
        let ev = &cn[CN_MSG_LEN.min(cn.len())..];
        let d = 16;
        let Some(what) = u32_at(ev, 0) else { continue };
        let e = match what {
            PROC_EVENT_FORK => (|| {
                Some(ProcEvent::Fork {
                    parent_tgid: u32_at(ev, d + 4)?,
                    child_pid: u32_at(ev, d + 8)?,
                    child_tgid: u32_at(ev, d + 12)?,
                })
            })(),
            PROC_EVENT_EXEC => (|| {
                Some(ProcEvent::Exec {
                    pid: u32_at(ev, d)?,
                    tgid: u32_at(ev, d + 4)?,
                })
            })(),
            PROC_EVENT_COMM => (|| {
                let raw = ev.get(d + 8..d + 24)?;
                let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
                Some(ProcEvent::Comm {
                    pid: u32_at(ev, d)?,
                    tgid: u32_at(ev, d + 4)?,
                    comm: String::from_utf8_lossy(&raw[..end]).into_owned(),
                })
            })(),
            PROC_EVENT_EXIT => (|| {
                Some(ProcEvent::Exit {
                    pid: u32_at(ev, d)?,
                    tgid: u32_at(ev, d + 4)?,
                })
            })(),
            _ => None,
        };
        out.extend(e);
    }
    out
}

/// A socket subscribed to the kernel's process events.
pub struct ProcConnector {
    sock: TokioSocket,
}

impl ProcConnector {
    /// Subscribes (needs CAP_NET_ADMIN and the initial network namespace; elsewhere the
    /// request fails with ECONNREFUSED).
    pub fn connect() -> std::io::Result<Self> {
        let mut sock = TokioSocket::new(NETLINK_CONNECTOR)?;
        let s = sock.socket_mut();
        s.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
        let _ = s.set_rx_buf_sz(1 << 20);
        let mut addr = SocketAddr::new(0, 0);
        s.get_address(&mut addr)?;
        let req = listen_request(addr.port_number());
        let sent = s.send_to(&req, &SocketAddr::new(0, 0), 0)?;
        if sent != req.len() {
            return Err(std::io::Error::other("short write of the listen request"));
        }
        Ok(Self { sock })
    }

    /// The next events (an error ENOBUFS means events were lost: rescan).
    pub async fn recv(&mut self) -> std::io::Result<Vec<ProcEvent>> {
        let (buf, _) = self.sock.recv_from_full().await?;
        Ok(parse_events(&buf))
    }
}

/// What /proc says about `pid` (None: gone, or a zombie when `skip_zombie`).
pub fn read_proc_info(pid: u32, need_cmdline: bool, skip_zombie: bool) -> Option<ProcInfo> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.iter().position(|&c| c == b'(')?;
    let close = stat.iter().rposition(|&c| c == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&stat[open + 1..close]).into_owned();
    let rest = String::from_utf8_lossy(stat.get(close + 1..).unwrap_or_default()).into_owned();
    let mut fields = rest.split_ascii_whitespace();
    if skip_zombie && fields.next() == Some("Z") {
        return None;
    }
    let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let cmdline = if need_cmdline {
        let mut b = Vec::new();
        std::fs::File::open(format!("/proc/{pid}/cmdline"))
            .ok()?
            .take(MAX_CMDLINE)
            .read_to_end(&mut b)
            .ok()?;
        Some(b)
    } else {
        None
    };
    Some(ProcInfo {
        comm,
        cmdline,
        ppid,
    })
}

/// Every process of /proc (zombies skipped), at most [`MAX_SCAN_PIDS`].
pub fn scan_proc(need_cmdline: bool) -> Vec<(u32, ProcInfo)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .take(MAX_SCAN_PIDS)
        .filter_map(|pid| Some((pid, read_proc_info(pid, need_cmdline, true)?)))
        .collect()
}

/// How processes are followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchMode {
    /// Kernel process events.
    Events,
    /// Periodic /proc scan (no proc connector here).
    Scan,
}

/// The running watcher; dropping it stops it.
pub struct ProcWatcher {
    task: tokio::task::JoinHandle<()>,
    /// How it follows processes.
    pub mode: WatchMode,
}

impl Drop for ProcWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching for `specs`: returns the watcher and each tracker's initial status (by
/// vrrp_track_process name); later changes go to `tx`.
pub fn spawn_process_watcher(
    specs: Vec<ProcSpec>,
    tx: mpsc::Sender<(String, bool)>,
) -> (ProcWatcher, Vec<(String, bool)>) {
    // Subscribe before scanning: nothing happens unseen between the two.
    let conn = match ProcConnector::connect() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(
                "vrrp_track_process: the kernel's process events are not available ({e}; the proc connector only works in the initial network namespace): scanning /proc every {}s instead",
                SCAN_INTERVAL.as_secs()
            );
            None
        }
    };
    let mode = if conn.is_some() {
        WatchMode::Events
    } else {
        WatchMode::Scan
    };
    let need_cmdline = specs.iter().any(|s| s.full_command);
    let (mut table, init) = ProcessTable::new(specs, scan_proc(need_cmdline));
    let names = |t: &ProcessTable, ch: Vec<Change>| -> Vec<(String, bool)> {
        ch.into_iter()
            .map(|(i, up)| (t.specs()[i].name.clone(), up))
            .collect()
    };
    for (i, up) in &init {
        let s = &table.specs()[*i];
        tracing::info!(
            "track_process {}: {} matching process(es), quorum [{}:{}]: {}",
            s.name,
            table.count(*i),
            s.quorum,
            s.quorum_max,
            if *up { "up" } else { "down" }
        );
    }
    let initial = names(&table, init);
    let task = tokio::spawn(async move {
        let mut conn = conn;
        let mut scan = tokio::time::interval_at(Instant::now() + SCAN_INTERVAL, SCAN_INTERVAL);
        loop {
            let deadline = table.next_deadline().map(Instant::from_std);
            let changes = tokio::select! {
                r = async { conn.as_mut().map(|c| c.recv()).expect("guarded").await }, if conn.is_some() => {
                    let now = std::time::Instant::now();
                    match r {
                        Ok(evs) => {
                            let mut ch = Vec::new();
                            for ev in evs {
                                ch.extend(apply(&mut table, ev, need_cmdline, now));
                            }
                            ch
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                            tracing::warn!("vrrp_track_process: process events lost; rescanning /proc");
                            table.rescan(scan_proc(need_cmdline), now)
                        }
                        Err(e) => {
                            tracing::error!("vrrp_track_process: process events failed ({e}): scanning /proc every {}s instead", SCAN_INTERVAL.as_secs());
                            conn = None;
                            Vec::new()
                        }
                    }
                }
                _ = scan.tick(), if conn.is_none() => {
                    table.rescan(scan_proc(need_cmdline), std::time::Instant::now())
                }
                _ = async { tokio::time::sleep_until(deadline.expect("guarded")).await }, if deadline.is_some() => {
                    table.poll(std::time::Instant::now())
                }
            };
            for (name, up) in names(&table, changes) {
                if tx.send((name, up)).await.is_err() {
                    return;
                }
            }
        }
    });
    (ProcWatcher { task, mode }, initial)
}

fn apply(
    table: &mut ProcessTable,
    ev: ProcEvent,
    need_cmdline: bool,
    now: std::time::Instant,
) -> Vec<Change> {
    match ev {
        // Threads are not processes: keepalived ignores them, as here.
        ProcEvent::Fork {
            parent_tgid,
            child_pid,
            child_tgid,
        } if child_pid == child_tgid => table.on_fork(parent_tgid, child_tgid, now),
        ProcEvent::Exec { pid, tgid } if pid == tgid => {
            let info = read_proc_info(tgid, need_cmdline, false);
            table.on_exec(tgid, info.as_ref(), now)
        }
        ProcEvent::Comm { pid, tgid, comm } if pid == tgid => table.on_comm(tgid, &comm, now),
        ProcEvent::Exit { pid, tgid } if pid == tgid => table.on_exit(tgid, now),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: u32, data: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend_from_slice(&what.to_ne_bytes());
        ev.extend_from_slice(&0u32.to_ne_bytes());
        ev.extend_from_slice(&0u64.to_ne_bytes());
        for x in data {
            ev.extend_from_slice(&x.to_ne_bytes());
        }
        let mut b = listen_request(0);
        b.truncate(NLMSG_HDRLEN + CN_MSG_LEN);
        b.extend_from_slice(&ev);
        let len = b.len() as u32;
        b[..4].copy_from_slice(&len.to_ne_bytes());
        b
    }

    #[test]
    fn parses_fork_exec_exit_and_skips_others() {
        let mut b = event(PROC_EVENT_FORK, &[10, 10, 11, 11]);
        b.extend(event(PROC_EVENT_EXEC, &[11, 11]));
        b.extend(event(0x4, &[1, 1, 0, 0])); // uid change: skipped
        b.extend(event(PROC_EVENT_EXIT, &[11, 11, 0, 0]));
        assert_eq!(
            parse_events(&b),
            vec![
                ProcEvent::Fork {
                    parent_tgid: 10,
                    child_pid: 11,
                    child_tgid: 11
                },
                ProcEvent::Exec { pid: 11, tgid: 11 },
                ProcEvent::Exit { pid: 11, tgid: 11 },
            ]
        );
        // Truncated: nothing, no panic.
        assert_eq!(parse_events(&b[..20]), vec![]);
    }

    #[test]
    fn parses_comm() {
        let mut data = vec![7u32, 7];
        let name = *b"worker\0\0\0\0\0\0\0\0\0\0";
        for c in name.chunks(4) {
            data.push(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
        }
        assert_eq!(
            parse_events(&event(PROC_EVENT_COMM, &data)),
            vec![ProcEvent::Comm {
                pid: 7,
                tgid: 7,
                comm: "worker".into()
            }]
        );
    }

    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        let info = read_proc_info(me, true, true).expect("own /proc entry");
        assert!(!info.comm.is_empty());
        assert_eq!(info.ppid, std::os::unix::process::parent_id());
        assert!(info.cmdline.is_some_and(|c| !c.is_empty()));
        assert!(scan_proc(false).iter().any(|(p, _)| *p == me));
    }

    /// The proc connector in the initial network namespace (root only; no interface touched):
    /// a `sleep` started and killed is seen exec'ing and exiting.
    #[tokio::test]
    async fn proc_connector_sees_a_sleep_exec_and_exit() {
        let mut conn = match ProcConnector::connect() {
            Ok(c) => c,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                eprintln!("skipped: not root ({e})");
                return;
            }
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                eprintln!("skipped: not in the initial network namespace ({e})");
                return;
            }
            Err(e) => panic!("proc connector: {e}"),
        };
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let (mut exec, mut exit) = (false, false);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !(exec && exit) {
            let evs = tokio::time::timeout_at(deadline, conn.recv())
                .await
                .expect("events within 10s")
                .expect("recv");
            for ev in evs {
                match ev {
                    ProcEvent::Exec { tgid, .. } if tgid == pid => {
                        let info = read_proc_info(pid, false, false).expect("running");
                        assert_eq!(info.comm, "sleep");
                        exec = true;
                        child.kill().expect("kill");
                    }
                    ProcEvent::Exit { tgid, pid: t } if tgid == pid && t == pid => {
                        assert!(exec, "exit before exec");
                        exit = true;
                    }
                    _ => {}
                }
            }
        }
        let _ = child.wait();
    }
}
