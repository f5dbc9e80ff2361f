//! Commands per second per connection: a token bucket of `--cable-commands-burst` tokens
//! refilled at `--cable-max-commands` a second. A frame finding the bucket empty is rejected
//! (logged and ignored, like any bad frame); a client whose frames keep being rejected for
//! [`PERSIST`] on end is closed. A client within the rate never notices. The session asks
//! [`Session::within_rate`] for every text or binary frame.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::frame::DisconnectReason;
use super::session::{Gone, Session};

/// How long a client may go on sending past its rate (with no quiet second between rejected
/// frames) before it is closed.
pub(super) const PERSIST: Duration = Duration::from_secs(5);

/// A gap between rejected frames this long ends a spell of rejections.
const QUIET: Duration = Duration::from_secs(1);

/// What to do with one incoming frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Within the rate: handle it.
    Take,
    /// Over the rate: reject it (`true` for the first of a spell, the one worth logging).
    Reject(bool),
    /// Over the rate for [`PERSIST`]: close the connection.
    Close,
}

/// One connection's bucket.
#[derive(Debug)]
pub(super) struct Bucket {
    tokens: f32,
    at: Instant,
    /// When the current spell of rejections began, and the last rejection in it.
    spell: Option<(Instant, Instant)>,
}

impl Bucket {
    /// A full bucket of `burst` tokens at `now`.
    pub(super) fn new(burst: u32, now: Instant) -> Self {
        Self {
            tokens: burst as f32,
            at: now,
            spell: None,
        }
    }

    /// Takes a token for a frame arriving at `now`, with `rate` tokens a second (0: no
    /// limit) and at most `burst` saved.
    pub(super) fn take(&mut self, rate: u32, burst: u32, now: Instant) -> Verdict {
        if rate == 0 {
            return Verdict::Take;
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f32();
        self.tokens = (self.tokens + elapsed * rate as f32).min(burst.max(1) as f32);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Take;
        }
        let (began, fresh) = match self.spell {
            Some((began, last)) if now.saturating_duration_since(last) < QUIET => (began, false),
            _ => (now, true),
        };
        self.spell = Some((began, now));
        if now.saturating_duration_since(began) >= PERSIST {
            Verdict::Close
        } else {
            Verdict::Reject(fresh)
        }
    }
}

impl Session {
    /// Takes a token for an incoming frame: `Ok(true)` to handle it, `Ok(false)` to ignore
    /// it (logged once per spell: a flood must not flood the log too), `Err` once the
    /// connection was closed for flooding.
    pub(super) async fn within_rate(&mut self) -> Result<bool, Gone> {
        let config = &self.server.inner.config;
        let (rate, burst) = (config.max_commands, config.commands_burst);
        let counters = &self.server.inner.counters;
        match self.bucket.take(rate, burst, Instant::now()) {
            Verdict::Take => Ok(true),
            Verdict::Reject(first) => {
                counters.rate_limited_frames.fetch_add(1, Ordering::Relaxed);
                if first {
                    tracing::info!(
                        identity = ?self.info.identity.id,
                        "ignoring cable frames past the connection's command rate"
                    );
                }
                Ok(false)
            }
            Verdict::Close => {
                counters
                    .rate_limited_connections
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    identity = ?self.info.identity.id,
                    "closing a cable connection that kept sending past its command rate"
                );
                self.close(DisconnectReason::RateLimited, false).await;
                Err(Gone)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let t = Instant::now();
        let mut b = Bucket::new(5, t);
        let first: Vec<Verdict> = (0..7).map(|_| b.take(10, 5, t)).collect();
        assert_eq!(&first[..5], &[Verdict::Take; 5]);
        assert_eq!(
            &first[5..],
            &[Verdict::Reject(true), Verdict::Reject(false)]
        );
        // 100 ms later one token came back (10 a second), and only one.
        assert_eq!(b.take(10, 5, at(t, 100)), Verdict::Take);
        assert_eq!(b.take(10, 5, at(t, 100)), Verdict::Reject(false));
        // A long pause refills to the burst, never beyond.
        let later = at(t, 60_000);
        let refilled = (0..6)
            .filter(|_| b.take(10, 5, later) == Verdict::Take)
            .count();
        assert_eq!(refilled, 5);
    }

    #[test]
    fn a_flood_is_closed_after_five_seconds_and_a_pause_forgives() {
        let t = Instant::now();
        let mut b = Bucket::new(1, t);
        assert_eq!(b.take(1, 1, t), Verdict::Take);
        // Ten frames a second against one allowed: rejected, then closed at 5 s.
        let mut verdicts = Vec::new();
        for i in 1..=60 {
            verdicts.push(b.take(1, 1, at(t, i * 100)));
        }
        let closed_at = verdicts.iter().position(|v| *v == Verdict::Close);
        assert_eq!(closed_at, Some(50), "{verdicts:?}");
        // A client that pauses for a quiet second starts a new spell.
        let mut c = Bucket::new(1, t);
        c.take(1, 1, t);
        assert_eq!(c.take(1, 1, at(t, 10)), Verdict::Reject(true));
        assert_eq!(c.take(1, 1, at(t, 4_000)), Verdict::Take);
        assert_eq!(
            c.take(1, 1, at(t, 4_010)),
            Verdict::Reject(true),
            "a new spell"
        );
        assert_eq!(c.take(1, 1, at(t, 6_000)), Verdict::Take);
        assert_eq!(c.take(1, 1, at(t, 6_010)), Verdict::Reject(true));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let t = Instant::now();
        let mut b = Bucket::new(0, t);
        assert!((0..1000).all(|_| b.take(0, 0, t) == Verdict::Take));
    }
}
