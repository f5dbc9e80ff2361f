//! The SQL of Solid Cable on PostgreSQL: every statement on `solid_cable_messages`, its
//! history mark and its saved sessions, each next to the one function that runs it.
//!
//! PostgreSQL hands out identity values when a row is inserted but makes rows visible when
//! their transaction commits, in whatever order the commits land: a reader of `id > last`
//! could see id 11 and move past id 10, still in flight on another host. So every publish
//! first takes the transaction-scoped advisory lock [`PUBLISH_LOCK`]: the next publisher's
//! insert (and so its id) waits until this one's commit is visible (PostgreSQL releases a
//! transaction's locks after its commit is visible), and ids commit in order. Each publish
//! also sends `NOTIFY` on [`NOTIFY_CHANNEL`], which PostgreSQL delivers at commit: a wake-up
//! for the other processes' listeners, never the guarantee (their poll is).

use std::sync::Arc;

use trifecta_store::pg::Transaction;
use trifecta_store::{Pg, Timestamp};

use super::super::{Message, Result};
use super::TableStats;

/// The advisory lock key that serialises publishes ("cable" in ASCII).
pub const PUBLISH_LOCK: i64 = 0x63_61_62_6c_65;

/// The `LISTEN` channel every publish notifies.
pub const NOTIFY_CHANNEL: &str = "trifecta_cable";

/// Appends one message under the publish lock and notifies; returns its id.
pub(super) async fn insert(pg: &Pg, channel: &str, payload: &str, now: Timestamp) -> Result<i64> {
    let mut conn = pg.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    let id = insert_in(pg, &tx, channel, payload, now).await?;
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(id)
}

/// Takes the publish lock (if this transaction does not hold it yet), appends one message and
/// notifies at commit; returns its id.
pub(super) async fn insert_in(
    pg: &Pg,
    tx: &Transaction<'_>,
    channel: &str,
    payload: &str,
    now: Timestamp,
) -> Result<i64> {
    const INSERT: &str =
        "INSERT INTO solid_cable_messages (channel, payload, created_at, channel_hash)
                          VALUES ($1, $2, $3, $4) RETURNING id";
    const NOTIFY: &str = "SELECT pg_notify($1, '')";
    lock(pg, tx).await?;
    let insert = tx.prepare_cached(INSERT).await.map_err(|e| pg.error(e))?;
    let row = tx
        .query_one(
            &insert,
            &[
                &channel.as_bytes(),
                &payload.as_bytes(),
                &now.0,
                &super::channel_hash(channel),
            ],
        )
        .await
        .map_err(|e| pg.error(e))?;
    let notify = tx.prepare_cached(NOTIFY).await.map_err(|e| pg.error(e))?;
    tx.execute(&notify, &[&NOTIFY_CHANNEL])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(row.get(0))
}

