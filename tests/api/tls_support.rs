//! HTTPS test support: Debian's `pebble` (the ACME test server) started on free loopback
//! ports, HTTPS clients that trust a given root and show the certificate each fresh
//! connection got, and a WebSocket over TLS.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::TestResult;

/// Held by each test that starts pebble or a TLS server process: their start-ups (asset
/// compression, key generation, issuance) are CPU bursts, and several at once on a small
/// machine starve the timing-sensitive tests running beside them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for the other heavy TLS tests to finish; hold the guard for the whole test.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A loopback port that was free a moment ago (bound to port 0, read, closed): for the fixed
/// ports pebble validates on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A running pebble with its own HTTPS certificate (which the server under test trusts
/// through `--acme-root`).
pub struct Pebble {
    child: Child,
    dir: TempDir,
    /// `https://localhost:PORT/dir`.
    pub directory: String,
    /// The PEM certificate of pebble's own HTTPS listeners.
    pub acme_root: PathBuf,
    management: u16,
}

impl Pebble {
    /// Starts pebble validating TLS-ALPN-01 on `tls_port` and HTTP-01 on `http_port` of the
    /// domain's address (`localhost` resolves to 127.0.0.1 through /etc/hosts), issuing
    /// certificates valid for `validity`. Validation is real: only the random sleeps, nonce
    /// rejections and authorization reuse are turned off.
    pub fn start(tls_port: u16, http_port: u16, validity: Duration) -> Pebble {
        let dir = tempfile::tempdir().expect("temp dir");
        let own = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("pebble certificate");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, own.cert.pem()).expect("write cert");
        std::fs::write(&key, own.signing_key.serialize_pem()).expect("write key");
        let (listen, management) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": cert,
            "privateKey": key,
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity.as_secs(),
        }});
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).expect("write config");
        let log = std::fs::File::create(dir.path().join("pebble.log")).expect("log");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn pebble (apt-get install pebble; `make pebble` does it)");
        let pebble = Pebble {
            child,
            dir,
            directory: format!("https://localhost:{listen}/dir"),
            acme_root: cert,
            management,
        };
        let up = crate::helpers::poll_blocking(Duration::from_secs(20), || {
            (TcpStream::connect(("127.0.0.1", listen)).is_ok()
                && TcpStream::connect(("127.0.0.1", management)).is_ok())
            .then_some(())
        });
        assert!(up.is_some(), "pebble did not start: {}", pebble.log());
        pebble
    }

    /// Pebble's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The root that pebble's issued chains lead to (from its management interface).
    pub async fn issuing_root(&self) -> TestResult<Vec<u8>> {
        let own = std::fs::read(&self.acme_root)?;
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&own)?)
            .build()?;
        let url = format!("https://localhost:{}/roots/0", self.management);
        let res = client.get(url).send().await?.error_for_status()?;
        Ok(res.bytes().await?.to_vec())
    }

    /// Stops pebble: the ACME server becomes unreachable.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A rustls client configuration that trusts the certificates in `root_pem`, offers `alpn`
/// and never resumes a session (a resumed session keeps the certificate of the first
/// handshake, and these tests look at the one served now).
fn client_config(root_pem: &[u8], alpn: &[&[u8]]) -> TestResult<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem) {
        roots.add(cert?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// An HTTPS client for `https://localhost:PORT` on 127.0.0.1 that trusts `root_pem`, makes a
/// full handshake on a fresh connection per request (so each request sees the certificate
/// served now) and keeps cookies.
pub fn https_client(
    root_pem: &[u8],
    port: u16,
    jar: Arc<reqwest::cookie::Jar>,
) -> TestResult<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(client_config(root_pem, &[b"h2", b"http/1.1"])?)
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .pool_max_idle_per_host(0)
        .tls_info(true)
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The leaf certificate (DER) a fresh HTTPS `GET /up` is served with, or `None` while the
/// handshake fails.
pub async fn served_leaf(client: &reqwest::Client, port: u16) -> Option<Vec<u8>> {
    let res = client
        .get(format!("https://localhost:{port}/up"))
        .send()
        .await
        .ok()?;
    let leaf = res
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?
        .to_vec();
    (res.status() == 200).then_some(leaf)
}

/// The leaf certificate (DER) stored in a PEM file (the first certificate in it).
pub fn leaf_of(pem_file: &Path) -> TestResult<Vec<u8>> {
    let first = CertificateDer::pem_file_iter(pem_file)?
        .next()
        .ok_or("no certificate in the file")??;
    Ok(first.to_vec())
}

/// The `certificate.pem` the ACME task stores for `pebble` under `storage`.
pub fn stored_certificate(storage: &Path, pebble: &Pebble) -> PathBuf {
    acme_dir(storage, pebble).join("certificate.pem")
}

/// The ACME folder of `pebble`'s directory under `storage`.
pub fn acme_dir(storage: &Path, pebble: &Pebble) -> PathBuf {
    let host = pebble
        .directory
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .replace(':', "_");
    storage.join("acme").join(host)
}

/// A WebSocket to `wss://localhost:PORT/cable` over TLS (HTTP/1.1), trusting `root_pem`, with
/// the ActionCable subprotocol and `cookie`.
pub async fn cable_over_tls(
    root_pem: &[u8],
    port: u16,
    cookie: &str,
) -> TestResult<WebSocketStream<TlsStream<tokio::net::TcpStream>>> {
    let config = client_config(root_pem, &[b"http/1.1"])?;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let mut request = format!("wss://localhost:{port}/cable").into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("actioncable-v1-json"),
    );
    headers.insert("cookie", HeaderValue::from_str(cookie)?);
    let (ws, _) = tokio_tungstenite::client_async(request, tls).await?;
    Ok(ws)
}

/// The next ActionCable frame of `type_` (others skipped), within `within`.
pub async fn next_of_type(
    ws: &mut WebSocketStream<TlsStream<tokio::net::TcpStream>>,
    type_: &str,
    within: Duration,
) -> TestResult<serde_json::Value> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| format!("no {type_} frame within {within:?}"))?
            .ok_or("socket closed")??;
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            let value: serde_json::Value = serde_json::from_str(&text)?;
            if value["type"] == type_ {
                return Ok(value);
            }
        }
    }
}
