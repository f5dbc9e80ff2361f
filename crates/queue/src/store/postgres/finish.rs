//! Finish on PostgreSQL: record the outcomes of several performed jobs in one transaction,
//! each only if its claim is still held (a claim released by pruning is left alone).

use trifecta_store::{Pg, Timestamp};

use super::super::model::{Completion, Dispatched, FinishReport, Outcome};
use super::dispatch::{dispatch, info_row, load_info};
use super::{Tx, semaphore};
use crate::error::Result;
use crate::job::JobError;

const UNCLAIM: &str = "DELETE FROM solid_queue_claimed_executions
  WHERE job_id = $1 AND process_id IS NOT DISTINCT FROM $2";
const RESCHEDULE: &str =
    "UPDATE solid_queue_jobs SET scheduled_at = $2, updated_at = $3 WHERE id = $1";
const INSERT_SCHEDULED: &str = "INSERT INTO solid_queue_scheduled_executions
   (job_id, queue_name, priority, scheduled_at, created_at) VALUES ($1, $2, $3, $4, $5)";

/// Records every completion of `process_id` whose claim is still held.
pub(in super::super) async fn finish_batch(
    pg: &Pg,
    process_id: Option<i64>,
    items: &[Completion],
    preserve_finished: bool,
    now: Timestamp,
) -> Result<FinishReport> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let mut report = FinishReport::default();
    let done: Vec<i64> = items
        .iter()
        .filter(|i| matches!(i.outcome, Outcome::Finished | Outcome::Discarded))
        .map(|i| i.job_id)
        .collect();
    if !done.is_empty() {
        report.made_ready +=
            finish_done(&mut tx, process_id, &done, preserve_finished, now).await?;
    }
    for item in items {
        if matches!(item.outcome, Outcome::Finished | Outcome::Discarded) {
            continue;
        }
        if tx.exec(UNCLAIM, &[&item.job_id, &process_id]).await? == 0 {
            continue;
        }
        let Some(info) = load_info(&tx, item.job_id).await? else {
            continue;
        };
        // The slot is given back first, so a retry below competes for it fairly.
        if let Some(limit) = &info.limit
            && semaphore::signal(&mut tx, limit, now).await?.is_some()
        {
            report.made_ready += 1;
        }
        match &item.outcome {
            Outcome::Finished | Outcome::Discarded => {}
            Outcome::Retry(at, error) => {
                record_attempt(&tx, item.job_id, error, now).await?;
                tx.exec(RESCHEDULE, &[&item.job_id, &at.0, &now.0]).await?;
                if *at > now {
                    tx.exec(
                        INSERT_SCHEDULED,
                        &[
                            &item.job_id,
                            &info.queue_name,
                            &info.priority,
                            &at.0,
                            &now.0,
                        ],
                    )
                    .await?;
                } else if dispatch(&mut tx, &info, now).await? == Dispatched::Ready {
                    report.made_ready += 1;
                }
            }
            Outcome::Failed(error) => insert_failed(&tx, item.job_id, error, now).await?,
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// One statement for the whole batch: the claims still held are deleted and their jobs
/// marked finished (or deleted); the jobs with a concurrency limit come back. Jobs are
/// found by `= ANY(ARRAY(…))`, as in [`super::claim`], so a cached plan never scans the
/// jobs table.
fn finish_sql(preserve: bool) -> &'static str {
    if preserve {
        const MARK: &str = "WITH held AS (
            DELETE FROM solid_queue_claimed_executions
             WHERE process_id IS NOT DISTINCT FROM $2 AND job_id = ANY($1) RETURNING job_id),
          done AS (
            UPDATE solid_queue_jobs j SET finished_at = $3, updated_at = $3
             WHERE j.id = ANY(ARRAY(SELECT job_id FROM held))
            RETURNING j.id, j.queue_name, j.priority, j.concurrency_key, j.concurrency_limit,
                      j.concurrency_duration, j.concurrency_discard)
          SELECT * FROM done WHERE concurrency_key IS NOT NULL ORDER BY concurrency_key, id";
        MARK
    } else {
        const DELETE: &str = "WITH held AS (
            DELETE FROM solid_queue_claimed_executions
             WHERE process_id IS NOT DISTINCT FROM $2 AND job_id = ANY($1) RETURNING job_id),
          done AS (
            DELETE FROM solid_queue_jobs j WHERE j.id = ANY(ARRAY(SELECT job_id FROM held))
            RETURNING j.id, j.queue_name, j.priority, j.concurrency_key, j.concurrency_limit,
                      j.concurrency_duration, j.concurrency_discard)
          SELECT * FROM done WHERE concurrency_key IS NOT NULL ORDER BY concurrency_key, id";
        DELETE
    }
}

/// Finishes the successful jobs still claimed by `process_id`; returns how many blocked
/// jobs their freed slots released. Slots are given back in key order, so two batches
/// lock semaphore rows in the same order.
async fn finish_done(
    tx: &mut Tx<'_>,
    process_id: Option<i64>,
    ids: &[i64],
    preserve_finished: bool,
    now: Timestamp,
) -> Result<usize> {
    let sql = finish_sql(preserve_finished);
    let rows = if preserve_finished {
        tx.rows(sql, &[&ids, &process_id, &now.0]).await?
    } else {
        tx.rows(sql, &[&ids, &process_id]).await?
    };
    let limited: Vec<_> = rows.iter().map(info_row).collect();
    let mut released = 0;
    for info in limited {
        if let Some(limit) = &info.limit
            && semaphore::signal(tx, limit, now).await?.is_some()
        {
            released += 1;
        }
    }
    Ok(released)
}

const INSERT_FAILED: &str = "INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
 VALUES ($1, $2, $3)";

/// Records a failed execution with its error as JSON, and the attempt that failed.
pub(super) async fn insert_failed(
    tx: &Tx<'_>,
    job_id: i64,
    error: &JobError,
    now: Timestamp,
) -> Result<()> {
    let json = serde_json::to_string(error)?;
    tx.exec(INSERT_FAILED, &[&job_id, &json, &now.0]).await?;
    tx.exec(INSERT_ATTEMPT, &[&job_id, &json, &now.0]).await?;
    Ok(())
}

// The attempt number and the process come from the job row: the claim counted the
// attempt and named its process there.
const INSERT_ATTEMPT: &str = "INSERT INTO trifecta_job_attempts
   (job_id, attempt, error, process_id, created_at)
 SELECT id, executions, $2, process_id, $3 FROM solid_queue_jobs WHERE id = $1";

/// Records a failed attempt of job `job_id` that will be retried.
async fn record_attempt(tx: &Tx<'_>, job_id: i64, error: &JobError, now: Timestamp) -> Result<()> {
    let json = serde_json::to_string(error)?;
    tx.exec(INSERT_ATTEMPT, &[&job_id, &json, &now.0]).await?;
    Ok(())
}
