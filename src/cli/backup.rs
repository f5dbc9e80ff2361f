//! `trifecta backup DEST` and `trifecta restore SRC`: see [`crate::backup`].

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Error;
use crate::backup::{self, Manifest};
use crate::config::StorageArgs;

/// `trifecta backup`.
#[derive(Args, Debug)]
pub struct BackupCommand {
    /// New directory to write the backup to (must not exist).
    pub dest: PathBuf,
}

/// `trifecta restore`.
#[derive(Args, Debug)]
pub struct RestoreCommand {
    /// A directory written by `trifecta backup` (or a scheduled backup).
    pub src: PathBuf,
    /// Replace the databases (and secret) already in the storage directory.
    #[arg(long)]
    pub force: bool,
}

/// Takes a backup of `storage` into a new directory while servers keep running.
///
/// # Errors
/// Storage that is missing or at another schema version, an existing destination, or
/// I/O and database failures.
pub async fn backup(
    storage: StorageArgs,
    command: BackupCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let stores = super::Offline::open(&storage).await?.stores;
    let manifest = backup::create(&stores, &storage.storage, &storage.env, &command.dest).await?;
    describe(&manifest, out)?;
    writeln!(out, "backup written to {}", command.dest.display())?;
    Ok(())
}

/// Restores a backup into the storage directory (no server may run on it).
///
/// # Errors
/// A damaged backup, a running server, existing data without `--force`, I/O failures.
pub async fn restore(
    storage: StorageArgs,
    command: RestoreCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    backup::files_only(&storage.layout().postgres_stores())?;
    let (src, dir, env) = (
        command.src.clone(),
        storage.storage.clone(),
        storage.env.clone(),
    );
    let restored =
        tokio::task::spawn_blocking(move || backup::restore(&src, &dir, &env, command.force))
            .await??;
    describe(&restored.manifest, out)?;
    writeln!(
        out,
        "restored {} into {} (backup taken {} by trifecta {})",
        command.src.display(),
        storage.storage.display(),
        restored.manifest.created_at,
        restored.manifest.trifecta_version
    )?;
    if !restored.secret {
        writeln!(
            out,
            "the backup has no secret_key_base (it was given by flag or environment): start with the same --secret-key-base, or sessions and public ids change"
        )?;
    }
    Ok(())
}

fn describe(manifest: &Manifest, out: &mut (dyn Write + Send)) -> std::io::Result<()> {
    for f in &manifest.files {
        let schema = f
            .schema_version
            .map_or_else(String::new, |v| format!("schema {v}"));
        writeln!(
            out,
            "{:<16} {:<10} {:>12} bytes  sha256 {}",
            f.kind, schema, f.bytes, f.sha256
        )?;
    }
    Ok(())
}
