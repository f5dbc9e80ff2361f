//! The dashboard's search and counts on SQLite: one state's rows walked along its index in
//! order (see `store::scan`), filtered, a page or a capped count at a time.
//!
//! A walk over the state's own table alone serves the filters that table has columns for
//! (an unfiltered count of 10,000 ready jobs reads one index); a filter on a job's column
//! (a class; a queue or time the table lacks) takes the joined walk, which looks each row's
//! job up by id. Both name the state's table first with `CROSS JOIN`, which SQLite never
//! reorders: left to itself the planner may start from `solid_queue_jobs` (a class looks
//! selective), reading every job ever kept. A page then fetches its few jobs by id.

use rusqlite::types::Value;
use rusqlite::{Connection, Statement};

use super::super::model::parse_error;
use super::super::scan::{Hit, Key, Window};
use crate::JobInfo;
use crate::error::Result;
use crate::job::{JobId, JobState};

/// Defines a state's page and count statements from the walk they share: `body` is its
/// `FROM … WHERE …`, `key` its three key columns, `job` the job id, `at` the state's time
/// where the walked table has it (else NULL: the job's `created_at`), `error` the failure.
/// The page walks in `order` and returns the jobs in `outer` (the same order, on the
/// walk's columns `k0 k1 k2`).
///
/// Parameters: `:at :ap :ai` the key the walk starts after, `:ut :up :ui` the key it ends
/// at (included), `:lo :hi` the time range (inclusive), `:queue`, `:class` (NULL: any),
/// `:n` the most rows.
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
            " LIMIT :n) s
              CROSS JOIN solid_queue_jobs j ON j.id = s.job_id
             ORDER BY ",
            $outer
        );
        const $count: &str = concat!("SELECT count(*) FROM (SELECT 1 ", $body, " LIMIT :n)");
    };
}

// Each state has a lean walk, over its own table only (no filter needs a job's column), and
// a joined one that looks each row's job up (a class; a queue or time the table lacks).
state_sql!(READY_PAGE, READY_COUNT,
    body: "FROM solid_queue_ready_executions r
      WHERE r.job_id > :ai AND r.job_id <= :ui AND (:queue IS NULL OR r.queue_name = :queue)",
    key: "0 AS k0, 0 AS k1, r.job_id AS k2", job: "r.job_id", at: "NULL", error: "NULL",
    order: "r.job_id", outer: "s.k2");
state_sql!(READY_PAGE_J, READY_COUNT_J,
    body: "FROM solid_queue_ready_executions r CROSS JOIN solid_queue_jobs j ON j.id = r.job_id
      WHERE r.job_id > :ai AND r.job_id <= :ui AND (:queue IS NULL OR r.queue_name = :queue)
        AND (:class IS NULL OR j.class_name = :class) AND j.created_at BETWEEN :lo AND :hi",
    key: "0 AS k0, 0 AS k1, r.job_id AS k2", job: "r.job_id", at: "NULL", error: "NULL",
    order: "r.job_id", outer: "s.k2");
state_sql!(SCHEDULED_PAGE, SCHEDULED_COUNT,
    body: "FROM solid_queue_scheduled_executions e
      WHERE e.scheduled_at BETWEEN :lo AND :hi
        AND (e.scheduled_at, e.priority, e.job_id) > (:at, :ap, :ai)
        AND (e.scheduled_at, e.priority, e.job_id) <= (:ut, :up, :ui)
        AND (:queue IS NULL OR e.queue_name = :queue)",
    key: "e.scheduled_at AS k0, e.priority AS k1, e.job_id AS k2", job: "e.job_id",
    at: "e.scheduled_at", error: "NULL",
    order: "e.scheduled_at, e.priority, e.job_id", outer: "s.k0, s.k1, s.k2");
state_sql!(SCHEDULED_PAGE_J, SCHEDULED_COUNT_J,
    body: "FROM solid_queue_scheduled_executions e
      CROSS JOIN solid_queue_jobs j ON j.id = e.job_id
      WHERE e.scheduled_at BETWEEN :lo AND :hi
        AND (e.scheduled_at, e.priority, e.job_id) > (:at, :ap, :ai)
        AND (e.scheduled_at, e.priority, e.job_id) <= (:ut, :up, :ui)
        AND (:queue IS NULL OR e.queue_name = :queue) AND j.class_name = :class",
    key: "e.scheduled_at AS k0, e.priority AS k1, e.job_id AS k2", job: "e.job_id",
    at: "e.scheduled_at", error: "NULL",
    order: "e.scheduled_at, e.priority, e.job_id", outer: "s.k0, s.k1, s.k2");
state_sql!(CLAIMED_PAGE, CLAIMED_COUNT,
    body: "FROM solid_queue_claimed_executions c
      WHERE c.job_id > :ai AND c.job_id <= :ui AND c.created_at BETWEEN :lo AND :hi",
    key: "0 AS k0, 0 AS k1, c.job_id AS k2", job: "c.job_id", at: "c.created_at",
    error: "NULL", order: "c.job_id", outer: "s.k2");
