//! What a job list is filtered by, read from its query string or from an action's form,
//! and the state names of the URLs (`in_progress` is the engine's `claimed`). Every bad
//! value is a 400 that says which field and why.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::queue::{Cursor, JobFilter, JobState};
use crate::store::Timestamp;
use crate::web::ApiError;

/// The longest queue or class name a filter takes.
const MAX_NAME: usize = 200;

/// The filter fields as sent: every one optional, empty meaning "any".
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct FilterFields {
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A parsed filter, with the text it came from for the page.
#[derive(Clone, Debug, Default)]
pub(super) struct Filter {
    pub engine: JobFilter,
    pub cursor: Option<Cursor>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn name(field: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match given(v) {
        Some(s) if s.len() > MAX_NAME => Err(ApiError::BadRequest(format!(
            "{field}: at most {MAX_NAME} characters"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

fn instant(field: &str, v: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    let Some(text) = given(v) else {
        return Ok(None);
    };
    let t = humantime::parse_rfc3339_weak(text).map_err(|_| {
        ApiError::BadRequest(format!(
            "{field}: not a time; use RFC 3339, e.g. 2026-12-07T20:30:00Z"
        ))
    })?;
    let us = t
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("{field}: out of range")))?;
    Ok(Some(Timestamp(us)))
}

impl FilterFields {
    /// Parses the fields.
    ///
    /// # Errors
    /// A 400 naming the field: a name too long, a time that is not RFC 3339, `from` after
    /// `to`, or a cursor this server did not hand out.
    pub(super) fn parse(&self) -> Result<Filter, ApiError> {
        let engine = JobFilter {
            queue: name("queue", &self.queue)?,
            class: name("class", &self.class)?,
            from: instant("from", &self.from)?,
            to: instant("to", &self.to)?,
        };
        if let (Some(from), Some(to)) = (engine.from, engine.to)
            && from > to
        {
            return Err(ApiError::BadRequest("from: must not be after to".into()));
        }
        let cursor = given(&self.cursor)
            .map(|c| {
                c.parse::<Cursor>().map_err(|_| {
                    ApiError::BadRequest(
                        "cursor: not a page of this list; start again from the first page".into(),
                    )
                })
            })
            .transpose()?;
        Ok(Filter { engine, cursor })
    }
}

impl Filter {
    /// The filter as the page shows it (without the cursor).
    pub(super) fn props(&self) -> Value {
        let t = |t: Option<Timestamp>| t.map(Timestamp::to_rfc3339);
        json!({
            "queue": self.engine.queue,
            "class": self.engine.class,
            "from": t(self.engine.from),
            "to": t(self.engine.to),
        })
    }

    /// A short description for flash messages and the log (`queue=default class=Mailer`).
    pub(super) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.engine.queue {
            parts.push(format!("queue={q}"));
        }
        if let Some(c) = &self.engine.class {
            parts.push(format!("class={c}"));
        }
        if let Some(f) = self.engine.from {
            parts.push(format!("from={}", f.to_rfc3339()));
        }
        if let Some(t) = self.engine.to {
            parts.push(format!("to={}", t.to_rfc3339()));
        }
        parts.join(" ")
    }
}

/// The job states of the lists, in tab order, with their URL names.
pub(super) const STATES: [(&str, JobState); 6] = [
    ("ready", JobState::Ready),
    ("scheduled", JobState::Scheduled),
    ("in_progress", JobState::Claimed),
    ("blocked", JobState::Blocked),
    ("failed", JobState::Failed),
    ("finished", JobState::Finished),
];

/// The state a URL names.
pub(super) fn state_named(name: &str) -> Option<JobState> {
    STATES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The URL name of a state.
pub(super) fn state_name(state: JobState) -> &'static str {
    STATES
        .iter()
        .find(|(_, s)| *s == state)
        .map_or("ready", |(n, _)| n)
}
