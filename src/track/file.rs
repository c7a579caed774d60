//! `track_file` (keepalived `trackers/track_file.c`).
//!
//! The value is the integer at the start of the file, read like C `strtol(buf, NULL, 0)` (leading
//! blanks, sign, `0x` hex, `0` octal, trailing text ignored); a missing, empty or non-numeric
//! file is 0; a number outside the 32-bit range is ignored (the previous value stays). The file
//! is re-read when it is closed after writing or moved in, and is 0 when deleted or moved away —
//! the parent directory is watched (editors and `mv`/symlink swaps replace the file) and events
//! are filtered by file name. Creation alone is not a change (the write that follows is), so
//! a half-written file is never read.

use crate::config::model::TrackFile;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Parses a tracked file's content as keepalived does. `None`: out of range, ignore.
pub fn parse_value(content: &[u8]) -> Option<i64> {
    let mut s = content;
    while let [c, rest @ ..] = s {
        if c.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    let mut neg = false;
    if let [c @ (b'+' | b'-'), rest @ ..] = s {
        neg = *c == b'-';
        s = rest;
    }
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    let mut v: i128 = 0;
    for &c in digits {
        let Some(d) = (c as char).to_digit(radix) else {
            break;
        };
        v = v * i128::from(radix) + i128::from(d);
        if v > i128::from(i64::MAX) + 1 {
            return None; // ERANGE
        }
    }
    if neg {
        v = -v;
    }
    if v < i128::from(i32::MIN) || v > i128::from(i32::MAX) + 1 {
        return None;
    }
    Some(v as i64)
}

/// Reads a tracked file (first 127 bytes, as keepalived). Missing or unreadable: `Some(0)`.
pub fn read_value(path: &Path) -> Option<i64> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Some(0);
    };
    let mut buf = [0u8; 127];
    let mut len = 0;
    while len < buf.len() {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if len == 0 {
        return Some(0);
    }
    parse_value(&buf[..len])
}

/// `init_file [VALUE] [overwrite]`: writes `VALUE\n` when the file does not exist, or always with
/// `overwrite` (which refuses a path that is not a regular file). Returns whether it wrote.
/// Callers skip this on reload, as keepalived does.
pub fn init_file(path: &Path, value: i64, overwrite: bool) -> io::Result<bool> {
    match std::fs::metadata(path) {
        Ok(m) if overwrite && !m.is_file() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot initialise {}: not a regular file", path.display()),
        )),
        Ok(_) if !overwrite => Ok(false),
        _ => {
            std::fs::write(path, format!("{value}\n"))?;
            Ok(true)
        }
    }
}

/// A tracked file to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedFile {
    /// `track_file` name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
}

impl WatchedFile {
    /// From a config block (None without `file`).
    pub fn from_config(t: &TrackFile) -> Option<Self> {
        Some(Self {
            name: t.name.clone(),
            path: PathBuf::from(t.file.as_ref()?),
        })
    }
}

/// A tracked file's value changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEvent {
    /// `track_file` name.
    pub name: String,
    /// Value before.
    pub previous: i64,
    /// Value now.
    pub value: i64,
}

/// Watches tracked files; dropping it stops watching.
#[derive(Debug)]
pub struct FileWatcher {
    _watcher: RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn split(path: &Path) -> (PathBuf, PathBuf) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let key = dir.join(path.file_name().unwrap_or_default());
    (dir, key)
}

/// What an event means for a file it names: `Some(true)` re-read, `Some(false)` gone (0).
fn classify(kind: &EventKind) -> Option<bool> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(true),
        EventKind::Modify(ModifyKind::Name(_)) => Some(true), // moved in or away: re-read
        EventKind::Remove(_) => Some(false),
        _ => None,
    }
}

