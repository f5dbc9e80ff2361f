//! `GET /up` and the HTTP skeleton.

use std::time::Duration;

use serde_json::Value;
use trifecta::stores::StoreKind;

use crate::helpers::{TestApp, TestResult, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_200_when_every_store_answers() -> TestResult {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/up")).send().await?;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await?;
    assert_eq!(body["status"], "ok");
    for name in ["app", "queue", "cache", "cable"] {
        assert_eq!(body["stores"][name], "ok", "{body}");
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_and_assets_set_no_cookie_while_pages_do() -> TestResult {
    let app = TestApp::spawn().await;
    let cookies = |res: &reqwest::Response| res.headers().get_all("set-cookie").iter().count();
    let res = app.client.get(app.url("/up")).send().await?;
    assert_eq!((res.status().as_u16(), cookies(&res)), (200, 0), "/up");
    let html = app.client.get(app.url("/login")).send().await?;
    assert!(cookies(&html) > 0, "a page issues the XSRF-TOKEN cookie");
    let html = html.text().await?;
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("a script");
    let res = app.client.get(app.url(script)).send().await?;
    assert_eq!((res.status().as_u16(), cookies(&res)), (200, 0), "{script}");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_503_naming_the_store_whose_file_is_unreadable() -> TestResult {
    if crate::helpers::sqlite_only("about an unreadable store file, which only SQLite has") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    let cache = app.storage().join(StoreKind::Cache.file_name("test"));
    // Replace the file (a new inode, without its WAL) with bytes SQLite cannot read; pooled
    // connections still hold the old inode, so only a real check of the path notices.
    let garbage = app.storage().join("garbage");
    std::fs::write(&garbage, vec![0x42; 8192])?;
    std::fs::rename(&garbage, &cache)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = cache.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    let res = app.client.get(app.url("/up")).send().await?;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await?;
    assert_eq!(body["failing"], serde_json::json!(["cache"]), "{body}");
    assert_eq!(body["stores"]["app"], "ok");
    assert!(
        !body.to_string().contains("not a database"),
        "no SQLite text: {body}"
    );

    std::fs::remove_file(&cache)?;
    let res = app.client.get(app.url("/up")).send().await?;
    assert_eq!(res.status(), 503, "a deleted file is noticed too");
    std::fs::create_dir(&cache)?;
    let res = app.client.get(app.url("/up")).send().await?;
    assert_eq!(res.status(), 503, "a directory in its place is noticed too");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_404_with_a_message() -> TestResult {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/no/such/page")).send().await?;
    assert_eq!(res.status(), 404);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_rejected() -> TestResult {
    let app = TestApp::spawn_with(|c| c.serve.body_limit = 1024).await;
    let res = app
        .client
        .post(app.url("/up"))
        .body(vec![b'x'; 4096])
        .send()
        .await?;
    assert_eq!(res.status(), 413);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_serving() -> TestResult {
    let app = TestApp::spawn().await;
    let url = app.url("/up");
    let client = app.client.clone();
    app.stop().await?;
    wait_for("connection refused", Duration::from_secs(5), || {
        let client = client.clone();
        let url = url.clone();
        async move { client.get(url).send().await.is_err().then_some(()) }
    })
    .await;
    Ok(())
}
