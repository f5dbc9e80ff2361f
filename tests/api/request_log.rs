//! Request logs and request ids, through the real binary in both log formats: one line per
//! request at `info` with method, route, status, duration, client and request id; the id of
//! a trusted proxy kept (a malformed one replaced), returned in `X-Request-Id`, and on the
//! log lines of the job the request enqueued; `/up` and assets only at `debug`.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Browser, ChildServer, TestResult, wait_for};

const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];
/// Jobs log their outcome at `debug`; everything else at `info`.
const FILTER: &str = "info,trifecta_queue=debug";

/// A signed-up browser of `server`.
async fn signed_up(server: &ChildServer) -> Browser {
    let browser = Browser::new(server.addr, "");
    let res = browser
        .send_form(
            reqwest::Method::POST,
            "/registration",
            &[
                ("email_address", "ann@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    browser
}

/// `POST /todos` as `browser`, with `X-Request-Id: id` when given; returns the response's
/// request id.
async fn post_todo(browser: &Browser, id: Option<&str>) -> TestResult<String> {
    let token = browser.cookie("XSRF-TOKEN").ok_or("no XSRF-TOKEN")?;
    let mut req = browser
        .client
        .post(format!("{}/todos", browser.base))
        .header("x-xsrf-token", token)
        .json(&serde_json::json!({"todo": {"title": "write the logs"}}));
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await?;
    assert!(
        res.status().is_redirection(),
        "POST /todos: {}",
        res.status()
    );
    Ok(res
        .headers()
        .get("x-request-id")
        .ok_or("no X-Request-Id")?
        .to_str()?
        .to_owned())
}

/// A GET of `path` without extras; returns the response's request id.
async fn get(server: &ChildServer, path: &str, id: Option<&str>) -> TestResult<String> {
    let mut req = reqwest::Client::new().get(server.url(path));
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await?;
    Ok(res
        .headers()
        .get("x-request-id")
        .ok_or("no X-Request-Id")?
        .to_str()?
        .to_owned())
}

/// Waits for a log line of `server` that `matches`; returns it.
async fn line(server: &ChildServer, label: &str, matches: impl Fn(&str) -> bool) -> String {
    wait_for(label, Duration::from_secs(10), || {
        let found = server
            .log
            .lock()
            .expect("log")
            .iter()
            .find(|l| matches(l))
            .cloned();
        async move { found }
    })
    .await
}

fn lines(server: &ChildServer) -> Vec<String> {
    server.log.lock().expect("log").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_have_a_line_per_request_and_the_request_id_on_its_job() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_logging(dir.path(), FILTER, &[], &COST);
    let browser = signed_up(&server).await;

    let id = post_todo(&browser, Some("todo-request-1")).await?;
    assert_eq!(id, "todo-request-1", "a trusted proxy's id is kept");
    let request = line(&server, "the POST /todos line", |l| {
        l.contains("request_id=todo-request-1") && l.contains("completed")
    })
    .await;
    assert!(request.contains(" INFO "), "{request}");
    for part in [
        "method=POST",
        "route=/todos",
        "client=127.0.0.1",
        "status=302",
        "duration_ms=",
    ] {
        assert!(request.contains(part), "{part} in {request}");
    }
    let job = line(&server, "the broadcast job's line", |l| {
        l.contains("job{") && l.contains("job performed")
    })
    .await;
    assert!(job.contains("class=BroadcastTodos"), "{job}");
    assert!(job.contains("request_id=todo-request-1"), "{job}");

    // No id, or a malformed one: a fresh UUID, in the response and on the line.
    for sent in [None, Some("bad id; with=junk")] {
        let id = get(&server, "/login", sent).await?;
        assert_eq!(id.len(), 36, "{id}");
        assert_ne!(Some(id.as_str()), sent);
        let request = line(&server, "the GET /login line", |l| {
            l.contains(&format!("request_id={id}")) && l.contains("completed")
        })
        .await;
        assert!(request.contains("route=/login") && request.contains("status=200"));
    }

    // Health probes and assets stay at debug; the page after them is logged.
    get(&server, "/up", None).await?;
    get(&server, "/assets/missing.js", None).await?;
    let id = get(&server, "/signup", None).await?;
    line(&server, "the GET /signup line", |l| {
        l.contains(&format!("request_id={id}"))
    })
    .await;
    let all = lines(&server);
    assert!(
        !all.iter()
            .any(|l| l.contains("path=/up") || l.contains("path=/assets/")),
        "{all:#?}"
    );
    Ok(())
}

/// The `spans` entry named `name` of a JSON log line.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_same_fields() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_logging(dir.path(), FILTER, &["--log-format", "json"], &COST);
    let browser = signed_up(&server).await;
    assert_eq!(
        post_todo(&browser, Some("json-request-7")).await?,
        "json-request-7"
    );

    let parsed = |label: &'static str, pick: fn(&Value) -> bool| {
        let server = &server;
        async move {
            let text = line(server, label, |l| {
                serde_json::from_str::<Value>(l).is_ok_and(|v| pick(&v))
            })
            .await;
            serde_json::from_str::<Value>(&text).expect("JSON line")
        }
    };
    let request = parsed("the POST /todos line", |v| {
        v["message"] == "completed"
            && span(v, "request").is_some_and(|s| s["request_id"] == "json-request-7")
    })
    .await;
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["status"], 302);
    assert!(request["duration_ms"].is_number(), "{request}");
    let fields = span(&request, "request").ok_or("no request span")?;
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["route"], "/todos");
    assert_eq!(fields["client"], "127.0.0.1");

    let job = parsed("the broadcast job's line", |v| {
        v["message"] == "job performed"
    })
    .await;
    let fields = span(&job, "job").ok_or("no job span")?;
    assert_eq!(fields["class"], "BroadcastTodos");
    assert_eq!(fields["request_id"], "json-request-7");

    // Every line is JSON, the startup lines included.
    for l in lines(&server) {
        assert!(serde_json::from_str::<Value>(&l).is_ok(), "{l}");
    }
    Ok(())
}
