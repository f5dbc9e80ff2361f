//! The worker: claims up to its idle thread count per poll, performs each job on its own
//! task, and records outcomes with group commit (whichever finishing task finds no write in
//! flight writes everything pending in one transaction).
//!
//! With instant wake, a local enqueue claims for this worker in its own transaction
//! ([`Slots`]): the claim is the worker's (same selector, strict order, pauses, limit of
//! idle slots), only made a commit earlier, so a job enqueued on an idle server starts
//! without a second transaction or a wake-up of the worker's task.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures_util::FutureExt;
use tracing::Instrument;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Queue;
use super::error::Result;
use super::job::{AfterFailure, JobContext, JobError, JobId};
use super::registry::UNKNOWN_JOB;
use super::selector::QueueSelector;
use super::store::claim::ClaimedJob;
use super::store::finish::{Completion, Outcome, finish_batch};

/// A pool of `threads` job slots fed from a queue list. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Worker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Queue,
    selector: QueueSelector,
    process_id: Option<i64>,
    slots: Arc<Semaphore>,
    tasks: TaskTracker,
    abort: CancellationToken,
    freed: Notify,
    poll: Mutex<PollState>,
    finish: Mutex<FinishQueue>,
    /// Set once the worker stops claiming (shutdown): no more slots are handed out.
    stopping: AtomicBool,
}

/// Idle slots of a worker, reserved for one claim. Claim at most [`Slots::len`] jobs for
/// [`Slots::process_id`] with [`Slots::selector`], then hand them to [`Slots::start`];
/// slots not used are freed when this is dropped.
#[derive(Debug)]
pub(crate) struct Slots {
    shared: Arc<Shared>,
    permits: Vec<OwnedSemaphorePermit>,
}

/// A weak link from the queue handle to its running worker, so a local enqueue can
/// reserve slots for its own claim without keeping the worker alive.
#[derive(Debug, Default)]
pub(crate) struct LocalWorker(Mutex<Weak<Shared>>);

impl LocalWorker {
    /// Up to `n` idle slots of the running worker; `None` when there is none or it is full.
    pub(crate) fn reserve(&self, n: usize) -> Option<Slots> {
        let shared = lock(&self.0).upgrade()?;
        reserve(&shared, n)
    }

    fn set(&self, worker: &Arc<Shared>) {
        *lock(&self.0) = Arc::downgrade(worker);
    }

    fn clear(&self) {
        *lock(&self.0) = Weak::new();
    }
}

fn reserve(shared: &Arc<Shared>, n: usize) -> Option<Slots> {
    if shared.stopping.load(Ordering::Acquire) {
        return None;
    }
    let permits: Vec<_> = std::iter::from_fn(|| shared.slots.clone().try_acquire_owned().ok())
        .take(n)
        .collect();
    (!permits.is_empty()).then(|| Slots {
        shared: shared.clone(),
        permits,
    })
}

impl Slots {
    /// How many jobs the claim may take.
    pub(crate) fn len(&self) -> usize {
        self.permits.len()
    }

    /// The worker's queue list.
    pub(crate) fn selector(&self) -> &QueueSelector {
        &self.shared.selector
    }

    /// The process the claim is made for.
    pub(crate) fn process_id(&self) -> Option<i64> {
        self.shared.process_id
    }

    /// Performs each claimed job on one reserved slot; frees the slots left over.
    pub(crate) fn start(mut self, jobs: Vec<ClaimedJob>) {
        for job in jobs {
            let Some(permit) = self.permits.pop() else {
                // More jobs than slots cannot come from a claim limited to `len`; if it
                // did, the extra claims stay until released, never run twice.
                tracing::error!(job_id = job.id, "claimed a job without a free slot");
                continue;
            };
            self.shared
                .tasks
                .spawn(execute(self.shared.clone(), job, permit));
        }
    }
}

