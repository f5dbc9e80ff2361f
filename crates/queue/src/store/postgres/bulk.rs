//! Bulk actions on PostgreSQL, one batch per transaction: retry or discard the jobs a
//! search found (each only if it is still in the state it was found in: the delete of its
//! execution row decides, and locks it against a concurrent claim or retry), and run a
//! scheduled or blocked job now.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{Dispatched, wrong};
use super::admin::state_of;
use super::dispatch::{dispatch, insert_ready, load_info};
use super::{Tx, semaphore};
use crate::error::Result;
use crate::job::JobState;

const DELETE_FAILED: &str = "DELETE FROM solid_queue_failed_executions WHERE job_id = $1";
// As a single retry: the attempt counter starts again (see `admin::retry`).
const RESET: &str = "UPDATE solid_queue_jobs SET scheduled_at = $2, executions = 0, updated_at = $2
  WHERE id = $1";

/// Retries those of `ids` that are still failed; returns them.
pub(in super::super) async fn retry_ids(pg: &Pg, ids: &[i64], now: Timestamp) -> Result<Vec<i64>> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let mut done = Vec::with_capacity(ids.len());
    for &id in ids {
        if tx.exec(DELETE_FAILED, &[&id]).await? == 0 {
            continue;
        }
        tx.exec(RESET, &[&id, &now.0]).await?;
        if let Some(info) = load_info(&tx, id).await? {
            dispatch(&mut tx, &info, now).await?;
        }
        done.push(id);
    }
    tx.commit().await?;
    Ok(done)
}

const DELETE_READY: &str = "DELETE FROM solid_queue_ready_executions WHERE job_id = $1";
const DELETE_SCHEDULED: &str = "DELETE FROM solid_queue_scheduled_executions WHERE job_id = $1";
const DELETE_BLOCKED: &str = "DELETE FROM solid_queue_blocked_executions WHERE job_id = $1";
const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = $1";

/// Discards those of `ids` still in `state` (failed, ready, scheduled or blocked): a ready
/// job under a concurrency limit gives its slot back. Returns the discarded ids, and
/// whether a freed slot made a blocked job ready.
pub(in super::super) async fn discard_ids(
    pg: &Pg,
    state: JobState,
    ids: &[i64],
    now: Timestamp,
) -> Result<(Vec<i64>, bool)> {
    let sql = match state {
        JobState::Failed => DELETE_FAILED,
        JobState::Ready => DELETE_READY,
        JobState::Scheduled => DELETE_SCHEDULED,
        JobState::Blocked => DELETE_BLOCKED,
        JobState::Claimed | JobState::Finished => return Ok((Vec::new(), false)),
    };
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let mut done = Vec::with_capacity(ids.len());
    let mut released = false;
    for &id in ids {
        if tx.exec(sql, &[&id]).await? == 0 {
            continue;
        }
        let limit = match state {
            JobState::Ready => load_info(&tx, id).await?.and_then(|i| i.limit),
            _ => None,
        };
        tx.exec(DELETE_JOB, &[&id]).await?;
        if let Some(limit) = limit {
            released |= semaphore::signal(&mut tx, &limit, now).await?.is_some();
        }
        done.push(id);
    }
    tx.commit().await?;
    Ok((done, released))
}

const DUE_NOW: &str =
    "UPDATE solid_queue_jobs SET scheduled_at = $2, updated_at = $2 WHERE id = $1";

/// Runs job `id` now: a scheduled job is dispatched (ready, or blocked when its
/// concurrency limit is full), a blocked job is made ready without taking a slot. Returns
/// whether it became ready.
pub(in super::super) async fn run_now(pg: &Pg, id: i64, now: Timestamp) -> Result<bool> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let state = state_of(&tx, id).await?;
    let ready = match state {
        JobState::Scheduled => {
            tx.exec(DELETE_SCHEDULED, &[&id]).await?;
            tx.exec(DUE_NOW, &[&id, &now.0]).await?;
            match load_info(&tx, id).await? {
                Some(info) => dispatch(&mut tx, &info, now).await? == Dispatched::Ready,
                None => false,
            }
        }
        JobState::Blocked => {
            tx.exec(DELETE_BLOCKED, &[&id]).await?;
            match load_info(&tx, id).await? {
                Some(info) => {
                    insert_ready(&mut tx, id, &info.queue_name, info.priority, now).await?;
                    true
                }
                None => false,
            }
        }
        _ => return Err(wrong(id, state, "run now", "scheduled or blocked jobs")),
    };
    tx.commit().await?;
    Ok(ready)
}
