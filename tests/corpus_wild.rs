//! The 104 real keepalived.conf files of `shared/corpus/wild/`: `keepalived-rs -t` accepts every
//! file keepalived 2.2.7 starts on (KEEPALIVED-VERDICTS.tsv), never panics or hangs on any, and
//! `--strict` refuses (exit 5) every accepted file on which it had to recover as keepalived does.
//! For the files keepalived refuses, our verdict is printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the corpus is: `$KEEPALIVED_RS_CORPUS`, else `shared/corpus/wild` beside the clone
/// (CI: `$CLONE/../shared`) or beside the folder holding the clone (a worktree).
fn corpus_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEEPALIVED_RS_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .take(2)
        .map(|a| a.join("shared/corpus/wild"))
        .find(|p| p.join("KEEPALIVED-VERDICTS.tsv").is_file())
}

struct Verdict {
    /// Exit code; None when killed after the timeout or by a signal.
    code: Option<i32>,
    timed_out: bool,
    stderr: String,
}

/// Runs `keepalived-rs [--strict] -t -f FILE` in `dir` with a deadline.
fn run(dir: &Path, file: &str, strict: bool) -> Verdict {
    const TIMEOUT: Duration = Duration::from_secs(30);
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    if strict {
        cmd.arg("--strict");
    }
    let mut child = cmd
        .args(["-t", "-f", file])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(out.reopen().expect("reopen"))
        .spawn()
        .expect("spawn keepalived-rs");
    let start = Instant::now();
    let (status, timed_out) = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break (Some(s), false);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Verdict {
        code: status.and_then(|s| s.code()),
        timed_out,
        stderr: std::fs::read_to_string(out.path()).unwrap_or_default(),
    }
}

#[test]
fn keepalived_rs_starts_on_every_file_keepalived_starts_on() {
    let Some(dir) = corpus_dir() else {
        println!("SKIP: shared/corpus/wild not found (set KEEPALIVED_RS_CORPUS)");
        return;
    };
    let tsv = std::fs::read_to_string(dir.join("KEEPALIVED-VERDICTS.tsv")).expect("verdicts");
    let mut failures = Vec::new();
    let (mut ka_yes, mut ours_yes, mut recovered, mut strict_refused) = (0, 0, 0, 0);
    let mut files = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [_, file, starts, ka_rc, ..] = cols[..] else {
            continue;
        };
        files += 1;
        let v = run(&dir, file, false);
        if v.timed_out {
            failures.push(format!("{file}: hung (killed after the timeout)"));
            continue;
        }
        match v.code {
            None => failures.push(format!("{file}: killed by a signal\n{}", v.stderr)),
            Some(101) => failures.push(format!("{file}: panicked\n{}", v.stderr)),
            _ => {}
        }
        if v.stderr.contains("panicked") {
            failures.push(format!("{file}: panic message\n{}", v.stderr));
        }
        if starts == "yes" {
            ka_yes += 1;
            if v.code == Some(0) {
                ours_yes += 1;
            } else {
                failures.push(format!(
                    "{file}: keepalived starts on it, keepalived-rs -t exits {:?}:\n{}",
                    v.code, v.stderr
                ));
            }
            // A file we accepted only by recovering as keepalived does: --strict refuses it.
            if v.code == Some(0) && v.stderr.contains(", as keepalived does") {
                recovered += 1;
                let s = run(&dir, file, true);
                if s.code == Some(5) && s.stderr.contains("(refused by --strict)") {
                    strict_refused += 1;
                } else {
                    failures.push(format!(
                        "{file}: --strict should exit 5 on a recovered file, got {:?}:\n{}",
                        s.code, s.stderr
                    ));
                }
            }
        } else {
            let first_error = v
                .stderr
                .lines()
                .find(|l| l.contains(": error: "))
                .unwrap_or("(no error)");
            println!(
                "keepalived refuses {file} (rc {ka_rc}); keepalived-rs -t exits {:?}: {first_error}",
                v.code
            );
        }
    }
    println!(
        "{files} files; keepalived starts on {ka_yes}, keepalived-rs accepts {ours_yes} of them; \
         {recovered} accepted by recovering as keepalived does, {strict_refused} refused by --strict"
    );
    assert!(files >= 100, "corpus incomplete: {files} files");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
