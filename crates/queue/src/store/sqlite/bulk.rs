//! Bulk actions on SQLite, one batch per transaction: retry or discard the jobs a search
//! found (each only if it is still in the state it was found in), and run a scheduled or
//! blocked job now.

use rusqlite::{Connection, params};

use super::super::model::{Dispatched, wrong};
use super::admin::state_of;
use super::{dispatch, insert_ready, load_info, semaphore};
use crate::error::Result;
use crate::job::JobState;
use trifecta_store::Timestamp;

const DELETE_FAILED: &str = "DELETE FROM solid_queue_failed_executions WHERE job_id = ?1";
// As a single retry: the attempt counter starts again (see `admin::retry`).
const RESET: &str = "UPDATE solid_queue_jobs SET scheduled_at = ?2, executions = 0, updated_at = ?2
  WHERE id = ?1";

/// Retries those of `ids` that are still failed; returns them.
pub(crate) fn retry_ids(conn: &Connection, ids: &[i64], now: Timestamp) -> Result<Vec<i64>> {
    let mut done = Vec::with_capacity(ids.len());
    for &id in ids {
        if conn.prepare_cached(DELETE_FAILED)?.execute([id])? == 0 {
            continue;
        }
        conn.prepare_cached(RESET)?.execute(params![id, now])?;
        if let Some(info) = load_info(conn, id)? {
            dispatch(conn, &info, now)?;
        }
        done.push(id);
    }
    Ok(done)
}

const DELETE_READY: &str = "DELETE FROM solid_queue_ready_executions WHERE job_id = ?1";
const DELETE_SCHEDULED: &str = "DELETE FROM solid_queue_scheduled_executions WHERE job_id = ?1";
const DELETE_BLOCKED: &str = "DELETE FROM solid_queue_blocked_executions WHERE job_id = ?1";
const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = ?1";

/// Discards those of `ids` still in `state` (failed, ready, scheduled or blocked): a ready
/// job under a concurrency limit gives its slot back. Returns the discarded ids, and
/// whether a freed slot made a blocked job ready.
pub(crate) fn discard_ids(
    conn: &Connection,
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
    let mut done = Vec::with_capacity(ids.len());
    let mut released = false;
    for &id in ids {
        if conn.prepare_cached(sql)?.execute([id])? == 0 {
            continue;
        }
        let limit = match state {
            JobState::Ready => load_info(conn, id)?.and_then(|i| i.limit),
            _ => None,
        };
        conn.prepare_cached(DELETE_JOB)?.execute([id])?;
        if let Some(limit) = limit {
            released |= semaphore::signal(conn, &limit, now)?.is_some();
        }
        done.push(id);
    }
    Ok((done, released))
}

const DUE_NOW: &str =
    "UPDATE solid_queue_jobs SET scheduled_at = ?2, updated_at = ?2 WHERE id = ?1";

/// Runs job `id` now: a scheduled job is dispatched (ready, or blocked when its
/// concurrency limit is full), a blocked job is made ready without taking a slot. Returns
/// whether it became ready.
pub(crate) fn run_now(conn: &Connection, id: i64, now: Timestamp) -> Result<bool> {
    let state = state_of(conn, id)?;
    match state {
        JobState::Scheduled => {
            conn.prepare_cached(DELETE_SCHEDULED)?.execute([id])?;
            conn.prepare_cached(DUE_NOW)?.execute(params![id, now])?;
            match load_info(conn, id)? {
                Some(info) => Ok(dispatch(conn, &info, now)? == Dispatched::Ready),
                None => Ok(false),
            }
        }
        JobState::Blocked => {
            conn.prepare_cached(DELETE_BLOCKED)?.execute([id])?;
            let Some(info) = load_info(conn, id)? else {
                return Ok(false);
            };
            insert_ready(conn, id, &info.queue_name, info.priority, now)?;
            Ok(true)
        }
        _ => Err(wrong(id, state, "run now", "scheduled or blocked jobs")),
    }
}
