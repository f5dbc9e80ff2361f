//! Claim at insert on PostgreSQL: due jobs without a limit, enqueued while the local worker
//! polling every queue has idle slots, are inserted and the worker's next claim is made in
//! the same statement, so an enqueue on a busy server costs one commit, not an insert, a
//! wake-up and a second transaction.
//!
//! The claim is the one the worker would make next, in strict order: the first `slots` of
//! the unlocked, unpaused ready jobs and the new jobs of unpaused queues, by priority, then
//! id. New jobs it takes get a claimed execution directly, with no ready row written and
//! deleted (the rows a claim walks past in the index until vacuum); ready jobs it takes
//! move to claimed as in [`super::claim`]; the new jobs it does not take are made ready.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{ClaimFor, ClaimedJob, Dispatched, Placed, Written};
use super::enqueue::PlainParams;
use super::limit as sql_limit;
use crate::error::Result;
use crate::job::NewJob;

/// Inserts the jobs (arrays `$1`–`$6`, times `$5`, now `$7`) and claims up to `$8` jobs
/// for process `$9`. Rows of kind 0 are the new jobs, in the order given: id, priority and
/// whether it was claimed. Rows of kind 1 are the ready jobs it claimed: id, priority and
/// the columns of a claim.
///
/// Ready rows are found by `= ANY(ARRAY(…))`, never by a join with a CTE (see
/// [`super::claim`]). Ready rows locked as candidates but not taken (new jobs of a better
/// priority came first) stay ready and are unlocked at commit.
const INSERT_CLAIMING: &str = "WITH input AS MATERIALIZED (
    SELECT nextval('solid_queue_jobs_id_seq') AS id, t.*
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::int8[], $6::text[])
           WITH ORDINALITY AS t(queue_name, class_name, arguments, priority, scheduled_at,
                                request_id, ord)),
  waiting AS MATERIALIZED (
    SELECT r.id, r.job_id, r.priority FROM solid_queue_ready_executions r
     WHERE NOT EXISTS (SELECT 1 FROM solid_queue_pauses p WHERE p.queue_name = r.queue_name)
     ORDER BY r.priority, r.job_id LIMIT $8 FOR UPDATE OF r SKIP LOCKED),
  chosen AS MATERIALIZED (
    SELECT ready_id, job_id FROM (
        SELECT id AS ready_id, job_id, priority FROM waiting
      UNION ALL
        SELECT NULL::int8, i.id, i.priority FROM input i
         WHERE NOT EXISTS (SELECT 1 FROM solid_queue_pauses p WHERE p.queue_name = i.queue_name)
    ) c ORDER BY priority, job_id LIMIT $8),
  placed AS MATERIALIZED (
    SELECT i.*, EXISTS (SELECT 1 FROM chosen c WHERE c.job_id = i.id) AS claim FROM input i),
  jobs AS (
    INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
        scheduled_at, request_id, executions, process_id, created_at, updated_at)
    SELECT id, queue_name, class_name, arguments, priority, scheduled_at, request_id,
           CASE WHEN claim THEN 1 ELSE 0 END, CASE WHEN claim THEN $9::int8 END, $7, $7
      FROM placed ORDER BY ord),
  ready AS (
    INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
    SELECT id, queue_name, priority, $7 FROM placed WHERE NOT claim ORDER BY ord),
  taken AS (
    DELETE FROM solid_queue_ready_executions
     WHERE id = ANY(ARRAY(SELECT ready_id FROM chosen WHERE ready_id IS NOT NULL))
    RETURNING job_id),
  held AS (
    INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
    SELECT job_id, $9, $7 FROM chosen),
  bumped AS (
    UPDATE solid_queue_jobs SET executions = executions + 1, updated_at = $7, process_id = $9
     WHERE id = ANY(ARRAY(SELECT job_id FROM taken))
    RETURNING id, priority, class_name, arguments, queue_name, executions, created_at,
              coalesce(scheduled_at, created_at) AS due, request_id)
  SELECT 0 AS kind, id, priority, claim, ord, NULL::text, NULL::text, NULL::text, NULL::int4,
         NULL::int8, NULL::int8, NULL::text
    FROM placed
  UNION ALL
  SELECT 1, id, priority, true, NULL::int8, class_name, arguments, queue_name, executions,
         created_at, due, request_id
    FROM bumped";

/// [`INSERT_CLAIMING`] in one autocommit statement, then, when it left jobs ready, the
/// `NOTIFY` for the other servers. The caller checked that every job is due, has no
/// concurrency limit, and that the worker polls every queue.
pub(super) async fn write_claiming(
    pg: &Pg,
    jobs: &[NewJob],
    now: Timestamp,
    c: &ClaimFor,
) -> Result<Written> {
    let conn = pg.get().await?;
    let err = |e| crate::Error::Store(pg.error(e));
    let stmt = conn.prepare_cached(INSERT_CLAIMING).await.map_err(err)?;
    let p = PlainParams::of(jobs, now);
    let slots = sql_limit(c.slots);
    let rows = conn
        .query(&stmt, &p.with(&[&now.0, &slots, &c.process_id]))
        .await
        .map_err(err)?;
    let mut placed: Vec<(i64, (i64, Placed))> = Vec::with_capacity(jobs.len());
    let mut claimed: Vec<(i32, ClaimedJob)> = Vec::new();
    let mut left_ready = 0;
    for row in &rows {
        let (kind, id, priority, claim): (i32, i64, i32, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if kind == 1 {
            claimed.push((priority, claimed_ready(row)));
            continue;
        }
        let ord: i64 = row.get(4);
        placed.push((ord, (id, Placed::Dispatched(Dispatched::Ready))));
        if !claim {
            left_ready += 1;
        }
        let job = usize::try_from(ord - 1).ok().and_then(|i| jobs.get(i));
        if let (true, Some(job)) = (claim, job) {
            claimed.push((
                priority,
                ClaimedJob {
                    id,
                    class_name: job.class_name.clone(),
                    arguments: job.arguments.clone(),
                    queue_name: job.queue_name.clone(),
                    attempt: 1,
                    created_at: now,
                    scheduled_at: job.scheduled_at.unwrap_or(now),
                    request_id: job.request_id.clone(),
                },
            ));
        }
    }
    placed.sort_by_key(|(ord, _)| *ord);
    // The worker starts them in claim order: priority, then id.
    claimed.sort_by_key(|(priority, job)| (*priority, job.id));
    if left_ready > 0
        && let Err(e) = conn.batch_execute(super::NOTIFY).await
    {
        tracing::debug!(cause = %e, "NOTIFY after enqueue failed; the poll will find the jobs");
    }
    let claimed: Vec<ClaimedJob> = claimed.into_iter().map(|(_, job)| job).collect();
    Ok(Written {
        placed: placed.into_iter().map(|(_, p)| p).collect(),
        // Every slot used: more may be ready. Otherwise the claim took everything ready
        // for this worker (new jobs left ready are of paused queues).
        claim_done: claimed.len() < c.slots,
        claimed,
    })
}

/// A ready job [`INSERT_CLAIMING`] claimed (a row of kind 1).
fn claimed_ready(r: &tokio_postgres::Row) -> ClaimedJob {
    super::claim::claimed_at(r, 1, 5)
}
