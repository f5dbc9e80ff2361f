//! HTTPS with rustls: the acceptor that offers HTTP/2 and HTTP/1.1 by ALPN, and the
//! [`CertResolver`] behind it. The resolver holds the served certificate in an [`ArcSwapOption`],
//! so a renewal or a reload swaps it for new handshakes while open connections keep theirs;
//! it also answers ACME TLS-ALPN-01 handshakes (`acme-tls/1`) with challenge certificates.
//! Connections go through the same accept loop, limits and graceful shutdown as plain HTTP.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use super::Error;

pub(super) mod challenges;
pub(super) mod reload;

pub(super) use challenges::Challenges;

/// The ALPN protocol of ACME TLS-ALPN-01 validation (RFC 8737).
pub(super) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The crypto provider every certificate and handshake uses.
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Picks the certificate of each handshake: the current one, or a challenge certificate for
/// an `acme-tls/1` handshake.
#[derive(Debug, Default)]
pub(super) struct CertResolver {
    current: ArcSwapOption<CertifiedKey>,
    /// ACME challenge answers.
    pub challenges: Challenges,
}

impl CertResolver {
    /// Serves `cert` to new handshakes from now on.
    pub fn set(&self, cert: Arc<CertifiedKey>) {
        self.current.store(Some(cert));
    }

    /// The certificate new handshakes get, if there is one yet.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            return self.challenges.tls_alpn(hello.server_name()?);
        }
        self.current.load_full()
    }
}

/// An acceptor whose certificates come from `resolver`; it offers h2 and http/1.1, and
/// `acme-tls/1` when ACME TLS-ALPN-01 challenges are answered here.
///
/// # Errors
/// A provider without safe protocol versions (not the case with ring).
pub(super) fn acceptor(resolver: Arc<CertResolver>, acme: bool) -> Result<TlsAcceptor, Error> {
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if acme {
        server.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Parses a PEM certificate chain and a PEM private key (in one text or two) into a
/// certified key, checking that the key belongs to the certificate.
///
/// # Errors
/// No certificate, no key, or a key that does not match.
pub(super) fn certified_key(chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    if chain.is_empty() {
        return Err("no PEM certificate found".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("key: {e}"))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| e.to_string())
}

/// Loads the `--tls-cert` chain and `--tls-key` files (blocking).
///
/// # Errors
/// Unreadable or invalid files, or a key that does not match the certificate.
pub(super) fn load_files(cert: &Path, key: &Path) -> Result<CertifiedKey, Error> {
    let chain = std::fs::read(cert)
        .map_err(|e| Error::Tls(format!("certificate {}: {e}", cert.display())))?;
    let key_pem =
        std::fs::read(key).map_err(|e| Error::Tls(format!("key {}: {e}", key.display())))?;
    certified_key(&chain, &key_pem)
        .map_err(|e| Error::Tls(format!("{} and {}: {e}", cert.display(), key.display())))
}
