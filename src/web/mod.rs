//! The HTTP layer: the axum router, its shared [`AppState`], and the edge middleware
//! (tracing, timeouts, body limits, error pages).

mod error;
mod health;

use axum::Router;
use axum::extract::FromRef;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::config::ServeConfig;
use crate::queue::Queue;
use crate::store::{Clock, Stores};

/// Handles shared by every request. Cheap to clone; handlers extract only what they need.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The four databases.
    pub stores: Stores,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Cancelled when the server shuts down.
    pub token: CancellationToken,
    /// Tracks every background and WebSocket task.
    pub tracker: TaskTracker,
    /// The job queue.
    pub queue: Queue,
}

impl FromRef<AppState> for Queue {
    fn from_ref(s: &AppState) -> Self {
        s.queue.clone()
    }
}

impl FromRef<AppState> for Stores {
    fn from_ref(s: &AppState) -> Self {
        s.stores.clone()
    }
}

/// Builds the router with its middleware.
pub fn router(state: AppState, config: &ServeConfig) -> Router {
    Router::new()
        .merge(health::router())
        .fallback(error::not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}
