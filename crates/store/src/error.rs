//! Errors of the storage layer.

use std::path::PathBuf;

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong opening, migrating or querying a database file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage directory could not be created or used.
    #[error("storage directory {path} is not usable: {cause}")]
    Storage {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The environment name is not a safe file-name part.
    #[error("invalid environment name {0:?}: use letters, digits, '_' or '-' (at most 64)")]
    InvalidEnv(String),
    /// The file exists but SQLite cannot use it as a database.
    #[error("{db} database {path} cannot be opened: {reason}")]
    Open {
        /// Store name.
        db: &'static str,
        /// File path.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// A migration failed to apply.
    #[error("{db} database: migration {migration} failed: {reason}")]
    Migration {
        /// Store name.
        db: &'static str,
        /// The migration, as `V{n}__{name}`, or `?` when refinery did not say.
        migration: String,
        /// Why, in words.
        reason: String,
    },
    /// The file was migrated by a newer trifecta than this one.
    #[error(
        "{db} database {path} has schema version {found}, newer than this binary knows ({known}); run a newer trifecta"
    )]
    NewerSchema {
        /// Store name.
        db: &'static str,
        /// File path.
        path: PathBuf,
        /// Highest applied version in the file.
        found: i64,
        /// Highest version embedded in this binary.
        known: i64,
    },
    /// A store on PostgreSQL was migrated by a newer trifecta than this one.
    #[error(
        "{db} store on PostgreSQL has schema version {found}, newer than this binary knows ({known}); run a newer trifecta"
    )]
    NewerPgSchema {
        /// Store name.
        db: &'static str,
        /// Highest applied version.
        found: i64,
        /// Highest version embedded in this binary.
        known: i64,
    },
    /// A store on PostgreSQL has not been migrated to this binary's schema yet.
    #[error(
        "{db} store on PostgreSQL has schema version {found}, older than this binary's ({known}); upgrade it with `trifecta migrate`"
    )]
    OlderPgSchema {
        /// Store name.
        db: &'static str,
        /// Highest applied version.
        found: i64,
        /// Highest version embedded in this binary.
        known: i64,
    },
    /// A PostgreSQL operation failed: the server could not be reached, no pooled connection
    /// was free in time, or a statement failed.
    #[error("{db} store on PostgreSQL: {cause}")]
    Postgres {
        /// Store name.
        db: &'static str,
        /// The driver's or the pool's error.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An admin command found no databases to work on (it never creates them).
    #[error(
        "{dir} holds no trifecta databases for environment {env:?} ({missing} is missing); run `trifecta migrate --storage {dir}` to create them"
    )]
    Missing {
        /// The storage directory.
        dir: PathBuf,
        /// The environment.
        env: String,
        /// The first missing file or directory.
        missing: String,
    },
    /// The file has not been migrated to this binary's schema yet.
    #[error(
        "{db} database {path} has schema version {found}, older than this binary's ({known}); upgrade it with `trifecta migrate` (after a backup taken by the trifecta that wrote it)"
    )]
    OlderSchema {
        /// Store name.
        db: &'static str,
        /// File path.
        path: PathBuf,
        /// Highest applied version in the file.
        found: i64,
        /// Highest version embedded in this binary.
        known: i64,
    },
    /// A restore holds the storage directory.
    #[error("storage directory {0} is being restored; start again when `trifecta restore` ends")]
    Restoring(PathBuf),
    /// A server (or another restore) holds the storage directory.
    #[error("a trifecta server (or another restore) is running on {0}; stop it first")]
    InUse(PathBuf),
    /// No pooled connection became free in time.
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A query failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The closure running the query panicked (with this message).
    #[error("database call panicked: {0}")]
    Panic(String),
    /// The file this handle opened was deleted or replaced while in use; the handle refuses
    /// all work until a restart, rather than use a different file than other processes.
    #[error("{db} database {path} was deleted or replaced while in use; restart to open it again")]
    Retired {
        /// Store name.
        db: &'static str,
        /// File path.
        path: PathBuf,
    },
    /// A write with a deadline ([`crate::Db::write_within`]) gave up while this
    /// process's earlier writes to the file still held it.
    #[error("{db} database busy: this process's other writes held it for {waited:?}")]
    WriteQueueTimeout {
        /// Store name.
        db: &'static str,
        /// How long the write waited.
        waited: std::time::Duration,
    },
}

impl Error {
    /// True when SQLite reported the database busy or locked (another writer holds it), or
    /// a write with a deadline gave up waiting for this process's other writes.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) || matches!(self, Error::WriteQueueTimeout { .. })
    }

    /// The SQLSTATE PostgreSQL answered a failed statement with (`40P01` for a deadlock),
    /// if this is such a failure.
    pub fn sql_state(&self) -> Option<&tokio_postgres::error::SqlState> {
        let Error::Postgres { cause, .. } = self else {
            return None;
        };
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(tokio_postgres::Error::code)
    }
}
