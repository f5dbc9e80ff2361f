//! Recurring tasks on PostgreSQL: the task table mirror of the schedule file, and the
//! `(task_key, run_at)`-unique record that makes each run enqueue once across schedulers.

use trifecta_store::{Pg, Timestamp};

use super::super::model::TaskRow;
use super::Tx;
use super::enqueue::insert_all;
use crate::error::Result;
use crate::job::NewJob;

const UPSERT: &str = "INSERT INTO solid_queue_recurring_tasks
   (key, schedule, class_name, arguments, queue_name, priority, static, description,
    created_at, updated_at)
 VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $8)
 ON CONFLICT (key) DO UPDATE SET schedule = excluded.schedule, class_name = excluded.class_name,
   arguments = excluded.arguments, queue_name = excluded.queue_name,
   priority = excluded.priority, description = excluded.description,
   updated_at = excluded.updated_at";
const DELETE_STALE: &str = "DELETE FROM solid_queue_recurring_tasks
  WHERE static AND NOT (key = ANY($1))";

/// Mirrors the schedule file: upserts its tasks, deletes static tasks no longer in it.
pub(in super::super) async fn sync_tasks(pg: &Pg, tasks: &[TaskRow], now: Timestamp) -> Result<()> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    for t in tasks {
        tx.exec(
            UPSERT,
            &[
                &t.key,
                &t.schedule,
                &t.class_name,
                &t.arguments,
                &t.queue_name,
                &t.priority,
                &t.description,
                &now.0,
            ],
        )
        .await?;
    }
    let keys: Vec<&str> = tasks.iter().map(|t| t.key.as_str()).collect();
    tx.exec(DELETE_STALE, &[&keys]).await?;
    tx.commit().await
}

const RECORDED: &str =
    "SELECT 1 FROM solid_queue_recurring_executions WHERE task_key = $1 AND run_at = $2";
const RECORD: &str =
    "INSERT INTO solid_queue_recurring_executions (job_id, task_key, run_at, created_at)
 VALUES ($1, $2, $3, $4) ON CONFLICT (task_key, run_at) DO NOTHING RETURNING id";

/// Enqueues the run of `key` at `run_at` unless some scheduler already did. The record is
/// inserted in the enqueue's transaction; when another scheduler's record is there (or
/// commits first: the insert waits for it), the transaction is rolled back, job and all.
pub(in super::super) async fn enqueue_run(
    pg: &Pg,
    key: &str,
    run_at: Timestamp,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<i64>> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    if tx.opt(RECORDED, &[&key, &run_at.0]).await?.is_some() {
        return Ok(None);
    }
    let Some((id, _)) = insert_all(&mut tx, std::slice::from_ref(job), now)
        .await?
        .pop()
    else {
        return Ok(None);
    };
    if tx
        .opt(RECORD, &[&id, &key, &run_at.0, &now.0])
        .await?
        .is_none()
    {
        // Dropping the transaction rolls the job back.
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(id))
}
