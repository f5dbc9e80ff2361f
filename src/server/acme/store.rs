//! What ACME keeps under `<storage>/acme/<directory host>/`, shared by every process on the
//! storage directory: `account.json` (the account key and URL), `certificate.pem` (the private
//! key, then the chain: one file, so one rename replaces both at once) and `lock`, which the one
//! process that orders holds. The folder is 0700 and the files 0600.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use instant_acme::AccountCredentials;
use rustls::sign::CertifiedKey;

use super::Error;

/// The ACME files of one directory URL.
#[derive(Clone, Debug)]
pub(super) struct AcmeStore {
    dir: PathBuf,
}

/// A certificate read from `certificate.pem`.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    /// The key and chain, ready to serve.
    pub certified: Arc<CertifiedKey>,
    /// The DNS names of the leaf certificate.
    pub names: Vec<String>,
    /// Start of the leaf's validity.
    pub not_before: SystemTime,
    /// End of the leaf's validity.
    pub not_after: SystemTime,
}

impl Stored {
    /// When to renew: with a third of the lifetime left, as Let's Encrypt advises.
    pub fn renew_at(&self) -> SystemTime {
        let lifetime = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or_default();
        self.not_after - lifetime / 3
    }

    /// Whether the certificate names exactly `domains` (sorted).
    pub fn covers(&self, domains: &[String]) -> bool {
        let mut names = self.names.clone();
        names.sort();
        names == domains
    }

    /// Whether it is the same certificate as `other`.
    pub fn same_as(&self, other: &CertifiedKey) -> bool {
        self.certified.cert.first() == other.cert.first()
    }
}

impl AcmeStore {
    /// The folder of `directory` (its host and port) under `<storage>/acme/`.
    pub fn new(storage: &Path, directory: &str) -> Self {
        let host = directory
            .split("://")
            .nth(1)
            .unwrap_or(directory)
            .split('/')
            .next()
            .unwrap_or_default();
        let name: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            dir: storage.join("acme").join(name),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the folder, readable by the owner only.
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn create(&self) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io("create", &self.dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for dir in [self.dir.as_path(), self.dir.parent().unwrap_or(&self.dir)] {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| self.io("protect", dir, e))?;
            }
        }
        Ok(())
    }

    /// The stored account credentials, if an account was created before.
    ///
    /// # Errors
    /// An unreadable or corrupt `account.json`.
    pub fn load_account(&self) -> Result<Option<AccountCredentials>, Error> {
        let path = self.dir.join("account.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read", &path, e)),
        }
    }

    /// Stores the account credentials.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_account(&self, credentials: &AccountCredentials) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(credentials)
            .map_err(|e| Error::Corrupt(format!("account credentials: {e}")))?;
        self.write("account.json", &json)
    }

    /// The stored certificate, if there is one.
    ///
    /// # Errors
    /// An unreadable file, or one that holds no valid key and chain.
    pub fn load_certificate(&self) -> Result<Option<Stored>, Error> {
        let path = self.dir.join("certificate.pem");
        match std::fs::read(&path) {
            Ok(pem) => parse(&pem)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read", &path, e)),
        }
    }

    /// Stores a newly issued key and chain, and returns them parsed.
    ///
    /// # Errors
    /// An invalid key or chain, or a file that cannot be written.
    pub fn save_certificate(&self, key_pem: &str, chain_pem: &str) -> Result<Stored, Error> {
        let pem = format!("{}\n{}", key_pem.trim_end(), chain_pem);
        let stored = parse(pem.as_bytes()).map_err(|e| Error::Corrupt(format!("issued: {e}")))?;
        self.write("certificate.pem", pem.as_bytes())?;
        Ok(stored)
    }

    /// Takes the order lock if no other process holds it. The lock is released when the
    /// returned file is dropped (or the process ends).
    ///
    /// # Errors
    /// The lock file cannot be opened.
    pub fn try_lock(&self) -> Result<Option<File>, Error> {
        let path = self.dir.join("lock");
        let file = private_options()
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| self.io("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(self.io("lock", &path, e)),
        }
    }

    /// Writes `name` through a temporary file and a rename, so readers see the old or the new
    /// content, never a mix.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = private_options().write(true).truncate(true).open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            self.io("write", &path, e)
        })
    }

    fn io(&self, action: &'static str, path: &Path, cause: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_owned(),
            cause,
        }
    }
}

/// Create with mode 0600 (owner read/write only).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Parses a key-and-chain PEM and reads the leaf's names and validity.
fn parse(pem: &[u8]) -> Result<Stored, String> {
    let certified = crate::server::tls::certified_key(pem, pem)?;
    let leaf = certified.cert.first().ok_or("no certificate")?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| format!("certificate: {e}"))?;
    let time = |t: x509_parser::time::ASN1Time| {
        let secs = u64::try_from(t.timestamp()).unwrap_or(0);
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    };
    let validity = parsed.validity();
    let names = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => {
                        Some(dns.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Stored {
        names,
        not_before: time(validity.not_before),
        not_after: time(validity.not_after),
        certified: Arc::new(certified),
    })
}
