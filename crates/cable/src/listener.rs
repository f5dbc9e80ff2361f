//! The polling listener: one per process, woken by the timer or at once by a local
//! broadcast; and the trim loop.

use std::time::Duration;

use super::{Cable, Result};

/// Most rows read by one poll; a full batch polls again at once.
const BATCH: u32 = 1000;
/// Longest pause after repeated database errors.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Reads new messages for locally subscribed channels and hands them to the hub, which
/// keeps the position (the highest id read).
pub struct Listener {
    cable: Cable,
    /// The file's `data_version` and the position after the last poll that read the
    /// table: while both are unchanged, nothing new can be there.
    seen: Option<(i64, Option<i64>)>,
}

impl Listener {
    pub(super) fn new(cable: Cable) -> Self {
        Self { cable, seen: None }
    }

    /// One poll: reads rows newer than the position on subscribed channels and delivers
    /// them. Returns how many rows were read.
    ///
    /// # Errors
    /// A database failure; the position is kept, so the next call retries the same rows.
    #[tracing::instrument(skip_all, level = "trace")]
    pub async fn run_once(&mut self) -> Result<usize> {
        let inner = &self.cable.inner;
        let plan = inner.hub.plan();
        let Some(hashes) = plan.hashes else {
            return Ok(0);
        };
        let known = plan.after;
        // Read before the query: a commit landing in between changes it for next time.
        let version = inner.db.data_version();
        if let (Some(v), Some((seen, at))) = (version, self.seen)
            && v == seen
            && known == at
        {
            return Ok(0);
        }
        self.seen = None;
        inner
            .polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (max, rows) = inner.db.poll(known, hashes, BATCH).await?;
        // A full batch may stop short of `max`; the rest is read next time.
        let upto = if rows.len() == BATCH as usize {
            rows.last().map_or(max, |m| m.id)
        } else {
            max.max(known.unwrap_or(max))
        };
        let n = rows.len();
        // Only JSON goes out on the wire; another writer could have stored anything.
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|m| {
                let ok = serde_json::from_str::<serde::de::IgnoredAny>(&m.payload).is_ok();
                if !ok {
                    tracing::warn!(
                        id = m.id,
                        "skipping a cable message whose payload is not JSON"
                    );
                }
                ok
            })
            .collect();
        let now = inner.clock.now();
        let lag = metrics::histogram!("trifecta_cable_listener_lag_seconds");
        let mut max = Duration::ZERO;
        for m in &rows {
            let lag_of = now.since(m.created_at);
            lag.record(lag_of);
            max = max.max(lag_of);
        }
        if !rows.is_empty() {
            // At least 1 µs, so a delivery is never mistaken for "none".
            let us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
            inner
                .lag_max_us
                .fetch_max(us, std::sync::atomic::Ordering::Relaxed);
        }
        inner.hub.advance(&rows, upto);
        self.seen = version.map(|v| (v, Some(upto)));
        Ok(n)
    }

    /// Polls until `token` is cancelled: every polling interval, or at once when woken.
    pub(super) async fn run(mut self, token: tokio_util::sync::CancellationToken) {
        let interval = self.cable.inner.config.polling_interval;
        let mut backoff = Duration::ZERO;
        loop {
            match self.run_once().await {
                Ok(n) => {
                    if backoff > Duration::ZERO {
                        tracing::info!("cable listener recovered");
                    }
                    backoff = Duration::ZERO;
                    if n == BATCH as usize {
                        continue;
                    }
                }
                Err(err) => {
                    self.cable
                        .inner
                        .listener_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    backoff =
                        (backoff * 2).clamp(interval.max(Duration::from_millis(50)), MAX_BACKOFF);
                    tracing::warn!(cause = %err, ?backoff, "cable listener poll failed; retrying");
                    tokio::select! {
                        () = token.cancelled() => break,
                        () = tokio::time::sleep(backoff) => continue,
                    }
                }
            }
            tokio::select! {
                biased;
                () = token.cancelled() => break,
                () = self.cable.inner.wake.notified() => {}
                () = tokio::time::sleep(jittered(interval)) => {}
            }
        }
        tracing::debug!("cable listener stopped");
    }
}

/// A wait of 90 to 100 % of `interval`: never longer than the setting, and never in
/// lockstep with the queue worker of this process, which polls every `interval` plus its
/// work. In lockstep, a broadcast made by a job just after the worker's poll would always
/// wait the same part of the interval for this poll (seen: 75 ms in every sample of a run)
/// instead of half of it on average; drifting by 5 % a turn, the phase sweeps the whole
/// interval every twenty polls.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.1)
}

/// Trims old messages and expired sessions every trim interval until `token` is cancelled.
pub(super) async fn trim_loop(cable: Cable, token: tokio_util::sync::CancellationToken) {
    let every = cable.inner.config.trim_interval;
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(err) = cable.trim().await {
            tracing::warn!(cause = %err, "cable trim failed; will retry");
        }
        if let Err(err) = cable.trim_sessions().await {
            tracing::warn!(cause = %err, "cable session trim failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_wait_is_jittered_and_never_longer_than_the_interval() {
        let base = Duration::from_millis(100);
        let waits: Vec<Duration> = (0..1000).map(|_| jittered(base)).collect();
        assert!(waits.iter().all(|w| *w >= base.mul_f64(0.9) && *w <= base));
        // Not a constant: the phase against other pollers drifts.
        assert!(waits.iter().any(|w| *w < base.mul_f64(0.93)));
        assert!(waits.iter().any(|w| *w > base.mul_f64(0.97)));
    }
}
