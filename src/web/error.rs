//! [`ApiError`]: the one error type of HTTP handlers, which `?` reaches from the domain
//! ([`crate::app::Error`]) and from Inertia. Client errors carry a useful message. A server
//! error keeps its cause: the response carries it as a [`Failure`], which the request log
//! ([`super::requests::log`]) writes once, with the whole `source()` chain and the request
//! id, while the client gets a generic sentence and that id ([`super::error_page`]).
//! Browsers and Inertia visits get the `Error` page instead.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error_page::{ErrorPage, SERVER_ERROR};
use crate::app;

/// Any error, boxed: the cause of an [`ApiError::Internal`].
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such page or record (also used for records the user may not see).
    #[error("not found")]
    NotFound,
    /// The user may see the record but not change it.
    #[error("you are not allowed to do that")]
    Forbidden,
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than the configured limit (also when sent chunked, so
    /// only reading it finds out).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Anything on our side; the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    /// Wraps any server-side failure, keeping it as the cause.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(err.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<app::Error> for ApiError {
    /// Missing and inaccessible records are 404, not allowed is 403, invalid input is 400
    /// with its message, and failures on our side are 500.
    fn from(err: app::Error) -> Self {
        match err {
            app::Error::NotFound => Self::NotFound,
            app::Error::Forbidden => Self::Forbidden,
            app::Error::Invalid { .. } => Self::BadRequest(err.to_string()),
            app::Error::Internal { .. } | app::Error::Store(_) => Self::internal(err),
        }
    }
}

impl From<crate::inertia::Error> for ApiError {
    fn from(err: crate::inertia::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (body, failure) = match self {
            Self::Internal(cause) => (SERVER_ERROR.to_owned(), Some(Failure(Arc::from(cause)))),
            other => (other.to_string(), None),
        };
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(ErrorPage);
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}

/// The cause of a server error on its way out, in the response's extensions: the request
/// log takes it out and logs it, so it is logged once and never leaves the server.
#[derive(Clone, Debug)]
pub struct Failure(Arc<dyn StdError + Send + Sync>);

impl Failure {
    /// The error and its causes, one after the other (see [`Chain`]).
    pub fn chain(&self) -> Chain<'_> {
        Chain(&*self.0)
    }
}

/// Writes an error and every `source()` below it, separated by `": "`. A cause whose text
/// the error before it already ends with (`#[error("sqlite: {0}")]` over its `#[from]`) is
/// not written twice.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = cause.source();
        }
        Ok(())
    }
}

pub(super) async fn not_found(uri: Uri) -> ApiError {
    tracing::debug!(%uri, "no route");
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("sqlite: {0}")]
        Sqlite(#[from] Inner),
        #[error("reading the board")]
        Board(#[source] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("no such table: todos")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause_once() {
        let io = || std::io::Error::other("disk on fire");
        let repeated = Outer::Sqlite(Inner(io()));
        assert_eq!(
            Chain(&repeated).to_string(),
            "sqlite: no such table: todos: disk on fire"
        );
        let nested = Outer::Board(Inner(io()));
        assert_eq!(
            Chain(&nested).to_string(),
            "reading the board: no such table: todos: disk on fire"
        );
    }
}
