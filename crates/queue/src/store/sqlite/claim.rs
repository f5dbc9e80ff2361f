//! Claim: take up to N ready executions, in strict queue order then priority, for one
//! process. Runs in one `BEGIN IMMEDIATE` transaction, so two processes sharing the file
//! never claim the same job.

use rusqlite::{Connection, params};

use super::super::model::ClaimedJob;
use crate::error::Result;
use crate::selector::{Pattern, QueueSelector};
use trifecta_store::Timestamp;

const PAUSED: &str = "SELECT queue_name FROM solid_queue_pauses ORDER BY queue_name";
const ALL_QUEUES: &str =
    "SELECT DISTINCT queue_name FROM solid_queue_ready_executions ORDER BY queue_name";
const PREFIX_QUEUES: &str = "SELECT DISTINCT queue_name FROM solid_queue_ready_executions
  WHERE substr(queue_name, 1, length(?1)) = ?1 ORDER BY queue_name";
const POLL_ALL: &str = "SELECT id, job_id FROM solid_queue_ready_executions
  ORDER BY priority, job_id LIMIT ?1";
const POLL_QUEUE: &str = "SELECT id, job_id FROM solid_queue_ready_executions
  WHERE queue_name = ?1 ORDER BY priority, job_id LIMIT ?2";

/// Claims up to `limit` jobs for `process_id`.
pub(crate) fn claim(
    conn: &Connection,
    selector: &QueueSelector,
    process_id: Option<i64>,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let found = selection(conn, selector, limit)?;
    take(conn, &found.rows, process_id, now)
}

/// Whether a claim for `selector` made now would take a new job of `queue` first: the
/// queue is selected and not paused, and nothing is ready for `selector` ahead of it.
pub(crate) fn takes_new(conn: &Connection, selector: &QueueSelector, queue: &str) -> Result<bool> {
    if !selector.matches(queue) {
        return Ok(false);
    }
    let found = selection(conn, selector, 1)?;
    Ok(found.rows.is_empty() && !found.paused.iter().any(|p| p == queue))
}

const CLAIM_ONE: &str =
    "INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
 VALUES (?1, ?2, ?3)";
const BUMP_ONE: &str = "UPDATE solid_queue_jobs
  SET executions = executions + 1, updated_at = ?2, process_id = ?3
  WHERE id = ?1
  RETURNING id, class_name, arguments, queue_name, executions, created_at,
            coalesce(scheduled_at, created_at), request_id";

/// Claims job `id`, just inserted and never made ready, for `process_id` (after
/// [`takes_new`] said a claim would take it).
pub(crate) fn claim_new(
    conn: &Connection,
    id: i64,
    process_id: Option<i64>,
    now: Timestamp,
) -> Result<ClaimedJob> {
    conn.prepare_cached(CLAIM_ONE)?
        .execute(params![id, process_id, now])?;
    Ok(conn
        .prepare_cached(BUMP_ONE)?
        .query_row(params![id, now, process_id], claimed_row)?)
}

/// What a claim would take.
struct Selection {
    /// The paused queues.
    paused: Vec<String>,
    /// Ready executions as (id, job id), in claim order.
    rows: Vec<(i64, i64)>,
}

/// The first `limit` ready executions for `selector`, in claim order.
fn selection(conn: &Connection, selector: &QueueSelector, limit: usize) -> Result<Selection> {
    let paused: Vec<String> = conn
        .prepare_cached(PAUSED)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rows: Vec<(i64, i64)> = Vec::new();
    if selector.is_all() && paused.is_empty() {
        rows = select(conn, POLL_ALL, None, limit)?;
    } else {
        for queue in queue_names(conn, selector, &paused)? {
            let want = limit - rows.len();
            rows.extend(select(conn, POLL_QUEUE, Some(&queue), want)?);
            if rows.len() >= limit {
                break;
            }
        }
    }
    Ok(Selection { paused, rows })
}

/// [`claim`] inside a savepoint of the caller's transaction: a failing claim is undone
/// alone, and the caller's other writes (an enqueue) still commit.
pub(crate) fn claim_nested(
    conn: &Connection,
    selector: &QueueSelector,
    process_id: Option<i64>,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    super::in_savepoint(conn, |conn| claim(conn, selector, process_id, limit, now))
}

