//! Request logs and request ids. Every request runs inside a `request` span carrying its
//! method, route, path, client address and request id, so every log line written while it
//! is served carries them too, and ends with one line at `info` (status and duration).
//! Health probes (`/up`) and assets log that line at `debug`.
//!
//! The request id is the `X-Request-Id` of a trusted proxy when it is a plausible id (1 to
//! [`MAX_ID_LEN`] letters, digits and `-_.:@`), else a fresh UUID. It is returned in the
//! response's `X-Request-Id`, and jobs enqueued while serving the request carry it
//! ([`crate::queue::with_request_id`]), so their log lines show it as well.
//!
//! A server error's cause travels in its response as a [`Failure`]: this middleware logs
//! it at `error`, with every `source()` of the chain, once per request, then drops it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::error::Failure;
use super::proxy::ClientInfo;

/// Longest request id accepted from a proxy.
pub const MAX_ID_LEN: usize = 128;

/// The request and response header of the request id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

/// Middleware around every request: picks the request id, serves the request inside its
/// span and logs the outcome (and the cause of a server error). Runs inside
/// [`super::proxy::resolve`], whose [`ClientInfo`] it reads.
pub async fn log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let info = request.extensions().get::<ClientInfo>().copied();
    let via_proxy = info.is_some_and(|i| i.via_proxy);
    let id = request_id(via_proxy, request.headers().get(X_REQUEST_ID));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let quiet = route
        .as_deref()
        .is_some_and(|r| r == "/up" || r.starts_with("/assets/"));
    let client = info
        .and_then(|i| i.addr)
        .map_or_else(|| "-".to_owned(), |a| a.to_string());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route.as_deref().unwrap_or("-"),
        path = %request.uri().path(),
        client = %client,
        request_id = %id,
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(X_REQUEST_ID, value.clone());
    }
    request.extensions_mut().insert(RequestId(id.clone()));
    let served = crate::queue::with_request_id(id.clone(), next.run(request));
    let mut response = served.instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let failure = response.extensions_mut().remove::<Failure>();
    let status = response.status().as_u16();
    // Milliseconds with two decimals: enough to tell a cache hit from a database read.
    let duration_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    span.in_scope(|| {
        if let Some(failure) = &failure {
            tracing::error!(status, cause = %failure.chain(), "request failed");
        }
        if quiet {
            tracing::debug!(status, duration_ms, "completed");
        } else {
            tracing::info!(status, duration_ms, "completed");
        }
    });
    response
}

/// The proxy's id when it came from a trusted proxy and is plausible; a new UUID otherwise.
fn request_id(via_proxy: bool, sent: Option<&HeaderValue>) -> Arc<str> {
    if via_proxy && let Some(sent) = sent {
        match sent.to_str() {
            Ok(id) if valid(id) => return Arc::from(id),
            _ => tracing::debug!(sent = ?sent, "replacing an invalid X-Request-Id"),
        }
    }
    Arc::from(uuid::Uuid::new_v4().to_string())
}

/// Whether `id` is a request id we pass on: short, and only characters that need no
/// quoting in a log line or a header.
fn valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_ids_from_proxies_are_kept() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            &*request_id(true, Some(&v("req-1.a:b@c_d"))),
            "req-1.a:b@c_d"
        );
        for bad in ["", "has space", "quote\"", "new\\nline", "é"] {
            let value = HeaderValue::from_bytes(bad.as_bytes()).unwrap_or(v("x y"));
            let id = request_id(true, Some(&value));
            assert_ne!(&*id, bad);
            assert_eq!(id.len(), 36, "a UUID");
        }
        let long = "a".repeat(MAX_ID_LEN + 1);
        let value = HeaderValue::from_str(&long).expect("value");
        assert_ne!(&*request_id(true, Some(&value)), long);
        // From a peer that is not a trusted proxy, never.
        assert_ne!(&*request_id(false, Some(&v("req-1"))), "req-1");
    }
}
