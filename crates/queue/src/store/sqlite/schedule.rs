//! Dispatcher SQL: due scheduled executions become ready (or blocked).

use rusqlite::{Connection, params};

use super::super::model::{DispatchReport, Dispatched};
use super::{dispatch, load_info};
use crate::error::Result;
use trifecta_store::Timestamp;

const DUE: &str = "SELECT job_id FROM solid_queue_scheduled_executions
  WHERE scheduled_at <= ?1 ORDER BY scheduled_at, priority, job_id LIMIT ?2";
const DELETE: &str = "DELETE FROM solid_queue_scheduled_executions WHERE job_id = ?1";

/// Dispatches up to `batch` due jobs.
pub(crate) fn dispatch_due(
    conn: &Connection,
    now: Timestamp,
    batch: usize,
) -> Result<DispatchReport> {
    let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
    let due: Vec<i64> = conn
        .prepare_cached(DUE)?
        .query_map(params![now, batch], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut report = DispatchReport::default();
    for job_id in due {
        conn.prepare_cached(DELETE)?.execute([job_id])?;
        report.dispatched += 1;
        if let Some(info) = load_info(conn, job_id)?
            && dispatch(conn, &info, now)? == Dispatched::Ready
        {
            report.ready += 1;
        }
    }
    Ok(report)
}
