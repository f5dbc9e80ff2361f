//! The process registry: register, heartbeat, deregister, and pruning of dead processes
//! together with recovery of the jobs they had claimed.

use rusqlite::{Connection, params};

use super::super::model::{ProcessRow, PruneReport, missing_error, pruned_error};
use super::{finish::insert_failed, insert_ready, load_info};
use crate::config::OnDeadProcess;
use crate::error::Result;
use crate::job::JobError;
use trifecta_store::Timestamp;

const INSERT: &str = "INSERT INTO solid_queue_processes
   (kind, last_heartbeat_at, pid, hostname, metadata, created_at, name)
 VALUES (?1, ?2, ?3, ?4, ?5, ?2, ?6)";

/// Registers a process; returns its id.
pub(crate) fn register(
    conn: &Connection,
    kind: &str,
    name: &str,
    pid: i64,
    hostname: &str,
    metadata: &str,
    now: Timestamp,
) -> Result<i64> {
    conn.prepare_cached(INSERT)?
        .execute(params![kind, now, pid, hostname, metadata, name])?;
    Ok(conn.last_insert_rowid())
}

const HEARTBEAT: &str = "UPDATE solid_queue_processes SET last_heartbeat_at = ?2 WHERE id = ?1";

/// Touches the heartbeat; false when the row is gone (this process was pruned).
pub(crate) fn heartbeat(conn: &Connection, id: i64, now: Timestamp) -> Result<bool> {
    Ok(conn.prepare_cached(HEARTBEAT)?.execute(params![id, now])? == 1)
}

const DELETE: &str = "DELETE FROM solid_queue_processes WHERE id = ?1";

/// Removes the process row after releasing its claims back to ready. Returns how many
/// jobs were released.
pub(crate) fn deregister(conn: &Connection, id: i64, now: Timestamp) -> Result<usize> {
    let released = recover_claims(conn, Some(id), OnDeadProcess::Release, None, now)?;
    conn.prepare_cached(DELETE)?.execute([id])?;
    Ok(released)
}

const LIST: &str = "SELECT id, kind, name, pid, hostname, last_heartbeat_at, metadata, created_at
   FROM solid_queue_processes ORDER BY id";

/// Every registered process.
pub(crate) fn list(conn: &Connection) -> Result<Vec<ProcessRow>> {
    Ok(conn
        .prepare_cached(LIST)?
        .query_map([], |r| {
            Ok(ProcessRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                name: r.get(2)?,
                pid: r.get(3)?,
                hostname: r.get(4)?,
                last_heartbeat_at: r.get(5)?,
                metadata: r.get(6)?,
                started_at: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

const ORPHANS: &str = "SELECT job_id FROM solid_queue_claimed_executions c
  WHERE c.process_id IS NULL
     OR NOT EXISTS (SELECT 1 FROM solid_queue_processes p WHERE p.id = c.process_id)";

/// Removes dead processes (`is_dead` decides, given the row) other than `me`, recovering
/// their claims, then recovers claims whose process row no longer exists.
pub(crate) fn prune(
    conn: &Connection,
    me: Option<i64>,
    is_dead: &dyn Fn(&ProcessRow) -> Option<String>,
    on_dead: OnDeadProcess,
    now: Timestamp,
) -> Result<PruneReport> {
    let mut report = PruneReport::default();
    for row in list(conn)? {
        if Some(row.id) == me {
            continue;
        }
        let Some(why) = is_dead(&row) else {
            continue;
        };
        let error = pruned_error(&row, &why);
        report.jobs += recover_claims(conn, Some(row.id), on_dead, Some(&error), now)?;
        conn.prepare_cached(DELETE)?.execute([row.id])?;
        report.processes += 1;
    }
    let orphans: Vec<i64> = conn
        .prepare_cached(ORPHANS)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let error = missing_error();
    for job_id in orphans {
        recover_one(conn, job_id, on_dead, Some(&error), now)?;
        report.jobs += 1;
    }
    Ok(report)
}

const CLAIMS_OF: &str =
    "SELECT job_id FROM solid_queue_claimed_executions WHERE process_id IS ?1 ORDER BY job_id";

fn recover_claims(
    conn: &Connection,
    process: Option<i64>,
    on_dead: OnDeadProcess,
    error: Option<&JobError>,
    now: Timestamp,
) -> Result<usize> {
    let jobs: Vec<i64> = conn
        .prepare_cached(CLAIMS_OF)?
        .query_map([process], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for &job_id in &jobs {
        recover_one(conn, job_id, on_dead, error, now)?;
    }
    Ok(jobs.len())
}

const UNCLAIM: &str = "DELETE FROM solid_queue_claimed_executions WHERE job_id = ?1";

/// Releases (straight to ready: the job still holds its concurrency slot) or fails one
/// claimed job.
fn recover_one(
    conn: &Connection,
    job_id: i64,
    on_dead: OnDeadProcess,
    error: Option<&JobError>,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(UNCLAIM)?.execute([job_id])?;
    let Some(info) = load_info(conn, job_id)? else {
        return Ok(());
    };
    match (on_dead, error) {
        (OnDeadProcess::Fail, Some(error)) => {
            insert_failed(conn, job_id, error, now)?;
            if let Some(limit) = &info.limit {
                super::semaphore::signal(conn, limit, now)?;
            }
            Ok(())
        }
        _ => insert_ready(conn, job_id, &info.queue_name, info.priority, now),
    }
}

const REINSERT: &str = "INSERT OR REPLACE INTO solid_queue_processes
   (id, kind, last_heartbeat_at, pid, hostname, metadata, created_at, name)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3, ?7)";

/// Writes the row of process `id` again after it was pruned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reinsert(
    conn: &Connection,
    id: i64,
    kind: &str,
    name: &str,
    pid: i64,
    hostname: &str,
    metadata: &str,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(REINSERT)?
        .execute(params![id, kind, now, pid, hostname, metadata, name])?;
    Ok(())
}
