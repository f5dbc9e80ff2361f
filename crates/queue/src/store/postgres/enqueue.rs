//! Enqueue on PostgreSQL: job rows, then ready, scheduled, blocked or discarded, all in one
//! transaction. Runs of jobs without a concurrency limit go in one statement (arrays
//! unnested); a job with a limit is placed on its own, under its semaphore's row lock.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{
    ClaimFor, ClaimedJob, DispatchInfo, Dispatched, Placed, Written, limit_of,
};
use super::Tx;
use super::claim::{claim, claim_in, paused};
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
    if let (Some(c), [job]) = (claim, jobs)
        && c.selector.is_all()
        && c.slots > 0
        && job.concurrency.is_none()
        && job.scheduled_at.is_none_or(|at| at <= now)
    {
        return write_claimed(pg, job, now, c).await;
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
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &p.queues,
        &p.classes,
        &p.args,
        &p.priorities,
        &p.at,
        &p.requests,
        &now.0,
    ];
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

/// One due job without a limit, for a worker that polls every queue: inserted and, when
/// nothing is ready ahead of it (no unpaused ready row of its priority or better that
/// another claim has not locked) and its queue is not paused, claimed at once: the claimed
/// execution is inserted directly, with no ready row written and deleted (the rows a claim
/// walks past in the index until vacuum). That is the claim the ordinary path makes, in
/// strict order: the job is the first a claim would take. Otherwise it is made ready.
const INSERT_CLAIMED: &str = "WITH input AS MATERIALIZED (
    SELECT nextval('solid_queue_jobs_id_seq') AS id),
  ahead AS MATERIALIZED (
    SELECT r.id FROM solid_queue_ready_executions r
     WHERE r.priority <= $4
       AND NOT EXISTS (SELECT 1 FROM solid_queue_pauses p WHERE p.queue_name = r.queue_name)
     ORDER BY r.priority, r.job_id LIMIT 1 FOR UPDATE OF r SKIP LOCKED),
  free AS MATERIALIZED (
    SELECT NOT EXISTS (SELECT 1 FROM ahead)
       AND NOT EXISTS (SELECT 1 FROM solid_queue_pauses WHERE queue_name = $1) AS ok),
  jobs AS (
    INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
        scheduled_at, request_id, executions, created_at, updated_at)
    SELECT id, $1, $2, $3, $4, $8, $6, CASE WHEN ok THEN 1 ELSE 0 END, $5, $5
      FROM input, free),
  ready AS (
    INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
    SELECT id, $1, $4, $5 FROM input, free WHERE NOT ok),
  held AS (
    INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
    SELECT id, $7, $5 FROM input, free WHERE ok)
  SELECT id, ok FROM input, free";

/// [`INSERT_CLAIMED`] in one autocommit statement. A job left ready is followed by the
/// worker's ordinary claim (its failure logged: the job is committed) and, when that took
/// nothing, the `NOTIFY` for the other servers.
async fn write_claimed(pg: &Pg, job: &NewJob, now: Timestamp, c: &ClaimFor) -> Result<Written> {
    let conn = pg.get().await?;
    let err = |e| crate::Error::Store(pg.error(e));
    let stmt = conn.prepare_cached(INSERT_CLAIMED).await.map_err(err)?;
    let scheduled_at = job.scheduled_at.unwrap_or(now);
    let row = conn
        .query_one(
            &stmt,
            &[
                &job.queue_name,
                &job.class_name,
                &job.arguments,
                &job.priority,
                &now.0,
                &job.request_id,
                &c.process_id,
                &scheduled_at.0,
            ],
        )
        .await
        .map_err(err)?;
    drop(conn);
    let (id, claimed_at_once): (i64, bool) = (row.get(0), row.get(1));
    let placed = vec![(id, Placed::Dispatched(Dispatched::Ready))];
    if claimed_at_once {
        return Ok(Written {
            placed,
            claimed: vec![ClaimedJob {
                id,
                class_name: job.class_name.clone(),
                arguments: job.arguments.clone(),
                queue_name: job.queue_name.clone(),
                attempt: 1,
                created_at: now,
                scheduled_at,
                request_id: job.request_id.clone(),
            }],
            // Nothing was ready ahead of it, so nothing is left for the worker.
            claim_done: true,
        });
    }
    let claimed = match claim(pg, &c.selector, c.process_id, c.slots, now).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(cause = %e, "claim at enqueue failed; the worker will poll");
            Vec::new()
        }
    };
    if claimed.is_empty() {
        let conn = pg.get().await?;
        if let Err(e) = conn.batch_execute(super::NOTIFY).await {
            tracing::debug!(cause = %e, "NOTIFY after enqueue failed; the poll will find the jobs");
        }
    }
    Ok(Written {
        placed,
        claim_done: claimed.len() < c.slots,
        claimed,
    })
}

/// The columns of a run of jobs, as arrays.
struct PlainParams<'j> {
    queues: Vec<&'j str>,
    classes: Vec<&'j str>,
    args: Vec<&'j str>,
    priorities: Vec<i32>,
    at: Vec<i64>,
    requests: Vec<Option<&'j str>>,
}

impl<'j> PlainParams<'j> {
    fn of(jobs: &'j [NewJob], now: Timestamp) -> Self {
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
    let rows = tx
        .rows(
            INSERT_PLAIN,
            &[
                &p.queues,
                &p.classes,
                &p.args,
                &p.priorities,
                &p.at,
                &p.requests,
                &now.0,
            ],
        )
        .await?;
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
