//! The data directory: its lock, its journal segments and its snapshots.
//!
//! ```text
//! DIR/LOCK                          held (flock) while a server runs; its pid
//! DIR/journal-00000000000000000007.log   segment 7: the records after snapshot 7
//! DIR/snapshot-00000000000000000007.bin  the state at the start of segment 7
//! ```
//!
//! Snapshot n is the state before the first record of segment n, so
//! recovery loads the newest whole snapshot and replays the segments from
//! its number on.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The path of segment `index` in the directory `dir`.
pub fn segment_file(dir: &Path, index: u64) -> PathBuf {
    dir.join(numbered("journal-", ".log", index))
}

/// A data directory held by this process (the lock goes with the value).
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("cannot use the data directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the data directory {path} is in use by another tickwire server{holder}; stop it, or give this one another --data-dir (or --ephemeral)"
    )]
    Locked { path: PathBuf, holder: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> DirError + '_ {
    move |source| DirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn numbered(prefix: &str, suffix: &str, index: u64) -> String {
    format!("{prefix}{index:020}{suffix}")
}

fn number_of(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// Writes `bytes` as the file `path` in `dir`, whole or not at all: under
/// `tmp` first, synced, then renamed into place and the directory synced,
/// so a crash at any point leaves no `path` or all of it. Returns the
/// file, open for writing at its end.
pub fn write_whole(dir: &Path, tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<File> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(tmp, path)?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

impl DataDir {
    /// Creates the directory if missing and takes its lock.
    pub fn open(path: &Path) -> Result<DataDir, DirError> {
        fs::create_dir_all(path).map_err(io_error(path))?;
        let lock_path = path.join("LOCK");
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                return Err(DirError::Locked {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
        }
        lock.set_len(0).map_err(io_error(&lock_path))?;
        writeln!(lock, "{}", std::process::id()).map_err(io_error(&lock_path))?;
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn segment_path(&self, index: u64) -> PathBuf {
        segment_file(&self.path, index)
    }

    pub fn snapshot_path(&self, index: u64) -> PathBuf {
        self.path.join(numbered("snapshot-", ".bin", index))
    }

    fn numbers(&self, prefix: &str, suffix: &str) -> Result<Vec<u64>, DirError> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.path).map_err(io_error(&self.path))? {
            let entry = entry.map_err(io_error(&self.path))?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|name| number_of(name, prefix, suffix))
            {
                found.push(n);
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Journal segment numbers, oldest first.
    pub fn segments(&self) -> Result<Vec<u64>, DirError> {
        self.numbers("journal-", ".log")
    }

    /// Snapshot numbers, oldest first.
    pub fn snapshots(&self) -> Result<Vec<u64>, DirError> {
        self.numbers("snapshot-", ".bin")
    }

    /// Writes snapshot `index` whole or not at all (`write_whole`).
    pub fn write_snapshot(&self, index: u64, bytes: &[u8]) -> Result<(), DirError> {
        let path = self.snapshot_path(index);
        write_whole(&self.path, &path.with_extension("tmp"), &path, bytes)
            .map_err(io_error(&path))?;
        Ok(())
    }

    /// Makes created, renamed and removed names durable.
    pub fn sync(&self) -> Result<(), DirError> {
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(io_error(&self.path))
    }

    /// Deletes snapshots and segments numbered below `keep_from` (called
    /// once a newer snapshot is durable).
    pub fn remove_before(&self, keep_from: u64) -> Result<usize, DirError> {
        let mut removed = 0;
        for n in self.segments()?.into_iter().filter(|&n| n < keep_from) {
            let path = self.segment_path(n);
            fs::remove_file(&path).map_err(io_error(&path))?;
            removed += 1;
        }
        for n in self.snapshots()?.into_iter().filter(|&n| n < keep_from) {
            let path = self.snapshot_path(n);
            fs::remove_file(&path).map_err(io_error(&path))?;
            removed += 1;
        }
        if removed > 0 {
            self.sync()?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_is_refused_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("tickwire-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = DataDir::open(&dir).expect("first open");
        let second = DataDir::open(&dir);
        assert!(
            matches!(&second, Err(DirError::Locked { holder, .. }) if holder.contains(&std::process::id().to_string())),
            "{:?}",
            second.err()
        );
        drop(first);
        let again = DataDir::open(&dir).expect("open after release");
        again.write_snapshot(3, b"state").expect("snapshot");
        fs::write(again.segment_path(2), b"x").expect("segment");
        fs::write(again.segment_path(3), b"y").expect("segment");
        assert_eq!(again.snapshots().ok(), Some(vec![3]));
        assert_eq!(again.segments().ok(), Some(vec![2, 3]));
        assert_eq!(again.remove_before(3).ok(), Some(1));
        assert_eq!(again.segments().ok(), Some(vec![3]));
        drop(again);
        let _ = fs::remove_dir_all(&dir);
    }
}
