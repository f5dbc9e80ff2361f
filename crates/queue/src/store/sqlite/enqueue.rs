//! Enqueue: insert the job row, then ready, scheduled, blocked or discarded.

use rusqlite::{Connection, OptionalExtension, named_params, params};

use super::super::model::{
    ClaimFor, ClaimedJob, DispatchInfo, Dispatched, Limit, Placed, Written, limit_of,
};
use super::claim::{claim_nested, claim_new, takes_new};
use super::{admit, dispatch};
use crate::error::Result;
use crate::job::NewJob;
use crate::selector::QueueSelector;
use trifecta_store::Timestamp;

const INSERT_JOB: &str = "INSERT INTO solid_queue_jobs
   (queue_name, class_name, arguments, priority, scheduled_at, concurrency_key,
    concurrency_limit, concurrency_duration, concurrency_discard, request_id, created_at,
    updated_at)
 VALUES (:queue, :class, :args, :priority, :scheduled_at, :key, :limit, :duration, :discard,
         :request_id, :now, :now)";

const INSERT_SCHEDULED: &str = "INSERT INTO solid_queue_scheduled_executions
   (job_id, queue_name, priority, scheduled_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A waiting (ready or blocked) job with concurrency key `?1`. Jobs are found through the
/// partial index of unfinished keyed jobs; blocked ones through their own key index.
const WAITING_WITH_KEY: &str = "SELECT job_id FROM solid_queue_blocked_executions
  WHERE concurrency_key = ?1
 UNION ALL
 SELECT r.job_id FROM solid_queue_jobs j
   JOIN solid_queue_ready_executions r ON r.job_id = j.id
  WHERE j.concurrency_key = ?1 AND j.finished_at IS NULL
 LIMIT 1";

/// The id of a waiting job that `job` coalesces into, if `job` coalesces.
fn coalesced_into(conn: &Connection, job: &NewJob) -> Result<Option<i64>> {
    let Some(c) = job.concurrency.as_ref().filter(|c| c.coalesce) else {
        return Ok(None);
    };
    if job.scheduled_at.is_some() {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(WAITING_WITH_KEY)?
        .query_row([&c.key], |r| r.get(0))
        .optional()?)
}

/// Inserts the job row with its concurrency `limit`; returns its id.
fn insert_row(
    conn: &Connection,
    job: &NewJob,
    limit: Option<&Limit>,
    scheduled_at: Timestamp,
    now: Timestamp,
) -> Result<i64> {
    conn.prepare_cached(INSERT_JOB)?.execute(named_params! {
        ":queue": job.queue_name,
        ":class": job.class_name,
        ":args": job.arguments,
        ":priority": job.priority,
        ":scheduled_at": scheduled_at,
        ":key": limit.map(|l| &l.key),
        ":limit": limit.map(|l| l.to),
        ":duration": limit.map(|l| l.duration_us),
        ":discard": limit.is_some_and(|l| l.discard),
        ":request_id": job.request_id,
        ":now": now,
    })?;
    Ok(conn.last_insert_rowid())
}

/// Writes one job and places it. Runs inside the caller's transaction.
pub(crate) fn insert(conn: &Connection, job: &NewJob, now: Timestamp) -> Result<(i64, Placed)> {
    if let Some(waiting) = coalesced_into(conn, job)? {
        return Ok((waiting, Placed::Coalesced));
    }
    let scheduled_at = job.scheduled_at.unwrap_or(now);
    let limit = limit_of(job);
    let id = insert_row(conn, job, limit.as_ref(), scheduled_at, now)?;
    if scheduled_at > now {
        conn.prepare_cached(INSERT_SCHEDULED)?.execute(params![
            id,
            job.queue_name,
            job.priority,
            scheduled_at,
            now
        ])?;
        return Ok((id, Placed::Scheduled));
    }
    let info = DispatchInfo {
        id,
        queue_name: job.queue_name.clone(),
        priority: job.priority,
        limit,
    };
    Ok((id, Placed::Dispatched(dispatch(conn, &info, now)?)))
}

/// As [`insert`], for a job enqueued while a local worker has an idle slot: when a claim
/// for `selector` would take this job first, it is claimed for `process_id` as it is
/// placed (never made ready: two statements fewer than ready-then-claim, and no poll).
pub(crate) fn insert_for(
    conn: &Connection,
    job: &NewJob,
    now: Timestamp,
    selector: &QueueSelector,
    process_id: Option<i64>,
) -> Result<(i64, Placed, Option<ClaimedJob>)> {
    if let Some(waiting) = coalesced_into(conn, job)? {
        return Ok((waiting, Placed::Coalesced, None));
    }
    let due = job.scheduled_at.is_none_or(|at| at <= now);
    if !due || !takes_new(conn, selector, &job.queue_name)? {
        let (id, placed) = insert(conn, job, now)?;
        return Ok((id, placed, None));
    }
    let limit = limit_of(job);
    let id = insert_row(
        conn,
        job,
        limit.as_ref(),
        job.scheduled_at.unwrap_or(now),
        now,
    )?;
    let info = DispatchInfo {
        id,
        queue_name: job.queue_name.clone(),
        priority: job.priority,
        limit,
    };
    let placed = admit(conn, &info, now)?;
    let claimed = match placed {
        Dispatched::Ready => Some(claim_new(conn, id, process_id, now)?),
        Dispatched::Blocked | Dispatched::Discarded => None,
    };
    Ok((id, Placed::Dispatched(placed), claimed))
}

/// Inserts `jobs` in order.
pub(crate) fn insert_all(
    tx: &Connection,
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<Vec<(i64, Placed)>> {
    jobs.iter().map(|j| insert(tx, j, now)).collect()
}

/// Inserts `jobs` and, with `claim` given, claims for the local worker in the same
/// transaction. One job that the worker would take first is claimed as it is placed;
/// otherwise the worker's ordinary claim runs after the inserts (a failing claim is logged
/// and undone alone: the jobs still commit).
pub(crate) fn write_jobs(
    tx: &Connection,
    jobs: &[NewJob],
    now: Timestamp,
    claim: Option<&ClaimFor>,
) -> Result<Written> {
    let Some(claim) = claim else {
        return Ok(Written {
            placed: insert_all(tx, jobs, now)?,
            claimed: Vec::new(),
            claim_done: false,
        });
    };
    if let [job] = jobs {
        let (id, placed, claimed) = insert_for(tx, job, now, &claim.selector, claim.process_id)?;
        if let Some(c) = claimed {
            // Nothing was ready ahead of it, so nothing is left for the worker.
            return Ok(Written {
                placed: vec![(id, placed)],
                claimed: vec![c],
                claim_done: true,
            });
        }
        return claim_after(tx, vec![(id, placed)], now, claim);
    }
    let placed = insert_all(tx, jobs, now)?;
    claim_after(tx, placed, now, claim)
}

fn claim_after(
    tx: &Connection,
    placed: Vec<(i64, Placed)>,
    now: Timestamp,
    claim: &ClaimFor,
) -> Result<Written> {
    match claim_nested(tx, &claim.selector, claim.process_id, claim.slots, now) {
        Ok(claimed) => Ok(Written {
            placed,
            // Fewer jobs than slots: the claim took everything ready for this worker.
            claim_done: claimed.len() < claim.slots,
            claimed,
        }),
        Err(e) => {
            tracing::warn!(cause = %e, "claim at enqueue failed; the worker will poll");
            Ok(Written {
                placed,
                claimed: Vec::new(),
                claim_done: false,
            })
        }
    }
}
