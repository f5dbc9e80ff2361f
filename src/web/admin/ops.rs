//! `GET /admin/jobs/processes` (every worker, dispatcher and scheduler of every server on
//! the storage, with what each runs now) and `GET /admin/jobs/recurring` (the recurring
//! tasks, their last and next runs).

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::{SiteAdmin, millis, time, time_or_null};
use crate::inertia::{Inertia, Props};
use crate::queue::Queue;
use crate::web::ApiError;

/// What a process runs, from the metadata it registered with: its worker (threads and
/// queues), its dispatcher, its scheduler (recurring tasks).
fn roles(metadata: Option<&str>) -> Vec<String> {
    let Some(m) = metadata.and_then(|m| serde_json::from_str::<Value>(m).ok()) else {
        return Vec::new();
    };
    let mut roles = Vec::new();
    if let Some(threads) = m["thread_pool_size"].as_u64().filter(|t| *t > 0) {
        let queues = m["queues"].as_str().unwrap_or("*");
        roles.push(format!("worker: {threads} threads on {queues}"));
    }
    if m["dispatcher"].as_bool() == Some(true) {
        roles.push("dispatcher".to_owned());
    }
    if let Some(n) = m["recurring_tasks"].as_u64().filter(|n| *n > 0) {
        let tasks = if n == 1 { "task" } else { "tasks" };
        roles.push(format!("scheduler: {n} recurring {tasks}"));
    }
    roles
}

/// `GET /admin/jobs/processes`.
pub(super) async fn processes(
    State(queue): State<Queue>,
    SiteAdmin(_): SiteAdmin,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let now = queue.clock().now();
    let alive = queue.settings().alive_threshold;
    let details = queue.process_details().await.map_err(ApiError::internal)?;
    let processes: Vec<Value> = details
        .iter()
        .map(|p| {
            let age = now.since(p.row.last_heartbeat_at);
            let running: Vec<Value> = p
                .running
                .iter()
                .map(|j| {
                    json!({
                        "id": j.id.0,
                        "class_name": j.class_name,
                        "queue_name": j.queue_name,
                        "claimed_at": time(j.claimed_at),
                    })
                })
                .collect();
            json!({
                "id": p.row.id,
                "kind": p.row.kind,
                "name": p.row.name,
                "hostname": p.row.hostname,
                "pid": p.row.pid,
                "heartbeat_age_ms": millis(age),
                "last_heartbeat_at": time(p.row.last_heartbeat_at),
                "started_at": time(p.row.started_at),
                "stale": age > alive,
                "roles": roles(p.row.metadata.as_deref()),
                "running": running,
            })
        })
        .collect();
    Ok(inertia
        .render(
            "Admin/Jobs/Processes",
            Props::new()
                .prop("processes", processes)
                .prop("alive_threshold_ms", millis(alive)),
        )
        .await?)
}

/// `GET /admin/jobs/recurring`.
pub(super) async fn recurring(
    State(queue): State<Queue>,
    SiteAdmin(_): SiteAdmin,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let tasks = queue.recurring_tasks().await.map_err(ApiError::internal)?;
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|t| {
            json!({
                "key": t.key,
                "schedule": t.schedule,
                "class_name": t.class_name,
                "queue_name": t.queue_name,
                "priority": t.priority,
                "arguments": t.arguments.as_deref().map(|a| super::redact::arguments(a, false)),
                "description": t.description,
                "last_run_at": time_or_null(t.last_run_at),
                "last_job_id": t.last_job_id.map(|j| j.0),
                "next_run_at": time_or_null(t.next_run_at),
            })
        })
        .collect();
    Ok(inertia
        .render("Admin/Jobs/Recurring", Props::new().prop("tasks", tasks))
        .await?)
}
