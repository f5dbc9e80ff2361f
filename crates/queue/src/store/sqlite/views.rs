//! The operational views on SQLite: queues with their counts, processes with their running
//! jobs, recurring tasks with their last run. Each reads the small tables only (executions,
//! processes, tasks, pauses, minutes) and reaches `solid_queue_jobs` by primary key, so its
//! cost does not grow with the finished and failed jobs kept.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use super::super::views::{ProcessDetail, QueueSummary, RunningJob, TaskRecord, TaskSummary};
use crate::error::Result;
use crate::job::JobId;
use trifecta_store::Timestamp;

/// Per queue: what it holds, one row per (kind, queue). The ready count and oldest ready
/// time read `solid_queue_ready_executions` (its `created_at` is when the job became
/// ready, Solid Queue's latency base); claimed jobs find their queue through the job's
/// primary key; `recent` lists queues with minute statistics since `?1`.
const QUEUES: &str = "
SELECT 'ready', queue_name, count(*), min(created_at) FROM solid_queue_ready_executions
  GROUP BY queue_name
UNION ALL
SELECT 'scheduled', queue_name, count(*), NULL FROM solid_queue_scheduled_executions
  GROUP BY queue_name
UNION ALL
SELECT 'claimed', j.queue_name, count(*), NULL FROM solid_queue_claimed_executions c
  JOIN solid_queue_jobs j ON j.id = c.job_id GROUP BY j.queue_name
UNION ALL
SELECT 'blocked', queue_name, count(*), NULL FROM solid_queue_blocked_executions
  GROUP BY queue_name
UNION ALL
SELECT 'paused', queue_name, 0, NULL FROM solid_queue_pauses
UNION ALL
SELECT 'recent', queue_name, 0, NULL FROM trifecta_queue_minutes WHERE minute >= ?1
  GROUP BY queue_name";

/// Every queue with jobs waiting or running, paused, or with statistics since
/// `recent_since`, by name.
pub(crate) fn queues(conn: &Connection, recent_since: Timestamp) -> Result<Vec<QueueSummary>> {
    let mut out: BTreeMap<String, QueueSummary> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(QUEUES)?;
    let rows = stmt.query_map([recent_since], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<Timestamp>>(3)?,
        ))
    })?;
    for row in rows {
        let (kind, name, n, oldest) = row?;
        super::super::ops::add_queue_row(&mut out, &kind, name, n, oldest);
    }
    Ok(out.into_values().collect())
}

const RUNNING: &str = "SELECT c.process_id, c.job_id, j.class_name, j.queue_name, c.created_at
   FROM solid_queue_claimed_executions c JOIN solid_queue_jobs j ON j.id = c.job_id
  WHERE c.process_id IS NOT NULL
  ORDER BY c.process_id, c.job_id";

/// Every registered process with the jobs it has claimed, in one snapshot.
pub(crate) fn process_details(conn: &mut Connection) -> Result<Vec<ProcessDetail>> {
    let tx = conn.transaction()?;
    let rows = super::process::list(&tx)?;
    let mut running: Vec<(i64, RunningJob)> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(RUNNING)?;
        let found = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                RunningJob {
                    id: JobId(r.get(1)?),
                    class_name: r.get(2)?,
                    queue_name: r.get(3)?,
                    claimed_at: r.get(4)?,
                },
            ))
        })?;
        for row in found {
            running.push(row?);
        }
    }
    tx.commit()?;
    Ok(super::super::ops::join_running(rows, running))
}

/// Each task with its latest run: the `max(run_at)` of its key and that run's row are both
/// one seek in the unique `(task_key, run_at)` index.
const TASKS: &str = "SELECT t.key, t.schedule, t.class_name, t.arguments, t.queue_name,
   coalesce(t.priority, 0), t.description, e.run_at, e.job_id
  FROM solid_queue_recurring_tasks t
  LEFT JOIN solid_queue_recurring_executions e ON e.task_key = t.key
   AND e.run_at = (SELECT max(run_at) FROM solid_queue_recurring_executions m
                    WHERE m.task_key = t.key)
  ORDER BY t.key";

/// Every recurring task with its last run (the next run is the caller's to compute).
pub(crate) fn tasks(conn: &Connection) -> Result<Vec<TaskSummary>> {
    let mut stmt = conn.prepare_cached(TASKS)?;
    let rows = stmt.query_map([], |r| {
        Ok(TaskSummary {
            key: r.get(0)?,
            schedule: r.get(1)?,
            class_name: r.get(2)?,
            arguments: r.get(3)?,
            queue_name: r.get(4)?,
            priority: r.get(5)?,
            description: r.get(6)?,
            last_run_at: r.get(7)?,
            last_job_id: r.get::<_, Option<i64>>(8)?.map(JobId),
            next_run_at: None,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const TASK: &str = "SELECT class_name, arguments, queue_name, coalesce(priority, 0)
   FROM solid_queue_recurring_tasks WHERE key = ?1";

/// The row of task `key`, if there is one.
pub(crate) fn task(conn: &Connection, key: &str) -> Result<Option<TaskRecord>> {
    Ok(conn
        .prepare_cached(TASK)?
        .query_row([key], |r| {
            Ok(TaskRecord {
                class_name: r.get(0)?,
                arguments: r.get(1)?,
                queue_name: r.get(2)?,
                priority: r.get(3)?,
            })
        })
        .optional()?)
}
