//! This process's cache and cable figures per minute over the last hour, in memory: the
//! pulse adds what changed since its last look to the current minute's bucket.

use std::collections::VecDeque;
use std::time::Duration;

use crate::store::Timestamp;

/// A minute, in microseconds.
const MINUTE_US: i64 = 60_000_000;
/// Minutes kept and charted.
pub(super) const HOUR: usize = 60;
/// Pulses the rates are taken over.
const RATE_WINDOW: usize = 10;

/// The cache in one minute (this process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheMinute {
    /// The minute's start.
    pub at: Timestamp,
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Entries written.
    pub writes: u64,
    /// Entries deleted by expiry.
    pub evictions: u64,
}

/// The cable in one minute (this process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CableMinute {
    /// The minute's start.
    pub at: Timestamp,
    /// Broadcasts published here.
    pub broadcasts: u64,
    /// Broadcast frames written to this server's sockets.
    pub delivered: u64,
    /// The largest listener lag (commit to delivery here), if anything was delivered.
    pub lag_max: Option<Duration>,
}

/// Rates over the last pulses.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Broadcasts published here per second.
    pub broadcasts_per_second: f64,
    /// Frames written to sockets here per second.
    pub delivered_per_second: f64,
    /// The largest listener lag at the last pulse that saw a delivery.
    pub listener_lag: Option<Duration>,
}

/// What the counters read at one pulse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Reading {
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_writes: u64,
    pub cache_evictions: u64,
    pub broadcasts: u64,
    pub delivered: u64,
}

impl Reading {
    /// What grew from `before` to `self` (counters never shrink; a smaller value counts 0).
    fn since(self, before: Reading) -> Reading {
        Reading {
            cache_hits: self.cache_hits.saturating_sub(before.cache_hits),
            cache_misses: self.cache_misses.saturating_sub(before.cache_misses),
            cache_writes: self.cache_writes.saturating_sub(before.cache_writes),
            cache_evictions: self.cache_evictions.saturating_sub(before.cache_evictions),
            broadcasts: self.broadcasts.saturating_sub(before.broadcasts),
            delivered: self.delivered.saturating_sub(before.delivered),
        }
    }
}

/// The buckets and the recent readings.
#[derive(Debug, Default)]
pub(super) struct Samples {
    cache: VecDeque<CacheMinute>,
    cable: VecDeque<CableMinute>,
    /// The readings of the last pulses, with their times.
    recent: VecDeque<(Timestamp, Reading)>,
    last_lag: Option<Duration>,
}

/// The start of the minute `t` is in.
fn minute_of(t: Timestamp) -> Timestamp {
    Timestamp(t.0 - t.0.rem_euclid(MINUTE_US))
}

impl CacheMinute {
    /// Nothing in the minute starting `at`.
    fn empty(at: Timestamp) -> Self {
        Self {
            at,
            hits: 0,
            misses: 0,
            writes: 0,
            evictions: 0,
        }
    }
}

impl CableMinute {
    /// Nothing in the minute starting `at`.
    fn empty(at: Timestamp) -> Self {
        Self {
            at,
            broadcasts: 0,
            delivered: 0,
            lag_max: None,
        }
    }
}

impl Samples {
    /// Adds the growth since the previous reading to the current minute.
    pub(super) fn record(&mut self, now: Timestamp, reading: Reading, lag: Option<Duration>) {
        let grew = match self.recent.back() {
            Some((_, before)) => reading.since(*before),
            // The first look: counters since start belong to no minute we know.
            None => Reading::default(),
        };
        self.recent.push_back((now, reading));
        while self.recent.len() > RATE_WINDOW + 1 {
            self.recent.pop_front();
        }
        if lag.is_some() {
            self.last_lag = lag;
        }
        let at = minute_of(now);
        if self.cache.back().is_none_or(|m| m.at != at) {
            self.cache.push_back(CacheMinute::empty(at));
            self.cable.push_back(CableMinute::empty(at));
        }
        while self.cache.len() > HOUR {
            self.cache.pop_front();
            self.cable.pop_front();
        }
        if let Some(m) = self.cache.back_mut() {
            m.hits += grew.cache_hits;
            m.misses += grew.cache_misses;
            m.writes += grew.cache_writes;
            m.evictions += grew.cache_evictions;
        }
        if let Some(m) = self.cable.back_mut() {
            m.broadcasts += grew.broadcasts;
            m.delivered += grew.delivered;
            if let Some(lag) = lag {
                m.lag_max = Some(m.lag_max.map_or(lag, |l| l.max(lag)));
            }
        }
    }

