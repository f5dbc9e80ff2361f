//! `trifecta restore SRC`: checks a backup, then puts its files in a storage directory.
//!
//! Order: the manifest and every checksum of `SRC`; the storage lock, taken exclusively
//! (so never under a running server, and no server starts meanwhile); the target's
//! existing data (refused without `--force`); copies staged inside the target directory,
//! checked again and with `integrity_check`; then one rename per file, after removing the
//! old files' `-wal` and `-shm` (they belong to the replaced databases).

use std::path::{Path, PathBuf};

use super::files::{checksum, create_private_dir, io, sync_dir};
use super::{Error, FileEntry, Manifest, Result, SECRET_KIND, read_manifest};
use crate::store::{StorageLock, inspect_copy};
use crate::stores::StoreKind;
use crate::web::secret;

/// What [`restore`] did.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The manifest of the restored backup.
    pub manifest: Manifest,
    /// Whether the backup carried the secret key base (else the target's, or the one given
    /// by flag, stays in use).
    pub secret: bool,
}

/// Restores the backup at `src` into storage directory `dir` for environment `env`
/// (blocking). Replaces existing data only when `force`.
///
/// # Errors
/// A damaged or unreadable backup, a server running on `dir`, existing data without
/// `force`, or I/O errors.
pub fn restore(src: &Path, dir: &Path, env: &str, force: bool) -> Result<Restored> {
    let manifest = read_manifest(src)?;
    let mut plan = Vec::new();
    for kind in StoreKind::ALL {
        let entry = manifest
            .entry(kind.name())
            .ok_or_else(|| Error::NotABackup {
                path: src.to_path_buf(),
                reason: format!("manifest.json lists no {} database", kind.name()),
            })?;
        plan.push((entry, kind.file_name(env)));
    }
    if let Some(entry) = manifest.entry(SECRET_KIND) {
        plan.push((entry, secret::FILE_NAME.to_owned()));
    }
    for (entry, _) in &plan {
        verify(src, entry)?;
    }

    let lock = StorageLock::exclusive(dir)?;
    if !force {
        let found: Vec<String> = plan
            .iter()
            .flat_map(|(_, target)| {
                [target.clone(), format!("{target}-wal")]
                    .into_iter()
                    .filter(|name| dir.join(name).exists())
            })
            .collect();
        if !found.is_empty() {
            return Err(Error::TargetNotEmpty {
                dir: dir.to_path_buf(),
                found: found.join(", "),
            });
        }
    }
    let staging = dir.join(format!(".restore-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    create_private_dir(&staging)?;
    let placed = stage_and_place(src, dir, &staging, &plan);
    let _ = std::fs::remove_dir_all(&staging);
    placed?;
    sync_dir(dir)?;
    drop(lock);
    Ok(Restored {
        secret: manifest.entry(SECRET_KIND).is_some(),
        manifest,
    })
}

/// The file of `entry` in `src` has the manifest's size and checksum.
fn verify(src: &Path, entry: &FileEntry) -> Result<PathBuf> {
    if !entry.has_plain_name() {
        return Err(Error::NotABackup {
            path: src.to_path_buf(),
            reason: format!("manifest.json names {:?}, not a file name", entry.name),
        });
    }
    let path = src.join(&entry.name);
    let (bytes, sha256) = checksum(&path)?;
    if bytes != entry.bytes || sha256 != entry.sha256 {
        return Err(Error::Checksum {
            path,
            reason: format!(
                "{bytes} bytes with sha256 {sha256}, expected {} bytes with sha256 {}",
                entry.bytes, entry.sha256
            ),
        });
    }
    Ok(path)
}

fn stage_and_place(
    src: &Path,
    dir: &Path,
    staging: &Path,
    plan: &[(&FileEntry, String)],
) -> Result<()> {
    for (entry, target) in plan {
        let staged = staging.join(target);
        let from = src.join(&entry.name);
        std::fs::copy(&from, &staged).map_err(io(&from))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
                .map_err(io(&staged))?;
        }
        std::fs::File::open(&staged)
            .and_then(|f| f.sync_all())
            .map_err(io(&staged))?;
        // Checked again after the copy, and `integrity_check` on what will be used.
        let (bytes, sha256) = checksum(&staged)?;
        if bytes != entry.bytes || sha256 != entry.sha256 {
            return Err(Error::Checksum {
                path: from,
                reason: "changed while being copied".to_owned(),
            });
        }
        let Some(kind) = StoreKind::ALL.into_iter().find(|k| k.name() == entry.kind) else {
            continue;
        };
        let info = inspect_copy(kind.name(), &staged)?;
        if !info.is_sound() {
            return Err(Error::Integrity {
                path: from,
                first: info.integrity.first().cloned().unwrap_or_default(),
            });
        }
        let known = kind.schema().known_version();
        if info.schema_version > known {
            return Err(Error::NewerBackup {
                path: from,
                found: info.schema_version,
                known,
            });
        }
    }
    for (_, target) in plan {
        let path = dir.join(target);
        for suffix in ["-wal", "-shm"] {
            let side = dir.join(format!("{target}{suffix}"));
            match std::fs::remove_file(&side) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(cause) => return Err(Error::Io { path: side, cause }),
            }
        }
        std::fs::rename(staging.join(target), &path).map_err(io(&path))?;
    }
    Ok(())
}
