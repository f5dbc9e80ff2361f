//! The SQL of Solid Cable on SQLite: every statement on `solid_cable_messages`, its history
//! mark and its saved sessions, each next to the one function that runs it. Called inside
//! [`trifecta_store::Db::call`] / [`trifecta_store::Db::write`].

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

/// Deletes at most `limit` messages created before `cutoff` and raises the trim mark to the
/// highest id deleted; returns how many.
pub(super) fn trim_batch(tx: &Transaction<'_>, cutoff: Timestamp, limit: u32) -> Result<usize> {
    const SQL: &str = "DELETE FROM solid_cable_messages WHERE id IN
                         (SELECT id FROM solid_cable_messages WHERE created_at < ?1 ORDER BY id LIMIT ?2)
                       RETURNING id";
    const MARK: &str = "UPDATE trifecta_cable_meta SET trimmed_through = max(trimmed_through, ?1)";
    let mut stmt = tx.prepare_cached(SQL)?;
    let ids = stmt
        .query_map(params![cutoff, limit], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    if let Some(top) = ids.iter().max() {
        tx.prepare_cached(MARK)?.execute([top])?;
    }
    Ok(ids.len())
}

/// The history's epoch and the highest id ever trimmed.
pub(super) fn meta(conn: &Connection) -> Result<(String, i64)> {
    const SQL: &str = "SELECT epoch, trimmed_through FROM trifecta_cable_meta WHERE id = 1";
    Ok(conn
        .prepare_cached(SQL)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The messages of `channel` with `after < id <= upto` (by id), or, with `since`, those
/// created at or after it up to `upto`; in id order, at most `limit`.
pub(super) fn stream_messages(
    conn: &Connection,
    channel: &str,
    from: super::Window,
    upto: i64,
    limit: u32,
) -> Result<Vec<Message>> {
    const AFTER: &str = "SELECT id, payload, created_at FROM solid_cable_messages
                         WHERE channel_hash = ?1 AND channel = ?2 AND id > ?3 AND id <= ?4
                         ORDER BY id LIMIT ?5";
    const SINCE: &str = "SELECT id, payload, created_at FROM solid_cable_messages
                         WHERE channel_hash = ?1 AND channel = ?2 AND created_at >= ?3
                           AND id <= ?4
                         ORDER BY id LIMIT ?5";
    let (sql, bound) = match from {
        super::Window::After(id) => (AFTER, id),
        super::Window::Since(t) => (SINCE, t.0),
    };
    let name: Arc<str> = Arc::from(channel);
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        params![
            channel_hash(channel),
            channel.as_bytes(),
            bound,
            upto,
            limit
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Timestamp>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, payload, created_at) = row?;
        match String::from_utf8(payload) {
            Ok(payload) => out.push(Message {
                id,
                channel: name.clone(),
                payload: Arc::from(payload),
                created_at,
            }),
            Err(_) => tracing::warn!(id, "skipping a cable message that is not UTF-8"),
        }
    }
    Ok(out)
}

/// Saves (or replaces) a session's state until `expires_at`.
pub(super) fn save_session(
    tx: &Transaction<'_>,
    sid: &str,
    state: &str,
    expires_at: Timestamp,
) -> Result<()> {
    const SQL: &str = "INSERT INTO trifecta_cable_sessions (sid, state, expires_at)
                       VALUES (?1, ?2, ?3)
                       ON CONFLICT (sid) DO UPDATE SET state = excluded.state,
                                                       expires_at = excluded.expires_at";
    tx.prepare_cached(SQL)?
        .execute(params![sid, state, expires_at])?;
    Ok(())
}

/// Moves the session `old`, unless it expired by `now`, to the id `new` with a new expiry
/// (its presence rows too) and returns its state: `old` can be restored no more.
pub(super) fn renew_session(
    tx: &Transaction<'_>,
    old: &str,
    new: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Option<String>> {
    const SQL: &str = "UPDATE trifecta_cable_sessions SET sid = ?2, expires_at = ?4
                       WHERE sid = ?1 AND expires_at > ?3
                       RETURNING state";
    // The session's presence rows move with it (still detached, until it joins again).
    const PRESENCE: &str = "UPDATE trifecta_cable_presence SET member = ?2 WHERE member = ?1";
    let state: Option<String> = tx
        .prepare_cached(SQL)?
        .query_row(params![old, new, now, expires_at], |r| r.get(0))
        .optional()?;
    if state.is_some() {
        tx.prepare_cached(PRESENCE)?.execute(params![old, new])?;
    }
    Ok(state)
}

/// Deletes at most `limit` sessions expired by `now`; returns how many.
pub(super) fn trim_sessions(tx: &Transaction<'_>, now: Timestamp, limit: u32) -> Result<usize> {
    const SQL: &str = "DELETE FROM trifecta_cable_sessions WHERE sid IN
                         (SELECT sid FROM trifecta_cable_sessions WHERE expires_at <= ?1 LIMIT ?2)";
    Ok(tx.prepare_cached(SQL)?.execute(params![now, limit])?)
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
