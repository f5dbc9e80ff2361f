//! Enqueue on PostgreSQL: job rows, then ready, scheduled, blocked or discarded, all in one
//! transaction. Runs of jobs without a concurrency limit go in one statement (arrays
//! unnested); a job with a limit is placed on its own, under its semaphore's row lock.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{ClaimFor, DispatchInfo, Dispatched, Placed, Written, limit_of};
use super::Tx;
use super::claim::{claim_in, paused};
use super::dispatch::dispatch;
use crate::error::Result;
use crate::job::NewJob;

/// Inserts `jobs` and, with `claim` given, claims for the local worker in the same
/// transaction (a failing claim is logged and undone alone: the jobs still commit).
/// Notifies other servers when jobs are left ready.
pub(in super::super) async fn write_jobs(
    pg: &Pg,
    jobs: &[NewJob],
    now: Timestamp,
    claim: Option<&ClaimFor>,
) -> Result<Written> {
    if claim.is_none() && jobs.iter().all(|j| j.concurrency.is_none()) {
        return write_plain(pg, jobs, now).await;
    }
    if let Some(c) = claim
        && jobs.iter().all(|j| claims_at_insert(j, now, c))
    {
        return super::claiming::write_claiming(pg, jobs, now, c).await;
    }
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let placed = insert_all(&mut tx, jobs, now).await?;
    let mut written = Written {
        placed,
        claimed: Vec::new(),
        claim_done: false,
    };
    if let Some(c) = claim {
        // Sent together (one round trip); the commit releases the savepoint.
        let (saved, paused) = tokio::join!(tx.batch("SAVEPOINT claim"), paused(&tx));
        saved?;
        let claimed = match paused {
            Ok(paused) => claim_in(&tx, &c.selector, &paused, c.process_id, c.slots, now).await,
            Err(e) => Err(e),
        };
        match claimed {
            Ok(claimed) => {
                // Fewer jobs than slots: the claim took everything ready for this worker.
                written.claim_done = claimed.len() < c.slots;
                written.claimed = claimed;
            }
            Err(e) => {
                tracing::warn!(cause = %e, "claim at enqueue failed; the worker will poll");
                tx.batch("ROLLBACK TO SAVEPOINT claim").await?;
            }
        }
        let ready = written
            .placed
            .iter()
            .filter(|(_, p)| *p == Placed::Dispatched(Dispatched::Ready))
            .count();
        // Other servers need waking only for jobs this claim did not take.
        tx.set_made_ready(ready > written.claimed.len());
    }
    tx.commit().await?;
    Ok(written)
}

/// Whether `job` is inserted by [`super::claiming`], claiming for `claim` in the same
/// statement: due, without a concurrency limit, for a worker that polls every queue.
pub(in super::super) fn claims_at_insert(job: &NewJob, now: Timestamp, claim: &ClaimFor) -> bool {
    claim.selector.is_all()
        && claim.slots > 0
        && job.concurrency.is_none()
        && job.scheduled_at.is_none_or(|at| at <= now)
}

/// Inserts `jobs` in order in the caller's transaction.
pub(super) async fn insert_all(
    tx: &mut Tx<'_>,
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<Vec<(i64, Placed)>> {
    let mut placed = Vec::with_capacity(jobs.len());
    let mut rest = jobs;
    while !rest.is_empty() {
        let plain = rest.iter().take_while(|j| j.concurrency.is_none()).count();
        if plain > 0 {
            placed.extend(insert_plain(tx, &rest[..plain], now).await?);
            rest = &rest[plain..];
        } else if let Some((job, tail)) = rest.split_first() {
            placed.push(insert_one(tx, job, now).await?);
            rest = tail;
        }
    }
    Ok(placed)
}

/// The statement that inserts a run of jobs without a concurrency limit, ending with `$tail`.
/// Ids are drawn in input order, so a batch runs in the order it was given.
macro_rules! insert_plain {
    ($tail:literal) => {
        concat!(
            "WITH input AS MATERIALIZED (
    SELECT nextval('solid_queue_jobs_id_seq') AS id, t.*
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::int8[], $6::text[])
           WITH ORDINALITY AS t(queue_name, class_name, arguments, priority, scheduled_at,
                                request_id, ord)),
  jobs AS (
    INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
        scheduled_at, request_id, created_at, updated_at)
    SELECT id, queue_name, class_name, arguments, priority, scheduled_at, request_id, $7, $7
      FROM input ORDER BY ord),
  ready AS (
    INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
    SELECT id, queue_name, priority, $7 FROM input WHERE scheduled_at <= $7 ORDER BY ord),
  scheduled AS (
    INSERT INTO solid_queue_scheduled_executions
        (job_id, queue_name, priority, scheduled_at, created_at)
    SELECT id, queue_name, priority, scheduled_at, $7 FROM input WHERE scheduled_at > $7)",
            $tail
        )
    };
}

const INSERT_PLAIN: &str = insert_plain!(" SELECT id, scheduled_at > $7 FROM input ORDER BY ord");

/// Jobs without a concurrency limit and no claim: one statement outside a transaction
/// block (a statement is atomic), then, when it made jobs ready, the `NOTIFY` as a
/// statement of its own, pipelined behind it (one round trip; see [`super::Tx::commit`] for
/// why the notify is not part of the insert's transaction).
async fn write_plain(pg: &Pg, jobs: &[NewJob], now: Timestamp) -> Result<Written> {
    let conn = pg.get().await?;
    let err = |e| crate::Error::Store(pg.error(e));
    let stmt = conn.prepare_cached(INSERT_PLAIN).await.map_err(err)?;
    let p = PlainParams::of(jobs, now);
    let params = p.with(&[&now.0]);
    let rows = if p.at.iter().any(|at| *at <= now.0) {
        // `join!` polls the insert first: its statement (and implicit commit) runs first.
        let (rows, notified) = tokio::join!(
            conn.query(&stmt, &params),
            conn.batch_execute(super::NOTIFY)
        );
        if let Err(e) = notified {
            tracing::debug!(cause = %e, "NOTIFY after enqueue failed; the poll will find the jobs");
        }
        rows
    } else {
        conn.query(&stmt, &params).await
    }
    .map_err(err)?;
    Ok(Written {
        placed: rows.iter().map(plain_placed).collect(),
        claimed: Vec::new(),
        claim_done: false,
    })
}

