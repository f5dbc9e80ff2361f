//! Reverse proxies, through the real binary: who the client is behind a trusted proxy (and
//! not behind an untrusted peer that sends the same headers), the sign-in limit per client
//! address and per email address, and HTTPS as a trusted proxy reports it (`Secure`
//! cookies, HSTS, the `/cable` origin check) or as `--assume-ssl` assumes it.

use std::path::Path;

use reqwest::header::HeaderMap;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{ChildServer, TestResult, run_cli_stdin};

const PASSWORD: &str = "correct horse battery";
const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];

/// A server on a fresh storage directory holding users ann and bob.
fn server(args: &[&str]) -> (tempfile::TempDir, ChildServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (status, _, err) = run_cli_stdin(dir.path(), &["migrate"], "", &COST);
    assert!(status.success(), "{err}");
    for email in ["ann@example.com", "bob@example.com"] {
        let (status, _, err) = run_cli_stdin(
            dir.path(),
            &["users", "create", email],
            &format!("{PASSWORD}\n"),
            &COST,
        );
        assert!(status.success(), "{err}");
    }
    let server = ChildServer::spawn_env(dir.path(), args, &COST);
    (dir, server)
}

/// A client that neither follows redirects nor keeps cookies: each test says what it sends.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `Set-Cookie` header of cookie `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn has_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .skip(1)
        .any(|a| a.trim().eq_ignore_ascii_case("secure"))
}

