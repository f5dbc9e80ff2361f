//! The presence SQL on SQLite. One writer at a time: each function's transaction sees and
//! changes the set alone.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::sqlite::insert;
use super::Join;
use crate::Result;
use crate::presence::{channel, leave_event};
use trifecta_store::Timestamp;

/// Whether `id` has a row on `stream`.
fn present(tx: &Transaction<'_>, stream: &str, id: &str) -> Result<bool> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM trifecta_cable_presence
                                      WHERE stream = ?1 AND presence_id = ?2)";
    Ok(tx
        .prepare_cached(SQL)?
        .query_row(params![stream, id], |r| r.get(0))?)
}

/// Upserts the row; writes the join event when the id was not on the stream.
pub(super) fn join(tx: &Transaction<'_>, join: &Join, now: Timestamp) -> Result<Option<i64>> {
    const SQL: &str = "INSERT INTO trifecta_cable_presence
                         (stream, member, presence_id, info, node, expires_at)
                       VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                       ON CONFLICT (stream, member) DO UPDATE SET
                         presence_id = excluded.presence_id, info = excluded.info,
                         node = excluded.node, expires_at = excluded.expires_at";
    let new = !present(tx, &join.stream, &join.id)?;
    tx.prepare_cached(SQL)?.execute(params![
        join.stream,
        join.member,
        join.id,
        join.info,
        join.node,
        join.expires_at
    ])?;
    if !new {
        return Ok(None);
    }
    Ok(Some(insert(tx, &channel(&join.stream), &join.event, now)?))
}

/// Deletes the row; writes the leave event when it was its id's last. Returns the event's
/// message id and the presence id.
pub(super) fn leave(
    tx: &Transaction<'_>,
    stream: &str,
    member: &str,
    now: Timestamp,
) -> Result<Option<(i64, String)>> {
    const SQL: &str = "DELETE FROM trifecta_cable_presence WHERE stream = ?1 AND member = ?2
                       RETURNING presence_id";
    let Some(id): Option<String> = tx
        .prepare_cached(SQL)?
        .query_row(params![stream, member], |r| r.get(0))
        .optional()?
    else {
        return Ok(None);
    };
    if present(tx, stream, &id)? {
        return Ok(None);
    }
    let msg = insert(tx, &channel(stream), &leave_event(&id), now)?;
    Ok(Some((msg, id)))
}

/// Detaches a closed session's rows until `expires_at`.
pub(super) fn detach(tx: &Transaction<'_>, member: &str, expires_at: Timestamp) -> Result<()> {
    const SQL: &str =
        "UPDATE trifecta_cable_presence SET node = '', expires_at = ?2 WHERE member = ?1";
    tx.prepare_cached(SQL)?
        .execute(params![member, expires_at])?;
    Ok(())
}

/// Extends the rows `node` keeps alive.
pub(super) fn refresh(tx: &Transaction<'_>, node: &str, expires_at: Timestamp) -> Result<()> {
    const SQL: &str = "UPDATE trifecta_cable_presence SET expires_at = ?2 WHERE node = ?1";
    tx.prepare_cached(SQL)?.execute(params![node, expires_at])?;
    Ok(())
}

/// Whether any row expired by `now`.
pub(super) fn expired(conn: &Connection, now: Timestamp) -> Result<bool> {
    const SQL: &str =
        "SELECT EXISTS (SELECT 1 FROM trifecta_cable_presence WHERE expires_at <= ?1)";
    Ok(conn.prepare_cached(SQL)?.query_row([now], |r| r.get(0))?)
}

/// Deletes the rows expired by `now`; writes a leave event for each (stream, id) left with
/// no row. Returns (message id, stream, presence id) per event.
pub(super) fn sweep(tx: &Transaction<'_>, now: Timestamp) -> Result<Vec<(i64, String, String)>> {
    const SQL: &str = "DELETE FROM trifecta_cable_presence WHERE expires_at <= ?1
                       RETURNING stream, presence_id";
    let mut gone: Vec<(String, String)> = tx
        .prepare_cached(SQL)?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    gone.sort();
    gone.dedup();
    let mut out = Vec::new();
    for (stream, id) in gone {
        if !present(tx, &stream, &id)? {
            let msg = insert(tx, &channel(&stream), &leave_event(&id), now)?;
            out.push((msg, stream, id));
        }
    }
    Ok(out)
}

/// `(presence id, info)` of every row on `stream`, by id.
pub(super) fn list(conn: &Connection, stream: &str) -> Result<Vec<(String, String)>> {
    const SQL: &str = "SELECT presence_id, info FROM trifecta_cable_presence
                       WHERE stream = ?1 ORDER BY presence_id";
    let rows = conn
        .prepare_cached(SQL)?
        .query_map([stream], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
