//! The HTTP metrics of the app's router: one counter by method, route template and status,
//! one latency histogram by method and route template. Routes are labelled by their
//! template (`/accounts/{id}`), never the raw path, so the series stay few whatever clients
//! send.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use axum::response::Response;

use super::names::{HTTP_DURATION, HTTP_REQUESTS};

/// Label of a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Wraps every route of `router` (the fallback included) in the request metrics. Applied
/// after routing, so the matched route's template is known.
pub fn track_requests(router: Router) -> Router {
    router.layer(from_fn(track))
}

async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.clone())
        .record(started.elapsed());
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The method as a label; any method outside the standard ones is `other`, so a client
/// cannot create series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
