//! Certificates from a real ACME server: Debian's pebble, started per test on free loopback
//! ports, validating TLS-ALPN-01 and HTTP-01 against the `trifecta` binary for `localhost`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Browser, ChildServer, TestResult, wait_for};
use crate::tls_support::{
    Pebble, acme_dir, cable_over_tls, free_port, https_client, leaf_of, next_of_type,
    one_at_a_time, served_leaf, stored_certificate,
};

/// Long enough that no renewal happens during a test.
const LONG: Duration = Duration::from_secs(3600);
/// Short enough that the renewal (at a third of the lifetime left) comes within the test.
const SHORT: Duration = Duration::from_secs(18);
/// How long obtaining a certificate may take on a busy machine.
const ISSUE: Duration = Duration::from_secs(60);

/// `serve` flags for a certificate for `localhost` from `pebble`.
fn acme_args(pebble: &Pebble) -> Vec<String> {
    vec![
        "--tls-domain".into(),
        "localhost".into(),
        "--acme-directory".into(),
        pebble.directory.clone(),
        "--acme-root".into(),
        pebble.acme_root.display().to_string(),
    ]
}

fn spawn(dir: &std::path::Path, port: u16, args: &[String]) -> ChildServer {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ChildServer::spawn_at(dir, &format!("127.0.0.1:{port}"), &args, &[])
}

