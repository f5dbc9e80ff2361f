//! Findings of the red-team run (issue #16) at the HTTP edge, each reproduced through real
//! sockets and processes: the sign-in limit under a burst and with a locked counter, the
//! CSRF token at sign-in, control characters, chunked bodies over the limit, slowloris
//! connections and the descriptor limit.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trifecta::stores::StoreKind;

use crate::helpers::{Browser, TestApp, TestResult, bin, location, signed_up, wait_for};

const PASSWORD: &str = "correct horse battery";

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is loopback), with
/// a fixed CSRF token in cookie and header.
fn client_from(ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", "XSRF-TOKEN=t0k3n".parse().expect("header"));
    headers.insert("x-xsrf-token", "t0k3n".parse().expect("header"));
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().ok())
        .default_headers(headers)
        .build()
        .expect("client")
}

async fn sign_in_form(client: &reqwest::Client, app: &TestApp, email: &str) -> u16 {
    client
        .post(app.url("/session"))
        .form(&[("email_address", email), ("password", "wrong password!")])
        .send()
        .await
        .expect("POST /session")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_passwords_from_one_address_gets_at_most_ten_checks() -> TestResult {
    // Production's bcrypt cost: the burst must not starve the counter of the runtime.
    let app = TestApp::spawn_with(|c| c.app.bcrypt_cost = 12).await;
    let client = client_from("127.0.0.1");
    let before = app.state.app.password_checks();
    let burst = (0..100).map(|i| {
        let (client, app) = (&client, &app);
        async move { sign_in_form(client, app, &format!("user{i}@example.com")).await }
    });
    let statuses = futures_util::future::join_all(burst).await;
    let checks = app.state.app.password_checks() - before;
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checks <= 10, "{checks} password checks in a burst of 100");
    assert!(refused >= 100 - 10, "{refused} refused: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 429 || *s == 302),
        "{statuses:?}"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_is_limited_across_client_addresses() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "ann@example.com").await;
    let mut statuses = Vec::new();
    for i in 2..17 {
        let client = client_from(&format!("127.0.0.{i}"));
        statuses.push(sign_in_form(&client, &app, " Ann@Example.com").await);
    }
    assert_eq!(statuses[..10], [302; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 5], "{statuses:?}");
    // Another account from a fresh address is not locked out.
    let client = client_from("127.0.0.99");
    assert_eq!(sign_in_form(&client, &app, "bob@example.com").await, 302);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_refused_while_the_cache_file_is_write_locked() -> TestResult {
    if crate::helpers::sqlite_only("about a lock held on the cache file (SQLite only)") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    signed_up(&app, "ann@example.com").await;
    let cache = app.storage().join(StoreKind::Cache.file_name("test"));
    // Another process holds the cache file's write lock until its stdin closes.
    let mut locker = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             sys.stdin.read()\n",
        ])
        .arg(&cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(locker.stdout.take().expect("stdout")).read_line(&mut line)?;
    assert_eq!(line.trim(), "locked");

    let client = client_from("127.0.0.1");
    let res = client
        .post(app.url("/session"))
        .form(&[("email_address", "ann@example.com"), ("password", PASSWORD)])
        .send()
        .await?;
    assert_eq!(res.status(), 429, "an uncounted attempt is refused");
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await?.contains("could not be recorded"));
    assert_eq!(
        app.state.app.password_checks(),
        0,
        "no password was checked"
    );

    locker.stdin.take().expect("stdin").write_all(b"")?;
    locker.wait()?;
    let res = client
        .post(app.url("/session"))
        .form(&[("email_address", "ann@example.com"), ("password", PASSWORD)])
        .send()
        .await?;
    assert_eq!(location(&res), "/", "signed in once the file is free");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csrf_token_rotates_at_sign_in() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "ann@example.com").await;
    let browser = Browser::of(&app);
    browser.get("/login").await;
    let before = browser.cookie("XSRF-TOKEN").expect("token before sign-in");
    let res = browser.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(location(&res), "/");
    let after = browser.cookie("XSRF-TOKEN").expect("token after sign-in");
    assert_ne!(before, after, "sign-in issues a new token");

    let session = browser.cookie("_trifecta_session").expect("session");
    let post = |token: &str| {
        app.client
            .post(app.url("/todos"))
            .header(
                "cookie",
                format!("_trifecta_session={session}; XSRF-TOKEN={token}"),
            )
            .header("x-xsrf-token", token)
            .json(&json!({"todo": {"title": "milk"}}))
            .send()
    };
    // The old token, even replayed with its old cookie, no longer works for this session.
    assert_eq!(post(&before).await?.status(), 403);
    assert!(post(&after).await?.status().is_redirection());
    let res = browser
        .client
        .post(format!("{}/todos", browser.base))
        .header("x-xsrf-token", &before)
        .json(&json!({"todo": {"title": "eggs"}}))
        .send()
        .await?;
    assert_eq!(res.status(), 403);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_validation_errors_not_500s() -> TestResult {
    let app = TestApp::spawn().await;
    let b = signed_up(&app, "ann@example.com").await;
    let res = b
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "\u{0}abc"}}),
        )
        .await;
    assert_eq!(location(&res), "/todos", "JSON: {}", res.status());
    let page = b.page("/todos").await;
    let error = page["props"]["errors"]["title"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("control characters"), "{page}");
    assert_eq!(page["props"]["todos"], json!([]), "nothing saved");

    let res = b
        .send_form(Method::POST, "/todos", &[("todo[title]", "\u{0}abc")])
        .await;
    assert!(res.status().is_redirection(), "form: {}", res.status());
    let res = b
        .send_form(Method::POST, "/todos", &[("todo[title]", "tab\there")])
        .await;
    assert!(res.status().is_redirection(), "form: {}", res.status());
    assert_eq!(b.page("/todos").await["props"]["todos"], json!([]));

    let other = Browser::of(&app);
    let res = other
        .send_json(
            Method::POST,
            "/registration",
            json!({"name": "a\u{0}b", "email_address": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(location(&res), "/signup");
    let page = other.page("/signup").await;
    let error = page["props"]["errors"]["name"].as_str().unwrap_or_default();
    assert!(error.contains("control characters"), "{page}");
    app.stop().await
}

/// Sends `request` on a fresh connection and returns the status line of the answer.
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> TestResult<String> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(request).await?;
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413() -> TestResult {
    let app = TestApp::spawn_with(|c| c.serve.body_limit = 1024).await;
    let mut request = b"POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
Transfer-Encoding: chunked\r\nCookie: XSRF-TOKEN=t\r\nX-XSRF-TOKEN: t\r\n\r\n"
        .to_vec();
    for _ in 0..4 {
        request.extend_from_slice(format!("400\r\n{}\r\n", "x".repeat(0x400)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let status = raw_status(app.addr, &request).await?;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_cut_off_and_up_still_answers() -> TestResult {
    let app = TestApp::spawn_with(|c| {
        c.serve.connections.header_timeout = Duration::from_millis(500);
        c.serve.connections.max_connections = Some(16);
    })
    .await;
    // More slow clients than the connection limit.
    let mut slow = Vec::new();
    for _ in 0..24 {
        let mut tcp = TcpStream::connect(app.addr).await?;
        tcp.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await?;
        slow.push(tcp);
    }
    let res = app
        .client
        .get(app.url("/up"))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    assert_eq!(res.status(), 200, "/up answers while slow clients wait");
    for mut tcp in slow {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "a half-sent header was held past the timeout");
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    // An idle keep-alive connection is closed after the same timeout.
    let mut tcp = TcpStream::connect(app.addr).await?;
    tcp.write_all(b"GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "an idle keep-alive connection was kept open");
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_descriptor_limit_is_raised_to_the_hard_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\""])
        .arg(bin())
        .arg("--storage")
        .arg(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TRIFECTA_ENV", "test")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let limits = format!("/proc/{}/limits", child.id());
    let nofile = |text: &str| -> Option<(String, String)> {
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        let mut fields = line.split_whitespace().skip(3);
        Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
    };
    let (_, hard) = nofile(&std::fs::read_to_string(&limits)?).expect("limits");
    if hard == "256" {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(());
    }
    let raised = wait_for("soft limit raised", Duration::from_secs(20), || {
        let limits = limits.clone();
        async move {
            let (soft, hard) = nofile(&std::fs::read_to_string(&limits).ok()?)?;
            (soft == hard).then_some(soft)
        }
    })
    .await;
    assert_ne!(raised, "256", "started at 256");
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
