//! PostgreSQL beside SQLite: one durable PostgreSQL cluster on this machine
//! (`pg::testing::Cluster::start_local(true)`: `fsync`, `synchronous_commit` and
//! `full_page_writes` at their defaults, on), and on it
//!
//! - **end to end across two servers**: two `trifecta serve --wake instant` children with
//!   the same `DATABASE_URL` and `TRIFECTA_SECRET_KEY_BASE`, half the subscribed sockets on
//!   each; every change is posted over HTTP to the first server, and each socket on either
//!   server is timed from the request to its frame. The stages come from the queue and cable
//!   tables, read from PostgreSQL after the run (from the first server's SQLite file for a
//!   store that `BENCH_PG_STORES` keeps on SQLite).
//! - **the queue** (`bench/queue.rs` with `QUEUE_BENCH_POSTGRES` set to the cluster), run by
//!   the report as an engine bench.
//!
//! `BENCH_PG_STORES` (default `all`) names the stores the two servers put on PostgreSQL,
//! e.g. `cable,cache`: the rest stay SQLite files of each server's own (then each server
//! signs its own user up, and the changes' jobs run on the first server).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use trifecta_store::pg::testing::Cluster;

use crate::pipeline::{self, BoxError, Received, Server, StageTimes};
use crate::support::Samples;

/// The secret key base of both servers, so that a session cookie made by one is good on the
/// other.
const SECRET: &str = "bench-secret-key-base-bench-secret-key-base-bench-secret-key-base";

/// The stores, as `BENCH_PG_STORES` names them.
const STORES: [&str; 4] = ["app", "queue", "cache", "cable"];

/// One end-to-end run on PostgreSQL.
pub struct Plan {
    /// Subscribed sockets, split evenly over the two servers.
    pub clients: usize,
    /// Todo creations.
    pub changes: usize,
    /// Gap between creations (open loop).
    pub gap: Duration,
}

/// A durable cluster for one report, and what it runs with.
pub struct Postgres {
    cluster: Cluster,
    /// `SHOW` of the settings the figures depend on, and the server version.
    pub settings: Value,
}

impl Postgres {
    /// Makes and starts the cluster (blocking: call it outside the runtime).
    ///
    /// # Errors
    /// No PostgreSQL installed, or a cluster that does not start.
    pub fn start() -> Result<Postgres, BoxError> {
        let cluster = Cluster::start_local(true)?;
        let admin = cluster.url("postgres");
        let settings = std::thread::scope(|s| s.spawn(|| settings(&admin)).join())
            .map_err(|_| "reading the cluster's settings panicked")??;
        Ok(Postgres { cluster, settings })
    }

    /// The server's URL without a database name (`postgres://postgres@127.0.0.1:PORT`), as
    /// the queue bench's `QUEUE_BENCH_POSTGRES` takes it.
    pub fn base_url(&self) -> String {
        let url = self.cluster.url("");
        url.trim_end_matches('/').to_owned()
    }
}

/// The server version and its durability settings.
fn settings(url: &str) -> Result<Value, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let task = tokio::spawn(conn);
        let mut out = serde_json::Map::new();
        for name in [
            "server_version",
            "fsync",
            "synchronous_commit",
            "full_page_writes",
            "wal_sync_method",
            "shared_buffers",
            "max_connections",
        ] {
            let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
            out.insert(name.to_owned(), json!(row.get::<_, String>(0)));
        }
        drop(client);
        let _ = task.await;
        Ok::<_, BoxError>(Value::Object(out))
    })
}

