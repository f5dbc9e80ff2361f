//! One job in full for a dashboard: its row and state, when it was claimed and failed, the
//! process that ran it, and every failed attempt with its error.

use trifecta_store::Timestamp;

use super::Queue;
use super::error::Result;
use super::job::{JobError, JobId};
use super::store::model::{JobInfo, ProcessRow};

/// A job with everything known about its runs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobDetail {
    /// The job and its state.
    pub info: JobInfo,
    /// When its current claim was made (claimed jobs only).
    pub claimed_at: Option<Timestamp>,
    /// When it failed for good (failed jobs only).
    pub failed_at: Option<Timestamp>,
    /// The request that enqueued it, if any.
    pub request_id: Option<String>,
    /// Its full concurrency key, if it has a limit.
    pub concurrency_key: Option<String>,
    /// The process that ran (or runs) it, when known.
    pub process: Option<ProcessRef>,
    /// Its failed attempts, oldest first (retried ones and the final failure).
    pub attempts: Vec<Attempt>,
}

/// The process that claimed a job last.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessRef {
    /// The process's row id.
    pub id: i64,
    /// Its row, while it is still registered.
    pub row: Option<ProcessRow>,
}

/// One failed run of a job.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    /// The job's attempt count when it failed (1 for the first run; a manual retry counts
    /// from 1 again).
    pub number: i64,
    /// When the failure was recorded.
    pub at: Timestamp,
    /// What failed.
    pub error: JobError,
    /// The process that ran it.
    pub process_id: Option<i64>,
}

impl Queue {
    /// Job `id` in full, if it exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn job_detail(&self, id: JobId) -> Result<Option<JobDetail>> {
        self.store().detail(id.0).await
    }
}
