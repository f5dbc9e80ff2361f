//! The HTTP layer: the axum router, its shared [`AppState`], the pages, the embedded front
//! end and the edge middleware (compression, security headers, error pages, timeouts, body
//! limits).

mod accounts;
mod admin;
mod answer;
mod args;
mod assets;
pub mod auth;
pub mod cable_auth;
pub mod csrf;
mod edge;
mod error;
mod error_page;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod input;
mod pages;
pub mod proxy;
pub mod requests;
pub mod secret;
mod sessions;
mod site;
mod todos;

use axum::Router;
use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use args::{SecretString, WebArgs};
pub use edge::{CSP, apply as edge};
pub use error::{ApiError, Chain, Failure};
pub use proxy::{ClientInfo, ProxyArgs, TlsConnection};
pub use site::Site;

use crate::actioncable::{self, ActionCable};
use crate::app::{App, Board};
use crate::cable::Cable;
use crate::cache::Cache;
use crate::config::ServeConfig;
use crate::dashboard::Dashboard;
use crate::inertia::InertiaConfig;
use crate::queue::Queue;
use crate::store::Clock;
use crate::stores::Stores;

/// How cookies are signed and flagged. The one holder of the cookie key: the session and
/// CSRF cookies, the [`Key`] extractor and the socket hook
/// ([`cable_auth::SessionConnect`]) all read it from here.
#[derive(Clone)]
pub struct Cookies {
    /// Signs the session cookie (derived from the secret key base). Cookies are made
    /// `Secure` per request, on HTTPS ([`proxy`]).
    pub key: Key,
    /// Lifetime of the session cookie.
    pub max_age: std::time::Duration,
}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookies")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Handles shared by every request. Cheap to clone; handlers extract only what they need
/// (each field is a `State<T>` through the derived `FromRef`).
#[derive(Clone, Debug, FromRef)]
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
    /// Web-layer handles: Inertia settings and status facts.
    pub site: Site,
    /// Solid Cache.
    pub cache: Cache,
    /// Solid Cable: pub/sub through the cable database.
    pub cable: Cable,
    /// The ActionCable server at `/cable` (its channel registry and connect hook).
    pub actioncable: ActionCable,
    /// The job queue.
    pub queue: Queue,
    /// The todo board and its real-time pipeline.
    pub board: Board,
    /// The operations dashboard's samples and pulse.
    pub dashboard: Dashboard,
}

impl FromRef<AppState> for InertiaConfig {
    fn from_ref(s: &AppState) -> Self {
        s.site.inertia.clone()
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(s: &AppState) -> Self {
        s.cookies.key.clone()
    }
}

/// Compresses the embedded assets once per process (blocking; run on a blocking thread).
pub fn warm_assets() {
    assets::warm();
}

/// Builds the router with its middleware.
pub fn router(state: AppState, config: &ServeConfig) -> Router {
    let pages = pages::router()
        .merge(todos::router())
        .merge(accounts::router())
        .route_layer(axum::middleware::from_fn(auth::require_user));
    // The dashboard refuses anyone but a site admin with a 404 itself: an anonymous
    // visitor is not sent to sign in, so its pages are not there for anyone else.
    let app_routes = Router::new()
        .merge(pages)
        .merge(sessions::router())
        .merge(admin::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_user,
        ));
    // Health probes and assets are outside the CSRF layer: they change nothing and must
    // set no cookie (a probe every few seconds, and responses that caches keep).
    let routes = Router::new()
        .merge(app_routes)
        .merge(actioncable::handler::router())
        .layer(axum::middleware::from_fn_with_state(
            state.cookies.clone(),
            csrf::protect,
        ))
        .merge(health::router())
        .merge(assets::router());
    edge::apply(routes, state, config)
}
