//! The board's transactions: todos changed with the next board version, the page and the
//! pending batch read in one snapshot, a broadcast recorded.

use trifecta_store::{Backend, Timestamp};

use super::super::error::Result;
use super::super::todos::Todo;
use super::{Board, Pending, Store, found, postgres, sqlite};

impl Store {
    /// Every todo, newest first.
    pub(in crate::app) async fn todos(&self) -> Result<Vec<Todo>> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::todos::all(conn)).await,
            Backend::Postgres(pg) => postgres::todos::all(pg).await,
        }
    }

    /// Inserts an open todo at the next board version.
    pub(in crate::app) async fn create_todo(&self, title: String, now: Timestamp) -> Result<Todo> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Todo> {
                    let version = sqlite::todos::next_version(tx)?;
                    sqlite::todos::insert(tx, title, now, version)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::todos::create(pg, &title, now).await,
        }
    }

    /// Sets the given fields of todo `id` at the next board version; `NotFound` (and no
    /// version taken) when there is no such todo.
    pub(in crate::app) async fn update_todo(
        &self,
        id: i64,
        title: Option<String>,
        completed: Option<bool>,
        now: Timestamp,
    ) -> Result<Todo> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Todo> {
                    let version = sqlite::todos::next_version(tx)?;
                    if !sqlite::todos::update(tx, id, title.as_deref(), completed, now, version)? {
                        // Failing the transaction gives the version back too.
                        return found(None);
                    }
                    found(sqlite::todos::find(tx, id)?)
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::todos::update(pg, id, title.as_deref(), completed, now).await
            }
        }
    }

    /// Deletes todo `id`, leaving its tombstone at the next board version; returns it as it
    /// was. `NotFound` when there is no such todo.
    pub(in crate::app) async fn delete_todo(&self, id: i64) -> Result<Todo> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Todo> {
                    let todo = found(sqlite::todos::find(tx, id)?)?;
                    let version = sqlite::todos::next_version(tx)?;
                    sqlite::todos::delete(tx, id, version)?;
                    Ok(todo)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::todos::delete(pg, id).await,
        }
    }

    /// The board's row.
    pub(in crate::app) async fn board(&self) -> Result<Board> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::versions::board(conn)).await,
            Backend::Postgres(pg) => postgres::todos::board(pg).await,
        }
    }

    /// The board and its newest `limit` todos, newest first, in one snapshot.
    pub(in crate::app) async fn page(&self, limit: usize) -> Result<(Board, Vec<Todo>)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| -> Result<(Board, Vec<Todo>)> {
                    let tx = conn.transaction()?;
                    let board = sqlite::versions::board(&tx)?;
                    Ok((board, sqlite::versions::newest(&tx, limit)?))
                })
                .await
            }
            Backend::Postgres(pg) => postgres::todos::page(pg, limit).await,
        }
    }

    /// What changed since the last broadcast, in one snapshot: `None` when nothing did, and
    /// no changes listed when more than `limit` did.
    pub(in crate::app) async fn pending(&self, limit: usize) -> Result<Option<Pending>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| -> Result<Option<Pending>> {
                    let tx = conn.transaction()?;
                    let board = sqlite::versions::board(&tx)?;
                    let Some(since) = board.unsent_since() else {
                        return Ok(None);
                    };
                    let changed = sqlite::versions::changed_since(&tx, since, limit + 1)?;
                    let changes = if changed.len() > limit {
                        None
                    } else {
                        Some(sqlite::versions::latest(&tx, changed)?)
                    };
                    Ok(Some(Pending {
                        board,
                        since,
                        changes,
                    }))
                })
                .await
            }
            Backend::Postgres(pg) => postgres::todos::pending(pg, limit).await,
        }
    }

    /// Records that a broadcast reached `version` and drops the tombstones it covered.
    pub(in crate::app) async fn mark_sent(&self, version: i64) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::versions::mark_sent(tx, version))
                    .await
            }
            Backend::Postgres(pg) => postgres::todos::mark_sent(pg, version).await,
        }
    }
}
