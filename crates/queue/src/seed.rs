//! Seeding a queue store with many jobs for benchmarks of the dashboard queries (not for
//! production use): finished, failed and ready jobs of a few queues and classes, written
//! in one transaction by the store's own SQL.

use trifecta_store::Timestamp;

use super::Queue;
use super::error::Result;

/// What [`Queue::seed_for_bench`] writes. Jobs are 1 ms apart from `start` on, failed
/// ones spread among the finished ones, ready ones last (the newest). Queues: `default`,
/// `mailers`, `low`, `critical` in turn; classes: `SendMail`, `Reindex`, `Charge`,
/// `Thumbnail`, `Cleanup`, `Notify`, `Sync`, and `RareJob` for one job in 1,000. Failed
/// jobs fail with `Timeout`, `NoMethodError` or `Net::ReadTimeout`, each with a one-attempt
/// history.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct BenchSeed {
    /// Finished jobs.
    pub finished: u64,
    /// Failed jobs.
    pub failed: u64,
    /// Ready jobs.
    pub ready: u64,
    /// Enqueue time of the first job.
    pub start: Timestamp,
}

impl Queue {
    /// Writes the jobs of `seed` in one transaction. For benchmarks only.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub async fn seed_for_bench(&self, seed: BenchSeed) -> Result<()> {
        self.store().seed(seed).await
    }
}
