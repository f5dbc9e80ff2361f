//! Failing closed when a file goes away, and proving a file can still be written.
//!
//! SQLite keeps using an open file after it is deleted or replaced, and a new connection to
//! the path would open (or create) another file: either way, this process and the others
//! sharing the storage would work on different data. So each [`Db`] remembers the device
//! and inode of the file it opened; [`Db::verify_identity`] (run on every `/up` and on the
//! server's beat) compares them with the path's, and on a difference retires the handle for
//! good: every later call fails with [`Error::Retired`] until a restart opens the files anew.
//!
//! [`Db::check`] is the health check: the identity, then one real write (a row of the
//! `trifecta_probe` table every store has), so a read-only or full disk, or a lock held too
//! long, reports the store unavailable.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Db;
use crate::error::{Error, Result};

/// Longest wait of the write probe for the file's write lock.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

const PROBE: &str = "INSERT INTO trifecta_probe (id, writes) VALUES (1, 1)
     ON CONFLICT (id) DO UPDATE SET writes = writes + 1";

/// Where a file lives on its device: what stays equal as long as it is the same file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file at `path` (`None` on platforms without inodes).
    ///
    /// # Errors
    /// The file cannot be inspected (missing, or no permission).
    pub(super) fn of(path: &Path) -> std::io::Result<Option<Self>> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Some(Self {
                dev: meta.dev(),
                ino: meta.ino(),
            }))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Ok(None)
        }
    }
}

impl Db {
    /// Fails with [`Error::Retired`] once the handle is retired.
    pub(super) fn ensure_current(&self) -> Result<()> {
        if self.inner.retired.load(Ordering::Acquire) {
            Err(self.retired_error())
        } else {
            Ok(())
        }
    }

    /// Whether the handle stopped using its file (see the module docs).
    pub fn is_retired(&self) -> bool {
        self.inner.retired.load(Ordering::Acquire)
    }

    /// Checks that the file at the path is still the file this handle opened, and retires
    /// the handle (logged once) when it is not: deleted, or replaced by another file.
    ///
    /// # Errors
    /// [`Error::Retired`] when the handle is (now) retired.
    pub fn verify_identity(&self) -> Result<()> {
        self.ensure_current()?;
        let Some(opened) = self.inner.identity else {
            return Ok(());
        };
        let now = match FileId::of(&self.inner.path) {
            Ok(now) => now,
            // Missing is the one answer that proves the file is gone; other errors (a
            // permission change, say) are reported by the write probe instead.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return Ok(()),
        };
        if now == Some(opened) {
            return Ok(());
        }
        if !self.inner.retired.swap(true, Ordering::AcqRel) {
            tracing::error!(
                db = self.inner.name,
                path = %self.inner.path.display(),
                found = if now.is_some() { "another file" } else { "no file" },
                "database file deleted or replaced while in use; this store stops until a restart"
            );
        }
        Err(self.retired_error())
    }

    /// Health check: the file is still the one opened, and one real write commits.
    ///
    /// # Errors
    /// [`Error::Retired`], or why the write failed (read-only or full disk, a lock held
    /// past the probe's timeout, ...).
    pub async fn check(&self) -> Result<()> {
        self.verify_identity()?;
        self.write_within(PROBE_TIMEOUT, |tx| -> Result<()> {
            tx.prepare_cached(PROBE)?.execute([])?;
            Ok(())
        })
        .await
    }

    fn retired_error(&self) -> Error {
        Error::Retired {
            db: self.inner.name,
            path: self.inner.path.clone(),
        }
    }
}
