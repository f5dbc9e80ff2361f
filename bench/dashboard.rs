//! The operations dashboard on a big queue file: 1,000,000 finished jobs, 100,000 failed
//! and 10,000 ready (their queues paused, so they stay), plus 2,000 scheduled, spread over
//! the last 20 hours and written
//! straight into the migrated queue file before a `trifecta serve` child starts. Then every
//! dashboard page (each list with and without filters, a second page, a job, processes,
//! recurring tasks, cache, cable) and every action (one job retried, discarded, run now; a
//! queue paused and resumed; retry and discard by a filter matching a few dozen jobs) is
//! timed, one request after another, as a signed-in site admin's Inertia visits.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pipeline::{BoxError, Server, sign_up};
use crate::support::Samples;

/// The seeded file's sizes.
pub const FINISHED: i64 = 1_000_000;
/// Failed jobs.
pub const FAILED: i64 = 100_000;
/// Ready jobs.
pub const READY: i64 = 10_000;
const SCHEDULED: i64 = 2_000;

const CLASSES: [&str; 5] = [
    "MailerJob",
    "WebhookJob",
    "ReportJob",
    "ImportJob",
    "CleanupJob",
];
const QUEUES: [&str; 4] = ["default", "mail", "webhooks", "reports"];
/// Seeded jobs are spread over the past 20 hours: finished jobs older than a day would be
/// cleared by the server's dispatcher (`clear_finished_jobs_after`).
const SPAN_US: i64 = 20 * 3600 * 1_000_000;

fn now_us() -> i64 {
    crate::pipeline::now_us()
}

