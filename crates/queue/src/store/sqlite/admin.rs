//! Inspection and administration: stats, listings, retry, discard, pause, cleanup.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::model::{JobInfo, Stats, parse_state, wrong};
use super::{dispatch, load_info, semaphore};
use crate::error::{Error, Result};
use crate::job::{JobId, JobState};
use trifecta_store::Timestamp;

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

/// Counts jobs by state and queue.
pub(crate) fn stats(conn: &Connection) -> Result<Stats> {
    let mut stats = Stats::empty();
    let mut stmt = conn.prepare_cached(STATS)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (state, queue, n) = row?;
        stats.add(state, queue, n);
    }
    stats.paused = conn
        .prepare_cached(PAUSED)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    stats.processes = conn.query_row(PROCESSES, [], |r| r.get(0))?;
    Ok(stats)
}

/// The jobs with their state, `$filter` applied to the columns (`id`, `state`, …).
macro_rules! select_jobs {
    ($filter:literal) => {
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
  FROM solid_queue_jobs j LEFT JOIN solid_queue_failed_executions f ON f.job_id = j.id)
 WHERE ", $filter)
    };
}

const SELECT_JOBS: &str = select_jobs!(
    "(?1 IS NULL OR id = ?1) AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR queue_name = ?3)
 ORDER BY id LIMIT ?4"
);
// One job by its id: a lookup, where the filters above (an `OR` on `id`) read every job.
const SELECT_JOB: &str = select_jobs!("id = ?1");

/// Jobs matching the filters, oldest first.
pub(crate) fn list(
    conn: &Connection,
    id: Option<i64>,
    state: Option<JobState>,
    queue: Option<&str>,
    limit: usize,
) -> Result<Vec<JobInfo>> {
    if let Some(id) = id {
        let job = conn
            .prepare_cached(SELECT_JOB)?
            .query_row([id], job_row)
            .optional()?;
        return Ok(job
            .filter(|j| state.is_none_or(|s| j.state == s))
            .filter(|j| queue.is_none_or(|q| j.queue_name == q))
            .into_iter()
            .collect());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(SELECT_JOBS)?;
    let rows = stmt.query_map(
        params![id, state.map(JobState::as_str), queue, limit],
        job_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A row of [`SELECT_JOBS`] or [`SELECT_JOB`].
fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobInfo> {
    let error: Option<String> = r.get(10)?;
    Ok(JobInfo {
        id: JobId(r.get(0)?),
        class_name: r.get(1)?,
        queue_name: r.get(2)?,
        priority: r.get(3)?,
        arguments: r.get(4)?,
        executions: r.get(5)?,
        created_at: r.get(6)?,
        scheduled_at: r.get(7)?,
        finished_at: r.get(8)?,
        state: parse_state(&r.get::<_, String>(9)?),
        error: error.and_then(|e| serde_json::from_str(&e).ok()),
    })
}

/// The state of job `id`.
pub(crate) fn state_of(conn: &Connection, id: i64) -> Result<JobState> {
    list(conn, Some(id), None, None, 1)?
        .pop()
        .map(|j| j.state)
        .ok_or(Error::NotFound(JobId(id)))
}

const FAILED_IDS: &str = "SELECT job_id FROM solid_queue_failed_executions ORDER BY job_id";
const DELETE_FAILED: &str = "DELETE FROM solid_queue_failed_executions WHERE job_id = ?1";
// A manual retry resets the attempt counter, as `FailedExecution#retry` does with
// `reset_execution_counters`, so a job whose `retry_on` budget ran out gets it again.
const RESET: &str = "UPDATE solid_queue_jobs SET scheduled_at = ?2, executions = 0, updated_at = ?2
  WHERE id = ?1";

/// Retries failed job `id` (or every failed job): back to ready (or blocked), with its
/// `executions` counter reset to 0 so the job gets its full retry budget again.
pub(crate) fn retry(conn: &Connection, id: Option<i64>, now: Timestamp) -> Result<Vec<JobId>> {
    let ids = match id {
        Some(id) => {
            let state = state_of(conn, id)?;
            if state != JobState::Failed {
                return Err(wrong(id, state, "retry", "failed jobs"));
            }
            vec![id]
        }
        None => failed_ids(conn)?,
    };
    for &job in &ids {
        conn.prepare_cached(DELETE_FAILED)?.execute([job])?;
        conn.prepare_cached(RESET)?.execute(params![job, now])?;
        if let Some(info) = load_info(conn, job)? {
            dispatch(conn, &info, now)?;
        }
    }
    Ok(ids.into_iter().map(JobId).collect())
}

fn failed_ids(conn: &Connection) -> Result<Vec<i64>> {
    Ok(conn
        .prepare_cached(FAILED_IDS)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = ?1";

/// Discards job `id` (ready, scheduled, blocked or failed; never claimed) or, with `None`,
/// every failed job. A ready job under a concurrency limit gives its slot back.
pub(crate) fn discard(conn: &Connection, id: Option<i64>, now: Timestamp) -> Result<Vec<JobId>> {
    let ids = match id {
        Some(id) => {
            let state = state_of(conn, id)?;
            if matches!(state, JobState::Claimed | JobState::Finished) {
                return Err(wrong(
                    id,
                    state,
                    "discard",
                    "ready, scheduled, blocked or failed jobs",
                ));
            }
            if state == JobState::Ready
                && let Some(limit) = load_info(conn, id)?.and_then(|i| i.limit)
            {
                conn.prepare_cached(DELETE_JOB)?.execute([id])?;
                semaphore::signal(conn, &limit, now)?;
                return Ok(vec![JobId(id)]);
            }
            vec![id]
        }
        None => failed_ids(conn)?,
    };
    for &job in &ids {
        conn.prepare_cached(DELETE_JOB)?.execute([job])?;
    }
    Ok(ids.into_iter().map(JobId).collect())
}

const PAUSE: &str =
    "INSERT OR IGNORE INTO solid_queue_pauses (queue_name, created_at) VALUES (?1, ?2)";
const RESUME: &str = "DELETE FROM solid_queue_pauses WHERE queue_name = ?1";

/// Pauses `queue`; false if it already was.
pub(crate) fn pause(conn: &Connection, queue: &str, now: Timestamp) -> Result<bool> {
    Ok(conn.prepare_cached(PAUSE)?.execute(params![queue, now])? == 1)
}

/// Resumes `queue`; false if it was not paused.
pub(crate) fn resume(conn: &Connection, queue: &str) -> Result<bool> {
    Ok(conn.prepare_cached(RESUME)?.execute([queue])? == 1)
}

const CLEAR: &str = "DELETE FROM solid_queue_jobs WHERE id IN
  (SELECT id FROM solid_queue_jobs WHERE finished_at IS NOT NULL AND finished_at < ?1 LIMIT ?2)";

/// Deletes up to `batch` jobs finished before `before`; returns how many.
pub(crate) fn clear_finished(conn: &Connection, before: Timestamp, batch: usize) -> Result<usize> {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    Ok(conn
        .prepare_cached(CLEAR)?
        .execute(params![before, batch])?)
}

const IS_PAUSED: &str = "SELECT 1 FROM solid_queue_pauses WHERE queue_name = ?1";

/// Whether `queue` is paused.
pub(crate) fn is_paused(conn: &Connection, queue: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(IS_PAUSED)?
        .query_row([queue], |_| Ok(()))
        .optional()?
        .is_some())
}
