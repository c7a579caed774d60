//! A LAN of network namespaces for interop tests: a bridge namespace and N hosts, each with an
//! `eth0` veth into the bridge. Names carry a per-lab tag so parallel tests never clash, and
//! everything (namespaces, processes) is removed on drop, even when the test panics.
//!
//! Only 10.x / fd00:: addresses inside the namespaces; the host's interfaces are never touched.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Runs a command and returns its output; panics with the command line on failure to spawn.
pub fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"))
}

/// Runs a command that must succeed.
pub fn must(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// True when we can create network namespaces (root, iproute2 present).
pub fn can_run() -> bool {
    let ok = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok && unsafe { libc::geteuid() } == 0
}

/// One host of the lab.
pub struct Host {
    /// Namespace name.
    pub ns: String,
    /// Name of its port on the bridge (in the switch namespace).
    pub port: String,
}

/// The lab: a switch namespace with a bridge and hosts attached to it.
pub struct Lab {
    /// Tag in every name.
    pub tag: String,
    /// Switch namespace.
    pub sw: String,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// A scratch directory for configs, pid files and logs.
    pub dir: PathBuf,
    children: Vec<(String, Child)>,
}

impl Lab {
    /// Creates `n` hosts named `h1..hn`, with IPv4 10.X.0.(10+i)/24 and IPv6 fd00:X::(10+i)/64
    /// where X is unique per lab.
    pub fn new(n: usize) -> Self {
        let id = std::process::id() % 10000;
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let tag = format!("k{id}x{seq}");
        let sw = format!("{tag}sw");
        let dir = std::env::temp_dir().join(format!("kalab-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab dir");
        let mut lab = Lab {
            tag: tag.clone(),
            sw: sw.clone(),
            hosts: Vec::new(),
            dir,
            children: Vec::new(),
        };
        must(&["ip", "netns", "add", &sw]);
        must(&[
            "ip",
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        // No multicast snooping surprises: flood everything like a dumb switch.
        let _ = run(&[
            "ip",
            "-n",
            &sw,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        must(&["ip", "-n", &sw, "link", "set", "br0", "up"]);
        for i in 1..=n {
            let ns = format!("{tag}h{i}");
            let port = format!("p{i}{tag}");
            must(&["ip", "netns", "add", &ns]);
            must(&[
                "ip", "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            must(&["ip", "link", "set", &port, "netns", &sw]);
            must(&["ip", "-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            // A settled network: no duplicate address detection delaying link-local sources.
            for k in [
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.eth0.accept_dad=0",
            ] {
                must(&["ip", "netns", "exec", &ns, "sysctl", "-qw", k]);
            }
            must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            must(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &lab.v4(i, 24),
                "dev",
                "eth0",
            ]);
            must(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/64", lab.v6(i)),
                "dev",
                "eth0",
                "nodad",
            ]);
            must(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            lab.hosts.push(Host { ns, port });
        }
        lab
    }

    /// The unique second octet / hextet of this lab's subnets (1..=250).
    pub fn net(&self) -> u32 {
        let h: u32 = self
            .tag
            .bytes()
            .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
        1 + h % 250
    }

    /// IPv4 address of host i (1-based) with prefix.
    pub fn v4(&self, i: usize, prefix: u8) -> String {
        format!("10.{}.0.{}/{prefix}", self.net(), 10 + i)
    }

    /// IPv4 address of host i without prefix.
    pub fn ip4(&self, i: usize) -> String {
        format!("10.{}.0.{}", self.net(), 10 + i)
    }

    /// A virtual IPv4 address in the lab subnet.
    pub fn vip4(&self, last: u8) -> String {
        format!("10.{}.0.{last}", self.net())
    }

    /// IPv6 address of host i.
    pub fn v6(&self, i: usize) -> String {
        format!("fd00:{:x}::{}", self.net(), 10 + i)
    }

    /// A virtual IPv6 address in the lab subnet.
    pub fn vip6(&self, last: u16) -> String {
        format!("fd00:{:x}::{last:x}", self.net())
    }

    /// Namespace of host i (1-based).
    pub fn ns(&self, i: usize) -> &str {
        &self.hosts[i - 1].ns
    }

    /// Cuts (or restores) host i's switch port: the host sees silence, its link stays up.
    pub fn set_port(&self, i: usize, up: bool) {
        must(&[
            "ip",
            "-n",
            &self.sw,
            "link",
            "set",
            &self.hosts[i - 1].port,
            if up { "up" } else { "down" },
        ]);
    }

    /// Writes a file in the lab directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).expect("write lab file");
        p
    }

    /// Starts a long-running process inside host i; its stdout/stderr go to `DIR/<name>.log`.
    pub fn spawn(&mut self, i: usize, name: &str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).expect("log file");
        let err = log.try_clone().expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", self.ns(i)])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// Sends `sig` to the process started as `name`.
    pub fn signal(&self, name: &str, sig: i32) {
        for (n, c) in &self.children {
            if n == name {
                unsafe { libc::kill(c.id() as i32, sig) };
            }
        }
    }

    /// Waits for the process `name` to exit, up to `timeout`; returns its exit status if it did.
    pub fn wait_exit(&mut self, name: &str, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            for (n, c) in &mut self.children {
                if n == name {
                    if let Ok(Some(st)) = c.try_wait() {
                        return Some(st);
                    }
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log of process `name` so far.
    pub fn log(&self, name: &str) -> String {
        // Lossy: a read may end inside a multi-byte character being written.
        std::fs::read(self.dir.join(format!("{name}.log")))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Runs a command inside host i.
    pub fn exec(&self, i: usize, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", self.ns(i)];
        full.extend_from_slice(args);
        run(&full)
    }

    /// True when host i has `addr` (no prefix) on any interface.
    pub fn has_addr(&self, i: usize, addr: &str) -> bool {
        let o = run(&["ip", "-n", self.ns(i), "-o", "addr", "show"]);
        let text = String::from_utf8_lossy(&o.stdout);
        text.split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// Polls `cond` every 10 ms until it holds or `timeout` passes; returns whether it held.
    /// (Address ownership has no event we can subscribe to across tools; the poll is bounded.)
    pub fn wait_for(&self, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Which hosts own `addr` right now.
    pub fn owners(&self, addr: &str) -> Vec<usize> {
        (1..=self.hosts.len())
            .filter(|i| self.has_addr(*i, addr))
            .collect()
    }

    /// Starts real keepalived in host i with `conf`; the process is named `name`.
    pub fn start_keepalived(&mut self, i: usize, name: &str, conf: &Path) {
        self.start_keepalived_with(i, name, &[], conf);
    }

    /// Starts real keepalived in host i as `env ENV... keepalived -n -l -D -f conf` with its
    /// pid files in the lab directory (no `env` without variables); the process is named
    /// `name`. Returns the main pid file.
    pub fn start_keepalived_with(
        &mut self,
        i: usize,
        name: &str,
        env: &[&str],
        conf: &Path,
    ) -> PathBuf {
        let d = self.dir.clone();
        let p = |s: &str| d.join(format!("{name}.{s}.pid")).display().to_string();
        let conf = conf.display().to_string();
        let (a, b, c) = (p("main"), p("vrrp"), p("chk"));
        let mut args: Vec<&str> = Vec::new();
        if !env.is_empty() {
            args.push("env");
            args.extend_from_slice(env);
        }
        args.extend([
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-f",
            &conf,
            "-p",
            &a,
            "-r",
            &b,
            "-c",
            &c,
        ]);
        self.spawn(i, name, &args);
        PathBuf::from(a)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, c) in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Kill anything else still running inside our namespaces (e.g. keepalived children).
        for h in &self.hosts {
            let pids = run(&["ip", "netns", "pids", &h.ns]).stdout;
            for pid in String::from_utf8_lossy(&pids).lines() {
                if let Ok(p) = pid.trim().parse::<i32>() {
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
            let _ = run(&["ip", "netns", "del", &h.ns]);
        }
        let _ = run(&["ip", "netns", "del", &self.sw]);
        if std::env::var_os("KALAB_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A keepalived.conf with one VRRP instance on eth0.
pub fn vrrp_conf(
    extra_global: &str,
    vrid: u8,
    prio: u8,
    version: u8,
    advert: &str,
    vips: &[String],
    extra: &str,
) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    format!(
        "global_defs {{\n    router_id lab\n    {extra_global}\n}}\nvrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    version {version}\n    advert_int {advert}\n{extra}\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

/// One VRRP flavour the interop and wire tests run through: version, advert_int, family,
/// unicast or multicast, PASS authentication.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub version: u8,
    pub advert: &'static str,
    pub v6: bool,
    pub unicast: bool,
    pub auth: bool,
}

impl Case {
    /// auth_pass of the cases with PASS authentication.
    pub const PASS: &'static str = "s3cret";
    pub const V2_PASS: Case = Case {
        version: 2,
        advert: "1",
        v6: false,
        unicast: false,
        auth: true,
    };
    pub const V2_UNICAST: Case = Case {
        version: 2,
        advert: "1",
        v6: false,
        unicast: true,
        auth: false,
    };
    pub const V3_IPV4: Case = Case {
        version: 3,
        advert: "0.1",
        v6: false,
        unicast: false,
        auth: false,
    };
    pub const V3_IPV6: Case = Case {
        version: 3,
        advert: "0.1",
        v6: true,
        unicast: false,
        auth: false,
    };

    /// [`vrrp_conf`] of this case for host `me` (unicast to host `peer`) with `vips` (/64 or
    /// /24 added).
    pub fn conf(
        &self,
        lab: &Lab,
        me: usize,
        peer: usize,
        vrid: u8,
        prio: u8,
        vips: &[String],
    ) -> String {
        let mut extra = String::new();
        if self.auth {
            extra.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {}\n    }}\n",
                Self::PASS
            ));
        }
        if self.unicast {
            let (src, dst) = if self.v6 {
                (lab.v6(me), lab.v6(peer))
            } else {
                (lab.ip4(me), lab.ip4(peer))
            };
            extra.push_str(&format!(
                "    unicast_src_ip {src}\n    unicast_peer {{\n        {dst}\n    }}\n"
            ));
        }
        let prefix = if self.v6 { 64 } else { 24 };
        let vips: Vec<String> = vips.iter().map(|v| format!("{v}/{prefix}")).collect();
        vrrp_conf("", vrid, prio, self.version, self.advert, &vips, &extra)
    }
}

// ---- Helpers added for the VRRP behaviour tests (tests/vrrp_*.rs). ----

impl Lab {
    /// Attaches (or detaches) host i's port to the bridge. Detached, both ends stay up: the
    /// host keeps its carrier but hears nobody (a split network rather than a dead host).
    pub fn set_bridged(&self, i: usize, attached: bool) {
        let port = &self.hosts[i - 1].port;
        if attached {
            must(&["ip", "-n", &self.sw, "link", "set", port, "master", "br0"]);
        } else {
            must(&["ip", "-n", &self.sw, "link", "set", port, "nomaster"]);
        }
    }

    /// Polls `cond` every 10 ms for `window`; true when it held at every poll. The negative
    /// counterpart of [`Lab::wait_for`]: "nothing happens during this bounded window".
    pub fn holds_for(&self, window: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + window;
        loop {
            if !cond() {
                return false;
            }
            if Instant::now() > deadline {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// True while the process started as `name` has not exited (not gone, not a zombie).
    pub fn running(&self, name: &str) -> bool {
        self.children.iter().any(|(n, c)| {
            if n != name {
                return false;
            }
            let stat =
                std::fs::read_to_string(format!("/proc/{}/stat", c.id())).unwrap_or_default();
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            matches!(state, Some(s) if s != 'Z' && s != 'X')
        })
    }

    /// Starts keepalived-rs (`bin`) in host i with `conf` in the foreground with console and
    /// detailed logs (`-n -l -D -G`), its own pid file; the process is named `name`.
    pub fn start_rs(&mut self, i: usize, name: &str, bin: &str, conf: &Path) {
        self.start_rs_with(i, name, &[], bin, &["-n", "-l", "-D", "-G"], conf);
    }

    /// Starts keepalived-rs (`bin`) in host i as `env ENV... bin FLAGS... -f conf -p DIR/name.pid`
    /// (no `env` without variables); the process is named `name`.
    pub fn start_rs_with(
        &mut self,
        i: usize,
        name: &str,
        env: &[&str],
        bin: &str,
        flags: &[&str],
        conf: &Path,
    ) {
        let pid = self.dir.join(format!("{name}.pid")).display().to_string();
        let conf = conf.display().to_string();
        let mut args = Vec::new();
        if !env.is_empty() {
            args.push("env");
            args.extend_from_slice(env);
        }
        args.push(bin);
        args.extend_from_slice(flags);
        args.extend(["-f", &conf, "-p", &pid]);
        self.spawn(i, name, &args);
    }

    /// Runs a command inside host i that must succeed.
    pub fn must_exec(&self, i: usize, args: &[&str]) {
        let o = self.exec(i, args);
        assert!(
            o.status.success(),
            "{args:?} in h{i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The logs of the named processes, one after the other, for failure messages.
    pub fn logs(&self, names: &[&str]) -> String {
        names
            .iter()
            .map(|n| format!("--- {n}\n{}\n", self.log(n)))
            .collect()
    }

    /// VRRP transitions (`VRRP_Instance(..) A -> B` lines) in the log of `name` so far.
    pub fn transitions(&self, name: &str) -> usize {
        self.log(name)
            .lines()
            .filter(|l| l.contains("VRRP_Instance(") && l.contains(" -> "))
            .count()
    }

    /// The link-local addresses (without prefix) of `dev` in host i.
    pub fn link_locals(&self, i: usize, dev: &str) -> Vec<String> {
        let o = self.exec(
            i,
            &[
                "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
            ],
        );
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3))
            .filter_map(|a| a.split('/').next())
            .map(str::to_string)
            .collect()
    }
}

/// A notify script and a FIFO reader that keep what the daemon reports (see
/// [`Lab::notify_recorder`]).
pub struct NotifyRecorder {
    /// The script to name in `notify*` lines: appends its arguments to `notes`.
    pub script: String,
    /// One line per script call.
    pub notes: String,
    /// The FIFO to name in `vrrp_notify_fifo`.
    pub fifo: String,
    /// Every line read from the FIFO.
    pub fifo_log: String,
}

impl Lab {
    /// Writes the notify script `note.sh` (appending its arguments, one line per call, to
    /// `notes`), creates the FIFO `fifo` and starts `fifo-reader` in host i copying its lines
    /// into `fifo.log`.
    pub fn notify_recorder(&mut self, i: usize) -> NotifyRecorder {
        let d = self.dir.display().to_string();
        let notes = format!("{d}/notes");
        let fifo = format!("{d}/fifo");
        let fifo_log = format!("{d}/fifo.log");
        let script = self.write("note.sh", &format!("#!/bin/sh\necho \"$@\" >> {notes}\n"));
        let script = script.display().to_string();
        must(&["chmod", "755", &script]);
        must(&["mkfifo", &fifo]);
        self.spawn(
            i,
            "fifo-reader",
            &["sh", "-c", &format!("cat {fifo} > {fifo_log}")],
        );
        NotifyRecorder {
            script,
            notes,
            fifo,
            fifo_log,
        }
    }
}

/// Serialises namespace tests within one test binary (two cores; failover timing must not
/// starve). Poisoning is ignored: a failed test must not fail the next ones.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when `cmd` is on the PATH.
pub fn have(cmd: &str) -> bool {
    run(&["sh", "-c", &format!("command -v {cmd}")])
        .status
        .success()
}

/// True (after printing why) when the test cannot run here: not root, no iproute2, or, with
/// `need_keepalived`, no keepalived (scripts/install-deps.sh installs it).
pub fn skip(need_keepalived: bool) -> bool {
    let ka = !need_keepalived || have("keepalived");
    if !can_run() || !ka {
        eprintln!(
            "SKIP: needs root, iproute2{}",
            if need_keepalived {
                " and keepalived"
            } else {
                ""
            }
        );
        return true;
    }
    false
}

/// [`skip`], and also true (after printing why) when one of `tools` is not on the PATH.
pub fn skip_without(need_keepalived: bool, tools: &[&str]) -> bool {
    if skip(need_keepalived) {
        return true;
    }
    if let Some(t) = tools.iter().find(|t| !have(t)) {
        eprintln!("SKIP: needs {t}");
        return true;
    }
    false
}

// ---- Helpers for the reload / supervision tests (tests/reload*.rs, tests/vrrp_supervision.rs).

/// One VRRP advertisement seen on a wire: kernel receive time (Unix seconds), source address,
/// VRID and priority.
#[derive(Clone, Debug, PartialEq)]
pub struct Advert {
    /// `frame.time_epoch`.
    pub t: f64,
    /// IP source.
    pub src: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority.
    pub prio: u8,
}

/// Now, as Unix seconds (the clock tshark's timestamps use).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The times of the adverts of `vrid` from `src`.
fn advert_times(adverts: &[Advert], src: &str, vrid: u8) -> Vec<f64> {
    adverts
        .iter()
        .filter(|a| a.src == src && a.vrid == vrid)
        .map(|a| a.t)
        .collect()
}

/// Largest interval between consecutive adverts of `vrid` from `src` (seconds), with the time
/// of the advert that ended it; `None` with fewer than two adverts.
pub fn max_gap(adverts: &[Advert], src: &str, vrid: u8) -> Option<(f64, f64)> {
    advert_times(adverts, src, vrid)
        .windows(2)
        .map(|w| (w[1] - w[0], w[1]))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The interval between consecutive adverts of `vrid` from `src` that contains time `at`.
pub fn gap_around(adverts: &[Advert], src: &str, vrid: u8, at: f64) -> Option<f64> {
    advert_times(adverts, src, vrid)
        .windows(2)
        .find(|w| w[0] <= at && at < w[1])
        .map(|w| w[1] - w[0])
}

impl Lab {
    /// Starts tshark on host i's eth0 printing every VRRP packet (time, source, VRID,
    /// priority) into log `name`; returns once tshark says it is capturing.
    pub fn capture_vrrp(&mut self, i: usize, name: &str) {
        self.spawn(
            i,
            name,
            &[
                "tshark",
                "-ni",
                "eth0",
                "-l",
                "-f",
                "ip proto 112",
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "ip.src",
                "-e",
                "vrrp.virt_rtr_id",
                "-e",
                "vrrp.prio",
            ],
        );
        self.wait_capturing(name, Duration::from_secs(20));
    }

    /// Waits until tshark `name` says it is capturing.
    fn wait_capturing(&self, name: &str, timeout: Duration) {
        assert!(
            self.wait_for(timeout, || self.log(name).contains("Capturing on")),
            "tshark did not start: {}",
            self.log(name)
        );
    }

    /// The adverts captured so far by [`Lab::capture_vrrp`] under `name`.
    pub fn adverts(&self, name: &str) -> Vec<Advert> {
        self.log(name)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() != 4 {
                    return None;
                }
                Some(Advert {
                    t: f[0].trim().parse().ok()?,
                    src: f[1].trim().to_string(),
                    vrid: f[2].trim().parse().ok()?,
                    prio: f[3].trim().parse().ok()?,
                })
            })
            .collect()
    }

    /// Starts `ip monitor address` in host i under log `name` and returns once it is listening
    /// (a marker address is added to `lo` until the monitor reports it, then removed; the
    /// marker's lines are left out by [`Lab::address_events`]).
    pub fn monitor_addresses(&mut self, i: usize, name: &str) {
        self.spawn(i, name, &["ip", "monitor", "address"]);
        let marker = format!("{}/32", self.marker());
        let ok = self.wait_for(Duration::from_secs(10), || {
            let _ = self.exec(i, &["ip", "addr", "add", &marker, "dev", "lo"]);
            let seen = self.log(name).contains(&marker);
            let _ = self.exec(i, &["ip", "addr", "del", &marker, "dev", "lo"]);
            seen
        });
        assert!(ok, "ip monitor did not start: {}", self.log(name));
    }

    fn marker(&self) -> String {
        format!("10.{}.254.254", self.net())
    }

    /// Address events ("inet ..." lines, deletions start with "Deleted") reported so far by the
    /// monitor `name`, without the readiness marker's.
    pub fn address_events(&self, name: &str) -> Vec<String> {
        let marker = self.marker();
        self.log(name)
            .lines()
            .filter(|l| l.contains("inet") && !l.contains(&marker))
            .map(str::to_string)
            .collect()
    }

    /// [`Lab::address_events`] once the monitor `name` in host i has written out every event
    /// the kernel sent before this call: the readiness marker is added and deleted again, and
    /// the kernel reports events in order, so once the marker's deletion is in the log all
    /// earlier events are too (under load `ip monitor` writes some time after the change).
    pub fn address_events_synced(&self, i: usize, name: &str) -> Vec<String> {
        let marker = format!("{}/32", self.marker());
        let deleted = |lab: &Lab| {
            lab.log(name)
                .lines()
                .filter(|l| l.starts_with("Deleted") && l.contains(&marker))
                .count()
        };
        let before = deleted(self);
        let _ = self.exec(i, &["ip", "addr", "add", &marker, "dev", "lo"]);
        let _ = self.exec(i, &["ip", "addr", "del", &marker, "dev", "lo"]);
        assert!(
            self.wait_for(Duration::from_secs(10), || deleted(self) > before),
            "ip monitor {name} did not report the marker: {}",
            self.log(name)
        );
        self.address_events(name)
    }

    /// Replaces `conf` atomically with `text` (written next to it, then renamed), as editors
    /// and config managers do.
    pub fn rewrite(&self, conf: &Path, text: &str) {
        let mut tmp = conf.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, conf).unwrap();
    }

    /// Reloads finished so far by our daemon `name` ("reload complete in" lines).
    pub fn reloads_completed(&self, name: &str) -> usize {
        self.log(name).matches("reload complete in").count()
    }

    /// Sends SIGHUP to our daemon `name`; true once it reports one more completed reload
    /// within `timeout`.
    pub fn reload(&self, name: &str, timeout: Duration) -> bool {
        let before = self.reloads_completed(name);
        self.signal(name, libc::SIGHUP);
        self.wait_for(timeout, || self.reloads_completed(name) > before)
    }

    /// True once `more` adverts beyond those seen so far are captured under `name` (see
    /// [`Lab::capture_vrrp`]) within `timeout`.
    pub fn wait_adverts(&self, name: &str, more: usize, timeout: Duration) -> bool {
        let seen = self.adverts(name).len();
        self.wait_for(timeout, || self.adverts(name).len() >= seen + more)
    }

    /// Starts tshark on host i's eth0 writing packets matching the capture `filter` for at most
    /// `seconds` into `DIR/file`, under log `name`; returns the capture's path once tshark says
    /// it is capturing.
    pub fn capture_pcap(
        &mut self,
        i: usize,
        name: &str,
        filter: &str,
        seconds: u32,
        file: &str,
    ) -> String {
        let cap = self.dir.join(file).display().to_string();
        let duration = format!("duration:{seconds}");
        self.spawn(
            i,
            name,
            &[
                "tshark", "-ni", "eth0", "-f", filter, "-a", &duration, "-w", &cap,
            ],
        );
        self.wait_capturing(name, Duration::from_secs(15));
        cap
    }

    /// Stops the capture `name` (SIGINT: tshark writes out what it has) and waits for it.
    pub fn stop_capture(&mut self, name: &str) {
        self.signal(name, libc::SIGINT);
        assert!(
            self.wait_exit(name, Duration::from_secs(15)).is_some(),
            "tshark did not stop: {}",
            self.log(name)
        );
    }

    /// The pid of the process started as `name`.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    /// GET `http://127.0.0.1:PORT/metrics` inside host i (curl).
    pub fn scrape(&self, i: usize, port: u16) -> String {
        let url = format!("http://127.0.0.1:{port}/metrics");
        let o = self.exec(i, &["curl", "-s", "--max-time", "5", &url]);
        String::from_utf8_lossy(&o.stdout).to_string()
    }
}

/// The value of the sample `name{labels}` (labels as written, e.g. `actor="x"`) in a
/// Prometheus text exposition, if present.
pub fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = if labels.is_empty() {
            rest.strip_prefix(' ')?
        } else {
            let inner = rest.strip_prefix('{')?;
            let (set, after) = inner.split_once('}')?;
            if !set.split(',').any(|kv| kv == labels) {
                return None;
            }
            after.strip_prefix(' ')?
        };
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `tshark -r cap -Y filter -T fields -e f...` with `|` between the fields (and `,` between
/// the occurrences of one): one Vec per packet.
pub fn tshark_fields(cap: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["tshark", "-n", "-r", cap, "-Y", filter, "-T", "fields"];
    args.extend([
        "-E",
        "separator=|",
        "-E",
        "aggregator=,",
        "-E",
        "occurrence=a",
    ]);
    for f in fields {
        args.extend(["-e", f]);
    }
    let o = run(&args);
    assert!(
        o.status.success(),
        "tshark -T fields: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<String> = l.split('|').map(str::to_string).collect();
            assert_eq!(c.len(), fields.len(), "unexpected tshark line {l:?}");
            c
        })
        .collect()
}

/// Reads a growing log incrementally (a long test polls it thousands of times: reading the
/// whole file each time would be quadratic).
pub struct LogTail {
    file: std::fs::File,
    partial: String,
    lines: Vec<String>,
}

impl LogTail {
    /// Reads what was appended since the last call; returns the new complete lines.
    pub fn poll(&mut self) -> &[String] {
        use std::io::Read;
        let mut buf = String::new();
        let _ = self.file.read_to_string(&mut buf);
        self.partial.push_str(&buf);
        self.lines.clear();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.lines.push(line.trim_end().to_string());
        }
        &self.lines
    }
}

impl Lab {
    /// A tail of the log of process `name`, from its current end.
    pub fn tail(&self, name: &str) -> LogTail {
        use std::io::{Seek, SeekFrom};
        let mut file =
            std::fs::File::open(self.dir.join(format!("{name}.log"))).expect("log to tail");
        let _ = file.seek(SeekFrom::End(0));
        LogTail {
            file,
            partial: String::new(),
            lines: Vec::new(),
        }
    }
}

/// Resident set size (kB) of process `pid`.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Open file descriptors of process `pid`.
pub fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}
