//! The todo board over HTTP: `GET /todos[?limit=N]` (Inertia page `Todos/Index`, props
//! `todos` (the newest `limit`, default 200, at most 5,000), `todosVersion`, `counts` and
//! `limit`),
//! `POST /todos`, `PATCH /todos/:id`, `DELETE /todos/:id`, each redirecting back to
//! `/todos` the Inertia way. Bodies may be JSON (`{"todo": {"title": ..}}`) or form-encoded
//! (`todo[title]=..`). A refused change redirects back with `props.errors`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, patch};
use serde::Deserialize;

use super::input::Input;
use super::{ApiError, AppState};
use crate::app::{self, TodoChange};
use crate::inertia::{Errors, Inertia, Props};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/todos") }))
        .route("/todos", get(index).post(create))
        .route("/todos/{id}", patch(update).delete(destroy))
}

/// The `todo` fields, nested (JSON) or flat with bracket names (forms).
#[derive(Debug, Default, Deserialize)]
struct TodoFields {
    #[serde(default)]
    title: Option<String>,
    #[serde(default, deserialize_with = "flexible_bool")]
    completed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TodoParams {
    Nested {
        todo: TodoFields,
    },
    Flat {
        #[serde(rename = "todo[title]", default)]
        title: Option<String>,
        #[serde(
            rename = "todo[completed]",
            default,
            deserialize_with = "flexible_bool"
        )]
        completed: Option<bool>,
    },
}

impl TodoParams {
    fn fields(self) -> TodoFields {
        match self {
            TodoParams::Nested { todo } => todo,
            TodoParams::Flat { title, completed } => TodoFields { title, completed },
        }
    }
}

/// `true`/`false` in JSON; `1`/`0`/`true`/`false`/`on` in forms.
fn flexible_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Text(t)) => match t.as_str() {
            "1" | "true" | "on" => Ok(Some(true)),
            "0" | "false" | "" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "completed must be true or false, not {other:?}"
            ))),
        },
    }
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
    let page = state
        .app
        .todo_page(limit)
        .await
        .map_err(ApiError::internal)?;
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
    Input(params): Input<TodoParams>,
) -> Result<Response, ApiError> {
    let title = params.fields().title.unwrap_or_default();
    match state.board.create(&title).await {
        Ok(_) => Ok(inertia.redirect("/todos")),
        Err(e) => refused(inertia, e),
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(params): Input<TodoParams>,
) -> Result<Response, ApiError> {
    let Some(id) = state.app.ids().decode(&id) else {
        return refused(inertia, app::Error::NotFound);
    };
    let fields = params.fields();
    let change = TodoChange {
        title: fields.title,
        completed: fields.completed,
    };
    match state.board.update(id, change).await {
        Ok(_) => Ok(inertia.redirect("/todos")),
        Err(e) => refused(inertia, e),
    }
}

async fn destroy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let Some(id) = state.app.ids().decode(&id) else {
        return refused(inertia, app::Error::NotFound);
    };
    match state.board.delete(id).await {
        Ok(_) => Ok(inertia.redirect("/todos")),
        Err(e) => refused(inertia, e),
    }
}

/// A change the server will not make goes back to the board with the reason in
/// `props.errors`, so the page can roll back its optimistic update and say why.
fn refused(inertia: Inertia, err: app::Error) -> Result<Response, ApiError> {
    let errors = match err {
        app::Error::Invalid { field, message } => Errors::new().add(field, message),
        app::Error::NotFound => Errors::new().add("todo", "This todo no longer exists."),
        app::Error::Forbidden => {
            Errors::new().add("todo", "You are not allowed to change this todo.")
        }
        other => return Err(ApiError::internal(other)),
    };
    Ok(inertia.errors(errors).redirect("/todos").into_response())
}
