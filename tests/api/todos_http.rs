//! The todo board end to end: HTTP routes, the page window, coalesced BroadcastTodos jobs
//! and their batches, TodosChannel on real sockets (a client applying batches converges),
//! and the unmodified @rails/actioncable client.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use trifecta::app::{DEFAULT_LIMIT, LIST_KEY, MAX_BATCH, MAX_LIMIT, TodoChange, TodoPage};

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
async fn changes_coalesce_into_one_waiting_broadcast_and_the_cache_follows_the_version()
-> TestResult {
    // No worker, so the enqueued job stays waiting.
    let app = TestApp::spawn_with(|c| c.serve.queue.threads = 0).await;
    let b = signed_in(&app).await;
    let before = app.state.board.broadcast_list().await?;
    assert!(before.todos.is_empty());
    assert_eq!(
        app.state.cache.read::<TodoPage>(LIST_KEY).await,
        Some(before.clone()),
        "list cached with its version"
    );

    for title in ["milk", "eggs", "bread", "tea", "jam"] {
        b.send_json(Method::POST, "/todos", json!({"todo": {"title": title}}))
            .await;
    }
    let stats = app.state.queue.stats().await?;
    assert_eq!(
        stats.totals.get("ready"),
        Some(&1),
        "five changes, one waiting broadcast: {stats:?}"
    );
    // The cached page is behind the board: a subscriber gets the fresh one, which replaces it.
    let fresh = app.state.board.broadcast_list().await?;
    assert_eq!(fresh.version, before.version + 5);
    assert_eq!(fresh.counts.total, 5);
    assert_eq!(fresh.todos[0].title, "jam");
    assert_eq!(
        app.state.cache.read::<TodoPage>(LIST_KEY).await,
        Some(fresh.clone())
    );

    // A refused change takes no version and enqueues nothing.
    b.send_json(Method::POST, "/todos", json!({"todo": {"title": ""}}))
        .await;
    assert_eq!(app.state.app.todo_version().await?, fresh.version);

    // The one job sends every change since the last broadcast, in one batch.
    let batch = app.state.app.todo_batch().await?.expect("a batch");
    assert_eq!(
        (batch.since, batch.version),
        (before.version, fresh.version)
    );
    assert_eq!(batch.changes.len(), 5);
    app.state.board.broadcast().await.expect("broadcast");
    assert_eq!(
        app.state.app.todo_batch().await?,
        None,
        "nothing left to send"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_a_bounded_window_with_counts_and_version() -> TestResult {
    let app = TestApp::spawn_with(|c| c.serve.queue.threads = 0).await;
    let b = signed_in(&app).await;
    for n in 0..(DEFAULT_LIMIT + 5) {
        let t = app.state.board.create(&format!("todo {n}")).await?;
        if n % 2 == 0 {
            let done = TodoChange {
                completed: Some(true),
                ..TodoChange::default()
            };
            app.state.board.update(t.id, done).await?;
        }
    }
    let page = b.page("/todos").await;
    let props = &page["props"];
    assert_eq!(props["todos"].as_array().map(Vec::len), Some(DEFAULT_LIMIT));
    assert_eq!(
        props["todos"][0]["title"],
        format!("todo {}", DEFAULT_LIMIT + 4)
    );
    assert_eq!(props["limit"], DEFAULT_LIMIT);
    let total = DEFAULT_LIMIT + 5;
    assert_eq!(
        props["counts"],
        json!({"total": total, "done": total.div_ceil(2)})
    );
    assert_eq!(props["todosVersion"], app.state.app.todo_version().await?);

    let page = b.page("/todos?limit=1000").await;
    assert_eq!(page["props"]["todos"].as_array().map(Vec::len), Some(total));
    let page = b.page("/todos?limit=999999999").await;
    assert_eq!(page["props"]["limit"], MAX_LIMIT, "capped");
    let res = b.get("/todos?limit=lots").await;
    assert_eq!(res.status(), 400);

    // A delete leaves the counts right (kept by the database, not counted per request).
    let first = app.state.app.todos().await?[0].id;
    app.state.board.delete(first).await?;
    let page = b.page("/todos").await;
    assert_eq!(page["props"]["counts"]["total"], total - 1);
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
        app.state
            .app
            .todo_batch()
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let mut socket = board_socket(&app, &b).await;
    let first = socket.receive().await;
    assert_eq!(first["identifier"], BOARD);
    let message = &first["message"];
    assert_eq!(
        message["todos"][0]["title"], "existing",
        "current list before the ack"
    );
    assert_eq!(message["counts"], json!({"total": 1, "done": 0}));
    let mut version = message["version"].as_i64().expect("version");
    assert_eq!(
        socket.receive().await,
        json!({"identifier": BOARD, "type": "confirm_subscription"})
    );

    // Each change arrives as a batch of what changed since the version we hold.
    b.send_json(Method::POST, "/todos", json!({"todo": {"title": "fresh"}}))
        .await;
    let batch = socket.receive().await["message"].clone();
    assert_eq!(batch["since"], version);
    assert_eq!(batch["version"], version + 1);
    assert_eq!(batch["changes"][0]["todo"]["title"], "fresh");
    assert_eq!(batch["changes"].as_array().map(Vec::len), Some(1));
    assert_eq!(batch["counts"], json!({"total": 2, "done": 0}));
    version += 1;
    let id = batch["changes"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(batch["changes"][0]["todo"]["id"], id);

    b.send_json(
        Method::PATCH,
        &format!("/todos/{id}"),
        json!({"todo": {"completed": true}}),
    )
    .await;
    let batch = socket.receive().await["message"].clone();
    assert_eq!(batch["since"], version);
    assert_eq!(batch["changes"][0]["todo"]["completed"], true);
    assert_eq!(batch["counts"], json!({"total": 2, "done": 1}));
    version += 1;

    b.send_json(Method::DELETE, &format!("/todos/{id}"), json!({}))
        .await;
    let batch = socket.receive().await["message"].clone();
    assert_eq!(batch["since"], version);
    assert_eq!(batch["changes"], json!([{"id": id, "deleted": true}]));
    assert_eq!(batch["counts"], json!({"total": 1, "done": 0}));
    let finished = wait_for("the jobs to finish", Duration::from_secs(5), || async {
        let s = app.state.queue.stats().await.ok()?;
        let n = |k: &str| s.totals.get(k).copied().unwrap_or(0);
        (n("ready") == 0 && n("claimed") == 0 && n("blocked") == 0).then_some(n("failed"))
    })
    .await;
    assert_eq!(finished, 0, "no failed broadcasts");
    // Tombstones live until their batch went out.
    assert_eq!(tombstones(&app).await?, 0);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_applying_batches_converges_to_the_server_under_a_burst() -> TestResult {
    let app = TestApp::spawn().await;
    let b = std::sync::Arc::new(signed_in(&app).await);
    let mut socket = board_socket(&app, &b).await;
    let first = socket.receive().await["message"].clone();
    socket.receive().await; // confirmation
    let mut model = Model::from_page(&first);

    // 150 concurrent changes from several requests: creates, then toggles and deletes of
    // what exists, all at once.
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..100 {
        let b = b.clone();
        burst.spawn(async move {
            b.send_json(
                Method::POST,
                "/todos",
                json!({"todo": {"title": format!("t{n}")}}),
            )
            .await
        });
    }
    while burst.join_next().await.is_some() {}
    let todos = app.state.app.todos().await?;
    for (k, t) in todos.iter().take(50).enumerate() {
        let b = b.clone();
        let id = app.state.app.ids().encode(t.id);
        burst.spawn(async move {
            if k % 2 == 0 {
                b.send_json(Method::DELETE, &format!("/todos/{id}"), json!({}))
                    .await
            } else {
                b.send_json(
                    Method::PATCH,
                    &format!("/todos/{id}"),
                    json!({"todo": {"completed": true}}),
                )
                .await
            }
        });
    }
    while burst.join_next().await.is_some() {}
    let target = app.state.app.todo_version().await?;
    while model.version < target {
        let message = socket.receive().await["message"].clone();
        if !model.apply(&message) {
            // A gap: what a page does, a reload of the list.
            model = Model::from_page(&b.page("/todos").await["props"].clone().into_page());
        }
    }
    let server = b.page("/todos").await["props"].clone();
    assert_eq!(model.titles(), titles_of(&server["todos"]));
    assert_eq!(json!(model.counts), server["counts"]);
    let jobs = app.state.queue.stats().await?;
    let total: i64 = jobs.totals.values().sum();
    assert!(total < 150, "coalesced: {total} jobs for 150 changes");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_too_large_to_send_tells_every_client_to_reload() -> TestResult {
    let app = TestApp::spawn_with(|c| c.serve.queue.threads = 0).await;
    let b = signed_in(&app).await;
    let mut socket = board_socket(&app, &b).await;
    let first = socket.receive().await["message"].clone();
    socket.receive().await; // confirmation
    for n in 0..=MAX_BATCH {
        app.state.board.create(&format!("bulk {n}")).await?;
    }
    app.state.board.broadcast().await.expect("broadcast");
    let batch = socket.receive().await["message"].clone();
    let version = app.state.app.todo_version().await?;
    assert_eq!(batch["version"], version);
    assert_eq!(batch["since"], version, "a gap for every client");
    assert_eq!(batch["changes"], json!([]));
    assert!(
        !Model::from_page(&first).apply(&batch),
        "the client reloads"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_broadcasts_the_same_few_bytes_however_long_the_board() -> TestResult {
    let app = TestApp::spawn_with(|c| c.serve.queue.threads = 0).await;
    let b = signed_in(&app).await;
    let mut sizes = Vec::new();
    for board in [10, 2_000] {
        while app.state.app.todo_page(1).await?.counts.total < board {
            app.state
                .board
                .create(&"a long enough title ".repeat(10))
                .await?;
        }
        app.state.board.broadcast().await.expect("broadcast");
        let mut socket = board_socket(&app, &b).await;
        socket.receive().await; // the newest todos
        socket.receive().await; // confirmation
        app.state.board.create("one more").await?;
        app.state.board.broadcast().await.expect("broadcast");
        let frame = socket.receive().await;
        assert_eq!(frame["message"]["changes"][0]["todo"]["title"], "one more");
        sizes.push(frame.to_string().len());
    }
    // Only the digits of versions and counts differ (the whole list would be ~400 KB).
    assert!(
        sizes[1] <= sizes[0] + 16,
        "frame bytes at 10 and 2,000 todos: {sizes:?}"
    );
    app.stop().await
}

const BOARD: &str = r#"{"channel":"TodosChannel"}"#;

/// A socket of `b`'s session, subscribed to the board.
async fn board_socket(app: &TestApp, b: &Browser) -> Client {
    let cookie = b.cookie("_trifecta_session").expect("session");
    let mut socket = Client::connect(
        app.addr,
        Opts::default()
            .ignore(&["ping", "welcome"])
            .header("cookie", &format!("_trifecta_session={cookie}")),
    )
    .await;
    socket
        .send(json!({"command": "subscribe", "identifier": BOARD}))
        .await;
    socket
}

/// Tombstones left in the app store, wherever it lives.
async fn tombstones(app: &TestApp) -> TestResult<i64> {
    const COUNT: &str = "SELECT count(*) FROM todo_tombstones";
    Ok(match app.state.app.backend() {
        trifecta::store::Backend::Sqlite(_) => {
            let conn = rusqlite::Connection::open(app.storage().join("test.sqlite3"))?;
            conn.query_row(COUNT, [], |r| r.get(0))?
        }
        trifecta::store::Backend::Postgres(pg) => {
            pg.get().await?.query_one(COUNT, &[]).await?.get(0)
        }
    })
}

fn titles_of(todos: &Value) -> Vec<String> {
    todos
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a client holds: the list at a version, kept by the rule the page follows.
struct Model {
    version: i64,
    todos: Vec<Value>,
    counts: Value,
}

trait IntoPage {
    fn into_page(self) -> Value;
}

impl IntoPage for Value {
    /// Page props in the shape of a subscribe message.
    fn into_page(self) -> Value {
        json!({"todos": self["todos"], "version": self["todosVersion"], "counts": self["counts"]})
    }
}

impl Model {
    fn from_page(page: &Value) -> Self {
        Self {
            version: page["version"].as_i64().expect("version"),
            todos: page["todos"].as_array().cloned().unwrap_or_default(),
            counts: page["counts"].clone(),
        }
    }

    /// Applies a batch; `false` on a gap (the client must reload).
    fn apply(&mut self, batch: &Value) -> bool {
        let (since, version) = (batch["since"].as_i64(), batch["version"].as_i64());
        let (Some(since), Some(version)) = (since, version) else {
            return true;
        };
        if version <= self.version {
            return true;
        }
        if since > self.version {
            return false;
        }
        for change in batch["changes"].as_array().into_iter().flatten() {
            if change["deleted"] == true {
                self.todos.retain(|t| t["id"] != change["id"]);
            } else {
                // As the page does: the server lists created_at DESC, id DESC, and a todo
                // not held yet is newer than every held one, so it goes before equal times.
                let todo = change["todo"].clone();
                let held = self.todos.iter().position(|t| t["id"] == change["id"]);
                let time = |t: &Value| t["created_at"].as_str().map(str::to_owned);
                match held {
                    Some(i) => self.todos[i] = todo,
                    None => {
                        let at = self
                            .todos
                            .iter()
                            .position(|t| time(t) <= time(&todo))
                            .unwrap_or(self.todos.len());
                        self.todos.insert(at, todo);
                    }
                }
            }
        }
        self.version = version;
        self.counts = batch["counts"].clone();
        true
    }

    fn titles(&self) -> Vec<String> {
        titles_of(&Value::Array(self.todos.clone()))
    }
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
            json!({"event": "received", "version": 0, "titles": []})
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
        json!({"event": "changes", "since": 0, "version": 1, "titles": ["from another client"]})
    );
    drop(node);
    app.stop().await
}
