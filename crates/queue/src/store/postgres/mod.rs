//! The queue's SQL on PostgreSQL, one file per operation. Every operation takes a pooled
//! connection for one transaction ([`Tx`]) and gives it back when it ends.
//!
//! Where SQLite has one writer at a time, here servers write side by side, so each rule
//! that SQLite's lock gave for free is kept with row locks:
//!
//! - claims lock the ready rows they take with `FOR UPDATE SKIP LOCKED`: two servers
//!   claiming at once take different jobs and neither waits for the other;
//! - a concurrency slot is taken or given back only with its semaphore row locked
//!   (`FOR UPDATE`, created with `ON CONFLICT DO NOTHING`), so two servers never both take
//!   the last slot, and a job blocked by one server is seen by the server freeing the slot;
//! - a recurring run is recorded with `ON CONFLICT (task_key, run_at) DO NOTHING` in the
//!   enqueue's transaction, which is rolled back when another scheduler got there first;
//! - recovery deletes the claims of a dead process with `DELETE ... RETURNING`, so two
//!   servers pruning at once recover each job once.
//!
//! Each commit that leaves jobs ready sends `NOTIFY` on [`NOTIFY_CHANNEL`] (delivered at
//! commit), a wake-up for the other servers' workers; their poll stays the guarantee.
//! Deadlocks between transactions that lock several semaphore rows are retried ([`retry`]).

pub(super) mod admin;
pub(super) mod claim;
mod dispatch;
pub(super) mod enqueue;
pub(super) mod finish;
pub(super) mod process;
pub(super) mod recurring;
pub(super) mod schedule;
pub(super) mod semaphore;

use std::future::Future;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use trifecta_store::Pg;
use trifecta_store::pg::{Connection, Transaction};

use crate::error::{Error, Result};

/// The `LISTEN` channel every commit that makes jobs ready notifies.
pub(crate) const NOTIFY_CHANNEL: &str = "trifecta_queue";

/// Attempts of an operation that PostgreSQL aborted to break a deadlock.
const ATTEMPTS: usize = 3;

/// Statement parameters.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// One transaction of one operation, with its statements prepared once per connection.
pub(super) struct Tx<'c> {
    tx: Transaction<'c>,
    pg: &'c Pg,
    /// This transaction made jobs ready: notify at commit.
    wake: bool,
}

impl<'c> Tx<'c> {
    /// Begins a transaction on `conn`.
    pub(super) async fn begin(pg: &'c Pg, conn: &'c mut Connection) -> Result<Self> {
        let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
        Ok(Self {
            tx,
            pg,
            wake: false,
        })
    }

    fn err(&self, e: tokio_postgres::Error) -> Error {
        Error::Store(self.pg.error(e))
    }

    /// Every row `sql` returns.
    pub(super) async fn rows(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(|e| self.err(e))?;
        self.tx.query(&stmt, params).await.map_err(|e| self.err(e))
    }

    /// The row `sql` returns, if any.
    pub(super) async fn opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(|e| self.err(e))?;
        self.tx
            .query_opt(&stmt, params)
            .await
            .map_err(|e| self.err(e))
    }

    /// The one row `sql` returns.
    pub(super) async fn one(&self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(|e| self.err(e))?;
        self.tx
            .query_one(&stmt, params)
            .await
            .map_err(|e| self.err(e))
    }

    /// Runs `sql`; returns how many rows it changed.
    pub(super) async fn exec(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(|e| self.err(e))?;
        self.tx
            .execute(&stmt, params)
            .await
            .map_err(|e| self.err(e))
    }

    /// Runs `sql` (no parameters, several statements allowed).
    pub(super) async fn batch(&self, sql: &str) -> Result<()> {
        self.tx.batch_execute(sql).await.map_err(|e| self.err(e))
    }

    /// Marks that this transaction made jobs ready: the commit notifies.
    pub(super) fn made_ready(&mut self) {
        self.wake = true;
    }

    /// Sets whether the commit notifies.
    pub(super) fn set_made_ready(&mut self, wake: bool) {
        self.wake = wake;
    }

    /// Notifies when jobs were made ready, then commits.
    pub(super) async fn commit(self) -> Result<()> {
        const NOTIFY: &str = "SELECT pg_notify($1, '')";
        if self.wake {
            self.exec(NOTIFY, &[&NOTIFY_CHANNEL]).await?;
        }
        let pg = self.pg;
        self.tx
            .commit()
            .await
            .map_err(|e| Error::Store(pg.error(e)))
    }
}

/// Runs `op` again (a new transaction) when PostgreSQL aborted it to break a deadlock or a
/// serialization failure, at most [`ATTEMPTS`] times.
pub(super) async fn retry<T, F, Fut>(op: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tracing::debug!(cause = %e, attempt, "queue transaction aborted; retrying");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether `e` is a deadlock or serialization failure, which a new attempt may not meet.
fn transient(e: &Error) -> bool {
    let Error::Store(trifecta_store::Error::Postgres { cause, .. }) = e else {
        return false;
    };
    cause
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|c| {
            *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        })
}

/// `n` as a SQL `LIMIT`.
pub(super) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Rows changed, as a count.
pub(super) fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