/// Writes the jobs into the migrated queue file of `dir` in one transaction.
fn seed(dir: &Path) -> Result<(), BoxError> {
    let mut conn = rusqlite::Connection::open(dir.join("bench_queue.sqlite3"))?;
    let tx = conn.transaction()?;
    let start = now_us() - SPAN_US;
    let total = FINISHED + FAILED + READY + SCHEDULED;
    let step = SPAN_US / total;
    {
        let mut job = tx.prepare(
            "INSERT INTO solid_queue_jobs (id, queue_name, class_name, arguments, priority,
               executions, scheduled_at, finished_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?6, ?6)",
        )?;
        let mut failed = tx.prepare(
            "INSERT INTO solid_queue_failed_executions (job_id, error, created_at) VALUES (?1, ?2, ?3)",
        )?;
        let mut ready = tx.prepare(
            "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
             VALUES (?1, ?2, 0, ?3)",
        )?;
        let mut scheduled = tx.prepare(
            "INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at)
             VALUES (?1, ?2, 0, ?3, ?4)",
        )?;
        let error = json!({
            "exception_class": "Net::ReadTimeout",
            "message": "execution expired",
            "backtrace": ["app/jobs/webhook_job.rb:12:in `perform'", "lib/http.rb:40:in `post'"],
        })
        .to_string();
        // Interleaved as a real queue's would be: mostly finished, a failure every tenth
        // of the failed share, the ready and scheduled ones newest.
        for id in 1..=total {
            let at = start + id * step;
            let class = CLASSES[(id % 5) as usize];
            let queue = QUEUES[(id % 4) as usize];
            let args = format!(r#"{{"user_id":{id},"token":"secret-{id}"}}"#);
            let kind = if id > FINISHED + FAILED + READY {
                2
            } else if id > FINISHED + FAILED {
                1
            } else if id % 11 == 0 && id / 11 <= FAILED {
                3
            } else {
                0
            };
            match kind {
                0 => {
                    job.execute(rusqlite::params![
                        id,
                        queue,
                        class,
                        args,
                        1,
                        at,
                        at + 40_000
                    ])?;
                }
                3 => {
                    job.execute(rusqlite::params![
                        id,
                        queue,
                        class,
                        args,
                        1,
                        at,
                        None::<i64>
                    ])?;
                    failed.execute(rusqlite::params![id, error, at + 40_000])?;
                }
                1 => {
                    job.execute(rusqlite::params![
                        id,
                        queue,
                        class,
                        args,
                        0,
                        at,
                        None::<i64>
                    ])?;
                    ready.execute(rusqlite::params![id, queue, at])?;
                }
                _ => {
                    let due = now_us() + 3_600_000_000;
                    job.execute(rusqlite::params![
                        id,
                        queue,
                        class,
                        args,
                        0,
                        due,
                        None::<i64>
                    ])?;
                    scheduled.execute(rusqlite::params![id, queue, due, at])?;
                }
            }
        }
        let mut pause =
            tx.prepare("INSERT INTO solid_queue_pauses (queue_name, created_at) VALUES (?1, ?2)")?;
        for q in QUEUES {
            pause.execute(rusqlite::params![q, now_us()])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// What the file holds after seeding, and when job 1 was created.
fn counts(dir: &Path) -> Result<Value, BoxError> {
    let conn = rusqlite::Connection::open(dir.join("bench_queue.sqlite3"))?;
    let n = |sql: &str| -> rusqlite::Result<i64> { conn.query_row(sql, [], |r| r.get(0)) };
    Ok(json!({
        "finished": n("SELECT count(*) FROM solid_queue_jobs WHERE finished_at IS NOT NULL")?,
        "failed": n("SELECT count(*) FROM solid_queue_failed_executions")?,
        "ready": n("SELECT count(*) FROM solid_queue_ready_executions")?,
        "scheduled": n("SELECT count(*) FROM solid_queue_scheduled_executions")?,
        "start_us": n("SELECT created_at FROM solid_queue_jobs WHERE id = 1")?,
    }))
}

struct Admin {
    client: reqwest::Client,
    base: String,
    xsrf: String,
    version: String,
}

impl Admin {
    async fn visit(&self, path: &str) -> Result<Duration, BoxError> {
        let t = Instant::now();
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("x-inertia", "true")
            .header("x-inertia-version", &self.version)
            .header("x-requested-with", "XMLHttpRequest")
            .send()
            .await?;
        let status = res.status();
        res.bytes().await?;
        let took = t.elapsed();
        if status != 200 {
            return Err(format!("GET {path}: {status}").into());
        }
        Ok(took)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Duration, BoxError> {
        let t = Instant::now();
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-inertia", "true")
            .header("x-inertia-version", &self.version)
            .header("x-xsrf-token", &self.xsrf)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        res.bytes().await?;
        let took = t.elapsed();
        if !status.is_redirection() {
            return Err(format!("POST {path}: {status}").into());
        }
        Ok(took)
    }

    async fn page(&self, path: &str) -> Result<Value, BoxError> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("x-inertia", "true")
            .header("x-inertia-version", &self.version)
            .send()
            .await?;
        Ok(res.json().await?)
    }
}

/// The asset version of the server's pages (from a first visit's embedded page object).
async fn version(client: &reqwest::Client, base: &str) -> Result<String, BoxError> {
    let html = client
        .get(format!("{base}/admin/jobs"))
        .send()
        .await?
        .text()
        .await?;
    let marker = r#""version":""#;
    let start = html.find(marker).ok_or("no page version")? + marker.len();
    let end = start + html[start..].find('"').ok_or("no page version")?;
    Ok(html[start..end].to_owned())
}

fn time(us: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_micros(us as u64);
    humantime::format_rfc3339_micros(t).to_string()
}

/// Runs the dashboard bench with `rounds` requests per page and action.
pub async fn run(bin: &Path, rounds: usize) -> Result<Value, BoxError> {
    let seeding = Instant::now();
    let server = Server::start_prepared(bin, "instant", seed).await?;
    let seeded_in = seeding.elapsed();
    let seeded = counts(server.dir.path())?;
    let (client, xsrf, _) = sign_up(server.addr).await?;
    let base = format!("http://{}", server.addr);
    let admin = Admin {
        version: version(&client, &base).await?,
        client,
        base,
        xsrf,
    };
    // The seeded times, from job 1 (ids are spaced `step` apart from there).
    let start = seeded["start_us"].as_i64().ok_or("no job 1")?;
    let hour = |h: i64| time(start + h * 3600 * 1_000_000);
    let failed_page = admin.page("/admin/jobs/failed").await?;
    let cursor = failed_page["props"]["next_cursor"]
        .as_str()
        .ok_or("no second page of failed jobs")?
        .to_owned();
    let finished = admin.page("/admin/jobs/finished").await?;
    let finished_cursor = finished["props"]["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let a_failed = failed_page["props"]["jobs"][0]["id"]
        .as_i64()
        .ok_or("no failed job")?;

    let pages: Vec<(String, String)> = [
        ("overview", "/admin/jobs".to_owned()),
        ("ready", "/admin/jobs/ready".to_owned()),
        ("ready by queue", "/admin/jobs/ready?queue=mail".to_owned()),
        ("scheduled", "/admin/jobs/scheduled".to_owned()),
        ("in progress", "/admin/jobs/in_progress".to_owned()),
        ("blocked", "/admin/jobs/blocked".to_owned()),
        ("failed", "/admin/jobs/failed".to_owned()),
        (
            "failed, page 2",
            format!("/admin/jobs/failed?cursor={cursor}"),
        ),
        (
            "failed by class",
            "/admin/jobs/failed?class=ReportJob".to_owned(),
        ),
        (
            "failed by queue and class",
            "/admin/jobs/failed?queue=mail&class=MailerJob".to_owned(),
        ),
        (
            "failed in an hour",
            format!("/admin/jobs/failed?from={}&to={}", hour(2), hour(3)),
        ),
        ("finished", "/admin/jobs/finished".to_owned()),
        (
            "finished, page 2",
            format!("/admin/jobs/finished?cursor={finished_cursor}"),
        ),
        (
            "finished by class",
            "/admin/jobs/finished?class=ImportJob".to_owned(),
        ),
        (
            "finished by unknown class",
            "/admin/jobs/finished?class=NoSuchJob".to_owned(),
        ),
        (
            "finished in an hour",
            format!("/admin/jobs/finished?from={}&to={}", hour(4), hour(5)),
        ),
        ("job", format!("/admin/jobs/{a_failed}")),
        ("processes", "/admin/jobs/processes".to_owned()),
        ("recurring", "/admin/jobs/recurring".to_owned()),
        ("cache", "/admin/cache".to_owned()),
        ("cable", "/admin/cable".to_owned()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b))
    .collect();

    let mut figures = serde_json::Map::new();
    for (label, path) in &pages {
        // One unmeasured visit first: the statement caches of a fresh connection.
        admin.visit(path).await?;
        let mut s = Samples::default();
        for _ in 0..rounds {
            s.push(admin.visit(path).await?);
        }
        figures.insert(label.clone(), s.summary_ms());
    }

    // Actions, each on jobs of its own: failed ids are multiples of 11 up to 1.1 M.
    let failed_ids = (1..=FAILED).map(|k| k * 11).rev();
    let mut ids = failed_ids;
    let mut retry = Samples::default();
    let mut discard = Samples::default();
    for _ in 0..rounds {
        let id = ids.next().ok_or("out of failed jobs")?;
        retry.push(
            admin
                .post(&format!("/admin/jobs/{id}/retry"), json!({}))
                .await?,
        );
        let id = ids.next().ok_or("out of failed jobs")?;
        discard.push(
            admin
                .post(&format!("/admin/jobs/{id}/discard"), json!({}))
                .await?,
        );
    }
    figures.insert("retry one".into(), retry.summary_ms());
    figures.insert("discard one".into(), discard.summary_ms());
    let mut run_now = Samples::default();
    let first_scheduled = FINISHED + FAILED + READY + 1;
    for k in 0..rounds as i64 {
        run_now.push(
            admin
                .post(
                    &format!("/admin/jobs/{}/run", first_scheduled + k),
                    json!({}),
                )
                .await?,
        );
    }
    figures.insert("run one now".into(), run_now.summary_ms());
    let mut pause = Samples::default();
    for k in 0..rounds {
        let action = if k % 2 == 0 { "resume" } else { "pause" };
        pause.push(
            admin
                .post(&format!("/admin/jobs/queues/default/{action}"), json!({}))
                .await?,
        );
    }
    figures.insert("pause or resume".into(), pause.summary_ms());
    // Bulk actions on a filter of a few minutes: some 50 failed jobs, some 20 ready ones.
    let mut retry_all = Samples::default();
    let mut discard_all = Samples::default();
    let total = FINISHED + FAILED + READY + SCHEDULED;
    let step = SPAN_US / total;
    for k in 0..rounds as i64 {
        let from = start + (k * 600) * step;
        let body = json!({"from": time(from), "to": time(from + 550 * step)});
        retry_all.push(admin.post("/admin/jobs/failed/retry_all", body).await?);
        let from = start + (FINISHED + FAILED + k * 25) * step;
        let body = json!({"from": time(from), "to": time(from + 20 * step)});
        discard_all.push(admin.post("/admin/jobs/ready/discard_all", body).await?);
    }
    figures.insert("retry all matching (~50)".into(), retry_all.summary_ms());
    figures.insert(
        "discard all matching (~20)".into(),
        discard_all.summary_ms(),
    );
    server.stop().await;
    Ok(json!({
        "seeded": seeded,
        "seed_s": (seeded_in.as_secs_f64() * 10.0).round() / 10.0,
        "rounds": rounds,
        "requests": figures,
    }))
}