state_sql!(CLAIMED_PAGE_J, CLAIMED_COUNT_J,
    body: "FROM solid_queue_claimed_executions c CROSS JOIN solid_queue_jobs j ON j.id = c.job_id
      WHERE c.job_id > :ai AND c.job_id <= :ui AND c.created_at BETWEEN :lo AND :hi
        AND (:queue IS NULL OR j.queue_name = :queue) AND (:class IS NULL OR j.class_name = :class)",
    key: "0 AS k0, 0 AS k1, c.job_id AS k2", job: "c.job_id", at: "c.created_at",
    error: "NULL", order: "c.job_id", outer: "s.k2");
state_sql!(BLOCKED_PAGE, BLOCKED_COUNT,
    body: "FROM solid_queue_blocked_executions b
      WHERE b.job_id > :ai AND b.job_id <= :ui AND (:queue IS NULL OR b.queue_name = :queue)",
    key: "0 AS k0, 0 AS k1, b.job_id AS k2", job: "b.job_id", at: "NULL", error: "NULL",
    order: "b.job_id", outer: "s.k2");
state_sql!(BLOCKED_PAGE_J, BLOCKED_COUNT_J,
    body: "FROM solid_queue_blocked_executions b CROSS JOIN solid_queue_jobs j ON j.id = b.job_id
      WHERE b.job_id > :ai AND b.job_id <= :ui AND (:queue IS NULL OR b.queue_name = :queue)
        AND (:class IS NULL OR j.class_name = :class) AND j.created_at BETWEEN :lo AND :hi",
    key: "0 AS k0, 0 AS k1, b.job_id AS k2", job: "b.job_id", at: "NULL", error: "NULL",
    order: "b.job_id", outer: "s.k2");
state_sql!(FAILED_PAGE, FAILED_COUNT,
    body: "FROM solid_queue_failed_executions f
      WHERE f.created_at BETWEEN :lo AND :hi
        AND (f.created_at, f.job_id) < (:at, :ai) AND (f.created_at, f.job_id) >= (:ut, :ui)",
    key: "f.created_at AS k0, 0 AS k1, f.job_id AS k2", job: "f.job_id", at: "f.created_at",
    error: "f.error", order: "f.created_at DESC, f.job_id DESC",
    outer: "s.k0 DESC, s.k2 DESC");
state_sql!(FAILED_PAGE_J, FAILED_COUNT_J,
    body: "FROM solid_queue_failed_executions f CROSS JOIN solid_queue_jobs j ON j.id = f.job_id
      WHERE f.created_at BETWEEN :lo AND :hi
        AND (f.created_at, f.job_id) < (:at, :ai) AND (f.created_at, f.job_id) >= (:ut, :ui)
        AND (:queue IS NULL OR j.queue_name = :queue) AND (:class IS NULL OR j.class_name = :class)",
    key: "f.created_at AS k0, 0 AS k1, f.job_id AS k2", job: "f.job_id", at: "f.created_at",
    error: "f.error", order: "f.created_at DESC, f.job_id DESC",
    outer: "s.k0 DESC, s.k2 DESC");
state_sql!(FINISHED_PAGE, FINISHED_COUNT,
    body: "FROM solid_queue_jobs j
      WHERE j.finished_at IS NOT NULL AND j.finished_at BETWEEN :lo AND :hi
        AND (j.finished_at, j.id) < (:at, :ai) AND (j.finished_at, j.id) >= (:ut, :ui)
        AND (:queue IS NULL OR j.queue_name = :queue)
        AND (:class IS NULL OR j.class_name = :class)",
    key: "j.finished_at AS k0, 0 AS k1, j.id AS k2", job: "j.id", at: "j.finished_at",
    error: "NULL", order: "j.finished_at DESC, j.id DESC", outer: "s.k0 DESC, s.k2 DESC");

// The key of the `:skip + 1`-th row after the start and of the one after it (if any),
// reading the index only. Time-ordered states walk their time range; the others every row
// (their time is a filter).
const READY_EDGE: &str = "SELECT 0, 0, job_id FROM solid_queue_ready_executions
  WHERE job_id > :ai ORDER BY job_id LIMIT 2 OFFSET :skip";
const SCHEDULED_EDGE: &str = "SELECT scheduled_at, priority, job_id
  FROM solid_queue_scheduled_executions
  WHERE scheduled_at BETWEEN :lo AND :hi AND (scheduled_at, priority, job_id) > (:at, :ap, :ai)
  ORDER BY scheduled_at, priority, job_id LIMIT 2 OFFSET :skip";
const CLAIMED_EDGE: &str = "SELECT 0, 0, job_id FROM solid_queue_claimed_executions
  WHERE job_id > :ai ORDER BY job_id LIMIT 2 OFFSET :skip";
const BLOCKED_EDGE: &str = "SELECT 0, 0, job_id FROM solid_queue_blocked_executions
  WHERE job_id > :ai ORDER BY job_id LIMIT 2 OFFSET :skip";
