//! Online snapshots: [`Db::snapshot_into`] writes a consistent copy of the file with
//! `VACUUM INTO` while this process and others keep writing.

use std::path::PathBuf;

use super::{Db, blocking};
use crate::error::{Error, Result};

const VACUUM_INTO: &str = "VACUUM INTO ?1";

impl Db {
    /// Writes a consistent copy of the database to `dest`, a path that must not exist or
    /// be an empty file, and syncs it to disk.
    ///
    /// `VACUUM INTO` reads the whole file inside one read transaction, so the copy is the
    /// database as of one commit; in WAL mode that transaction never blocks writers. It
    /// runs on a pooled connection, never on the write connection, so this process's writes
    /// go on while it copies.
    ///
    /// # Errors
    /// A path that is not UTF-8, a target that already holds data, SQLite or I/O errors.
    pub async fn snapshot_into(&self, dest: PathBuf) -> Result<()> {
        self.ensure_current()?;
        let inner = self.inner.clone();
        blocking(move || {
            let target = dest.to_str().ok_or_else(|| Error::Storage {
                path: dest.clone(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a snapshot path must be UTF-8",
                ),
            })?;
            let conn = inner.pool.get()?;
            conn.execute(VACUUM_INTO, [target])?;
            drop(conn);
            std::fs::File::open(&dest)
                .and_then(|f| f.sync_all())
                .map_err(|cause| Error::Storage {
                    path: dest.clone(),
                    cause,
                })
        })
        .await?
    }
}
