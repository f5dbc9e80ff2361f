//! The SQL of Solid Cable on SQLite: every statement on `solid_cable_messages`, each next to
//! the one function that runs it. Called inside [`trifecta_store::Db::call`] /
//! [`trifecta_store::Db::write`].

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::{Message, Result};
use super::{TableStats, channel_hash};
use trifecta_store::Timestamp;

/// Appends one message; returns its id.
pub(super) fn insert(
    tx: &Transaction<'_>,
    channel: &str,
    payload: &str,
    now: Timestamp,
) -> Result<i64> {
    const SQL: &str =
        "INSERT INTO solid_cable_messages (channel, payload, created_at, channel_hash)
                       VALUES (?1, ?2, ?3, ?4)";
    tx.prepare_cached(SQL)?.execute(params![
        channel.as_bytes(),
        payload.as_bytes(),
        now,
        channel_hash(channel)
    ])?;
    Ok(tx.last_insert_rowid())
}

/// The highest message id, 0 for an empty table. `max(id)` on the rowid is one b-tree
/// descent, so it doubles as the cheap "anything new?" guard of idle polls.
pub(super) fn max_id(conn: &Connection) -> Result<i64> {
    const SQL: &str = "SELECT coalesce(max(id), 0) FROM solid_cable_messages";
    Ok(conn.prepare_cached(SQL)?.query_row([], |r| r.get(0))?)
}

/// Messages with `id > after` on any of `hashes` (a JSON array of channel hashes), in id
/// order, at most `limit`. Rows whose channel or payload is not UTF-8 are skipped (only
/// another writer could have stored them).
pub(super) fn fetch(
    conn: &Connection,
    after: i64,
    hashes: &str,
    limit: u32,
) -> Result<Vec<Message>> {
    const SQL: &str = "SELECT id, channel, payload, created_at FROM solid_cable_messages
                       WHERE id > ?1 AND channel_hash IN (SELECT value FROM json_each(?2))
                       ORDER BY id LIMIT ?3";
    let mut stmt = conn.prepare_cached(SQL)?;
    let rows = stmt.query_map(params![after, hashes, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Timestamp>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, channel, payload, created_at) = row?;
        match (String::from_utf8(channel), String::from_utf8(payload)) {
            (Ok(channel), Ok(payload)) => out.push(Message {
                id,
                channel: Arc::from(channel),
                payload: Arc::from(payload),
                created_at,
            }),
            _ => tracing::warn!(id, "skipping a cable message that is not UTF-8"),
        }
    }
    Ok(out)
}

/// Deletes at most `limit` messages created before `cutoff`; returns how many.
pub(super) fn trim_batch(tx: &Transaction<'_>, cutoff: Timestamp, limit: u32) -> Result<usize> {
    const SQL: &str = "DELETE FROM solid_cable_messages WHERE id IN
                         (SELECT id FROM solid_cable_messages WHERE created_at < ?1 ORDER BY id LIMIT ?2)";
    Ok(tx.prepare_cached(SQL)?.execute(params![cutoff, limit])?)
}

/// Counts and bounds of the messages table.
pub(super) fn table_stats(conn: &Connection) -> Result<TableStats> {
    const SQL: &str =
        "SELECT count(*), count(DISTINCT channel_hash), min(created_at), max(created_at),
                              coalesce(sum(length(payload)), 0)
                       FROM solid_cable_messages";
    // AUTOINCREMENT keeps the highest id handed out even after trimming.
    const SEQ: &str = "SELECT seq FROM sqlite_sequence WHERE name = 'solid_cable_messages'";
    let mut stats = conn.query_row(SQL, [], |r| {
        Ok(TableStats {
            messages: r.get(0)?,
            channels: r.get(1)?,
            max_id: 0,
            oldest: r.get(2)?,
            newest: r.get(3)?,
            payload_bytes: r.get(4)?,
        })
    })?;
    stats.max_id = conn
        .query_row(SEQ, [], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0);
    Ok(stats)
}