/// Takes the publish lock [`PUBLISH_LOCK`] until the transaction ends (again is a no-op).
pub(super) async fn lock(pg: &Pg, tx: &Transaction<'_>) -> Result<()> {
    const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
    let lock = tx.prepare_cached(LOCK).await.map_err(|e| pg.error(e))?;
    tx.execute(&lock, &[&PUBLISH_LOCK])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

/// The highest message id, 0 for an empty table.
pub(super) async fn max_id(pg: &Pg) -> Result<i64> {
    const SQL: &str = "SELECT coalesce(max(id), 0)::bigint FROM solid_cable_messages";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    Ok(conn
        .query_one(&stmt, &[])
        .await
        .map_err(|e| pg.error(e))?
        .get(0))
}

/// In one statement (one snapshot): the highest id, and the messages after `after` on
/// `hashes` (a JSON array), in id order, at most `limit`.
pub(super) async fn poll(
    pg: &Pg,
    after: Option<i64>,
    hashes: &str,
    limit: u32,
) -> Result<(i64, Vec<Message>)> {
    const SQL: &str = "WITH top AS (SELECT coalesce(max(id), 0)::bigint AS max FROM solid_cable_messages)
                       SELECT top.max, m.id, m.channel, m.payload, m.created_at
                       FROM top LEFT JOIN LATERAL (
                         SELECT id, channel, payload, created_at FROM solid_cable_messages
                         WHERE id > coalesce($1, top.max)
                           AND channel_hash IN (SELECT jsonb_array_elements_text($2::text::jsonb)::bigint)
                         ORDER BY id LIMIT $3
                       ) m ON true";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let rows = conn
        .query(&stmt, &[&after, &hashes, &i64::from(limit)])
        .await
        .map_err(|e| pg.error(e))?;
    let mut max = after.unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        max = row.get(0);
        let Some(id) = row.get::<_, Option<i64>>(1) else {
            continue;
        };
        let channel: Vec<u8> = row.get(2);
        let payload: Vec<u8> = row.get(3);
        match (String::from_utf8(channel), String::from_utf8(payload)) {
            (Ok(channel), Ok(payload)) => out.push(Message {
                id,
                channel: Arc::from(channel),
                payload: Arc::from(payload),
                created_at: Timestamp(row.get(4)),
            }),
            _ => tracing::warn!(id, "skipping a cable message that is not UTF-8"),
        }
    }
    Ok((max, out))
}

/// Deletes at most `limit` messages created before `cutoff`, skipping rows another trimmer
/// has locked, and raises the trim mark to the highest id deleted; returns how many.
pub(super) async fn trim_batch(pg: &Pg, cutoff: Timestamp, limit: u32) -> Result<usize> {
    const SQL: &str = "WITH gone AS (
                         DELETE FROM solid_cable_messages WHERE id IN
                           (SELECT id FROM solid_cable_messages WHERE created_at < $1
                            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
                         RETURNING id),
                       mark AS (
                         UPDATE trifecta_cable_meta
                         SET trimmed_through = GREATEST(trimmed_through, (SELECT max(id) FROM gone))
                         WHERE EXISTS (SELECT 1 FROM gone))
                       SELECT count(*) FROM gone";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let n: i64 = conn
        .query_one(&stmt, &[&cutoff.0, &i64::from(limit)])
        .await
        .map_err(|e| pg.error(e))?
        .get(0);
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The history's epoch and the highest id ever trimmed.
pub(super) async fn meta(pg: &Pg) -> Result<(String, i64)> {
    let conn = pg.get().await?;
    meta_on(pg, &conn).await
}

async fn meta_on(pg: &Pg, conn: &trifecta_store::pg::Connection) -> Result<(String, i64)> {
    const SQL: &str = "SELECT epoch, trimmed_through FROM trifecta_cable_meta WHERE id = 1";
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let row = conn.query_one(&stmt, &[]).await.map_err(|e| pg.error(e))?;
    Ok((row.get(0), row.get(1)))
}

/// The messages of `channel` with `after < id <= upto` (by id), or, with `since`, those
/// created at or after it up to `upto`; in id order, at most `limit`. Then, on the same
/// connection, the trim mark.
pub(super) async fn stream_messages(
    pg: &Pg,
    channel: &str,
    from: super::Window,
    upto: i64,
    limit: u32,
) -> Result<(Vec<Message>, i64)> {
    const AFTER: &str = "SELECT id, payload, created_at FROM solid_cable_messages
                         WHERE channel_hash = $1 AND channel = $2 AND id > $3 AND id <= $4
                         ORDER BY id LIMIT $5";
    const SINCE: &str = "SELECT id, payload, created_at FROM solid_cable_messages
                         WHERE channel_hash = $1 AND channel = $2 AND created_at >= $3
                           AND id <= $4
                         ORDER BY id LIMIT $5";
    let (sql, bound) = match from {
        super::Window::After(id) => (AFTER, id),
        super::Window::Since(t) => (SINCE, t.0),
    };
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(sql).await.map_err(|e| pg.error(e))?;
    let rows = conn
        .query(
            &stmt,
            &[
                &super::channel_hash(channel),
                &channel.as_bytes(),
                &bound,
                &upto,
                &i64::from(limit),
            ],
        )
        .await
        .map_err(|e| pg.error(e))?;
    let name: Arc<str> = Arc::from(channel);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.get(0);
        match String::from_utf8(row.get(1)) {
            Ok(payload) => out.push(Message {
                id,
                channel: name.clone(),
                payload: Arc::from(payload),
                created_at: Timestamp(row.get(2)),
            }),
            Err(_) => tracing::warn!(id, "skipping a cable message that is not UTF-8"),
        }
    }
    let (_, trimmed) = meta_on(pg, &conn).await?;
    Ok((out, trimmed))
}

