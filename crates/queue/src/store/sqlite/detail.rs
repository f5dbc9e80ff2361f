//! One job in full on SQLite: its row and state, claim and failure times, process, and
//! failed attempts.

use rusqlite::{Connection, OptionalExtension};

use super::super::model::{ProcessRow, parse_error};
use super::admin::list;
use crate::detail::{Attempt, JobDetail, ProcessRef};
use crate::error::Result;

const EXTRA: &str = "SELECT c.created_at, f.created_at, j.request_id, j.concurrency_key,
   coalesce(c.process_id, j.process_id)
  FROM solid_queue_jobs j
  LEFT JOIN solid_queue_claimed_executions c ON c.job_id = j.id
  LEFT JOIN solid_queue_failed_executions f ON f.job_id = j.id
 WHERE j.id = ?1";
const ATTEMPTS: &str = "SELECT attempt, created_at, error, process_id FROM trifecta_job_attempts
  WHERE job_id = ?1 ORDER BY id";
const PROCESS: &str =
    "SELECT id, kind, name, pid, hostname, last_heartbeat_at, metadata, created_at
  FROM solid_queue_processes WHERE id = ?1";

/// Job `id` in full, if it exists.
pub(crate) fn detail(conn: &Connection, id: i64) -> Result<Option<JobDetail>> {
    let Some(info) = list(conn, Some(id), None, None, 1)?.pop() else {
        return Ok(None);
    };
    let (claimed_at, failed_at, request_id, concurrency_key, process_id) =
        conn.prepare_cached(EXTRA)?.query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let attempts = conn
        .prepare_cached(ATTEMPTS)?
        .query_map([id], |r| {
            Ok(Attempt {
                number: r.get(0)?,
                at: r.get(1)?,
                error: parse_error(&r.get::<_, String>(2)?),
                process_id: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let process = match process_id {
        Some(pid) => Some(ProcessRef {
            id: pid,
            row: conn
                .prepare_cached(PROCESS)?
                .query_row([pid], |r| {
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
                })
                .optional()?,
        }),
        None => None,
    };
    Ok(Some(JobDetail {
        info,
        claimed_at,
        failed_at,
        request_id,
        concurrency_key,
        process,
        attempts,
    }))
}
