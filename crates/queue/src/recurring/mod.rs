//! Recurring tasks: schedules (`cron` expressions via the croner crate, with optional
//! seconds, or `every N seconds|minutes|hours|days`) and the tasks of the schedule file,
//! which is TOML or Solid Queue's own `config/recurring.yml` (see [`load_schedule`]).
//!
//! ```toml
//! [nightly_report]
//! job = "report"             # a registered job name (alias: class)
//! schedule = "0 3 * * *"     # or "every 30 seconds"
//! args = { kind = "daily" }  # JSON-like arguments (default {})
//! queue = "reports"          # optional: overrides the job's queue
//! priority = 5               # optional
//! description = "..."        # optional
//! ```

mod file;

use std::str::FromStr;
use std::time::Duration;

use trifecta_store::Timestamp;

pub use file::{load_schedule, parse_schedule};

/// When a recurring task runs.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// At every multiple of this period since the Unix epoch (so every scheduler agrees on
    /// the run times).
    Every(Duration),
    /// A cron expression (5 fields, or 6 with seconds first), in UTC.
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// Parses `every ...` or a cron expression.
    ///
    /// # Errors
    /// Why the text is not a schedule, in one line.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix("every ") {
            let d = parse_every(rest.trim())
                .ok_or_else(|| format!("{t:?} is not \"every N seconds|minutes|hours|days\""))?;
            if d.is_zero() {
                return Err(format!("{t:?} has a zero period"));
            }
            return Ok(Self::Every(d));
        }
        croner::Cron::from_str(t)
            .map(|c| Self::Cron(Box::new(c)))
            .map_err(|e| {
                format!(
                    "{t:?} is not a cron expression ({e}); write cron (\"0 5 * * *\") or \"every N seconds|minutes|hours|days\""
                )
            })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Every(d) => {
                let p = i64::try_from(d.as_micros()).ok()?.max(1);
                Some(Timestamp((t.0.div_euclid(p) + 1).checked_mul(p)?))
            }
            Self::Cron(cron) => {
                let floor = t.0.div_euclid(1_000_000) * 1_000_000;
                let start = chrono::DateTime::from_timestamp_micros(floor)?;
                cron.find_next_occurrence(&start, false)
                    .ok()
                    .map(|next| Timestamp(next.timestamp_micros()))
            }
        }
    }
}

fn parse_every(rest: &str) -> Option<Duration> {
    let mut words = rest.split_whitespace();
    let first = words.next()?;
    let (n, unit) = match first.parse::<u64>() {
        Ok(n) => (n, words.next()?),
        Err(_) => (1, first),
    };
    if words.next().is_some() {
        return None;
    }
    let secs = match unit.trim_end_matches('s') {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return humantime::parse_duration(rest).ok(),
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

/// One task of the schedule file.
#[derive(Clone, Debug)]
pub struct RecurringTask {
    /// Its key (the table name in the file).
    pub key: String,
    /// The schedule as written.
    pub schedule_text: String,
    /// The parsed schedule.
    pub schedule: Schedule,
    /// Job name.
    pub job: String,
    /// Arguments as JSON.
    pub args: String,
    /// Queue override.
    pub queue: Option<String>,
    /// Priority override.
    pub priority: Option<i32>,
    /// Free text.
    pub description: Option<String>,
}
