//! Reload when the configuration changes on disk, the way deployments change it:
//!
//! - the directories holding the configuration files and the directories include globs expand
//!   in (files matching the glob appearing, changing, disappearing; others are ignored) are
//!   watched, not the files (editors and config managers replace files: vim's backup-rename,
//!   `sed -i`, a temporary file renamed into place);
//! - symlinks are followed to their targets, every link of the way (a link, the directory it
//!   points into, a link among the target's parent directories): the directory of each link and
//!   of the final target is watched, and the chains are resolved again after every change, so a
//!   replaced link (kubelet's atomic ConfigMap update renames a new `..data` link over the old
//!   one; `ln -sfn`) is followed to its new target;
//! - the list of files comes from the loader and is renewed by every load (an include glob
//!   gaining a file adds it);
//! - events are debounced, and a `WatchReload` is sent once the files have stopped changing: the
//!   same content on two reads a debounce apart (a non-atomic rewrite — truncate, write later —
//!   is never applied half-written), never when a watched file that had content is now empty
//!   (logged; SIGHUP still applies it), and not at all when the content is the one last
//!   applied (a touch, a ConfigMap update of another key: logged, nothing reloaded).

use crate::runtime::ControlSignal;
use actix::Recipient;
use notify::{RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files to watch, as the latest load listed them (`Loaded::files`): the daemon sends
/// every new list, the watcher follows it.
pub type FileList = tokio::sync::watch::Receiver<Vec<PathBuf>>;

/// A running watcher; dropping it stops watching.
pub struct ConfigWatcher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Longest symlink chain followed (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// What to watch for a list of configuration paths: every name whose change can change what
/// is read (each link of a chain and the final target, as canonical directory + file name),
/// the include directories, and the directories that hold them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchSet {
    /// Names whose creation, removal, rename or write matters.
    pub names: BTreeSet<PathBuf>,
    /// Include directories (canonical), with the file-name patterns of the globs that expand
    /// in them: a matching file appearing, changing or leaving matters (any file when a
    /// directory itself is listed).
    pub include_dirs: BTreeMap<PathBuf, Vec<glob::Pattern>>,
    /// The directories to watch (canonical).
    pub dirs: BTreeSet<PathBuf>,
}

impl WatchSet {
    /// Resolves every path's symlink chain as it is now on disk.
    pub fn resolve(files: &[PathBuf]) -> WatchSet {
        let mut s = WatchSet::default();
        for f in files {
            let mut names = Vec::new();
            let pattern = glob_pattern(f);
            let dir = match &pattern {
                Some(_) => f.parent().map(Path::to_path_buf),
                None => f.is_dir().then(|| f.clone()),
            };
            match &dir {
                Some(d) => chain(d, &mut names, 0),
                None => chain(f, &mut names, 0),
            }
            if let Some(d) = dir {
                let d = d.canonicalize().unwrap_or(d);
                s.dirs.insert(d.clone());
                let patterns = s.include_dirs.entry(d).or_default();
                match pattern {
                    Some(p) => patterns.push(p),
                    // The whole directory: a pattern matching anything.
                    None => patterns.extend(glob::Pattern::new("*")),
                }
            }
            for n in names {
                if let Some(p) = n.parent() {
                    s.dirs.insert(p.to_path_buf());
                }
                s.names.insert(n);
            }
        }
        s
    }

    /// Whether an event can change what the configuration reads.
    pub fn relevant(&self, ev: &notify::Event) -> bool {
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return false;
        }
        ev.paths.iter().any(|p| self.matters(p))
    }

    fn matters(&self, p: &Path) -> bool {
        let matches = |d: &Path| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            self.include_dirs
                .get(d)
                .is_some_and(|pats| pats.iter().any(|x| x.matches(&name)))
        };
        self.names.contains(p)
            || self.include_dirs.contains_key(p)
            || p.parent().is_some_and(matches)
    }
}

/// An include glob as the loader lists it (`DIR/*.conf`): its file-name pattern.
fn glob_pattern(f: &Path) -> Option<glob::Pattern> {
    let name = f.file_name()?.to_str()?;
    if !name.contains(['*', '?', '[']) {
        return None;
    }
    glob::Pattern::new(name).ok()
}

