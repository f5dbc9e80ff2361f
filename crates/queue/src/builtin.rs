//! Built-in jobs, registered by the server so the queue can be exercised (CLI, multi-process
//! tests, benchmarks) before the app defines its own:
//!
//! - `noop` ([`Noop`]): does nothing; takes an optional `tag`.
//! - `sleep` ([`Sleep`]): sleeps `ms` milliseconds.
//! - `fail` ([`Fail`]): fails with class `BuiltinFailure` and the given message; with
//!   `while_exists`, only while that file exists (a failure that can be fixed, after which
//!   a retry finishes).

use std::time::Duration;

use super::QueueSetup;
use super::job::{Job, JobError, JobOptions};

/// Does nothing.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Noop {
    /// Free text, for telling jobs apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl Job for Noop {
    const NAME: &'static str = "noop";
}

/// Sleeps for `ms` milliseconds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Sleep {
    /// How long.
    pub ms: u64,
}

impl Job for Sleep {
    const NAME: &'static str = "sleep";
}

/// Fails (always, or while a file exists).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Fail {
    /// The failure message.
    #[serde(default)]
    pub message: String,
    /// Fail only while this file exists; succeed once it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_exists: Option<std::path::PathBuf>,
}

impl Job for Fail {
    const NAME: &'static str = "fail";
}

/// Error class of [`Fail`].
pub const FAIL_CLASS: &str = "BuiltinFailure";

/// Registers the built-in jobs on `setup`.
pub fn register(setup: &mut QueueSetup) {
    setup
        .register(JobOptions::default(), |_: Noop, _| async { Ok(()) })
        .register(JobOptions::default(), |job: Sleep, _| async move {
            tokio::time::sleep(Duration::from_millis(job.ms)).await;
            Ok(())
        })
        .register(JobOptions::default(), |job: Fail, _| async move {
            let fails = match &job.while_exists {
                Some(path) => tokio::fs::try_exists(path).await.unwrap_or(true),
                None => true,
            };
            if fails {
                Err(JobError::new(FAIL_CLASS, job.message))
            } else {
                Ok(())
            }
        });
}
