//! The domain's SQL on PostgreSQL, one file per concern as on SQLite; each statement is a
//! `const` next to the one function that runs it. Every public function here is one
//! transaction (or one statement) on a pooled connection.
//!
//! What differs from SQLite, where writers take turns: two servers may run the same
//! transaction at once. So the board's version is taken by an `UPDATE` of its one row,
//! which keeps it locked until commit (versions are unique, gap-free and commit in order);
//! a second user with a taken email is refused by the unique index (`23505`), mapped to the
//! same error as on SQLite; the first-user rule and the rows a transaction reports (sessions
//! ended, memberships told) are read under a lock, so a concurrent writer cannot slip past.

pub(super) mod accounts;
pub(super) mod members;
pub(super) mod sessions;
pub(super) mod todos;
pub(super) mod users;

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use trifecta_store::Pg;
use trifecta_store::pg::{Connection, Transaction};

use super::super::error::{Error, Result};

/// Statement parameters.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Driver errors turned into the domain's (a store failure, for logs only).
trait OnPg<T> {
    /// This result with its error as a failure of `pg`.
    fn on(self, pg: &Pg) -> Result<T>;
}

impl<T> OnPg<T> for std::result::Result<T, tokio_postgres::Error> {
    fn on(self, pg: &Pg) -> Result<T> {
        self.map_err(|e| Error::Store(pg.error(e)))
    }
}

/// Every row of `sql` (prepared once per connection).
async fn rows(pg: &Pg, c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.on(pg)?;
    c.query(&stmt, params).await.on(pg)
}

/// The row of `sql`, if any.
async fn row(
    pg: &Pg,
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>> {
    let stmt = c.prepare_cached(sql).await.on(pg)?;
    c.query_opt(&stmt, params).await.on(pg)
}

/// The one row of `sql` (a statement that always returns one).
async fn one(pg: &Pg, c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row> {
    let stmt = c.prepare_cached(sql).await.on(pg)?;
    c.query_one(&stmt, params).await.on(pg)
}

/// Runs `sql`; returns how many rows it changed.
async fn exec(pg: &Pg, c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64> {
    let stmt = c.prepare_cached(sql).await.on(pg)?;
    c.execute(&stmt, params).await.on(pg)
}

/// A read-write transaction (`READ COMMITTED`).
async fn begin<'a>(pg: &Pg, conn: &'a mut Connection) -> Result<Transaction<'a>> {
    conn.transaction().await.on(pg)
}

/// A read-only `REPEATABLE READ` transaction: every statement sees one snapshot, as the
/// SQLite arm's read transaction does.
async fn snapshot<'a>(pg: &Pg, conn: &'a mut Connection) -> Result<Transaction<'a>> {
    conn.build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .on(pg)
}

/// Commits `tx`.
async fn commit(pg: &Pg, tx: Transaction<'_>) -> Result<()> {
    tx.commit().await.on(pg)
}

/// The index or constraint a unique violation hit, if `e` is one.
fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        db.constraint()
    } else {
        None
    }
}

/// Whether `e` is a foreign key violation (a row referred to went meanwhile).
fn foreign_key_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}
