//! [`StorageLock`]: an advisory `flock` on `<storage>/trifecta.lock` that says who is using
//! a storage directory. Every server holds it shared for its lifetime (so several servers
//! share one directory), and a restore holds it exclusively (so it never replaces files
//! under a server, and no server starts on half-restored files). The kernel drops the lock
//! when the process ends, however it ends, so a `kill -9` never leaves a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::error::{Error, Result};

/// Name of the lock file in the storage directory.
pub const FILE_NAME: &str = "trifecta.lock";

/// A held lock on a storage directory; released on drop.
#[derive(Debug)]
pub struct StorageLock {
    _file: File,
    dir: PathBuf,
}

impl StorageLock {
    /// Takes the lock shared, as a server does, creating `dir` and the lock file if needed.
    ///
    /// # Errors
    /// [`Error::Restoring`] while a restore holds it, or an unusable directory.
    pub fn shared(dir: &Path) -> Result<Self> {
        let file = open(dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self::held(file, dir)),
            Err(TryLockError::WouldBlock) => Err(Error::Restoring(dir.to_path_buf())),
            Err(TryLockError::Error(cause)) => Err(storage(dir, cause)),
        }
    }

    /// Takes the lock exclusively, as a restore does, creating `dir` and the lock file if
    /// needed.
    ///
    /// # Errors
    /// [`Error::InUse`] while any server (or another restore) holds it, or an unusable
    /// directory.
    pub fn exclusive(dir: &Path) -> Result<Self> {
        let file = open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self::held(file, dir)),
            Err(TryLockError::WouldBlock) => Err(Error::InUse(dir.to_path_buf())),
            Err(TryLockError::Error(cause)) => Err(storage(dir, cause)),
        }
    }

    fn held(file: File, dir: &Path) -> Self {
        Self {
            _file: file,
            dir: dir.to_path_buf(),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn open(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(|cause| storage(dir, cause))?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(dir.join(FILE_NAME))
        .map_err(|cause| storage(dir, cause))
}

fn storage(dir: &Path, cause: std::io::Error) -> Error {
    Error::Storage {
        path: dir.to_path_buf(),
        cause,
    }
}
