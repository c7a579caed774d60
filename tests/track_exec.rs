//! Integration tests for src/track: real scripts in temp dirs (run as root: they switch to
//! `nobody`), notify argument lists, FIFOs, the vrrp_script runner and the track_file watcher.
//! Every wait is bounded.

use keepalived_rs::config::diag::Location;
use keepalived_rs::config::model::{split_command, NotifyScripts, ScriptSpec, ScriptUser};
use keepalived_rs::track::exec::{
    ExecError, Launch, PreparedScript, ResolvedUser, RunOptions, ScriptCommand, ScriptContext,
    ScriptOutcome, SecurityIssue,
};
use keepalived_rs::track::file::{init_file, spawn_file_watcher, WatchedFile};
use keepalived_rs::track::notify::{
    state_notification, NotifyFifo, NotifyQueue, NotifyState, NotifyTarget,
};
use keepalived_rs::track::runner::{spawn_script_runner, ScriptRunnerConfig};
use keepalived_rs::track::script_state::ScriptStatus;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(10);

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A 0755 temp dir (so `nobody` can traverse it).
fn tmpdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn spec(cmd: &str, user: Option<ScriptUser>) -> ScriptSpec {
    ScriptSpec {
        command: cmd.to_string(),
        argv: split_command(cmd),
        user,
        loc: Location::new(&Arc::from("test.conf"), 1),
    }
}

fn prepared(cmd: &str) -> PreparedScript {
    PreparedScript::from_spec(&spec(cmd, None), &ScriptContext::default()).unwrap()
}

async fn run(cmd: &str, t: Duration) -> ScriptOutcome {
    prepared(cmd)
        .run(&RunOptions::with_timeout(t))
        .await
        .outcome
}

/// Live (not zombie) process?
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let after = &s[s.rfind(')').unwrap() + 2..];
            !after.starts_with('Z')
        }
        Err(_) => false,
    }
}

/// Any live process in process group `pg`?
fn group_alive(pg: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(s) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some(i) = s.rfind(')') else { return false };
        let f: Vec<&str> = s[i + 2..].split_whitespace().collect();
        f.len() > 2 && f[0] != "Z" && f[2] == pg.to_string()
    })
}

/// Waits (bounded) for a condition on processes that are being killed.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

#[tokio::test]
async fn exit_status_zero_and_one() {
    let d = tmpdir();
    let ok = script(d.path(), "ok.sh", "#!/bin/sh\nexit 0\n");
    let bad = script(d.path(), "bad.sh", "#!/bin/sh\nexit 1\n");
    let t = Duration::from_secs(5);
    let o = run(ok.to_str().unwrap(), t).await;
    assert_eq!(o, ScriptOutcome::Exited(0));
    assert!(o.success());
    let o = run(bad.to_str().unwrap(), t).await;
    assert_eq!(o, ScriptOutcome::Exited(1));
    assert!(!o.success());
}

