//! Chaos soak: an HA pair (ours/ours, then ours/keepalived 2.2.7) run through a seeded random
//! schedule of what production pairs live through — switch-port flaps, packet loss (nftables
//! random drop; netem delay too where the kernel has it), SIGHUP storms with valid, invalid and
//! half-written files, vrrp_script flaps, kill -9 and restart of either daemon — while a sampler
//! records every host's ownership of the VIP every few milliseconds.
//!
//! Invariants, checked on the whole timeline after the run:
//! - outside the disturbances the schedule itself creates (a cut port, loss, a killed daemon, a
//!   script flap, each followed by the protocol's settle time: Master_Down_Interval plus a small
//!   margin), exactly one running daemon's host owns the VIP: never two, never none;
//! - a SIGHUP storm is not a disturbance: it must never move or duplicate the VIP;
//! - a restarted daemon that does not become MASTER does not keep the VIP its killed run left;
//! - our daemons' memory and file descriptors stay flat over their lifetime.
//!
//! One minute runs in the suite (half per pair); `scripts/chaos-soak.sh --minutes N [--seed S]`
//! runs longer. The seed is printed: `KEEPALIVED_RS_SOAK_SEED=S` replays a schedule.

mod common;

use common::lab::{self, fd_count, rss_kb, Lab};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADVERT: f64 = 0.2;
/// Master_Down_Interval at priority 100 (the lowest here), advert_int 0.2: 3 × 0.2 + skew.
const MASTER_DOWN: f64 = 3.0 * ADVERT + (256.0 - 100.0) / 256.0 * ADVERT;
/// What the checker allows beyond the protocol's time: sampling, process start, a loaded CI box.
const MARGIN: f64 = 0.6;

/// A small seeded generator (xorshift64*): the schedule is reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in [a, b) seconds.
    fn secs(&mut self, a: f64, b: f64) -> Duration {
        let f = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(a + (b - a) * f)
    }
}

/// Which daemon runs on a host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Ours,
    Keepalived,
}

/// One sample of the timeline.
#[derive(Clone, Debug)]
struct Sample {
    t: f64,
    owns: [bool; 2],
    alive: [bool; 2],
}

/// A time window in which the schedule itself allows two owners or none (plus the settle time,
/// added when checking), and why.
#[derive(Clone, Debug)]
struct Window {
    from: f64,
    to: f64,
    what: String,
}

struct Pair {
    lab: Lab,
    impls: [Impl; 2],
    confs: [PathBuf; 2],
    flags: [PathBuf; 2],
    vip: String,
    start: Instant,
    /// Process name of each host's current daemon (a restart gets a new one).
    names: [String; 2],
    restarts: usize,
    windows: Vec<Window>,
    log: Vec<String>,
    netem: bool,
}

fn conf(pair_vrid: u8, prio: u8, vip: &str, flag: &Path) -> String {
    format!(
        "global_defs {{\n router_id soak{prio}\n vrrp_version 3\n}}\n\
         vrrp_script chk {{\n script \"/bin/sh -c 'test ! -e {flag}'\"\n interval 0.2\n \
         fall 1\n rise 1\n weight -60\n}}\n\
         vrrp_instance VI {{\n state BACKUP\n interface eth0\n virtual_router_id {pair_vrid}\n \
         priority {prio}\n advert_int {ADVERT}\n track_script {{\n  chk\n }}\n \
         virtual_ipaddress {{\n  {vip}/24 dev eth0\n }}\n}}\n",
        flag = flag.display()
    )
}

