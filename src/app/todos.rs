//! Todos: the shared board of the seed's "Real-Time Updates" design. Titles are trimmed,
//! required and at most 500 characters; the list is newest first.

use rusqlite::{OptionalExtension, Row, named_params};
use serde::Serialize;

use super::App;
use super::error::{Error, Result};
use crate::store::Timestamp;

/// Longest title accepted, in characters.
pub const MAX_TITLE: usize = 500;

/// A todo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Todo {
    /// Database id.
    pub id: i64,
    /// What to do.
    pub title: String,
    /// Done or not.
    pub completed: bool,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A todo as it leaves the server (props and broadcasts): public id, RFC 3339 time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TodoProps {
    /// Obfuscated id.
    pub id: String,
    /// What to do.
    pub title: String,
    /// Done or not.
    pub completed: bool,
    /// When it was added (RFC 3339).
    pub created_at: String,
}

/// A change to a todo; `None` leaves the field alone.
#[derive(Clone, Debug, Default)]
pub struct TodoChange {
    /// New title.
    pub title: Option<String>,
    /// New completion state.
    pub completed: Option<bool>,
}

fn todo_row(r: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: r.get(0)?,
        title: r.get(1)?,
        completed: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

const SELECT: &str = "SELECT id, title, completed, created_at, updated_at FROM todos";

/// Trims a title and checks it is present and short enough.
///
/// # Errors
/// [`Error::Invalid`] on `title`.
pub fn validate_title(title: &str) -> Result<String> {
    let title = title.trim();
    super::text::reject_control("title", title)?;
    if title.is_empty() {
        return Err(Error::invalid("title", "can't be blank"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(Error::invalid(
            "title",
            format!("is too long (maximum is {MAX_TITLE} characters)"),
        ));
    }
    Ok(title.to_owned())
}

impl App {
    /// Every todo, newest first.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todos(&self) -> Result<Vec<Todo>> {
        self.db
            .call(|conn| -> Result<Vec<Todo>> {
                let mut stmt =
                    conn.prepare_cached(&format!("{SELECT} ORDER BY created_at DESC, id DESC"))?;
                let rows = stmt.query_map([], todo_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    /// The todo list as it leaves the server.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn todo_props(&self) -> Result<Vec<TodoProps>> {
        Ok(self
            .todos()
            .await?
            .iter()
            .map(|t| self.todo_to_props(t))
            .collect())
    }

    /// One todo as it leaves the server.
    pub fn todo_to_props(&self, t: &Todo) -> TodoProps {
        TodoProps {
            id: self.ids.encode(t.id),
            title: t.title.clone(),
            completed: t.completed,
            created_at: t.created_at.to_rfc3339(),
        }
    }

    /// Adds a todo.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `title`.
    pub async fn create_todo(&self, title: &str) -> Result<Todo> {
        let title = validate_title(title)?;
        let now = self.clock.now();
        self.db
            .write(move |tx| -> Result<Todo> {
                tx.execute(
                    "INSERT INTO todos (title, completed, created_at, updated_at) VALUES (:title, 0, :now, :now)",
                    named_params! {":title": title, ":now": now},
                )?;
                Ok(Todo {
                    id: tx.last_insert_rowid(),
                    title,
                    completed: false,
                    created_at: now,
                    updated_at: now,
                })
            })
            .await
    }

    /// Changes a todo.
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::Invalid`] on `title`.
    pub async fn update_todo(&self, id: i64, change: TodoChange) -> Result<Todo> {
        let title = change.title.as_deref().map(validate_title).transpose()?;
        let completed = change.completed;
        let now = self.clock.now();
        self.db
            .write(move |tx| -> Result<Todo> {
                let changed = tx.execute(
                    "UPDATE todos SET title = coalesce(:title, title), completed = coalesce(:completed, completed),
                     updated_at = :now WHERE id = :id",
                    named_params! {":title": title, ":completed": completed, ":now": now, ":id": id},
                )?;
                if changed == 0 {
                    return Err(Error::NotFound);
                }
                Ok(tx.query_row(&format!("{SELECT} WHERE id = ?1"), [id], todo_row)?)
            })
            .await
    }

    /// Deletes a todo.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_todo(&self, id: i64) -> Result<Todo> {
        self.db
            .write(move |tx| -> Result<Todo> {
                let todo = tx
                    .query_row(&format!("{SELECT} WHERE id = ?1"), [id], todo_row)
                    .optional()?
                    .ok_or(Error::NotFound)?;
                tx.execute("DELETE FROM todos WHERE id = ?1", [id])?;
                Ok(todo)
            })
            .await
    }
}
