//! Reload when the configuration file or any file it includes changes: the parent directories
//! are watched (editors replace files), events are debounced, and a `WatchReload` is sent once
//! the files have stopped changing: the same content on two reads a debounce apart (a
//! non-atomic rewrite — truncate, write later — is never applied half-written), and never
//! when a watched file that had content is now empty (logged; SIGHUP still applies it).

use super::ControlSignal;
use actix::Recipient;
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// A running watcher; dropping it stops watching.
pub struct ConfigWatcher {
    _watcher: notify::RecommendedWatcher,
    _task: tokio::task::JoinHandle<()>,
}

/// Watches `files` (and include directories) and sends `Reload` to `target` after `debounce`
/// of quiet following a change. Must be called inside a tokio runtime.
pub fn watch(
    files: &[PathBuf],
    target: Recipient<ControlSignal>,
    debounce: Duration,
) -> notify::Result<ConfigWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let _ = tx.send(ev);
        }
    })?;
    let mut dirs = BTreeSet::new();
    let names: BTreeSet<PathBuf> = files
        .iter()
        .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone()))
        .collect();
    for f in files {
        let dir = if f.is_dir() {
            f.clone()
        } else {
            f.parent().map(PathBuf::from).unwrap_or_default()
        };
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        dirs.insert(dir.canonicalize().unwrap_or(dir));
    }
    for d in &dirs {
        if let Err(e) = watcher.watch(d, RecursiveMode::NonRecursive) {
            tracing::warn!("cannot watch {}: {e}", d.display());
        }
    }
    let relevant = move |ev: &notify::Event| {
        use notify::EventKind::*;
        if matches!(ev.kind, Access(_)) {
            return false;
        }
        ev.paths.iter().any(|p| {
            let p = p.canonicalize().unwrap_or_else(|_| p.clone());
            // A watched file, or a new/removed file in an include directory.
            names.contains(&p)
                || names
                    .iter()
                    .any(|n| n.is_dir() && p.parent() == Some(n.as_path()))
                || matches!(ev.kind, Create(_) | Remove(_))
                    && p.extension().is_some_and(|e| e == "conf")
        })
    };
    let files: Vec<PathBuf> = files.to_vec();
    let mut applied = snapshot(&files);
    let task = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if !relevant(&ev) {
                continue;
            }
            // Debounce: reload once relevant changes have stopped for `debounce`. Unrelated
            // files in the same directory (logs, editor swap files) do not extend the wait.
            let mut last = tokio::time::Instant::now();
            loop {
                let wait = (last + debounce).saturating_duration_since(tokio::time::Instant::now());
                if wait.is_zero() {
                    break;
                }
                match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(Some(ev)) => {
                        if relevant(&ev) {
                            last = tokio::time::Instant::now();
                        }
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            // Stable: the same content on two reads a debounce apart.
            let mut now = snapshot(&files);
            loop {
                tokio::time::sleep(debounce).await;
                let again = snapshot(&files);
                if again == now {
                    break;
                }
                tracing::debug!("configuration still changing on disk: waiting");
                now = again;
            }
            if let Some(f) = emptied(&applied, &now) {
                tracing::warn!(
                    "{} is empty: not reloading (a file being rewritten?); send SIGHUP to apply it",
                    f.display()
                );
                continue;
            }
            tracing::info!("configuration changed on disk: reloading");
            applied = now;
            target.do_send(ControlSignal::WatchReload);
        }
    });
    Ok(ConfigWatcher {
        _watcher: watcher,
        _task: task,
    })
}

/// What a watched path holds: a file's bytes, a directory's `*.conf` files (name, bytes), or
/// nothing (absent or unreadable).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Content {
    File(Vec<u8>),
    Dir(Vec<(PathBuf, Vec<u8>)>),
    Missing,
}

/// The content of every watched path.
type Snapshot = Vec<(PathBuf, Content)>;

fn snapshot(files: &[PathBuf]) -> Snapshot {
    files
        .iter()
        .map(|f| {
            let c = if f.is_dir() {
                let mut entries: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(f)
                    .map(|rd| {
                        rd.filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|p| p.is_file())
                            .map(|p| {
                                let b = std::fs::read(&p).unwrap_or_default();
                                (p, b)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                entries.sort();
                Content::Dir(entries)
            } else {
                match std::fs::read(f) {
                    Ok(b) => Content::File(b),
                    Err(_) => Content::Missing,
                }
            };
            (f.clone(), c)
        })
        .collect()
}

/// Only blanks (spaces, tabs, newlines), or nothing.
pub fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| c.is_ascii_whitespace())
}

/// A watched file that had content when last applied and is blank now.
fn emptied<'a>(before: &Snapshot, now: &'a Snapshot) -> Option<&'a PathBuf> {
    now.iter().find_map(|(p, c)| {
        let was = before.iter().find(|(q, _)| q == p).map(|(_, c)| c);
        let had = matches!(was, Some(Content::File(b)) if !is_blank(b));
        match c {
            Content::File(b) if had && is_blank(b) => Some(p),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_had_content_and_is_blank_now_is_emptied() {
        let p = PathBuf::from("/k.conf");
        let full = vec![(p.clone(), Content::File(b"vrrp_instance x {}\n".to_vec()))];
        let empty = vec![(p.clone(), Content::File(b" \n".to_vec()))];
        assert_eq!(emptied(&full, &empty), Some(&p));
        assert_eq!(emptied(&full, &full), None);
        // Empty before (an empty include): not a half-written file.
        assert_eq!(emptied(&empty, &empty), None);
        // Removed: the reload reports it.
        let gone = vec![(p.clone(), Content::Missing)];
        assert_eq!(emptied(&full, &gone), None);
        assert!(is_blank(b""));
        assert!(!is_blank(b"x"));
    }
}
