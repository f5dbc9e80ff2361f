//! The real app's pages, the embedded front end and the HTTP edge: caching, compression per
//! encoding, h2c and TLS with ALPN, security headers, error pages, the secret key base.

use std::time::Duration;

use reqwest::{Client, StatusCode, Version};
use serde_json::Value;
use trifecta::web::CSP;
use trifecta::web::secret::{FILE_NAME, SecretKeyBase};

use crate::helpers::{Browser, ChildServer, TestApp, TestResult, run_cli};

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `src`/`href` of every `/assets/` file the HTML shell references.
fn asset_paths(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

/// The entry script of the HTML shell (not one of the chunks it preloads, which can be a
/// few hundred bytes).
fn script_src(html: &str) -> String {
    let marker = r#"<script type="module" src=""#;
    let start = html.find(marker).expect("a script") + marker.len();
    html[start..].split('"').next().expect("its src").to_owned()
}

fn inertia_get(app: &TestApp, client: &Client, path: &str) -> reqwest::RequestBuilder {
    client
        .get(app.url(path))
        .header("X-Inertia", "true")
        .header("X-Inertia-Version", app.state.site.inertia.version())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_and_status_pages_render_with_live_facts() -> TestResult {
    let app = TestApp::spawn().await;
    let browser = Browser::of(&app);
    browser
        .sign_up("ann@example.com", "correct horse battery")
        .await;
    let client = browser.client.clone();
    let res = client.get(app.url("/about")).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), "no-cache");
    let html = res.text().await?;
    assert!(
        html.contains(
            "<script data-page=\"app\" type=\"application/json\">{\"component\":\"Home\""
        )
    );
    let assets = asset_paths(&html);
    assert!(assets.iter().any(|p| p.ends_with(".css")), "{assets:?}");
    for path in &assets {
        let res = app.client.get(app.url(path)).send().await?;
        assert_eq!(res.status(), 200, "{path}");
    }

    let res = inertia_get(&app, &client, "/status").send().await?;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await?;
    assert_eq!(page["component"], "Status");
    let status = &page["props"]["status"];
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["env"], "test");
    assert!(status["uptime_seconds"].is_u64());
    for store in ["app", "queue", "cache", "cable"] {
        assert_eq!(status["stores"][store], "ok", "{status}");
    }
    // The page's Refresh button: a partial reload of `status`.
    let res = inertia_get(&app, &client, "/status")
        .header("X-Inertia-Partial-Component", "Status")
        .header("X-Inertia-Partial-Data", "status")
        .send()
        .await?;
    let page: Value = res.json().await?;
    assert!(page["props"]["status"]["stores"].is_object());
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprinted_assets_are_immutable_with_etag_and_304() -> TestResult {
    let app = TestApp::spawn().await;
    tokio::task::spawn_blocking(trifecta::web::warm_assets).await?;
    let html = app
        .client
        .get(app.url("/login"))
        .send()
        .await?
        .text()
        .await?;
    let js = script_src(&html);
    let res = app.client.get(app.url(&js)).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&res, "content-type").contains("javascript"));
    let etag = header(&res, "etag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(!res.bytes().await?.is_empty());

    let res = app
        .client
        .get(app.url(&js))
        .header("If-None-Match", &etag)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&res, "etag"), etag);
    assert!(res.bytes().await?.is_empty());

    let res = app
        .client
        .get(app.url(&js))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await?;
    assert_eq!(res.status(), 200);

    let res = app
        .client
        .get(app.url("/assets/nope-123.js"))
        .send()
        .await?;
    assert_eq!(res.status(), 404);
    app.stop().await
}

