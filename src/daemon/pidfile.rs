//! The pid file (`-p`): written at start, locked while we run (so a second daemon on the same
//! file is refused, while daemons with distinct files run side by side), removed at exit.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A held pid file; dropping it removes the file.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _file: File,
}

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// Another process holds the lock.
    #[error("{path}: another keepalived-rs (pid {pid}) is already running with this pid file")]
    Running {
        /// The file.
        path: String,
        /// The pid written in it.
        pid: String,
    },
    /// IO error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
}

impl PidFile {
    /// Creates (mode 0644), locks and writes our pid.
    pub fn acquire(path: &Path) -> Result<Self, PidFileError> {
        let io_err = |source| PidFileError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(io_err)?;
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(io_err)?;
        if crate::sys::process::lock_exclusive(&file).is_err() {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(PidFileError::Running {
                path: path.display().to_string(),
                pid: pid.trim().to_string(),
            });
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        file.flush().map_err(io_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            _file: file,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_distinct_files_coexist() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pid");
        let p1 = PidFile::acquire(&a).unwrap();
        assert_eq!(
            std::fs::read_to_string(&a).unwrap().trim(),
            std::process::id().to_string()
        );
        // flock is per open file description: a second open in the same process conflicts too.
        assert!(matches!(
            PidFile::acquire(&a),
            Err(PidFileError::Running { .. })
        ));
        let _p2 = PidFile::acquire(&dir.path().join("b.pid")).unwrap();
        drop(p1);
        assert!(!a.exists());
        let _p3 = PidFile::acquire(&a).unwrap();
    }
}
