//! Running one claimed job: its span, panics caught, the outcome (finished, retry with
//! back-off, discarded, failed) and the group commit that records it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::super::job::{AfterFailure, JobContext, JobError, JobId};
use super::super::registry::UNKNOWN_JOB;
use super::super::store::model::{ClaimedJob, Completion, Outcome};
use super::Shared;

/// Performs one claimed job inside its `job` span (which shows the id of the request that
/// enqueued it), then queues its outcome for the next finish transaction.
pub(super) async fn execute(s: Arc<Shared>, job: ClaimedJob, permit: OwnedSemaphorePermit) {
    let span = tracing::info_span!(
        "job",
        id = job.id,
        class = %job.class_name,
        attempt = job.attempt,
        request_id = tracing::field::Empty,
    );
    if let Some(request_id) = &job.request_id {
        span.record("request_id", tracing::field::display(request_id));
    }
    let due = job.scheduled_at.max(job.created_at);
    let metrics = &s.queue.inner.metrics;
    let wait = s.queue.clock().now().since(due);
    metrics.start_delay.record(wait);
    let counters = s.queue.tally().queue(&job.queue_name);
    counters.started(wait);
    metrics.busy.increment(1.0);
    let started = std::time::Instant::now();
    let outcome = perform(&s, &job).instrument(span.clone()).await;
    metrics.busy.decrement(1.0);
    drop(permit);
    let Some(outcome) = outcome else {
        s.freed.notify_one();
        return;
    };
    span.in_scope(|| {
        let duration_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
        match &outcome {
            Outcome::Failed(e) => {
                tracing::warn!(job_id = job.id, job = %job.class_name, attempt = job.attempt, error = %e, "job failed");
            }
            Outcome::Finished => tracing::debug!(duration_ms, "job performed"),
            Outcome::Discarded => tracing::debug!(duration_ms, "job discarded"),
            Outcome::Retry(..) => tracing::debug!(duration_ms, "job failed; retry scheduled"),
        }
    });
    s.queue.tally().outcome(&counters, &outcome);
    complete(
        &s,
        Completion {
            job_id: job.id,
            outcome,
        },
    )
    .await;
    // After the finish is written (or handed to the completer writing it, which wakes the
    // worker again if it unblocks jobs), so the poll this wakes sees its effects.
    s.freed.notify_one();
}

/// Runs the handler; `None` when aborted by shutdown.
async fn perform(s: &Shared, job: &ClaimedJob) -> Option<Outcome> {
    let Some(entry) = s.queue.registry().get(&job.class_name) else {
        return Some(Outcome::Failed(JobError::new(
            UNKNOWN_JOB,
            format!(
                "no job named {:?} is registered in this process",
                job.class_name
            ),
        )));
    };
    let ctx = JobContext {
        id: JobId(job.id),
        queue: job.queue_name.clone(),
        attempt: job.attempt,
        enqueued_at: job.created_at,
        due_at: job.scheduled_at,
    };
    let fut = match (entry.perform)(&job.arguments, ctx) {
        Ok(fut) => fut,
        Err(e) => return Some(Outcome::Failed(e)),
    };
    // A panic becomes a failure instead of taking the worker down.
    let result = tokio::select! {
        r = AssertUnwindSafe(fut).catch_unwind() => r,
        () = s.abort.cancelled() => return None,
    };
    let error = match result {
        Ok(Ok(())) => return Some(Outcome::Finished),
        Ok(Err(e)) => e,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            JobError::new("Panic", format!("job panicked: {what}"))
        }
    };
    Some(match entry.options.after_failure(&error, job.attempt) {
        AfterFailure::Discard => Outcome::Discarded,
        AfterFailure::Retry(wait) => {
            tracing::info!(job_id = job.id, attempt = job.attempt, ?wait, error = %error, "job will be retried");
            Outcome::Retry(s.queue.clock().now() + wait, error)
        }
        AfterFailure::Fail => Outcome::Failed(error),
    })
}

/// Group commit: the first completer with no write in flight writes every pending outcome
/// in one transaction, repeating until nothing is pending.
async fn complete(s: &Shared, c: Completion) {
    if !s.finish.lock().push(c) {
        return;
    }
    loop {
        let Some(batch) = s.finish.lock().next_batch(usize::MAX) else {
            return;
        };
        let preserve = s.queue.settings().preserve_finished_jobs;
        let process_id = s.process_id;
        let now = s.queue.clock().now();
        let n = batch.len();
        count_outcomes(s, &batch);
        match s
            .queue
            .store()
            .finish(process_id, batch, preserve, now)
            .await
        {
            // Jobs this finish unblocked are claimable now, not at the next poll: as in
            // Solid Queue, whose thread finishes (unblocking the next job) before waking its
            // worker. This holds in `--wake poll` too; it is the worker's own work.
            Ok(report) if report.made_ready > 0 => {
                // Known work: the freed-slot wake-up polls on it even where a look with
                // nothing known is skipped (PostgreSQL).
                s.poll.lock().more = true;
                s.freed.notify_one();
                s.queue.notify_ready();
            }
            Ok(_) => {}
            Err(err) => {
                tracing::error!(cause = %err, jobs = n, "cannot record finished jobs; their claims stay until released");
            }
        }
    }
}

/// Adds finished and failed attempts to the job counters.
fn count_outcomes(s: &Shared, batch: &[Completion]) {
    let (mut finished, mut failed, mut retried, mut discarded) = (0, 0, 0, 0);
    for c in batch {
        match c.outcome {
            Outcome::Finished => finished += 1,
            Outcome::Failed(_) => failed += 1,
            Outcome::Retry(..) => retried += 1,
            Outcome::Discarded => discarded += 1,
        }
    }
    let metrics = &s.queue.inner.metrics;
    for (counter, n) in [
        (&metrics.finished, finished),
        (&metrics.failed, failed),
        (&metrics.retried, retried),
        (&metrics.discarded, discarded),
    ] {
        if n > 0 {
            counter.increment(n);
        }
    }
}