/// Which stores the servers put on PostgreSQL (`BENCH_PG_STORES`, default all four); the
/// cable must be one of them, or the second server's sockets never hear of a change.
fn stores_on_postgres() -> Result<Vec<&'static str>, BoxError> {
    let wanted = std::env::var("BENCH_PG_STORES").unwrap_or_default();
    if wanted.is_empty() || wanted == "all" {
        return Ok(STORES.to_vec());
    }
    let stores: Vec<&'static str> = wanted
        .split(',')
        .map(|w| {
            STORES.into_iter().find(|s| *s == w.trim()).ok_or_else(|| {
                BoxError::from(format!(
                    "BENCH_PG_STORES: no store {w:?} (app, queue, cache, cable)"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if !stores.contains(&"cable") {
        return Err("BENCH_PG_STORES must include cable: the servers meet through it".into());
    }
    Ok(stores)
}

/// The environment that puts `stores` on the database at `url`.
fn env_for(stores: &[&str], url: &str) -> Vec<(String, String)> {
    let mut env = vec![("TRIFECTA_SECRET_KEY_BASE".to_owned(), SECRET.to_owned())];
    if stores.len() == STORES.len() {
        env.push(("DATABASE_URL".to_owned(), url.to_owned()));
    } else {
        for s in stores {
            env.push((
                format!("TRIFECTA_{}_DATABASE_URL", s.to_uppercase()),
                url.to_owned(),
            ));
        }
    }
    env
}

/// The two-server run of `plan` on a fresh database of `pg`; `tick` after each change.
/// Returns its figures and its end-to-end samples (for the CDF).
///
/// # Errors
/// A server that does not start (or cannot use PostgreSQL), a failed request, or stage
/// times that cannot be read.
pub async fn end_to_end(
    bin: &Path,
    pg: &Postgres,
    plan: &Plan,
    tick: &(dyn Fn() + Sync),
) -> Result<(Value, Samples), BoxError> {
    let stores = stores_on_postgres()?;
    let url = pg.cluster.database("bench_end_to_end").await?;
    let env = env_for(&stores, &url);
    // One after the other: the first migrates, the second finds the schema current.
    let first = Server::start_env(bin, "instant", &env).await?;
    let second = Server::start_env(bin, "instant", &env).await?;
    let (client, xsrf, session) = pipeline::sign_up(first.addr).await?;
    let shared_app = stores.contains(&"app");
    let other_session = if shared_app {
        session.clone()
    } else {
        pipeline::sign_up(second.addr).await?.2
    };
    // Socket i is on the first server when i is even.
    let mut rx = pipeline::subscribe_all(plan.clients, |i| {
        if i % 2 == 0 {
            (first.addr, session.clone())
        } else {
            (second.addr, other_session.clone())
        }
    })
    .await?;
    let mut got = Received::new(plan.clients, plan.changes);
    let addr = first.addr;
    let sent = pipeline::post_open_loop(
        &client,
        addr,
        &xsrf,
        plan.changes,
        plan.gap,
        &mut rx,
        &mut got,
        tick,
    )
    .await?;
    let (jobs, broadcasts) = stage_times(&url, &stores, &first).await?;
    first.stop().await;
    second.stop().await;

    let outcome = pipeline::outcome(&sent, &jobs, &broadcasts, &got);
    // The sockets of each server apart: the first one ran the request (and, with the queue
    // on SQLite, the job); the second hears of each change through PostgreSQL only.
    let side = |parity: usize| {
        let mut s = Samples::default();
        let sockets = got.at.iter().enumerate().filter(|(c, _)| c % 2 == parity);
        for (_, at) in sockets {
            for ((req, _), t) in sent.iter().zip(at) {
                if let Some(t) = t {
                    s.push(Duration::from_micros((t - req).max(0) as u64));
                }
            }
        }
        s
    };
    let summary = json!({
        "servers": 2,
        "clients": plan.clients,
        "changes": plan.changes,
        "gap_ms": plan.gap.as_millis() as u64,
        "stores_on_postgres": stores,
        "stages": outcome.json(),
        "end_to_end": outcome.end_to_end().summary_ms(),
        "end_to_end_first_server": side(0).summary_ms(),
        "end_to_end_second_server": side(1).summary_ms(),
    });
    Ok((summary, outcome.end_to_end()))
}

/// `(created_at, finished_at)` of every `BroadcastTodos` job and `created_at` of every
/// broadcast on `todos`, in insertion order: from PostgreSQL for the stores on it, else from
/// the first server's files (where every change was posted).
async fn stage_times(url: &str, stores: &[&str], first: &Server) -> Result<StageTimes, BoxError> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(conn);
    let jobs_sql = "SELECT created_at, finished_at FROM solid_queue_jobs \
                    WHERE class_name LIKE '%BroadcastTodos%' ORDER BY id";
    let cable_sql =
        "SELECT created_at FROM solid_cable_messages WHERE channel_hash = $1 ORDER BY id";
    let hash = trifecta::cable::channel_hash("todos");
    let jobs: Vec<(i64, Option<i64>)> = if stores.contains(&"queue") {
        client
            .query(jobs_sql, &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    } else {
        let db = first.db("queue");
        tokio::task::spawn_blocking(move || sqlite_rows(&db, jobs_sql, None)).await??
    };
    let broadcasts: Vec<i64> = if stores.contains(&"cable") {
        client
            .query(cable_sql, &[&hash])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        let db = first.db("cable");
        tokio::task::spawn_blocking(move || sqlite_rows(&db, cable_sql, Some(hash)))
            .await??
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    };
    drop(client);
    let _ = task.await;
    Ok((jobs, broadcasts))
}

/// Rows of `sql` (one or two integer columns; `?1`/`$1` bound to `param`) of a SQLite file.
fn sqlite_rows(
    db: &Path,
    sql: &str,
    param: Option<i64>,
) -> Result<Vec<(i64, Option<i64>)>, BoxError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(db, flags)?;
    let mut stmt = conn.prepare(sql)?;
    let two = stmt.column_count() > 1;
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, if two { r.get(1)? } else { None }));
    let rows = match param {
        Some(p) => stmt.query_map([p], row)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

/// The Markdown of the end-to-end run `e` (as [`end_to_end`] returns it).
pub fn markdown(e: &Value) -> String {
    let mut out = format!(
        "Two servers on one PostgreSQL database (stores on PostgreSQL: {}), {} sockets split \
         evenly over them, {} changes posted to the first every {} ms, `--wake instant`.\n\n\
         | stage | count | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
        e["stores_on_postgres"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        e["clients"],
        e["changes"],
        e["gap_ms"],
    );
    let mut row = |name: &str, v: &Value| {
        if v["count"].as_u64().unwrap_or(0) > 0 {
            out += &format!(
                "| {name} | {} | {} | {} | {} | {} |\n",
                v["count"], v["p50"], v["p95"], v["p99"], v["max"]
            );
        }
    };
    for name in [
        "http_response",
        "request_to_enqueued",
        "enqueued_to_broadcast",
        "enqueued_to_finished",
        "broadcast_to_received",
        "end_to_end",
    ] {
        row(&name.replace('_', " "), &e["stages"][name]);
    }
    row(
        "end to end, sockets on the first server",
        &e["end_to_end_first_server"],
    );
    row(
        "end to end, sockets on the second server",
        &e["end_to_end_second_server"],
    );
    let missing = e["stages"]["missing_frames"].as_u64().unwrap_or(0);
    if missing > 0 {
        out += &format!("| **frames never received** | {missing} | | | | |\n");
    }
    out
}
