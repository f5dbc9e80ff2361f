//! `GET /up`: 200 when every database is still the file the server opened and takes a
//! write (one row of its probe table), 503 naming the failing stores otherwise. A store
//! whose file was deleted or replaced stays failing until a restart.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::stores::{StoreKind, Stores};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/up", get(up))
}

async fn up(State(stores): State<Stores>) -> (StatusCode, Json<Value>) {
    let (report, failing) = store_report(&stores).await;
    if failing.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "stores": report})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "failing": failing, "stores": report})),
        )
    }
}

/// Checks every store (identity and a write probe): `{name: "ok" | "unavailable"}` and the
/// failing names. Shared by `/up` and the status page.
pub(super) async fn store_report(stores: &Stores) -> (Map<String, Value>, Vec<&'static str>) {
    let checks = StoreKind::ALL.map(|k| {
        let db = stores.get(k).clone();
        async move { (k, db.check().await) }
    });
    let mut report = Map::new();
    let mut failing = Vec::new();
    for (kind, result) in futures_util::future::join_all(checks).await {
        match result {
            Ok(()) => {
                report.insert(kind.name().to_owned(), json!("ok"));
            }
            Err(err) => {
                tracing::error!(store = kind.name(), cause = %err, "health check failed");
                report.insert(kind.name().to_owned(), json!("unavailable"));
                failing.push(kind.name());
            }
        }
    }
    (report, failing)
}
