//! The worker: claims up to its idle thread count per poll, performs each job on its own
//! task, and records outcomes with group commit (whichever finishing task finds no write in
//! flight writes everything pending in one transaction).
//!
//! With instant wake, a local enqueue claims for this worker in its own transaction
//! ([`Slots`]): the claim is the worker's (same selector, strict order, pauses, limit of
//! idle slots), only made a commit earlier, so a job enqueued on an idle server starts
//! without a second transaction or a wake-up of the worker's task.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod perform;

use perform::execute;

use super::Queue;
use super::coalesce::Coalesce;
use super::error::Result;
use super::selector::QueueSelector;
use super::store::model::{ClaimedJob, Completion};

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
    finish: Mutex<Coalesce<Completion>>,
    /// Set once the worker stops claiming (shutdown): no more slots are handed out.
    stopping: AtomicBool,
    /// Set while a poll holds the idle slots for its claim.
    polling: AtomicBool,
    /// Signalled when a poll has started its jobs and given back the slots it did not use.
    poll_done: Notify,
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
    /// On PostgreSQL, while the worker's own poll holds its idle slots for a claim (a
    /// millisecond or two), this waits for the poll to give back what it did not use rather
    /// than answer `None`, which would leave the job ready for another claim.
    pub(crate) async fn reserve(&self, n: usize) -> Option<Slots> {
        let shared = self.0.lock().upgrade()?;
        if let Some(slots) = reserve(&shared, n) {
            return Some(slots);
        }
        // SQLite's polls are frequent and cheap (the `data_version` guard) and a job left
        // ready goes in the next one; waiting there would queue enqueues behind them.
        if shared.queue.store().has_change_token() {
            return None;
        }
        loop {
            let done = shared.poll_done.notified();
            tokio::pin!(done);
            // Registered before the check, so a poll ending in between still wakes it.
            done.as_mut().enable();
            if let Some(slots) = reserve(&shared, n) {
                return Some(slots);
            }
            if !shared.polling.load(Ordering::Acquire) {
                return None;
            }
            done.await;
        }
    }

    fn set(&self, worker: &Arc<Shared>) {
        *self.0.lock() = Arc::downgrade(worker);
    }

    fn clear(&self) {
        *self.0.lock() = Weak::new();
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

/// Marks the end of a poll when dropped (after its slots are given back, or on error or
/// cancellation): waiting enqueues look again.
struct PollDone<'a>(&'a Shared);

impl Drop for PollDone<'_> {
    fn drop(&mut self) {
        self.0.polling.store(false, Ordering::Release);
        self.0.poll_done.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct PollState {
    /// `data_version` read before the last guarded claim.
    version: Option<i64>,
    /// The last claim filled every idle slot, so more jobs may be waiting.
    more: bool,
}

impl Worker {
    /// A worker over `selector` with `threads` slots, claiming for `process_id`.
    ///
    /// # Errors
    /// The `data_version` watch connection cannot be opened (SQLite).
    pub async fn new(
        queue: &Queue,
        selector: QueueSelector,
        threads: usize,
        process_id: Option<i64>,
    ) -> Result<Self> {
        // Opens the watch connection now, so a broken file fails the start.
        queue.store().data_version()?;
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
                finish: Mutex::new(Coalesce::default()),
                stopping: AtomicBool::new(false),
                polling: AtomicBool::new(false),
                poll_done: Notify::new(),
            }),
        })
    }

    /// With instant wake, offers this worker's idle slots to local enqueues from now on
    /// (they claim for it in their own statement), so a started queue claims at enqueue
    /// before its worker's loop first runs. Taken back at shutdown.
    pub(crate) fn offer_slots(&self) {
        if self.shared.queue.inner.instant_wake {
            self.shared.queue.inner.local_worker.set(&self.shared);
        }
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
            s.poll.lock().more = true;
            return Ok(0);
        }
        let mut version = None;
        if guarded && !s.poll.lock().more {
            // A failed check (the file locked this instant) claims as if it had changed.
            // PostgreSQL has no such token: its poll just claims.
            if let Ok(Some(v)) = s.queue.store().data_version() {
                if s.poll.lock().version == Some(v) {
                    return Ok(0);
                }
                version = Some(v);
            }
        }
        // The slots are taken before the claim, so a local enqueue claiming at the same
        // time cannot leave this claim with jobs and no slot to run them; the enqueue waits
        // for the slots this claim does not use (`LocalWorker::reserve`).
        // Only PostgreSQL's enqueues wait for a poll's slots (`LocalWorker::reserve`).
        let _done = (!s.queue.store().has_change_token()).then(|| {
            s.polling.store(true, Ordering::Release);
            PollDone(s)
        });
        let Some(slots) = reserve(&self.shared, usize::MAX) else {
            s.poll.lock().more = true;
            return Ok(0);
        };
        let idle = slots.len();
        let jobs = s.queue.claim(&s.selector, s.process_id, idle).await?;
        {
            let mut st = s.poll.lock();
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
        self.offer_slots();
        // The first poll runs at once, as Solid Queue's: jobs waiting at boot start now.
        let mut first = true;
        loop {
            let backlog = s.poll.lock().more;
            let guarded = if std::mem::take(&mut first)
                || (backlog && s.slots.available_permits() >= refill)
            {
                false
            } else {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = s.queue.inner.wake.notified() => false,
                    () = s.freed.notified() => {
                        let more = s.poll.lock().more;
                        if more && s.slots.available_permits() < refill {
                            continue;
                        }
                        // With no backlog known, a freed slot is worth a look only where the
                        // look is free: SQLite's `data_version` guard. On PostgreSQL it would
                        // be a claim per finished job, and while it holds the idle slots a
                        // local enqueue cannot claim for itself; wake-ups and the timer cover
                        // jobs enqueued meanwhile.
                        if !more && !s.queue.store().has_change_token() {
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
                s.poll.lock().more = false;
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