fn raw_client() -> Client {
    Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_compressed_per_accept_encoding() -> TestResult {
    let app = TestApp::spawn().await;
    // The precompressed variants (made once per process at startup).
    tokio::task::spawn_blocking(trifecta::web::warm_assets).await?;
    let raw = raw_client();
    let html = raw.get(app.url("/login")).send().await?.text().await?;
    let js = script_src(&html);
    let plain = raw.get(app.url(&js)).send().await?;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await?;
    for (encoding, client) in [
        (
            "gzip",
            Client::builder().gzip(true).no_brotli().no_zstd().build()?,
        ),
        (
            "br",
            Client::builder().brotli(true).no_gzip().no_zstd().build()?,
        ),
        (
            "zstd",
            Client::builder().zstd(true).no_gzip().no_brotli().build()?,
        ),
    ] {
        for path in [js.as_str(), "/login", "/signup"] {
            let res = raw
                .get(app.url(path))
                .header("Accept-Encoding", encoding)
                .send()
                .await?;
            assert_eq!(res.status(), 200);
            assert_eq!(header(&res, "content-encoding"), encoding, "{path}");
            if path == js {
                let suffix = match encoding {
                    "gzip" => "-gz\"",
                    "br" => "-br\"",
                    _ => "-zst\"",
                };
                assert!(
                    header(&res, "etag").ends_with(suffix),
                    "one ETag per encoding"
                );
            }
            assert!(
                header(&res, "vary")
                    .to_ascii_lowercase()
                    .contains("accept-encoding"),
                "{path}"
            );
            let compressed = res.bytes().await?;
            if path == js {
                assert!(
                    compressed.len() < plain.len() / 2,
                    "{encoding}: {}",
                    compressed.len()
                );
                // The decoding client gets the original bytes back.
                let decoded = client.get(app.url(path)).send().await?.bytes().await?;
                assert_eq!(decoded, plain, "{encoding}");
            }
        }
    }
    let res = raw
        .get(app.url(&js))
        .header("Accept-Encoding", "gzip;q=0.5, br;q=0, zstd")
        .send()
        .await?;
    assert_eq!(header(&res, "content-encoding"), "zstd", "q=0 refuses br");
    let res = raw
        .get(app.url(&js))
        .header("Accept-Encoding", "identity")
        .send()
        .await?;
    assert!(res.headers().get("content-encoding").is_none());
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_serves_pages_and_assets() -> TestResult {
    let app = TestApp::spawn().await;
    let client = Client::builder().http2_prior_knowledge().build()?;
    let res = client.get(app.url("/login")).send().await?;
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let html = res.text().await?;
    assert!(html.contains("\"component\":\"Auth/Login\""));
    let res = client.get(app.url(&script_src(&html))).send().await?;
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_negotiates_http2_by_alpn_and_still_speaks_http1() -> TestResult {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    let app = TestApp::spawn_with(|c| {
        c.serve.web.tls_cert = Some(cert.clone());
        c.serve.web.tls_key = Some(key.clone());
    })
    .await;
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes())?;
    let url = format!("https://localhost:{}/", app.addr.port());
    let h2 = Client::builder()
        .add_root_certificate(root.clone())
        .resolve("localhost", app.addr)
        .build()?;
    let res = h2.get(format!("{url}login")).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_2, "h2 by ALPN");
    assert!(header(&res, "strict-transport-security").contains("max-age="));
    assert!(res.text().await?.contains("\"component\":\"Auth/Login\""));

    let h1 = Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", app.addr)
        .http1_only()
        .build()?;
    let res = h1.get(format!("{url}signup")).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_11);
    // Full URLs in version-mismatch answers say https.
    let res = h1
        .get(format!("{url}login?x=1"))
        .header("X-Inertia", "true")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        header(&res, "x-inertia-location"),
        format!("{url}login?x=1")
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_on_every_response() -> TestResult {
    let app = TestApp::spawn().await;
    let html = app
        .client
        .get(app.url("/login"))
        .send()
        .await?
        .text()
        .await?;
    for path in [
        "/",
        "/login",
        "/signup",
        script_src(&html).as_str(),
        "/up",
        "/missing",
    ] {
        let res = app.client.get(app.url(path)).send().await?;
        assert_eq!(header(&res, "content-security-policy"), CSP, "{path}");
        assert!(CSP.contains("frame-ancestors 'none'") && CSP.contains("script-src 'self'"));
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(
            header(&res, "referrer-policy"),
            "strict-origin-when-cross-origin"
        );
        assert_eq!(header(&res, "x-frame-options"), "DENY");
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_a_page_for_browsers_and_inertia_and_text_for_apis() -> TestResult {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/no/such/page"))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await?;
    assert_eq!(res.status(), 404);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert!(res.headers().get("x-inertia").is_none());
    let html = res.text().await?;
    assert!(html.contains("\"component\":\"Error\"") && html.contains("This page does not exist."));

    let res = inertia_get(&app, &app.client, "/no/such/page")
        .send()
        .await?;
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "x-inertia"), "true");
    let page: Value = res.json().await?;
    assert_eq!(page["props"]["status"], 404);

    let res = app.client.get(app.url("/no/such/page")).send().await?;
    assert_eq!(res.status(), 404);
    assert_eq!(res.text().await?, "not found");
    app.stop().await
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_key_base_is_generated_once_private_and_reused() -> TestResult {
    use std::os::unix::fs::PermissionsExt;

    let app = TestApp::spawn().await;
    let path = app.storage().join(FILE_NAME);
    let first = std::fs::read_to_string(&path)?;
    assert_eq!(first.trim().len(), 128, "64 random bytes as hex");
    assert!(first.trim().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        std::fs::metadata(&path)?.permissions().mode() & 0o777,
        0o600
    );
    let loaded = SecretKeyBase::load_or_create(app.storage(), None)?;
    assert_eq!(
        std::fs::read_to_string(&path)?,
        first,
        "reused, not rewritten"
    );
    let again = SecretKeyBase::load_or_create(app.storage(), None)?;
    assert_eq!(loaded, again);
    app.stop().await?;

    let other = tempfile::tempdir()?;
    let fresh = SecretKeyBase::load_or_create(other.path(), None)?;
    assert_ne!(fresh, loaded, "each storage dir gets its own secret");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_key_base_from_the_environment_wins_and_short_ones_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let secret = "an-operator-chosen-secret-that-is-long-enough-0123456789";
    let server = ChildServer::spawn_env(dir.path(), &[], &[("TRIFECTA_SECRET_KEY_BASE", secret)]);
    let res = reqwest::get(server.url("/up")).await?;
    assert_eq!(res.status(), 200);
    assert!(
        !dir.path().join(FILE_NAME).exists(),
        "no file when the secret is given"
    );
    drop(server);

    let given: trifecta::web::SecretString = secret.parse()?;
    std::fs::write(dir.path().join(FILE_NAME), "f".repeat(128))?;
    let chosen = SecretKeyBase::load_or_create(dir.path(), Some(&given))?;
    let from_file = SecretKeyBase::load_or_create(dir.path(), None)?;
    assert_ne!(chosen, from_file, "the given secret overrides the file");

    let (status, _, stderr) = run_cli(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--secret-key-base",
            "short",
        ],
    );
    assert!(!status.success());
    assert!(stderr.contains("shorter than 32"), "{stderr}");
    assert!(!stderr.contains("short\n"), "the secret is not echoed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_still_works_with_the_edge() -> TestResult {
    let app = TestApp::spawn().await;
    let client = app.client.clone();
    let url = app.url("/");
    app.stop().await?;
    crate::helpers::wait_for("refused", Duration::from_secs(5), || {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).send().await.is_err().then_some(()) }
    })
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshakes_pass_the_edge_uncompressed() -> TestResult {
    use axum::extract::ws::WebSocketUpgrade;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn().await;
    let routes = axum::Router::new().route(
        "/ws",
        axum::routing::get(|ws: WebSocketUpgrade| async move { ws.on_upgrade(|_| async {}) }),
    );
    let router = trifecta::web::edge(
        routes,
        app.state.clone(),
        &trifecta::config::ServeConfig::default(),
    );
    let (addr, _server) = crate::helpers::serve_router(router).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Accept-Encoding: gzip, deflate, br, zstd\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("content-encoding"), "{head}");
    app.stop().await
}
