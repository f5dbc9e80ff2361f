//! Placing a job on PostgreSQL: ready, or (under a full concurrency limit) blocked or
//! discarded, as Solid Queue's `dispatch`.

use tokio_postgres::Row;

use super::super::model::{DispatchInfo, Dispatched, Limit};
use super::{Tx, semaphore};
use crate::error::Result;
use trifecta_store::Timestamp;

const LOAD_INFO: &str = "SELECT id, queue_name, priority, concurrency_key, concurrency_limit,
        concurrency_duration, concurrency_discard
   FROM solid_queue_jobs WHERE id = $1";

/// Reads what [`dispatch`] needs for job `id`.
pub(super) async fn load_info(tx: &Tx<'_>, id: i64) -> Result<Option<DispatchInfo>> {
    Ok(tx.opt(LOAD_INFO, &[&id]).await?.map(|r| info_row(&r)))
}

/// A row of the [`DispatchInfo`] columns, in `LOAD_INFO`'s order.
pub(super) fn info_row(r: &Row) -> DispatchInfo {
    let key: Option<String> = r.get(3);
    DispatchInfo {
        id: r.get(0),
        queue_name: r.get(1),
        priority: r.get(2),
        limit: key.map(|key| Limit {
            key,
            to: r.get::<_, Option<i64>>(4).unwrap_or(1),
            duration_us: r.get::<_, Option<i64>>(5).unwrap_or(0),
            discard: r.get(6),
        }),
    }
}

const INSERT_READY: &str =
    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
 VALUES ($1, $2, $3, $4)";

/// Makes the job ready (no concurrency check).
pub(super) async fn insert_ready(
    tx: &mut Tx<'_>,
    id: i64,
    queue: &str,
    priority: i32,
    now: Timestamp,
) -> Result<()> {
    tx.exec(INSERT_READY, &[&id, &queue, &priority, &now.0])
        .await?;
    tx.made_ready();
    Ok(())
}

/// Ready, blocked or discarded, by the job's concurrency limit.
pub(super) async fn dispatch(
    tx: &mut Tx<'_>,
    info: &DispatchInfo,
    now: Timestamp,
) -> Result<Dispatched> {
    let placed = admit(tx, info, now).await?;
    if placed == Dispatched::Ready {
        insert_ready(tx, info.id, &info.queue_name, info.priority, now).await?;
    }
    Ok(placed)
}

const INSERT_BLOCKED: &str = "INSERT INTO solid_queue_blocked_executions
   (job_id, queue_name, priority, concurrency_key, expires_at, created_at)
 VALUES ($1, $2, $3, $4, $5, $6)";
const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = $1";

/// [`dispatch`] without the ready row: `Ready` means the job may run now (its slot, if
/// any, is taken) and the caller makes it ready or claims it.
pub(super) async fn admit(tx: &Tx<'_>, info: &DispatchInfo, now: Timestamp) -> Result<Dispatched> {
    let Some(limit) = &info.limit else {
        return Ok(Dispatched::Ready);
    };
    if semaphore::wait(tx, limit, now).await? {
        Ok(Dispatched::Ready)
    } else if limit.discard {
        tx.exec(DELETE_JOB, &[&info.id]).await?;
        Ok(Dispatched::Discarded)
    } else {
        tx.exec(
            INSERT_BLOCKED,
            &[
                &info.id,
                &info.queue_name,
                &info.priority,
                &limit.key,
                &limit.expires(now).0,
                &now.0,
            ],
        )
        .await?;
        Ok(Dispatched::Blocked)
    }
}
