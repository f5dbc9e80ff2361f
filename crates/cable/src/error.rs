//! Errors of the Solid Cable engine.

/// Result alias for cable operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong broadcasting or polling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The payload is not one valid JSON value.
    #[error("the payload is not valid JSON: {0}")]
    InvalidPayload(String),
    /// The channel name is empty or longer than [`super::MAX_CHANNEL_LEN`] bytes.
    #[error("the channel name must be 1 to {max} bytes long, got {len}", max = super::MAX_CHANNEL_LEN)]
    InvalidChannel {
        /// Its length in bytes.
        len: usize,
    },
    /// The cable database failed.
    #[error(transparent)]
    Store(#[from] trifecta_store::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(trifecta_store::Error::from(e))
    }
}
