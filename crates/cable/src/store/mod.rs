//! The store seam of Solid Cable: one table, `solid_cable_messages`, in an SQLite file
//! (`sqlite`) or on a PostgreSQL server (`postgres`). [`Store`] is what the engine calls;
//! each operation is one transaction on one backend, and the engine above (publish, listener,
//! trimmer, hub) is the same on both.
//!
//! The guarantee both keep: ids are committed in the order they are handed out, so a reader
//! that asks for `id > last` never steps over a row that commits late. SQLite has one writer
//! at a time, which gives it for free; on PostgreSQL publishes take a transaction-scoped
//! advisory lock.

mod postgres;
pub(crate) mod presence;
mod sqlite;

use std::sync::Arc;

use sha2::{Digest, Sha256};
use trifecta_store::{Backend, Timestamp};

use super::{Message, Result};

pub(crate) use postgres::NOTIFY_CHANNEL;

/// Solid Cable's `channel_hash`: the first 8 bytes of SHA-256(channel) as a signed big-endian
/// integer, so lookups use an integer index instead of comparing long blobs.
pub fn channel_hash(channel: &str) -> i64 {
    let digest = Sha256::digest(channel.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// What the table holds, for `trifecta cable stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableStats {
    /// Messages stored.
    pub messages: i64,
    /// Distinct channels among them.
    pub channels: i64,
    /// Highest id ever handed out (0 when none).
    pub max_id: i64,
    /// Creation time of the oldest stored message.
    pub oldest: Option<Timestamp>,
    /// Creation time of the newest stored message.
    pub newest: Option<Timestamp>,
    /// Bytes of payload stored.
    pub payload_bytes: i64,
}

/// Which of a stream's messages a history read wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// Those with an id above this.
    After(i64),
    /// Those created at or after this.
    Since(Timestamp),
}

/// The cable's store: its operations on whichever [`Backend`] it is. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Store(pub(crate) Backend);

impl Store {
    /// Appends one message; returns its id.
    pub(crate) async fn insert(
        &self,
        channel: String,
        payload: String,
        now: Timestamp,
    ) -> Result<(i64, String, String)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| {
                    sqlite::insert(tx, &channel, &payload, now).map(|id| (id, channel, payload))
                })
                .await
            }
            Backend::Postgres(pg) => {
                let id = postgres::insert(pg, &channel, &payload, now).await?;
                Ok((id, channel, payload))
            }
        }
    }

    /// The highest message id, 0 for an empty table.
    pub(crate) async fn max_id(&self) -> Result<i64> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::max_id(conn)).await,
            Backend::Postgres(pg) => postgres::max_id(pg).await,
        }
    }

    /// In one snapshot: the highest id, and the messages with `after < id` on any of
    /// `hashes` (a JSON array of channel hashes), in id order, at most `limit`. `after` of
    /// `None` means "from the highest id on" (nothing is read).
    pub(crate) async fn poll(
        &self,
        after: Option<i64>,
        hashes: Arc<str>,
        limit: u32,
    ) -> Result<(i64, Vec<Message>)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| {
                    let max = sqlite::max_id(conn)?;
                    let after = after.unwrap_or(max);
                    if max <= after {
                        return Ok((max, Vec::new()));
                    }
                    Ok((max, sqlite::fetch(conn, after, &hashes, limit)?))
                })
                .await
            }
            Backend::Postgres(pg) => postgres::poll(pg, after, &hashes, limit).await,
        }
    }

    /// A cheap token that changes whenever another connection commits to the store, where
    /// the backend has one (SQLite's `data_version`); while it is unchanged, nothing new can
    /// be there.
    pub(crate) fn data_version(&self) -> Option<i64> {
        match &self.0 {
            Backend::Sqlite(db) => db.data_version().ok(),
            Backend::Postgres(_) => None,
        }
    }

    /// Deletes at most `limit` messages created before `cutoff`; returns how many.
    pub(crate) async fn trim_batch(&self, cutoff: Timestamp, limit: u32) -> Result<usize> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::trim_batch(tx, cutoff, limit))
                    .await
            }
            Backend::Postgres(pg) => postgres::trim_batch(pg, cutoff, limit).await,
        }
    }

    /// The history's epoch and the highest message id ever trimmed.
    pub(crate) async fn meta(&self) -> Result<(String, i64)> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::meta(conn)).await,
            Backend::Postgres(pg) => postgres::meta(pg).await,
        }
    }

    /// The messages of `channel` in `from`, up to id `upto`, in id order, at most `limit`;
    /// then the trim mark (the highest id ever trimmed), read after them: a trim that
    /// removed any of the window's rows before they were read shows in the mark, so a
    /// window read whole is never mistaken for one read in part.
    pub(crate) async fn stream_messages(
        &self,
        channel: &str,
        from: Window,
        upto: i64,
        limit: u32,
    ) -> Result<(Vec<Message>, i64)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                let channel = channel.to_owned();
                db.call(move |conn| {
                    let messages = sqlite::stream_messages(conn, &channel, from, upto, limit)?;
                    Ok((messages, sqlite::meta(conn)?.1))
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::stream_messages(pg, channel, from, upto, limit).await
            }
        }
    }

    /// Saves (or replaces) a session's state until `expires_at`.
    pub(crate) async fn save_session(
        &self,
        sid: String,
        state: String,
        expires_at: Timestamp,
    ) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::save_session(tx, &sid, &state, expires_at))
                    .await
            }
            Backend::Postgres(pg) => postgres::save_session(pg, &sid, &state, expires_at).await,
        }
    }

    /// Moves the session `old` (unexpired at `now`) to `new`, expiring at `expires_at`;
    /// returns its state.
    pub(crate) async fn renew_session(
        &self,
        old: String,
        new: String,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Option<String>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::renew_session(tx, &old, &new, now, expires_at))
                    .await
            }
            Backend::Postgres(pg) => postgres::renew_session(pg, &old, &new, now, expires_at).await,
        }
    }

    /// Deletes at most `limit` sessions expired by `now`; returns how many.
    pub(crate) async fn trim_sessions(&self, now: Timestamp, limit: u32) -> Result<usize> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::trim_sessions(tx, now, limit))
                    .await
            }
            Backend::Postgres(pg) => postgres::trim_sessions(pg, now, limit).await,
        }
    }

    /// Counts and bounds of the messages table.
    pub(crate) async fn table_stats(&self) -> Result<TableStats> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::table_stats(conn)).await,
            Backend::Postgres(pg) => postgres::table_stats(pg).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::channel_hash;

    #[test]
    fn channel_hash_is_the_gems_signed_big_endian_sha256_prefix() {
        // Ruby: Digest::SHA256.digest(channel).unpack1("q>")
        assert_eq!(channel_hash("chat"), 3_593_995_087_618_423_194);
        assert_eq!(channel_hash("todos"), -3_965_474_278_363_221_185);
    }
}