impl Pair {
    fn new(impls: [Impl; 2], vrid: u8) -> Self {
        let lab = Lab::new(2);
        let vip = lab.vip4(200);
        let flags = [lab.dir.join("flag1"), lab.dir.join("flag2")];
        let confs = [
            lab.write("h1.conf", &conf(vrid, 150, &vip, &flags[0])),
            lab.write("h2.conf", &conf(vrid, 100, &vip, &flags[1])),
        ];
        // Probe netem once (some kernels, like this project's CI VM, have no sch_netem).
        let probe = lab.exec(
            1,
            &[
                "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "1ms",
            ],
        );
        let netem = probe.status.success();
        if netem {
            let _ = lab.exec(1, &["tc", "qdisc", "del", "dev", "eth0", "root"]);
        }
        Pair {
            lab,
            impls,
            confs,
            flags,
            vip,
            start: Instant::now(),
            names: [String::new(), String::new()],
            restarts: 0,
            windows: Vec::new(),
            log: Vec::new(),
            netem,
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn note(&mut self, what: String) {
        let line = format!("{:8.3} {what}", self.now());
        println!("soak: {line}");
        self.log.push(line);
    }

    fn start_daemon(&mut self, h: usize) {
        self.restarts += 1;
        let name = format!("d{}r{}", h + 1, self.restarts);
        let conf = self.confs[h].clone();
        match self.impls[h] {
            Impl::Ours => {
                self.lab
                    .start_rs(h + 1, &name, env!("CARGO_BIN_EXE_keepalived-rs"), &conf)
            }
            Impl::Keepalived => self.lab.start_keepalived(h + 1, &name, &conf),
        }
        self.names[h] = name;
    }

    /// kill -9 every process of host h's daemon (keepalived's children included).
    fn kill9(&mut self, h: usize) {
        let pids = lab::run(&["ip", "netns", "pids", self.lab.ns(h + 1)]).stdout;
        for pid in String::from_utf8_lossy(&pids).lines() {
            if let Ok(p) = pid.trim().parse::<i32>() {
                // Only the daemon: the sampler's `ip` runs outside the namespace.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        let name = self.names[h].clone();
        let _ = self.lab.wait_exit(&name, Duration::from_secs(5));
    }

    fn window(&mut self, from: f64, what: &str) {
        let to = self.now();
        self.windows.push(Window {
            from,
            to,
            what: what.to_string(),
        });
    }
}

/// Samples VIP ownership and daemon liveness of both hosts until `stop`.
fn sampler(
    nss: [String; 2],
    vip: String,
    start: Instant,
    alive: Arc<Mutex<[bool; 2]>>,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<Sample>>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let before = *alive.lock().expect("alive lock");
        let mut owns = [false; 2];
        for (k, ns) in nss.iter().enumerate() {
            let o = lab::run(&["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"]);
            let text = String::from_utf8_lossy(&o.stdout);
            owns[k] = text
                .split_whitespace()
                .any(|w| w.split('/').next() == Some(vip.as_str()));
        }
        let after = *alive.lock().expect("alive lock");
        // A liveness change while sampling: count the host as not running (conservative).
        let alive_now = [before[0] && after[0], before[1] && after[1]];
        out.lock().expect("samples lock").push(Sample {
            t: start.elapsed().as_secs_f64(),
            owns,
            alive: alive_now,
        });
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One SIGHUP storm on an ours host: valid rewrites (a comment changes), invalid ones (rejected),
/// and a half-written file (truncated, then completed 0.5 s later, with no signal in between),
/// ending with the original file and one more SIGHUP.
fn hup_storm(p: &mut Pair, h: usize, rng: &mut Rng) {
    let conf = p.confs[h].clone();
    let good = std::fs::read_to_string(&conf).expect("read conf");
    let name = p.names[h].clone();
    let n = 5 + rng.below(20);
    for k in 0..n {
        match rng.below(3) {
            0 => p.lab.rewrite(&conf, &format!("# storm {k}\n{good}")),
            1 => p.lab.rewrite(
                &conf,
                &format!("{good}\nvrrp_instance broken {{\n priority abc\n"),
            ),
            _ => p.lab.rewrite(&conf, &good),
        }
        p.lab.signal(&name, libc::SIGHUP);
        std::thread::sleep(rng.secs(0.01, 0.08));
    }
    // Half-written: a non-atomic rewrite the file watch sees in the middle (no signal).
    std::fs::write(&conf, "").expect("truncate");
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&conf, &good).expect("complete");
    std::thread::sleep(Duration::from_millis(300));
    p.lab.rewrite(&conf, &good);
    p.lab.signal(&name, libc::SIGHUP);
}

fn run_pair(impls: [Impl; 2], vrid: u8, secs: f64, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed | 1);
    let mut p = Pair::new(impls, vrid);
    let alive = Arc::new(Mutex::new([true, true]));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    p.start = Instant::now();
    p.start_daemon(0);
    p.start_daemon(1);
    let th = {
        let nss = [p.lab.ns(1).to_string(), p.lab.ns(2).to_string()];
        let (vip, start, alive, stop, samples) = (
            p.vip.clone(),
            p.start,
            alive.clone(),
            stop.clone(),
            samples.clone(),
        );
        std::thread::spawn(move || sampler(nss, vip, start, alive, stop, samples))
    };
    // Start-up: both come up BACKUP and one takes over after Master_Down_Interval.
    let up = p
        .lab
        .wait_for(Duration::from_secs(15), || p.lab.has_addr(1, &p.vip));
    assert!(up, "{impls:?}: h1 never took the VIP at start");
    p.window(0.0, "start-up");
    p.note(format!("pair {impls:?} up, seed {seed}, netem {}", p.netem));

    // Resource baseline of our daemons: (name, pid, rss KB, fds, since).
    type Baseline = Vec<(String, u32, u64, usize, f64)>;
    fn take_baseline(p: &Pair, baseline: &mut Baseline) {
        for h in 0..2 {
            if p.impls[h] != Impl::Ours {
                continue;
            }
            let name = &p.names[h];
            if baseline.iter().any(|b| &b.0 == name) {
                continue;
            }
            if let Some(pid) = p.lab.pid(name) {
                if let (Some(r), Some(f)) = (rss_kb(pid), fd_count(pid)) {
                    baseline.push((name.clone(), pid, r, f, p.now()));
                }
            }
        }
    }
    let mut baseline: Baseline = Vec::new();
    std::thread::sleep(Duration::from_secs(2));
    take_baseline(&p, &mut baseline);

    while p.now() < secs {
        std::thread::sleep(rng.secs(0.8, 2.0));
        let h = rng.below(2) as usize;
        let t0 = p.now();
        match rng.below(6) {
            0 => {
                let d = rng.secs(0.3, 2.0);
                p.note(format!(
                    "port of h{} down for {:.2}s",
                    h + 1,
                    d.as_secs_f64()
                ));
                p.lab.set_port(h + 1, false);
                std::thread::sleep(d);
                p.lab.set_port(h + 1, true);
                p.window(t0, "port cut");
            }
            1 => {
                let pct = 20 + rng.below(60);
                let d = rng.secs(0.5, 2.5);
                p.note(format!(
                    "h{} drops {pct}% of packets for {:.2}s",
                    h + 1,
                    d.as_secs_f64()
                ));
                let rules = format!(
                    "add table inet soak\nadd chain inet soak in {{ type filter hook input priority 0; }}\n\
                     add rule inet soak in numgen random mod 100 < {pct} drop\n"
                );
                let f = p.lab.write("loss.nft", &rules);
                p.lab
                    .must_exec(h + 1, &["nft", "-f", &f.display().to_string()]);
                if p.netem && rng.below(2) == 0 {
                    let ms = format!("{}ms", 20 + rng.below(300));
                    let _ = p.lab.exec(
                        h + 1,
                        &[
                            "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", &ms,
                        ],
                    );
                    p.note(format!("h{} also delays {ms}", h + 1));
                }
                std::thread::sleep(d);
                let _ = p
                    .lab
                    .exec(h + 1, &["nft", "delete", "table", "inet", "soak"]);
                let _ = p
                    .lab
                    .exec(h + 1, &["tc", "qdisc", "del", "dev", "eth0", "root"]);
                p.window(t0, "packet loss/delay");
            }
            2 if p.impls[h] == Impl::Ours => {
                p.note(format!(
                    "SIGHUP storm on h{} (valid, invalid, half-written files)",
                    h + 1
                ));
                hup_storm(&mut p, h, &mut rng);
                // Not a disturbance: no window.
            }
            2 => {
                p.note(format!("SIGHUP on keepalived h{} (unchanged file)", h + 1));
                let name = p.names[h].clone();
                p.lab.signal(&name, libc::SIGHUP);
                p.window(t0, "keepalived reload");
            }
            3 => {
                let d = rng.secs(0.5, 2.0);
                p.note(format!(
                    "vrrp_script fails on h{} for {:.2}s",
                    h + 1,
                    d.as_secs_f64()
                ));
                std::fs::write(&p.flags[h], "").expect("flag");
                std::thread::sleep(d);
                let _ = std::fs::remove_file(&p.flags[h]);
                // The script's own interval, rise/fall and the move it causes.
                std::thread::sleep(Duration::from_millis(400));
                p.window(t0, "script flap");
            }
            _ => {
                let d = rng.secs(0.5, 2.5);
                p.note(format!(
                    "kill -9 of h{}'s daemon, restart after {:.2}s",
                    h + 1,
                    d.as_secs_f64()
                ));
                alive.lock().expect("alive lock")[h] = false;
                p.kill9(h);
                std::thread::sleep(d);
                p.start_daemon(h);
                alive.lock().expect("alive lock")[h] = true;
                // Start-up of the new process (its own Master_Down_Interval is in the settle).
                std::thread::sleep(Duration::from_millis(500));
                p.window(t0, "kill -9 and restart");
                take_baseline(&p, &mut baseline);
            }
        }
    }
    std::thread::sleep(Duration::from_secs_f64(MASTER_DOWN + MARGIN));
    let end = p.now();

    // Resources of our daemons that lived long enough to say anything.
    let mut problems = Vec::new();
    for (name, pid, rss0, fds0, since) in &baseline {
        if p.lab.pid(name) != Some(*pid) || end - since < 15.0 {
            continue;
        }
        if let (Some(r), Some(f)) = (rss_kb(*pid), fd_count(*pid)) {
            p.note(format!(
                "{name}: RSS {rss0} -> {r} KB, fds {fds0} -> {f} over {:.0}s",
                end - since
            ));
            if r > rss0 + 4096 {
                problems.push(format!("{name}: RSS grew {rss0} -> {r} KB"));
            }
            if f > fds0 + 2 {
                problems.push(format!("{name}: fds grew {fds0} -> {f}"));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = th.join();
    let samples = samples.lock().expect("samples").clone();
    problems.extend(check(&samples, &p.windows, end));
    if !problems.is_empty() {
        println!("soak schedule:\n{}", p.log.join("\n"));
        for n in p.names.clone() {
            println!("--- log of {n} (tail) ---");
            let l = p.lab.log(&n);
            let tail: Vec<&str> = l.lines().rev().take(40).collect();
            println!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }
    problems
        .into_iter()
        .map(|x| format!("{impls:?} seed {seed}: {x}"))
        .collect()
}

/// The invariants over the sampled timeline: returns the violations (grouped in runs).
fn check(samples: &[Sample], windows: &[Window], end: f64) -> Vec<String> {
    let settle = MASTER_DOWN + MARGIN;
    let allowed = |t: f64| windows.iter().find(|w| t >= w.from && t <= w.to + settle);
    let mut out = Vec::new();
    let mut bad_since: Option<(f64, String)> = None;
    for s in samples.iter().filter(|s| s.t <= end) {
        let live: Vec<usize> = (0..2).filter(|&k| s.owns[k] && s.alive[k]).collect();
        let stale: Vec<usize> = (0..2).filter(|&k| s.owns[k] && !s.alive[k]).collect();
        let problem = if allowed(s.t).is_some() {
            None
        } else if live.len() > 1 {
            Some("two hosts own the VIP".to_string())
        } else if live.is_empty() && stale.is_empty() {
            Some("no host owns the VIP".to_string())
        } else if live.is_empty() {
            Some(format!(
                "only a dead daemon's host h{} has the VIP",
                stale[0] + 1
            ))
        } else {
            None
        };
        match (&problem, &bad_since) {
            (Some(p), None) => bad_since = Some((s.t, p.clone())),
            (None, Some((t0, p))) => {
                let last = windows
                    .iter()
                    .filter(|w| w.to <= *t0)
                    .max_by(|a, b| a.to.total_cmp(&b.to))
                    .map(|w| format!("{} ended at {:.3}s", w.what, w.to))
                    .unwrap_or_else(|| "none".into());
                out.push(format!(
                    "{p} from {t0:.3}s to {:.3}s outside any disturbance (last one: {last})",
                    s.t
                ));
                bad_since = None;
            }
            _ => {}
        }
    }
    if let Some((t0, p)) = bad_since {
        out.push(format!("{p} from {t0:.3}s to the end"));
    }
    if samples.len() < 100 {
        out.push(format!(
            "only {} samples: the sampler did not run",
            samples.len()
        ));
    }
    out
}

fn soak_secs() -> f64 {
    std::env::var("KEEPALIVED_RS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0)
}

fn seed() -> u64 {
    std::env::var("KEEPALIVED_RS_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(42)
        })
}

#[test]
fn chaos_soak_pairs_keep_one_owner() {
    let _g = lab::serial();
    if lab::skip_without(true, &["nft"]) {
        return;
    }
    let secs = soak_secs();
    let seed = seed();
    println!("soak: {secs} s, seed {seed} (KEEPALIVED_RS_SOAK_SEED={seed} replays it)");
    let mut problems = run_pair([Impl::Ours, Impl::Ours], 71, secs / 2.0, seed);
    problems.extend(run_pair(
        [Impl::Ours, Impl::Keepalived],
        72,
        secs / 2.0,
        seed.rotate_left(17),
    ));
    assert!(problems.is_empty(), "chaos soak violations: {problems:#?}");
}

#[test]
fn checker_flags_two_owners_and_none_outside_windows() {
    let s = |t: f64, a: bool, b: bool| Sample {
        t,
        owns: [a, b],
        alive: [true, true],
    };
    let samples = vec![
        s(0.0, true, false),
        s(1.0, true, true),
        s(1.1, true, false),
        s(5.0, false, false),
        s(5.1, true, false),
        s(9.0, true, true),
        s(9.5, true, false),
    ];
    let windows = vec![Window {
        from: 8.5,
        to: 8.9,
        what: "port cut".into(),
    }];
    let v = check(&samples, &windows, 20.0);
    assert_eq!(v.len(), 3, "{v:#?}");
    assert!(v[0].contains("two hosts") && v[0].contains("1.000"));
    assert!(v[1].contains("no host"));
    // The 9.0 s overlap is within the cut's settle time: allowed; the 100-sample floor is not met.
    assert!(v[2].contains("only 7 samples"));
}
