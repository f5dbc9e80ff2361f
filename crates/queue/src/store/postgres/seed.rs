//! Benchmark seeding on PostgreSQL (see `crate::BenchSeed`): every job in a few statements.

use trifecta_store::Pg;

use super::Tx;
use crate::BenchSeed;
use crate::error::Result;

// Job `$1 + i` for i in 1..=$2. Among the first $3, every $4-th (up to $5 of them) fails;
// the rest finish. The last ones are ready. $6 is the first enqueue time.
const JOBS: &str = "INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
    executions, scheduled_at, finished_at, created_at, updated_at)
SELECT $1::int8 + i,
  CASE i % 4 WHEN 0 THEN 'default' WHEN 1 THEN 'mailers' WHEN 2 THEN 'low' ELSE 'critical' END,
  CASE WHEN i % 1000 = 7 THEN 'RareJob' ELSE CASE i % 7 WHEN 0 THEN 'SendMail' WHEN 1 THEN 'Reindex'
    WHEN 2 THEN 'Charge' WHEN 3 THEN 'Thumbnail' WHEN 4 THEN 'Cleanup' WHEN 5 THEN 'Notify'
    ELSE 'Sync' END END,
  '{\"user_id\":' || i || ',\"note\":\"seeded for the dashboard benchmark\"}',
  0, CASE WHEN i <= $3 THEN 1 ELSE 0 END, $6 + i * 1000,
  CASE WHEN i <= $3 AND NOT (i % $4 = 0 AND i / $4 <= $5) THEN $6 + i * 1000 + 500 END,
  $6 + i * 1000, $6 + i * 1000
FROM generate_series(1::int8, $2::int8) AS i";
const FAILED: &str = "INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
SELECT id, json_build_object('exception_class', CASE id % 3 WHEN 0 THEN 'Timeout'
    WHEN 1 THEN 'NoMethodError' ELSE 'Net::ReadTimeout' END,
  'message', 'failed while seeding job ' || id,
  'backtrace', json_build_array('app/jobs/seeded.rb:12', 'lib/worker.rb:40'))::text,
  created_at + 500
FROM solid_queue_jobs WHERE id > $1 AND id <= $1::int8 + $2::int8 AND finished_at IS NULL";
const ATTEMPTS: &str = "INSERT INTO trifecta_job_attempts (job_id, attempt, error, created_at)
SELECT job_id, 1, error, created_at FROM solid_queue_failed_executions WHERE job_id > $1";
const READY: &str =
    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
SELECT id, queue_name, priority, created_at FROM solid_queue_jobs WHERE id > $1::int8 + $2::int8";
const BASE: &str = "SELECT coalesce(max(id), 0) FROM solid_queue_jobs";
const SEQUENCE: &str = "SELECT setval(pg_get_serial_sequence('solid_queue_jobs', 'id'),
  (SELECT coalesce(max(id), 0) + 1 FROM solid_queue_jobs), false)";

/// Writes the jobs of `seed`.
pub(in super::super) async fn seed(pg: &Pg, seed: &BenchSeed) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let base: i64 = tx.one(BASE, &[]).await?.get(0);
    let done = n(seed.finished.saturating_add(seed.failed));
    let total = done.saturating_add(n(seed.ready));
    let failed = n(seed.failed);
    let stride = if failed == 0 {
        i64::MAX
    } else {
        (done / failed).max(1)
    };
    tx.exec(
        JOBS,
        &[&base, &total, &done, &stride, &failed, &seed.start.0],
    )
    .await?;
    tx.exec(FAILED, &[&base, &done]).await?;
    tx.exec(ATTEMPTS, &[&base]).await?;
    tx.exec(READY, &[&base, &done]).await?;
    tx.one(SEQUENCE, &[]).await?;
    tx.commit().await?;
    Ok(())
}
