//! [`ApiError`]: the one error type of HTTP handlers. Client errors carry a useful message;
//! server errors are logged in the request span and answered with a generic body. Browsers and
//! Inertia visits get the `Error` page instead (see `error_page`).

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error_page::ErrorPage;

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
    /// Anything on our side; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Wraps any server-side failure.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
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

impl From<crate::inertia::Error> for ApiError {
    fn from(err: crate::inertia::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::Internal(detail) => {
                tracing::error!(cause = %detail, "request failed");
                "Something went wrong on our side. Please try again.".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(ErrorPage);
        response
    }
}

pub(super) async fn not_found(uri: Uri) -> ApiError {
    tracing::debug!(%uri, "no route");
    ApiError::NotFound
}
