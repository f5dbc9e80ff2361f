//! The HTTP edge around every route (what Thruster gives a Rails 8 app): the client's
//! address and scheme behind reverse proxies ([`super::proxy`]), request ids and logs
//! ([`super::requests`]), compression negotiated by `Accept-Encoding`, security headers
//! (HSTS on HTTPS), error pages, panic recovery, request timeout and body limit, and the
//! Inertia protocol middleware. A request that fails on our side while a store is retired
//! (its file deleted or replaced) answers 503, not 500.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use super::error::Failure;
use super::requests::RequestId;
use super::{AppState, error, error_page, proxy, requests};
use crate::config::ServeConfig;
use crate::inertia;
use crate::stores::Stores;

/// The Content-Security-Policy: Vite emits external scripts and stylesheets only, so nothing
/// inline is allowed. `data:` images cover the empty favicon.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds the fallback (404), the Inertia middleware, error pages and every edge layer to
/// `routes`. Tests wrap their own routes with it to exercise the real edge.
pub fn apply(routes: Router<AppState>, state: AppState, config: &ServeConfig) -> Router {
    let inertia_config = state.site.inertia.clone();
    let router = routes
        .fallback(error::not_found)
        .layer(from_fn_with_state(
            inertia_config.clone(),
            inertia::middleware,
        ))
        .layer(from_fn_with_state(inertia_config, error_page::error_pages))
        .with_state(state.clone())
        .layer(from_fn_with_state(state.stores, fail_closed))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(CompressionLayer::new());
    security_headers(router)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| error_page::static_500()))
        .layer(from_fn(requests::log))
        .layer(from_fn_with_state(
            Arc::new(config.proxy.clone()),
            proxy::resolve,
        ))
}

/// Turns a server error into `503 Service Unavailable` while a store is retired: the
/// failure is not a bug to retry but storage an operator has to restore and restart. The
/// cause still reaches the request log.
async fn fail_closed(State(stores): State<Stores>, request: Request, next: Next) -> Response {
    let id = request.extensions().get::<RequestId>().cloned();
    let mut response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let retired = stores.retired();
    if retired.is_empty() {
        return response;
    }
    let id = id.map_or_else(String::new, |RequestId(id)| format!(" Request id: {id}"));
    let text = format!(
        "Storage unavailable: the {} database file was deleted or replaced while the server ran; it answers again after a restart.{id}",
        retired.join(", ")
    );
    let mut unavailable = (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
    if let Some(failure) = response.extensions_mut().remove::<Failure>() {
        unavailable.extensions_mut().insert(failure);
    }
    unavailable
}

/// The headers every response carries; HSTS, which only HTTPS responses get, is added by
/// [`proxy::resolve`].
fn security_headers(router: Router) -> Router {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(CONTENT_SECURITY_POLICY, CSP))
        .layer(set(X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .layer(set(X_FRAME_OPTIONS, "DENY"))
        .layer(set(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
}
