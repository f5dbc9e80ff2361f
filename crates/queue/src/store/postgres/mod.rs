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
//! Each commit that leaves jobs ready is followed by a `NOTIFY` on [`NOTIFY_CHANNEL`] of its
//! own on the same connection (not inside the durable transaction, see [`Tx::commit`]), a
//! wake-up for the other servers' workers; their poll stays the guarantee.
//! Deadlocks between transactions that lock several semaphore rows are retried ([`retry`]).

pub(super) mod admin;
pub(super) mod bulk;
pub(super) mod claim;
mod claiming;
pub(super) mod detail;
mod dispatch;
pub(super) mod enqueue;
pub(super) mod finish;
pub(super) mod group;
pub(super) mod minutes;
pub(super) mod process;
pub(super) mod recurring;
pub(super) mod schedule;
pub(super) mod search;
pub(super) mod seed;
pub(super) mod semaphore;
pub(super) mod views;

use std::future::Future;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use trifecta_store::Pg;
use trifecta_store::pg::Connection;
#[cfg(doc)]
use trifecta_store::pg::Transaction;

use crate::error::{Error, Result};

/// The `LISTEN` channel every commit that makes jobs ready notifies.
pub(crate) const NOTIFY_CHANNEL: &str = "trifecta_queue";

/// Attempts of an operation that PostgreSQL aborted to break a deadlock.
const ATTEMPTS: usize = 3;

/// Statement parameters.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// One transaction of one operation, with its statements prepared once per connection.
///
/// `BEGIN` and `COMMIT` are sent by hand (not with [`Transaction`]) so that the commit's
/// `NOTIFY` can follow it on the same connection in the same round trip: see
/// [`Tx::commit`]. Dropped without a commit (an error, or the caller's future dropped), it
/// sends `ROLLBACK` ahead of anything the next user of the connection sends.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
    pg: &'c Pg,
    /// This transaction made jobs ready: notify after the commit.
    wake: bool,
    /// Committed, or its end already sent.
    done: bool,
}

/// The wake-up the other servers' workers `LISTEN` for, a statement of its own.
pub(super) const NOTIFY: &str = "SELECT pg_notify('trifecta_queue', '')";

impl<'c> Tx<'c> {
    /// Begins a transaction on `conn`.
    pub(super) async fn begin(pg: &'c Pg, conn: &'c mut Connection) -> Result<Self> {
        let conn: &'c Connection = conn;
        conn.batch_execute("BEGIN").await.map_err(|e| pg.error(e))?;
        Ok(Self {
            conn,
            pg,
            wake: false,
            done: false,
        })
    }

    /// Awaits `request`, its driver error wrapped as this store's.
    async fn run<T>(
        &self,
        request: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        request.await.map_err(|e| self.err(e))
    }

    fn err(&self, e: tokio_postgres::Error) -> Error {
        Error::Store(self.pg.error(e))
    }

    /// `sql` prepared once per connection.
    async fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        self.conn.prepare_cached(sql).await.map_err(|e| self.err(e))
    }

    /// Every row `sql` returns.
    pub(super) async fn rows(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.prepare(sql).await?;
        self.run(self.conn.query(&stmt, params)).await
    }

    /// Every row `sql` returns, its parameters of `types` (so a statement may leave some
    /// of them unused).
    pub(super) async fn rows_typed(
        &self,
        sql: &str,
        types: &[tokio_postgres::types::Type],
        params: &Params<'_>,
    ) -> Result<Vec<Row>> {
        let stmt = self
            .conn
            .prepare_typed_cached(sql, types)
            .await
            .map_err(|e| self.err(e))?;
        self.run(self.conn.query(&stmt, params)).await
    }

    /// The row `sql` returns, if any.
    pub(super) async fn opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let stmt = self.prepare(sql).await?;
        self.run(self.conn.query_opt(&stmt, params)).await
    }

    /// The one row `sql` returns.
    pub(super) async fn one(&self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let stmt = self.prepare(sql).await?;
        self.run(self.conn.query_one(&stmt, params)).await
    }

    /// Runs `sql`; returns how many rows it changed.
    pub(super) async fn exec(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let stmt = self.prepare(sql).await?;
        self.run(self.conn.execute(&stmt, params)).await
    }

    /// Runs `sql` (no parameters, several statements allowed).
    pub(super) async fn batch(&self, sql: &str) -> Result<()> {
        self.run(self.conn.batch_execute(sql)).await
    }

    /// Marks that this transaction made jobs ready: the commit notifies.
    pub(super) fn made_ready(&mut self) {
        self.wake = true;
    }

    /// Sets whether the commit notifies.
    pub(super) fn set_made_ready(&mut self, wake: bool) {
        self.wake = wake;
    }

    /// Commits, then notifies when jobs were made ready.
    ///
    /// The `NOTIFY` is not part of the transaction: a transaction that notifies holds
    /// PostgreSQL's global notify lock from its pre-commit until its commit record is
    /// flushed, so concurrent commits that notify cannot share a WAL flush. Sent after
    /// `COMMIT` (pipelined: the server runs it once the commit is durable, and its own
    /// transaction has nothing to flush), the lock is held only briefly. The commit's result
    /// is this call's; the wake-up is a hint (a failed one is logged, and a crash between
    /// the two is covered by the workers' poll).
    pub(super) async fn commit(mut self) -> Result<()> {
        self.done = true;
        if self.wake {
            // `join!` polls the commit first: `COMMIT` is on the wire before the `NOTIFY`.
            let (committed, notified) = tokio::join!(
                self.run(self.conn.batch_execute("COMMIT")),
                self.conn.batch_execute(NOTIFY)
            );
            committed?;
            if let Err(e) = notified {
                tracing::debug!(cause = %e, "NOTIFY after commit failed; the poll will find the jobs");
            }
            Ok(())
        } else {
            self.run(self.conn.batch_execute("COMMIT")).await
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // As `Transaction`'s drop does: queue `ROLLBACK` on the connection without waiting
        // for its answer. Its first poll encodes and sends it; the answer is dropped.
        let rollback = self.conn.batch_execute("ROLLBACK");
        let mut rollback = std::pin::pin!(rollback);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = rollback.as_mut().poll(&mut cx);
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
    let Error::Store(e) = e else {
        return false;
    };
    e.sql_state().is_some_and(|c| {
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
