//! Scheduled backups: `serve --backup-every D --backup-dir DIR --backup-keep N`.
//!
//! The schedule is a recurring queue task (`every D`, aligned to the epoch), so every
//! server on a storage directory agrees on the run times and the queue's unique
//! `(task_key, run_at)` record enqueues each run once, however many servers schedule it.
//! The job is due at its run time, and the backup of a run goes to
//! `DIR/<env>-<run time, UTC>`: a second attempt of the same run (after a crash) finds
//! that directory and does nothing. After each backup the oldest beyond `N` are deleted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{Error, MANIFEST, Result, create};
use crate::queue::{Job, JobContext, JobError, JobOptions, QueueSetup, RecurringTask, Schedule};
use crate::store::Timestamp;
use crate::stores::Stores;

/// Key of the recurring task in `solid_queue_recurring_tasks`.
pub const TASK_KEY: &str = "trifecta_backup";

/// Error class of a failed scheduled backup.
pub const FAILURE_CLASS: &str = "BackupFailed";

/// Scheduled backup settings of `trifecta serve`.
#[derive(Args, Clone, Debug)]
pub struct BackupArgs {
    /// Take a backup this often (e.g. `6h`, at least `1s`), as a recurring job that runs once
    /// per period whichever server takes it. Requires --backup-dir.
    #[arg(long = "backup-every", env = "TRIFECTA_BACKUP_EVERY", value_parser = parse_every, requires = "backup_dir")]
    pub every: Option<Duration>,
    /// Directory of the scheduled backups; each run writes `<env>-<UTC time>` inside it.
    #[arg(id = "backup_dir", long = "backup-dir", env = "TRIFECTA_BACKUP_DIR")]
    pub dir: Option<PathBuf>,
    /// Scheduled backups kept in --backup-dir; older ones are deleted after each new one.
    #[arg(long = "backup-keep", env = "TRIFECTA_BACKUP_KEEP", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,
}

impl Default for BackupArgs {
    fn default() -> Self {
        Self {
            every: None,
            dir: None,
            keep: 7,
        }
    }
}

fn parse_every(text: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err(format!("{text:?} is shorter than 1s"));
    }
    Ok(d)
}

/// The job of one scheduled run: where to write and how many to keep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScheduledBackup {
    /// The backup directory (absolute).
    pub dir: PathBuf,
    /// Backups kept.
    pub keep: u32,
}

impl Job for ScheduledBackup {
    const NAME: &'static str = "backup";
}

/// Registers the backup job on the queue being set up, working on `stores` of environment
/// `env` in `storage`. Every server registers it, so any worker can run a run scheduled by
/// any server.
pub fn register(queue: &mut QueueSetup, stores: Stores, storage: PathBuf, env: String) {
    queue.register(
        JobOptions::default(),
        move |job: ScheduledBackup, ctx: JobContext| {
            let (stores, storage, env) = (stores.clone(), storage.clone(), env.clone());
            async move {
                run(&stores, &storage, &env, &job, &ctx)
                    .await
                    .map_err(|e| JobError::new(FAILURE_CLASS, e.to_string()))
            }
        },
    );
}

/// Adds the recurring task to the queue being set up when `args` asks for scheduled
/// backups.
///
/// # Errors
/// A backup directory whose absolute path cannot be determined, or a store on PostgreSQL
/// ([`Error::OnPostgres`]).
pub fn schedule(queue: &mut QueueSetup, args: &BackupArgs, stores: &Stores) -> Result<()> {
    let (Some(every), Some(dir)) = (args.every, args.dir.as_ref()) else {
        return Ok(());
    };
    // Refused at startup rather than failing at every run.
    super::files_only(&stores.postgres_stores())?;
    // Absolute, so the job means the same directory in a server started elsewhere.
    let dir = std::path::absolute(dir).map_err(super::files::io(dir))?;
    let job = ScheduledBackup {
        dir,
        keep: args.keep,
    };
    let args = serde_json::to_string(&job).map_err(|e| Error::Io {
        path: job.dir.clone(),
        cause: e.into(),
    })?;
    queue.add_recurring(RecurringTask {
        key: TASK_KEY.to_owned(),
        schedule_text: format!("every {}", humantime::format_duration(every)),
        schedule: Schedule::Every(every),
        job: ScheduledBackup::NAME.to_owned(),
        args,
        queue: None,
        priority: None,
        description: Some("scheduled backup (serve --backup-every)".to_owned()),
    });
    Ok(())
}

async fn run(
    stores: &Stores,
    storage: &Path,
    env: &str,
    job: &ScheduledBackup,
    ctx: &JobContext,
) -> Result<()> {
    let dest = job.dir.join(format!("{env}-{}", slot_name(ctx.due_at)));
    if dest.join(MANIFEST).is_file() {
        tracing::info!(dest = %dest.display(), job_id = ctx.id.0, "backup of this run already taken");
    } else {
        let dir = job.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(super::files::io(&dir))
        })
        .await??;
        create(stores, storage, env, &dest).await?;
        tracing::info!(dest = %dest.display(), job_id = ctx.id.0, "backup written");
    }
    let (dir, env, keep) = (job.dir.clone(), env.to_owned(), job.keep);
    let pruned = tokio::task::spawn_blocking(move || prune(&dir, &env, keep)).await??;
    for old in pruned {
        tracing::info!(dest = %old.display(), "old backup deleted");
    }
    Ok(())
}

/// `20260102T030405Z`: sorts as time does.
fn slot_name(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_micros(t.0)
        .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| t.0.to_string())
}

/// Deletes the oldest complete scheduled backups of `env` in `dir` beyond the newest
/// `keep`; returns what it deleted. Other entries are never touched.
fn prune(dir: &Path, env: &str, keep: u32) -> Result<Vec<PathBuf>> {
    let prefix = format!("{env}-");
    let mut backups: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(super::files::io(dir))?
        .filter_map(std::result::Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let stamp = name.strip_prefix(&prefix)?;
            let ours = stamp.len() == 16
                && stamp.ends_with('Z')
                && stamp.as_bytes().get(8) == Some(&b'T')
                && stamp
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 8 || i == 15 || b.is_ascii_digit());
            (ours && e.path().join(MANIFEST).is_file()).then(|| (name, e.path()))
        })
        .collect();
    backups.sort();
    let excess = backups
        .len()
        .saturating_sub(usize::try_from(keep).unwrap_or(usize::MAX));
    let mut deleted = Vec::new();
    for (_, path) in backups.into_iter().take(excess) {
        match std::fs::remove_dir_all(&path) {
            Ok(()) => deleted.push(path),
            // Another server's run pruned it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(cause) => return Err(Error::Io { path, cause }),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_sort_as_time_and_prune_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("dir");
        let mut names = Vec::new();
        for secs in [3_i64, 1, 2] {
            let name = format!("test-{}", slot_name(Timestamp(secs * 1_000_000)));
            std::fs::create_dir(dir.path().join(&name)).expect("mkdir");
            std::fs::write(dir.path().join(&name).join(MANIFEST), "{}").expect("manifest");
            names.push(name);
        }
        std::fs::create_dir(dir.path().join("test-2-19700101T000000Z")).expect("other env");
        std::fs::create_dir(dir.path().join("test-19700101T000009Z")).expect("incomplete");
        let deleted = prune(dir.path(), "test", 2).expect("prune");
        assert_eq!(deleted, vec![dir.path().join("test-19700101T000001Z")]);
        assert!(dir.path().join("test-19700101T000003Z").exists());
        assert!(dir.path().join("test-2-19700101T000000Z").exists());
        assert!(dir.path().join("test-19700101T000009Z").exists());
    }
}
