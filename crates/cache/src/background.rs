//! The cache's background task: expiry passes requested by writes, and the periodic flush
//! of hit/miss counters for `trifecta cache stats`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Cache;
use super::error::Result;
use super::store::{Limits, ServerStats};

/// Rounds one pass runs at most before yielding to the background task's other work; a
/// pass that stops early is continued at once, so the cache always ends within bounds.
const MAX_ROUNDS: usize = 64;
/// Pause before a failed pass (a busy or locked file) is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// Rows of processes silent for this long are deleted by any flush.
const STATS_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// What one expiry pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryOutcome {
    /// Rows removed.
    pub deleted: usize,
    /// Rounds (transactions) run.
    pub rounds: usize,
}

impl ExpiryOutcome {
    /// The pass stopped at its round limit with more to delete.
    pub fn stopped_early(&self) -> bool {
        self.rounds >= MAX_ROUNDS
    }
}

impl Cache {
    /// Counts `rows` written: asks for an expiry pass with probability
    /// `rows × 2 / expiry_batch_size` (Solid Cache's `expires_per_write`). Requests coalesce.
    pub(super) fn track_writes(&self, rows: usize) {
        let per_write = 2.0 / f64::from(self.inner.options.expiry_batch_size);
        let expected = rows as f64 * per_write;
        if expected >= 1.0 || fastrand::f64() < expected {
            self.inner.expiry.notify_one();
        }
    }

    /// Runs one expiry pass now: rounds of at most `expiry_batch_size` deletions of the
    /// oldest rows, until a round removes less than a full batch. Each round waits at most
    /// the write timeout for a locked file, so a pass never holds this process's writer
    /// queue (and the requests' writes behind it) for the busy timeout. [`Cache::run`] calls it
    /// when writes ask; tests call it directly.
    ///
    /// # Errors
    /// The file is busy, locked or unwritable.
    #[tracing::instrument(name = "cache_expiry", skip_all)]
    pub async fn expire_once(&self) -> Result<ExpiryOutcome> {
        let options = &self.inner.options;
        let mut outcome = ExpiryOutcome::default();
        while outcome.rounds < MAX_ROUNDS {
            let now = self.now();
            let limits = Limits {
                created_before: options.max_age.map(|age| now - age),
                max_entries: options.max_entries,
                max_size: options.max_size,
                batch: options.expiry_batch_size,
            };
            let deleted = self
                .inner
                .db
                .expire_round(now, limits, options.write_timeout)
                .await?;
            outcome.rounds += 1;
            outcome.deleted += deleted;
            metrics::counter!("trifecta_cache_evictions_total").increment(deleted as u64);
            self.inner
                .evicted
                .fetch_add(deleted as u64, std::sync::atomic::Ordering::Relaxed);
            if deleted < limits.batch as usize {
                break;
            }
        }
        if outcome.deleted > 0 {
            tracing::debug!(
                deleted = outcome.deleted,
                rounds = outcome.rounds,
                "cache expiry"
            );
        }
        Ok(outcome)
    }

    /// One pass of the background task; when it must go on (stopped at its round limit)
    /// it asks again at once, and when it failed it returns when to retry.
    async fn expiry_pass(&self) -> Option<tokio::time::Instant> {
        match self.expire_once().await {
            Ok(outcome) => {
                if outcome.stopped_early() {
                    self.inner.expiry.notify_one();
                }
                None
            }
            Err(err) => {
                tracing::warn!(busy = err.is_busy(), cause = %err, "cache expiry pass failed; will retry");
                Some(tokio::time::Instant::now() + RETRY_AFTER)
            }
        }
    }

    /// Writes this process's counters into the cache file.
    ///
    /// # Errors
    /// The file is busy, locked or unwritable.
    pub async fn flush_stats(&self) -> Result<()> {
        let now = self.now();
        let o = &self.inner.options;
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let row = ServerStats {
            instance: self.inner.instance.clone(),
            pid: i64::from(std::process::id()),
            hits: self.hits(),
            misses: self.misses(),
            max_size: o.max_size.unwrap_or(0),
            max_entries: o.max_entries.unwrap_or(0),
            max_age_micros: o.max_age.map_or(0, micros),
            started_at: self.inner.started_at,
            updated_at: now,
        };
        let prune_before = now - STATS_RETENTION;
        self.inner
            .db
            .flush_stats(row, prune_before, o.write_timeout)
            .await
    }

    /// The background task of a server: runs expiry passes when writes ask for them and
    /// flushes the counters every `stats_interval` (when they changed, and at least every
    /// ten intervals as a heartbeat), until `token` is cancelled; then removes this
    /// process's counters row. Spawn it on the server's `TaskTracker`.
    pub async fn run(self, token: CancellationToken) {
        let period = self.inner.options.stats_interval;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flushed: Option<(u64, u64)> = None;
        let mut idle_ticks = 0u32;
        // A failed pass is tried again later: the writes that asked for it may be the last.
        let mut retry: Option<tokio::time::Instant> = None;
        loop {
            let retry_due = async {
                match retry {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = token.cancelled() => break,
                () = self.inner.expiry.notified() => retry = self.expiry_pass().await,
                () = retry_due => retry = self.expiry_pass().await,
                _ = tick.tick() => {
                    let now = (self.hits(), self.misses());
                    idle_ticks += 1;
                    if flushed != Some(now) || idle_ticks >= 10 {
                        match self.flush_stats().await {
                            Ok(()) => {
                                flushed = Some(now);
                                idle_ticks = 0;
                            }
                            Err(err) => tracing::warn!(cause = %err, "cache stats flush failed"),
                        }
                    }
                }
            }
        }
        let instance = self.inner.instance.clone();
        if let Err(err) = self.inner.db.remove_stats(instance).await {
            tracing::warn!(cause = %err, "cannot remove cache stats row");
        }
    }
}
