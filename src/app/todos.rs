//! Todos: the board every signed-in user shares, live in every tab. Titles are trimmed,
//! required and at most 500 characters; the list is newest first.
//!
//! Every change takes the next board version in its own transaction (see
//! [`super::todo_versions`]); a deleted todo leaves a tombstone until it was broadcast.

use serde::Serialize;

use super::error::{Error, Result};
use super::{App, Ids};
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
    /// The board version of its last change.
    pub version: i64,
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

/// `t` as it leaves the server.
pub(super) fn to_props(ids: &Ids, t: &Todo) -> TodoProps {
    TodoProps {
        id: ids.encode(t.id),
        title: t.title.clone(),
        completed: t.completed,
        created_at: t.created_at.to_rfc3339(),
    }
}

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
        self.store.todos().await
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
        to_props(&self.ids, t)
    }

    /// Adds a todo.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `title`.
    pub async fn create_todo(&self, title: &str) -> Result<Todo> {
        let title = validate_title(title)?;
        self.store.create_todo(title, self.clock.now()).await
    }

    /// Changes a todo.
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::Invalid`] on `title`.
    pub async fn update_todo(&self, id: i64, change: TodoChange) -> Result<Todo> {
        let title = change.title.as_deref().map(validate_title).transpose()?;
        self.store
            .update_todo(id, title, change.completed, self.clock.now())
            .await
    }

    /// Deletes a todo.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_todo(&self, id: i64) -> Result<Todo> {
        self.store.delete_todo(id).await
    }
}
