//! One job in full on PostgreSQL: its row and state, claim and failure times, process, and
//! failed attempts.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{ProcessRow, parse_error};
use super::Tx;
use super::admin::list_in;
use crate::detail::{Attempt, JobDetail, ProcessRef};
use crate::error::Result;

const EXTRA: &str = "SELECT c.created_at, f.created_at, j.request_id, j.concurrency_key,
   coalesce(c.process_id, j.process_id)
  FROM solid_queue_jobs j
  LEFT JOIN solid_queue_claimed_executions c ON c.job_id = j.id
  LEFT JOIN solid_queue_failed_executions f ON f.job_id = j.id
 WHERE j.id = $1";
const ATTEMPTS: &str = "SELECT attempt, created_at, error, process_id FROM trifecta_job_attempts
  WHERE job_id = $1 ORDER BY id";
const PROCESS: &str =
    "SELECT id, kind, name, pid, hostname, last_heartbeat_at, metadata, created_at
  FROM solid_queue_processes WHERE id = $1";

/// Job `id` in full, if it exists, read in one snapshot.
pub(in super::super) async fn detail(pg: &Pg, id: i64) -> Result<Option<JobDetail>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    tx.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let Some(info) = list_in(&tx, Some(id), None, None, 1).await?.pop() else {
        tx.commit().await?;
        return Ok(None);
    };
    let extra = tx.one(EXTRA, &[&id]).await?;
    let process_id: Option<i64> = extra.get(4);
    let attempts = tx
        .rows(ATTEMPTS, &[&id])
        .await?
        .iter()
        .map(|r| Attempt {
            number: i64::from(r.get::<_, i32>(0)),
            at: Timestamp(r.get(1)),
            error: parse_error(r.get(2)),
            process_id: r.get(3),
        })
        .collect();
    let process = match process_id {
        Some(pid) => Some(ProcessRef {
            id: pid,
            row: tx.opt(PROCESS, &[&pid]).await?.map(|r| ProcessRow {
                id: r.get(0),
                kind: r.get(1),
                name: r.get(2),
                pid: r.get(3),
                hostname: r.get(4),
                last_heartbeat_at: Timestamp(r.get(5)),
                metadata: r.get(6),
                started_at: Timestamp(r.get(7)),
            }),
        }),
        None => None,
    };
    tx.commit().await?;
    Ok(Some(JobDetail {
        info,
        claimed_at: extra.get::<_, Option<i64>>(0).map(Timestamp),
        failed_at: extra.get::<_, Option<i64>>(1).map(Timestamp),
        request_id: extra.get(2),
        concurrency_key: extra.get(3),
        process,
        attempts,
    }))
}