#[tokio::test]
async fn hanging_script_is_killed_at_timeout_with_its_group() {
    let d = tmpdir();
    let pidf = d.path().join("pid");
    let s = script(
        d.path(),
        "hang.sh",
        &format!("#!/bin/sh\necho $$ > {}\nsleep 30\n", pidf.display()),
    );
    let start = Instant::now();
    let r = timeout(
        BOUND,
        prepared(s.to_str().unwrap()).run(&RunOptions::with_timeout(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(r.outcome, ScriptOutcome::TimedOut);
    assert!(!r.outcome.success());
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(200));
    let pid: i32 = std::fs::read_to_string(&pidf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(pid as u32), r.pid);
    // The script and its `sleep 30` child (same process group) are gone.
    assert!(eventually(|| !alive(pid)).await, "script still alive");
    assert!(eventually(|| !group_alive(pid)).await, "group still alive");
}

#[tokio::test]
async fn argv_with_spaces_is_passed_without_a_shell() {
    let d = tmpdir();
    let out = d.path().join("out");
    let s = script(
        d.path(),
        "args.sh",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\n",
            out.display()
        ),
    );
    // A shell would expand $HOME inside double quotes and split unquoted words differently.
    let cmd = format!("{} 'a b' \"$HOME  x\" c\\ d ';e'", s.display());
    let p = prepared(&cmd);
    assert_eq!(p.launch, Launch::Direct(s.clone()));
    let o = p.run(&RunOptions::with_timeout(BOUND)).await.outcome;
    assert_eq!(o, ScriptOutcome::Exited(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "a b\n$HOME  x\nc d\n;e\n"
    );
}

#[tokio::test]
async fn shell_fallback_for_builtins_and_scripts_without_shebang() {
    // `exit` is not a file in PATH: sh -c "exit 3".
    let p = prepared("exit 3");
    assert_eq!(p.launch, Launch::Shell("exit 3".into()));
    assert_eq!(
        p.run(&RunOptions::with_timeout(BOUND)).await.outcome,
        ScriptOutcome::Exited(3)
    );
    // Shell syntax works through the fallback.
    let d = tmpdir();
    let out = d.path().join("o");
    let o = run(
        &format!("cd {} && printf '%s' fallback > o", d.path().display()),
        BOUND,
    )
    .await;
    assert_eq!(o, ScriptOutcome::Exited(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "fallback");
    // Executable file without #!: execve says ENOEXEC, sh runs it with the quoted argv.
    let out2 = d.path().join("o2");
    let s = script(
        d.path(),
        "noshebang",
        &format!("printf '%s|' \"$@\" > {}\n", out2.display()),
    );
    let o = run(&format!("{} 'x y' z", s.display()), BOUND).await;
    assert_eq!(o, ScriptOutcome::Exited(0));
    assert_eq!(std::fs::read_to_string(&out2).unwrap(), "x y|z|");
}

#[tokio::test]
async fn missing_and_non_executable_scripts_are_errors() {
    let d = tmpdir();
    let missing = d.path().join("nope.sh");
    let r = PreparedScript::from_spec(
        &spec(missing.to_str().unwrap(), None),
        &ScriptContext::default(),
    );
    assert!(matches!(r, Err(ExecError::NotFound(_))), "{r:?}");
    let f = d.path().join("plain");
    std::fs::write(&f, "exit 0\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = PreparedScript::from_spec(&spec(f.to_str().unwrap(), None), &ScriptContext::default());
    assert!(matches!(r, Err(ExecError::NotExecutable { .. })), "{r:?}");
}

#[tokio::test]
async fn runs_as_nobody() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let d = tmpdir();
    let outdir = d.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    std::fs::set_permissions(&outdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = outdir.join("id");
    let s = script(
        d.path(),
        "id.sh",
        &format!(
            "#!/bin/sh\necho \"$(id -u) $(id -g) $(id -G)\" > {}\n",
            out.display()
        ),
    );
    let nobody = ScriptUser {
        user: "nobody".into(),
        group: None,
        supplementary: false,
    };
    // Via the script's own user ...
    let p = PreparedScript::from_spec(
        &spec(s.to_str().unwrap(), Some(nobody.clone())),
        &ScriptContext::default(),
    )
    .unwrap();
    assert_eq!(p.user.uid, 65534);
    let o = p.run(&RunOptions::with_timeout(BOUND)).await.outcome;
    assert_eq!(o, ScriptOutcome::Exited(0));
    let got = std::fs::read_to_string(&out).unwrap();
    let gid = p.user.gid;
    assert_eq!(got.trim(), format!("65534 {gid} {gid}"));
    std::fs::remove_file(&out).unwrap();
    // ... and via the global script_user.
    let ctx = ScriptContext {
        script_user: Some(nobody),
        enable_script_security: false,
    };
    let p = PreparedScript::from_spec(&spec(s.to_str().unwrap(), None), &ctx).unwrap();
    assert_eq!(
        p.run(&RunOptions::with_timeout(BOUND)).await.outcome,
        ScriptOutcome::Exited(0)
    );
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("65534 "));
}

#[tokio::test]
async fn environment_is_cleaned() {
    // Harmless values (LD_PRELOAD is left alone: a bogus one would make ld.so complain in every
    // process this test binary spawns). Set before any script of this test runs.
    std::env::set_var("LD_LIBRARY_PATH", "/nonexistent-ka-test");
    std::env::set_var("IFS", "x");
    let d = tmpdir();
    let out = d.path().join("env");
    let s = script(
        d.path(),
        "env.sh",
        &format!(
            "#!/bin/sh\necho \"${{LD_PRELOAD-unset}} ${{LD_LIBRARY_PATH-unset}} ${{KA_KEEP-unset}}\" > {}\n",
            out.display()
        ),
    );
    std::env::set_var("KA_KEEP", "kept");
    let o = run(s.to_str().unwrap(), BOUND).await;
    assert_eq!(o, ScriptOutcome::Exited(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "unset unset kept"
    );
}

#[tokio::test]
async fn script_security_refuses_root_script_in_writable_dir() {
    let d = tmpdir();
    let s = script(d.path(), "chk.sh", "#!/bin/sh\nexit 0\n");
    let ctx = ScriptContext {
        script_user: Some(ScriptUser {
            user: "root".into(),
            group: None,
            supplementary: false,
        }),
        enable_script_security: true,
    };
    // Root-owned 0755 dir under sticky /tmp: accepted.
    assert!(PreparedScript::from_spec(&spec(s.to_str().unwrap(), None), &ctx).is_ok());
    // World-writable parent: refused.
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = PreparedScript::from_spec(&spec(s.to_str().unwrap(), None), &ctx);
    match r {
        Err(ExecError::Insecure {
            issue: SecurityIssue::Writable(p),
            ..
        }) => assert_eq!(p, d.path()),
        other => panic!("{other:?}"),
    }
    // Without enable_script_security it runs (keepalived only warns).
    let ctx = ScriptContext {
        enable_script_security: false,
        ..ctx
    };
    assert!(PreparedScript::from_spec(&spec(s.to_str().unwrap(), None), &ctx).is_ok());
}

#[tokio::test]
async fn notify_scripts_get_exactly_keepalived_arguments_in_order() {
    let d = tmpdir();
    let out = d.path().join("calls");
    // The MASTER script is slow: a later BACKUP notify must still come after it. (`printf` with
    // no arguments prints one empty line.)
    let slow = script(
        d.path(),
        "slow.sh",
        &format!(
            "#!/bin/sh\nsleep 0.3\n{{ echo \"slow $#\"; printf '%s\\n' \"$@\"; }} >> {}\n",
            out.display()
        ),
    );
    let args = script(
        d.path(),
        "args.sh",
        &format!(
            "#!/bin/sh\n{{ echo \"args $#\"; printf '%s\\n' \"$@\"; }} >> {}\n",
            out.display()
        ),
    );
    let scripts = NotifyScripts {
        master: Some(spec(&format!("{} m1 'm 2'", slow.display()), None)),
        backup: Some(spec(&args.display().to_string(), None)),
        generic: Some(spec(&format!("{} --g", args.display()), None)),
        ..Default::default()
    };
    let q = NotifyQueue::spawn(ScriptContext::default(), Duration::from_secs(5));
    let n1 = state_notification(
        &scripts,
        NotifyTarget::Instance,
        "VI_1",
        NotifyState::Master,
        100,
    );
    let n2 = state_notification(
        &scripts,
        NotifyTarget::Group,
        "G 1",
        NotifyState::Backup,
        100,
    );
    q.push(n1.scripts);
    q.push(n2.scripts);
    timeout(BOUND, q.drained()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "slow 2\nm1\nm 2\n\
         args 5\n--g\nINSTANCE\nVI_1\nMASTER\n100\n\
         args 0\n\n\
         args 5\n--g\nGROUP\nG 1\nBACKUP\n0\n"
    );
}

#[tokio::test]
async fn fifo_lines_arrive_in_order() {
    let d = tmpdir();
    let path = d.path().join("fifo");
    let fifo = NotifyFifo::open(&path, None).unwrap();
    // Writing with no reader never blocks.
    let scripts = NotifyScripts::default();
    let lines: Vec<String> = [
        (NotifyTarget::Instance, "VI_1", NotifyState::Backup, 100),
        (NotifyTarget::Instance, "VI_1", NotifyState::Master, 100),
        (NotifyTarget::Group, "G1", NotifyState::Master, 0),
        (NotifyTarget::Instance, "VI_1", NotifyState::Stop, 0),
    ]
    .iter()
    .map(|&(t, n, s, p)| state_notification(&scripts, t, n, s, p).fifo_line)
    .collect();
    assert!(fifo.write_line(&lines[0]).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let rpath = path.clone();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&rpath).unwrap();
        let mut r = BufReader::new(f);
        for _ in 0..4 {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            tx.send(l).unwrap();
        }
    });
    for l in &lines[1..] {
        assert!(fifo.write_line(l).unwrap());
    }
    let got: Vec<String> = (0..4).map(|_| rx.recv_timeout(BOUND).unwrap()).collect();
    assert_eq!(got, lines);
    assert_eq!(
        got,
        [
            "INSTANCE \"VI_1\" BACKUP 100\n",
            "INSTANCE \"VI_1\" MASTER 100\n",
            "GROUP \"G1\" MASTER 0\n",
            "INSTANCE \"VI_1\" STOP 0\n"
        ]
    );
    drop(fifo);
    assert!(!path.exists(), "created FIFO is removed");
}

#[test]
fn fifo_write_never_blocks_without_reader() {
    let d = tmpdir();
    let path = d.path().join("fifo");
    let fifo = NotifyFifo::open(&path, None).unwrap();
    let start = Instant::now();
    let mut dropped = false;
    for _ in 0..100_000 {
        if !fifo.write_line("INSTANCE \"VI_1\" MASTER 100\n").unwrap() {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "pipe never filled");
    assert!(start.elapsed() < Duration::from_secs(2));
    // An existing regular file is refused.
    let f = d.path().join("regular");
    std::fs::write(&f, "").unwrap();
    assert!(NotifyFifo::open(&f, None).is_err());
    let _ = ResolvedUser::current();
}

#[tokio::test]
async fn runner_reports_transitions() {
    let d = tmpdir();
    let flag = d.path().join("flag");
    std::fs::write(&flag, "0").unwrap();
    let s = script(
        d.path(),
        "chk.sh",
        &format!("#!/bin/sh\nexit $(cat {})\n", flag.display()),
    );
    let cfg = ScriptRunnerConfig {
        name: "chk".into(),
        command: ScriptCommand::from_argv(&[s.to_str().unwrap()]),
        user: None,
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(2),
        rise: 2,
        fall: 2,
        init_fail: false,
        kill_grace: Duration::from_millis(500),
    };
    assert_eq!(cfg.initial_status(), ScriptStatus::Init);
    let (tx, mut rx) = mpsc::channel(8);
    let runner = spawn_script_runner(cfg, ScriptContext::default(), tx);
    // First run at once: Init -> OK (one success is enough).
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert_eq!(
        (e.name.as_str(), e.ok, e.from, e.status),
        ("chk", true, ScriptStatus::Init, ScriptStatus::Ok)
    );
    // Failing: after `fall` = 2 failures -> FAILED.
    std::fs::write(&flag, "1").unwrap();
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert_eq!(
        (e.ok, e.status, e.outcome),
        (false, ScriptStatus::Failed, ScriptOutcome::Exited(1))
    );
    std::fs::write(&flag, "0").unwrap();
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert!(e.ok);
    drop(runner);
}

#[tokio::test]
async fn runner_survives_hanging_and_missing_scripts() {
    let d = tmpdir();
    let pidf = d.path().join("pid");
    let hang = script(
        d.path(),
        "hang.sh",
        &format!("#!/bin/sh\necho $$ >> {}\nsleep 30\n", pidf.display()),
    );
    let (tx, mut rx) = mpsc::channel(8);
    let start = Instant::now();
    let cfg = ScriptRunnerConfig {
        name: "hang".into(),
        command: ScriptCommand::from_argv(&[hang.to_str().unwrap()]),
        user: None,
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(200),
        rise: 1,
        fall: 1,
        init_fail: false,
        kill_grace: Duration::from_millis(500),
    };
    let runner = spawn_script_runner(cfg, ScriptContext::default(), tx.clone());
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert_eq!((e.ok, e.outcome.clone()), (false, ScriptOutcome::TimedOut));
    assert!(start.elapsed() < Duration::from_secs(2));
    // It keeps running (and killing) without new events while still failing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(rx.try_recv().is_err());
    drop(runner);
    let pids: Vec<i32> = std::fs::read_to_string(&pidf)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(pids.len() >= 2, "ran repeatedly: {pids:?}");
    for pid in pids {
        assert!(eventually(|| !group_alive(pid)).await, "group {pid} alive");
    }

    let missing = d.path().join("missing.sh");
    let cfg = ScriptRunnerConfig {
        name: "missing".into(),
        command: ScriptCommand::from_argv(&[missing.to_str().unwrap()]),
        user: None,
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(200),
        rise: 1,
        fall: 1,
        init_fail: false,
        kill_grace: Duration::from_millis(500),
    };
    let _runner = spawn_script_runner(cfg, ScriptContext::default(), tx);
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert_eq!(e.name, "missing");
    assert!(!e.ok && !e.disabled);
    assert!(matches!(
        e.outcome,
        ScriptOutcome::Error(ExecError::NotFound(_))
    ));
    // Appears later: picked up.
    script(d.path(), "missing.sh", "#!/bin/sh\nexit 0\n");
    let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
    assert!(e.ok);
}

#[tokio::test]
async fn track_file_changes_are_seen_within_a_second() {
    let d = tmpdir();
    let p = d.path().join("prio");
    assert!(init_file(&p, 5, false).unwrap());
    let other = d.path().join("other");
    let (tx, mut rx) = mpsc::channel(8);
    let (_w, initial) = spawn_file_watcher(
        vec![WatchedFile {
            name: "tf".into(),
            path: p.clone(),
        }],
        tx,
    )
    .unwrap();
    assert_eq!(initial, vec![("tf".to_string(), 5)]);
    // Another file in the same directory is ignored; our write is seen.
    std::fs::write(&other, "77\n").unwrap();
    std::fs::write(&p, "-20\n").unwrap();
    let e = timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.name.as_str(), e.previous, e.value), ("tf", 5, -20));
    // Atomic replace (write temp + rename), as editors and config tools do.
    let tmp = d.path().join(".prio.tmp");
    std::fs::write(&tmp, "0x10").unwrap();
    std::fs::rename(&tmp, &p).unwrap();
    let e = timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.previous, e.value), (-20, 16));
    // Deleted: 0.
    std::fs::remove_file(&p).unwrap();
    let e = timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.previous, e.value), (16, 0));
}

