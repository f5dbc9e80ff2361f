//! The board's versions: what a page shows at which version, and what changed since the
//! last broadcast, so a broadcast carries the changes and not the whole list.
//!
//! Every change to a todo takes the next board version in its own transaction
//! (`todo_board.version`); a todo keeps the version of its last change, and a deleted one a
//! tombstone. A [`TodoBatch`] is every todo (or tombstone) with a version above
//! `broadcast_version`: the latest state of each, so applying a batch twice, or batches that
//! overlap, gives the same list. A client holding version `v` applies a batch when
//! `since <= v < version`, ignores one with `version <= v`, and reloads the list when
//! `since > v` (it missed one). A batch that would be larger than [`MAX_BATCH`] is sent
//! without changes and with `since == version`, which every client treats as a gap.

use serde::{Deserialize, Serialize};

use super::App;
use super::error::Result;
use super::todos::{TodoProps, to_props};

/// Todos a page shows by default (newest first).
pub const DEFAULT_LIMIT: usize = 200;
/// Most todos a page may ask for.
pub const MAX_LIMIT: usize = 5_000;
/// Most changes one broadcast carries; past it, clients reload the list instead.
pub const MAX_BATCH: usize = 500;

/// How many todos there are and how many are done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoCounts {
    /// Every todo.
    pub total: i64,
    /// Those done.
    pub done: i64,
}

/// The newest todos at one board version, as a page or a new subscriber gets them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoPage {
    /// Newest first, at most `limit`.
    pub todos: Vec<TodoProps>,
    /// The board version this list is at.
    pub version: i64,
    /// Counts over the whole board.
    pub counts: TodoCounts,
    /// The window size the list was read with.
    pub limit: usize,
}

/// One changed todo in a batch: its latest state, or that it is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TodoDelta {
    /// Added or changed.
    Upsert {
        /// Its public id.
        id: String,
        /// Its latest state.
        todo: TodoProps,
    },
    /// Deleted.
    Deleted {
        /// Its public id.
        id: String,
        /// Always `true`.
        deleted: bool,
    },
}

/// What changed on the board between two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoBatch {
    /// The version after these changes.
    pub version: i64,
    /// The version these changes start from.
    pub since: i64,
    /// Every todo changed in between, in version order.
    pub changes: Vec<TodoDelta>,
    /// Counts at `version`.
    pub counts: TodoCounts,
}

impl App {
    /// The board's current version.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todo_version(&self) -> Result<i64> {
        Ok(self.store.board().await?.version)
    }

    /// The newest `limit` todos (capped at [`MAX_LIMIT`]), with the version and counts
    /// they are at, read in one snapshot.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todo_page(&self, limit: usize) -> Result<TodoPage> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let (board, todos) = self.store.page(limit).await?;
        Ok(TodoPage {
            todos: todos.iter().map(|t| to_props(&self.ids, t)).collect(),
            version: board.version,
            counts: board.counts,
            limit,
        })
    }

    /// What changed since the last broadcast, or `None` when nothing did.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todo_batch(&self) -> Result<Option<TodoBatch>> {
        let Some(pending) = self.store.pending(MAX_BATCH).await? else {
            return Ok(None);
        };
        let board = pending.board;
        Ok(Some(match pending.changes {
            Some(latest) => TodoBatch {
                version: board.version,
                since: pending.since,
                changes: latest
                    .into_iter()
                    .map(|(id, todo)| match todo {
                        Some(t) => TodoDelta::Upsert {
                            id: self.ids.encode(id),
                            todo: to_props(&self.ids, &t),
                        },
                        None => TodoDelta::Deleted {
                            id: self.ids.encode(id),
                            deleted: true,
                        },
                    })
                    .collect(),
                counts: board.counts,
            },
            // Too many to send: every client reloads.
            None => TodoBatch {
                version: board.version,
                since: board.version,
                changes: Vec::new(),
                counts: board.counts,
            },
        }))
    }

    /// Records that a batch up to `version` was broadcast, and drops the tombstones it
    /// covered.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todo_batch_sent(&self, version: i64) -> Result<()> {
        self.store.mark_sent(version).await
    }
}
