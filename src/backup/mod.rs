//! Online backups and restores of a storage directory.
//!
//! A backup is a directory holding a consistent copy of each of the four databases (taken
//! with `VACUUM INTO` through the store's handle while servers keep writing, see
//! [`crate::store::Db::snapshot_into`]), the `secret_key_base` file when there is one (so
//! session cookies and public ids stay valid), and `manifest.json`: when, by which trifecta,
//! the schema version and the SHA-256 of every file. It is written into a temporary
//! sibling directory and renamed into place at the end, so a failed backup never leaves
//! a directory that looks complete.
//!
//! - [`create`]: `trifecta backup DEST`, and each run of the scheduled backup.
//! - [`restore()`]: `trifecta restore SRC`, checks checksums and `integrity_check` first.
//! - [`schedule`]: `serve --backup-every`, a recurring job that runs once per period
//!   whichever server's worker takes it, and keeps the newest `--backup-keep`.

mod files;
mod restore;
pub mod schedule;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store;
use crate::stores::{StoreKind, Stores};

pub use restore::{Restored, restore};
pub use schedule::BackupArgs;

/// Name of the manifest in a backup directory.
pub const MANIFEST: &str = "manifest.json";

/// Version of the backup layout this binary writes and reads.
pub const FORMAT: u32 = 1;

/// The `kind` of the secret's entry in the manifest.
pub const SECRET_KIND: &str = "secret_key_base";

/// Errors of taking or restoring a backup.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// Opening or copying a database failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A store is on PostgreSQL, which this backup (of SQLite files) cannot copy.
    #[error(
        "the {0} store(s) are on PostgreSQL; trifecta backup copies SQLite files only: back PostgreSQL up with pg_dump or its own backup tools"
    )]
    OnPostgres(String),
    /// The destination of a backup exists already.
    #[error("backup destination {0} already exists; name a new directory")]
    Exists(PathBuf),
    /// The source of a restore is not a backup this binary can read.
    #[error("{path} is not a trifecta backup: {reason}")]
    NotABackup {
        /// The source directory.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// A file of the backup does not match the manifest.
    #[error("backup file {path} does not match manifest.json ({reason}); the backup is damaged")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A database of the backup fails SQLite's `integrity_check`.
    #[error("backup file {path} fails integrity_check: {first}")]
    Integrity {
        /// The file.
        path: PathBuf,
        /// The first problem reported.
        first: String,
    },
    /// A database of the backup was written by a newer trifecta.
    #[error(
        "backup file {path} has schema version {found}, newer than this binary knows ({known}); restore it with a newer trifecta"
    )]
    NewerBackup {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        known: i64,
    },
    /// The target of a restore holds data and `--force` was not given.
    #[error("{dir} already holds trifecta data ({found}); pass --force to replace it")]
    TargetNotEmpty {
        /// The storage directory.
        dir: PathBuf,
        /// The files found, comma-separated.
        found: String,
    },
    /// A blocking task failed.
    #[error("backup task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `manifest.json` of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// When the backup was taken (RFC 3339, UTC).
    pub created_at: String,
    /// Version of the trifecta that took it.
    pub trifecta_version: String,
    /// Environment the databases belonged to.
    pub env: String,
    /// Every file of the backup but the manifest.
    pub files: Vec<FileEntry>,
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// `app`, `queue`, `cache`, `cable` or [`SECRET_KIND`].
    pub kind: String,
    /// File name inside the backup directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Schema version (databases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
}

impl FileEntry {
    /// Whether `name` is a plain file name, so the file lies inside the backup directory
    /// (no separator, no `..`); a restore refuses any other.
    pub fn has_plain_name(&self) -> bool {
        Path::new(&self.name)
            .file_name()
            .is_some_and(|n| n == self.name.as_str())
    }
}

impl Manifest {
    /// The entry of `kind`, if the backup has one.
    pub fn entry(&self, kind: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.kind == kind)
    }
}

/// Refuses a backup or a restore when any of the stores named by `on_postgres` is on
/// PostgreSQL: these copy SQLite files only.
///
/// # Errors
/// [`Error::OnPostgres`] naming them.
pub fn files_only(on_postgres: &[&str]) -> Result<()> {
    if on_postgres.is_empty() {
        Ok(())
    } else {
        Err(Error::OnPostgres(on_postgres.join(", ")))
    }
}

/// Takes a backup of the four databases of `stores` (environment `env`, storage directory
/// `storage`, where the `secret_key_base` file is looked for) into the new directory
/// `dest`, while servers keep serving.
///
/// # Errors
/// An existing `dest`, or I/O and database errors; nothing is left at `dest` then.
pub async fn create(stores: &Stores, storage: &Path, env: &str, dest: &Path) -> Result<Manifest> {
    files_only(&stores.postgres_stores())?;
    let dest = dest.to_path_buf();
    let tmp = {
        let (dest, env) = (dest.clone(), env.to_owned());
        tokio::task::spawn_blocking(move || files::prepare(&dest, &env)).await??
    };
    let taken = async {
        for kind in StoreKind::ALL {
            let path = tmp.join(kind.file_name(env));
            if let Some(db) = stores.get(kind).sqlite() {
                db.snapshot_into(path).await?;
            }
        }
        let (storage, env, tmp, dest) = (
            storage.to_path_buf(),
            env.to_owned(),
            tmp.clone(),
            dest.clone(),
        );
        tokio::task::spawn_blocking(move || files::finish(&storage, &env, &tmp, &dest)).await?
    }
    .await;
    if taken.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    taken
}

/// Reads and parses `manifest.json` of the backup at `src`.
///
/// # Errors
/// [`Error::NotABackup`] when it is missing, unreadable, or of an unknown format.
pub fn read_manifest(src: &Path) -> Result<Manifest> {
    let not = |reason: String| Error::NotABackup {
        path: src.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(src.join(MANIFEST))
        .map_err(|e| not(format!("cannot read {MANIFEST}: {e}")))?;
    parse_manifest(src, &text)
}

/// Parses the text of `manifest.json` of the backup at `src` (named in errors).
///
/// # Errors
/// [`Error::NotABackup`] when it is not a manifest, or of an unknown format.
pub fn parse_manifest(src: &Path, text: &str) -> Result<Manifest> {
    let not = |reason: String| Error::NotABackup {
        path: src.to_path_buf(),
        reason,
    };
    let manifest: Manifest =
        serde_json::from_str(text).map_err(|e| not(format!("invalid {MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(not(format!(
            "{MANIFEST} has format {}, this trifecta reads format {FORMAT}",
            manifest.format
        )));
    }
    Ok(manifest)
}