const FAILED_EDGE: &str = "SELECT created_at, 0, job_id FROM solid_queue_failed_executions
  WHERE created_at BETWEEN :lo AND :hi AND (created_at, job_id) < (:at, :ai)
  ORDER BY created_at DESC, job_id DESC LIMIT 2 OFFSET :skip";
const FINISHED_EDGE: &str = "SELECT finished_at, 0, id FROM solid_queue_jobs
  WHERE finished_at IS NOT NULL AND finished_at BETWEEN :lo AND :hi
    AND (finished_at, id) < (:at, :ai)
  ORDER BY finished_at DESC, id DESC LIMIT 2 OFFSET :skip";

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

/// Binds the parameters `stmt` names from `w` and `n` (`:n` and `:skip`).
fn bind(stmt: &mut Statement<'_>, w: &Window, n: usize) -> Result<()> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    for i in 1..=stmt.parameter_count() {
        let value = match stmt.parameter_name(i).unwrap_or_default() {
            ":at" => Value::Integer(w.after[0]),
            ":ap" => Value::Integer(w.after[1]),
            ":ai" => Value::Integer(w.after[2]),
            ":ut" => Value::Integer(w.until[0]),
            ":up" => Value::Integer(w.until[1]),
            ":ui" => Value::Integer(w.until[2]),
            ":lo" => Value::Integer(w.lo),
            ":hi" => Value::Integer(w.hi),
            ":queue" => text(&w.queue),
            ":class" => text(&w.class),
            ":n" | ":skip" => Value::Integer(n),
            _ => Value::Null,
        };
        stmt.raw_bind_parameter(i, value)?;
    }
    Ok(())
}

/// The key of the row `budget` rows into the walk of `w` (from its start, any filter but
/// the index's own range ignored), or `None` when no more than `budget` rows are left.
pub(crate) fn edge(conn: &Connection, w: &Window, budget: usize) -> Result<Option<Key>> {
    let mut stmt = conn.prepare_cached(statements(w).2)?;
    bind(&mut stmt, w, budget.saturating_sub(1))?;
    let mut rows = stmt.raw_query();
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let key = [r.get(0)?, r.get(1)?, r.get(2)?];
    Ok(rows.next()?.map(|_| key))
}

/// The first `n` jobs of `w` in its order.
pub(crate) fn page(conn: &Connection, w: &Window, n: usize) -> Result<Vec<Hit>> {
    let mut stmt = conn.prepare_cached(statements(w).0)?;
    bind(&mut stmt, w, n)?;
    let mut rows = stmt.raw_query();
    let mut hits = Vec::new();
    while let Some(r) = rows.next()? {
        let error: Option<String> = r.get(9)?;
        hits.push(Hit {
            info: JobInfo {
                id: JobId(r.get(0)?),
                class_name: r.get(1)?,
                queue_name: r.get(2)?,
                priority: r.get(3)?,
                arguments: r.get(4)?,
                executions: r.get(5)?,
                created_at: r.get(6)?,
                scheduled_at: r.get(7)?,
                finished_at: r.get(8)?,
                state: w.state,
                error: error.as_deref().map(parse_error),
            },
            key: [r.get(10)?, r.get(11)?, r.get(12)?],
            at: r.get(13)?,
        });
    }
    Ok(hits)
}

/// How many jobs of `w` there are, counting at most `n`.
pub(crate) fn count(conn: &Connection, w: &Window, n: usize) -> Result<u64> {
    let mut stmt = conn.prepare_cached(statements(w).1)?;
    bind(&mut stmt, w, n)?;
    let mut rows = stmt.raw_query();
    let n: i64 = match rows.next()? {
        Some(r) => r.get(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A search: the edge of the walk when `w` needs a budget of `budget` rows, then the first
/// `n` jobs up to it. Returns the jobs and the edge.
pub(crate) fn search(
    conn: &Connection,
    w: Window,
    budget: usize,
    n: usize,
) -> Result<(Vec<Hit>, Option<Key>)> {
    let edge = if w.needs_budget() {
        edge(conn, &w, budget)?
    } else {
        None
    };
    let w = match edge {
        Some(e) => w.until(e),
        None => w,
    };
    Ok((page(conn, &w, n)?, edge))
}

/// For each window: how many jobs it has, counting at most `n` and walking at most
/// `budget` rows where it needs a budget; and whether the budget ended the walk.
pub(crate) fn counts(
    conn: &Connection,
    windows: Vec<Window>,
    budget: usize,
    n: usize,
) -> Result<Vec<(u64, bool)>> {
    let mut out = Vec::with_capacity(windows.len());
    for w in windows {
        let edge = if w.needs_budget() {
            edge(conn, &w, budget)?
        } else {
            None
        };
        let (w, limited) = match edge {
            Some(e) => (w.until(e), true),
            None => (w, false),
        };
        out.push((count(conn, &w, n)?, limited));
    }
    Ok(out)
}