/// Issue #19: `FOO=1 /x.sh` and `exec /x.sh` under `enable_script_security` used to go to
/// `sh -c` unchecked (their first word is not a program), running a world-writable script as
/// root. They are refused and disabled; the script never runs.
#[tokio::test]
async fn script_security_refuses_lines_whose_first_word_is_not_a_program() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let d = tmpdir();
    let marker = d.path().join("ran");
    let s = script(
        d.path(),
        "evil.sh",
        &format!("#!/bin/sh\ntouch {}\n", marker.display()),
    );
    // World-writable: anybody could put anything in it.
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ctx = ScriptContext {
        script_user: Some(ScriptUser {
            user: "root".into(),
            group: None,
            supplementary: false,
        }),
        enable_script_security: true,
    };
    let (tx, mut rx) = mpsc::channel(8);
    for line in [
        format!("FOO=1 {}", s.display()),
        format!("exec {}", s.display()),
    ] {
        let cfg = ScriptRunnerConfig {
            name: line.clone(),
            command: ScriptCommand::from_spec(&spec(&line, None)),
            user: None,
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            rise: 1,
            fall: 1,
            init_fail: false,
            kill_grace: Duration::from_millis(500),
        };
        let _runner = spawn_script_runner(cfg, ctx.clone(), tx.clone());
        let e = timeout(BOUND, rx.recv()).await.unwrap().unwrap();
        assert_eq!(e.name, line);
        assert!(!e.ok && e.disabled, "{line}: {e:?}");
        assert!(
            matches!(
                &e.outcome,
                ScriptOutcome::Error(ExecError::Insecure {
                    issue: SecurityIssue::NotAProgram(_),
                    ..
                })
            ),
            "{line}: {:?}",
            e.outcome
        );
        assert!(!marker.exists(), "{line}: the world-writable script ran");
    }
    // The same script named directly is refused for what it is (world-writable).
    let r = PreparedScript::from_spec(&spec(s.to_str().unwrap(), None), &ctx);
    assert!(
        matches!(
            r,
            Err(ExecError::Insecure {
                issue: SecurityIssue::Writable(_),
                ..
            })
        ),
        "{r:?}"
    );
    assert!(!marker.exists());
}
