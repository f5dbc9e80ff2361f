//! The `todos` table and the board version every change takes, and the tombstones deleted
//! todos leave.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::app::error::Result;
use crate::app::todos::Todo;
use crate::store::Timestamp;

/// The start of every read of todos; [`todo_row`] maps its columns.
macro_rules! select {
    () => {
        "SELECT id, title, completed, created_at, updated_at, version FROM todos"
    };
}
pub(super) use select;

/// The todo in a row of `select!()`.
pub(super) fn todo_row(r: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: r.get(0)?,
        title: r.get(1)?,
        completed: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        version: r.get(5)?,
    })
}

/// Takes the next board version; part of every change's transaction.
const NEXT_VERSION: &str =
    "UPDATE todo_board SET version = version + 1 WHERE id = 1 RETURNING version";

/// Takes the next board version (rolled back with the caller's transaction).
pub(in crate::app) fn next_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(NEXT_VERSION)?
        .query_row([], |r| r.get(0))?)
}

const ALL: &str = concat!(select!(), " ORDER BY created_at DESC, id DESC");

/// Every todo, newest first.
pub(in crate::app) fn all(conn: &Connection) -> Result<Vec<Todo>> {
    let mut stmt = conn.prepare_cached(ALL)?;
    let rows = stmt.query_map([], todo_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One todo by id.
pub(super) const BY_ID: &str = concat!(select!(), " WHERE id = ?1");

/// The todo with id `id`, if any.
pub(in crate::app) fn find(conn: &Connection, id: i64) -> Result<Option<Todo>> {
    Ok(conn.query_row(BY_ID, [id], todo_row).optional()?)
}

const INSERT: &str = "INSERT INTO todos (title, completed, created_at, updated_at, version)
                     VALUES (:title, 0, :now, :now, :version)";

/// Inserts an open todo at board `version`; returns it.
pub(in crate::app) fn insert(
    conn: &Connection,
    title: String,
    now: Timestamp,
    version: i64,
) -> Result<Todo> {
    conn.execute(
        INSERT,
        named_params! {":title": title, ":now": now, ":version": version},
    )?;
    Ok(Todo {
        id: conn.last_insert_rowid(),
        title,
        completed: false,
        created_at: now,
        updated_at: now,
        version,
    })
}

const UPDATE: &str =
    "UPDATE todos SET title = coalesce(:title, title), completed = coalesce(:completed, completed),
                     updated_at = :now, version = :version WHERE id = :id";

/// Sets the given fields of todo `id` at board `version`; whether it existed.
pub(in crate::app) fn update(
    conn: &Connection,
    id: i64,
    title: Option<&str>,
    completed: Option<bool>,
    now: Timestamp,
    version: i64,
) -> Result<bool> {
    let changed = conn.execute(
        UPDATE,
        named_params! {":title": title, ":completed": completed, ":now": now,
        ":version": version, ":id": id},
    )?;
    Ok(changed != 0)
}

const DELETE: &str = "DELETE FROM todos WHERE id = ?1";
const TOMBSTONE: &str = "INSERT OR REPLACE INTO todo_tombstones (id, version) VALUES (?1, ?2)";

/// Deletes todo `id` and leaves its tombstone at board `version`.
pub(in crate::app) fn delete(conn: &Connection, id: i64, version: i64) -> Result<()> {
    conn.execute(DELETE, [id])?;
    conn.execute(TOMBSTONE, [id, version])?;
    Ok(())
}
