//! HTTPS with rustls: the acceptor that offers HTTP/2 and HTTP/1.1 by ALPN. Connections go
//! through the same accept loop, limits and graceful shutdown as plain HTTP (which serves
//! HTTP/1.1 and h2c prior knowledge).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::Error;

/// Loads the PEM certificate chain and key into an acceptor that offers h2 and http/1.1.
///
/// # Errors
/// Unreadable or invalid files, or a key that does not match the certificate.
pub(super) async fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Error> {
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
    Ok(TlsAcceptor::from(Arc::new(server)))
}
