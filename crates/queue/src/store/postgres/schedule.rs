//! Dispatcher on PostgreSQL: due scheduled executions become ready (or blocked). The due
//! rows are taken with `FOR UPDATE SKIP LOCKED`, so dispatchers of several servers share
//! the work instead of waiting for each other.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{DispatchReport, Dispatched};
use super::dispatch::{dispatch, info_row};
use super::{Tx, limit as sql_limit};
use crate::error::Result;

const TAKE_DUE: &str = "WITH due AS (
    SELECT id FROM solid_queue_scheduled_executions WHERE scheduled_at <= $1
     ORDER BY scheduled_at, priority, job_id LIMIT $2 FOR UPDATE SKIP LOCKED)
  DELETE FROM solid_queue_scheduled_executions WHERE id = ANY(ARRAY(SELECT id FROM due))
  RETURNING job_id, scheduled_at, priority";
const INFOS: &str = "SELECT id, queue_name, priority, concurrency_key, concurrency_limit,
        concurrency_duration, concurrency_discard
   FROM solid_queue_jobs WHERE id = ANY($1)";
const READY_MANY: &str =
    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
 SELECT * FROM unnest($1::int8[], $2::text[], $3::int4[]) AS t(job_id, queue_name, priority)
   CROSS JOIN (SELECT $4::int8) AS c(created_at)";

/// Dispatches up to `batch` due jobs: those without a concurrency limit with one insert,
/// the others one by one through their semaphore.
pub(in super::super) async fn dispatch_due(
    pg: &Pg,
    now: Timestamp,
    batch: usize,
) -> Result<DispatchReport> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let mut due: Vec<(i64, i32, i64)> = tx
        .rows(TAKE_DUE, &[&now.0, &sql_limit(batch.max(1))])
        .await?
        .iter()
        .map(|r| (r.get(1), r.get(2), r.get(0)))
        .collect();
    due.sort_unstable();
    let ids: Vec<i64> = due.iter().map(|d| d.2).collect();
    let mut infos: Vec<_> = tx
        .rows(INFOS, &[&ids])
        .await?
        .iter()
        .map(info_row)
        .collect();
    let position = |id: i64| ids.iter().position(|i| *i == id).unwrap_or(usize::MAX);
    infos.sort_by_key(|i| position(i.id));
    let mut report = DispatchReport {
        dispatched: due.len(),
        ready: 0,
    };
    let (plain, limited): (Vec<_>, Vec<_>) = infos.into_iter().partition(|i| i.limit.is_none());
    if !plain.is_empty() {
        let job_ids: Vec<i64> = plain.iter().map(|i| i.id).collect();
        let queues: Vec<&str> = plain.iter().map(|i| i.queue_name.as_str()).collect();
        let priorities: Vec<i32> = plain.iter().map(|i| i.priority).collect();
        tx.exec(READY_MANY, &[&job_ids, &queues, &priorities, &now.0])
            .await?;
        tx.made_ready();
        report.ready += plain.len();
    }
    for info in limited {
        if dispatch(&mut tx, &info, now).await? == Dispatched::Ready {
            report.ready += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}
