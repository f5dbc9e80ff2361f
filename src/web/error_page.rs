//! Error pages: a response from [`ApiError`](super::ApiError) carries an [`ErrorPage`]
//! marker. For browsers and Inertia visits [`error_pages`] replaces its text body with the
//! `Error` page (status and a fixed message, never internal detail); for other clients a
//! server error's body is [`SERVER_ERROR`] and the request id, which finds its log line. A
//! panic gets a static HTML 500 page.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;
use super::requests::RequestId;
use crate::inertia::{Inertia, InertiaConfig, Props, X_INERTIA};

/// What a server error tells the client (with the request id, when there is one).
pub(super) const SERVER_ERROR: &str = "Something went wrong on our side. Please try again.";

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

fn message(status: StatusCode, id: Option<&RequestId>) -> String {
    match status {
        StatusCode::NOT_FOUND => "This page does not exist.".to_owned(),
        StatusCode::FORBIDDEN => "You may not see this page.".to_owned(),
        s if s.is_server_error() => server_error(id),
        _ => "This request could not be handled.".to_owned(),
    }
}

/// [`SERVER_ERROR`] with the request id that finds the failure in the server's log.
fn server_error(id: Option<&RequestId>) -> String {
    match id {
        Some(RequestId(id)) => format!("{SERVER_ERROR} Request id: {id}"),
        None => SERVER_ERROR.to_owned(),
    }
}

/// Renders the `Error` page for marked responses to browsers and Inertia visits; API
/// clients keep the short text body, which for a server error names the request id.
pub(super) async fn error_pages(
    State(config): State<InertiaConfig>,
    request: Request,
    next: Next,
) -> Response {
    let id = request.extensions().get::<RequestId>().cloned();
    let wants_page = request.headers().contains_key(X_INERTIA)
        || request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if !wants_page {
        let mut response = next.run(request).await;
        if response.extensions().get::<ErrorPage>().is_some() && response.status().is_server_error()
        {
            *response.body_mut() = Body::from(server_error(id.as_ref()));
        }
        return response;
    }
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.headers_mut() = request.headers().clone();
    let (head, ()) = head.into_parts();
    let mut response = next.run(request).await;
    if response.extensions().get::<ErrorPage>().is_none() {
        return response;
    }
    let status = response.status();
    let props = Props::new()
        .prop("status", status.as_u16())
        .prop("message", message(status, id.as_ref()));
    let mut page = match Inertia::new(config, &head)
        .render_with_status(status, "Error", props)
        .await
    {
        Ok(page) => page,
        Err(err) => {
            tracing::error!(cause = %err, "cannot render the error page");
            static_500()
        }
    };
    // The page replaces the response, not its cause: the request log still has to see it.
    if let Some(failure) = response.extensions_mut().remove::<Failure>() {
        page.extensions_mut().insert(failure);
    }
    page
}