#[derive(Debug, Default)]
struct PollState {
    /// `data_version` read before the last guarded claim.
    version: Option<i64>,
    /// The last claim filled every idle slot, so more jobs may be waiting.
    more: bool,
}

#[derive(Debug, Default)]
struct FinishQueue {
    pending: Vec<Completion>,
    writing: bool,
}

impl Worker {
    /// A worker over `selector` with `threads` slots, claiming for `process_id`.
    ///
    /// # Errors
    /// The `data_version` watch connection cannot be opened.
    pub async fn new(
        queue: &Queue,
        selector: QueueSelector,
        threads: usize,
        process_id: Option<i64>,
    ) -> Result<Self> {
        // Opens the watch connection now, so a broken file fails the start.
        queue.db().data_version()?;
        Ok(Self {
            shared: Arc::new(Shared {
                queue: queue.clone(),
                selector,
                process_id,
                slots: Arc::new(Semaphore::new(threads)),
                tasks: TaskTracker::new(),
                abort: CancellationToken::new(),
                freed: Notify::new(),
                poll: Mutex::new(PollState::default()),
                finish: Mutex::new(FinishQueue::default()),
                stopping: AtomicBool::new(false),
            }),
        })
    }

    /// Slots free right now.
    pub fn idle(&self) -> usize {
        self.shared.slots.available_permits()
    }

    /// Jobs being performed or finished right now.
    pub fn running(&self) -> usize {
        self.shared.tasks.len()
    }

    /// One poll without the `data_version` guard: claims up to the idle count and starts
    /// them. Returns how many were claimed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn run_once(&self) -> Result<usize> {
        self.poll(false).await
    }

    /// Waits until every started job is performed and finished.
    pub async fn drain(&self) {
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        self.shared.tasks.reopen();
    }

    #[tracing::instrument(level = "trace", skip(self), fields(queues = %self.shared.selector.describe()))]
    async fn poll(&self, guarded: bool) -> Result<usize> {
        let s = &self.shared;
        if s.slots.available_permits() == 0 {
            lock(&s.poll).more = true;
            return Ok(0);
        }
        let mut version = None;
        if guarded && !lock(&s.poll).more {
            // A failed check (the file locked this instant) claims as if it had changed.
            if let Ok(v) = s.queue.db().data_version() {
                if lock(&s.poll).version == Some(v) {
                    return Ok(0);
                }
                version = Some(v);
            }
        }
        // The slots are taken before the claim, so a local enqueue claiming at the same
        // time cannot leave this claim with jobs and no slot to run them.
        let Some(slots) = reserve(&self.shared, usize::MAX) else {
            lock(&s.poll).more = true;
            return Ok(0);
        };
        let idle = slots.len();
        let jobs = s.queue.claim(&s.selector, s.process_id, idle).await?;
        {
            let mut st = lock(&s.poll);
            st.version = version;
            st.more = jobs.len() == idle;
        }
        let n = jobs.len();
        slots.start(jobs);
        Ok(n)
    }

    /// Polls until `token` is cancelled, then stops claiming, waits up to the shutdown
    /// timeout for running jobs, and abandons the rest (their claims are released when
    /// the process deregisters).
    pub async fn run(self, token: CancellationToken) {
        let s = self.shared.clone();
        let interval = s.queue.settings().polling_interval;
        let threads = s.slots.available_permits();
        // With a backlog, refill once half the slots are free, so claims come in batches
        // instead of one transaction per finished job.
        let refill = threads.div_ceil(2).max(1);
        tracing::info!(queues = %s.selector.describe(), threads, ?interval, "worker started");
        if s.queue.inner.instant_wake {
            s.queue.inner.local_worker.set(&s);
        }
        // The first poll runs at once, as the gem's: jobs waiting at boot start now.
        let mut first = true;
        loop {
            let backlog = lock(&s.poll).more;
            let guarded = if std::mem::take(&mut first)
                || (backlog && s.slots.available_permits() >= refill)
            {
                false
            } else {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = s.queue.inner.wake.notified() => false,
                    () = s.freed.notified() => {
                        if lock(&s.poll).more && s.slots.available_permits() < refill {
                            continue;
                        }
                        true
                    }
                    () = tokio::time::sleep(interval) => true,
                }
            };
            if token.is_cancelled() {
                break;
            }
            if let Err(err) = self.poll(guarded).await {
                tracing::warn!(cause = %err, "worker poll failed");
                lock(&s.poll).more = false;
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        }
        self.shutdown().await;
    }

    async fn shutdown(&self) {
        let s = &self.shared;
        s.stopping.store(true, Ordering::Release);
        s.queue.inner.local_worker.clear();
        let timeout = s.queue.settings().shutdown_timeout;
        s.tasks.close();
        if tokio::time::timeout(timeout, s.tasks.wait()).await.is_err() {
            tracing::warn!(
                running = s.tasks.len(),
                ?timeout,
                "shutdown timeout: abandoning running jobs; their claims are released"
            );
            s.abort.cancel();
            s.tasks.wait().await;
        }
        tracing::info!("worker stopped");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Performs one claimed job inside its `job` span (which shows the id of the request that
/// enqueued it), then queues its outcome for the next finish transaction.
async fn execute(s: Arc<Shared>, job: ClaimedJob, permit: OwnedSemaphorePermit) {
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
    metrics::histogram!("trifecta_jobs_start_delay_seconds")
        .record(s.queue.clock().now().since(due));
    let busy = metrics::gauge!("trifecta_jobs_busy_threads");
    busy.increment(1.0);
    let started = std::time::Instant::now();
    let outcome = perform(&s, &job).instrument(span.clone()).await;
    busy.decrement(1.0);
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
            Outcome::Retry(_) => tracing::debug!(duration_ms, "job failed; retry scheduled"),
        }
    });
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
            Outcome::Retry(s.queue.clock().now() + wait)
        }
        AfterFailure::Fail => Outcome::Failed(error),
    })
}

