//! The schedule file: TOML, or YAML in Solid Queue's `config/recurring.yml` shape, chosen by
//! the extension (`.yml`/`.yaml` is YAML, anything else TOML). Both are read into one JSON
//! tree first, so the environment rule and the task checks are the same for both.
//!
//! - **Environments.** When the top level has a key equal to the running `--env`
//!   (`production:`, `development:`, ...), the tasks are that block's entries and the rest of
//!   the file is ignored. Otherwise the top-level entries are the tasks, except entries
//!   without `schedule` whose values are all mappings (or that are empty): those are other
//!   environments' blocks and are skipped, so a file with only `production:` has no tasks
//!   under `--env development`, as in Solid Queue.
//! - **Tasks.** `class` (alias `job`): a registered job name; `schedule`; `args`; `queue`;
//!   `priority`; `description`. `command` (Ruby code in Solid Queue) is rejected.
//! - **Arguments.** TOML `args` are the job's JSON arguments as written. YAML `args` follow
//!   ActiveJob's positional arguments ([`positional_args`]).

use std::path::Path;

use serde_json::{Map, Value};

use super::{RecurringTask, Schedule};
use crate::enqueue::validate_queue_name;
use crate::error::{Error, Result};

/// One entry of the task map, in either format.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskEntry {
    #[serde(alias = "class")]
    job: Option<String>,
    command: Option<String>,
    schedule: String,
    args: Option<Value>,
    queue: Option<String>,
    priority: Option<i32>,
    description: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Yaml,
}

/// Reads and validates the schedule file at `path` for environment `env` (see the module
/// docs for the format, environment and argument rules).
///
/// # Errors
/// [`Error::Recurring`] naming the file and, when it is one task's fault, the task, in one
/// line.
pub fn load_schedule(path: &Path, env: &str) -> Result<Vec<RecurringTask>> {
    let text = std::fs::read_to_string(path).map_err(|e| failure(path, &e.to_string()))?;
    parse_schedule(&text, path, env)
}

/// Validates the text of a schedule file as [`load_schedule`] does, `path` choosing the
/// format by its extension and naming the file in errors.
///
/// # Errors
/// [`Error::Recurring`], as [`load_schedule`].
pub fn parse_schedule(text: &str, path: &Path, env: &str) -> Result<Vec<RecurringTask>> {
    let fail = |reason: String| failure(path, &reason);
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml") => {
            Format::Yaml
        }
        _ => Format::Toml,
    };
    let top = parse(text, format).map_err(fail)?;
    tasks_for(top, env)
        .map_err(fail)?
        .into_iter()
        .map(|(key, value)| task(&key, value, format).map_err(|e| fail(format!("task {key}: {e}"))))
        .collect()
}

