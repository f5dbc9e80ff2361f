//! Errors of the queue engine.

use std::path::PathBuf;

use super::job::JobId;

/// Result alias for queue operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong enqueuing, claiming or administering jobs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The queue database failed.
    #[error(transparent)]
    Store(#[from] trifecta_store::Error),
    /// Job arguments could not be turned into JSON.
    #[error("job arguments cannot be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// No job with this id (or it is not in the state the operation needs).
    #[error("job {0} not found")]
    NotFound(JobId),
    /// The job exists but the operation does not apply to its state.
    #[error("job {id} is {state}; {operation} applies only to {allowed}")]
    WrongState {
        /// The job.
        id: JobId,
        /// Its current state.
        state: String,
        /// What was asked.
        operation: &'static str,
        /// States the operation accepts.
        allowed: &'static str,
    },
    /// A bulk operation does not apply to jobs in this state.
    #[error("{operation} applies only to {allowed}, not to {state} jobs")]
    StateNotAllowed {
        /// The state asked for.
        state: String,
        /// What was asked.
        operation: &'static str,
        /// States the operation accepts.
        allowed: &'static str,
    },
    /// The job was not enqueued: its concurrency limit was reached and it discards on
    /// conflict.
    #[error("job discarded: concurrency limit reached for {key}")]
    ConcurrencyDiscarded {
        /// The full concurrency key.
        key: String,
    },
    /// The group transaction carrying this operation failed to commit (the cause is
    /// logged); nothing of it was written.
    #[error("queue write failed; nothing was written")]
    WriteFailed,
    /// A search cursor is malformed, or belongs to another state's search.
    #[error(transparent)]
    InvalidCursor(#[from] crate::search::CursorError),
    /// A queue name is empty or malformed.
    #[error("invalid queue name {0:?}: use letters, digits, '_', '-', '.' or ':' (at most 128)")]
    InvalidQueueName(String),
    /// The recurring schedule file is unreadable or invalid.
    #[error("recurring schedule {path}: {reason}")]
    Recurring {
        /// The file.
        path: PathBuf,
        /// What is wrong, in one line.
        reason: String,
    },
    /// No recurring task has this key (or its row names no job class to run).
    #[error("no recurring task {0:?}")]
    UnknownTask(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(trifecta_store::Error::Sqlite(e))
    }
}
