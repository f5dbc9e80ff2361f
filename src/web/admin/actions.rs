//! The dashboard's actions, each a POST that answers with a redirect back to the page it
//! came from and a flash saying what happened. A job that changed in the meantime (another
//! admin retried it, a worker finished it) is not an error page: the flash says so and the
//! page shows the job as it is now. Every action is logged with the admin's id, and pokes
//! the dashboard's pulse so other admins' pages follow at once.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::REFERER;
use axum::response::Response;

use super::filter::{FilterFields, state_named};
use super::{SiteAdmin, audit};
use crate::app::User;
use crate::dashboard::Dashboard;
use crate::inertia::Inertia;
use crate::queue::{self, JobId, JobState, Queue};
use crate::web::ApiError;
use crate::web::input::Input;

/// The flash of a job action the job's state no longer allows, or a server error.
fn refused(inertia: Inertia, err: queue::Error) -> Result<Response, ApiError> {
    match err {
        queue::Error::NotFound(id) => Ok(inertia
            .flash(
                "alert",
                format!("Job {id} no longer exists (discarded, or finished and cleared)."),
            )
            .back()),
        queue::Error::WrongState { .. } => Ok(inertia
            .flash("alert", format!("Nothing done: {err}."))
            .back()),
        queue::Error::InvalidQueueName(_) => Err(ApiError::BadRequest(err.to_string())),
        other => Err(ApiError::internal(other)),
    }
}

