//! The longer outputs of `trifecta jobs`: one job with its attempts, the processes, the
//! recurring tasks; each also as JSON.

use std::io::Write;

use serde_json::{Value, json};

use super::super::Error;
use crate::queue::{JobDetail, ProcessDetail, TaskSummary};
use crate::store::Timestamp;

fn t(v: Option<Timestamp>) -> String {
    v.map_or_else(|| "-".to_owned(), Timestamp::to_rfc3339)
}

fn json_out(out: &mut (dyn Write + Send), v: &Value) -> Result<(), Error> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| Error::Output(std::io::Error::other(e)))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// `jobs show ID`.
pub(super) fn job(out: &mut (dyn Write + Send), d: &JobDetail, as_json: bool) -> Result<(), Error> {
    let j = &d.info;
    let attempts: Vec<Value> = d
        .attempts
        .iter()
        .map(|a| {
            json!({
                "number": a.number,
                "at": a.at.to_rfc3339(),
                "exception_class": a.error.exception_class,
                "message": a.error.message,
                "backtrace": a.error.backtrace,
                "process_id": a.process_id,
            })
        })
        .collect();
    let process = d.process.as_ref().map(|p| {
        json!({
            "id": p.id,
            "registered": p.row.is_some(),
            "kind": p.row.as_ref().map(|r| r.kind.clone()),
            "name": p.row.as_ref().map(|r| r.name.clone()),
            "hostname": p.row.as_ref().and_then(|r| r.hostname.clone()),
            "pid": p.row.as_ref().map(|r| r.pid),
        })
    });
    if as_json {
        return json_out(
            out,
            &json!({
                "id": j.id.0,
                "class_name": j.class_name,
                "queue_name": j.queue_name,
                "priority": j.priority,
                "state": j.state.as_str(),
                "executions": j.executions,
                "arguments": serde_json::from_str::<Value>(&j.arguments).unwrap_or(Value::Null),
                "created_at": j.created_at.to_rfc3339(),
                "scheduled_at": j.scheduled_at.map(Timestamp::to_rfc3339),
                "claimed_at": d.claimed_at.map(Timestamp::to_rfc3339),
                "failed_at": d.failed_at.map(Timestamp::to_rfc3339),
                "finished_at": j.finished_at.map(Timestamp::to_rfc3339),
                "request_id": d.request_id,
                "concurrency_key": d.concurrency_key,
                "process": process,
                "attempts": attempts,
            }),
        );
    }
    writeln!(
        out,
        "job {}  {}  ({})",
        j.id.0,
        j.class_name,
        j.state.as_str()
    )?;
    writeln!(
        out,
        "  queue        {} (priority {})",
        j.queue_name, j.priority
    )?;
    writeln!(out, "  executions   {}", j.executions)?;
    writeln!(out, "  arguments    {}", j.arguments)?;
    writeln!(out, "  enqueued     {}", j.created_at.to_rfc3339())?;
    writeln!(out, "  scheduled    {}", t(j.scheduled_at))?;
    writeln!(out, "  claimed      {}", t(d.claimed_at))?;
    writeln!(out, "  failed       {}", t(d.failed_at))?;
    writeln!(out, "  finished     {}", t(j.finished_at))?;
    if let Some(r) = &d.request_id {
        writeln!(out, "  request      {r}")?;
    }
    if let Some(k) = &d.concurrency_key {
        writeln!(out, "  concurrency  {k}")?;
    }
    match &d.process {
        Some(p) => match &p.row {
            Some(r) => writeln!(
                out,
                "  process      {} {} on {} pid {}",
                r.kind,
                r.name,
                r.hostname.as_deref().unwrap_or("?"),
                r.pid
            )?,
            None => writeln!(out, "  process      #{} (no longer registered)", p.id)?,
        },
        None => writeln!(out, "  process      -")?,
    }
    if d.attempts.is_empty() {
        writeln!(out, "  no failed attempts")?;
    }
    for a in &d.attempts {
        writeln!(
            out,
            "\nattempt {} failed at {}: {}: {}",
            a.number,
            a.at.to_rfc3339(),
            a.error.exception_class,
            a.error.message
        )?;
        for line in &a.error.backtrace {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// `jobs processes`.
pub(super) fn processes(
    out: &mut (dyn Write + Send),
    rows: &[ProcessDetail],
    now: Timestamp,
    as_json: bool,
) -> Result<(), Error> {
    if as_json {
        let v: Vec<Value> = rows
            .iter()
            .map(|p| {
                json!({
                    "id": p.row.id,
                    "kind": p.row.kind,
                    "name": p.row.name,
                    "hostname": p.row.hostname,
                    "pid": p.row.pid,
                    "last_heartbeat_at": p.row.last_heartbeat_at.to_rfc3339(),
                    "running": p.running.iter().map(|j| json!({
                        "id": j.id.0, "class_name": j.class_name, "queue_name": j.queue_name,
                        "claimed_at": j.claimed_at.to_rfc3339(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return json_out(out, &Value::Array(v));
    }
    writeln!(
        out,
        "{:>6}  {:<12} {:<24} {:<20} {:>8} {:>10}  running",
        "id", "kind", "name", "host", "pid", "heartbeat"
    )?;
    for p in rows {
        let age = now.since(p.row.last_heartbeat_at);
        let running: Vec<String> = p
            .running
            .iter()
            .map(|j| format!("{} {}", j.id.0, j.class_name))
            .collect();
        writeln!(
            out,
            "{:>6}  {:<12} {:<24} {:<20} {:>8} {:>9}s  {}",
            p.row.id,
            p.row.kind,
            p.row.name,
            p.row.hostname.as_deref().unwrap_or("?"),
            p.row.pid,
            age.as_secs(),
            if running.is_empty() {
                "-".to_owned()
            } else {
                running.join(", ")
            }
        )?;
    }
    Ok(())
}

/// `jobs recurring`.
pub(super) fn recurring(
    out: &mut (dyn Write + Send),
    tasks: &[TaskSummary],
    as_json: bool,
) -> Result<(), Error> {
    if as_json {
        let v: Vec<Value> = tasks
            .iter()
            .map(|t| {
                json!({
                    "key": t.key,
                    "schedule": t.schedule,
                    "class_name": t.class_name,
                    "queue_name": t.queue_name,
                    "priority": t.priority,
                    "arguments": t.arguments,
                    "description": t.description,
                    "last_run_at": t.last_run_at.map(Timestamp::to_rfc3339),
                    "last_job_id": t.last_job_id.map(|j| j.0),
                    "next_run_at": t.next_run_at.map(Timestamp::to_rfc3339),
                })
            })
            .collect();
        return json_out(out, &Value::Array(v));
    }
    if tasks.is_empty() {
        writeln!(out, "no recurring tasks (see --recurring-schedule)")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<20} {:<20} {:<27} {:<27}",
        "task", "schedule", "job", "last run", "next run"
    )?;
    for task in tasks {
        writeln!(
            out,
            "{:<24} {:<20} {:<20} {:<27} {:<27}",
            task.key,
            task.schedule,
            task.class_name.as_deref().unwrap_or("-"),
            t(task.last_run_at),
            t(task.next_run_at)
        )?;
    }
    Ok(())
}
