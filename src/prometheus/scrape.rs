//! `GET /metrics`: refreshes the figures read at scrape time (jobs by state, cache totals
//! and counters, sockets, file sizes or PostgreSQL pools, the process), then renders every metric in the
//! Prometheus text format. A figure that cannot be read now (a busy file) keeps its last
//! value and is logged; the scrape still answers.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use indexmap::IndexMap;
use metrics::{Key, counter, gauge};
use metrics_exporter_prometheus::{LabelSet, formatting};

use super::Exporter;
use super::names::{
    CABLE_FRAMES, CABLE_SLOW, CABLE_SOCKETS, CACHE_BYTES, CACHE_ENTRIES, CACHE_HITS, CACHE_MISSES,
    JOBS, PG_IDLE, PG_OPEN, PG_WAITING, PROCESS_CPU, PROCESS_CPU_HELP, PROCESS_FDS,
    PROCESS_MAX_FDS, PROCESS_RSS, SQLITE_FILE, SQLITE_WAL,
};
use super::process;
use crate::actioncable::ActionCable;
use crate::cache::Cache;
use crate::queue::Queue;
use crate::stores::Stores;

/// The text exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The handles whose figures are read at scrape time.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The four databases (file and WAL sizes).
    pub stores: Stores,
    /// Jobs by state.
    pub queue: Queue,
    /// Entries, bytes, hits and misses.
    pub cache: Cache,
    /// Open sockets and slow-consumer disconnects.
    pub actioncable: ActionCable,
}

#[derive(Clone)]
struct Scrape {
    exporter: Exporter,
    sources: Sources,
}

/// The metrics listener's whole router: `GET /metrics`, and 404 for anything else.
pub(super) fn router(exporter: Exporter, sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(Scrape { exporter, sources })
}

async fn metrics(State(scrape): State<Scrape>) -> impl IntoResponse {
    let cpu_seconds = refresh(&scrape.sources).await;
    let mut body = scrape.exporter.render();
    if let Some(seconds) = cpu_seconds {
        write_cpu(&mut body, seconds);
    }
    ([(CONTENT_TYPE, TEXT_FORMAT)], body)
}

/// Appends the CPU-time counter with the exporter's own formatter: the facade's counters
/// hold integers, and CPU seconds are fractional.
fn write_cpu(body: &mut String, seconds: f64) {
    let no_labels =
        LabelSet::from_key_and_global(&Key::from_static_name(PROCESS_CPU), &IndexMap::new());
    formatting::write_help_line(body, PROCESS_CPU, None, None, PROCESS_CPU_HELP);
    formatting::write_type_line(body, PROCESS_CPU, None, None, "counter");
    formatting::write_metric_line::<&str, f64>(
        body,
        PROCESS_CPU,
        None,
        &no_labels,
        None,
        seconds,
        None,
    );
}

/// Sets every scrape-time figure; returns the process's CPU seconds when readable.
async fn refresh(s: &Sources) -> Option<f64> {
    match s.queue.stats().await {
        Ok(stats) => {
            for (state, n) in stats.totals {
                gauge!(JOBS, "state" => state).set(n as f64);
            }
        }
        Err(err) => tracing::warn!(cause = %err, "metrics: cannot count jobs by state"),
    }
    counter!(CACHE_HITS).absolute(s.cache.hits());
    counter!(CACHE_MISSES).absolute(s.cache.misses());
    match s.cache.stats().await {
        Ok(stats) => {
            gauge!(CACHE_ENTRIES).set(stats.entries as f64);
            gauge!(CACHE_BYTES).set(stats.bytes as f64);
        }
        Err(err) => tracing::warn!(cause = %err, "metrics: cannot read the cache totals"),
    }
    let cable = s.actioncable.stats();
    gauge!(CABLE_SOCKETS).set(cable.connections as f64);
    counter!(CABLE_SLOW).absolute(cable.slow_disconnects);
    counter!(CABLE_FRAMES).absolute(cable.frames_delivered);
    for kind in crate::stores::StoreKind::ALL {
        if let Some(pg) = s.stores.get(kind).postgres() {
            let (open, idle, waiting) = pg.pool_status();
            gauge!(PG_OPEN, "db" => kind.name()).set(open as f64);
            gauge!(PG_IDLE, "db" => kind.name()).set(idle as f64);
            gauge!(PG_WAITING, "db" => kind.name()).set(waiting as f64);
        }
    }
    let stores = s.stores.clone();
    let sizes = tokio::task::spawn_blocking(move || {
        // Stores on PostgreSQL have no file here: the server reports its own sizes.
        stores
            .files()
            .into_iter()
            .map(|(kind, db)| {
                let path = db.path().to_path_buf();
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                (kind.name(), file_size(&path), file_size(wal.as_ref()))
            })
            .collect::<Vec<_>>()
    })
    .await;
    match sizes {
        Ok(sizes) => {
            for (db, file, wal) in sizes {
                gauge!(SQLITE_FILE, "db" => db).set(file as f64);
                gauge!(SQLITE_WAL, "db" => db).set(wal as f64);
            }
        }
        Err(err) => tracing::warn!(cause = %err, "metrics: cannot read the database sizes"),
    }
    match process::read() {
        Ok(p) => {
            gauge!(PROCESS_RSS).set(p.rss_bytes as f64);
            gauge!(PROCESS_FDS).set(p.open_fds as f64);
            gauge!(PROCESS_MAX_FDS).set(p.max_fds as f64);
            Some(p.cpu_seconds)
        }
        Err(err) => {
            tracing::debug!(cause = %err, "metrics: no process figures");
            None
        }
    }
}

/// The size of the file at `path`; 0 when it does not exist (a WAL between checkpoints
/// of a closed database, for one).
fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
