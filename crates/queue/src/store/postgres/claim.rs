//! Claim on PostgreSQL: take up to N ready executions, in strict queue order then
//! priority, for one process, in one transaction. The rows are picked with
//! `FOR UPDATE SKIP LOCKED`: two servers claiming at once take different jobs, and neither
//! waits for the other's commit.

use trifecta_store::{Pg, Timestamp};

use super::super::model::ClaimedJob;
use super::{Tx, limit as sql_limit};
use crate::error::Result;
use crate::selector::{Pattern, QueueSelector};

const PAUSED: &str = "SELECT queue_name FROM solid_queue_pauses ORDER BY queue_name";
// DISTINCT would read every ready row; this walks the queue-name index once per name.
const ALL_QUEUES: &str = "WITH RECURSIVE q AS (
    SELECT min(queue_name) AS name FROM solid_queue_ready_executions
  UNION ALL
    SELECT (SELECT min(queue_name) FROM solid_queue_ready_executions WHERE queue_name > q.name)
    FROM q WHERE q.name IS NOT NULL)
  SELECT name FROM q WHERE name IS NOT NULL";
const PREFIX_QUEUES: &str = "WITH RECURSIVE q AS (
    SELECT min(queue_name) AS name FROM solid_queue_ready_executions
     WHERE queue_name >= $1 AND left(queue_name, length($1)) = $1
  UNION ALL
    SELECT (SELECT min(queue_name) FROM solid_queue_ready_executions
             WHERE queue_name > q.name AND left(queue_name, length($1)) = $1)
    FROM q WHERE q.name IS NOT NULL)
  SELECT name FROM q WHERE name IS NOT NULL";
const PICK_ALL: &str = "SELECT id, job_id FROM solid_queue_ready_executions
  ORDER BY priority, job_id LIMIT $1 FOR UPDATE SKIP LOCKED";
const PICK_QUEUE: &str = "SELECT id, job_id FROM solid_queue_ready_executions
  WHERE queue_name = $1 ORDER BY priority, job_id LIMIT $2 FOR UPDATE SKIP LOCKED";

/// Claims up to `limit` jobs for `process_id`, in a transaction of its own.
pub(in super::super) async fn claim(
    pg: &Pg,
    selector: &QueueSelector,
    process_id: Option<i64>,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let claimed = claim_in(&tx, selector, process_id, limit, now).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Claims up to `limit` jobs for `process_id` in the caller's transaction.
pub(super) async fn claim_in(
    tx: &Tx<'_>,
    selector: &QueueSelector,
    process_id: Option<i64>,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    let rows = pick(tx, selector, limit).await?;
    take(tx, &rows, process_id, now).await
}

/// Locks the first `limit` ready executions for `selector` that no other transaction has
/// locked, in claim order: (id, job id).
async fn pick(tx: &Tx<'_>, selector: &QueueSelector, limit: usize) -> Result<Vec<(i64, i64)>> {
    let paused: Vec<String> = tx
        .rows(PAUSED, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let pair = |r: &tokio_postgres::Row| (r.get(0), r.get(1));
    if selector.is_all() && paused.is_empty() {
        let rows = tx.rows(PICK_ALL, &[&sql_limit(limit)]).await?;
        return Ok(rows.iter().map(pair).collect());
    }
    let mut picked: Vec<(i64, i64)> = Vec::new();
    for queue in queue_names(tx, selector, &paused).await? {
        let want = sql_limit(limit - picked.len());
        let rows = tx.rows(PICK_QUEUE, &[&queue, &want]).await?;
        picked.extend(rows.iter().map(pair));
        if picked.len() >= limit {
            break;
        }
    }
    Ok(picked)
}

/// The queues to poll, in order: exact names as listed, wildcards' queues by name; paused
/// queues left out.
async fn queue_names(
    tx: &Tx<'_>,
    selector: &QueueSelector,
    paused: &[String],
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let patterns: Vec<Pattern> = if selector.is_all() {
        vec![Pattern::All]
    } else {
        selector.patterns().to_vec()
    };
    for p in patterns {
        let found: Vec<String> = match &p {
            Pattern::All => tx
                .rows(ALL_QUEUES, &[])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
            Pattern::Prefix(prefix) => tx
                .rows(PREFIX_QUEUES, &[prefix])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
            Pattern::Exact(name) => vec![name.clone()],
        };
        for name in found {
            if !paused.contains(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

// The whole batch moves in one statement: ready rows out, claimed rows in, attempts
// counted.
const TAKE: &str = "WITH gone AS (
    DELETE FROM solid_queue_ready_executions WHERE id = ANY($1) RETURNING job_id),
  held AS (
    INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
    SELECT job_id, $2, $3 FROM gone)
  UPDATE solid_queue_jobs j SET executions = j.executions + 1, updated_at = $3
    FROM gone WHERE j.id = gone.job_id
  RETURNING j.id, j.class_name, j.arguments, j.queue_name, j.executions, j.created_at,
            coalesce(j.scheduled_at, j.created_at), j.request_id";

/// Moves the picked ready rows to claimed and returns the jobs in pick order.
async fn take(
    tx: &Tx<'_>,
    rows: &[(i64, i64)],
    process_id: Option<i64>,
    now: Timestamp,
) -> Result<Vec<ClaimedJob>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ready_ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut claimed: Vec<ClaimedJob> = tx
        .rows(TAKE, &[&ready_ids, &process_id, &now.0])
        .await?
        .iter()
        .map(|r| ClaimedJob {
            id: r.get(0),
            class_name: r.get(1),
            arguments: r.get(2),
            queue_name: r.get(3),
            attempt: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
            created_at: Timestamp(r.get(5)),
            scheduled_at: Timestamp(r.get(6)),
            request_id: r.get(7),
        })
        .collect();
    // RETURNING order is unspecified; callers get queue, priority, age order.
    let position = |id: i64| rows.iter().position(|r| r.1 == id).unwrap_or(usize::MAX);
    claimed.sort_by_key(|c| position(c.id));
    Ok(claimed)
}
