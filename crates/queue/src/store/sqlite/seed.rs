//! Benchmark seeding on SQLite (see `crate::BenchSeed`): every job in a few statements.

use rusqlite::{Connection, named_params};

use crate::BenchSeed;
use crate::error::Result;

// Job `:base + i` for i in 1..=:total. Among the first :done, every :stride-th (up to
// :failed of them) fails; the rest finish. The last :ready are ready.
const JOBS: &str =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :total)
INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority, executions,
    scheduled_at, finished_at, created_at, updated_at)
SELECT :base + i,
  CASE i % 4 WHEN 0 THEN 'default' WHEN 1 THEN 'mailers' WHEN 2 THEN 'low' ELSE 'critical' END,
  CASE WHEN i % 1000 = 7 THEN 'RareJob' ELSE CASE i % 7 WHEN 0 THEN 'SendMail' WHEN 1 THEN 'Reindex'
    WHEN 2 THEN 'Charge' WHEN 3 THEN 'Thumbnail' WHEN 4 THEN 'Cleanup' WHEN 5 THEN 'Notify'
    ELSE 'Sync' END END,
  '{\"user_id\":' || i || ',\"note\":\"seeded for the dashboard benchmark\"}',
  0, CASE WHEN i <= :done THEN 1 ELSE 0 END, :start + i * 1000,
  CASE WHEN i <= :done AND NOT (i % :stride = 0 AND i / :stride <= :failed)
       THEN :start + i * 1000 + 500 END,
  :start + i * 1000, :start + i * 1000
FROM n";
const FAILED: &str = "INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
SELECT id, json_object('exception_class', CASE id % 3 WHEN 0 THEN 'Timeout'
    WHEN 1 THEN 'NoMethodError' ELSE 'Net::ReadTimeout' END,
  'message', 'failed while seeding job ' || id, 'backtrace', json_array('app/jobs/seeded.rb:12', 'lib/worker.rb:40')),
  created_at + 500
FROM solid_queue_jobs WHERE id > :base AND id <= :base + :done AND finished_at IS NULL";
const ATTEMPTS: &str = "INSERT INTO trifecta_job_attempts (job_id, attempt, error, created_at)
SELECT job_id, 1, error, created_at FROM solid_queue_failed_executions WHERE job_id > :base";
const READY: &str =
    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
SELECT id, queue_name, priority, created_at FROM solid_queue_jobs WHERE id > :base + :done";
const BASE: &str = "SELECT coalesce(max(id), 0) FROM solid_queue_jobs";

/// Writes the jobs of `seed`.
pub(crate) fn seed(conn: &Connection, seed: &BenchSeed) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let base: i64 = conn.query_row(BASE, [], |r| r.get(0))?;
    let done = n(seed.finished.saturating_add(seed.failed));
    let total = done.saturating_add(n(seed.ready));
    let stride = if seed.failed == 0 {
        i64::MAX
    } else {
        (done / n(seed.failed)).max(1)
    };
    conn.execute(
        JOBS,
        named_params! {":total": total, ":base": base, ":done": done, ":stride": stride,
        ":failed": n(seed.failed), ":start": seed.start},
    )?;
    conn.execute(FAILED, named_params! {":base": base, ":done": done})?;
    conn.execute(ATTEMPTS, named_params! {":base": base})?;
    conn.execute(READY, named_params! {":base": base, ":done": done})?;
    Ok(())
}
