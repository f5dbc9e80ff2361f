//! Concurrency semaphores on PostgreSQL (Solid Queue's `Semaphore` and the release of
//! blocked executions). Every step locks the key's semaphore row first, so servers taking
//! and giving back slots of one key go one at a time: two never both take the last slot,
//! and a job blocked by one is visible to the next that frees a slot (it waited for the
//! lock, and each statement reads what committed before it).

use super::super::model::Limit;
use super::dispatch::{insert_ready, load_info};
use super::{Tx, limit as sql_limit};
use crate::error::Result;
use trifecta_store::Timestamp;

const LOCK: &str = "SELECT value FROM solid_queue_semaphores WHERE key = $1 FOR UPDATE";
const TAKE: &str = "UPDATE solid_queue_semaphores
    SET value = value - 1, expires_at = $2, updated_at = $3 WHERE key = $1";
const CREATE: &str = "INSERT INTO solid_queue_semaphores
   (key, value, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
 ON CONFLICT (key) DO NOTHING RETURNING id";

/// Takes a slot of `limit`; false when it is full. The semaphore row stays locked until
/// the transaction ends.
pub(super) async fn wait(tx: &Tx<'_>, limit: &Limit, now: Timestamp) -> Result<bool> {
    let expires = limit.expires(now);
    // A row created by another server between the lock and the insert is locked on the
    // next round; one deleted by maintenance in between is created again.
    for _ in 0..3 {
        if let Some(row) = tx.opt(LOCK, &[&limit.key]).await? {
            if row.get::<_, i64>(0) <= 0 {
                return Ok(false);
            }
            tx.exec(TAKE, &[&limit.key, &expires.0, &now.0]).await?;
            return Ok(true);
        }
        let value = (limit.to - 1).max(0);
        if tx
            .opt(CREATE, &[&limit.key, &value, &expires.0, &now.0])
            .await?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

const GIVE: &str = "UPDATE solid_queue_semaphores
    SET value = value + 1, expires_at = $2, updated_at = $3 WHERE key = $1";

/// Gives a slot back after a job with `limit` finished or failed, then releases the next
/// blocked job of the key if there is room.
pub(super) async fn signal(tx: &mut Tx<'_>, limit: &Limit, now: Timestamp) -> Result<Option<i64>> {
    let expires = limit.expires(now);
    match tx.opt(LOCK, &[&limit.key]).await? {
        Some(row) if row.get::<_, i64>(0) < limit.to => {
            tx.exec(GIVE, &[&limit.key, &expires.0, &now.0]).await?;
        }
        Some(_) => return Ok(None),
        None => {}
    }
    release_one(tx, &limit.key, now).await
}

const NEXT_BLOCKED: &str = "SELECT job_id FROM solid_queue_blocked_executions
  WHERE concurrency_key = $1 ORDER BY priority, job_id LIMIT 1 FOR UPDATE SKIP LOCKED";
const DELETE_BLOCKED: &str = "DELETE FROM solid_queue_blocked_executions WHERE job_id = $1";

/// Moves the first blocked job of `key` to ready if it can take a slot.
pub(super) async fn release_one(tx: &mut Tx<'_>, key: &str, now: Timestamp) -> Result<Option<i64>> {
    let Some(row) = tx.opt(NEXT_BLOCKED, &[&key]).await? else {
        return Ok(None);
    };
    let job_id: i64 = row.get(0);
    let Some(info) = load_info(tx, job_id).await? else {
        return Ok(None);
    };
    let Some(limit) = &info.limit else {
        return Ok(None);
    };
    if !wait(tx, limit, now).await? {
        return Ok(None);
    }
    insert_ready(tx, info.id, &info.queue_name, info.priority, now).await?;
    tx.exec(DELETE_BLOCKED, &[&job_id]).await?;
    Ok(Some(job_id))
}

const DELETE_EXPIRED: &str = "DELETE FROM solid_queue_semaphores WHERE id IN
  (SELECT id FROM solid_queue_semaphores WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";
const EXPIRED_KEYS: &str = "SELECT DISTINCT concurrency_key FROM solid_queue_blocked_executions
  WHERE expires_at < $1 ORDER BY concurrency_key LIMIT $2";

/// Concurrency maintenance: drops expired semaphores, then releases one blocked job for
/// each key whose blocked jobs waited past their limit's duration. Returns how many jobs
/// became ready.
pub(in super::super) async fn maintain(
    pg: &trifecta_store::Pg,
    now: Timestamp,
    batch: usize,
) -> Result<usize> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let batch = sql_limit(batch);
    tx.exec(DELETE_EXPIRED, &[&now.0, &batch]).await?;
    let keys: Vec<String> = tx
        .rows(EXPIRED_KEYS, &[&now.0, &batch])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut released = 0;
    for key in keys {
        if release_one(&mut tx, &key, now).await?.is_some() {
            released += 1;
        }
    }
    tx.commit().await?;
    Ok(released)
}