fn logged(server: &ChildServer, text: &str) -> bool {
    server
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|l| l.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_obtains_a_certificate_by_tls_alpn_01_and_serves_https_with_it() -> TestResult
{
    let _heavy = one_at_a_time().await;
    let port = free_port();
    let mut pebble = Pebble::start(port, free_port(), LONG);
    let root = pebble.issuing_root().await?;
    let dir = tempfile::tempdir()?;
    let mut server = spawn(dir.path(), port, &acme_args(&pebble));
    let client = https_client(&root, port, Arc::default())?;
    let served = wait_for("a certificate from pebble", ISSUE, || {
        served_leaf(&client, port)
    })
    .await;

    // The served certificate is the stored one, and the files are the owner's alone.
    let stored = stored_certificate(dir.path(), &pebble);
    assert_eq!(served, leaf_of(&stored)?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["certificate.pem", "account.json"] {
            let mode = std::fs::metadata(acme_dir(dir.path(), &pebble).join(file))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    assert!(logged(&server, "certificate obtained"));
    let res = client
        .get(format!("https://localhost:{port}/login"))
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().unwrap_or_default().contains("max-age=")),
        "HSTS on HTTPS"
    );

    // A restart with the ACME server gone serves the stored certificate.
    server.signal("TERM");
    server.wait_exit(Duration::from_secs(15)).expect("exited");
    pebble.stop();
    let server = spawn(dir.path(), port, &acme_args(&pebble));
    let again = wait_for("the stored certificate", ISSUE, || {
        served_leaf(&client, port)
    })
    .await;
    assert_eq!(again, served);
    assert!(logged(&server, "serving the stored certificate"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_01_is_answered_on_the_port_80_listener_which_redirects_everything_else() -> TestResult
{
    let _heavy = one_at_a_time().await;
    let (port, http_port) = (free_port(), free_port());
    let pebble = Pebble::start(free_port(), http_port, LONG);
    let root = pebble.issuing_root().await?;
    let dir = tempfile::tempdir()?;
    let mut args = acme_args(&pebble);
    args.extend([
        "--acme-challenge".into(),
        "http-01".into(),
        "--http-bind".into(),
        format!("127.0.0.1:{http_port}"),
    ]);
    let _server = spawn(dir.path(), port, &args);
    let client = https_client(&root, port, Arc::default())?;
    let served = wait_for("a certificate by HTTP-01", ISSUE, || {
        served_leaf(&client, port)
    })
    .await;
    assert_eq!(served, leaf_of(&stored_certificate(dir.path(), &pebble))?);
    assert!(
        pebble.log().contains("validate w/ HTTP"),
        "pebble fetched the HTTP-01 answer"
    );

    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = format!("http://127.0.0.1:{http_port}");
    let res = plain
        .get(format!("{base}/todos?page=2"))
        .header("host", format!("localhost:{http_port}"))
        .send()
        .await?;
    assert_eq!(res.status(), 301);
    assert_eq!(
        res.headers()["location"],
        format!("https://localhost:{port}/todos?page=2").as_str()
    );
    assert!(res.headers().get("strict-transport-security").is_none());
    let res = plain
        .post(format!("{base}/session"))
        .header("host", "localhost")
        .body("x=1")
        .send()
        .await?;
    assert_eq!(res.status(), 308, "non-GET keeps its method");
    assert_eq!(
        res.headers()["location"],
        format!("https://localhost:{port}/session").as_str()
    );
    let res = plain
        .get(format!("{base}/.well-known/acme-challenge/no-such-token"))
        .send()
        .await?;
    assert_eq!(res.status(), 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_swaps_the_certificate_without_closing_an_open_websocket() -> TestResult {
    let _heavy = one_at_a_time().await;
    let port = free_port();
    let pebble = Pebble::start(port, free_port(), SHORT);
    let root = pebble.issuing_root().await?;
    let dir = tempfile::tempdir()?;
    let server = spawn(dir.path(), port, &acme_args(&pebble));
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = https_client(&root, port, jar.clone())?;
    let first = wait_for("a certificate", ISSUE, || served_leaf(&client, port)).await;

    let browser = Browser {
        client: client.clone(),
        jar,
        base: format!("https://localhost:{port}"),
        version: String::new(),
    };
    let res = browser
        .sign_up("renewal@example.com", "correct horse battery")
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let session = browser.cookie("_trifecta_session").expect("session cookie");
    let mut ws = cable_over_tls(&root, port, &format!("_trifecta_session={session}")).await?;
    next_of_type(&mut ws, "welcome", Duration::from_secs(5)).await?;
    let opened_with = ws
        .get_ref()
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c[0].to_vec());
    assert_eq!(opened_with.as_ref(), Some(&first));

    let renewed = wait_for("the renewed certificate", SHORT * 3, || async {
        served_leaf(&client, port)
            .await
            .filter(|leaf| *leaf != first)
    })
    .await;
    assert_eq!(renewed, leaf_of(&stored_certificate(dir.path(), &pebble))?);
    assert!(logged(&server, "renewal=true"));

    // The socket opened with the old certificate still carries frames both ways.
    let identifier = r#"{"channel":"TodosChannel"}"#;
    ws.send(Message::text(
        serde_json::json!({"command": "subscribe", "identifier": identifier}).to_string(),
    ))
    .await?;
    let confirm = next_of_type(&mut ws, "confirm_subscription", Duration::from_secs(5)).await?;
    assert_eq!(confirm["identifier"], identifier);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_acme_server_at_renewal_keeps_the_old_certificate_and_logs_it() -> TestResult
{
    let _heavy = one_at_a_time().await;
    let port = free_port();
    let mut pebble = Pebble::start(port, free_port(), SHORT);
    let root = pebble.issuing_root().await?;
    let dir = tempfile::tempdir()?;
    let server = spawn(dir.path(), port, &acme_args(&pebble));
    let client = https_client(&root, port, Arc::default())?;
    let first = wait_for("a certificate", ISSUE, || served_leaf(&client, port)).await;
    pebble.stop();

    wait_for("the failed renewal in the log", SHORT * 2, || async {
        logged(
            &server,
            "certificate renewal failed; still serving the current certificate",
        )
        .then_some(())
    })
    .await;
    assert_eq!(served_leaf(&client, port).await, Some(first));
    let line = server
        .log
        .lock()
        .expect("log")
        .iter()
        .find(|l| l.contains("renewal failed"))
        .cloned()
        .unwrap_or_default();
    assert!(
        line.contains("WARN") && line.contains("retry_in="),
        "{line}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_on_one_storage_directory_share_challenges_and_the_certificate() -> TestResult {
    let _heavy = one_at_a_time().await;
    // Pebble validates on the first process's port, but only the second can reach pebble
    // (the first trusts an unrelated root for it): the second orders, the first answers the
    // TLS-ALPN-01 challenge from the shared store, then serves the stored certificate.
    let (first_port, second_port) = (free_port(), free_port());
    let pebble = Pebble::start(first_port, free_port(), LONG);
    let root = pebble.issuing_root().await?;
    let dir = tempfile::tempdir()?;
    let unrelated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let wrong_root = dir.path().join("unrelated.pem");
    std::fs::write(&wrong_root, unrelated.cert.pem())?;
    let mut first_args = acme_args(&pebble);
    first_args[5] = wrong_root.display().to_string();
    let storage = dir.path().join("storage");
    let first = spawn(&storage, first_port, &first_args);
    wait_for("the first process's failed order", ISSUE, || async {
        logged(&first, "certificate not obtained").then_some(())
    })
    .await;

    let second = spawn(&storage, second_port, &acme_args(&pebble));
    let second_client = https_client(&root, second_port, Arc::default())?;
    let leaf = wait_for("the second process's certificate", ISSUE, || {
        served_leaf(&second_client, second_port)
    })
    .await;
    assert!(logged(&second, "certificate obtained"));
    let first_client = https_client(&root, first_port, Arc::default())?;
    let shared = wait_for("the first process serving it", ISSUE, || {
        served_leaf(&first_client, first_port)
    })
    .await;
    assert_eq!(shared, leaf);
    assert!(logged(&first, "serving the stored certificate"));
    let challenges = acme_dir(&storage, &pebble).join("challenges");
    assert_eq!(
        std::fs::read_dir(challenges)?.count(),
        0,
        "answers are removed after the order"
    );
    Ok(())
}

#[test]
fn https_flags_that_do_not_go_together_stop_the_start_with_a_clear_message() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cases: [(&[&str], &str); 4] = [
        (
            &["--http-bind", "127.0.0.1:0"],
            "--http-bind redirects to HTTPS: it needs --tls-domain or --tls-cert/--tls-key",
        ),
        (
            &["--tls-domain", "localhost", "--acme-challenge", "http-01"],
            "--acme-challenge http-01 is answered on the port-80 listener: add --http-bind",
        ),
        (&["--tls-domain", "*.example.com"], "is not a domain name"),
        (
            &[
                "--tls-domain",
                "example.com",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
            ],
            "cannot be used with",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["serve", "--bind", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (status, _, stderr) = crate::helpers::run_cli(dir.path(), &all);
        assert!(!status.success(), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    Ok(())
}
