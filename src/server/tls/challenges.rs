//! Challenge answers of ACME orders in progress: TLS-ALPN-01 certificates (answered by the
//! certificate resolver) and HTTP-01 key authorizations (answered by the port-80 listener).
//! With ACME on they are also written to `<acme dir>/challenges/` (mode 0600), so that another
//! process on the same storage directory — the one the ACME server happens to reach — answers
//! them too; the ordering process removes its files when the order ends.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// The answers, in memory and (once [`Challenges::share_in`] was called) in a folder.
#[derive(Debug, Default)]
pub(in crate::server) struct Challenges {
    tls_alpn: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    http: Mutex<HashMap<String, String>>,
    shared: OnceLock<PathBuf>,
    written: Mutex<Vec<PathBuf>>,
}

impl Challenges {
    /// Shares answers through `dir` with the other processes on the storage directory.
    pub fn share_in(&self, dir: PathBuf) {
        let _ = self.shared.set(dir);
    }

    /// Answers `acme-tls/1` handshakes for `domain` with `cert` (`pem`: its key and
    /// certificate, for the other processes).
    pub fn set_tls_alpn(&self, domain: String, cert: Arc<CertifiedKey>, pem: &str) {
        self.share(&format!("tls-alpn-{domain}.pem"), pem);
        self.tls_alpn.lock().insert(domain, cert);
    }

    /// Answers `GET /.well-known/acme-challenge/<token>` with `key_authorization`.
    pub fn set_http(&self, token: String, key_authorization: String) {
        self.share(&format!("http-{token}"), &key_authorization);
        self.http.lock().insert(token, key_authorization);
    }

    /// The TLS-ALPN-01 certificate for `domain`, from this process or a shared file.
    pub fn tls_alpn(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        if let Some(cert) = self.tls_alpn.lock().get(domain) {
            return Some(cert.clone());
        }
        let pem = self.shared_file(&format!("tls-alpn-{}.pem", safe(domain)?))?;
        challenge_key(pem.as_bytes()).map(Arc::new)
    }

    /// The key authorization for an HTTP-01 `token`, from this process or a shared file.
    pub fn http(&self, token: &str) -> Option<String> {
        if let Some(answer) = self.http.lock().get(token) {
            return Some(answer.clone());
        }
        self.shared_file(&format!("http-{}", safe(token)?))
    }

    /// Forgets this process's answers and removes its shared files (the order is over).
    pub fn clear(&self) {
        self.tls_alpn.lock().clear();
        self.http.lock().clear();
        for path in self.written.lock().drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn share(&self, name: &str, content: &str) {
        let Some(dir) = self.shared.get() else {
            return;
        };
        let path = dir.join(name);
        match write_private(dir, &path, content) {
            Ok(()) => self.written.lock().push(path),
            // This process still answers; only the other processes cannot.
            Err(err) => {
                tracing::warn!(path = %path.display(), cause = %err, "cannot share an ACME challenge answer")
            }
        }
    }

    fn shared_file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.shared.get()?.join(name)).ok()
    }
}

/// A name that is safe as part of a file name: what SNI names and ACME tokens consist of.
fn safe(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    ok.then_some(name)
}

/// Writes `content` to `path` in `dir` (created 0700) with mode 0600, through a rename.
fn write_private(dir: &Path, path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        options.mode(0o600);
    }
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut file = options.open(&temp)?;
    file.write_all(content.as_bytes())?;
    std::fs::rename(&temp, path)
}

/// A TLS-ALPN-01 certificate and key from PEM. Not `CertifiedKey::from_der`: its key check
/// parses the certificate with webpki, which refuses the critical acmeIdentifier extension
/// this certificate exists to carry.
pub(in crate::server) fn challenge_key(pem: &[u8]) -> Option<CertifiedKey> {
    let cert = CertificateDer::from_pem_slice(pem).ok()?;
    let key = PrivateKeyDer::from_pem_slice(pem).ok()?;
    let signing = super::provider().key_provider.load_private_key(key).ok()?;
    Some(CertifiedKey::new(vec![cert], signing))
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn only_plain_names_reach_the_file_system() {
        assert_eq!(safe("example.com"), Some("example.com"));
        assert_eq!(safe("abc_DEF-123"), Some("abc_DEF-123"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "x y"] {
            assert_eq!(safe(bad), None, "{bad}");
        }
    }
}
