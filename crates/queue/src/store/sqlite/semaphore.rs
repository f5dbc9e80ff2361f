//! Concurrency semaphores (Solid Queue's `Semaphore` and `BlockedExecution` release).

use rusqlite::{Connection, OptionalExtension, params};

use super::super::model::Limit;
use super::{insert_ready, load_info};
use crate::error::Result;
use trifecta_store::Timestamp;

const DECREMENT: &str = "UPDATE solid_queue_semaphores
    SET value = value - 1, expires_at = ?2, updated_at = ?3
  WHERE key = ?1 AND value > 0";
const CREATE: &str = "INSERT OR IGNORE INTO solid_queue_semaphores
   (key, value, expires_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)";

/// Takes a slot of `limit`; false when it is full.
pub(crate) fn wait(conn: &Connection, limit: &Limit, now: Timestamp) -> Result<bool> {
    let expires = Timestamp(now.0.saturating_add(limit.duration_us));
    if conn
        .prepare_cached(DECREMENT)?
        .execute(params![limit.key, expires, now])?
        == 1
    {
        return Ok(true);
    }
    let created = conn.prepare_cached(CREATE)?.execute(params![
        limit.key,
        (limit.to - 1).max(0),
        expires,
        now
    ])?;
    Ok(created == 1)
}

const INCREMENT: &str = "UPDATE solid_queue_semaphores
    SET value = value + 1, expires_at = ?3, updated_at = ?4
  WHERE key = ?1 AND value < ?2";
const EXISTS: &str = "SELECT 1 FROM solid_queue_semaphores WHERE key = ?1";

/// Gives a slot back after a job with `limit` finished or failed, then releases the next
/// blocked job of the key if there is room.
pub(crate) fn signal(conn: &Connection, limit: &Limit, now: Timestamp) -> Result<Option<i64>> {
    let expires = Timestamp(now.0.saturating_add(limit.duration_us));
    let bumped = conn
        .prepare_cached(INCREMENT)?
        .execute(params![limit.key, limit.to, expires, now])?
        == 1;
    let missing = !bumped
        && conn
            .prepare_cached(EXISTS)?
            .query_row([&limit.key], |_| Ok(()))
            .optional()?
            .is_none();
    if bumped || missing {
        release_one(conn, &limit.key, now)
    } else {
        Ok(None)
    }
}

const NEXT_BLOCKED: &str = "SELECT job_id FROM solid_queue_blocked_executions
  WHERE concurrency_key = ?1 ORDER BY priority, job_id LIMIT 1";
const DELETE_BLOCKED: &str = "DELETE FROM solid_queue_blocked_executions WHERE job_id = ?1";

/// Moves the first blocked job of `key` to ready if it can take a slot.
pub(crate) fn release_one(conn: &Connection, key: &str, now: Timestamp) -> Result<Option<i64>> {
    let next: Option<i64> = conn
        .prepare_cached(NEXT_BLOCKED)?
        .query_row([key], |r| r.get(0))
        .optional()?;
    let Some(job_id) = next else {
        return Ok(None);
    };
    let Some(info) = load_info(conn, job_id)? else {
        return Ok(None);
    };
    let Some(limit) = &info.limit else {
        return Ok(None);
    };
    if !wait(conn, limit, now)? {
        return Ok(None);
    }
    insert_ready(conn, info.id, &info.queue_name, info.priority, now)?;
    conn.prepare_cached(DELETE_BLOCKED)?.execute([job_id])?;
    Ok(Some(job_id))
}

const DELETE_EXPIRED: &str = "DELETE FROM solid_queue_semaphores WHERE id IN
  (SELECT id FROM solid_queue_semaphores WHERE expires_at < ?1 LIMIT ?2)";
const EXPIRED_KEYS: &str = "SELECT DISTINCT concurrency_key FROM solid_queue_blocked_executions
  WHERE expires_at < ?1 LIMIT ?2";

/// Concurrency maintenance: drops expired semaphores, then releases one blocked job for
/// each key whose blocked jobs have waited past their limit's duration. Returns how many
/// jobs became ready.
pub(crate) fn maintain(conn: &Connection, now: Timestamp, batch: usize) -> Result<usize> {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    conn.prepare_cached(DELETE_EXPIRED)?
        .execute(params![now, batch])?;
    let keys: Vec<String> = conn
        .prepare_cached(EXPIRED_KEYS)?
        .query_map(params![now, batch], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut released = 0;
    for key in keys {
        if release_one(conn, &key, now)?.is_some() {
            released += 1;
        }
    }
    Ok(released)
}
