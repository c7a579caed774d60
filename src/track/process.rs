//! `vrrp_track_process` (sans-IO): which processes match, how many there are, and when the
//! tracker's quorum status changes, as keepalived 2.2.7's `track_process.c` decides it.
//!
//! - Matching: without `full_command`, the process's `comm` (at most 15 bytes) equals the
//!   configured name; with it, `argv[0]` does. Parameters (`process NAME P1 P2`, which implies
//!   `full_command` and, unless `param_match` says otherwise, an exact match) compare the rest of
//!   the command line: exact (the same parameters), `partial` (the configured parameters are the
//!   first ones), `initial` (as partial, the last configured one being a prefix of the process's).
//! - Status: up while `quorum <= count <= quorum_max`.
//! - Delays: a gain caused by a fork waits `fork_delay`, a loss caused by an exit waits
//!   `terminate_delay` (`delay` sets both); a change back before the timer fires cancels it.
//!   Gains and losses caused by an exec or a comm change apply at once, as keepalived does.
//!   A periodic /proc scan (the fallback outside the initial network namespace, or after lost
//!   events) tells the causes apart as far as /proc shows them: a new matching process whose
//!   parent was counted is a fork, any other an exec; a counted process that is gone is an
//!   exit, one that no longer matches an exec.

use crate::config::model::TrackProcess;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How parameters are compared (keepalived's `param_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamMatch {
    /// No parameter check (only the name / `argv[0]`).
    None,
    /// Same parameters.
    Exact,
    /// The configured parameters start the process's; the last one may be a prefix.
    Initial,
    /// The configured parameters are the process's first parameters.
    Partial,
}

/// One tracked process, resolved from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcSpec {
    /// The vrrp_track_process name.
    pub name: String,
    /// The process name (comm, or `argv[0]` with full_command).
    pub path: String,
    /// The parameters, each followed by a NUL (as in /proc/PID/cmdline); None: none given.
    pub params: Option<Vec<u8>>,
    /// Parameter comparison.
    pub param_match: ParamMatch,
    /// Compare the command line, not comm.
    pub full_command: bool,
    /// Lowest count that is up.
    pub quorum: u32,
    /// Highest count that is up.
    pub quorum_max: u32,
    /// Delay of a gain caused by a fork.
    pub fork_delay: Duration,
    /// Delay of a loss caused by an exit.
    pub terminate_delay: Duration,
}

impl ProcSpec {
    /// From the configuration (None: no `process`, a block keepalived removes).
    pub fn from_config(p: &TrackProcess) -> Option<Self> {
        let path = p.process.clone()?;
        let params = if p.params.is_empty() {
            None
        } else {
            let mut b = Vec::new();
            for a in &p.params {
                b.extend_from_slice(a.as_bytes());
                b.push(0);
            }
            Some(b)
        };
        let param_match = match p.param_match.as_deref() {
            Some("initial") => ParamMatch::Initial,
            Some("partial") => ParamMatch::Partial,
            Some(_) => ParamMatch::Exact,
            None if params.is_some() => ParamMatch::Exact,
            None => ParamMatch::None,
        };
        let full_command = p.full_command || params.is_some() || p.param_match.is_some();
        Some(Self {
            name: p.name.clone(),
            path,
            params,
            param_match,
            full_command,
            quorum: p.quorum,
            quorum_max: p.quorum_max,
            fork_delay: p.fork_delay.unwrap_or_default(),
            terminate_delay: p.terminate_delay.unwrap_or_default(),
        })
    }

    /// Whether `count` processes are up.
    pub fn in_quorum(&self, count: u32) -> bool {
        self.quorum <= count && count <= self.quorum_max
    }