fn job_id(key: &str) -> Result<JobId, ApiError> {
    match key.parse::<i64>() {
        Ok(id) if id > 0 => Ok(JobId(id)),
        _ => Err(ApiError::NotFound),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Logs what `admin` did, wakes the pulse so other admins' pages follow, and sets the flash.
fn done(
    dashboard: &Dashboard,
    admin: &User,
    inertia: Inertia,
    (action, detail, affected): (&str, &str, usize),
    notice: String,
) -> Inertia {
    audit(admin, action, detail, affected);
    dashboard.poke();
    inertia.flash("notice", notice)
}

/// Pauses (or resumes) queue `name`.
async fn set_paused(
    queue: Queue,
    dashboard: Dashboard,
    admin: User,
    name: String,
    inertia: Inertia,
    pause: bool,
) -> Result<Response, ApiError> {
    let changed = if pause {
        queue.pause(&name).await
    } else {
        queue.resume(&name).await
    };
    let changed = match changed {
        Ok(changed) => changed,
        Err(err) => return refused(inertia, err),
    };
    let notice = match (pause, changed) {
        (true, true) => format!("Paused queue {name}: its jobs wait until it is resumed."),
        (true, false) => format!("Queue {name} was already paused."),
        (false, true) => format!("Resumed queue {name}."),
        (false, false) => format!("Queue {name} was not paused."),
    };
    let action = if pause { "pause" } else { "resume" };
    let affected = usize::from(changed);
    Ok(done(
        &dashboard,
        &admin,
        inertia,
        (action, &name, affected),
        notice,
    )
    .back())
}

/// `POST /admin/jobs/queues/{name}/pause`.
pub(super) async fn pause(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(name): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    set_paused(queue, dashboard, admin, name, inertia, true).await
}

/// `POST /admin/jobs/queues/{name}/resume`.
pub(super) async fn resume(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(name): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    set_paused(queue, dashboard, admin, name, inertia, false).await
}

/// Retries a failed job, or runs a scheduled or blocked one now.
async fn again(
    queue: Queue,
    dashboard: Dashboard,
    admin: User,
    key: String,
    inertia: Inertia,
    retry: bool,
) -> Result<Response, ApiError> {
    let id = job_id(&key)?;
    let outcome = if retry {
        queue.retry(id).await
    } else {
        queue.run_now(id).await
    };
    if let Err(err) = outcome {
        return refused(inertia, err);
    }
    let (action, notice) = if retry {
        ("retry", format!("Job {id} will run again."))
    } else {
        ("run_now", format!("Job {id} is ready to run now."))
    };
    let detail = format!("job {id}");
    Ok(done(&dashboard, &admin, inertia, (action, &detail, 1), notice).back())
}

/// `POST /admin/jobs/{id}/retry`.
pub(super) async fn retry(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    again(queue, dashboard, admin, key, inertia, true).await
}

/// `POST /admin/jobs/{id}/run`: a scheduled or blocked job becomes ready now.
pub(super) async fn run(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    again(queue, dashboard, admin, key, inertia, false).await
}

/// `POST /admin/jobs/{id}/discard`.
pub(super) async fn discard(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    headers: HeaderMap,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let id = job_id(&key)?;
    let state = match queue.job(id).await {
        Ok(job) => job.map(|j| j.state),
        Err(err) => return refused(inertia, err),
    };
    if let Err(err) = queue.discard(id).await {
        return refused(inertia, err);
    }
    let detail = format!("job {id}");
    let notice = format!("Job {id} was discarded.");
    let inertia = done(&dashboard, &admin, inertia, ("discard", &detail, 1), notice);
    // From the job's own page, which is gone with it: to the list it was on.
    let from_its_page = headers
        .get(REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| {
            r.split('?')
                .next()
                .unwrap_or(r)
                .ends_with(&format!("/admin/jobs/{id}"))
        });
    if from_its_page {
        let list = state.map_or("failed", super::filter::state_name);
        return Ok(inertia.redirect(&format!("/admin/jobs/{list}")));
    }
    Ok(inertia.back())
}

/// The state a bulk action's URL names, if the action applies to it.
fn bulk_state(key: &str, allowed: &[JobState]) -> Result<JobState, ApiError> {
    match state_named(key) {
        Some(state) if allowed.contains(&state) => Ok(state),
        Some(_) => Err(ApiError::BadRequest(format!(
            "this action does not apply to {key} jobs"
        ))),
        None => Err(ApiError::NotFound),
    }
}

/// `POST /admin/jobs/failed/retry_all` with the list's filter.
pub(super) async fn retry_all(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    inertia: Inertia,
    Input(fields): Input<FilterFields>,
) -> Result<Response, ApiError> {
    bulk_state(&key, &[JobState::Failed])?;
    let filter = fields.parse()?;
    let n = queue
        .retry_matching(&filter.engine)
        .await
        .map_err(ApiError::internal)?;
    let notice = format!("{} will run again.", plural(n, "failed job"));
    let detail = filter.describe();
    Ok(done(
        &dashboard,
        &admin,
        inertia,
        ("retry_all", &detail, n),
        notice,
    )
    .back())
}

/// `POST /admin/jobs/{state}/discard_all` with the list's filter (failed, ready, scheduled
/// or blocked jobs).
pub(super) async fn discard_all(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    inertia: Inertia,
    Input(fields): Input<FilterFields>,
) -> Result<Response, ApiError> {
    let state = bulk_state(
        &key,
        &[
            JobState::Failed,
            JobState::Ready,
            JobState::Scheduled,
            JobState::Blocked,
        ],
    )?;
    let filter = fields.parse()?;
    let n = queue
        .discard_matching(state, &filter.engine)
        .await
        .map_err(ApiError::internal)?;
    let notice = format!("Discarded {}.", plural(n, &format!("{key} job")));
    let detail = format!("{key} {}", filter.describe());
    Ok(done(
        &dashboard,
        &admin,
        inertia,
        ("discard_all", &detail, n),
        notice,
    )
    .back())
}

/// `POST /admin/jobs/recurring/{key}/run`: enqueues the task's job now.
pub(super) async fn run_task(
    State(queue): State<Queue>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(admin): SiteAdmin,
    Path(key): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    match queue.run_task_now(&key).await {
        Ok(id) => {
            let notice = format!("Enqueued job {id} for recurring task {key}.");
            Ok(done(&dashboard, &admin, inertia, ("run_task", &key, 1), notice).back())
        }
        Err(queue::Error::UnknownTask(_)) => Ok(inertia
            .flash("alert", format!("There is no recurring task {key}."))
            .back()),
        Err(err) => Err(ApiError::internal(err)),
    }
}