fn queue_names(
    conn: &Connection,
    selector: &QueueSelector,
    paused: &[String],
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let patterns: Vec<Pattern> = if selector.is_all() {
        vec![Pattern::All]
    } else {
        selector.patterns().to_vec()
    };
    for p in patterns {
        let found: Vec<String> = match &p {
            Pattern::All => conn
                .prepare_cached(ALL_QUEUES)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            Pattern::Prefix(prefix) => conn
                .prepare_cached(PREFIX_QUEUES)?
                .query_map([prefix], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            Pattern::Exact(name) => vec![name.clone()],
        };
        for name in found {
            if !paused.contains(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

fn select(
    conn: &Connection,
    sql: &str,
    queue: Option<&str>,
    limit: usize,
) -> Result<Vec<(i64, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(sql)?;
    let map = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
    let rows = match queue {
        Some(q) => stmt
            .query_map(params![q, limit], map)?
            .collect::<rusqlite::Result<_>>()?,
        None => stmt
            .query_map([limit], map)?
            .collect::<rusqlite::Result<_>>()?,
    };
    Ok(rows)
}

// The whole batch moves in three statements, its ids passed as one JSON array.
const DELETE_READY: &str =
    "DELETE FROM solid_queue_ready_executions WHERE id IN (SELECT value FROM json_each(?1))";
const INSERT_CLAIMED: &str =
    "INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
 SELECT value, ?2, ?3 FROM json_each(?1)";
const BUMP: &str = "UPDATE solid_queue_jobs
  SET executions = executions + 1, updated_at = ?2, process_id = ?3
  WHERE id IN (SELECT value FROM json_each(?1))
  RETURNING id, class_name, arguments, queue_name, executions, created_at,
            coalesce(scheduled_at, created_at), request_id";

/// Moves the selected ready rows to claimed and returns the jobs in selection order.
fn take(
    conn: &Connection,
    rows: &[(i64, i64)],
    process_id: Option<i64>,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ready_ids = serde_json::to_string(&rows.iter().map(|r| r.0).collect::<Vec<_>>())?;
    let job_ids = serde_json::to_string(&rows.iter().map(|r| r.1).collect::<Vec<_>>())?;
    conn.prepare_cached(DELETE_READY)?.execute([&ready_ids])?;
    conn.prepare_cached(INSERT_CLAIMED)?
        .execute(params![job_ids, process_id, now])?;
    let mut claimed: Vec<ClaimedJob> = conn
        .prepare_cached(BUMP)?
        .query_map(params![job_ids, now, process_id], claimed_row)?
        .collect::<rusqlite::Result<_>>()?;
    // RETURNING order is unspecified; callers get queue, priority, age order.
    let position = |id: i64| rows.iter().position(|r| r.1 == id).unwrap_or(usize::MAX);
    claimed.sort_by_key(|c| position(c.id));
    Ok(claimed)
}

/// A row of `BUMP`/`BUMP_ONE`'s `RETURNING` columns.
fn claimed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClaimedJob> {
    Ok(ClaimedJob {
        id: r.get(0)?,
        class_name: r.get(1)?,
        arguments: r.get(2)?,
        queue_name: r.get(3)?,
        attempt: r.get(4)?,
        created_at: r.get(5)?,
        scheduled_at: r.get(6)?,
        request_id: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trifecta_store::{Db, PoolOptions};

    fn ready(conn: &Connection, id: i64, queue: &str, priority: i32) {
        conn.execute(
            "INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
               created_at, updated_at) VALUES (?1, ?2, 'j', '{}', ?3, 0, 0)",
            params![id, queue, priority],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
             VALUES (?1, ?2, ?3, 0)",
            params![id, queue, priority],
        )
        .unwrap();
    }

    #[test]
    fn a_new_job_is_taken_first_only_when_nothing_is_ready_ahead_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite3");
        let db = Db::open("queue", &path, &PoolOptions::default()).unwrap();
        db.migrate_blocking(crate::SCHEMA).unwrap();
        let conn = Connection::open(&path).unwrap();
        let ab = QueueSelector::new(&["a", "b"]);
        let all = QueueSelector::all();
        assert!(takes_new(&conn, &ab, "b").unwrap());
        assert!(takes_new(&conn, &all, "anything").unwrap());
        assert!(
            !takes_new(&conn, &ab, "c").unwrap(),
            "not a queue of the worker"
        );

        ready(&conn, 1, "b", 0);
        assert!(
            !takes_new(&conn, &ab, "a").unwrap(),
            "a ready job comes first"
        );
        assert!(!takes_new(&conn, &all, "b").unwrap());

        conn.execute(
            "INSERT INTO solid_queue_pauses (queue_name, created_at) VALUES ('b', 0)",
            [],
        )
        .unwrap();
        assert!(
            takes_new(&conn, &ab, "a").unwrap(),
            "paused jobs are not ahead"
        );
        assert!(
            !takes_new(&conn, &ab, "b").unwrap(),
            "a paused queue takes nothing"
        );
    }
}
