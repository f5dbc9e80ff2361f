//! The file work of a backup: the private temporary directory, checksums, the copied
//! secret, the manifest, and the rename that makes a backup appear complete or not at all.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Error, FORMAT, FileEntry, MANIFEST, Manifest, Result, SECRET_KIND};
use crate::store::{Clock, copy_schema_version};
use crate::stores::StoreKind;
use crate::web::secret;

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Checks `dest` is free and creates the private temporary directory next to it, with an
/// empty private file for each database of `env` (`VACUUM INTO` writes into an empty file
/// and keeps its mode).
pub(super) fn prepare(dest: &Path, env: &str) -> Result<PathBuf> {
    if dest.exists() {
        return Err(Error::Exists(dest.to_path_buf()));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".to_owned());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        // Left by an earlier process with this pid that died mid-backup.
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    create_private_dir(&tmp)?;
    let created = StoreKind::ALL
        .iter()
        .try_for_each(|kind| create_private(&tmp.join(kind.file_name(env))).map(drop));
    if let Err(err) = created {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(err);
    }
    Ok(tmp)
}

/// Creates directory `path` readable by its owner only.
pub(super) fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(io(path))
}

/// Creates the empty file `path` with mode 0600 (the databases hold password digests and
/// sessions, the secret signs cookies).
pub(super) fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io(path))
}

/// Writes `bytes` to the new private file `path` and syncs it.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(path))
}

/// Size and SHA-256 (hex) of the file at `path`.
pub(super) fn checksum(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Syncs directory `dir`, so renames and new entries in it survive a crash.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Adds the secret and the manifest to the snapshots in `tmp`, then renames `tmp` to `dest`.
pub(super) fn finish(storage: &Path, env: &str, tmp: &Path, dest: &Path) -> Result<Manifest> {
    let mut files = Vec::new();
    for kind in StoreKind::ALL {
        let name = kind.file_name(env);
        let path = tmp.join(&name);
        let (bytes, sha256) = checksum(&path)?;
        files.push(FileEntry {
            kind: kind.name().to_owned(),
            name,
            bytes,
            sha256,
            schema_version: Some(copy_schema_version(kind.name(), &path)?),
        });
    }
    let secret_path = storage.join(secret::FILE_NAME);
    match std::fs::read(&secret_path) {
        Ok(bytes) => {
            let path = tmp.join(secret::FILE_NAME);
            write_private(&path, &bytes)?;
            let (bytes, sha256) = checksum(&path)?;
            files.push(FileEntry {
                kind: SECRET_KIND.to_owned(),
                name: secret::FILE_NAME.to_owned(),
                bytes,
                sha256,
                schema_version: None,
            });
        }
        // Given by flag or environment: not ours to write to disk.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(cause) => {
            return Err(Error::Io {
                path: secret_path,
                cause,
            });
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at: Clock::system().now().to_rfc3339(),
        trifecta_version: env!("CARGO_PKG_VERSION").to_owned(),
        env: env.to_owned(),
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Io {
        path: tmp.join(MANIFEST),
        cause: e.into(),
    })?;
    write_private(&tmp.join(MANIFEST), &text)?;
    sync_dir(tmp)?;
    std::fs::rename(tmp, dest).map_err(io(dest))?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(manifest)
}
