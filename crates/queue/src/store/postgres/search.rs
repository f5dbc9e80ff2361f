//! The dashboard's search and counts on PostgreSQL: one state's rows walked along its index
//! in order (see `store::scan`), filtered, a page or a capped count at a time.
//!
//! Every statement takes the same parameters, prepared with their types (a statement may
//! leave some unused): `$1 $2 $3` the key the walk starts after, `$4 $5 $6` the key it
//! ends at (included), `$7 $8` the time range (inclusive), `$9` queue and `$10` class (NULL:
//! any), `$11` the most rows (pages, counts) or the rows to skip (edges).

use tokio_postgres::types::Type;
use trifecta_store::{Pg, Timestamp};

use super::super::model::parse_error;
use super::super::scan::{Hit, Key, Window};
use super::{Tx, limit as sql_limit};
use crate::JobInfo;
use crate::error::Result;
use crate::job::{JobId, JobState};

/// The parameter types of every statement here.
const TYPES: [Type; 11] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
];

/// Defines a state's page and count statements from the walk they share (as on SQLite:
/// see `sqlite::search`): the walk reads the state's own table (joined with the jobs where
/// a filter needs a job's column), and a page then fetches its few jobs by id.
macro_rules! state_sql {
    ($page:ident, $count:ident, body: $body:literal, key: $key:literal, job: $job:literal,
     at: $at:literal, error: $err:literal, order: $order:literal, outer: $outer:literal) => {
        const $page: &str = concat!(
            "SELECT j.id, j.class_name, j.queue_name, j.priority, j.arguments, j.executions,
                    j.created_at, j.scheduled_at, j.finished_at, s.error, s.k0, s.k1, s.k2,
                    coalesce(s.at, j.created_at)
               FROM (SELECT ",
            $key,
            ", ",
            $job,
            " AS job_id, ",
            $at,
            " AS at, ",
            $err,
            " AS error ",
            $body,
            " ORDER BY ",
            $order,
            " LIMIT $11) s
              JOIN solid_queue_jobs j ON j.id = s.job_id
             ORDER BY ",
            $outer
        );
        const $count: &str = concat!("SELECT count(*) FROM (SELECT 1 ", $body, " LIMIT $11) x");
    };
}

// Each state has a lean walk, over its own table only (no filter needs a job's column), and
// a joined one that looks each row's job up (a class; a queue or time the table lacks).
state_sql!(READY_PAGE, READY_COUNT,
    body: "FROM solid_queue_ready_executions r
      WHERE r.job_id > $3 AND r.job_id <= $6 AND ($9 IS NULL OR r.queue_name = $9)",
    key: "0::int8 AS k0, 0::int8 AS k1, r.job_id AS k2", job: "r.job_id", at: "NULL::int8",
    error: "NULL::text", order: "r.job_id", outer: "s.k2");
state_sql!(READY_PAGE_J, READY_COUNT_J,
    body: "FROM solid_queue_ready_executions r JOIN solid_queue_jobs j ON j.id = r.job_id
      WHERE r.job_id > $3 AND r.job_id <= $6 AND ($9 IS NULL OR r.queue_name = $9)
        AND ($10 IS NULL OR j.class_name = $10) AND j.created_at BETWEEN $7 AND $8",
    key: "0::int8 AS k0, 0::int8 AS k1, r.job_id AS k2", job: "r.job_id", at: "NULL::int8",
    error: "NULL::text", order: "r.job_id", outer: "s.k2");
state_sql!(SCHEDULED_PAGE, SCHEDULED_COUNT,
    body: "FROM solid_queue_scheduled_executions e
      WHERE e.scheduled_at BETWEEN $7 AND $8
        AND (e.scheduled_at, e.priority, e.job_id) > ($1, $2, $3)
        AND (e.scheduled_at, e.priority, e.job_id) <= ($4, $5, $6)
        AND ($9 IS NULL OR e.queue_name = $9)",
    key: "e.scheduled_at AS k0, e.priority::int8 AS k1, e.job_id AS k2", job: "e.job_id",
    at: "e.scheduled_at", error: "NULL::text",
    order: "e.scheduled_at, e.priority, e.job_id", outer: "s.k0, s.k1, s.k2");
state_sql!(SCHEDULED_PAGE_J, SCHEDULED_COUNT_J,
    body: "FROM solid_queue_scheduled_executions e JOIN solid_queue_jobs j ON j.id = e.job_id
      WHERE e.scheduled_at BETWEEN $7 AND $8
        AND (e.scheduled_at, e.priority, e.job_id) > ($1, $2, $3)
        AND (e.scheduled_at, e.priority, e.job_id) <= ($4, $5, $6)
        AND ($9 IS NULL OR e.queue_name = $9) AND j.class_name = $10",
    key: "e.scheduled_at AS k0, e.priority::int8 AS k1, e.job_id AS k2", job: "e.job_id",
    at: "e.scheduled_at", error: "NULL::text",
    order: "e.scheduled_at, e.priority, e.job_id", outer: "s.k0, s.k1, s.k2");
state_sql!(CLAIMED_PAGE, CLAIMED_COUNT,
    body: "FROM solid_queue_claimed_executions c
      WHERE c.job_id > $3 AND c.job_id <= $6 AND c.created_at BETWEEN $7 AND $8",
    key: "0::int8 AS k0, 0::int8 AS k1, c.job_id AS k2", job: "c.job_id", at: "c.created_at",
    error: "NULL::text", order: "c.job_id", outer: "s.k2");
state_sql!(CLAIMED_PAGE_J, CLAIMED_COUNT_J,
    body: "FROM solid_queue_claimed_executions c JOIN solid_queue_jobs j ON j.id = c.job_id
      WHERE c.job_id > $3 AND c.job_id <= $6 AND c.created_at BETWEEN $7 AND $8
        AND ($9 IS NULL OR j.queue_name = $9) AND ($10 IS NULL OR j.class_name = $10)",
    key: "0::int8 AS k0, 0::int8 AS k1, c.job_id AS k2", job: "c.job_id", at: "c.created_at",
    error: "NULL::text", order: "c.job_id", outer: "s.k2");
state_sql!(BLOCKED_PAGE, BLOCKED_COUNT,
    body: "FROM solid_queue_blocked_executions b
      WHERE b.job_id > $3 AND b.job_id <= $6 AND ($9 IS NULL OR b.queue_name = $9)",
    key: "0::int8 AS k0, 0::int8 AS k1, b.job_id AS k2", job: "b.job_id", at: "NULL::int8",
    error: "NULL::text", order: "b.job_id", outer: "s.k2");
state_sql!(BLOCKED_PAGE_J, BLOCKED_COUNT_J,
    body: "FROM solid_queue_blocked_executions b JOIN solid_queue_jobs j ON j.id = b.job_id
      WHERE b.job_id > $3 AND b.job_id <= $6 AND ($9 IS NULL OR b.queue_name = $9)
        AND ($10 IS NULL OR j.class_name = $10) AND j.created_at BETWEEN $7 AND $8",
    key: "0::int8 AS k0, 0::int8 AS k1, b.job_id AS k2", job: "b.job_id", at: "NULL::int8",
    error: "NULL::text", order: "b.job_id", outer: "s.k2");
state_sql!(FAILED_PAGE, FAILED_COUNT,
    body: "FROM solid_queue_failed_executions f
      WHERE f.created_at BETWEEN $7 AND $8
        AND (f.created_at, f.job_id) < ($1, $3) AND (f.created_at, f.job_id) >= ($4, $6)",
    key: "f.created_at AS k0, 0::int8 AS k1, f.job_id AS k2", job: "f.job_id",
    at: "f.created_at", error: "f.error", order: "f.created_at DESC, f.job_id DESC",
    outer: "s.k0 DESC, s.k2 DESC");
state_sql!(FAILED_PAGE_J, FAILED_COUNT_J,
    body: "FROM solid_queue_failed_executions f JOIN solid_queue_jobs j ON j.id = f.job_id
      WHERE f.created_at BETWEEN $7 AND $8
        AND (f.created_at, f.job_id) < ($1, $3) AND (f.created_at, f.job_id) >= ($4, $6)
        AND ($9 IS NULL OR j.queue_name = $9) AND ($10 IS NULL OR j.class_name = $10)",
    key: "f.created_at AS k0, 0::int8 AS k1, f.job_id AS k2", job: "f.job_id",
    at: "f.created_at", error: "f.error", order: "f.created_at DESC, f.job_id DESC",
    outer: "s.k0 DESC, s.k2 DESC");
state_sql!(FINISHED_PAGE, FINISHED_COUNT,
    body: "FROM solid_queue_jobs j
      WHERE j.finished_at IS NOT NULL AND j.finished_at BETWEEN $7 AND $8
        AND (j.finished_at, j.id) < ($1, $3) AND (j.finished_at, j.id) >= ($4, $6)
        AND ($9 IS NULL OR j.queue_name = $9) AND ($10 IS NULL OR j.class_name = $10)",
    key: "j.finished_at AS k0, 0::int8 AS k1, j.id AS k2", job: "j.id", at: "j.finished_at",
    error: "NULL::text", order: "j.finished_at DESC, j.id DESC", outer: "s.k0 DESC, s.k2 DESC");

// The key of the row `$11` rows after the start and of the one after it (if any),
// reading the index only. Time-ordered
// states walk their time range; the others every row (their time is a filter).
const READY_EDGE: &str = "SELECT 0::int8, 0::int8, job_id FROM solid_queue_ready_executions
  WHERE job_id > $3 ORDER BY job_id LIMIT 2 OFFSET $11";
const SCHEDULED_EDGE: &str = "SELECT scheduled_at, priority::int8, job_id
  FROM solid_queue_scheduled_executions
  WHERE scheduled_at BETWEEN $7 AND $8 AND (scheduled_at, priority, job_id) > ($1, $2, $3)
  ORDER BY scheduled_at, priority, job_id LIMIT 2 OFFSET $11";
const CLAIMED_EDGE: &str = "SELECT 0::int8, 0::int8, job_id FROM solid_queue_claimed_executions
  WHERE job_id > $3 ORDER BY job_id LIMIT 2 OFFSET $11";
const BLOCKED_EDGE: &str = "SELECT 0::int8, 0::int8, job_id FROM solid_queue_blocked_executions
  WHERE job_id > $3 ORDER BY job_id LIMIT 2 OFFSET $11";
const FAILED_EDGE: &str = "SELECT created_at, 0::int8, job_id
  FROM solid_queue_failed_executions
  WHERE created_at BETWEEN $7 AND $8 AND (created_at, job_id) < ($1, $3)
  ORDER BY created_at DESC, job_id DESC LIMIT 2 OFFSET $11";
const FINISHED_EDGE: &str = "SELECT finished_at, 0::int8, id FROM solid_queue_jobs
  WHERE finished_at IS NOT NULL AND finished_at BETWEEN $7 AND $8 AND (finished_at, id) < ($1, $3)
  ORDER BY finished_at DESC, id DESC LIMIT 2 OFFSET $11";

/// The statements of the walk of `w`: page, count, edge.
fn statements(w: &Window) -> (&'static str, &'static str, &'static str) {
    let joined = w.needs_job();
    match (w.state, joined) {
        (JobState::Ready, false) => (READY_PAGE, READY_COUNT, READY_EDGE),
        (JobState::Ready, true) => (READY_PAGE_J, READY_COUNT_J, READY_EDGE),
        (JobState::Scheduled, false) => (SCHEDULED_PAGE, SCHEDULED_COUNT, SCHEDULED_EDGE),
        (JobState::Scheduled, true) => (SCHEDULED_PAGE_J, SCHEDULED_COUNT_J, SCHEDULED_EDGE),
        (JobState::Claimed, false) => (CLAIMED_PAGE, CLAIMED_COUNT, CLAIMED_EDGE),
        (JobState::Claimed, true) => (CLAIMED_PAGE_J, CLAIMED_COUNT_J, CLAIMED_EDGE),
        (JobState::Blocked, false) => (BLOCKED_PAGE, BLOCKED_COUNT, BLOCKED_EDGE),
        (JobState::Blocked, true) => (BLOCKED_PAGE_J, BLOCKED_COUNT_J, BLOCKED_EDGE),
        (JobState::Failed, false) => (FAILED_PAGE, FAILED_COUNT, FAILED_EDGE),
        (JobState::Failed, true) => (FAILED_PAGE_J, FAILED_COUNT_J, FAILED_EDGE),
        (JobState::Finished, _) => (FINISHED_PAGE, FINISHED_COUNT, FINISHED_EDGE),
    }
}

/// Runs `sql` with the parameters of `w` and `n`.
async fn query(tx: &Tx<'_>, sql: &str, w: &Window, n: usize) -> Result<Vec<tokio_postgres::Row>> {
    let [at, ap, ai] = w.after;
    let [ut, up, ui] = w.until;
    let n = sql_limit(n);
    tx.rows_typed(
        sql,
        &TYPES,
        &[
            &at, &ap, &ai, &ut, &up, &ui, &w.lo, &w.hi, &w.queue, &w.class, &n,
        ],
    )
    .await
}

/// The key of the row `budget` rows into the walk of `w`, or `None` when no more than
/// `budget` rows are left.
async fn edge(tx: &Tx<'_>, w: &Window, budget: usize) -> Result<Option<Key>> {
    let rows = query(tx, statements(w).2, w, budget.saturating_sub(1)).await?;
    Ok(match rows.as_slice() {
        [r, _] => Some([r.get(0), r.get(1), r.get(2)]),
        _ => None,
    })
}

/// The end of the walk of `w` when it needs a budget, and `w` ended there.
async fn bounded(tx: &Tx<'_>, w: Window, budget: usize) -> Result<(Window, Option<Key>)> {
    if !w.needs_budget() {
        return Ok((w, None));
    }
    Ok(match edge(tx, &w, budget).await? {
        Some(e) => (w.until(e), Some(e)),
        None => (w, None),
    })
}

/// A search: the edge of the walk when `w` needs a budget of `budget` rows, then the first
/// `n` jobs up to it. Returns the jobs and the edge.
pub(in super::super) async fn search(
    pg: &Pg,
    w: Window,
    budget: usize,
    n: usize,
) -> Result<(Vec<Hit>, Option<Key>)> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let state = w.state;
    let (w, edge) = bounded(&tx, w, budget).await?;
    let rows = query(&tx, statements(&w).0, &w, n).await?;
    tx.commit().await?;
    let hits = rows
        .iter()
        .map(|r| Hit {
            info: JobInfo {
                id: JobId(r.get(0)),
                class_name: r.get(1),
                queue_name: r.get(2),
                priority: r.get(3),
                arguments: r.get(4),
                executions: i64::from(r.get::<_, i32>(5)),
                created_at: Timestamp(r.get(6)),
                scheduled_at: r.get::<_, Option<i64>>(7).map(Timestamp),
                finished_at: r.get::<_, Option<i64>>(8).map(Timestamp),
                state,
                error: r.get::<_, Option<&str>>(9).map(parse_error),
            },
            key: [r.get(10), r.get(11), r.get(12)],
            at: r.get(13),
        })
        .collect();
    Ok((hits, edge))
}

/// For each window: how many jobs it has, counting at most `n` and walking at most
/// `budget` rows where it needs a budget; and whether the budget ended the walk.
pub(in super::super) async fn counts(
    pg: &Pg,
    windows: Vec<Window>,
    budget: usize,
    n: usize,
) -> Result<Vec<(u64, bool)>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    tx.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let mut out = Vec::with_capacity(windows.len());
    for w in windows {
        let (w, edge) = bounded(&tx, w, budget).await?;
        let rows = query(&tx, statements(&w).1, &w, n).await?;
        let counted: i64 = rows.first().map_or(0, |r| r.get(0));
        out.push((u64::try_from(counted).unwrap_or(0), edge.is_some()));
    }
    tx.commit().await?;
    Ok(out)
}
