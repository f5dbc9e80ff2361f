//! Built-in jobs, registered by the server so the queue can be exercised (CLI, multi-process
//! tests, benchmarks) before the app defines its own:
//!
//! - `noop` ([`Noop`]): does nothing; takes an optional `tag`.
//! - `sleep` ([`Sleep`]): sleeps `ms` milliseconds.
//! - `fail` ([`Fail`]): always fails with class `BuiltinFailure` and the given message.

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

/// Always fails.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Fail {
    /// The failure message.
    #[serde(default)]
    pub message: String,
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
            Err(JobError::new(FAIL_CLASS, job.message))
        });
}