/// Reads every file now and starts watching. Returns the watcher and the initial values (in
/// input order). Each later change sends a [`FileEvent`].
pub fn spawn_file_watcher(
    files: Vec<WatchedFile>,
    tx: mpsc::Sender<FileEvent>,
) -> notify::Result<(FileWatcher, Vec<(String, i64)>)> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |ev| {
        let _ = raw_tx.send(ev);
    })?;
    let mut entries: Vec<(String, PathBuf, PathBuf, i64)> = Vec::new();
    let mut dirs = HashSet::new();
    for f in files {
        let (dir, key) = split(&f.path);
        if dirs.insert(dir.clone()) {
            watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        }
        let v = read_value(&f.path).unwrap_or(0);
        entries.push((f.name, f.path, key, v));
    }
    let initial = entries.iter().map(|e| (e.0.clone(), e.3)).collect();
    let task = tokio::spawn(async move {
        while let Some(ev) = raw_rx.recv().await {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::warn!("track_file watcher error: {e}");
                    continue;
                }
            };
            let Some(reread) = classify(&ev.kind) else {
                continue;
            };
            for (name, path, key, last) in entries.iter_mut() {
                if !ev.paths.iter().any(|p| p == key) {
                    continue;
                }
                let new = if reread { read_value(path) } else { Some(0) };
                let Some(new) = new else {
                    tracing::info!("Invalid number read from {} - ignoring", path.display());
                    continue;
                };
                if new != *last {
                    let e = FileEvent {
                        name: name.clone(),
                        previous: *last,
                        value: new,
                    };
                    *last = new;
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok((
        FileWatcher {
            _watcher: watcher,
            task,
        },
        initial,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_parsing() {
        assert_eq!(parse_value(b"42\n"), Some(42));
        assert_eq!(parse_value(b"  -7 apples"), Some(-7));
        assert_eq!(parse_value(b"+3"), Some(3));
        assert_eq!(parse_value(b"0x1f"), Some(31));
        assert_eq!(parse_value(b"0X10"), Some(16));
        assert_eq!(parse_value(b"010"), Some(8));
        assert_eq!(parse_value(b"09"), Some(0)); // octal stops at 9
        assert_eq!(parse_value(b"0x"), Some(0)); // "0", then 'x' is trailing text
        assert_eq!(parse_value(b"garbage"), Some(0));
        assert_eq!(parse_value(b""), Some(0));
        assert_eq!(parse_value(b"-"), Some(0));
        assert_eq!(parse_value(b"\t\n 5"), Some(5));
        assert_eq!(parse_value(b"2147483648"), Some(2147483648)); // INT32_MAX + 1 allowed
        assert_eq!(parse_value(b"2147483649"), None);
        assert_eq!(parse_value(b"-2147483648"), Some(-2147483648));
        assert_eq!(parse_value(b"-2147483649"), None);
        assert_eq!(parse_value(b"99999999999999999999999"), None);
    }

    #[test]
    fn read_missing_and_empty_is_zero() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_value(&d.path().join("nope")), Some(0));
        let p = d.path().join("f");
        std::fs::write(&p, "").unwrap();
        assert_eq!(read_value(&p), Some(0));
        std::fs::write(&p, "12 trailing").unwrap();
        assert_eq!(read_value(&p), Some(12));
    }

    #[test]
    fn init_file_rules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        assert!(init_file(&p, 5, false).unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "5\n");
        // Exists, no overwrite: untouched.
        std::fs::write(&p, "9\n").unwrap();
        assert!(!init_file(&p, 5, false).unwrap());
        assert_eq!(read_value(&p), Some(9));
        // overwrite.
        assert!(init_file(&p, -3, true).unwrap());
        assert_eq!(read_value(&p), Some(-3));
        // overwrite refuses a directory.
        assert!(init_file(d.path(), 1, true).is_err());
    }

    #[test]
    fn split_paths() {
        assert_eq!(
            split(Path::new("/run/x/f")),
            (PathBuf::from("/run/x"), PathBuf::from("/run/x/f"))
        );
        assert_eq!(
            split(Path::new("f")),
            (PathBuf::from("."), PathBuf::from("./f"))
        );
    }
}