/// The error of the schedule file at `path`, `reason` in one line.
fn failure(path: &Path, reason: &str) -> Error {
    Error::Recurring {
        path: path.to_path_buf(),
        reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The file's top-level mapping (empty for an empty file).
fn parse(text: &str, format: Format) -> std::result::Result<Map<String, Value>, String> {
    let top: Option<Value> = match format {
        Format::Toml => toml::from_str(text).map_err(|e| e.message().to_owned())?,
        Format::Yaml => serde_saphyr::from_str(text)
            .map_err(|e| format!("invalid YAML: {}", e.without_snippet()))?,
    };
    match top {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err("the file must be a mapping of task names to tasks".to_owned()),
    }
}

/// The task entries that apply to `env`, by key.
fn tasks_for(
    mut top: Map<String, Value>,
    env: &str,
) -> std::result::Result<Map<String, Value>, String> {
    match top.remove(env) {
        Some(Value::Object(block)) => Ok(block),
        Some(Value::Null) => Ok(Map::new()),
        Some(_) => Err(format!(
            "{env}: must be a mapping of task names to tasks (the block of environment {env})"
        )),
        None => Ok(top
            .into_iter()
            .filter(|(key, value)| {
                let skip = is_environment_block(value);
                if skip {
                    tracing::debug!(block = %key, env, "recurring schedule: skipping another environment's tasks");
                }
                !skip
            })
            .collect()),
    }
}

/// An entry that cannot be a task but looks like another environment's block of tasks.
fn is_environment_block(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => {
            !m.contains_key("schedule") && m.values().all(|v| v.is_object() || v.is_null())
        }
        _ => false,
    }
}

/// One validated task.
fn task(key: &str, value: Value, format: Format) -> std::result::Result<RecurringTask, String> {
    let entry: TaskEntry = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if entry.command.is_some() {
        return Err(
            "`command` (Ruby code run by Solid Queue) is not supported; name a registered job with `class`"
                .to_owned(),
        );
    }
    let job = entry
        .job
        .ok_or("missing `class` (the registered job name; alias `job`)")?;
    let schedule = Schedule::parse(&entry.schedule).map_err(|e| format!("invalid schedule {e}"))?;
    let args = match (format, entry.args) {
        (_, None) => Value::Object(Map::new()),
        (Format::Toml, Some(v)) => v,
        (Format::Yaml, Some(v)) => positional_args(v),
    };
    if let Some(q) = &entry.queue {
        validate_queue_name(q).map_err(|e| e.to_string())?;
    }
    Ok(RecurringTask {
        key: key.to_owned(),
        schedule_text: entry.schedule,
        schedule,
        job,
        args: args.to_string(),
        queue: entry.queue,
        priority: entry.priority,
        description: entry.description,
    })
}

/// Maps Solid Queue's `args` (ActiveJob's positional arguments: "a single argument, a hash,
/// or an array of arguments") onto one serde value for the job:
///
/// - absent, `null` or `[]` (no arguments): `{}`, as a TOML task without `args`;
/// - a mapping (one hash argument, e.g. keyword arguments): that object;
/// - `[x]` (one argument): `x`, so `args: [{ kind: daily }]` and `args: { kind: daily }`
///   are the same job;
/// - `[a, b, ...]` (several): the JSON array, which serde reads positionally into a tuple,
///   a tuple struct, or a struct's fields in declaration order;
/// - a scalar (a single argument): that value.
fn positional_args(args: Value) -> Value {
    match args {
        Value::Null => Value::Object(Map::new()),
        Value::Array(mut items) => match items.len() {
            0 => Value::Object(Map::new()),
            1 => items.pop().unwrap_or(Value::Null),
            _ => Value::Array(items),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn positional_args_follow_active_job() {
        assert_eq!(positional_args(json!(null)), json!({}));
        assert_eq!(positional_args(json!([])), json!({}));
        assert_eq!(positional_args(json!([{"a": 1}])), json!({"a": 1}));
        assert_eq!(positional_args(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(positional_args(json!([42])), json!(42));
        assert_eq!(
            positional_args(json!([1000, {"batch_size": 500}])),
            json!([1000, {"batch_size": 500}])
        );
        assert_eq!(positional_args(json!("x")), json!("x"));
    }

    #[test]
    fn yaml_merge_keys_and_empty_files_parse() {
        let text = "defaults: &defaults\n  queue: background\n  schedule: every hour\nproduction:\n  cleanup:\n    <<: *defaults\n    class: noop\n";
        let top = parse(text, Format::Yaml).expect("yaml");
        let tasks = tasks_for(top, "production").expect("block");
        let cleanup = task("cleanup", tasks["cleanup"].clone(), Format::Yaml).expect("task");
        assert_eq!(cleanup.queue.as_deref(), Some("background"));
        assert_eq!(cleanup.schedule_text, "every hour");
        assert!(parse("", Format::Yaml).expect("empty").is_empty());
        assert!(
            parse("# only a comment\n", Format::Yaml)
                .expect("comment")
                .is_empty()
        );
    }

    #[test]
    fn other_environments_blocks_are_skipped_but_broken_tasks_are_not() {
        let top = parse(
            "production:\n  a:\n    class: noop\n    schedule: every minute\nstaging:\nb:\n  class: noop\n  shedule: every minute\n",
            Format::Yaml,
        )
        .expect("yaml");
        let tasks = tasks_for(top, "development").expect("tasks");
        assert_eq!(tasks.keys().collect::<Vec<_>>(), ["b"]);
        let err = task("b", tasks["b"].clone(), Format::Yaml).expect_err("typo rejected");
        assert!(err.contains("shedule"), "{err}");
    }
}
