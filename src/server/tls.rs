//! HTTPS with rustls: HTTP/2 and HTTP/1.1 negotiated by ALPN, the same router and the same
//! graceful shutdown as plain HTTP (which serves HTTP/1.1 and h2c prior knowledge).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::Error;

/// Loads the PEM certificate chain and key into a rustls config that offers h2 and http/1.1.
///
/// # Errors
/// Unreadable or invalid files, or a key that does not match the certificate.
pub(super) async fn config(cert: &Path, key: &Path) -> Result<RustlsConfig, Error> {
    let (cert, key) = (cert.to_owned(), key.to_owned());
    let server = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| Error::Tls(format!("certificate {}: {e}", cert.display())))?;
        let key = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| Error::Tls(format!("key {}: {e}", key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(server)
    })
    .await??;
    Ok(RustlsConfig::from_config(Arc::new(server)))
}

/// Serves `service` over TLS on `listener` until `shutdown` resolves, then stops accepting
/// and waits for open connections at most `grace` before closing them.
///
/// # Errors
/// A listener that cannot be handed over.
pub(super) fn serve(
    listener: TcpListener,
    tls: RustlsConfig,
    service: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<JoinHandle<std::io::Result<()>>, Error> {
    let handle = axum_server::Handle::new();
    let watcher = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        watcher.graceful_shutdown(Some(grace));
    });
    let server = axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle);
    Ok(tokio::spawn(async move { server.serve(service).await }))
}