    /// The last hour of the cache, a bucket per minute ending with `now`'s.
    pub(super) fn cache_hour(&self, now: Timestamp) -> Vec<CacheMinute> {
        hour(now, &self.cache, |m| m.at, CacheMinute::empty)
    }

    /// The last hour of the cable, a bucket per minute ending with `now`'s.
    pub(super) fn cable_hour(&self, now: Timestamp) -> Vec<CableMinute> {
        hour(now, &self.cable, |m| m.at, CableMinute::empty)
    }

    /// Rates over the readings kept.
    pub(super) fn rates(&self) -> Rates {
        let mut rates = Rates {
            listener_lag: self.last_lag,
            ..Rates::default()
        };
        if let (Some((t0, first)), Some((t1, last))) = (self.recent.front(), self.recent.back()) {
            let secs = t1.since(*t0).as_secs_f64();
            if secs > 0.0 {
                let grew = last.since(*first);
                rates.broadcasts_per_second = grew.broadcasts as f64 / secs;
                rates.delivered_per_second = grew.delivered as f64 / secs;
            }
        }
        rates
    }
}

/// The starts of the sixty minutes a chart of the last hour shows, oldest first, ending
/// with the minute of `now`.
pub fn hour_minutes(now: Timestamp) -> impl Iterator<Item = Timestamp> {
    let last = minute_of(now);
    (0..HOUR as i64)
        .rev()
        .map(move |back| Timestamp(last.0 - back * MINUTE_US))
}

/// Sixty buckets ending with the minute of `now`: the kept ones where they exist, `empty`
/// ones elsewhere.
fn hour<T: Copy>(
    now: Timestamp,
    kept: &VecDeque<T>,
    at: impl Fn(&T) -> Timestamp,
    empty: impl Fn(Timestamp) -> T,
) -> Vec<T> {
    hour_minutes(now)
        .map(|minute| {
            kept.iter()
                .find(|m| at(m) == minute)
                .copied()
                .unwrap_or_else(|| empty(minute))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(hits: u64, broadcasts: u64) -> Reading {
        Reading {
            cache_hits: hits,
            broadcasts,
            ..Reading::default()
        }
    }

    #[test]
    fn growth_lands_in_its_minute_and_the_hour_is_zero_filled() {
        let mut s = Samples::default();
        let t0 = Timestamp(1_000 * MINUTE_US + 5_000_000);
        s.record(t0, reading(100, 7), None);
        s.record(
            Timestamp(t0.0 + 1_000_000),
            reading(103, 9),
            Some(Duration::from_millis(4)),
        );
        s.record(Timestamp(t0.0 + MINUTE_US), reading(110, 9), None);
        let now = Timestamp(t0.0 + MINUTE_US);
        let cache = s.cache_hour(now);
        assert_eq!(cache.len(), HOUR);
        assert_eq!(cache[HOUR - 1].at, minute_of(now));
        assert_eq!(cache[HOUR - 1].hits, 7);
        assert_eq!(cache[HOUR - 2].hits, 3, "the first reading counts nothing");
        assert_eq!(cache[HOUR - 3].hits, 0);
        let cable = s.cable_hour(now);
        assert_eq!(cable[HOUR - 2].broadcasts, 2);
        assert_eq!(cable[HOUR - 2].lag_max, Some(Duration::from_millis(4)));
        assert_eq!(cable[HOUR - 1].lag_max, None);
    }

    #[test]
    fn an_hour_later_old_minutes_are_gone() {
        let mut s = Samples::default();
        let t0 = Timestamp(2_000 * MINUTE_US);
        s.record(t0, reading(0, 0), None);
        s.record(Timestamp(t0.0 + 1), reading(5, 0), None);
        let later = Timestamp(t0.0 + 61 * MINUTE_US);
        s.record(later, reading(5, 0), None);
        assert!(s.cache_hour(later).iter().all(|m| m.hits == 0));
        assert!(s.cache.len() <= HOUR);
    }

    #[test]
    fn rates_are_per_second_over_the_window() {
        let mut s = Samples::default();
        for i in 0..=20_u64 {
            s.record(Timestamp(i as i64 * 1_000_000), reading(0, i * 50), None);
        }
        let r = s.rates();
        assert!((r.broadcasts_per_second - 50.0).abs() < 1e-9, "{r:?}");
    }
}
