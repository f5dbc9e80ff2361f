//! The injected clock. Scheduling SQL never reads the time itself; it gets `now` from here,
//! so tests can run on a manual clock or on tokio's paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A point in time: microseconds since the Unix epoch. Stored as an SQLite INTEGER.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Microseconds since the epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// RFC 3339 form in UTC, for humans and JSON.
    pub fn to_rfc3339(self) -> String {
        let t = UNIX_EPOCH + Duration::from_micros(u64::try_from(self.0).unwrap_or(0));
        humantime::format_rfc3339_micros(t).to_string()
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// This time plus `d` (saturating).
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_micros(d)))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;

    /// This time minus `d` (saturating).
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_micros(d)))
    }
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(Timestamp)
    }
}

/// Where "now" comes from. Cheap to clone; clones share the same time source.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System,
    Manual(AtomicI64),
    Tokio {
        base: i64,
        start: tokio::time::Instant,
    },
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Self(Arc::new(Source::System))
    }

    /// A clock that only moves when [`Clock::advance`] or [`Clock::set`] is called.
    pub fn manual(start: Timestamp) -> Self {
        Self(Arc::new(Source::Manual(AtomicI64::new(start.0))))
    }

    /// Wall-clock time at creation, then advancing with `tokio::time::Instant`, so tests with
    /// paused time see exact, deterministic timestamps.
    pub fn tokio() -> Self {
        Self(Arc::new(Source::Tokio {
            base: system_now().0,
            start: tokio::time::Instant::now(),
        }))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &*self.0 {
            Source::System => system_now(),
            Source::Manual(t) => Timestamp(t.load(Ordering::SeqCst)),
            Source::Tokio { base, start } => {
                Timestamp(base.saturating_add(duration_micros(start.elapsed())))
            }
        }
    }

    /// Moves a manual clock forward. Other clocks ignore it.
    pub fn advance(&self, d: Duration) {
        if let Source::Manual(t) = &*self.0 {
            t.fetch_add(duration_micros(d), Ordering::SeqCst);
        }
    }

    /// Sets a manual clock. Other clocks ignore it.
    pub fn set(&self, to: Timestamp) {
        if let Source::Manual(t) = &*self.0 {
            t.store(to.0, Ordering::SeqCst);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

fn system_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(duration_micros(d))
}
