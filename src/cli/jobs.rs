//! `trifecta jobs ...`: inspect and administer the job queue of a storage directory, also
//! while a server runs on it.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::Error;
use crate::config::StorageArgs;
use crate::queue::{JobId, JobInfo, JobState};

/// `trifecta jobs`.
#[derive(Args, Debug)]
pub struct JobsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: JobsCommand,
}

/// The `jobs` subcommands.
#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Job counts by state (ready, scheduled, claimed, blocked, failed, finished), per queue.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List jobs, oldest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_parser = job_state_parser())]
        state: Option<JobState>,
        /// Only jobs on this queue.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List failed jobs with their errors.
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retry a failed job, or every failed job.
    Retry {
        /// The job id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every failed job.
        #[arg(long)]
        all: bool,
    },
    /// Discard a job (ready, scheduled, blocked or failed), or every failed job.
    Discard {
        /// The job id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every failed job (asks for confirmation on a terminal).
        #[arg(long)]
        all: bool,
        /// Do not ask: confirm `--all` (required when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Pause a queue: its jobs stay ready but are not claimed.
    Pause {
        /// Queue name.
        queue: String,
    },
    /// Resume a paused queue.
    Resume {
        /// Queue name.
        queue: String,
    },
    /// Enqueue a job by name (built-in: noop, sleep, fail).
    Enqueue {
        /// Job name.
        name: String,
        /// Arguments as JSON.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Queue (default: the job's).
        #[arg(long)]
        queue: Option<String>,
        /// Priority (default: the job's).
        #[arg(long)]
        priority: Option<i32>,
        /// Run after this delay, e.g. `30s`.
        #[arg(long = "in", value_parser = humantime::parse_duration)]
        delay: Option<Duration>,
    },
}

/// Runs a `jobs` subcommand against the storage in `storage`.
///
/// # Errors
/// Storage, queue or output errors.
pub async fn run(
    storage: StorageArgs,
    args: JobsArgs,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let queue = super::Offline::open(&storage).await?.queue();
    match args.command {
        JobsCommand::Stats { json } => {
            let stats = queue.stats().await?;
            if json {
                writeln!(out, "{}", to_json(&stats)?)?;
                return Ok(());
            }
            writeln!(out, "{:<10} {:>8}", "state", "jobs")?;
            for (state, n) in &stats.totals {
                writeln!(out, "{state:<10} {n:>8}")?;
            }
            writeln!(out)?;
            write!(out, "{:<24}", "queue")?;
            for s in JobState::ALL {
                write!(out, " {:>9}", s.as_str())?;
            }
            writeln!(out)?;
            for (name, counts) in &stats.queues {
                let paused = if stats.paused.contains(name) {
                    " (paused)"
                } else {
                    ""
                };
                write!(out, "{:<24}", format!("{name}{paused}"))?;
                for s in JobState::ALL {
                    write!(out, " {:>9}", counts.get(s.as_str()).copied().unwrap_or(0))?;
                }
                writeln!(out)?;
            }
            if !stats.paused.is_empty() {
                writeln!(out, "paused: {}", stats.paused.join(", "))?;
            }
            writeln!(out, "processes: {}", stats.processes)?;
        }
        JobsCommand::List {
            state,
            queue: q,
            limit,
            json,
        } => {
            let jobs = queue.jobs(state, q.as_deref(), limit).await?;
            print_jobs(out, &jobs, json)?;
        }
        JobsCommand::Failed { limit, json } => {
            let jobs = queue.jobs(Some(JobState::Failed), None, limit).await?;
            print_jobs(out, &jobs, json)?;
        }
        JobsCommand::Retry { id, all } => {
            let ids = match (id, all) {
                (Some(id), false) => {
                    queue.retry(JobId(id)).await?;
                    vec![JobId(id)]
                }
                _ => queue.retry_all().await?,
            };
            writeln!(out, "retried {} job(s)", ids.len())?;
        }
        JobsCommand::Discard { id, all, yes } => {
            let ids = match (id, all) {
                (Some(id), false) => {
                    queue.discard(JobId(id)).await?;
                    vec![JobId(id)]
                }
                _ => {
                    super::confirm("jobs discard --all", "discard every failed job", yes)?;
                    queue.discard_all_failed().await?
                }
            };
            writeln!(out, "discarded {} job(s)", ids.len())?;
        }
        JobsCommand::Pause { queue: q } => {
            let changed = queue.pause(&q).await?;
            writeln!(
                out,
                "{q} {}",
                if changed {
                    "paused"
                } else {
                    "was already paused"
                }
            )?;
        }
        JobsCommand::Resume { queue: q } => {
            let changed = queue.resume(&q).await?;
            writeln!(
                out,
                "{q} {}",
                if changed { "resumed" } else { "was not paused" }
            )?;
        }
        JobsCommand::Enqueue {
            name,
            args,
            queue: q,
            priority,
            delay,
        } => {
            let at = delay.map(|d| queue.clock().now() + d);
            let id = queue
                .enqueue_named(&name, &args, q.as_deref(), priority, at)
                .await?;
            writeln!(out, "enqueued job {id}")?;
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Output(std::io::Error::other(e)))
}

fn print_jobs(out: &mut (dyn Write + Send), jobs: &[JobInfo], json: bool) -> Result<(), Error> {
    if json {
        writeln!(out, "{}", to_json(&jobs)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>8}  {:<10} {:<16} {:<20} {:>5}  detail",
        "id", "state", "queue", "job", "runs"
    )?;
    for j in jobs {
        let detail = match &j.error {
            Some(e) => e.to_string(),
            None => j.arguments.clone(),
        };
        writeln!(
            out,
            "{:>8}  {:<10} {:<16} {:<20} {:>5}  {}",
            j.id.0,
            j.state.as_str(),
            j.queue_name,
            j.class_name,
            j.executions,
            detail
        )?;
    }
    Ok(())
}

/// Parses `--state`, listing every state in `--help`.
fn job_state_parser() -> impl clap::builder::TypedValueParser<Value = JobState> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(JobState::ALL.map(JobState::as_str))
        .try_map(|s| s.parse::<JobState>())
}
