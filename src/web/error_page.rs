//! Error pages: a response from [`ApiError`](super::ApiError) carries an [`ErrorPage`]
//! marker, and for browsers and Inertia visits [`error_pages`] replaces its text body with the
//! `Error` page (status and a fixed message, never internal detail). A panic gets a static
//! HTML 500 page.

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::inertia::{Inertia, InertiaConfig, Props, X_INERTIA};

/// Marks a response whose body may be replaced by an error page.
#[derive(Debug, Clone, Copy)]
pub(super) struct ErrorPage;

const STATIC_500: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Server error</title>\
</head><body><main><h1>Something went wrong on our side.</h1><p>Please try again in a moment.</p>\
<p><a href=\"/\">Back to home</a></p></main></body></html>\n";

/// The page for a panic: plain HTML, no `X-Inertia` (so the Inertia client shows it in its
/// error dialog), nothing from the panic.
pub(super) fn static_500() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        STATIC_500,
    )
        .into_response()
}

fn message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "This page does not exist.",
        StatusCode::FORBIDDEN => "You may not see this page.",
        s if s.is_server_error() => "Something went wrong on our side. Please try again.",
        _ => "This request could not be handled.",
    }
}

/// Renders the `Error` page for marked responses to browsers and Inertia visits; API
/// clients keep the short text body.
pub(super) async fn error_pages(
    State(config): State<InertiaConfig>,
    request: Request,
    next: Next,
) -> Response {
    let wants_page = request.headers().contains_key(X_INERTIA)
        || request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if !wants_page {
        return next.run(request).await;
    }
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.headers_mut() = request.headers().clone();
    let (head, ()) = head.into_parts();
    let response = next.run(request).await;
    if response.extensions().get::<ErrorPage>().is_none() {
        return response;
    }
    let status = response.status();
    let props = Props::new()
        .prop("status", status.as_u16())
        .prop("message", message(status));
    match Inertia::new(config, &head)
        .render_with_status(status, "Error", props)
        .await
    {
        Ok(page) => page,
        Err(err) => {
            tracing::error!(cause = %err, "cannot render the error page");
            static_500()
        }
    }
}
