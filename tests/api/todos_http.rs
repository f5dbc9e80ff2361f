//! The todo board end to end: HTTP routes, cache invalidation, the BroadcastTodos job,
//! TodosChannel on real sockets, and the unmodified @rails/actioncable client.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use trifecta::app::{LIST_KEY, TodoProps};

use crate::cable_client::{Client, Opts};
use crate::helpers::{Browser, TestApp, TestResult, location, wait_for};

const PASSWORD: &str = "correct horse battery";

async fn signed_in(app: &TestApp) -> Browser {
    let browser = Browser::of(app);
    browser
        .sign_up(&format!("u{}@example.com", app.addr.port()), PASSWORD)
        .await;
    browser
}

fn titles(page: &Value) -> Vec<String> {
    page["props"]["todos"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_create_update_delete_and_validate() -> TestResult {
    let app = TestApp::spawn().await;
    let b = signed_in(&app).await;
    let res = b.get("/").await;
    assert_eq!(location(&res), "/todos");
    let page = b.page("/todos").await;
    assert_eq!(page["component"], "Todos/Index");
    assert_eq!(page["props"]["todos"], json!([]));

    let res = b
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "  first  "}}),
        )
        .await;
    assert_eq!(location(&res), "/todos");
    let res = b
        .send_form(Method::POST, "/todos", &[("todo[title]", "second")])
        .await;
    assert_eq!(location(&res), "/todos");
    let page = b.page("/todos").await;
    assert_eq!(
        titles(&page),
        vec!["second", "first"],
        "newest first, trimmed"
    );
    let first = page["props"]["todos"][1].clone();
    let id = first["id"].as_str().expect("sqid").to_owned();
    assert!(
        id.len() >= 8 && id.parse::<i64>().is_err(),
        "obfuscated id {id}"
    );

    let res = b
        .send_json(
            Method::PATCH,
            &format!("/todos/{id}"),
            json!({"todo": {"completed": true}}),
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = b
        .send_form(
            Method::PATCH,
            &format!("/todos/{id}"),
            &[("todo[title]", "renamed")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = b.page("/todos").await;
    assert_eq!(page["props"]["todos"][1]["title"], "renamed");
    assert_eq!(page["props"]["todos"][1]["completed"], true);

    // Blank and too-long titles come back as errors; nothing is saved.
    for bad in [String::new(), "   ".to_owned(), "x".repeat(501)] {
        let res = b
            .send_json(Method::POST, "/todos", json!({"todo": {"title": bad}}))
            .await;
        assert_eq!(location(&res), "/todos");
        let page = b.page("/todos").await;
        assert!(page["props"]["errors"]["title"].is_string(), "{page}");
        assert_eq!(titles(&page).len(), 2);
    }
    let res = b
        .send_json(Method::DELETE, &format!("/todos/{id}"), json!({}))
        .await;
    assert_eq!(res.status(), 303);
    // A change to a todo that is gone (or never was) is refused with a reason.
    for gone in [id.as_str(), "nonsense", "1"] {
        let res = b
            .send_json(
                Method::PATCH,
                &format!("/todos/{gone}"),
                json!({"todo": {"completed": true}}),
            )
            .await;
        assert_eq!(location(&res), "/todos");
        let page = b.page("/todos").await;
        assert_eq!(
            page["props"]["errors"]["todo"],
            "This todo no longer exists."
        );
    }
    assert_eq!(titles(&b.page("/todos").await), vec!["second"]);

    // Anonymous visitors can change nothing.
    let anon = Browser::of(&app);
    let res = anon
        .send_json(Method::POST, "/todos", json!({"todo": {"title": "sneaky"}}))
        .await;
    assert_eq!(location(&res), "/login");
    assert_eq!(app.state.app.todos().await?.len(), 1);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_drops_the_cached_list_and_enqueues_one_broadcast() -> TestResult {
    // No worker, so the enqueued job stays visible and nothing refills the cache.
    let app = TestApp::spawn_with(|c| c.serve.queue.threads = 0).await;
    let b = signed_in(&app).await;
    let before = app.state.board.broadcast_list().await?;
    assert!(before.is_empty());
    assert!(
        app.state
            .cache
            .read::<Vec<TodoProps>>(LIST_KEY)
            .await
            .is_some(),
        "list cached"
    );

    b.send_json(Method::POST, "/todos", json!({"todo": {"title": "milk"}}))
        .await;
    assert!(
        app.state
            .cache
            .read::<Vec<TodoProps>>(LIST_KEY)
            .await
            .is_none(),
        "cache dropped after commit"
    );
    let stats = app.state.queue.stats().await?;
    assert_eq!(stats.totals.get("ready"), Some(&1), "{stats:?}");
    // The next read goes to the database and caches the fresh list.
    let fresh = app.state.board.broadcast_list().await?;
    assert_eq!(
        fresh.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        vec!["milk"]
    );
    assert_eq!(
        app.state.cache.read::<Vec<TodoProps>>(LIST_KEY).await,
        Some(fresh)
    );

    b.send_json(Method::POST, "/todos", json!({"todo": {"title": ""}}))
        .await;
    assert_eq!(
        app.state.queue.stats().await?.totals.get("ready"),
        Some(&1),
        "a refused change enqueues nothing"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todos_channel_transmits_on_subscribe_and_streams_every_change() -> TestResult {
    let app = TestApp::spawn().await;
    let b = signed_in(&app).await;
    b.send_json(
        Method::POST,
        "/todos",
        json!({"todo": {"title": "existing"}}),
    )
    .await;
    // Its broadcast is done before we subscribe, so the next frame is the next change.
    wait_for("the first broadcast", Duration::from_secs(5), || async {
        let s = app.state.queue.stats().await.ok()?;
        (s.totals.get("finished").copied().unwrap_or(0) >= 1).then_some(())
    })
    .await;
    let cookie = b.cookie("_trifecta_session").expect("session");
    let mut socket = Client::connect(
        app.addr,
        Opts::default()
            .ignore(&["ping", "welcome"])
            .header("cookie", &format!("_trifecta_session={cookie}")),
    )
    .await;
    let ident = r#"{"channel":"TodosChannel"}"#;
    socket
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    let first = socket.receive().await;
    assert_eq!(first["identifier"], ident);
    assert_eq!(
        first["message"]["todos"][0]["title"], "existing",
        "current list before the ack"
    );
    assert_eq!(
        socket.receive().await,
        json!({"identifier": ident, "type": "confirm_subscription"})
    );

    b.send_json(Method::POST, "/todos", json!({"todo": {"title": "fresh"}}))
        .await;
    // The worker runs BroadcastTodos; the frame carries the whole fresh list.
    let frame = socket.receive().await;
    let titles: Vec<&str> = frame["message"]["todos"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["title"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(titles, vec!["fresh", "existing"]);
    let finished = wait_for("the job to finish", Duration::from_secs(5), || async {
        let s = app.state.queue.stats().await.ok()?;
        let n = |k: &str| s.totals.get(k).copied().unwrap_or(0);
        (n("finished") >= 2 && n("ready") == 0 && n("claimed") == 0).then_some(n("failed"))
    })
    .await;
    assert_eq!(finished, 0, "no failed broadcasts");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rails_client_receives_the_list_after_another_clients_change() -> TestResult {
    crate::cable_js::ensure_node_modules();
    let app = TestApp::spawn().await;
    let writer = signed_in(&app).await;
    let reader = Browser::of(&app);
    reader.sign_up("reader@example.com", PASSWORD).await;
    let cookie = format!(
        "_trifecta_session={}",
        reader.cookie("_trifecta_session").expect("session")
    );
    let mut node = tokio::process::Command::new("node")
        .arg(crate::cable_js::js_dir().join("todos.mjs"))
        .arg(format!("ws://{}/cable", app.addr))
        .arg(cookie)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("node event in time")
            .expect("read")
            .expect("node running");
        serde_json::from_str(&line).expect("json line")
    };
    // The transmit on subscribe and the confirmation may come in either order of events.
    let mut seen = vec![next().await, next().await];
    seen.sort_by_key(|v| v["event"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        seen,
        vec![
            json!({"event": "connected"}),
            json!({"event": "received", "titles": []})
        ]
    );

    writer
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "from another client"}}),
        )
        .await;
    assert_eq!(
        next().await,
        json!({"event": "received", "titles": ["from another client"]})
    );
    drop(node);
    app.stop().await
}
