//! The HTTP layer: the axum router, its shared [`AppState`], and the edge middleware
//! (tracing, timeouts, body limits, error pages).

pub mod auth;
pub mod csrf;
mod error;
mod health;
pub mod secret;

use axum::Router;
use axum::extract::FromRef;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::app::App;
use crate::config::ServeConfig;
use crate::store::{Clock, Stores};

/// How cookies are signed and flagged.
#[derive(Clone)]
pub struct Cookies {
    /// Signs the session cookie (derived from the secret key base).
    pub key: axum_extra::extract::cookie::Key,
    /// Set `Secure` (served over TLS).
    pub secure: bool,
    /// Lifetime of the session cookie.
    pub max_age: std::time::Duration,
}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookies")
            .field("secure", &self.secure)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Handles shared by every request. Cheap to clone; handlers extract only what they need.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The four databases.
    pub stores: Stores,
    /// The domain: users, sessions, accounts, todos.
    pub app: App,
    /// Cookie signing and flags.
    pub cookies: Cookies,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Cancelled when the server shuts down.
    pub token: CancellationToken,
    /// Tracks every background and WebSocket task.
    pub tracker: TaskTracker,
}

impl FromRef<AppState> for App {
    fn from_ref(s: &AppState) -> Self {
        s.app.clone()
    }
}

impl FromRef<AppState> for Cookies {
    fn from_ref(s: &AppState) -> Self {
        s.cookies.clone()
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
        .layer(axum::middleware::from_fn_with_state(
            state.cookies.clone(),
            csrf::protect,
        ))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}