/// Group commit: the first completer with no write in flight writes every pending outcome
/// in one transaction, repeating until nothing is pending.
async fn complete(s: &Shared, c: Completion) {
    {
        let mut q = lock(&s.finish);
        q.pending.push(c);
        if q.writing {
            return;
        }
        q.writing = true;
    }
    loop {
        let batch = {
            let mut q = lock(&s.finish);
            if q.pending.is_empty() {
                q.writing = false;
                return;
            }
            std::mem::take(&mut q.pending)
        };
        let preserve = s.queue.settings().preserve_finished_jobs;
        let process_id = s.process_id;
        let now = s.queue.clock().now();
        let n = batch.len();
        count_outcomes(&batch);
        match s
            .queue
            .group_write(move |tx| finish_batch(tx, process_id, &batch, preserve, now))
            .await
        {
            // Jobs this finish unblocked are claimable now, not at the next poll: as in
            // the gem, whose thread finishes (unblocking the next job) before waking its
            // worker. This holds in `--wake poll` too; it is the worker's own work.
            Ok(report) if report.made_ready > 0 => {
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
fn count_outcomes(batch: &[Completion]) {
    let (mut finished, mut failed, mut retried, mut discarded) = (0, 0, 0, 0);
    for c in batch {
        match c.outcome {
            Outcome::Finished => finished += 1,
            Outcome::Failed(_) => failed += 1,
            Outcome::Retry(_) => retried += 1,
            Outcome::Discarded => discarded += 1,
        }
    }
    if finished > 0 {
        metrics::counter!("trifecta_jobs_finished_total").increment(finished);
    }
    for (outcome, n) in [
        ("failed", failed),
        ("retried", retried),
        ("discarded", discarded),
    ] {
        if n > 0 {
            metrics::counter!("trifecta_jobs_failed_total", "outcome" => outcome).increment(n);
        }
    }
}
