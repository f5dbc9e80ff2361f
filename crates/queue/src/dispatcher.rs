//! The dispatcher: moves due scheduled jobs to ready every polling interval (at once again
//! while batches come back full), and runs concurrency maintenance and the cleanup of old
//! finished jobs every maintenance interval.

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::Queue;
use super::error::Result;
use super::store::model::DispatchReport;

/// The dispatcher of one process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    queue: Queue,
}

impl Dispatcher {
    /// A dispatcher for `queue`, with its settings.
    pub fn new(queue: &Queue) -> Self {
        Self {
            queue: queue.clone(),
        }
    }

    /// One batch of due scheduled jobs.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(level = "trace", skip(self))]
    pub async fn run_once(&self) -> Result<DispatchReport> {
        self.queue
            .dispatch_due(self.queue.settings().dispatcher_batch_size)
            .await
    }

    /// Concurrency maintenance, then cleanup of finished jobs past retention.
    ///
    /// # Errors
    /// Database errors.
    pub async fn maintain(&self) -> Result<()> {
        let released = self.queue.maintain_concurrency().await?;
        let cleared = self.queue.clear_finished().await?;
        if released > 0 || cleared > 0 {
            tracing::info!(released, cleared, "queue maintenance");
        }
        Ok(())
    }

    /// Runs until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        let settings = self.queue.settings();
        let batch = settings.dispatcher_batch_size;
        let mut maintenance = tokio::time::interval(settings.concurrency_maintenance_interval);
        maintenance.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(settings.dispatcher_polling_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                _ = maintenance.tick() => {
                    if let Err(err) = self.maintain().await {
                        tracing::warn!(cause = %err, "queue maintenance failed");
                    }
                }
                _ = poll.tick() => loop {
                    match self.run_once().await {
                        Ok(r) if r.dispatched >= batch && !token.is_cancelled() => {}
                        Ok(_) => break,
                        Err(err) => {
                            tracing::warn!(cause = %err, "dispatch failed");
                            break;
                        }
                    }
                },
            }
        }
    }
}
