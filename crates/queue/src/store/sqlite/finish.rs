//! Finish: record the outcome of several performed jobs in one transaction (group commit),
//! each only if its claim is still held (a claim released by pruning is left alone).

use rusqlite::{Connection, params};

use super::super::model::{Completion, Dispatched, FinishReport, Outcome};
use super::{dispatch, load_info, query_infos, semaphore};
use crate::error::Result;
use crate::job::JobError;
use trifecta_store::Timestamp;

const UNCLAIM: &str =
    "DELETE FROM solid_queue_claimed_executions WHERE job_id = ?1 AND process_id IS ?2";
// Successful jobs are finished in bulk: their ids travel as one JSON array.
const UNCLAIM_MANY: &str = "DELETE FROM solid_queue_claimed_executions
  WHERE process_id IS ?2 AND job_id IN (SELECT value FROM json_each(?1)) RETURNING job_id";
const MARK_FINISHED: &str = "UPDATE solid_queue_jobs SET finished_at = ?2, updated_at = ?2
  WHERE id IN (SELECT value FROM json_each(?1)) AND concurrency_key IS NOT NULL
  RETURNING id, queue_name, priority, concurrency_key, concurrency_limit,
            concurrency_duration, concurrency_discard";
const MARK_FINISHED_PLAIN: &str = "UPDATE solid_queue_jobs SET finished_at = ?2, updated_at = ?2
  WHERE id IN (SELECT value FROM json_each(?1)) AND concurrency_key IS NULL";
const DELETE_JOBS: &str = "DELETE FROM solid_queue_jobs
  WHERE id IN (SELECT value FROM json_each(?1)) AND concurrency_key IS NOT NULL
  RETURNING id, queue_name, priority, concurrency_key, concurrency_limit,
            concurrency_duration, concurrency_discard";
const DELETE_JOBS_PLAIN: &str = "DELETE FROM solid_queue_jobs
  WHERE id IN (SELECT value FROM json_each(?1)) AND concurrency_key IS NULL";
const RESCHEDULE: &str =
    "UPDATE solid_queue_jobs SET scheduled_at = ?2, updated_at = ?3 WHERE id = ?1";
const INSERT_SCHEDULED: &str = "INSERT INTO solid_queue_scheduled_executions
   (job_id, queue_name, priority, scheduled_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Records every completion of `process_id` whose claim is still held.
pub(crate) fn finish_batch(
    conn: &Connection,
    process_id: Option<i64>,
    items: &[Completion],
    preserve_finished: bool,
    now: Timestamp,
) -> Result<FinishReport> {
    let mut report = FinishReport::default();
    let done: Vec<i64> = items
        .iter()
        .filter(|i| matches!(i.outcome, Outcome::Finished | Outcome::Discarded))
        .map(|i| i.job_id)
        .collect();
    if !done.is_empty() {
        report.made_ready += finish_done(conn, process_id, &done, preserve_finished, now)?;
    }
    for item in items {
        if matches!(item.outcome, Outcome::Finished | Outcome::Discarded) {
            continue;
        }
        let held = conn
            .prepare_cached(UNCLAIM)?
            .execute(params![item.job_id, process_id])?;
        if held == 0 {
            continue;
        }
        let Some(info) = load_info(conn, item.job_id)? else {
            continue;
        };
        // The slot is given back first, so a retry below competes for it fairly.
        if let Some(limit) = &info.limit
            && semaphore::signal(conn, limit, now)?.is_some()
        {
            report.made_ready += 1;
        }
        match &item.outcome {
            Outcome::Finished | Outcome::Discarded => {}
            Outcome::Retry(at, error) => {
                record_attempt(conn, item.job_id, error, now)?;
                conn.prepare_cached(RESCHEDULE)?
                    .execute(params![item.job_id, at, now])?;
                if *at > now {
                    conn.prepare_cached(INSERT_SCHEDULED)?.execute(params![
                        item.job_id,
                        info.queue_name,
                        info.priority,
                        at,
                        now
                    ])?;
                } else if dispatch(conn, &info, now)? == Dispatched::Ready {
                    report.made_ready += 1;
                }
            }
            Outcome::Failed(error) => insert_failed(conn, item.job_id, error, now)?,
        }
    }
    Ok(report)
}

/// Finishes the successful jobs still claimed by `process_id`; returns how many blocked
/// jobs their freed slots released.
fn finish_done(
    conn: &Connection,
    process_id: Option<i64>,
    ids: &[i64],
    preserve_finished: bool,
    now: Timestamp,
) -> Result<usize> {
    let ids = serde_json::to_string(ids)?;
    let held: Vec<i64> = conn
        .prepare_cached(UNCLAIM_MANY)?
        .query_map(params![ids, process_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if held.is_empty() {
        return Ok(0);
    }
    let held = serde_json::to_string(&held)?;
    let limited = if preserve_finished {
        conn.prepare_cached(MARK_FINISHED_PLAIN)?
            .execute(params![held, now])?;
        query_infos(conn, MARK_FINISHED, params![held, now])?
    } else {
        conn.prepare_cached(DELETE_JOBS_PLAIN)?.execute([&held])?;
        query_infos(conn, DELETE_JOBS, [&held])?
    };
    let mut released = 0;
    for info in limited {
        if let Some(limit) = &info.limit
            && semaphore::signal(conn, limit, now)?.is_some()
        {
            released += 1;
        }
    }
    Ok(released)
}

const INSERT_FAILED: &str = "INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
 VALUES (?1, ?2, ?3)";

/// Records a failed execution with its error as JSON, and the attempt that failed.
pub(crate) fn insert_failed(
    conn: &Connection,
    job_id: i64,
    error: &JobError,
    now: Timestamp,
) -> Result<()> {
    let json = serde_json::to_string(error)?;
    conn.prepare_cached(INSERT_FAILED)?
        .execute(params![job_id, &json, now])?;
    conn.prepare_cached(INSERT_ATTEMPT)?
        .execute(params![job_id, json, now])?;
    Ok(())
}

// The attempt number and the process come from the job row: the claim counted the
// attempt and named its process there.
const INSERT_ATTEMPT: &str = "INSERT INTO trifecta_job_attempts
   (job_id, attempt, error, process_id, created_at)
 SELECT id, executions, ?2, process_id, ?3 FROM solid_queue_jobs WHERE id = ?1";

/// Records a failed attempt of job `job_id` that will be retried.
fn record_attempt(conn: &Connection, job_id: i64, error: &JobError, now: Timestamp) -> Result<()> {
    let json = serde_json::to_string(error)?;
    conn.prepare_cached(INSERT_ATTEMPT)?
        .execute(params![job_id, json, now])?;
    Ok(())
}