    fn params_match(&self, actual: &[u8]) -> bool {
        let want = self.params.as_deref().unwrap_or(&[]);
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => actual == want,
            _ if actual.len() < want.len() => false,
            _ if want.is_empty() => true,
            ParamMatch::Partial => actual.starts_with(want),
            ParamMatch::Initial => actual.starts_with(&want[..want.len() - 1]),
        }
    }

    /// Whether a process matches. `comm` is its short name, `cmdline` its NUL-separated command
    /// line (None: not read, or unreadable).
    pub fn matches(&self, info: &ProcInfo) -> bool {
        if !self.full_command {
            return info.comm == self.path;
        }
        let Some(cmd) = info.cmdline.as_deref() else {
            return false;
        };
        let (argv0, rest) = match cmd.iter().position(|&b| b == 0) {
            Some(i) => (&cmd[..i], &cmd[i + 1..]),
            None => (cmd, &[][..]),
        };
        argv0 == self.path.as_bytes() && self.params_match(rest)
    }
}

/// What is known of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo {
    /// `comm` (/proc/PID/stat's second field).
    pub comm: String,
    /// `/proc/PID/cmdline` (read only when a tracker needs it).
    pub cmdline: Option<Vec<u8>>,
    /// The parent process (0: unknown).
    pub ppid: u32,
}

/// What caused a count to change (selects the delay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// An exec or comm change: immediate.
    Exec,
    /// A tracked process forked: a gain waits fork_delay.
    Fork,
    /// A tracked process exited: a loss waits terminate_delay.
    Exit,
}

/// One status change to publish: tracker index into the specs, and whether it is now up.
pub type Change = (usize, bool);

/// The counts and statuses of every tracked process.
#[derive(Debug)]
pub struct ProcessTable {
    specs: Vec<ProcSpec>,
    /// Tracked pids and the specs each one counts for.
    pids: HashMap<u32, Vec<usize>>,
    counts: Vec<u32>,
    up: Vec<bool>,
    timers: Vec<Option<Instant>>,
}

impl ProcessTable {
    /// A table for `specs`, initialised from the processes running now (`procs`); returns it
    /// with every tracker's initial status.
    pub fn new(
        specs: Vec<ProcSpec>,
        procs: impl IntoIterator<Item = (u32, ProcInfo)>,
    ) -> (Self, Vec<Change>) {
        let n = specs.len();
        let mut t = Self {
            specs,
            pids: HashMap::new(),
            counts: vec![0; n],
            up: vec![false; n],
            timers: vec![None; n],
        };
        for (pid, info) in procs {
            let set = t.matching(&info);
            for &i in &set {
                t.counts[i] += 1;
            }
            if !set.is_empty() {
                t.pids.insert(pid, set);
            }
        }
        let mut out = Vec::new();
        for i in 0..n {
            t.up[i] = t.specs[i].in_quorum(t.counts[i]);
            out.push((i, t.up[i]));
        }
        (t, out)
    }

    /// The specs.
    pub fn specs(&self) -> &[ProcSpec] {
        &self.specs
    }

    /// Current count of matching processes of tracker `i`.
    pub fn count(&self, i: usize) -> u32 {
        self.counts[i]
    }

    /// Current published status of tracker `i`.
    pub fn is_up(&self, i: usize) -> bool {
        self.up[i]
    }

