//! Reload when the configuration file or any file it includes changes: the parent directories
//! are watched (editors replace files), events are debounced, and a `Reload` is sent.

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
            tracing::info!("configuration changed on disk: reloading");
            target.do_send(ControlSignal::Reload);
        }
    });
    Ok(ConfigWatcher {
        _watcher: watcher,
        _task: task,
    })
}