/// An anonymous CSRF token (any page hands one out; it is not bound to a client).
async fn xsrf(server: &ChildServer) -> TestResult<String> {
    let res = client().get(server.url("/login")).send().await?;
    let cookie = set_cookie(res.headers(), "XSRF-TOKEN").ok_or("no XSRF-TOKEN cookie")?;
    Ok(cookie["XSRF-TOKEN=".len()..]
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// `POST /session` as a plain form, with `headers` (name, value) added.
async fn sign_in(
    server: &ChildServer,
    token: &str,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> TestResult<reqwest::Response> {
    let mut req = client()
        .post(server.url("/session"))
        .header("cookie", format!("XSRF-TOKEN={token}"))
        .header("x-xsrf-token", token)
        .form(&[("email_address", email), ("password", password)]);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    Ok(req.send().await?)
}

fn location(res: &reqwest::Response) -> &str {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A failed attempt goes back to the form; a refused one is a 429.
async fn fails(server: &ChildServer, token: &str, email: &str, from: &str) -> TestResult {
    let res = sign_in(
        server,
        token,
        email,
        "wrong password",
        &[("x-forwarded-for", from)],
    )
    .await?;
    assert_eq!(
        location(&res),
        "/login",
        "{email} from {from}: {}",
        res.status()
    );
    Ok(())
}

/// The addresses recorded for the sessions of `email`, oldest first.
fn session_ips(dir: &Path, email: &str) -> TestResult<Vec<Option<String>>> {
    let conn = rusqlite::Connection::open(dir.join("test.sqlite3"))?;
    let mut stmt = conn.prepare(
        "SELECT s.ip_address FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE u.email_address = ?1 ORDER BY s.id",
    )?;
    let ips = stmt
        .query_map([email], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ips)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_clients_get_their_own_sign_in_limits() -> TestResult {
    // Loopback is a trusted proxy by default: X-Forwarded-For names the client.
    let (dir, server) = server(&[]);
    let token = xsrf(&server).await?;
    // One client fails ten times with ten addresses (no email is near its own limit).
    for i in 0..10 {
        fails(
            &server,
            &token,
            &format!("nobody{i}@example.com"),
            "203.0.113.1",
        )
        .await?;
    }
    let res = sign_in(
        &server,
        &token,
        "ann@example.com",
        PASSWORD,
        &[("x-forwarded-for", "203.0.113.1")],
    )
    .await?;
    assert_eq!(res.status(), 429, "the locked-out address is refused");
    assert!(res.headers().contains_key("retry-after"));
    // Another client behind the same proxy is not locked out.
    let res = sign_in(
        &server,
        &token,
        "ann@example.com",
        PASSWORD,
        &[("x-forwarded-for", "198.51.100.2")],
    )
    .await?;
    assert_eq!(
        location(&res),
        "/",
        "another address signs in: {}",
        res.status()
    );
    // The right-most entry that is not a trusted proxy is the client: a spoofed left-most
    // entry does not count, and the session records the real one.
    let res = sign_in(
        &server,
        &token,
        "bob@example.com",
        PASSWORD,
        &[("x-forwarded-for", "1.2.3.4, 198.51.100.3, 10.0.0.7")],
    )
    .await?;
    assert_eq!(location(&res), "/");
    assert_eq!(
        session_ips(dir.path(), "ann@example.com")?,
        [Some("198.51.100.2".to_owned())]
    );
    assert_eq!(
        session_ips(dir.path(), "bob@example.com")?,
        [Some("198.51.100.3".to_owned())]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_email_limit_holds_across_addresses() -> TestResult {
    let (_dir, server) = server(&[]);
    let token = xsrf(&server).await?;
    for i in 0..10 {
        fails(
            &server,
            &token,
            "ann@example.com",
            &format!("198.51.100.{}", 10 + i),
        )
        .await?;
    }
    let fresh = [("x-forwarded-for", "192.0.2.99")];
    let res = sign_in(&server, &token, "ann@example.com", PASSWORD, &fresh).await?;
    assert_eq!(res.status(), 429, "ann's address is locked from any client");
    // That address is not locked out: another account signs in from it.
    let res = sign_in(&server, &token, "bob@example.com", PASSWORD, &fresh).await?;
    assert_eq!(location(&res), "/", "{}", res.status());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_an_untrusted_peer_change_nothing() -> TestResult {
    // Only 10.0.0.0/8 is a proxy here, so this loopback client is the client itself.
    let (dir, server) = server(&["--trusted-proxies", "10.0.0.0/8"]);
    let spoofed = [
        ("x-forwarded-for", "203.0.113.66"),
        ("x-forwarded-proto", "https"),
        ("x-request-id", "spoofed-request-id"),
    ];
    let mut req = client().get(server.url("/login"));
    for (name, value) in spoofed {
        req = req.header(name, value);
    }
    let res = req.send().await?;
    let xsrf_cookie = set_cookie(res.headers(), "XSRF-TOKEN").ok_or("no XSRF-TOKEN")?;
    assert!(!has_secure(&xsrf_cookie), "{xsrf_cookie}");
    assert!(res.headers().get("strict-transport-security").is_none());
    let id = res
        .headers()
        .get("x-request-id")
        .ok_or("no X-Request-Id")?
        .to_str()?;
    assert_ne!(id, "spoofed-request-id");
    assert_eq!(id.len(), 36, "a generated UUID: {id}");

    let token = xsrf(&server).await?;
    let res = sign_in(&server, &token, "ann@example.com", PASSWORD, &spoofed).await?;
    assert_eq!(location(&res), "/");
    let session = set_cookie(res.headers(), "_trifecta_session").ok_or("no session")?;
    assert!(!has_secure(&session), "{session}");
    assert_eq!(
        session_ips(dir.path(), "ann@example.com")?,
        [Some("127.0.0.1".to_owned())]
    );

    // A new X-Forwarded-For per attempt does not make a new client.
    for i in 0..9 {
        let from = format!("203.0.113.{i}");
        fails(&server, &token, &format!("nobody{i}@example.com"), &from).await?;
    }
    let res = sign_in(
        &server,
        &token,
        "bob@example.com",
        PASSWORD,
        &[("x-forwarded-for", "192.0.2.1")],
    )
    .await?;
    assert_eq!(
        res.status(),
        429,
        "one bucket for this peer, whatever it claims"
    );

    // Nor does its X-Forwarded-Proto make an https page's socket same-origin.
    let origin = format!("https://{}", server.addr);
    assert_eq!(cable_upgrade(&server, &origin, Some("https")).await?, 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_behind_a_trusted_proxy_makes_cookies_secure_and_sends_hsts() -> TestResult {
    let (_dir, server) = server(&[]);
    let plain = client().get(server.url("/login")).send().await?;
    let cookie = set_cookie(plain.headers(), "XSRF-TOKEN").ok_or("no XSRF-TOKEN")?;
    assert!(!has_secure(&cookie), "plain http: {cookie}");
    assert!(plain.headers().get("strict-transport-security").is_none());

    let https = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "198.51.100.5"),
    ];
    let mut req = client().get(server.url("/login"));
    for (name, value) in https {
        req = req.header(name, value);
    }
    let res = req.send().await?;
    let cookie = set_cookie(res.headers(), "XSRF-TOKEN").ok_or("no XSRF-TOKEN")?;
    assert!(has_secure(&cookie), "{cookie}");
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .ok_or("no HSTS")?;
    assert!(hsts.to_str()?.starts_with("max-age="));

    let token = xsrf(&server).await?;
    let res = sign_in(&server, &token, "ann@example.com", PASSWORD, &https).await?;
    assert_eq!(location(&res), "/");
    for name in ["_trifecta_session", "XSRF-TOKEN"] {
        let cookie = set_cookie(res.headers(), name).ok_or(name)?;
        assert!(has_secure(&cookie), "{cookie}");
    }

    // /cable: an https page is same-origin only when the request is https.
    let https_origin = format!("https://{}", server.addr);
    let http_origin = format!("http://{}", server.addr);
    assert_eq!(
        cable_upgrade(&server, &https_origin, Some("https")).await?,
        101
    );
    assert_eq!(cable_upgrade(&server, &https_origin, None).await?, 404);
    assert_eq!(
        cable_upgrade(&server, &http_origin, Some("https")).await?,
        404
    );
    assert_eq!(cable_upgrade(&server, &http_origin, None).await?, 101);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_ssl_treats_every_request_as_https() -> TestResult {
    let (_dir, server) = server(&["--assume-ssl", "--trusted-proxies", "none"]);
    let res = client().get(server.url("/login")).send().await?;
    let cookie = set_cookie(res.headers(), "XSRF-TOKEN").ok_or("no XSRF-TOKEN")?;
    assert!(has_secure(&cookie), "{cookie}");
    assert!(res.headers().contains_key("strict-transport-security"));
    let origin = format!("https://{}", server.addr);
    assert_eq!(cable_upgrade(&server, &origin, None).await?, 101);
    Ok(())
}

#[test]
fn an_invalid_trusted_proxy_range_is_a_startup_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (status, _, stderr) = crate::helpers::run_cli(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--trusted-proxies",
            "10.0.0.0/8,not-a-range",
        ],
    );
    assert!(!status.success());
    assert!(
        stderr.contains("\"not-a-range\" is not an IP address or CIDR range"),
        "{stderr}"
    );
    Ok(())
}

/// The status of a WebSocket upgrade to `/cable` from a page of `origin`, with
/// `X-Forwarded-Proto: proto` if given (101: accepted; 404: refused, as Rails answers).
async fn cable_upgrade(server: &ChildServer, origin: &str, proto: Option<&str>) -> TestResult<u16> {
    let mut request = format!("ws://{}/cable", server.addr).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", "actioncable-v1-json".parse()?);
    headers.insert("origin", origin.parse()?);
    if let Some(proto) = proto {
        headers.insert("x-forwarded-proto", proto.parse()?);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => Ok(response.status().as_u16()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Ok(response.status().as_u16())
        }
        Err(err) => Err(err.into()),
    }
}
