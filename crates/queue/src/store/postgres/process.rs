//! The process registry on PostgreSQL: register, heartbeat, deregister, and pruning of
//! dead processes with recovery of the jobs they had claimed. A dead process's claims are
//! taken with `DELETE ... RETURNING`, so when two servers prune it at once each job is
//! recovered by exactly one of them.

use trifecta_store::{Pg, Timestamp};

use super::super::model::{NewProcess, ProcessRow, PruneReport, missing_error, pruned_error};
use super::dispatch::{insert_ready, load_info};
use super::finish::insert_failed;
use super::{Tx, count, semaphore};
use crate::config::OnDeadProcess;
use crate::error::Result;
use crate::job::JobError;

const INSERT: &str = "INSERT INTO solid_queue_processes
   (kind, last_heartbeat_at, pid, hostname, metadata, created_at, name)
 VALUES ($1, $2, $3, $4, $5, $2, $6) RETURNING id";

/// Registers a process; returns its id.
pub(in super::super) async fn register(pg: &Pg, p: &NewProcess, now: Timestamp) -> Result<i64> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let id = tx
        .one(
            INSERT,
            &[&p.kind, &now.0, &p.pid, &p.hostname, &p.metadata, &p.name],
        )
        .await?
        .get(0);
    tx.commit().await?;
    Ok(id)
}

const HEARTBEAT: &str = "UPDATE solid_queue_processes SET last_heartbeat_at = $2 WHERE id = $1";
const REINSERT: &str = "INSERT INTO solid_queue_processes
   (id, kind, last_heartbeat_at, pid, hostname, metadata, created_at, name)
 VALUES ($1, $2, $3, $4, $5, $6, $3, $7)
 ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at";

/// Touches the heartbeat; writes the row again under the same id when it was pruned (and
/// then returns true).
pub(in super::super) async fn heartbeat(
    pg: &Pg,
    id: i64,
    p: &NewProcess,
    now: Timestamp,
) -> Result<bool> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let gone = tx.exec(HEARTBEAT, &[&id, &now.0]).await? == 0;
    if gone {
        tx.exec(
            REINSERT,
            &[
                &id,
                &p.kind,
                &now.0,
                &p.pid,
                &p.hostname,
                &p.metadata,
                &p.name,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(gone)
}

const DELETE: &str = "DELETE FROM solid_queue_processes WHERE id = $1";

/// Removes the process row after releasing its claims back to ready. Returns how many
/// jobs were released.
pub(in super::super) async fn deregister(pg: &Pg, id: i64, now: Timestamp) -> Result<usize> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let released = recover_claims(&mut tx, id, OnDeadProcess::Release, None, now).await?;
    tx.exec(DELETE, &[&id]).await?;
    tx.commit().await?;
    Ok(released)
}

const LIST: &str = "SELECT id, kind, name, pid, hostname, last_heartbeat_at, metadata, created_at
   FROM solid_queue_processes ORDER BY id";

/// Every registered process.
pub(in super::super) async fn list(pg: &Pg) -> Result<Vec<ProcessRow>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let rows = list_in(&tx).await?;
    tx.commit().await?;
    Ok(rows)
}

pub(super) async fn list_in(tx: &Tx<'_>) -> Result<Vec<ProcessRow>> {
    Ok(tx
        .rows(LIST, &[])
        .await?
        .iter()
        .map(|r| ProcessRow {
            id: r.get(0),
            kind: r.get(1),
            name: r.get(2),
            pid: r.get(3),
            hostname: r.get(4),
            last_heartbeat_at: Timestamp(r.get(5)),
            metadata: r.get(6),
            started_at: Timestamp(r.get(7)),
        })
        .collect())
}

const ORPHANS: &str = "DELETE FROM solid_queue_claimed_executions c
  WHERE c.process_id IS NULL
     OR NOT EXISTS (SELECT 1 FROM solid_queue_processes p WHERE p.id = c.process_id)
  RETURNING job_id";

/// Removes dead processes (`is_dead` decides, given the row) other than `me`, recovering
/// their claims, then recovers claims whose process row no longer exists.
pub(in super::super) async fn prune(
    pg: &Pg,
    me: Option<i64>,
    is_dead: &(dyn Fn(&ProcessRow) -> Option<String> + Send + Sync),
    on_dead: OnDeadProcess,
    now: Timestamp,
) -> Result<PruneReport> {
    let mut conn = pg.get().await?;
    let mut tx = Tx::begin(pg, &mut conn).await?;
    let mut report = PruneReport::default();
    for row in list_in(&tx).await? {
        if Some(row.id) == me {
            continue;
        }
        let Some(why) = is_dead(&row) else {
            continue;
        };
        let error = pruned_error(&row, &why);
        report.jobs += recover_claims(&mut tx, row.id, on_dead, Some(&error), now).await?;
        report.processes += count(tx.exec(DELETE, &[&row.id]).await?);
    }
    let orphans: Vec<i64> = tx
        .rows(ORPHANS, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let error = missing_error();
    for job_id in orphans {
        recover_one(&mut tx, job_id, on_dead, Some(&error), now).await?;
        report.jobs += 1;
    }
    tx.commit().await?;
    Ok(report)
}

const UNCLAIM_ALL: &str = "DELETE FROM solid_queue_claimed_executions WHERE process_id = $1
  RETURNING job_id";

async fn recover_claims(
    tx: &mut Tx<'_>,
    process: i64,
    on_dead: OnDeadProcess,
    error: Option<&JobError>,
    now: Timestamp,
) -> Result<usize> {
    let mut jobs: Vec<i64> = tx
        .rows(UNCLAIM_ALL, &[&process])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    jobs.sort_unstable();
    for &job_id in &jobs {
        recover_one(tx, job_id, on_dead, error, now).await?;
    }
    Ok(jobs.len())
}

/// Releases (straight to ready: the job still holds its concurrency slot) or fails one
/// job whose claim was just deleted.
async fn recover_one(
    tx: &mut Tx<'_>,
    job_id: i64,
    on_dead: OnDeadProcess,
    error: Option<&JobError>,
    now: Timestamp,
) -> Result<()> {
    let Some(info) = load_info(tx, job_id).await? else {
        return Ok(());
    };
    match (on_dead, error) {
        (OnDeadProcess::Fail, Some(error)) => {
            insert_failed(tx, job_id, error, now).await?;
            if let Some(limit) = &info.limit {
                semaphore::signal(tx, limit, now).await?;
            }
            Ok(())
        }
        _ => insert_ready(tx, job_id, &info.queue_name, info.priority, now).await,
    }
}
