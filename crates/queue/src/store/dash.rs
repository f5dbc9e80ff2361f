//! The store's operations for a dashboard, on whichever backend: search and counts
//! (`scan`), a job's detail, and the batches of bulk actions. Reads run on a pooled
//! connection (SQLite `Db::call`); each batch of a bulk action is one transaction.

use trifecta_store::{Backend, Timestamp};

use super::scan::{Hit, Key, Window};
use super::{Store, postgres, sqlite};
use crate::detail::JobDetail;
use crate::error::Result;
use crate::job::JobState;

impl Store {
    /// The first `n` jobs of `w`, walking at most `budget` rows where `w` needs a budget;
    /// with the key where that budget ended the walk.
    pub(crate) async fn search(
        &self,
        w: Window,
        budget: usize,
        n: usize,
    ) -> Result<(Vec<Hit>, Option<Key>)> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.call(move |c| sqlite::search::search(c, w, budget, n))
                    .await
            }
            Backend::Postgres(pg) => postgres::search::search(pg, w, budget, n).await,
        }
    }

    /// Per window: its jobs counted up to `n` (at most `budget` rows walked where it needs
    /// a budget), and whether the budget ended the walk.
    pub(crate) async fn counts(
        &self,
        windows: Vec<Window>,
        budget: usize,
        n: usize,
    ) -> Result<Vec<(u64, bool)>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.call(move |c| sqlite::search::counts(c, windows, budget, n))
                    .await
            }
            Backend::Postgres(pg) => postgres::search::counts(pg, windows, budget, n).await,
        }
    }

    /// Job `id` with its times, process and failed attempts.
    pub(crate) async fn detail(&self, id: i64) -> Result<Option<JobDetail>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(move |c| sqlite::detail::detail(c, id)).await,
            Backend::Postgres(pg) => postgres::detail::detail(pg, id).await,
        }
    }

    /// Retries those of the failed jobs `ids` that are still failed; returns them.
    pub(crate) async fn retry_ids(&self, ids: Vec<i64>, now: Timestamp) -> Result<Vec<i64>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::bulk::retry_ids(tx, &ids, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::bulk::retry_ids(pg, &ids, now)).await
            }
        }
    }

    /// Discards those of jobs `ids` still in `state`; returns them, and whether a freed
    /// concurrency slot made a blocked job ready.
    pub(crate) async fn discard_ids(
        &self,
        state: JobState,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> Result<(Vec<i64>, bool)> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::bulk::discard_ids(tx, state, &ids, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::bulk::discard_ids(pg, state, &ids, now)).await
            }
        }
    }

    /// Makes scheduled or blocked job `id` ready now; true when it became ready.
    pub(crate) async fn run_now(&self, id: i64, now: Timestamp) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::bulk::run_now(tx, id, now)).await,
            Backend::Postgres(pg) => postgres::retry(|| postgres::bulk::run_now(pg, id, now)).await,
        }
    }

    /// Fills an empty store with jobs for a benchmark (see [`crate::BenchSeed`]).
    pub(crate) async fn seed(&self, seed: crate::BenchSeed) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::seed::seed(tx, &seed)).await,
            Backend::Postgres(pg) => postgres::seed::seed(pg, &seed).await,
        }
    }
}
