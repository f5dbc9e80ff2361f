//! Server errors through the real binary: the client gets a generic sentence (or, while a
//! store is retired, what the operator has to do) and the request id, never database text,
//! whether it asked for text, an HTML page or an Inertia page; the server's log has the
//! cause's whole chain once, on a line with that request id.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use trifecta::stores::StoreKind;

use crate::helpers::{Browser, ChildServer, TestResult, wait_for};

const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];
/// What SQLite says about the missing table; never for clients.
const SQLITE_TEXT: &str = "no such table: todos";

/// The `X-Request-Id` of `res`.
fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A server logging at `info` on `dir`, and a browser signed up on it.
async fn server_and_browser(dir: &Path) -> (ChildServer, Browser) {
    let server = ChildServer::spawn_logging(dir, "info", &[], &COST);
    let browser = Browser::new(server.addr, "");
    let res = browser
        .send_form(
            Method::POST,
            "/registration",
            &[
                ("email_address", "ann@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    (server, browser)
}

/// The log lines of `server` once it has logged the end of every request in `ids`.
async fn lines_after(server: &ChildServer, ids: &[String]) -> Vec<String> {
    wait_for("the requests logged", Duration::from_secs(10), || {
        let lines = server.log.lock().expect("log").clone();
        let done = ids.iter().all(|id| {
            lines
                .iter()
                .any(|l| l.contains(&format!("request_id={id}")) && l.contains("completed"))
        });
        async move { done.then_some(lines) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_answers_its_request_id_and_logs_its_cause_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (server, browser) = server_and_browser(dir.path()).await;

    // Another process takes the table away under the running server.
    let db = rusqlite::Connection::open(dir.path().join(StoreKind::App.file_name("test")))?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute_batch("ALTER TABLE todos RENAME TO todos_elsewhere")?;

    let text = browser.get("/todos").await;
    let html = browser
        .client
        .get(format!("{}/todos", browser.base))
        .header("accept", "text/html")
        .send()
        .await?;
    let inertia = browser
        .send_json(Method::POST, "/todos", json!({"todo": {"title": "milk"}}))
        .await;
    let mut ids = Vec::new();
    for (kind, res) in [("text", text), ("HTML", html), ("Inertia", inertia)] {
        assert_eq!(res.status(), 500, "{kind}");
        let id = request_id(&res);
        assert_eq!(id.len(), 36, "{kind}: a request id");
        let body = res.text().await?;
        assert!(body.contains("Something went wrong"), "{kind}: {body}");
        assert!(
            body.contains(&format!("Request id: {id}")),
            "{kind}: {body}"
        );
        for secret in [SQLITE_TEXT, "todos_elsewhere", "sqlite:", "SQL logic error"] {
            assert!(!body.contains(secret), "{kind}: {secret} in {body}");
        }
        ids.push(id);
    }

    let lines = lines_after(&server, &ids).await;
    let causes: Vec<&String> = lines.iter().filter(|l| l.contains(SQLITE_TEXT)).collect();
    assert_eq!(causes.len(), ids.len(), "once per request: {causes:#?}");
    for id in &ids {
        let line = causes
            .iter()
            .find(|l| l.contains(&format!("request_id={id}")))
            .ok_or_else(|| format!("no cause logged for {id}: {causes:#?}"))?;
        assert!(
            line.contains(" ERROR ") && line.contains("request failed"),
            "{line}"
        );
        assert!(line.contains("status=500"), "{line}");
        // The chain: the store's error, then what SQLite itself reported below it.
        assert!(line.contains("sqlite: no such table: todos"), "{line}");
        assert!(line.contains("SQL logic error"), "{line}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_a_retired_store_is_503_with_its_request_id_and_logs_its_cause_once()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let (server, browser) = server_and_browser(dir.path()).await;
    // The app file replaced by a copy (a new inode) under the running server.
    let db = dir.path().join(StoreKind::App.file_name("test"));
    let copy = dir.path().join("copy.sqlite3");
    std::fs::copy(&db, &copy)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    std::fs::rename(&copy, &db)?;

    // The server's beat retires the store; until then the old file still answers.
    let (id, body) = wait_for("a 503", Duration::from_secs(10), || async {
        let res = browser.get("/todos").await;
        if res.status() != 503 {
            return None;
        }
        let id = request_id(&res);
        Some((id, res.text().await.unwrap_or_default()))
    })
    .await;
    assert_eq!(id.len(), 36, "a request id");
    assert!(body.contains("restart"), "{body}");
    assert!(body.contains(&format!("Request id: {id}")), "{body}");

    let lines = lines_after(&server, std::slice::from_ref(&id)).await;
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(&format!("request_id={id}")) && l.contains("request failed"))
        .collect();
    assert_eq!(failed.len(), 1, "once: {failed:#?}");
    assert!(failed[0].contains("status=503"), "{}", failed[0]);
    assert!(
        failed[0].contains("was deleted or replaced"),
        "{}",
        failed[0]
    );
    Ok(())
}
