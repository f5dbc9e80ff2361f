//! The queue checker: classifies every job of the ledger by its runs.
//!
//! README's promise (Jobs): two processes never run a job at the same time; a job whose
//! enqueue was acknowledged runs to completion; it runs more than once only when the
//! process running it died (`kill -9`) before its finish was recorded, and then runs again
//! (at-least-once, `--on-dead-process release`). A run is the window from its `Start` line
//! to its `End` line, or to its process's `Dead` line when it never ended. With
//! `--on-dead-process fail` a job its dead process was running fails (with
//! `ProcessPrunedError`) instead of running again.

use std::collections::{BTreeSet, HashMap};

use trifecta::queue::{JobState, OnDeadProcess};

use super::ledger::Event;
use super::verdict::Verdict;

pub const RAN_ONCE: &str = "acknowledged, ran once";
pub const RAN_AGAIN_AFTER_CRASH: &str = "acknowledged, ran again after its process died";
pub const FAILED_AFTER_CRASH: &str = "failed when its dead process was pruned";
pub const UNACKED_RAN: &str = "unacknowledged enqueue, ran";
pub const UNACKED_NOT_RUN: &str = "unacknowledged enqueue, never stored";
pub const CONCURRENT: &str = "ran twice concurrently";
pub const AGAIN_WITHOUT_CRASH: &str = "ran again, no crash in between";
pub const LOST: &str = "acknowledged or stored, never completed (lost)";
pub const NOT_FINISHED: &str = "completed, not finished at the end";
pub const UNEXPECTED: &str = "ran or stored, never enqueued";

/// A job as the queue file holds it at the end.
#[derive(Clone, Debug)]
pub struct Stored {
    /// Its state.
    pub state: JobState,
    /// The error class of a failed job.
    pub error: Option<String>,
}

/// Error classes of the jobs `--on-dead-process fail` fails.
const PRUNED: [&str; 2] = ["ProcessPrunedError", "ProcessMissingError"];

/// One run of a job.
#[derive(Debug)]
struct Run {
    proc: String,
    start: usize,
    end: Option<usize>,
}

#[derive(Debug, Default)]
struct Job {
    enqueued: bool,
    acked: bool,
    runs: Vec<Run>,
}

/// Classifies every job named in `events` or in `stored` (tag → job at the end), for
/// the recovery `mode` of the processes.
pub fn check(events: &[Event], stored: &HashMap<String, Stored>, mode: OnDeadProcess) -> Verdict {
    let release = mode == OnDeadProcess::Release;
    let mut verdict = Verdict::new(
        "jobs (one row per job)",
        &[
            (RAN_ONCE, true),
            (RAN_AGAIN_AFTER_CRASH, release),
            (FAILED_AFTER_CRASH, !release),
            (UNACKED_RAN, true),
            (UNACKED_NOT_RUN, true),
            (CONCURRENT, false),
            (AGAIN_WITHOUT_CRASH, false),
            (LOST, false),
            (NOT_FINISHED, false),
            (UNEXPECTED, false),
        ],
    );
    let mut jobs: HashMap<&str, Job> = HashMap::new();
    let mut open: HashMap<(&str, u64), (&str, usize)> = HashMap::new();
    let mut dead: HashMap<&str, usize> = HashMap::new();
    for (pos, event) in events.iter().enumerate() {
        match event {
            Event::Enqueue { tag, .. } => jobs.entry(tag).or_default().enqueued = true,
            Event::Enqueued { tag, .. } => jobs.entry(tag).or_default().acked = true,
            Event::Start { tag, proc, run } => {
                let job = jobs.entry(tag).or_default();
                open.insert((proc, *run), (tag, job.runs.len()));
                job.runs.push(Run {
                    proc: proc.clone(),
                    start: pos,
                    end: None,
                });
            }
            Event::End { proc, run, .. } => {
                if let Some((tag, i)) = open.remove(&(proc.as_str(), *run))
                    && let Some(job) = jobs.get_mut(tag)
                {
                    job.runs[i].end = Some(pos);
                }
            }
            Event::Dead { proc } => {
                dead.insert(proc, pos);
            }
            _ => {}
        }
    }
    let tags: BTreeSet<&str> = jobs
        .keys()
        .copied()
        .chain(stored.keys().map(String::as_str))
        .collect();
    let empty = Job::default();
    for tag in tags {
        let job = jobs.get(tag).unwrap_or(&empty);
        let (class, why) = classify(job, stored.get(tag), &dead);
        verdict.add(class, || format!("{tag}: {why}"));
    }
    verdict
}

/// The class of one job, with a description for the examples.
fn classify(
    job: &Job,
    stored: Option<&Stored>,
    dead: &HashMap<&str, usize>,
) -> (&'static str, String) {
    let runs = &job.runs;
    let state = stored.map(|s| s.state);
    let error = stored.and_then(|s| s.error.as_deref());
    let describe = || {
        let runs: Vec<String> = runs
            .iter()
            .map(|r| {
                let end = r.end.map_or("-".to_owned(), |e| e.to_string());
                let died = dead
                    .get(r.proc.as_str())
                    .map_or("-".to_owned(), |d| d.to_string());
                format!("{} lines {}..{end} (died at {died})", r.proc, r.start)
            })
            .collect();
        format!("runs [{}], state {state:?} {error:?}", runs.join("; "))
    };
    if !job.enqueued {
        return (UNEXPECTED, describe());
    }
    // A run is open from its start until it ended, or else until its process died.
    let closes = |r: &Run| {
        r.end
            .or_else(|| dead.get(r.proc.as_str()).copied())
            .unwrap_or(usize::MAX)
    };
    for (i, earlier) in runs.iter().enumerate() {
        for later in &runs[i + 1..] {
            if later.start < closes(earlier) {
                return (CONCURRENT, describe());
            }
            let died_before = dead
                .get(earlier.proc.as_str())
                .is_some_and(|&d| d < later.start);
            if !died_before {
                return (AGAIN_WITHOUT_CRASH, describe());
            }
        }
    }
    if error.is_some_and(|e| PRUNED.contains(&e)) {
        return (FAILED_AFTER_CRASH, describe());
    }
    let completed = runs.iter().any(|r| r.end.is_some());
    let stored_once = state.is_some();
    let class = match state {
        // Stored (or acknowledged) but no run ever reached its end.
        _ if !completed && (job.acked || stored_once) => LOST,
        Some(JobState::Finished) if job.acked && runs.len() == 1 => RAN_ONCE,
        Some(JobState::Finished) if job.acked => RAN_AGAIN_AFTER_CRASH,
        Some(JobState::Finished) => UNACKED_RAN,
        None if !job.acked && runs.is_empty() => UNACKED_NOT_RUN,
        _ => NOT_FINISHED,
    };
    (class, describe())
}
