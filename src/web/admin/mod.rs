//! The operations dashboard: Inertia pages under `/admin/jobs`, `/admin/cache` and
//! `/admin/cable` for site admins, and the actions they offer. Everyone else, signed in or
//! not, gets the same 404 as an unknown page; every action is a CSRF-checked POST that
//! answers with a redirect and a flash, and is logged with the admin's id.
//!
//! - `jobs`: the overview (queues, counts, charts), the lists by state, one job.
//! - `actions`: pause and resume a queue; retry, discard or run jobs, one or by filter.
//! - `ops`: the processes and the recurring tasks.
//! - `figures`: the cache and cable pages.
//! - `filter`: the list filter from a query or a form, and the state names of URLs.
//! - `redact`: job arguments with the values of sensitive keys filtered.
//!
//! Pages stay live through sync markers on `Admin:<topic>` (see [`crate::dashboard`]).

mod actions;
mod figures;
mod filter;
mod jobs;
mod ops;
mod redact;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::app::User;
use crate::queue::Count;
use crate::store::Timestamp;
use crate::web::auth::MaybeUser;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(jobs::overview))
        .route("/admin/jobs/processes", get(ops::processes))
        .route("/admin/jobs/recurring", get(ops::recurring))
        .route("/admin/jobs/recurring/{key}/run", post(actions::run_task))
        .route("/admin/jobs/queues/{key}/pause", post(actions::pause))
        .route("/admin/jobs/queues/{key}/resume", post(actions::resume))
        .route("/admin/jobs/{key}", get(jobs::list_or_show))
        .route("/admin/jobs/{key}/retry", post(actions::retry))
        .route("/admin/jobs/{key}/discard", post(actions::discard))
        .route("/admin/jobs/{key}/run", post(actions::run))
        .route("/admin/jobs/{key}/retry_all", post(actions::retry_all))
        .route("/admin/jobs/{key}/discard_all", post(actions::discard_all))
        .route("/admin/cache", get(figures::cache))
        .route("/admin/cable", get(figures::cable))
}

/// A signed-in site admin; anyone else is refused with a 404, as if the page did not
/// exist.
pub(in crate::web) struct SiteAdmin(pub User);

impl<S> FromRequestParts<S> for SiteAdmin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeUser::from_request_parts(parts, state).await? {
            MaybeUser(Some(current)) if current.user.site_admin => Ok(SiteAdmin(current.user)),
            MaybeUser(_) => Err(ApiError::NotFound),
        }
    }
}

/// A time as props carry it (RFC 3339, UTC).
pub(super) fn time(t: Timestamp) -> Value {
    json!(t.to_rfc3339())
}

/// An optional time as props carry it.
pub(super) fn time_or_null(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, time)
}

/// A duration in milliseconds, as props carry it.
pub(super) fn millis(d: std::time::Duration) -> Value {
    json!(d.as_secs_f64() * 1000.0)
}

/// A capped count: `{n, more}`, "more than n" when `more`.
pub(super) fn count(c: &Count) -> Value {
    json!({"n": c.n, "more": c.more})
}

/// Logs an admin action with who did it (the admin's database id and email) and what.
pub(super) fn audit(admin: &User, action: &str, detail: &str, affected: usize) {
    tracing::info!(
        target: "trifecta::admin",
        admin_id = admin.id,
        admin = %admin.email_address,
        action,
        detail,
        affected,
        "admin action"
    );
}