/// The columns of a run of jobs, as arrays.
pub(super) struct PlainParams<'j> {
    pub queues: Vec<&'j str>,
    pub classes: Vec<&'j str>,
    pub args: Vec<&'j str>,
    pub priorities: Vec<i32>,
    pub at: Vec<i64>,
    pub requests: Vec<Option<&'j str>>,
}

/// A statement parameter.
pub(super) type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

impl<'j> PlainParams<'j> {
    /// The six columns as parameters `$1`–`$6`, then `rest`.
    pub(super) fn with<'a>(&'a self, rest: &[Param<'a>]) -> Vec<Param<'a>> {
        let mut params: Vec<Param<'a>> = vec![
            &self.queues,
            &self.classes,
            &self.args,
            &self.priorities,
            &self.at,
            &self.requests,
        ];
        params.extend_from_slice(rest);
        params
    }

    pub(super) fn of(jobs: &'j [NewJob], now: Timestamp) -> Self {
        Self {
            queues: jobs.iter().map(|j| j.queue_name.as_str()).collect(),
            classes: jobs.iter().map(|j| j.class_name.as_str()).collect(),
            args: jobs.iter().map(|j| j.arguments.as_str()).collect(),
            priorities: jobs.iter().map(|j| j.priority).collect(),
            at: jobs
                .iter()
                .map(|j| j.scheduled_at.unwrap_or(now).0)
                .collect(),
            requests: jobs.iter().map(|j| j.request_id.as_deref()).collect(),
        }
    }
}

/// A row of the plain insert: the job's id and where it went.
fn plain_placed(r: &tokio_postgres::Row) -> (i64, Placed) {
    let scheduled: bool = r.get(1);
    let place = if scheduled {
        Placed::Scheduled
    } else {
        Placed::Dispatched(Dispatched::Ready)
    };
    (r.get(0), place)
}

/// Inserts jobs without a concurrency limit in one statement.
async fn insert_plain(
    tx: &mut Tx<'_>,
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<Vec<(i64, Placed)>> {
    let p = PlainParams::of(jobs, now);
    let rows = tx.rows(INSERT_PLAIN, &p.with(&[&now.0])).await?;
    let placed: Vec<(i64, Placed)> = rows.iter().map(plain_placed).collect();
    if placed.iter().any(|(_, p)| *p != Placed::Scheduled) {
        tx.made_ready();
    }
    Ok(placed)
}

const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
/// A waiting (ready or blocked) job with concurrency key `$1`.
const WAITING_WITH_KEY: &str = "SELECT job_id FROM solid_queue_blocked_executions
  WHERE concurrency_key = $1
 UNION ALL
 SELECT r.job_id FROM solid_queue_jobs j
   JOIN solid_queue_ready_executions r ON r.job_id = j.id
  WHERE j.concurrency_key = $1 AND j.finished_at IS NULL
 LIMIT 1";
const INSERT_JOB: &str = "INSERT INTO solid_queue_jobs
   (queue_name, class_name, arguments, priority, scheduled_at, concurrency_key,
    concurrency_limit, concurrency_duration, concurrency_discard, request_id, created_at,
    updated_at)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id";
const INSERT_SCHEDULED: &str = "INSERT INTO solid_queue_scheduled_executions
   (job_id, queue_name, priority, scheduled_at, created_at) VALUES ($1, $2, $3, $4, $5)";

/// Writes one job and places it (the path of jobs with a concurrency limit).
pub(super) async fn insert_one(
    tx: &mut Tx<'_>,
    job: &NewJob,
    now: Timestamp,
) -> Result<(i64, Placed)> {
    if let Some(c) = job.concurrency.as_ref().filter(|c| c.coalesce)
        && job.scheduled_at.is_none()
    {
        // Two servers enqueueing the same key at once: the second waits, then sees the
        // first's job waiting.
        tx.exec(LOCK_KEY, &[&c.key]).await?;
        if let Some(row) = tx.opt(WAITING_WITH_KEY, &[&c.key]).await? {
            return Ok((row.get(0), Placed::Coalesced));
        }
    }
    let scheduled_at = job.scheduled_at.unwrap_or(now);
    let limit = limit_of(job);
    let id: i64 = tx
        .one(
            INSERT_JOB,
            &[
                &job.queue_name,
                &job.class_name,
                &job.arguments,
                &job.priority,
                &scheduled_at.0,
                &limit.as_ref().map(|l| l.key.as_str()),
                &limit.as_ref().map(|l| l.to),
                &limit.as_ref().map(|l| l.duration_us),
                &limit.as_ref().is_some_and(|l| l.discard),
                &job.request_id,
                &now.0,
            ],
        )
        .await?
        .get(0);
    if scheduled_at > now {
        tx.exec(
            INSERT_SCHEDULED,
            &[&id, &job.queue_name, &job.priority, &scheduled_at.0, &now.0],
        )
        .await?;
        return Ok((id, Placed::Scheduled));
    }
    let info = DispatchInfo {
        id,
        queue_name: job.queue_name.clone(),
        priority: job.priority,
        limit,
    };
    Ok((id, Placed::Dispatched(dispatch(tx, &info, now).await?)))
}
