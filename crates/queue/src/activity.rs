//! The activity signal: a number that changes whenever this process changed jobs, read with
//! one atomic load, so a dashboard's live updates can tell "nothing new" without a query.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Queue;

/// A counter bumped after each change to the jobs (admin actions: retry, discard, pause,
/// resume, run now, bulk actions).
#[derive(Debug, Default)]
pub(crate) struct Activity(AtomicU64);

impl Activity {
    /// Records a change.
    pub(crate) fn touch(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The current value: compare with an earlier one.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Queue {
    /// A number that changes whenever this process changed jobs by an admin action (retry,
    /// discard, pause, resume, run now, bulk actions). Cheap: an atomic load.
    pub fn activity(&self) -> u64 {
        self.inner.activity.get()
    }

    /// Records a change to the jobs for [`Queue::activity`].
    pub(crate) fn touch(&self) {
        self.inner.activity.touch();
    }
}
