//! `GET /admin/jobs` (queues, counts by state, the last hour's charts), `GET
//! /admin/jobs/{state}` (one state's jobs, filtered, a page at a time) and `GET
//! /admin/jobs/{id}` (one job with every failed attempt).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::filter::{Filter, FilterFields, STATES, state_name, state_named};
use super::{SiteAdmin, count, millis, redact, time, time_or_null};
use crate::dashboard::hour_minutes;
use crate::inertia::{Inertia, Props};
use crate::queue::{Count, JobDetail, JobFilter, JobId, JobState, Minute, Queue};
use crate::store::Timestamp;
use crate::web::ApiError;

/// Jobs per list page.
pub(super) const PAGE: usize = 50;
/// Counts beyond this show as "more than".
pub(super) const COUNT_CAP: u64 = 10_000;
/// Characters of arguments a list row shows.
const ARGS_SHOWN: usize = 200;
/// The charts' span.
const HOUR: Duration = Duration::from_secs(3600);

/// The counts of every state under `filter`, keyed by URL state name.
async fn counts(queue: &Queue, filter: &JobFilter) -> Result<Value, ApiError> {
    let counts: BTreeMap<JobState, Count> = queue
        .counts(filter, COUNT_CAP)
        .await
        .map_err(ApiError::internal)?;
    let mut out = serde_json::Map::new();
    for (name, state) in STATES {
        let c = counts
            .get(&state)
            .copied()
            .unwrap_or(Count { n: 0, more: false });
        out.insert(name.to_owned(), count(&c));
    }
    Ok(Value::Object(out))
}

/// The last hour per minute, oldest first, empty minutes filled in.
pub(super) fn chart(now: Timestamp, minutes: &[Minute]) -> Value {
    let rows: Vec<Value> = hour_minutes(now)
        .map(|at| {
            let m = minutes.iter().find(|m| m.at == at);
            let get = |f: fn(&Minute) -> u64| m.map_or(0, f);
            let delay_count = get(|m| m.delay_count);
            json!({
                "at": at.to_rfc3339(),
                "enqueued": get(|m| m.enqueued),
                "finished": get(|m| m.finished),
                "failed": get(|m| m.failed),
                "delay_avg_ms": m.filter(|_| delay_count > 0)
                    .map(|m| m.delay_sum_us as f64 / delay_count as f64 / 1000.0),
                "delay_max_ms": m.filter(|_| delay_count > 0).map(|m| m.delay_max_us as f64 / 1000.0),
            })
        })
        .collect();
    json!({ "minutes": rows })
}

/// `GET /admin/jobs`.
pub(super) async fn overview(
    State(queue): State<Queue>,
    SiteAdmin(_): SiteAdmin,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let now = queue.clock().now();
    let queues = queue.queues().await.map_err(ApiError::internal)?;
    let queues: Vec<Value> = queues
        .iter()
        .map(|q| {
            json!({
                "name": q.name,
                "ready": q.ready,
                "scheduled": q.scheduled,
                "in_progress": q.claimed,
                "latency_ms": q.oldest_ready_at.map(|t| millis(now.since(t))),
                "paused": q.paused,
            })
        })
        .collect();
    let minutes = queue
        .minutes(now - HOUR)
        .await
        .map_err(ApiError::internal)?;
    let processes = queue.processes().await.map_err(ApiError::internal)?.len();
    Ok(inertia
        .render(
            "Admin/Jobs/Overview",
            Props::new()
                .prop("counts", counts(&queue, &JobFilter::default()).await?)
                .prop("queues", queues)
                .prop("chart", chart(now, &minutes))
                .prop("processes", processes),
        )
        .await?)
}

/// `GET /admin/jobs/{state}` or `GET /admin/jobs/{id}`.
pub(super) async fn list_or_show(
    State(queue): State<Queue>,
    admin: SiteAdmin,
    Path(key): Path<String>,
    Query(fields): Query<FilterFields>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    if let Some(state) = state_named(&key) {
        return list(queue, admin, state, fields, inertia).await;
    }
    match key.parse::<i64>() {
        Ok(id) if id > 0 => show(queue, admin, JobId(id), inertia).await,
        _ => Err(ApiError::NotFound),
    }
}

