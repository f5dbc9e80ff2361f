//! The todo board over HTTP: `GET /todos[?limit=N]` (Inertia page `Todos/Index`, props
//! `todos` (the newest `limit`, default 200, at most 5,000), `todosVersion`, `counts` and
//! `limit`),
//! `POST /todos`, `PATCH /todos/:id`, `DELETE /todos/:id`, each redirecting back to
//! `/todos` the Inertia way. Bodies may be JSON (`{"todo": {"title": ..}}`) or form-encoded
//! (`todo[title]=..`) ([`Input`]). A refused change redirects back with `props.errors`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, patch};
use serde::{Deserialize, Serialize};

use super::answer::{answer, decode};
use super::input::{Input, flag};
use super::{ApiError, AppState};
use crate::app::{self, TodoChange};
use crate::inertia::{Inertia, Props};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/todos") }))
        .route("/todos", get(index).post(create))
        .route("/todos/{id}", patch(update).delete(destroy))
}

/// The body of a change: `{"todo": {..}}` in JSON, `todo[title]=..` in a form.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
pub(super) struct TodoForm {
    #[serde(default)]
    todo: TodoFields,
}

#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
struct TodoFields {
    #[serde(default)]
    title: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    completed: Option<bool>,
}

/// `?limit=N`: how many of the newest todos the page shows.
#[derive(Debug, Default, Deserialize)]
struct Window {
    #[serde(default)]
    limit: Option<usize>,
}

async fn index(
    State(state): State<AppState>,
    Query(window): Query<Window>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let limit = window.limit.unwrap_or(app::DEFAULT_LIMIT);
    let page = state.app.todo_page(limit).await?;
    let props = Props::new()
        .prop("todos", page.todos)
        .prop("todosVersion", page.version)
        .prop("counts", page.counts)
        .prop("limit", page.limit);
    Ok(inertia.render("Todos/Index", props).await?)
}

async fn create(
    State(state): State<AppState>,
    inertia: Inertia,
    Input(TodoForm { todo }): Input<TodoForm>,
) -> Result<Response, ApiError> {
    let title = todo.title.unwrap_or_default();
    let created = state.board.create(&title).await;
    back_to_board(inertia, created)
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(TodoForm { todo }): Input<TodoForm>,
) -> Result<Response, ApiError> {
    let change = TodoChange {
        title: todo.title,
        completed: todo.completed,
    };
    let updated = async { state.board.update(decode(&state.app, &id)?, change).await }.await;
    back_to_board(inertia, updated)
}

async fn destroy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let deleted = async { state.board.delete(decode(&state.app, &id)?).await }.await;
    back_to_board(inertia, deleted)
}

/// Back to the board. A change the server will not make, the todo being gone or not the
/// user's to change included, goes back with the reason in `props.errors`, so the page can
/// roll back its optimistic update and say why.
fn back_to_board<T>(inertia: Inertia, outcome: app::Result<T>) -> Result<Response, ApiError> {
    let outcome = outcome.map_err(|err| match err {
        app::Error::NotFound => app::Error::invalid("todo", "This todo no longer exists."),
        app::Error::Forbidden => {
            app::Error::invalid("todo", "You are not allowed to change this todo.")
        }
        other => other,
    });
    answer(inertia, "/todos", outcome, |inertia, _| {
        inertia.redirect("/todos")
    })
}
