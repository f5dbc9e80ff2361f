//! The plain-HTTP listener of `--http-bind` when HTTPS is on: it answers ACME HTTP-01
//! challenges from the orders in progress and sends everything else to the same host and path
//! over HTTPS (301 for GET and HEAD, 308 otherwise, so a form's method and body are kept).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, HOST, LOCATION};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::tls::CertResolver;

/// What the redirecting router needs.
#[derive(Clone)]
struct Redirect {
    resolver: Arc<CertResolver>,
    /// The HTTPS port, left out of the target when it is 443.
    https_port: u16,
}

/// The router of the port-80 listener.
pub(super) fn router(resolver: Arc<CertResolver>, https_port: u16) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(challenge))
        .fallback(redirect)
        .with_state(Redirect {
            resolver,
            https_port,
        })
}

/// The key authorization of an HTTP-01 challenge in progress.
async fn challenge(State(state): State<Redirect>, Path(token): Path<String>) -> Response {
    match state.resolver.challenges.http(&token) {
        Some(key_authorization) => (
            [(CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "No ACME challenge with this token is in progress.\n",
        )
            .into_response(),
    }
}

/// The same URL over HTTPS.
async fn redirect(
    State(state): State<Redirect>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.host());
    let Some(host) = host.and_then(host_name) else {
        return (
            StatusCode::BAD_REQUEST,
            "A Host header naming this server is required to redirect to HTTPS.\n",
        )
            .into_response();
    };
    let port = match state.https_port {
        443 => String::new(),
        port => format!(":{port}"),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!("https://{host}{port}{path}");
    let status = if method == Method::GET || method == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    (status, [(LOCATION, target)]).into_response()
}

/// The host of a `Host` value without its port: a DNS name, an IPv4 address or a bracketed
/// IPv6 address; anything else is refused.
fn host_name(value: &str) -> Option<&str> {
    let host = if value.starts_with('[') {
        let end = value.find(']')?;
        &value[..=end]
    } else {
        value.split(':').next()?
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn the_port_is_dropped_and_odd_hosts_are_refused() {
        assert_eq!(host_name("example.com:80"), Some("example.com"));
        assert_eq!(host_name("example.com"), Some("example.com"));
        assert_eq!(host_name("[::1]:80"), Some("[::1]"));
        assert_eq!(host_name("evil.com/x"), None);
        assert_eq!(host_name(""), None);
    }
}