/// One row of a list.
fn row(summary: &crate::queue::JobSummary) -> Value {
    let j = &summary.info;
    json!({
        "id": j.id.0,
        "class_name": j.class_name,
        "queue_name": j.queue_name,
        "priority": j.priority,
        "executions": j.executions,
        "state": state_name(j.state),
        "at": time(summary.at),
        "arguments": redact::truncate(redact::arguments(&j.arguments, false), ARGS_SHOWN),
        "error": j.error.as_ref().map(|e| json!({
            "exception_class": e.exception_class,
            "message": redact::truncate(e.message.clone(), 300),
        })),
    })
}

async fn list(
    queue: Queue,
    _: SiteAdmin,
    state: JobState,
    fields: FilterFields,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let filter: Filter = fields.parse()?;
    if filter.cursor.as_ref().is_some_and(|c| c.state() != state) {
        return Err(ApiError::BadRequest(
            "cursor: a page of another list; start again from the first page".into(),
        ));
    }
    let page = queue
        .search(state, &filter.engine, filter.cursor.as_ref(), PAGE)
        .await
        .map_err(ApiError::internal)?;
    let jobs: Vec<Value> = page.jobs.iter().map(row).collect();
    let queue_names: Vec<String> = queue
        .queues()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|q| q.name)
        .collect();
    let class_names = queue.registry().names();
    Ok(inertia
        .render(
            "Admin/Jobs/List",
            Props::new()
                .prop("state", state_name(state))
                .prop("counts", counts(&queue, &filter.engine).await?)
                .prop("filter", filter.props())
                .prop("queue_names", queue_names)
                .prop("class_names", class_names)
                .prop("jobs", jobs)
                .prop("next_cursor", page.next.map(|c| c.to_string()))
                .prop("scan_limited", page.scan_limited),
        )
        .await?)
}

fn detail_props(d: &JobDetail) -> Value {
    let j = &d.info;
    let process = d.process.as_ref().map(|p| match &p.row {
        Some(row) => json!({
            "id": p.id, "kind": row.kind, "name": row.name, "hostname": row.hostname,
            "pid": row.pid, "alive": true,
        }),
        None => json!({
            "id": p.id, "kind": null, "name": null, "hostname": null, "pid": null, "alive": false,
        }),
    });
    let attempts: Vec<Value> = d
        .attempts
        .iter()
        .map(|a| {
            json!({
                "number": a.number,
                "at": time(a.at),
                "exception_class": a.error.exception_class,
                "message": a.error.message,
                "backtrace": a.error.backtrace,
                "process_id": a.process_id,
            })
        })
        .collect();
    json!({
        "id": j.id.0,
        "class_name": j.class_name,
        "queue_name": j.queue_name,
        "priority": j.priority,
        "state": state_name(j.state),
        "executions": j.executions,
        "arguments": redact::arguments(&j.arguments, true),
        "created_at": time(j.created_at),
        "scheduled_at": time_or_null(j.scheduled_at),
        "claimed_at": time_or_null(d.claimed_at),
        "failed_at": time_or_null(d.failed_at),
        "finished_at": time_or_null(j.finished_at),
        "request_id": d.request_id,
        "concurrency_key": d.concurrency_key,
        "process": process,
        "attempts": attempts,
    })
}

async fn show(
    queue: Queue,
    _: SiteAdmin,
    id: JobId,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let detail = queue
        .job_detail(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let state = detail.info.state;
    let actions = json!({
        "retry": state == JobState::Failed,
        "discard": matches!(state, JobState::Failed | JobState::Ready | JobState::Scheduled | JobState::Blocked),
        "run_now": matches!(state, JobState::Scheduled | JobState::Blocked),
    });
    Ok(inertia
        .render(
            "Admin/Jobs/Show",
            Props::new()
                .prop("job", detail_props(&detail))
                .prop("actions", actions),
        )
        .await?)
}
