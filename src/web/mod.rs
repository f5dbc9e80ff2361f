//! The HTTP layer: the axum router, its shared [`AppState`], the pages, the embedded front
//! end and the edge middleware (compression, security headers, error pages, timeouts, body
//! limits).

mod args;
mod assets;
mod edge;
mod error;
mod error_page;
mod health;
mod pages;
pub mod secret;
mod site;

use axum::Router;
use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use args::{SecretString, WebArgs};
pub use edge::{CSP, apply as edge};
pub use error::ApiError;
pub use site::Site;

use crate::config::ServeConfig;
use crate::inertia::InertiaConfig;
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
    /// Web-layer handles: Inertia settings, cookie key, status facts.
    pub site: Site,
}

impl FromRef<AppState> for Stores {
    fn from_ref(s: &AppState) -> Self {
        s.stores.clone()
    }
}

impl FromRef<AppState> for InertiaConfig {
    fn from_ref(s: &AppState) -> Self {
        s.site.inertia.clone()
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(s: &AppState) -> Self {
        s.site.cookie_key.clone()
    }
}

/// Compresses the embedded assets once per process (blocking; run on a blocking thread).
pub fn warm_assets() {
    assets::warm();
}

/// Builds the router with its middleware.
pub fn router(state: AppState, config: &ServeConfig) -> Router {
    let routes = Router::new()
        .merge(health::router())
        .merge(pages::router())
        .merge(assets::router());
    edge::apply(routes, state, config)
}
