//! `GET /cable`: the WebSocket upgrade. Anything that is not an acceptable ActionCable
//! upgrade gets Rails' answer: `404`, `text/plain`, `Page not found`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::connect::ConnectRequest;
use super::resume::RESTORE_HEADER;
use super::{ActionCable, PROTOCOL, PROTOCOL_EXT, session};

/// Read buffer per socket: commands are small (a subscribe is about 100 bytes), and the
/// buffer is a fixed part of every idle connection's memory. A larger frame grows it to the
/// frame's length when its header arrives.
const READ_BUFFER: usize = 256;

/// The `/cable` route, for any router state that can hand out the [`ActionCable`] handle.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ActionCable: FromRef<S>,
{
    Router::new().route("/cable", get(upgrade))
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Page not found",
    )
        .into_response()
}

async fn upgrade(State(server): State<ActionCable>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let Ok(ws) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        tracing::debug!(uri = %parts.uri, "not a WebSocket upgrade");
        return not_found();
    };
    if !origin_allowed(&parts.headers, &server.inner.config.allowed_origins) {
        tracing::info!(origin = ?parts.headers.get(header::ORIGIN), "cable origin not allowed");
        return not_found();
    }
    let ws = ws.protocols([PROTOCOL_EXT, PROTOCOL]);
    let ext = match ws.selected_protocol().map(|p| p.as_bytes()) {
        Some(p) if p == PROTOCOL_EXT.as_bytes() => true,
        Some(_) => false,
        None => {
            tracing::info!("cable client offered neither {PROTOCOL} nor {PROTOCOL_EXT}");
            return not_found();
        }
    };
    if server.inner.token.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let request = ConnectRequest::new(parts.uri, parts.headers, peer);
    // The session a reconnecting extended-protocol client asks to restore.
    let ext = ext.then(|| {
        request
            .header(RESTORE_HEADER)
            .or_else(|| request.param("sid"))
            .map(str::to_owned)
    });
    let max = server.inner.config.max_frame;
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            // axum spawns this future itself; tracking it makes shutdown wait for it.
            let tracker = server.inner.tracker.clone();
            tracker.track_future(session::run(server, socket, request, ext))
        })
}

/// Same origin as the request (as Rails: the request's scheme and its Host header), a listed
/// origin, `*`, or no Origin at all (not a browser, so not a cross-site request). The scheme
/// is `X-Forwarded-Proto`, which the HTTP edge in front of this handler sets on every request
/// to its own decision (TLS, a trusted proxy, or `--assume-ssl`), else `http`.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|p| p.to_str().ok())
        .unwrap_or("http");
    match (host, origin.split_once("://")) {
        (Some(host), Some((sent, rest))) => {
            sent.eq_ignore_ascii_case(scheme) && rest.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn origins() {
        let none: Vec<String> = vec![];
        assert!(origin_allowed(&headers(None, "a:1"), &none));
        assert!(origin_allowed(&headers(Some("http://a:1"), "a:1"), &none));
        assert!(!origin_allowed(&headers(Some("http://evil"), "a:1"), &none));
        // The scheme counts: https pages only when the request is HTTPS.
        assert!(!origin_allowed(&headers(Some("https://a:1"), "a:1"), &none));
        let mut https = headers(Some("https://a:1"), "a:1");
        https.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(origin_allowed(&https, &none));
        https.insert(header::ORIGIN, "http://a:1".parse().unwrap());
        assert!(!origin_allowed(&https, &none));
        assert!(origin_allowed(
            &headers(Some("https://app.example"), "a:1"),
            &["https://app.example".to_owned()]
        ));
        assert!(origin_allowed(
            &headers(Some("http://x"), "a:1"),
            &["*".to_owned()]
        ));
    }
}
