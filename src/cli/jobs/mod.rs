//! `trifecta jobs ...`: inspect and administer the job queue of a storage directory, also
//! while a server runs on it: what the operations dashboard shows and does, on a terminal.
//! `print` has the longer outputs (one job, the processes, the recurring tasks).

mod print;

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::Error;
use crate::config::StorageArgs;
use crate::queue::{JobFilter, JobId, JobInfo, JobState, MinuteFlusher, Queue};

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
    /// One job: its state, arguments, times, the process that ran it, and every failed
    /// attempt with its backtrace.
    Show {
        /// The job id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The processes of every server on this storage (workers, dispatchers, schedulers),
    /// with their heartbeats and the jobs each runs now.
    Processes {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The recurring tasks with their last and next runs; `recurring run NAME` enqueues a
    /// task's job now.
    Recurring {
        /// `run`.
        #[command(subcommand)]
        command: Option<RecurringCommand>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retry a failed job, every failed job (`--all`), or the failed jobs matching
    /// `--queue` and/or `--class`.
    Retry {
        /// The job id.
        #[arg(required_unless_present_any = ["all", "queue", "class"], conflicts_with_all = ["all", "queue", "class"])]
        id: Option<i64>,
        /// Every failed job.
        #[arg(long, conflicts_with_all = ["queue", "class"])]
        all: bool,
        /// Which failed jobs.
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Discard a job (ready, scheduled, blocked or failed), every failed job (`--all`), or
    /// the jobs in `--state` (default failed) matching `--queue` and/or `--class`.
    Discard {
        /// The job id.
        #[arg(required_unless_present_any = ["all", "queue", "class"], conflicts_with_all = ["all", "queue", "class", "state"])]
        id: Option<i64>,
        /// Every failed job (asks for confirmation on a terminal).
        #[arg(long, conflicts_with_all = ["queue", "class", "state"])]
        all: bool,
        /// Which jobs.
        #[command(flatten)]
        filter: FilterArgs,
        /// With a filter: the state of the jobs to discard.
        #[arg(long, value_parser = ["failed", "ready", "scheduled", "blocked"])]
        state: Option<String>,
        /// Do not ask: confirm `--all` or a filter (required when standard input is not a
        /// terminal).
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

/// `--queue` and `--class`: which jobs a bulk retry or discard takes.
#[derive(Args, Debug, Default)]
pub struct FilterArgs {
    /// Only jobs on this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Only jobs of this class (the registered job name).
    #[arg(long)]
    pub class: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> JobFilter {
        JobFilter {
            queue: self.queue.clone(),
            class: self.class.clone(),
            ..JobFilter::default()
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.queue {
            parts.push(format!("on queue {q}"));
        }
        if let Some(c) = &self.class {
            parts.push(format!("of class {c}"));
        }
        parts.join(" ")
    }
}

/// `jobs recurring` subcommands.
#[derive(Subcommand, Debug)]
pub enum RecurringCommand {
    /// Enqueue the task's job now.
    Run {
        /// The task's key.
        name: String,
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
    let done = command(&queue, args.command, out).await;
    count_in_charts(&queue).await;
    done
}

/// The node of the minute statistics written by commands: registered server processes
/// are numbered from 1, so 0 is never one of theirs.
const OUTSIDE_SERVERS: i64 = 0;

/// Adds what the command did (jobs enqueued, a recurring task run) to the minute
/// statistics, as a server adds its own, so the dashboard's charts count it. A failure only
/// costs the charts those counts; the command's own work is done.
async fn count_in_charts(queue: &Queue) {
    if let Err(err) = MinuteFlusher::new(queue, OUTSIDE_SERVERS).run_once().await {
        tracing::warn!(cause = %err, "cannot add this command's jobs to the minute statistics");
    }
}

/// Runs one `jobs` subcommand on `queue`.
async fn command(
    queue: &Queue,
    command: JobsCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    match command {
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
        JobsCommand::Show { id, json } => {
            let Some(detail) = queue.job_detail(JobId(id)).await? else {
                return Err(Error::NotFound(format!("job {id}")));
            };
            print::job(out, &detail, json)?;
        }
        JobsCommand::Processes { json } => {
            let now = queue.clock().now();
            print::processes(out, &queue.process_details().await?, now, json)?;
        }
        JobsCommand::Recurring { command, json } => match command {
            Some(RecurringCommand::Run { name }) => {
                let id = queue.run_task_now(&name).await?;
                writeln!(out, "enqueued job {id} for {name}")?;
            }
            None => print::recurring(out, &queue.recurring_tasks().await?, json)?,
        },
        JobsCommand::Retry { id, all, filter } => {
            let n = match (id, all) {
                (Some(id), false) => {
                    queue.retry(JobId(id)).await?;
                    1
                }
                (_, true) => queue.retry_all().await?.len(),
                _ => queue.retry_matching(&filter.filter()).await?,
            };
            writeln!(out, "retried {n} job(s)")?;
        }
        JobsCommand::Discard {
            id,
            all,
            filter,
            state,
            yes,
        } => {
            let n = match (id, all) {
                (Some(id), false) => {
                    queue.discard(JobId(id)).await?;
                    1
                }
                (_, true) => {
                    super::confirm("jobs discard --all", "discard every failed job", yes)?;
                    queue.discard_all_failed().await?.len()
                }
                _ => {
                    let state: JobState = state.as_deref().unwrap_or("failed").parse().map_err(
                        |e: crate::queue::UnknownJobState| Error::NotFound(e.to_string()),
                    )?;
                    super::confirm(
                        "jobs discard",
                        &format!("discard every {} job {}", state.as_str(), filter.describe()),
                        yes,
                    )?;
                    queue.discard_matching(state, &filter.filter()).await?
                }
            };
            writeln!(out, "discarded {n} job(s)")?;
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
