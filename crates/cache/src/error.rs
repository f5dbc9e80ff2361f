//! Errors of the cache engine. The request-facing API never returns them (a failure is a
//! miss or a dropped write, logged); the admin calls (`inspect`, `try_delete`, `clear`,
//! `stats`) and the expiry pass do.

/// Result alias for cache operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong talking to the cache file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database was busy, locked, unreadable, or a query failed.
    #[error(transparent)]
    Store(#[from] trifecta_store::Error),
    /// A value could not be encoded or decoded as JSON.
    #[error("cache value is not valid for this type: {0}")]
    Codec(#[from] serde_json::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(trifecta_store::Error::from(e))
    }
}

impl Error {
    /// True when SQLite reported the file busy or locked by another connection.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_busy())
    }
}