/// `p` made absolute (relative to the working directory) without resolving links.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Pushes every name `p` goes through: itself (canonical directory + its file name), each
/// link's target in turn, and the links among the parent directories on the way (kubelet's
/// `..data`), each of those followed the same way.
fn chain(p: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let mut cur = absolute(p);
    for _ in 0..MAX_LINKS {
        if depth > MAX_LINKS {
            return;
        }
        let (Some(parent), Some(name)) = (cur.parent(), cur.file_name()) else {
            return;
        };
        // Links among the parent directories: their own chains matter too.
        for a in parent.ancestors() {
            if std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()) {
                chain(a, out, depth + 1);
            }
        }
        let Ok(cparent) = parent.canonicalize() else {
            out.push(cur);
            return;
        };
        let here = cparent.join(name);
        if out.contains(&here) {
            return;
        }
        out.push(here.clone());
        match std::fs::read_link(&here) {
            Ok(t) if t.is_absolute() => cur = t,
            Ok(t) => cur = cparent.join(t),
            Err(_) => return,
        }
    }
}

/// Watches what `files` (the latest list from the loader) resolve to and sends `WatchReload`
/// to `target` once a change has settled for `debounce`. Must be called inside a tokio runtime.
pub fn watch(
    mut files: FileList,
    target: Recipient<ControlSignal>,
    debounce: Duration,
) -> notify::Result<ConfigWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let _ = tx.send(ev);
        }
    })?;
    let mut list: Vec<PathBuf> = files.borrow_and_update().clone();
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut set = rewatch(&mut watcher, &mut watched, &list);
    let mut applied = snapshot(&list);
    let task = tokio::spawn(async move {
        let mut files_open = true;
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { return };
                    if !set.relevant(&ev) {
                        continue;
                    }
                }
                changed = files.changed(), if files_open => {
                    if changed.is_err() {
                        files_open = false;
                    } else {
                        list = files.borrow_and_update().clone();
                        set = rewatch(&mut watcher, &mut watched, &list);
                        applied = carry(&applied, &list);
                    }
                    continue;
                }
            }
            // Debounce: reload once relevant changes have stopped for `debounce`. Unrelated
            // files in the same directory (logs, editor swap files) do not extend the wait.
            // Links may have been replaced: follow them again at each relevant event.
            set = rewatch(&mut watcher, &mut watched, &list);
            let mut last = tokio::time::Instant::now();
            loop {
                let wait = (last + debounce).saturating_duration_since(tokio::time::Instant::now());
                if wait.is_zero() {
                    break;
                }
                match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(Some(ev)) => {
                        if set.relevant(&ev) {
                            last = tokio::time::Instant::now();
                            set = rewatch(&mut watcher, &mut watched, &list);
                        }
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            // Stable: the same content on two reads a debounce apart.
            let mut now = snapshot(&list);
            loop {
                tokio::time::sleep(debounce).await;
                let again = snapshot(&list);
                if again == now {
                    break;
                }
                tracing::debug!("configuration still changing on disk: waiting");
                now = again;
            }
            set = rewatch(&mut watcher, &mut watched, &list);
            if now == applied {
                tracing::info!(
                    "configuration files touched but their content is unchanged: not reloading"
                );
                continue;
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
    Ok(ConfigWatcher { task })
}

/// Resolves `list` again and makes the watched directories those it needs.
fn rewatch(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut BTreeSet<PathBuf>,
    list: &[PathBuf],
) -> WatchSet {
    let set = WatchSet::resolve(list);
    for d in watched.difference(&set.dirs) {
        // A directory removed (kubelet's old timestamped one) is no longer watched anyway.
        let _ = watcher.unwatch(d);
    }
    let mut now = BTreeSet::new();
    for d in &set.dirs {
        if watched.contains(d) {
            now.insert(d.clone());
            continue;
        }
        match watcher.watch(d, RecursiveMode::NonRecursive) {
            Ok(()) => {
                tracing::debug!("watching {}", d.display());
                now.insert(d.clone());
            }
            // A directory that does not exist (yet) is looked for again at the next change.
            Err(e) if d.is_dir() => tracing::warn!("cannot watch {}: {e}", d.display()),
            Err(e) => tracing::debug!("cannot watch {}: {e}", d.display()),
        }
    }
    *watched = now;
    set
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
            let c = if glob_pattern(f).is_some() {
                // An include glob: the files it matches now.
                let paths = glob::glob(&f.to_string_lossy())
                    .map(|paths| paths.filter_map(Result::ok).collect())
                    .unwrap_or_default();
                Content::Dir(read_files(paths))
            } else if f.is_dir() {
                let paths = std::fs::read_dir(f)
                    .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
                    .unwrap_or_default();
                Content::Dir(read_files(paths))
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

/// The applied snapshot for a new file list (after a load listed other files): a path it had
/// keeps its content; a file new to the list that sits in an include directory it had takes
/// the content that directory had (what the load that listed it read, not what is on disk
/// now: a change made since is still seen); any other new path is read now.
fn carry(applied: &Snapshot, list: &[PathBuf]) -> Snapshot {
    list.iter()
        .map(|f| {
            if let Some((_, c)) = applied.iter().find(|(p, _)| p == f) {
                return (f.clone(), c.clone());
            }
            let in_dir = applied.iter().find_map(|(p, c)| match c {
                Content::Dir(entries)
                    if f.parent() == Some(p.as_path())
                        || (glob_pattern(p).is_some() && f.parent() == p.parent()) =>
                {
                    entries
                        .iter()
                        .find(|(q, _)| q == f)
                        .map(|(_, b)| Content::File(b.clone()))
                }
                _ => None,
            });
            match in_dir {
                Some(c) => (f.clone(), c),
                None => snapshot(std::slice::from_ref(f)).remove(0),
            }
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

/// The regular files among `paths` with their contents (unreadable as empty), sorted by path.
fn read_files(paths: Vec<PathBuf>) -> Vec<(PathBuf, Vec<u8>)> {
    let mut entries: Vec<(PathBuf, Vec<u8>)> = paths
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap_or_default();
            (p, b)
        })
        .collect();
    entries.sort();
    entries
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

    #[test]
    fn a_file_new_to_the_list_takes_the_content_its_include_dir_had() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("conf.d");
        std::fs::create_dir(&dir).unwrap();
        let main = d.path().join("k.conf");
        std::fs::write(&main, "include conf.d/*.conf\n").unwrap();
        std::fs::write(dir.join("a.conf"), "a").unwrap();
        let glob = dir.join("*.conf");
        let applied = snapshot(&[main.clone(), glob.clone()]);
        // Written again after the load listed it: the carried content is the applied one.
        std::fs::write(dir.join("a.conf"), "b").unwrap();
        let list = [main.clone(), dir.join("a.conf"), glob.clone()];
        let carried = carry(&applied, &list);
        assert_eq!(
            carried[1],
            (dir.join("a.conf"), Content::File(b"a".to_vec()))
        );
        assert_eq!(carried[2], applied[1]);
        assert_ne!(carried, snapshot(&list));
        std::fs::write(dir.join("a.conf"), "a").unwrap();
        assert_eq!(carried, snapshot(&list));
    }

    fn ev(kind: notify::EventKind, p: &Path) -> notify::Event {
        notify::Event::new(kind).add_path(p.to_path_buf())
    }

    fn modify() -> notify::EventKind {
        notify::EventKind::Modify(notify::event::ModifyKind::Any)
    }

    #[test]
    fn a_kubelet_configmap_mount_is_followed_through_both_links() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        let mnt = root.join("mnt");
        std::fs::create_dir_all(mnt.join("..2026_01_01_00_00_00.1")).unwrap();
        std::fs::write(mnt.join("..2026_01_01_00_00_00.1/keepalived.conf"), "a").unwrap();
        symlink("..2026_01_01_00_00_00.1", mnt.join("..data")).unwrap();
        symlink("..data/keepalived.conf", mnt.join("keepalived.conf")).unwrap();
        let s = WatchSet::resolve(&[mnt.join("keepalived.conf")]);
        for n in [
            "keepalived.conf",
            "..data",
            "..2026_01_01_00_00_00.1",
            "..2026_01_01_00_00_00.1/keepalived.conf",
        ] {
            assert!(s.names.contains(&mnt.join(n)), "{n}: {s:?}");
        }
        assert!(s.dirs.contains(&mnt));
        assert!(s.dirs.contains(&mnt.join("..2026_01_01_00_00_00.1")));
        // kubelet's swap: a new ..data link renamed over the old one.
        let rename = notify::EventKind::Modify(notify::event::ModifyKind::Name(
            notify::event::RenameMode::To,
        ));
        assert!(s.relevant(&ev(rename, &mnt.join("..data"))));
        // Its temporary link and other keys of the ConfigMap do not matter by themselves.
        assert!(!s.relevant(&ev(modify(), &mnt.join("..data_tmp"))));
        assert!(!s.relevant(&ev(modify(), &mnt.join("other.key"))));
        let access = notify::EventKind::Access(notify::event::AccessKind::Any);
        assert!(!s.relevant(&ev(access, &mnt.join("keepalived.conf"))));
        // After the swap the new timestamped directory is watched, the old one no more.
        std::fs::create_dir_all(mnt.join("..2026_01_01_00_01_00.2")).unwrap();
        std::fs::write(mnt.join("..2026_01_01_00_01_00.2/keepalived.conf"), "b").unwrap();
        symlink("..2026_01_01_00_01_00.2", mnt.join("..data_tmp")).unwrap();
        std::fs::rename(mnt.join("..data_tmp"), mnt.join("..data")).unwrap();
        std::fs::remove_dir_all(mnt.join("..2026_01_01_00_00_00.1")).unwrap();
        let s = WatchSet::resolve(&[mnt.join("keepalived.conf")]);
        assert!(s.dirs.contains(&mnt.join("..2026_01_01_00_01_00.2")));
        assert!(!s.dirs.contains(&mnt.join("..2026_01_01_00_00_00.1")));
        assert_eq!(
            snapshot(&[mnt.join("keepalived.conf")])[0].1,
            Content::File(b"b".to_vec())
        );
    }

    #[test]
    fn a_symlinked_file_watches_the_target_directory_and_an_include_dir_its_files() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("srv/conf.d")).unwrap();
        std::fs::write(root.join("srv/k.conf"), "x").unwrap();
        symlink(root.join("srv/k.conf"), root.join("etc/keepalived.conf")).unwrap();
        let s = WatchSet::resolve(&[root.join("etc/keepalived.conf"), root.join("srv/conf.d")]);
        assert!(s.dirs.contains(&root.join("etc")));
        assert!(s.dirs.contains(&root.join("srv")));
        assert!(s.dirs.contains(&root.join("srv/conf.d")));
        // sed -i renames its temporary file over the target.
        assert!(s.relevant(&ev(modify(), &root.join("srv/k.conf"))));
        assert!(!s.relevant(&ev(modify(), &root.join("srv/sedAb12"))));
        // A file appearing in the include directory.
        let create = notify::EventKind::Create(notify::event::CreateKind::File);
        assert!(s.relevant(&ev(create, &root.join("srv/conf.d/new.conf"))));
        // A glob as the loader lists it: only matching names matter, and only they are read.
        std::fs::write(root.join("srv/conf.d/a.conf"), "a").unwrap();
        std::fs::write(root.join("srv/conf.d/README"), "r").unwrap();
        let glob = root.join("srv/conf.d/*.conf");
        let s = WatchSet::resolve(std::slice::from_ref(&glob));
        assert!(s.dirs.contains(&root.join("srv/conf.d")));
        assert!(s.relevant(&ev(create, &root.join("srv/conf.d/new.conf"))));
        assert!(!s.relevant(&ev(create, &root.join("srv/conf.d/README"))));
        assert_eq!(
            snapshot(std::slice::from_ref(&glob))[0].1,
            Content::Dir(vec![(root.join("srv/conf.d/a.conf"), b"a".to_vec())])
        );
        // A link loop ends.
        symlink(root.join("loop2"), root.join("loop1")).unwrap();
        symlink(root.join("loop1"), root.join("loop2")).unwrap();
        let s = WatchSet::resolve(&[root.join("loop1")]);
        assert!(s.names.contains(&root.join("loop2")));
    }
}
