//! `--metrics-bind`: the Prometheus endpoint of a real `trifecta serve` process. Its text
//! passes `promtool check metrics` (Debian's `prometheus` package; `make test` installs it),
//! and its counters move with real traffic: HTTP requests, a job run, cache hits and
//! misses, a socket with subscriptions and broadcasts, a broadcast from another process.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::cable_client::Client;
use crate::helpers::{Browser, ChildServer, TestResult, run_cli_env, socket_at, wait_for};

/// Child servers hash with the minimum bcrypt cost, as the in-process ones do.
const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];
const TODOS: &str = r#"{"channel":"TodosChannel"}"#;
const TODOS_AGAIN: &str = r#"{"channel":"TodosChannel","n":2}"#;
const WAIT: Duration = Duration::from_secs(10);

/// A server with `--metrics-bind 127.0.0.1:0`, and the address its metrics line announced.
fn serve_with_metrics(dir: &std::path::Path) -> (ChildServer, SocketAddr) {
    let server = ChildServer::spawn_env(dir, &["--metrics-bind", "127.0.0.1:0"], &COST);
    let addr = metrics_addr(&server).expect("a `metrics listening metrics=ADDR` line");
    (server, addr)
}

/// The address of the `metrics listening metrics=ADDR` line (logged before the app's
/// `listening` line, so it is in the log once the server is up).
pub fn metrics_addr(server: &ChildServer) -> Option<SocketAddr> {
    server.log.lock().expect("log").iter().find_map(|line| {
        line.contains("metrics listening")
            .then(|| {
                line.split("metrics=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .flatten()
    })
}

pub async fn scrape(addr: SocketAddr) -> String {
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200);
    res.text().await.expect("metrics text")
}

/// Runs `promtool check metrics` on `text`: its parser and its linter (help text, `_total`
/// on counters, units) must accept every line.
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package `prometheus`; `make test` installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write metrics to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- text ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sum of the samples of `name` whose labels include every pair of `labels`; `None`
/// when there is no such sample.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, label_text) = match series.split_once('{') {
            Some((m, rest)) => (m, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let has_all = labels
            .iter()
            .all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
        if has_all {
            let v: f64 = value.parse().expect("sample value");
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{text}"))
}

/// Subscribes to `TodosChannel` as `identifier`: the list (transmitted while subscribing)
/// and the confirmation arrive.
async fn subscribe(socket: &mut Client, identifier: &str) {
    socket
        .send(json!({"command": "subscribe", "identifier": identifier}))
        .await;
    let frames = [socket.receive().await, socket.receive().await];
    assert!(
        frames.contains(&crate::cable_client::ack(identifier)),
        "{frames:?}"
    );
    assert!(
        frames.iter().any(|f| f["message"]["todos"].is_array()),
        "{frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_real_traffic_and_pass_promtool() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (server, metrics) = serve_with_metrics(dir.path());
    let before = scrape(metrics).await;
    promtool_check(&before);
    assert!(value(&before, "trifecta_process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(&before, "trifecta_process_open_fds", &[]) > 3.0);
    assert!(value(&before, "trifecta_process_max_fds", &[]) > 0.0);
    assert!(sample(&before, "trifecta_process_cpu_seconds_total", &[]).is_some());
    for db in ["app", "queue", "cache", "cable"] {
        assert!(
            value(&before, "trifecta_sqlite_file_bytes", &[("db", db)]) > 0.0,
            "{db}"
        );
        assert!(sample(&before, "trifecta_sqlite_wal_bytes", &[("db", db)]).is_some());
    }
    let cache_hits = |t: &str| value(t, "trifecta_cache_hits_total", &[]);
    let cache_misses = |t: &str| value(t, "trifecta_cache_misses_total", &[]);
    assert_eq!(cache_hits(&before), 0.0);
    assert_eq!(cache_misses(&before), 0.0);
    assert_eq!(value(&before, "trifecta_cable_open_sockets", &[]), 0.0);
    assert_eq!(sample(&before, "trifecta_http_requests_total", &[]), None);
    // The engines' counters are registered when the engines are built, so they start at 0
    // rather than appearing with their first event.
    for counter in [
        "trifecta_jobs_enqueued_total",
        "trifecta_jobs_finished_total",
        "trifecta_cable_broadcasts_total",
        "trifecta_cache_writes_total",
    ] {
        assert_eq!(sample(&before, counter, &[]), Some(0.0), "{counter}");
    }

    // HTTP: a sign-up (GET /login for the token, POST /registration) and a 404.
    let browser = Browser::new(server.addr, "");
    let res = browser
        .sign_up("ann@example.com", "correct horse battery")
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    assert_eq!(browser.get("/no-such-page").await.status(), 404);

    // A socket, two subscriptions: the first reads the list through the cache (a miss,
    // then a write), the second finds it there (a hit).
    let mut socket = socket_at(server.addr, &browser).await;
    subscribe(&mut socket, TODOS).await;
    subscribe(&mut socket, TODOS_AGAIN).await;

    // A todo: POST /todos enqueues BroadcastTodos, whose run broadcasts to both
    // subscriptions of the socket.
    let res = browser
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "counted"}}),
        )
        .await;
    assert!(res.status().is_redirection(), "create: {}", res.status());
    for _ in 0..2 {
        let frame = socket.receive().await;
        assert!(frame.to_string().contains("counted"), "{frame}");
    }
    // Another process broadcasts; this server's listener reads it (the lag histogram).
    let (status, _, err) = run_cli_env(
        dir.path(),
        &["cable", "broadcast", "todos", r#"{"from":"cli"}"#],
        &COST,
    );
    assert!(status.success(), "{err}");
    for _ in 0..2 {
        let frame = socket.receive().await;
        assert!(frame.to_string().contains("cli"), "{frame}");
    }

    let after = wait_for("the job and the frames counted", WAIT, || async {
        let text = scrape(metrics).await;
        let done = sample(&text, "trifecta_jobs_finished_total", &[]).unwrap_or(0.0) >= 1.0
            && sample(&text, "trifecta_cable_frames_delivered_total", &[]).unwrap_or(0.0) >= 4.0
            && sample(&text, "trifecta_cable_listener_lag_seconds_count", &[]).unwrap_or(0.0)
                >= 1.0;
        done.then_some(text)
    })
    .await;
    promtool_check(&after);

    let requests = |route: &str, method: &str, status: &str| {
        value(
            &after,
            "trifecta_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert!(requests("/login", "GET", "200") >= 1.0);
    assert_eq!(requests("/registration", "POST", "302"), 1.0);
    assert_eq!(requests("/todos", "POST", "302"), 1.0);
    assert_eq!(requests("/cable", "GET", "101"), 1.0);
    assert_eq!(requests("unmatched", "GET", "404"), 1.0);
    assert_eq!(
        value(
            &after,
            "trifecta_http_request_duration_seconds_count",
            &[("route", "/todos"), ("method", "POST")]
        ),
        1.0
    );
    assert!(
        value(
            &after,
            "trifecta_http_request_duration_seconds_sum",
            &[("route", "/todos"), ("method", "POST")]
        ) > 0.0
    );

    assert!(value(&after, "trifecta_jobs_enqueued_total", &[]) >= 1.0);
    assert!(value(&after, "trifecta_jobs_start_delay_seconds_count", &[]) >= 1.0);
    assert!(value(&after, "trifecta_jobs", &[("state", "finished")]) >= 1.0);
    assert_eq!(value(&after, "trifecta_jobs", &[("state", "failed")]), 0.0);
    assert_eq!(value(&after, "trifecta_jobs_busy_threads", &[]), 0.0);

    assert!(cache_misses(&after) >= 1.0);
    assert!(cache_hits(&after) >= 1.0);
    assert!(value(&after, "trifecta_cache_writes_total", &[]) >= 1.0);
    assert!(value(&after, "trifecta_cache_entries", &[]) >= 1.0);
    assert!(value(&after, "trifecta_cache_bytes", &[]) > 0.0);

    assert_eq!(value(&after, "trifecta_cable_open_sockets", &[]), 1.0);
    assert_eq!(
        value(
            &after,
            "trifecta_cable_subscriptions",
            &[("channel", "TodosChannel")]
        ),
        2.0
    );
    assert!(value(&after, "trifecta_cable_broadcasts_total", &[]) >= 1.0);
    assert_eq!(
        value(
            &after,
            "trifecta_cable_slow_consumer_disconnects_total",
            &[]
        ),
        0.0
    );
    for db in ["app", "queue", "cache", "cable"] {
        assert!(
            value(
                &after,
                "trifecta_sqlite_write_wait_seconds_count",
                &[("db", db)]
            ) >= 1.0,
            "{db}"
        );
    }

    // Closing the socket ends its subscriptions.
    socket.close().await;
    let closed = wait_for("the socket's gauges back to zero", WAIT, || async {
        let text = scrape(metrics).await;
        let zero = value(&text, "trifecta_cable_open_sockets", &[]) == 0.0
            && value(
                &text,
                "trifecta_cable_subscriptions",
                &[("channel", "TodosChannel")],
            ) == 0.0;
        zero.then_some(text)
    })
    .await;
    promtool_check(&closed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listener_is_separate_and_off_by_default() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (server, metrics) = serve_with_metrics(dir.path());
    assert_ne!(server.addr, metrics);
    let client = reqwest::Client::new();
    // Not on the app's port...
    let res = client.get(server.url("/metrics")).send().await?;
    assert_eq!(res.status(), 404);
    // ...and nothing of the app on the metrics port, with no cookie.
    for path in ["/", "/up", "/login", "/cable"] {
        let res = client.get(format!("http://{metrics}{path}")).send().await?;
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(res.headers().get("set-cookie").is_none());
    drop(server);

    let plain = ChildServer::spawn_env(dir.path(), &[], &COST);
    assert_eq!(metrics_addr(&plain), None);
    let res = client.get(plain.url("/metrics")).send().await?;
    assert_eq!(res.status(), 404);
    Ok(())
}

#[test]
fn a_taken_metrics_port_fails_with_a_clear_message() -> TestResult {
    let dir = tempfile::tempdir()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let (status, _, err) = run_cli_env(
        dir.path(),
        &["serve", "--bind", "127.0.0.1:0", "--metrics-bind", &addr],
        &COST,
    );
    assert!(!status.success());
    assert!(
        err.contains(&format!(
            "cannot listen on {addr} for metrics (--metrics-bind)"
        )),
        "{err}"
    );
    Ok(())
}
