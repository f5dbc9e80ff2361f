//! Todos, the board's versions and the tombstones of deleted todos on PostgreSQL.
//!
//! Every change first takes the next version with [`NEXT_VERSION`]: the `UPDATE` locks the
//! board's row until the transaction ends, so changes on every server take versions one at
//! a time and commit in version order (a batch read of `version > n` never steps over one
//! still in flight), and a rolled-back change gives its version back.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trifecta_store::{Pg, Timestamp};

use super::super::super::error::Result;
use super::super::super::todo_versions::TodoCounts;
use super::super::super::todos::Todo;
use super::super::{Board, Pending, found};
use super::{begin, commit, exec, one, row, rows, snapshot};

/// The start of every read of todos; [`todo_row`] maps its columns.
macro_rules! select {
    () => {
        "SELECT id, title, completed, created_at, updated_at, version FROM todos"
    };
}

/// The columns of `select!()`, for `RETURNING`.
macro_rules! columns {
    () => {
        "id, title, completed, created_at, updated_at, version"
    };
}

fn todo_row(r: &Row) -> Todo {
    Todo {
        id: r.get(0),
        title: r.get(1),
        completed: r.get(2),
        created_at: Timestamp(r.get(3)),
        updated_at: Timestamp(r.get(4)),
        version: r.get(5),
    }
}

const NEXT_VERSION: &str =
    "UPDATE todo_board SET version = version + 1 WHERE id = 1 RETURNING version";

/// Takes the next board version, locking the board's row until the transaction ends.
async fn next_version(pg: &Pg, tx: &impl GenericClient) -> Result<i64> {
    Ok(one(pg, tx, NEXT_VERSION, &[]).await?.get(0))
}

const ALL: &str = concat!(select!(), " ORDER BY created_at DESC, id DESC");

/// Every todo, newest first.
pub(in crate::app) async fn all(pg: &Pg) -> Result<Vec<Todo>> {
    let conn = pg.get().await?;
    Ok(rows(pg, &conn, ALL, &[])
        .await?
        .iter()
        .map(todo_row)
        .collect())
}

const INSERT: &str = concat!(
    "INSERT INTO todos (title, completed, created_at, updated_at, version)
     VALUES ($1, FALSE, $2, $2, $3) RETURNING ",
    columns!()
);

/// Inserts an open todo at the next version.
pub(in crate::app) async fn create(pg: &Pg, title: &str, now: Timestamp) -> Result<Todo> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let version = next_version(pg, &tx).await?;
    let todo = todo_row(&one(pg, &tx, INSERT, &[&title, &now.0, &version]).await?);
    commit(pg, tx).await?;
    Ok(todo)
}

const UPDATE: &str = concat!(
    "UPDATE todos SET title = coalesce($1, title), completed = coalesce($2, completed),
     updated_at = $3, version = $4 WHERE id = $5 RETURNING ",
    columns!()
);

/// Sets the given fields of todo `id` at the next version; `NotFound` (the version given
/// back) when there is none.
pub(in crate::app) async fn update(
    pg: &Pg,
    id: i64,
    title: Option<&str>,
    completed: Option<bool>,
    now: Timestamp,
) -> Result<Todo> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let version = next_version(pg, &tx).await?;
    let changed = row(
        pg,
        &tx,
        UPDATE,
        &[&title, &completed, &now.0, &version, &id],
    )
    .await?;
    // Without a row, dropping the transaction rolls the version back.
    let todo = todo_row(&found(changed)?);
    commit(pg, tx).await?;
    Ok(todo)
}

const DELETE: &str = concat!("DELETE FROM todos WHERE id = $1 RETURNING ", columns!());
const TOMBSTONE: &str = "INSERT INTO todo_tombstones (id, version) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version";

/// Deletes todo `id` and leaves its tombstone at the next version; returns it as it was.
pub(in crate::app) async fn delete(pg: &Pg, id: i64) -> Result<Todo> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let version = next_version(pg, &tx).await?;
    let todo = todo_row(&found(row(pg, &tx, DELETE, &[&id]).await?)?);
    exec(pg, &tx, TOMBSTONE, &[&id, &version]).await?;
    commit(pg, tx).await?;
    Ok(todo)
}

const BOARD: &str = "SELECT version, broadcast_version, total, done FROM todo_board WHERE id = 1";

async fn read_board(pg: &Pg, c: &impl GenericClient) -> Result<Board> {
    let r = one(pg, c, BOARD, &[]).await?;
    Ok(Board {
        version: r.get(0),
        broadcast_version: r.get(1),
        counts: TodoCounts {
            total: r.get(2),
            done: r.get(3),
        },
    })
}

/// The board's row.
pub(in crate::app) async fn board(pg: &Pg) -> Result<Board> {
    let conn = pg.get().await?;
    read_board(pg, &conn).await
}

const NEWEST: &str = concat!(select!(), " ORDER BY created_at DESC, id DESC LIMIT $1");

/// The board and its newest `limit` todos in one snapshot.
pub(in crate::app) async fn page(pg: &Pg, limit: usize) -> Result<(Board, Vec<Todo>)> {
    let mut conn = pg.get().await?;
    let tx = snapshot(pg, &mut conn).await?;
    let board = read_board(pg, &tx).await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let todos = rows(pg, &tx, NEWEST, &[&limit]).await?;
    commit(pg, tx).await?;
    Ok((board, todos.iter().map(todo_row).collect()))
}

const CHANGED_SINCE: &str = "SELECT id, version, FALSE FROM todos WHERE version > $1
 UNION ALL SELECT id, version, TRUE FROM todo_tombstones WHERE version > $1
 ORDER BY 2 LIMIT $2";
const BY_IDS: &str = concat!(select!(), " WHERE id = ANY($1)");

/// What changed since the last broadcast, in one snapshot (see [`Pending`]).
pub(in crate::app) async fn pending(pg: &Pg, limit: usize) -> Result<Option<Pending>> {
    let mut conn = pg.get().await?;
    let tx = snapshot(pg, &mut conn).await?;
    let board = read_board(pg, &tx).await?;
    let Some(since) = board.unsent_since() else {
        return Ok(None);
    };
    let most = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let changed: Vec<(i64, bool)> = rows(pg, &tx, CHANGED_SINCE, &[&since, &most])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(2)))
        .collect();
    let changes = if changed.len() > limit {
        None
    } else {
        let ids: Vec<i64> = changed.iter().filter(|c| !c.1).map(|c| c.0).collect();
        let mut todos: HashMap<i64, Todo> = rows(pg, &tx, BY_IDS, &[&ids])
            .await?
            .iter()
            .map(|r| {
                let t = todo_row(r);
                (t.id, t)
            })
            .collect();
        Some(
            changed
                .into_iter()
                .map(|(id, deleted)| (id, if deleted { None } else { todos.remove(&id) }))
                .collect(),
        )
    };
    commit(pg, tx).await?;
    Ok(Some(Pending {
        board,
        since,
        changes,
    }))
}

const MARK_SENT: &str = "UPDATE todo_board
    SET broadcast_version = greatest(broadcast_version, $1) WHERE id = 1";
const PRUNE_TOMBSTONES: &str = "DELETE FROM todo_tombstones WHERE version <= $1";

/// Records that a broadcast reached `version` and drops the tombstones it covered.
pub(in crate::app) async fn mark_sent(pg: &Pg, version: i64) -> Result<()> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    exec(pg, &tx, MARK_SENT, &[&version]).await?;
    exec(pg, &tx, PRUNE_TOMBSTONES, &[&version]).await?;
    commit(pg, tx).await
}
