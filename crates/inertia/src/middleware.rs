//! [`middleware`]: the protocol rules that apply around any handler
//! (`docs/protocols.md` §3.4, §3.5).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HOST, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::is_inertia;
use super::{InertiaConfig, X_INERTIA_LOCATION, X_INERTIA_VERSION};

/// For Inertia visits: a GET with a stale (or missing) asset version gets 409 with
/// `X-Inertia-Location` = the full request URL, without running the handler; a 301/302 after
/// PUT/PATCH/DELETE becomes 303; a redirect to another origin becomes 409 with
/// `X-Inertia-Location` so the client leaves with a full page load.
///
/// Use with `axum::middleware::from_fn_with_state(config, inertia::middleware)`.
pub async fn middleware(
    State(config): State<InertiaConfig>,
    request: Request,
    next: Next,
) -> Response {
    if !is_inertia(request.headers()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let origin = origin(&config, &request);
    if method == Method::GET {
        let version = request
            .headers()
            .get(X_INERTIA_VERSION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if version != config.version() {
            let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
            return conflict(&format!("{origin}{path}"));
        }
    }
    let mut response = next.run(request).await;
    let status = response.status();
    if matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
        && matches!(method, Method::PUT | Method::PATCH | Method::DELETE)
    {
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    if matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
    ) && let Some(location) = response.headers().get(LOCATION).cloned()
        && is_external(&location, &origin)
    {
        let (mut parts, _) = response.into_parts();
        parts.status = StatusCode::CONFLICT;
        parts.headers.remove(LOCATION);
        parts.headers.insert(X_INERTIA_LOCATION, location);
        return Response::from_parts(parts, Body::empty());
    }
    response
}

fn conflict(url: &str) -> Response {
    match HeaderValue::try_from(url) {
        Ok(v) => (StatusCode::CONFLICT, [(X_INERTIA_LOCATION, v)]).into_response(),
        Err(_) => StatusCode::CONFLICT.into_response(),
    }
}

/// `scheme://host[:port]` of the request as the client sees it.
fn origin(config: &InertiaConfig, request: &Request) -> String {
    let uri = request.uri();
    let scheme = uri
        .scheme_str()
        .map(str::to_owned)
        .or_else(|| {
            request
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| if config.https() { "https" } else { "http" }.to_owned());
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    format!("{scheme}://{host}")
}

/// Whether `location` is absolute and points at another origin than `origin`.
fn is_external(location: &HeaderValue, origin: &str) -> bool {
    let Ok(text) = location.to_str() else {
        return false;
    };
    let absolute = if let Some(rest) = text.strip_prefix("//") {
        format!("http://{rest}")
    } else {
        text.to_owned()
    };
    let Ok(uri) = absolute.parse::<Uri>() else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    let ours = origin.split_once("://").map_or(origin, |(_, h)| h);
    let same_host = authority.as_str().eq_ignore_ascii_case(ours);
    let same_scheme = text.starts_with("//") || origin.starts_with(uri.scheme_str().unwrap_or(""));
    !(same_host && same_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_origins_are_external() {
        let origin = "http://127.0.0.1:3000";
        let ext = |s: &'static str| is_external(&HeaderValue::from_static(s), origin);
        assert!(ext("https://example.com/x"));
        assert!(ext("//example.com/x"));
        assert!(ext("https://127.0.0.1:3000/x"));
        assert!(!ext("http://127.0.0.1:3000/x"));
        assert!(!ext("/x"));
        assert!(!ext("//127.0.0.1:3000/x"));
    }
}
