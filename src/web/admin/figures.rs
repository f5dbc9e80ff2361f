//! `GET /admin/cache` and `GET /admin/cable`: what the cache and the cable hold and do.
//! Stored totals (entries, bytes, messages) are read from the stores and so cover every
//! server; rates, hit counts and sockets are this server's, and say so.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::{SiteAdmin, millis, time, time_or_null};
use crate::actioncable::ActionCable;
use crate::cable::Cable;
use crate::cache::Cache;
use crate::dashboard::Dashboard;
use crate::inertia::{Inertia, Props};
use crate::web::ApiError;

fn nonzero(v: u64) -> Value {
    if v == 0 { Value::Null } else { json!(v) }
}

/// `GET /admin/cache`.
pub(super) async fn cache(
    State(cache): State<Cache>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(_): SiteAdmin,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let stats = cache.stats().await.map_err(ApiError::internal)?;
    let options = cache.options();
    let reads = stats.hits + stats.misses;
    let servers: Vec<Value> = stats
        .servers
        .iter()
        .map(|s| {
            json!({
                "pid": s.pid,
                "hits": s.hits,
                "misses": s.misses,
                "started_at": time(s.started_at),
                "updated_at": time(s.updated_at),
            })
        })
        .collect();
    let minutes: Vec<Value> = dashboard
        .cache_minutes()
        .iter()
        .map(|m| {
            json!({
                "at": time(m.at),
                "hits": m.hits,
                "misses": m.misses,
                "writes": m.writes,
                "evictions": m.evictions,
            })
        })
        .collect();
    let figures = json!({
        "entries": stats.entries,
        "bytes": stats.bytes,
        "max_size": options.max_size.map_or(Value::Null, nonzero),
        "max_entries": options.max_entries.map_or(Value::Null, nonzero),
        "max_age_ms": options.max_age.map(millis),
        "hits": stats.hits,
        "misses": stats.misses,
        "hit_ratio": (reads > 0).then(|| stats.hits as f64 / reads as f64),
        "writes": cache.writes(),
        "evictions": cache.evictions(),
        "servers": servers,
    });
    Ok(inertia
        .render(
            "Admin/Cache",
            Props::new()
                .prop("cache", figures)
                .prop("chart", json!({ "minutes": minutes })),
        )
        .await?)
}

/// `GET /admin/cable`.
pub(super) async fn cable(
    State(cable): State<Cable>,
    State(actioncable): State<ActionCable>,
    State(dashboard): State<Dashboard>,
    SiteAdmin(_): SiteAdmin,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let table = cable.table_stats().await.map_err(ApiError::internal)?;
    let local = cable.local_stats();
    let server = actioncable.stats();
    let rates = dashboard.rates();
    let subscriptions: Vec<Value> = actioncable
        .subscriptions_by_channel()
        .into_iter()
        .map(|(channel, count)| json!({ "channel": channel, "count": count }))
        .collect();
    let minutes: Vec<Value> = dashboard
        .cable_minutes()
        .iter()
        .map(|m| {
            json!({
                "at": time(m.at),
                "broadcasts": m.broadcasts,
                "delivered": m.delivered,
                "lag_max_ms": m.lag_max.map(millis),
            })
        })
        .collect();
    let figures = json!({
        "sockets": server.connections,
        "subscriptions": subscriptions,
        "broadcasts_per_second": rates.broadcasts_per_second,
        "delivered_per_second": rates.delivered_per_second,
        "listener_lag_ms": rates.listener_lag.map(millis),
        "trimmed": local.trimmed,
        "messages": table.messages,
        "streams": table.channels,
        "payload_bytes": table.payload_bytes,
        "oldest_at": time_or_null(table.oldest),
        "slow_disconnects": server.slow_disconnects,
        "rejected_connections": server.rejected_connections,
    });
    Ok(inertia
        .render(
            "Admin/Cable",
            Props::new()
                .prop("cable", figures)
                .prop("chart", json!({ "minutes": minutes })),
        )
        .await?)
}
