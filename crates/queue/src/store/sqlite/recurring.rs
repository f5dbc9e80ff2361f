//! Recurring tasks SQL: the task table mirror of the schedule file, and the
//! `(task_key, run_at)`-unique record that makes each run enqueue once across schedulers.

use rusqlite::{Connection, OptionalExtension, named_params, params};

use super::super::model::TaskRow;
use super::enqueue::insert;
use crate::error::Result;
use crate::job::NewJob;
use trifecta_store::Timestamp;

const UPSERT: &str = "INSERT INTO solid_queue_recurring_tasks
   (key, schedule, class_name, arguments, queue_name, priority, static, description,
    created_at, updated_at)
 VALUES (:key, :schedule, :class, :args, :queue, :priority, 1, :description, :now, :now)
 ON CONFLICT (key) DO UPDATE SET schedule = excluded.schedule, class_name = excluded.class_name,
   arguments = excluded.arguments, queue_name = excluded.queue_name,
   priority = excluded.priority, description = excluded.description,
   updated_at = excluded.updated_at";
const KEYS: &str = "SELECT key FROM solid_queue_recurring_tasks WHERE static = 1";
const DELETE: &str = "DELETE FROM solid_queue_recurring_tasks WHERE key = ?1 AND static = 1";

/// Mirrors the schedule file: upserts its tasks, deletes static tasks no longer in it.
pub(crate) fn sync_tasks(conn: &Connection, tasks: &[TaskRow], now: Timestamp) -> Result<()> {
    for t in tasks {
        conn.prepare_cached(UPSERT)?.execute(named_params! {
            ":key": t.key, ":schedule": t.schedule, ":class": t.class_name,
            ":args": t.arguments, ":queue": t.queue_name, ":priority": t.priority,
            ":description": t.description, ":now": now,
        })?;
    }
    let stored: Vec<String> = conn
        .prepare_cached(KEYS)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for key in stored {
        if !tasks.iter().any(|t| t.key == key) {
            conn.prepare_cached(DELETE)?.execute([key])?;
        }
    }
    Ok(())
}

const RECORDED: &str =
    "SELECT 1 FROM solid_queue_recurring_executions WHERE task_key = ?1 AND run_at = ?2";
const RECORD: &str =
    "INSERT INTO solid_queue_recurring_executions (job_id, task_key, run_at, created_at)
 VALUES (?1, ?2, ?3, ?4)";

/// Enqueues the run of `key` at `run_at` unless some scheduler already did. Inside the
/// write transaction the check and the insert are atomic, and the unique index backs it up.
pub(crate) fn enqueue_run(
    conn: &Connection,
    key: &str,
    run_at: Timestamp,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<i64>> {
    let done = conn
        .prepare_cached(RECORDED)?
        .query_row(params![key, run_at], |_| Ok(()))
        .optional()?;
    if done.is_some() {
        return Ok(None);
    }
    let (id, _) = insert(conn, job, now)?;
    conn.prepare_cached(RECORD)?
        .execute(params![id, key, run_at, now])?;
    Ok(Some(id))
}
