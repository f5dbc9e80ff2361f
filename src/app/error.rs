//! Errors of the domain layer. Each says, in words fit for a user, what was wrong.

use crate::store;

/// Result alias for domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a domain operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such record, or one the user may not see (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// The user may see the record but not change it.
    #[error("you are not allowed to do that")]
    Forbidden,
    /// Input failed validation; `field` names the form field.
    #[error("{field} {message}")]
    Invalid {
        /// Form field name (`email_address`, `password`, `name`, ...).
        field: &'static str,
        /// What is wrong, e.g. "has already been taken".
        message: String,
    },
    /// Something on our side failed (not the database); `what` and the cause are for logs
    /// only.
    #[error("{what}")]
    Internal {
        /// What was being done, e.g. "password hashing failed".
        what: &'static str,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database failed; the detail is for logs only.
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
            other => Error::Store(store::Error::Sqlite(other)),
        }
    }
}

impl Error {
    /// A validation error on `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A failure on our side while doing `what`, keeping its cause.
    pub fn internal(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            what,
            source: source.into(),
        }
    }
}