    fn matching(&self, info: &ProcInfo) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|&i| self.specs[i].matches(info))
            .collect()
    }

    fn adjust(&mut self, i: usize, delta: i64, why: Why, now: Instant, out: &mut Vec<Change>) {
        let c = i64::from(self.counts[i]) + delta;
        self.counts[i] = u32::try_from(c.max(0)).unwrap_or(u32::MAX);
        let s = &self.specs[i];
        let in_q = s.in_quorum(self.counts[i]);
        if in_q == self.up[i] {
            // Back where it was before a pending change: keepalived cancels the timer.
            self.timers[i] = None;
            return;
        }
        let delay = match (in_q, why) {
            (true, Why::Fork) => s.fork_delay,
            (false, Why::Exit) => s.terminate_delay,
            _ => Duration::ZERO,
        };
        if !delay.is_zero() {
            if self.timers[i].is_none() {
                self.timers[i] = Some(now + delay);
            }
            return;
        }
        self.timers[i] = None;
        self.up[i] = in_q;
        out.push((i, in_q));
    }

    fn set_membership(&mut self, pid: u32, new: Vec<usize>, why: Why, now: Instant) -> Vec<Change> {
        let old = self.pids.remove(&pid).unwrap_or_default();
        let mut out = Vec::new();
        for &i in old.iter().filter(|i| !new.contains(i)) {
            self.adjust(i, -1, why, now, &mut out);
        }
        for &i in new.iter().filter(|i| !old.contains(i)) {
            self.adjust(i, 1, why, now, &mut out);
        }
        if !new.is_empty() {
            self.pids.insert(pid, new);
        }
        out
    }

    /// A process forked: the child counts for what its parent counts for.
    pub fn on_fork(&mut self, parent: u32, child: u32, now: Instant) -> Vec<Change> {
        let Some(set) = self.pids.get(&parent).cloned() else {
            return Vec::new();
        };
        self.set_membership(child, set, Why::Fork, now)
    }

    /// A process exec'd: `info` is what /proc says now (None: it is already gone).
    pub fn on_exec(&mut self, pid: u32, info: Option<&ProcInfo>, now: Instant) -> Vec<Change> {
        match info {
            Some(info) => {
                let set = self.matching(info);
                self.set_membership(pid, set, Why::Exec, now)
            }
            None => Vec::new(),
        }
    }

    /// A process changed its comm (prctl PR_SET_NAME): only comm trackers look at it.
    pub fn on_comm(&mut self, pid: u32, comm: &str, now: Instant) -> Vec<Change> {
        let old = self.pids.get(&pid).cloned().unwrap_or_default();
        let info = ProcInfo {
            comm: comm.to_string(),
            cmdline: None,
            ppid: 0,
        };
        let new: Vec<usize> = (0..self.specs.len())
            .filter(|&i| {
                if self.specs[i].full_command {
                    old.contains(&i)
                } else {
                    self.specs[i].matches(&info)
                }
            })
            .collect();
        self.set_membership(pid, new, Why::Exec, now)
    }

    /// A process exited.
    pub fn on_exit(&mut self, pid: u32, now: Instant) -> Vec<Change> {
        if !self.pids.contains_key(&pid) {
            return Vec::new();
        }
        self.set_membership(pid, Vec::new(), Why::Exit, now)
    }

    /// A full /proc scan replaces what is known.
    pub fn rescan(
        &mut self,
        procs: impl IntoIterator<Item = (u32, ProcInfo)>,
        now: Instant,
    ) -> Vec<Change> {
        let mut present: HashMap<u32, u32> = HashMap::new();
        let mut seen: HashMap<u32, Vec<usize>> = HashMap::new();
        for (pid, info) in procs {
            present.insert(pid, info.ppid);
            let set = self.matching(&info);
            if !set.is_empty() {
                seen.insert(pid, set);
            }
        }
        let counted = |m: &HashMap<u32, Vec<usize>>, pid: u32, i: usize| {
            m.get(&pid).is_some_and(|s| s.contains(&i))
        };
        let mut out = Vec::new();
        for i in 0..self.specs.len() {
            let new_count = seen.values().filter(|s| s.contains(&i)).count() as i64;
            let delta = new_count - i64::from(self.counts[i]);
            let why = if delta > 0 {
                // Every new one a child of a counted one: forks; otherwise an exec.
                let forks = seen
                    .iter()
                    .filter(|(p, s)| s.contains(&i) && !counted(&self.pids, **p, i))
                    .all(|(p, _)| present.get(p).is_some_and(|pp| counted(&self.pids, *pp, i)));
                if forks {
                    Why::Fork
                } else {
                    Why::Exec
                }
            } else {
                // One of the lost ones is gone: an exit; all still there: they exec'd.
                let exit = self
                    .pids
                    .iter()
                    .filter(|(p, s)| s.contains(&i) && !counted(&seen, **p, i))
                    .any(|(p, _)| !present.contains_key(p));
                if exit {
                    Why::Exit
                } else {
                    Why::Exec
                }
            };
            if delta != 0 {
                self.adjust(i, delta, why, now, &mut out);
            }
        }
        self.pids = seen;
        out
    }

    /// The next delay timer to fire.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// Fires the delay timers due at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<Change> {
        let mut out = Vec::new();
        for i in 0..self.specs.len() {
            if matches!(self.timers[i], Some(at) if at <= now) {
                self.timers[i] = None;
                let in_q = self.specs[i].in_quorum(self.counts[i]);
                if in_q != self.up[i] {
                    self.up[i] = in_q;
                    out.push((i, in_q));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> ProcSpec {
        ProcSpec {
            name: "p".into(),
            path: path.into(),
            params: None,
            param_match: ParamMatch::None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    fn info(comm: &str, cmdline: &[&str]) -> ProcInfo {
        let mut c = Vec::new();
        for a in cmdline {
            c.extend_from_slice(a.as_bytes());
            c.push(0);
        }
        ProcInfo {
            comm: comm.into(),
            cmdline: Some(c),
            ppid: 1,
        }
    }

    fn with_params(path: &str, params: &[&str], m: ParamMatch) -> ProcSpec {
        let mut b = Vec::new();
        for a in params {
            b.extend_from_slice(a.as_bytes());
            b.push(0);
        }
        ProcSpec {
            params: Some(b),
            param_match: m,
            full_command: true,
            ..spec(path)
        }
    }

    #[test]
    fn comm_matches_exactly() {
        let s = spec("sleep");
        assert!(s.matches(&info("sleep", &["/bin/sleep", "100"])));
        assert!(!s.matches(&info("sleeper", &["sleeper"])));
        assert!(!s.matches(&info("slee", &["slee"])));
        // comm, not argv[0]
        assert!(!s.matches(&info("bash", &["sleep"])));
    }

    #[test]
    fn full_command_compares_argv0_only() {
        let s = ProcSpec {
            full_command: true,
            ..spec("/bin/sleep")
        };
        assert!(s.matches(&info("sleep", &["/bin/sleep", "100"])));
        assert!(!s.matches(&info("sleep", &["sleep", "100"])));
        assert!(!s.matches(&ProcInfo {
            comm: "sleep".into(),
            cmdline: None,
            ppid: 1,
        }));
    }

    #[test]
    fn exact_params() {
        let s = with_params("/bin/sleep", &["100"], ParamMatch::Exact);
        assert!(s.matches(&info("sleep", &["/bin/sleep", "100"])));
        assert!(!s.matches(&info("sleep", &["/bin/sleep", "1000"])));
        assert!(!s.matches(&info("sleep", &["/bin/sleep", "100", "x"])));
        assert!(!s.matches(&info("sleep", &["/bin/sleep"])));
        // param_match without parameters: exactly none.
        let none = ProcSpec {
            params: None,
            ..s.clone()
        };
        assert!(none.matches(&info("sleep", &["/bin/sleep"])));
        assert!(!none.matches(&info("sleep", &["/bin/sleep", "1"])));
    }

    #[test]
    fn partial_and_initial_params() {
        let p = with_params("/bin/x", &["-a", "val"], ParamMatch::Partial);
        assert!(p.matches(&info("x", &["/bin/x", "-a", "val"])));
        assert!(p.matches(&info("x", &["/bin/x", "-a", "val", "more"])));
        assert!(!p.matches(&info("x", &["/bin/x", "-a", "value"])));
        assert!(!p.matches(&info("x", &["/bin/x", "-a"])));
        let i = with_params("/bin/x", &["-a", "val"], ParamMatch::Initial);
        assert!(i.matches(&info("x", &["/bin/x", "-a", "value"])));
        assert!(i.matches(&info("x", &["/bin/x", "-a", "val", "more"])));
        assert!(!i.matches(&info("x", &["/bin/x", "-b", "value"])));
    }

    #[test]
    fn from_config_as_keepalived_parses() {
        let mut p = TrackProcess {
            process: Some("/bin/sleep".into()),
            params: vec!["100".into()],
            ..TrackProcess::new("t", Default::default())
        };
        // Parameters imply full_command and an exact match.
        let s = ProcSpec::from_config(&p).unwrap();
        assert!(s.full_command);
        assert_eq!(s.param_match, ParamMatch::Exact);
        assert_eq!(s.params.as_deref(), Some(&b"100\0"[..]));
        p.param_match = Some("initial".into());
        assert_eq!(
            ProcSpec::from_config(&p).unwrap().param_match,
            ParamMatch::Initial
        );
        p.params.clear();
        p.param_match = None;
        let s = ProcSpec::from_config(&p).unwrap();
        assert!(!s.full_command);
        assert_eq!(s.param_match, ParamMatch::None);
        p.process = None;
        assert!(ProcSpec::from_config(&p).is_none());
    }

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn quorum_and_quorum_max() {
        let s = ProcSpec {
            quorum: 2,
            quorum_max: 3,
            ..spec("w")
        };
        let now = t0();
        let (mut t, init) = ProcessTable::new(vec![s], [(1, info("w", &[]))]);
        assert_eq!(init, vec![(0, false)]);
        assert_eq!(t.on_exec(2, Some(&info("w", &[])), now), vec![(0, true)]);
        assert_eq!(t.on_exec(3, Some(&info("w", &[])), now), vec![]);
        assert_eq!(t.count(0), 3);
        // A fourth is above quorum_max: down.
        assert_eq!(t.on_fork(3, 4, now), vec![(0, false)]);
        assert_eq!(t.on_exit(4, now), vec![(0, true)]);
        assert_eq!(t.on_exit(3, now), vec![]);
        assert_eq!(t.on_exit(2, now), vec![(0, false)]);
        // Untracked pids change nothing.
        assert_eq!(t.on_exit(99, now), vec![]);
        assert_eq!(t.on_fork(99, 100, now), vec![]);
    }

    #[test]
    fn quorum_max_0_is_up_only_without_the_process() {
        // keepalived: `quorum_max 0` (without quorum) sets quorum 0: up while none runs.
        let s = ProcSpec {
            quorum: 0,
            quorum_max: 0,
            ..spec("w")
        };
        let now = t0();
        let (mut t, init) = ProcessTable::new(vec![s], []);
        assert_eq!(init, vec![(0, true)]);
        assert_eq!(t.on_exec(3, Some(&info("w", &[])), now), vec![(0, false)]);
        assert_eq!(t.on_exit(3, now), vec![(0, true)]);
    }

    #[test]
    fn exec_into_something_else_is_a_loss_and_comm_changes_count() {
        let now = t0();
        let (mut t, init) = ProcessTable::new(vec![spec("w")], [(1, info("w", &[]))]);
        assert_eq!(init, vec![(0, true)]);
        assert_eq!(
            t.on_exec(1, Some(&info("other", &[])), now),
            vec![(0, false)]
        );
        assert_eq!(t.on_comm(1, "w", now), vec![(0, true)]);
        assert_eq!(t.on_comm(1, "x", now), vec![(0, false)]);
    }

    #[test]
    fn terminate_delay_holds_a_loss_and_a_return_cancels_it() {
        let s = ProcSpec {
            terminate_delay: Duration::from_secs(2),
            fork_delay: Duration::from_secs(3),
            ..spec("w")
        };
        let now = t0();
        let (mut t, _) = ProcessTable::new(vec![s], [(1, info("w", &[]))]);
        assert_eq!(t.on_exit(1, now), vec![]);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(2)));
        assert_eq!(t.poll(now + Duration::from_millis(1999)), vec![]);
        assert_eq!(t.poll(now + Duration::from_secs(2)), vec![(0, false)]);
        assert_eq!(t.next_deadline(), None);
        // An exec gain is immediate (no fork involved).
        assert_eq!(t.on_exec(2, Some(&info("w", &[])), now), vec![(0, true)]);
        // Exit then a new one before the timer: nothing ever changes.
        assert_eq!(t.on_exit(2, now), vec![]);
        assert!(t.next_deadline().is_some());
        assert_eq!(t.on_exec(3, Some(&info("w", &[])), now), vec![]);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.poll(now + Duration::from_secs(10)), vec![]);
        assert!(t.is_up(0));
    }

    #[test]
    fn fork_delay_holds_a_gain_by_fork() {
        let s = ProcSpec {
            quorum: 2,
            fork_delay: Duration::from_secs(1),
            ..spec("w")
        };
        let now = t0();
        let (mut t, init) = ProcessTable::new(vec![s], [(1, info("w", &[]))]);
        assert_eq!(init, vec![(0, false)]);
        assert_eq!(t.on_fork(1, 2, now), vec![]);
        assert_eq!(t.poll(now + Duration::from_millis(500)), vec![]);
        assert_eq!(t.poll(now + Duration::from_secs(1)), vec![(0, true)]);
        // A loss by exit (no terminate_delay) is immediate.
        assert_eq!(t.on_exit(2, now), vec![(0, false)]);
        // Fork then exit before the timer: cancelled.
        assert_eq!(t.on_fork(1, 3, now), vec![]);
        assert_eq!(t.on_exit(3, now), vec![]);
        assert_eq!(t.poll(now + Duration::from_secs(5)), vec![]);
    }

    #[test]
    fn rescan_tells_forks_from_execs_and_exits_from_execs() {
        let s = ProcSpec {
            terminate_delay: Duration::from_secs(2),
            fork_delay: Duration::from_secs(3),
            ..spec("w")
        };
        let now = t0();
        let (mut t, init) = ProcessTable::new(vec![s, spec("v")], []);
        assert_eq!(init, vec![(0, false), (1, false)]);
        let child = |pid: u32, comm: &str, ppid: u32| {
            (
                pid,
                ProcInfo {
                    ppid,
                    ..info(comm, &[])
                },
            )
        };
        // Started (parents not counted): execs, at once despite fork_delay.
        let procs = vec![child(5, "w", 1), child(6, "v", 1)];
        assert_eq!(t.rescan(procs.clone(), now), vec![(0, true), (1, true)]);
        assert_eq!(t.rescan(procs, now), vec![]);
        // Both gone: v at once, w after its terminate_delay.
        assert_eq!(t.rescan(vec![], now), vec![(1, false)]);
        assert_eq!(t.poll(now + Duration::from_secs(2)), vec![(0, false)]);
        // w exec'd into something else (still there): at once.
        let q = ProcSpec {
            quorum: 2,
            fork_delay: Duration::from_secs(3),
            terminate_delay: Duration::from_secs(2),
            ..spec("w")
        };
        let (mut t, _) = ProcessTable::new(vec![q], [child(5, "w", 1), child(7, "w", 1)]);
        assert!(t.is_up(0));
        assert_eq!(
            t.rescan(vec![child(5, "w", 1), child(7, "x", 1)], now),
            vec![(0, false)]
        );
        // A child of a counted w: a fork, held by fork_delay.
        assert_eq!(
            t.rescan(vec![child(5, "w", 1), child(8, "w", 5)], now),
            vec![]
        );
        assert_eq!(t.poll(now + Duration::from_secs(3)), vec![(0, true)]);
    }
}
