//! Reloading a `--tls-cert`/`--tls-key` pair without a restart: on `SIGHUP` and when the files
//! change. New handshakes get the new certificate; an open connection and the listening
//! socket carry on; a broken file leaves the current certificate in place.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::helpers::{ChildServer, TestResult, wait_for};
use crate::tls_support::{https_client, one_at_a_time, served_leaf};

/// A self-signed certificate for `localhost`: (cert PEM, key PEM, leaf DER).
fn self_signed() -> TestResult<(String, String, Vec<u8>)> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    Ok((
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().to_vec(),
    ))
}

/// `GET /up` on an open keep-alive connection; returns the status line.
async fn get_up<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
) -> TestResult<String> {
    stream
        .write_all(b"GET /up HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await??;
        if n == 0 {
            return Err("connection closed".into());
        }
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>())
                })
                .ok_or("no content-length")??;
            if body.len() >= length {
                return Ok(head.lines().next().unwrap_or_default().to_owned());
            }
        }
    }
}

/// A server started on certificate A (`cert.pem`/`key.pem` in its own directory), with a
/// second self-signed pair B ready to swap in, and a client that trusts both.
struct Swap {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    a_leaf: Vec<u8>,
    b_cert: String,
    b_key: String,
    b_leaf: Vec<u8>,
    server: ChildServer,
    port: u16,
    client: reqwest::Client,
}

impl Swap {
    async fn start() -> TestResult<Self> {
        let dir = tempfile::tempdir()?;
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let (a_cert, a_key, a_leaf) = self_signed()?;
        let (b_cert, b_key, b_leaf) = self_signed()?;
        std::fs::write(&cert, &a_cert)?;
        std::fs::write(&key, &a_key)?;
        let server = ChildServer::spawn(
            &dir.path().join("storage"),
            &[
                "--tls-cert",
                &cert.display().to_string(),
                "--tls-key",
                &key.display().to_string(),
            ],
        );
        let port = server.addr.port();
        let roots = format!("{a_cert}{b_cert}");
        let client = https_client(roots.as_bytes(), port, Arc::default())?;
        assert_eq!(served_leaf(&client, port).await, Some(a_leaf.clone()));
        Ok(Self {
            _dir: dir,
            cert,
            key,
            a_leaf,
            b_cert,
            b_key,
            b_leaf,
            server,
            port,
            client,
        })
    }

    /// Waits for a server log line containing every one of `parts`.
    async fn logged(&self, label: &str, parts: &[&str]) {
        wait_for(label, Duration::from_secs(20), || async {
            self.server
                .log
                .lock()
                .expect("log")
                .iter()
                .any(|l| parts.iter().all(|p| l.contains(p)))
                .then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_an_open_connection_survives() -> TestResult {
    let _heavy = one_at_a_time().await;
    let mut t = Swap::start().await?;

    // A keep-alive connection opened with certificate A.
    let mut store = rustls::RootCertStore::empty();
    store.add(rustls::pki_types::CertificateDer::from(t.a_leaf.clone()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(store)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(t.server.addr).await?;
    let mut open = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    assert!(get_up(&mut open).await?.contains("200"));

    std::fs::write(&t.cert, &t.b_cert)?;
    std::fs::write(&t.key, &t.b_key)?;
    t.server.signal("HUP");
    t.logged("the SIGHUP reload", &["TLS certificate reloaded", "SIGHUP"])
        .await;
    assert_eq!(served_leaf(&t.client, t.port).await, Some(t.b_leaf.clone()));
    assert!(t.server.child.try_wait()?.is_none(), "still running");
    // The connection opened before the reload still answers, with its certificate.
    assert!(get_up(&mut open).await?.contains("200"));
    let peer = open.get_ref().1.peer_certificates().map(|c| c[0].to_vec());
    assert_eq!(peer, Some(t.a_leaf));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_certificate_files_are_reloaded_and_a_broken_pair_is_not() -> TestResult {
    let _heavy = one_at_a_time().await;
    let t = Swap::start().await?;

    // B's certificate with A's key does not load: A stays.
    std::fs::write(&t.cert, &t.b_cert)?;
    t.logged("the refused reload", &["TLS certificate not reloaded"])
        .await;
    assert_eq!(served_leaf(&t.client, t.port).await, Some(t.a_leaf.clone()));

    std::fs::write(&t.key, &t.b_key)?;
    wait_for("certificate B", Duration::from_secs(20), || async {
        served_leaf(&t.client, t.port)
            .await
            .filter(|leaf| *leaf == t.b_leaf)
    })
    .await;
    Ok(())
}
