//! The secret key base: from `TRIFECTA_SECRET_KEY_BASE`, or generated once into the storage
//! directory (file `secret_key_base`, mode 0600) and reused on every later start.

use std::io::Write;
use std::path::Path;

use crate::store;

/// File name of the generated key inside the storage directory.
pub const FILE_NAME: &str = "secret_key_base";

/// The key: `explicit` when given, else the storage file, created if missing.
///
/// # Errors
/// A key that is too short, or a storage file that cannot be read or written.
pub fn load(dir: &Path, explicit: Option<&str>) -> Result<Vec<u8>, store::Error> {
    let bad = |reason: String| store::Error::Open {
        db: "secret",
        path: dir.join(FILE_NAME),
        reason,
    };
    if let Some(key) = explicit {
        if key.len() < 32 {
            return Err(bad(
                "TRIFECTA_SECRET_KEY_BASE must be at least 32 characters".to_owned(),
            ));
        }
        return Ok(key.as_bytes().to_vec());
    }
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(bad(
                "the key file is too short; delete it to generate a new one".to_owned(),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(e.to_string())),
    }
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| bad(e.to_string()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(hex.as_bytes())
                .map_err(|e| bad(e.to_string()))?;
            f.sync_all().map_err(|e| bad(e.to_string()))?;
            Ok(hex.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(dir, None),
        Err(e) => Err(bad(e.to_string())),
    }
}
