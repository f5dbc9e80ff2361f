//! The queue's SQL on SQLite, one file per operation. Every function here takes a rusqlite
//! connection or transaction and runs on a blocking thread inside `Db::call`/`Db::write` or
//! the group-commit [`writer`]; the async side is the store seam in the parent module.

pub(crate) mod admin;
pub(crate) mod bulk;
pub(crate) mod claim;
pub(crate) mod detail;
pub(crate) mod enqueue;
pub(crate) mod finish;
pub(crate) mod minutes;
pub(crate) mod process;
pub(crate) mod recurring;
pub(crate) mod schedule;
pub(crate) mod search;
pub(crate) mod seed;
pub(crate) mod semaphore;
pub(crate) mod views;
pub(crate) mod writer;

use rusqlite::{Connection, OptionalExtension, params};

use super::model::{DispatchInfo, Dispatched, Limit};
use crate::error::Result;
use trifecta_store::Timestamp;

/// Runs `f` inside a savepoint of the caller's transaction: when `f` fails, only its own
/// writes are undone and the transaction goes on. Savepoints nest (a claim inside a group
/// writer's operation): SQLite releases or rolls back the innermost one of a name.
pub(crate) fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    conn.execute_batch("SAVEPOINT op")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("RELEASE op")?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO op; RELEASE op")?;
            Err(e)
        }
    }
}

const LOAD_INFO: &str = "SELECT id, queue_name, priority, concurrency_key, concurrency_limit,
        concurrency_duration, concurrency_discard
   FROM solid_queue_jobs WHERE id = ?1";

/// Reads what [`dispatch`] needs for job `id`.
pub(crate) fn load_info(conn: &Connection, id: i64) -> Result<Option<DispatchInfo>> {
    query_info(conn, LOAD_INFO, params![id])
}

/// Runs `sql`, which returns the [`DispatchInfo`] columns in `LOAD_INFO` order, for one row.
fn query_info(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Option<DispatchInfo>> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.query_row(args, info_row).optional()?)
}

/// As [`query_info`], for every returned row.
pub(crate) fn query_infos(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<DispatchInfo>> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt
        .query_map(args, info_row)?
        .collect::<rusqlite::Result<_>>()?)
}

fn info_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DispatchInfo> {
    let key: Option<String> = r.get(3)?;
    let limit = match key {
        Some(key) => Some(Limit {
            key,
            to: r.get::<_, Option<i64>>(4)?.unwrap_or(1),
            duration_us: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
            discard: r.get(6)?,
        }),
        None => None,
    };
    Ok(DispatchInfo {
        id: r.get(0)?,
        queue_name: r.get(1)?,
        priority: r.get(2)?,
        limit,
    })
}

const INSERT_READY: &str =
    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
 VALUES (?1, ?2, ?3, ?4)";

/// Makes the job ready (no concurrency check).
pub(crate) fn insert_ready(
    conn: &Connection,
    id: i64,
    queue: &str,
    priority: i32,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(INSERT_READY)?
        .execute(params![id, queue, priority, now])?;
    Ok(())
}

const INSERT_BLOCKED: &str = "INSERT INTO solid_queue_blocked_executions
   (job_id, queue_name, priority, concurrency_key, expires_at, created_at)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const DELETE_JOB: &str = "DELETE FROM solid_queue_jobs WHERE id = ?1";

/// Solid Queue's `dispatch`: ready, or (under a concurrency limit that is full) blocked or
/// discarded (the job row is deleted).
pub(crate) fn dispatch(
    conn: &Connection,
    info: &DispatchInfo,
    now: Timestamp,
) -> Result<Dispatched> {
    let placed = admit(conn, info, now)?;
    if placed == Dispatched::Ready {
        insert_ready(conn, info.id, &info.queue_name, info.priority, now)?;
    }
    Ok(placed)
}

/// [`dispatch`] without the ready row: `Ready` means the job may run now (its concurrency
/// slot, if any, is taken) and the caller makes it ready or claims it.
pub(crate) fn admit(conn: &Connection, info: &DispatchInfo, now: Timestamp) -> Result<Dispatched> {
    let Some(limit) = &info.limit else {
        return Ok(Dispatched::Ready);
    };
    if semaphore::wait(conn, limit, now)? {
        Ok(Dispatched::Ready)
    } else if limit.discard {
        conn.prepare_cached(DELETE_JOB)?.execute([info.id])?;
        Ok(Dispatched::Discarded)
    } else {
        let expires = limit.expires(now);
        conn.prepare_cached(INSERT_BLOCKED)?.execute(params![
            info.id,
            info.queue_name,
            info.priority,
            limit.key,
            expires,
            now
        ])?;
        Ok(Dispatched::Blocked)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::in_savepoint;
    use crate::{Error, JobId};

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_failing_inner_savepoint_undoes_only_its_own_writes() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let tx = conn.transaction().unwrap();
        let inner = in_savepoint(&tx, |outer| {
            outer.execute("INSERT INTO t VALUES (1)", []).unwrap();
            let inner = in_savepoint(outer, |c| {
                c.execute("INSERT INTO t VALUES (2)", []).unwrap();
                Err::<(), _>(Error::NotFound(JobId(7)))
            });
            assert_eq!(count(outer), 1, "the inner insert is undone");
            Ok(inner.is_err())
        });
        assert!(inner.unwrap(), "the inner error reaches its caller");
        tx.commit().unwrap();
        assert_eq!(count(&conn), 1, "the outer insert commits");
    }
}
