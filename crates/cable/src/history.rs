//! History and saved sessions, for clients that resume after a dropped connection
//! (AnyCable's reliable streams).
//!
//! A message's offset is its id: ids grow in commit order on both backends, so "every message
//! of this stream after offset N" is exact, across the processes sharing the store and across
//! restarts. The store's epoch names its history; an offset from another epoch (a new cable
//! file, a new database) means nothing here. A gap is replayed whole or not at all: it is
//! refused when a message in it may have been trimmed, when it holds more than the history
//! limit, or when its first message is older than the history TTL.
//!
//! Saved sessions are opaque text kept with an expiry, for the ActionCable server to restore
//! a reconnecting client on any process.

use std::sync::Arc;

use trifecta_store::Timestamp;

use super::store::Window;
use super::{Cable, Message, Result};

/// Where a history read starts, for one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// After the message with this offset (id), which the client got in `epoch`.
    Offset {
        /// The epoch the client's offset belongs to.
        epoch: String,
        /// The last offset the client got.
        offset: i64,
    },
    /// Every message created at or after this time.
    Since(Timestamp),
}

/// The answer to a history read.
#[derive(Clone, Debug)]
pub enum History {
    /// Every message of the gap, in order (possibly none).
    Replay(Vec<Message>),
    /// The gap cannot be replayed whole.
    Gap(Gap),
}

/// Why a gap cannot be replayed whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Gap {
    /// The offset belongs to another epoch.
    #[error("the offset belongs to another epoch")]
    Epoch,
    /// The offset is past the newest message (a store restored from an older copy).
    #[error("the offset is ahead of the history")]
    Ahead,
    /// Messages after the offset (or time) may have been trimmed.
    #[error("messages of the gap were trimmed")]
    Trimmed,
    /// The gap holds more messages than the history limit.
    #[error("the gap holds more messages than the history limit")]
    TooLong,
    /// The gap's first message is older than the history TTL.
    #[error("the gap is older than the history TTL")]
    TooOld,
}

impl Cable {
    /// The epoch of the store's history (fixed for the store's life; read once).
    ///
    /// # Errors
    /// The store could not be read.
    pub async fn epoch(&self) -> Result<Arc<str>> {
        let epoch = self
            .inner
            .epoch
            .get_or_try_init(|| async {
                let (epoch, _) = self.inner.db.meta().await?;
                Ok::<_, super::Error>(Arc::<str>::from(epoch))
            })
            .await?;
        Ok(epoch.clone())
    }

    /// The messages of `stream` from `start` up to id `upto` (the floor of a registration
    /// made for the same stream, so the replay and the live delivery meet with no overlap
    /// and no hole), or why the gap cannot be replayed whole.
    ///
    /// # Errors
    /// The store could not be read.
    pub async fn history(&self, stream: &str, start: &Start, upto: i64) -> Result<History> {
        let config = &self.inner.config;
        let now = self.inner.clock.now();
        let window = match start {
            Start::Offset { epoch, offset } => {
                if **epoch != *self.epoch().await? {
                    return Ok(History::Gap(Gap::Epoch));
                }
                if *offset > upto {
                    return Ok(History::Gap(Gap::Ahead));
                }
                Window::After(*offset)
            }
            Start::Since(t) => {
                // Trimmed messages were created before the retention's cutoff.
                if *t < now - config.message_retention {
                    return Ok(History::Gap(Gap::Trimmed));
                }
                Window::Since(*t)
            }
        };
        let limit = config.history_limit;
        let (messages, trimmed) = self
            .inner
            .db
            .stream_messages(stream, window, upto, limit.saturating_add(1))
            .await?;
        if let Window::After(offset) = window
            && offset < trimmed
        {
            return Ok(History::Gap(Gap::Trimmed));
        }
        if messages.len() > limit as usize {
            return Ok(History::Gap(Gap::TooLong));
        }
        if messages
            .first()
            .is_some_and(|m| m.created_at < now - config.history_ttl)
        {
            return Ok(History::Gap(Gap::TooOld));
        }
        Ok(History::Replay(messages))
    }

    /// Saves a session's `state` under `sid` for the session TTL from now (replacing any
    /// earlier save).
    ///
    /// # Errors
    /// The store could not be written.
    pub async fn save_session(&self, sid: &str, state: String) -> Result<()> {
        let expires = self.inner.clock.now() + self.inner.config.session_ttl;
        self.inner
            .db
            .save_session(sid.to_owned(), state, expires)
            .await
    }

    /// Moves the session `old` to the id `new` for the session TTL from now and returns its
    /// state, unless it expired or never was: in one write, `old` is restored at most once
    /// and `new` is saved as it was.
    ///
    /// # Errors
    /// The store could not be written.
    pub async fn renew_session(&self, old: &str, new: &str) -> Result<Option<String>> {
        let now = self.inner.clock.now();
        let expires = now + self.inner.config.session_ttl;
        self.inner
            .db
            .renew_session(old.to_owned(), new.to_owned(), now, expires)
            .await
    }

    /// Deletes expired sessions, in batches; returns how many.
    ///
    /// # Errors
    /// A store failure (sessions deleted by earlier batches stay deleted).
    pub async fn trim_sessions(&self) -> Result<usize> {
        let now = self.inner.clock.now();
        let batch = self.inner.config.trim_batch_size;
        let mut total = 0;
        loop {
            let n = self.inner.db.trim_sessions(now, batch).await?;
            total += n;
            if n < batch as usize {
                return Ok(total);
            }
        }
    }
}
