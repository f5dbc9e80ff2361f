//! Inspection and administration on PostgreSQL: stats, listings, retry, discard, pause,
//! cleanup.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{JobInfo, Stats, parse_state, wrong};
use super::dispatch::{dispatch, load_info};
use super::{Tx, count, limit as sql_limit, semaphore};
use crate::error::{Error, Result};
use crate::job::{JobId, JobState};

const STATS: &str = "
SELECT 'ready', queue_name, count(*) FROM solid_queue_ready_executions GROUP BY queue_name
UNION ALL
SELECT 'scheduled', queue_name, count(*) FROM solid_queue_scheduled_executions GROUP BY queue_name
UNION ALL
SELECT 'claimed', j.queue_name, count(*) FROM solid_queue_claimed_executions c
  JOIN solid_queue_jobs j ON j.id = c.job_id GROUP BY j.queue_name
UNION ALL
SELECT 'blocked', queue_name, count(*) FROM solid_queue_blocked_executions GROUP BY queue_name
UNION ALL
SELECT 'failed', j.queue_name, count(*) FROM solid_queue_failed_executions f
  JOIN solid_queue_jobs j ON j.id = f.job_id GROUP BY j.queue_name
UNION ALL
SELECT 'finished', queue_name, count(*) FROM solid_queue_jobs
  WHERE finished_at IS NOT NULL GROUP BY queue_name";
const PAUSED: &str = "SELECT queue_name FROM solid_queue_pauses ORDER BY queue_name";
const PROCESSES: &str = "SELECT count(*) FROM solid_queue_processes";

/// Counts jobs by state and queue, in one snapshot.
pub(in super::super) async fn stats(pg: &Pg) -> Result<Stats> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    tx.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let mut stats = Stats::empty();
    for r in tx.rows(STATS, &[]).await? {
        stats.add(r.get(0), r.get(1), r.get(2));
    }
    stats.paused = tx
        .rows(PAUSED, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    stats.processes = tx.one(PROCESSES, &[]).await?.get(0);
    tx.commit().await?;
    Ok(stats)
}

/// The jobs with their state, `$inner` applied to the job rows and `$outer` to the
/// columns (`state`, …).
macro_rules! select_jobs {
    ($inner:literal, $outer:literal) => {
        concat!("SELECT * FROM (SELECT j.id, j.class_name, j.queue_name, j.priority,
   j.arguments, j.executions, j.created_at, j.scheduled_at, j.finished_at,
   CASE WHEN j.finished_at IS NOT NULL THEN 'finished'
        WHEN f.job_id IS NOT NULL THEN 'failed'
        WHEN EXISTS (SELECT 1 FROM solid_queue_claimed_executions c WHERE c.job_id = j.id) THEN 'claimed'
        WHEN EXISTS (SELECT 1 FROM solid_queue_ready_executions r WHERE r.job_id = j.id) THEN 'ready'
        WHEN EXISTS (SELECT 1 FROM solid_queue_scheduled_executions s WHERE s.job_id = j.id) THEN 'scheduled'
        WHEN EXISTS (SELECT 1 FROM solid_queue_blocked_executions b WHERE b.job_id = j.id) THEN 'blocked'
        ELSE 'unknown' END AS state,
   f.error
  FROM solid_queue_jobs j LEFT JOIN solid_queue_failed_executions f ON f.job_id = j.id
  WHERE ", $inner, ") x ", $outer)
    };
}

const SELECT_JOBS: &str = select_jobs!(
    "($1::bigint IS NULL OR j.id = $1) AND ($3::text IS NULL OR j.queue_name = $3)",
    "WHERE ($2::text IS NULL OR state = $2) ORDER BY id LIMIT $4"
);
// One job by its id: a lookup even in a generic plan, where the filters above (an `OR` on
// `id`) read every job.
const SELECT_JOB: &str = select_jobs!("j.id = $1", "");

/// Jobs matching the filters, oldest first.
pub(in super::super) async fn list(
    pg: &Pg,
    id: Option<i64>,
    state: Option<JobState>,
    queue: Option<&str>,
    limit: usize,
) -> Result<Vec<JobInfo>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let jobs = list_in(&tx, id, state, queue, limit).await?;
    tx.commit().await?;
    Ok(jobs)
}

/// [`list`] in the caller's transaction.
pub(super) async fn list_in(
    tx: &Tx<'_>,
    id: Option<i64>,
    state: Option<JobState>,
    queue: Option<&str>,
    limit: usize,
) -> Result<Vec<JobInfo>> {
    let rows = match id {
        Some(id) => tx.rows(SELECT_JOB, &[&id]).await?,
        None => {
            tx.rows(
                SELECT_JOBS,
                &[&id, &state.map(JobState::as_str), &queue, &sql_limit(limit)],
            )
            .await?
        }
    };
    let jobs = rows
        .iter()
        .map(|r| {
            let error: Option<String> = r.get(10);
            JobInfo {
                id: JobId(r.get(0)),
                class_name: r.get(1),
                queue_name: r.get(2),
                priority: r.get(3),
                arguments: r.get(4),
                executions: i64::from(r.get::<_, i32>(5)),
                created_at: Timestamp(r.get(6)),
                scheduled_at: r.get::<_, Option<i64>>(7).map(Timestamp),
                finished_at: r.get::<_, Option<i64>>(8).map(Timestamp),
                state: parse_state(r.get(9)),
                error: error.and_then(|e| serde_json::from_str(&e).ok()),
            }
        })
        .filter(|j: &JobInfo| state.is_none_or(|s| j.state == s))
        .filter(|j| queue.is_none_or(|q| j.queue_name == q))
        .collect();
    Ok(jobs)
}

