//! The secret key base: given by `--secret-key-base` / `TRIFECTA_SECRET_KEY_BASE`, or generated
//! on first start into `<storage>/secret_key_base` (64 random bytes as hex, mode 0600) and
//! reused afterwards. Cookie keys are derived from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum_extra::extract::cookie::Key;
use sha2::{Digest, Sha512};

use super::args::SecretString;

/// Name of the generated file in the storage directory.
pub const FILE_NAME: &str = "secret_key_base";

/// Shortest accepted secret, in characters.
pub const MIN_LEN: usize = 32;

/// Errors of loading or creating the secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("secret key file {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The secret is too short to be safe.
    #[error("the secret key base from {source_name} is shorter than {MIN_LEN} characters")]
    TooShort {
        /// Where it came from.
        source_name: String,
    },
    /// No randomness available.
    #[error("cannot generate a secret: {0}")]
    Random(#[from] getrandom::Error),
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The secret every cookie key derives from.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKeyBase(String);

impl std::fmt::Debug for SecretKeyBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKeyBase([redacted])")
    }
}

impl SecretKeyBase {
    /// The given secret if any, else the storage file, created on first use.
    ///
    /// # Errors
    /// A short secret, or a storage directory where the file cannot be read or created.
    pub fn load_or_create(dir: &Path, given: Option<&SecretString>) -> Result<Self> {
        if let Some(given) = given {
            return Self::checked(given.expose().trim(), "--secret-key-base");
        }
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::checked(text.trim(), &path.display().to_string()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(&path),
            Err(cause) => Err(Error::Io { path, cause }),
        }
    }

    /// The given secret if any, else the storage file if it exists; never creates one
    /// (admin commands use it, and create nothing).
    ///
    /// # Errors
    /// A short secret, or a file that exists but cannot be read.
    pub fn load_existing(dir: &Path, given: Option<&SecretString>) -> Result<Option<Self>> {
        if let Some(given) = given {
            return Self::checked(given.expose().trim(), "--secret-key-base").map(Some);
        }
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::checked(text.trim(), &path.display().to_string()).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(Error::Io { path, cause }),
        }
    }

    fn checked(text: &str, source_name: &str) -> Result<Self> {
        if text.chars().count() < MIN_LEN {
            return Err(Error::TooShort {
                source_name: source_name.to_owned(),
            });
        }
        Ok(Self(text.to_owned()))
    }

    /// The secret itself, for deriving other per-purpose values (the id alphabet).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The key for signed and private cookies, derived for that one purpose.
    pub fn cookie_key(&self) -> Key {
        let mut hasher = Sha512::new();
        hasher.update(b"trifecta cookie key\0");
        hasher.update(self.0.as_bytes());
        Key::from(&hasher.finalize())
    }
}

/// Writes a fresh secret to a private temp file, then links it into place, so a concurrent
/// first start of another process either wins or reads the complete file of the winner.
fn create(path: &Path) -> Result<SecretKeyBase> {
    let io = |cause| Error::Io {
        path: path.to_owned(),
        cause,
    };
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes)?;
    let secret = hex::encode(bytes);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(secret.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new secret key base");
            Ok(SecretKeyBase(secret))
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            SecretKeyBase::checked(text.trim(), &path.display().to_string())
        }
        Err(err) => Err(io(err)),
    }
}
