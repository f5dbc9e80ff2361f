//! The board's versions (`todo_board`): the current and the last broadcast version with the
//! counts, the newest page of todos, and what changed since a version.

use rusqlite::{Connection, OptionalExtension};

use super::super::Board;
use super::todos::{BY_ID, select, todo_row};
use crate::app::error::Result;
use crate::app::todo_versions::TodoCounts;
use crate::app::todos::Todo;

const BOARD: &str = "SELECT version, broadcast_version, total, done FROM todo_board WHERE id = 1";

/// The board's row.
pub(in crate::app) fn board(conn: &Connection) -> Result<Board> {
    Ok(conn.prepare_cached(BOARD)?.query_row([], |r| {
        Ok(Board {
            version: r.get(0)?,
            broadcast_version: r.get(1)?,
            counts: TodoCounts {
                total: r.get(2)?,
                done: r.get(3)?,
            },
        })
    })?)
}

const NEWEST: &str = concat!(select!(), " ORDER BY created_at DESC, id DESC LIMIT ?1");

/// The newest `limit` todos, newest first.
pub(in crate::app) fn newest(conn: &Connection, limit: usize) -> Result<Vec<Todo>> {
    let mut stmt = conn.prepare_cached(NEWEST)?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], todo_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const CHANGED_SINCE: &str = "SELECT id, version, 0 FROM todos WHERE version > ?1
 UNION ALL SELECT id, version, 1 FROM todo_tombstones WHERE version > ?1
 ORDER BY 2 LIMIT ?2";

/// Ids of the todos (`false`) and tombstones (`true`) changed after version `since`, in
/// version order, at most `limit`.
pub(in crate::app) fn changed_since(
    conn: &Connection,
    since: i64,
    limit: usize,
) -> Result<Vec<(i64, bool)>> {
    Ok(conn
        .prepare_cached(CHANGED_SINCE)?
        .query_map([since, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The latest state of each of `changed` (from [`changed_since`]): `None` for a deleted
/// todo.
pub(in crate::app) fn latest(
    conn: &Connection,
    changed: Vec<(i64, bool)>,
) -> Result<Vec<(i64, Option<Todo>)>> {
    let mut get = conn.prepare_cached(BY_ID)?;
    let mut out = Vec::with_capacity(changed.len());
    for (id, deleted) in changed {
        let todo = if deleted {
            None
        } else {
            get.query_row([id], todo_row).optional()?
        };
        out.push((id, todo));
    }
    Ok(out)
}

const MARK_SENT: &str = "UPDATE todo_board
    SET broadcast_version = max(broadcast_version, ?1) WHERE id = 1";
const PRUNE_TOMBSTONES: &str = "DELETE FROM todo_tombstones WHERE version <= ?1";

/// Records that a broadcast reached `version` and drops the tombstones it covered.
pub(in crate::app) fn mark_sent(conn: &Connection, version: i64) -> Result<()> {
    conn.prepare_cached(MARK_SENT)?.execute([version])?;
    conn.prepare_cached(PRUNE_TOMBSTONES)?.execute([version])?;
    Ok(())
}