/// The state of job `id`, with its row locked against a concurrent retry or discard.
pub(super) async fn state_of(tx: &Tx<'_>, id: i64) -> Result<JobState> {
    const LOCK: &str = "SELECT 1 FROM solid_queue_jobs WHERE id = $1 FOR UPDATE";
    if tx.opt(LOCK, &[&id]).await?.is_none() {
        return Err(Error::NotFound(JobId(id)));
    }
    list_in(tx, Some(id), None, None, 1)
        .await?
        .pop()
        .map(|j| j.state)
        .ok_or(Error::NotFound(JobId(id)))
}

const FAILED_IDS: &str = "SELECT job_id FROM solid_queue_failed_executions ORDER BY job_id
  FOR UPDATE SKIP LOCKED";
const DELETE_FAILED: &str = "DELETE FROM solid_queue_failed_executions WHERE job_id = $1";
// A manual retry resets the attempt counter, as `FailedExecution#retry` does.
const RESET: &str = "UPDATE solid_queue_jobs SET scheduled_at = $2, executions = 0, updated_at = $2
  WHERE id = $1";

/// Retries failed job `id` (or every failed job): back to ready (or blocked), with its
/// `executions` counter reset.
pub(in super::super) async fn retry(
    pg: &Pg,
    id: Option<i64>,
    now: Timestamp,
) -> Result<Vec<JobId>> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let ids = match id {
        Some(id) => {
            let state = state_of(&tx, id).await?;
            if state != JobState::Failed {
                return Err(wrong(id, state, "retry", "failed jobs"));
            }
            vec![id]
        }
        None => failed_ids(&tx).await?,
    };
    for &job in &ids {
        tx.exec(DELETE_FAILED, &[&job]).await?;
        tx.exec(RESET, &[&job, &now.0]).await?;
        if let Some(info) = load_info(&tx, job).await? {
            dispatch(&mut tx, &info, now).await?;
        }
    }
    tx.commit().await?;
    Ok(ids.into_iter().map(JobId).collect())
}

async fn failed_ids(tx: &Tx<'_>) -> Result<Vec<i64>> {
    Ok(tx
        .rows(FAILED_IDS, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = $1";

/// Discards job `id` (ready, scheduled, blocked or failed; never claimed) or, with `None`,
/// every failed job. A ready job under a concurrency limit gives its slot back.
pub(in super::super) async fn discard(
    pg: &Pg,
    id: Option<i64>,
    now: Timestamp,
) -> Result<Vec<JobId>> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let ids = match id {
        Some(id) => {
            let state = state_of(&tx, id).await?;
            if matches!(state, JobState::Claimed | JobState::Finished) {
                return Err(wrong(
                    id,
                    state,
                    "discard",
                    "ready, scheduled, blocked or failed jobs",
                ));
            }
            if state == JobState::Ready
                && let Some(limit) = load_info(&tx, id).await?.and_then(|i| i.limit)
            {
                tx.exec(DELETE_JOB, &[&id]).await?;
                semaphore::signal(&mut tx, &limit, now).await?;
                tx.commit().await?;
                return Ok(vec![JobId(id)]);
            }
            vec![id]
        }
        None => failed_ids(&tx).await?,
    };
    for &job in &ids {
        tx.exec(DELETE_JOB, &[&job]).await?;
    }
    tx.commit().await?;
    Ok(ids.into_iter().map(JobId).collect())
}

/// Runs one statement on a pooled connection; returns how many rows it changed. With
/// `wakes`, a change notifies the other servers' workers.
async fn exec(pg: &Pg, sql: &str, params: &super::Params<'_>, wakes: bool) -> Result<u64> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let n = tx.exec(sql, params).await?;
    tx.set_made_ready(wakes && n > 0);
    tx.commit().await?;
    Ok(n)
}

const PAUSE: &str = "INSERT INTO solid_queue_pauses (queue_name, created_at) VALUES ($1, $2)
 ON CONFLICT (queue_name) DO NOTHING";
const RESUME: &str = "DELETE FROM solid_queue_pauses WHERE queue_name = $1";

/// Pauses `queue`; false if it already was.
pub(in super::super) async fn pause(pg: &Pg, queue: &str, now: Timestamp) -> Result<bool> {
    Ok(exec(pg, PAUSE, &[&queue, &now.0], false).await? == 1)
}

/// Resumes `queue`; false if it was not paused.
pub(in super::super) async fn resume(pg: &Pg, queue: &str) -> Result<bool> {
    // A resumed queue's jobs are ready for every server again.
    Ok(exec(pg, RESUME, &[&queue], true).await? == 1)
}

const CLEAR: &str = "DELETE FROM solid_queue_jobs WHERE id IN
  (SELECT id FROM solid_queue_jobs WHERE finished_at IS NOT NULL AND finished_at < $1
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// Deletes up to `batch` jobs finished before `before`; returns how many.
pub(in super::super) async fn clear_finished(
    pg: &Pg,
    before: Timestamp,
    batch: usize,
) -> Result<usize> {
    Ok(count(
        exec(pg, CLEAR, &[&before.0, &sql_limit(batch)], false).await?,
    ))
}

const IS_PAUSED: &str = "SELECT 1 FROM solid_queue_pauses WHERE queue_name = $1";

/// Whether `queue` is paused.
pub(in super::super) async fn is_paused(pg: &Pg, queue: &str) -> Result<bool> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let paused = tx.opt(IS_PAUSED, &[&queue]).await?.is_some();
    tx.commit().await?;
    Ok(paused)
}
