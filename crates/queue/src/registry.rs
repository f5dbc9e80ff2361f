//! The job registry: job names to type-erased handlers. The app fills it through
//! [`QueueSetup::register`](super::QueueSetup::register) before the queue starts, and it is
//! read-only from then on; a handler is any closure, so it can capture the handles (cache,
//! cable, ...) it needs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::job::{Job, JobContext, JobError, JobOptions, NewJob};
use trifecta_store::Timestamp;

/// The future a type-erased handler returns.
pub(crate) type PerformFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

type Perform = Arc<dyn Fn(&str, JobContext) -> Result<PerformFuture, JobError> + Send + Sync>;

/// One registered job type.
pub(crate) struct Entry {
    pub perform: Perform,
    pub options: JobOptions,
    /// Rebuilds the typed job from stored arguments to learn its queue, priority and
    /// concurrency (used when enqueuing by name, e.g. recurring tasks).
    pub describe: fn(&str, Option<Timestamp>) -> serde_json::Result<NewJob>,
}

/// Job names to handlers. Filled before the queue starts and read-only afterwards, so the
/// workers read it without a lock.
#[derive(Default)]
pub struct Registry {
    entries: HashMap<String, Arc<Entry>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("jobs", &self.names())
            .finish()
    }
}

/// Error class recorded when a job's name has no handler in the worker process.
pub const UNKNOWN_JOB: &str = "UnknownJobError";
/// Error class recorded when stored arguments do not deserialize into the job type.
pub const BAD_ARGUMENTS: &str = "ArgumentError";

fn describe<J: Job>(args: &str, at: Option<Timestamp>) -> serde_json::Result<NewJob> {
    let job: J = serde_json::from_str(args)?;
    NewJob::from_job(&job, at)
}

impl Registry {
    /// Registers (or replaces) the handler of `J`.
    pub(crate) fn register<J, F, Fut>(&mut self, options: JobOptions, handler: F)
    where
        J: Job,
        F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let perform: Perform = Arc::new(move |args: &str, ctx: JobContext| {
            let job: J = serde_json::from_str(args).map_err(|e| {
                JobError::new(
                    BAD_ARGUMENTS,
                    format!("arguments of {} do not deserialize: {e}", J::NAME),
                )
            })?;
            Ok(Box::pin(handler(job, ctx)) as PerformFuture)
        });
        let entry = Entry {
            perform,
            options,
            describe: describe::<J>,
        };
        self.entries.insert(J::NAME.to_owned(), Arc::new(entry));
    }

    /// Whether `name` has a handler.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<Entry>> {
        self.entries.get(name).cloned()
    }
}
