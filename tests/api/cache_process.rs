//! The cache from a second process: `trifecta cache get/delete/clear/stats` on the file of
//! a running server.

use std::time::Duration;

use trifecta::cache::WriteOptions;

use crate::helpers::{TestApp, TestResult, cli, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_sees_writes_and_its_deletes_are_seen() -> TestResult {
    let app = TestApp::spawn().await;
    let c = app.state.cache.clone();
    let dir = app.storage().to_path_buf();
    assert!(
        c.write(
            "greeting",
            &serde_json::json!({"hello": "world"}),
            WriteOptions::new()
        )
        .await
    );

    let (ok, out, _) = cli(&dir, &["cache", "get", "greeting"]).await;
    assert!(ok);
    assert_eq!(out.trim(), r#"{"hello":"world"}"#);

    let (ok, out, _) = cli(&dir, &["cache", "delete", "greeting"]).await;
    assert!(ok);
    assert_eq!(out.trim(), "deleted greeting");
    assert_eq!(
        c.read::<serde_json::Value>("greeting").await,
        None,
        "the server sees the delete"
    );

    let (ok, out, err) = cli(&dir, &["cache", "get", "greeting"]).await;
    assert!(!ok);
    assert!(out.is_empty());
    assert!(
        err.contains(r#"error: no cache entry for "greeting""#),
        "{err}"
    );
    let (ok, out, _) = cli(&dir, &["cache", "delete", "greeting"]).await;
    assert!(ok);
    assert_eq!(out.trim(), "no entry for greeting");

    // Expired entries are invisible to the second process too.
    assert!(
        c.write("gone", &1, WriteOptions::new().expires_in(Duration::ZERO))
            .await
    );
    let (ok, _, _) = cli(&dir, &["cache", "get", "gone"]).await;
    assert!(!ok);

    // A namespace given to the CLI reaches the server's namespaced keys.
    let ns = c.with_namespace("tenant-1");
    assert!(ns.write("k", &7, WriteOptions::new()).await);
    let (ok, out, _) = cli(
        &dir,
        &["cache", "--cache-namespace", "tenant-1", "get", "k"],
    )
    .await;
    assert!(ok);
    assert_eq!(out.trim(), "7");

    assert!(c.write("a", &1, WriteOptions::new()).await);
    let (ok, out, _) = cli(&dir, &["cache", "clear", "--yes"]).await;
    assert!(ok);
    // 3 rows, or 2 if a background expiry pass already removed the expired one.
    assert!(
        ["cleared 3 entries", "cleared 2 entries"].contains(&out.trim()),
        "{out}"
    );
    assert_eq!(c.stats().await?.entries, 0);
    assert_eq!(ns.read::<i32>("k").await, None);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_totals_limits_and_the_running_servers_counters() -> TestResult {
    let app = TestApp::spawn_with(|config| {
        config.serve.cache.max_entries = 1000;
        config.serve.cache.stats_interval = Duration::from_millis(20);
    })
    .await;
    let c = app.state.cache.clone();
    let dir = app.storage().to_path_buf();
    assert!(c.write("a", "12345", WriteOptions::new()).await);
    assert!(c.write("b", &1, WriteOptions::new()).await);
    assert_eq!(c.read::<String>("a").await.as_deref(), Some("12345"));
    assert_eq!(c.read::<i32>("b").await, Some(1));
    assert_eq!(c.read::<i32>("nope").await, None);

    let json: serde_json::Value = wait_for(
        "the server's counters in cache stats",
        Duration::from_secs(20),
        || {
            let dir = dir.clone();
            async move {
                let (ok, out, _) = cli(&dir, &["cache", "stats", "--json"]).await;
                let v: serde_json::Value = serde_json::from_str(&out).ok()?;
                (ok && v["hits"] == 2).then_some(v)
            }
        },
    )
    .await;
    assert_eq!(json["misses"], 1);
    assert_eq!(json["entries"], 2);
    // "a" + "\"12345\"" + 140, "b" + "1" + 140.
    assert_eq!(json["bytes"], (1 + 7 + 140) + (1 + 1 + 140));
    assert_eq!(json["max_entries"], 1000, "the server's limits");
    assert_eq!(json["max_size"], 256 * 1024 * 1024);
    assert_eq!(json["max_age_secs"], 14 * 24 * 3600);
    assert_eq!(json["servers"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["servers"][0]["pid"], std::process::id());

    let (ok, out, _) = cli(&dir, &["cache", "stats"]).await;
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "entries      2",
            "bytes        290",
            "max size     268435456",
            "max entries  1000",
            "max age      14days",
            "servers      1",
            "hits         2",
            "misses       1",
        ]
    );

    // On graceful shutdown the server removes its row: no counts without a server.
    app.state.token.cancel();
    let v: serde_json::Value = wait_for("the server's row to go", Duration::from_secs(20), || {
        let dir = dir.clone();
        async move {
            let (ok, out, _) =
                cli(&dir, &["cache", "--cache-max-size", "0", "stats", "--json"]).await;
            let v: serde_json::Value = serde_json::from_str(&out).ok()?;
            (ok && v["servers"] == serde_json::json!([])).then_some(v)
        }
    })
    .await;
    assert_eq!(v["hits"], serde_json::Value::Null);
    assert_eq!(
        v["max_size"],
        serde_json::Value::Null,
        "this command's own limits"
    );
    assert_eq!(v["entries"], 2);
    let (ok, out, _) = cli(&dir, &["cache", "stats"]).await;
    assert!(ok);
    assert!(
        out.contains("servers      0 (hit/miss counts need a running server)"),
        "{out}"
    );
    app.stop().await
}
