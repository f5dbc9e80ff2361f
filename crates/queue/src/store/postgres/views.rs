//! The operational views on PostgreSQL: queues with their counts, processes with their
//! running jobs, recurring tasks with their last run. Each reads the small tables only
//! (executions, processes, tasks, pauses, minutes) in one read-only snapshot and reaches
//! `solid_queue_jobs` by primary key, so its cost does not grow with the jobs kept.

use std::collections::BTreeMap;

use trifecta_store::{Pg, Timestamp};

use super::super::views::{ProcessDetail, QueueSummary, RunningJob, TaskRecord, TaskSummary};
use super::Tx;
use crate::error::Result;
use crate::job::JobId;

/// A read-only snapshot for the statements of one view.
const READ_ONLY: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// Per queue: what it holds, one row per (kind, queue); see the SQLite twin.
const QUEUES: &str = "
SELECT 'ready', queue_name, count(*), min(created_at) FROM solid_queue_ready_executions
  GROUP BY queue_name
UNION ALL
SELECT 'scheduled', queue_name, count(*), NULL::bigint FROM solid_queue_scheduled_executions
  GROUP BY queue_name
UNION ALL
SELECT 'claimed', j.queue_name, count(*), NULL::bigint FROM solid_queue_claimed_executions c
  JOIN solid_queue_jobs j ON j.id = c.job_id GROUP BY j.queue_name
UNION ALL
SELECT 'blocked', queue_name, count(*), NULL::bigint FROM solid_queue_blocked_executions
  GROUP BY queue_name
UNION ALL
SELECT 'paused', queue_name, 0::bigint, NULL::bigint FROM solid_queue_pauses
UNION ALL
SELECT 'recent', queue_name, 0::bigint, NULL::bigint FROM trifecta_queue_minutes
  WHERE minute >= $1 GROUP BY queue_name";

/// Every queue with jobs waiting or running, paused, or with statistics since
/// `recent_since`, by name.
pub(in super::super) async fn queues(
    pg: &Pg,
    recent_since: Timestamp,
) -> Result<Vec<QueueSummary>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let rows = tx.rows(QUEUES, &[&recent_since.0]).await?;
    tx.commit().await?;
    let mut out: BTreeMap<String, QueueSummary> = BTreeMap::new();
    for r in rows {
        let kind: String = r.get(0);
        let oldest: Option<i64> = r.get(3);
        super::super::ops::add_queue_row(
            &mut out,
            &kind,
            r.get(1),
            r.get(2),
            oldest.map(Timestamp),
        );
    }
    Ok(out.into_values().collect())
}

const RUNNING: &str = "SELECT c.process_id, c.job_id, j.class_name, j.queue_name, c.created_at
   FROM solid_queue_claimed_executions c JOIN solid_queue_jobs j ON j.id = c.job_id
  WHERE c.process_id IS NOT NULL
  ORDER BY c.process_id, c.job_id";

/// Every registered process with the jobs it has claimed, in one snapshot.
pub(in super::super) async fn process_details(pg: &Pg) -> Result<Vec<ProcessDetail>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    tx.batch(READ_ONLY).await?;
    let rows = super::process::list_in(&tx).await?;
    let running = tx
        .rows(RUNNING, &[])
        .await?
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(0),
                RunningJob {
                    id: JobId(r.get(1)),
                    class_name: r.get(2),
                    queue_name: r.get(3),
                    claimed_at: Timestamp(r.get(4)),
                },
            )
        })
        .collect();
    tx.commit().await?;
    Ok(super::super::ops::join_running(rows, running))
}

/// Each task with its latest run, both found in the unique `(task_key, run_at)` index.
const TASKS: &str = "SELECT t.key, t.schedule, t.class_name, t.arguments, t.queue_name,
   coalesce(t.priority, 0), t.description, e.run_at, e.job_id
  FROM solid_queue_recurring_tasks t
  LEFT JOIN LATERAL (SELECT run_at, job_id FROM solid_queue_recurring_executions x
                      WHERE x.task_key = t.key ORDER BY run_at DESC LIMIT 1) e ON true
  ORDER BY t.key";

/// Every recurring task with its last run (the next run is the caller's to compute).
pub(in super::super) async fn tasks(pg: &Pg) -> Result<Vec<TaskSummary>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let rows = tx.rows(TASKS, &[]).await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| TaskSummary {
            key: r.get(0),
            schedule: r.get(1),
            class_name: r.get(2),
            arguments: r.get(3),
            queue_name: r.get(4),
            priority: r.get(5),
            description: r.get(6),
            last_run_at: r.get::<_, Option<i64>>(7).map(Timestamp),
            last_job_id: r.get::<_, Option<i64>>(8).map(JobId),
            next_run_at: None,
        })
        .collect())
}

const TASK: &str = "SELECT class_name, arguments, queue_name, coalesce(priority, 0)
   FROM solid_queue_recurring_tasks WHERE key = $1";

/// The row of task `key`, if there is one.
pub(in super::super) async fn task(pg: &Pg, key: &str) -> Result<Option<TaskRecord>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let row = tx.opt(TASK, &[&key]).await?;
    tx.commit().await?;
    Ok(row.map(|r| TaskRecord {
        class_name: r.get(0),
        arguments: r.get(1),
        queue_name: r.get(2),
        priority: r.get(3),
    }))
}
