//! The running keepalived: its pid, its JSON dump, and stopping it silently.
//!
//! keepalived 2.2.7 cleans up on SIGTERM (its parent forwards it to the VRRP and checker
//! processes, which send priority 0 and remove VIPs, routes, rules and IPVS services), and its
//! children ask for SIGTERM when their parent dies (`PR_SET_PDEATHSIG`), while the parent
//! restarts a child that dies. So every keepalived process is first stopped (SIGSTOP: it runs
//! no more code, a pending signal is never handled), then killed (SIGKILL, children first):
//! nothing is sent, nothing removed, nothing restarted.

use super::TakeoverError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// keepalived's own pid file (the default of `--take-over`).
pub const DEFAULT_PIDFILE: &str = "/run/keepalived.pid";

fn err(s: String) -> TakeoverError {
    TakeoverError::Process(s)
}

/// The state letter of `/proc/PID/stat` (None: gone).
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The parent pid of `/proc/PID/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    !matches!(proc_state(pid), None | Some('Z') | Some('X'))
}

/// The running keepalived named by `pidfile`.
#[derive(Clone, Debug)]
pub struct Keepalived {
    /// Its parent process.
    pub pid: i32,
    /// The pid file it was found through.
    pub pidfile: PathBuf,
}

impl Keepalived {
    /// Reads `pidfile` and checks that the process is a running keepalived.
    pub fn find(pidfile: &Path) -> Result<Self, TakeoverError> {
        let text = std::fs::read_to_string(pidfile).map_err(|e| {
            err(format!(
                "{}: {e}: no keepalived to take over (start without --take-over)",
                pidfile.display()
            ))
        })?;
        let pid: i32 = text.trim().parse().ok().filter(|p| *p > 1).ok_or_else(|| {
            err(format!(
                "{}: not a pid: {:?}",
                pidfile.display(),
                text.trim()
            ))
        })?;
        if !alive(pid) {
            return Err(err(format!(
                "{}: process {pid} is not running: no keepalived to take over (start without --take-over)",
                pidfile.display()
            )));
        }
        let c = comm(pid);
        if !c.starts_with("keepalived") || c.starts_with("keepalived-rs") {
            return Err(err(format!(
                "{}: process {pid} is '{c}', not keepalived",
                pidfile.display()
            )));
        }
        Ok(Keepalived {
            pid,
            pidfile: pidfile.to_path_buf(),
        })
    }

    /// keepalived's processes: the parent, then its keepalived children (VRRP, checkers, BFD);
    /// scripts they run are left to finish.
    pub fn processes(&self) -> Vec<i32> {
        let mut out = vec![self.pid];
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid != self.pid && parent_of(pid) == Some(self.pid) && comm(pid) == comm(self.pid) {
                out.push(pid);
            }
        }
        out
    }

    /// Whether one of keepalived's processes holds a VRRP socket (a raw socket of IP protocol
    /// 112): keepalived runs its VRRP process only with VRRP instances, and without one writes
    /// no JSON dump (there is then no VRRP state to adopt).
    pub fn runs_vrrp(&self) -> bool {
        let mut inodes = Vec::new();
        for t in ["raw", "raw6"] {
            let text =
                std::fs::read_to_string(format!("/proc/{}/net/{t}", self.pid)).unwrap_or_default();
            inodes.extend(vrrp_socket_inodes(&text));
        }
        !inodes.is_empty()
            && self.processes().iter().any(|p| {
                std::fs::read_dir(format!("/proc/{p}/fd"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .any(|l| {
                        l.to_str()
                            .and_then(|s| s.strip_prefix("socket:["))
                            .and_then(|s| s.strip_suffix(']'))
                            .and_then(|s| s.parse::<u64>().ok())
                            .is_some_and(|i| inodes.contains(&i))
                    })
            })
    }

    /// Where keepalived writes its dumps, as seen from here: its `$TMPDIR` (else /tmp) inside
    /// its own mount namespace (`/proc/PID/root`).
    pub fn dump_path(&self, name: &str) -> PathBuf {
        let env = std::fs::read(format!("/proc/{}/environ", self.pid)).unwrap_or_default();
        let tmp = env
            .split(|b| *b == 0)
            .find_map(|kv| kv.strip_prefix(b"TMPDIR="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| v.starts_with('/'))
            .unwrap_or_else(|| "/tmp".into());
        PathBuf::from(format!("/proc/{}/root{}/{name}", self.pid, tmp))
    }

    /// Asks keepalived for its JSON dump (SIGRTMIN+2, forwarded to its VRRP process) and
    /// returns it once complete. The previous dump is removed first, so what is read is new.
    pub fn json_dump(&self, timeout: Duration) -> Result<String, TakeoverError> {
        let path = self.dump_path("keepalived.json");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(format!("{}: {e}", path.display()))),
        }
        let sig = libc::SIGRTMIN() + 2;
        if let Err(e) = crate::sys::process::kill(self.pid, sig) {
            return Err(err(format!("cannot signal keepalived ({}): {e}", self.pid)));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                // Written in one go by keepalived but read here maybe half-way: complete once
                // it parses.
                if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                    return Ok(text);
                }
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "keepalived ({}) wrote no JSON dump to {} within {timeout:?} (built without --enable-json, or no VRRP instance?)",
                    self.pid,
                    path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops every keepalived process (SIGSTOP), then kills them (SIGKILL, children first),
    /// and waits until they are gone. Returns the pids killed.
    pub fn stop_silently(&self) -> Result<Vec<i32>, TakeoverError> {
        let signal = |pid: i32, sig: i32| {
            let _ = crate::sys::process::kill(pid, sig);
        };
        // The parent first: stopped, it restarts no child and forwards no signal.
        signal(self.pid, libc::SIGSTOP);
        let mut all = self.processes();
        for p in &all[1..] {
            signal(*p, libc::SIGSTOP);
        }
        // A child being forked as the parent stopped shows up now.
        for p in self.processes() {
            if !all.contains(&p) {
                signal(p, libc::SIGSTOP);
                all.push(p);
            }
        }
        let stopped = |pid: i32| matches!(proc_state(pid), None | Some('T' | 'Z' | 'X'));
        wait_until(Duration::from_secs(2), || all.iter().all(|p| stopped(*p)));
        for p in &all[1..] {
            signal(*p, libc::SIGKILL);
        }
        wait_until(Duration::from_secs(2), || {
            all[1..].iter().all(|p| !alive(*p))
        });
        signal(self.pid, libc::SIGKILL);
        if !wait_until(Duration::from_secs(2), || all.iter().all(|p| !alive(*p))) {
            return Err(err(format!(
                "keepalived processes {all:?} did not die after SIGKILL"
            )));
        }
        // keepalived removes its pid file on exit; it could not.
        if std::fs::read_to_string(&self.pidfile)
            .is_ok_and(|t| t.trim().parse::<i32>().ok() == Some(self.pid))
        {
            let _ = std::fs::remove_file(&self.pidfile);
        }
        Ok(all)
    }
}

/// The inodes of the raw sockets of IP protocol 112 (VRRP) in a `/proc/net/raw{,6}` table
/// (the protocol is the local "port").
pub fn vrrp_socket_inodes(table: &str) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let proto = f.get(1)?.rsplit_once(':')?.1;
            (u16::from_str_radix(proto, 16).ok()? == 112)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Polls `cond` every millisecond until it holds or `timeout` passes.
fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_vrrp_sockets_in_proc_net_raw() {
        let raw = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 112: 00000000:0070 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1057565 2 00000000ad9631b5 0
 231: 00000000:0033 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1057566 2 00000000ad9631b5 0
";
        assert_eq!(super::vrrp_socket_inodes(raw), vec![1057565]);
        let raw6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 112: 00000000000000000000000000000000:0070 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0
";
        assert_eq!(super::vrrp_socket_inodes(raw6), vec![99]);
        assert!(super::vrrp_socket_inodes("").is_empty());
    }
}