/// Saves (or replaces) a session's state until `expires_at`.
pub(super) async fn save_session(
    pg: &Pg,
    sid: &str,
    state: &str,
    expires_at: Timestamp,
) -> Result<()> {
    const SQL: &str = "INSERT INTO trifecta_cable_sessions (sid, state, expires_at)
                       VALUES ($1, $2, $3)
                       ON CONFLICT (sid) DO UPDATE SET state = excluded.state,
                                                       expires_at = excluded.expires_at";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    conn.execute(&stmt, &[&sid, &state, &expires_at.0])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

/// Moves the session `old`, unless it expired by `now`, to the id `new` with a new expiry
/// (its presence rows too) and returns its state: `old` can be restored no more.
pub(super) async fn renew_session(
    pg: &Pg,
    old: &str,
    new: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Option<String>> {
    // The session's presence rows move with it (still detached, until it joins again).
    const SQL: &str = "WITH s AS (UPDATE trifecta_cable_sessions SET sid = $2, expires_at = $4
                                  WHERE sid = $1 AND expires_at > $3
                                  RETURNING state),
                            p AS (UPDATE trifecta_cable_presence SET member = $2
                                  WHERE member = $1 AND EXISTS (SELECT 1 FROM s))
                       SELECT state FROM s";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let row = conn
        .query_opt(&stmt, &[&old, &new, &now.0, &expires_at.0])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Deletes at most `limit` sessions expired by `now`; returns how many.
pub(super) async fn trim_sessions(pg: &Pg, now: Timestamp, limit: u32) -> Result<usize> {
    const SQL: &str = "DELETE FROM trifecta_cable_sessions WHERE sid IN
                         (SELECT sid FROM trifecta_cable_sessions WHERE expires_at <= $1
                          LIMIT $2 FOR UPDATE SKIP LOCKED)";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let n = conn
        .execute(&stmt, &[&now.0, &i64::from(limit)])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Counts and bounds of the messages table.
pub(super) async fn table_stats(pg: &Pg) -> Result<TableStats> {
    const SQL: &str =
        "SELECT count(*), count(DISTINCT channel_hash), min(created_at), max(created_at),
                              coalesce(sum(length(payload)), 0)::bigint,
                              (SELECT coalesce(max(id), 0)::bigint FROM solid_cable_messages)
                       FROM solid_cable_messages";
    let conn = pg.get().await?;
    let row = conn.query_one(SQL, &[]).await.map_err(|e| pg.error(e))?;
    // The identity's last value survives trimming, as SQLite's sqlite_sequence does.
    const SEQ: &str =
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM solid_cable_messages_id_seq";
    let seq: i64 = conn
        .query_one(SEQ, &[])
        .await
        .map_err(|e| pg.error(e))?
        .get(0);
    Ok(TableStats {
        messages: row.get(0),
        channels: row.get(1),
        max_id: seq.max(row.get(5)),
        oldest: row.get::<_, Option<i64>>(2).map(Timestamp),
        newest: row.get::<_, Option<i64>>(3).map(Timestamp),
        payload_bytes: row.get(4),
    })
}
