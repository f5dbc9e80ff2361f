//! The app's first Inertia pages: `Home` (what trifecta is) and `Status` (live server facts).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState, health};
use crate::inertia::{Inertia, Props};

/// The crate version, shown in the UI.
const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/about", get(home))
        .route("/status", get(status))
}

async fn home(inertia: Inertia) -> Result<Response, ApiError> {
    let props = Props::new().prop("app", json!({"name": "trifecta", "version": VERSION}));
    Ok(inertia.render("Home", props).await?)
}

async fn status(State(state): State<AppState>, inertia: Inertia) -> Result<Response, ApiError> {
    let (stores, _) = health::store_report(&state.stores).await;
    let props = Props::new().prop(
        "status",
        json!({
            "version": VERSION,
            "env": state.site.env,
            "uptime_seconds": state.site.started.elapsed().as_secs(),
            "stores": stores,
            "websockets": state.actioncable.stats().connections,
        }),
    );
    Ok(inertia.render("Status", props).await?)
}
