//! The HTTP metrics of the app's router: one counter by method, route template and status,
//! one latency histogram by method and route template. Routes are labelled by their
//! template (`/accounts/{id}`), never the raw path, so the series stay few whatever clients
//! send.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use metrics::{Counter, Histogram};
use parking_lot::RwLock;

use super::names::{HTTP_DURATION, HTTP_REQUESTS};

/// Label of a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Wraps every route of `router` (the fallback included) in the request metrics. Applied
/// after routing, so the matched route's template is known.
pub fn track_requests(router: Router) -> Router {
    router.layer(from_fn_with_state(Arc::new(Handles::default()), track))
}

/// The metric handles of each route, looked up in the recorder once: per request that
/// lookup builds the label strings and hashes them, which costs more than the recording.
/// Routes, methods and statuses are few, so the map stays small.
#[derive(Default)]
struct Handles {
    routes: RwLock<HashMap<String, RouteHandles>>,
}

#[derive(Default)]
struct RouteHandles {
    durations: HashMap<&'static str, Histogram>,
    requests: HashMap<(&'static str, u16), Counter>,
}

impl Handles {
    /// Records one request of `method` on `route` that answered `status`.
    fn record(&self, method: &'static str, route: &str, status: u16, took: std::time::Duration) {
        {
            let routes = self.routes.read();
            if let Some(r) = routes.get(route)
                && let (Some(d), Some(c)) =
                    (r.durations.get(method), r.requests.get(&(method, status)))
            {
                d.record(took);
                c.increment(1);
                return;
            }
        }
        let mut routes = self.routes.write();
        let r = routes.entry(route.to_owned()).or_default();
        let owned = route.to_owned();
        r.durations
            .entry(method)
            .or_insert_with(
                || metrics::histogram!(HTTP_DURATION, "method" => method, "route" => owned.clone()),
            )
            .record(took);
        r.requests
            .entry((method, status))
            .or_insert_with(|| {
                let status = status.to_string();
                metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => owned, "status" => status)
            })
            .increment(1);
    }
}

async fn track(State(handles): State<Arc<Handles>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    handles.record(method, route, response.status().as_u16(), started.elapsed());
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
