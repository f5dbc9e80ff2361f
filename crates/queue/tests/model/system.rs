//! The system under test: a queue store (an SQLite file, or a PostgreSQL database), three
//! registered processes each with a worker driven by hand, and a job whose handler waits
//! until the test decides its outcome.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest_state_machine::StateMachineTest;
use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use trifecta_queue::{
    Concurrency, Job, JobError, JobId, JobOptions, JobState, OnDeadProcess, Process, Queue,
    QueueOptions, QueueSelector, QueueSetup, Retry, Worker,
};
use trifecta_store::{Backend, Clock, WakeMode};

use super::machine::QueueModel;
use super::reference::{
    ATTEMPTS, Answer, KEYS, Model, Outcome, QUEUES, RETRY_WAIT, SELECTORS, State, Step, THREADS,
    THRESHOLD,
};

/// Longest wait for a worker's task to act.
const DEADLINE: Duration = Duration::from_secs(10);

/// The one job type: its queue, priority and concurrency key come from its arguments.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Work {
    queue: String,
    priority: i32,
    key: Option<(String, u32)>,
}

impl Job for Work {
    const NAME: &'static str = "work";

    fn queue(&self) -> &str {
        &self.queue
    }

    fn priority(&self) -> i32 {
        self.priority
    }

    fn concurrency(&self) -> Option<Concurrency> {
        // Slots never expire within a test case (the clock moves a few hours at most).
        self.key.as_ref().map(|(key, to)| {
            Concurrency::new(key.clone())
                .to(*to)
                .duration(Duration::from_secs(86_400 * 30))
        })
    }
}

/// A run that started: its job, attempt, and the gate its handler waits on.
struct Started {
    job: i64,
    attempt: u32,
    gate: oneshot::Sender<Result<(), JobError>>,
}

/// Where a case's queue lives.
pub trait Store {
    /// A fresh, migrated store, with the directory that holds it (SQLite).
    fn fresh(rt: &Runtime) -> (Backend, Option<TempDir>);
}

/// An SQLite file in a temporary directory.
pub struct OnSqlite;

impl Store for OnSqlite {
    fn fresh(_: &Runtime) -> (Backend, Option<TempDir>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = crate::support::migrated(dir.path(), "queue", trifecta_queue::SCHEMA);
        (db.into(), Some(dir))
    }
}

/// A new database on the test PostgreSQL server.
pub struct OnPostgres;

impl Store for OnPostgres {
    fn fresh(rt: &Runtime) -> (Backend, Option<TempDir>) {
        let pg = crate::support::migrated_pg(rt, "queue", trifecta_queue::postgres_migrations);
        (pg.into(), None)
    }
}

/// The queue under test, with the handles each step drives.
pub struct Real<S = OnSqlite> {
    rt: Runtime,
    _dir: Option<TempDir>,
    store: PhantomData<S>,
    clock: Clock,
    queue: Queue,
    processes: Vec<Process>,
    workers: Vec<Worker>,
    started: Arc<Mutex<Vec<Started>>>,
    /// Job ids by model index.
    ids: Vec<JobId>,
    /// Gates of the runs waiting for their outcome, by (process, model index).
    gates: HashMap<(usize, usize), oneshot::Sender<Result<(), JobError>>>,
}

impl<S> Real<S> {
    fn index(&self, id: i64) -> usize {
        self.ids
            .iter()
            .position(|j| j.0 == id)
            .expect("a job the test enqueued")
    }

    /// Registers a process with a worker on queue list `selector`.
    fn start(&mut self, selector: usize) {
        let queue = self.queue.clone();
        let (process, worker) = self.rt.block_on(async {
            let p = queue
                .register_process("Worker", serde_json::json!({}))
                .await
                .expect("register");
            let selector = QueueSelector::new(SELECTORS[selector]);
            let w = Worker::new(&queue, selector, THREADS, Some(p.id))
                .await
                .expect("worker");
            (p, w)
        });
        self.processes.push(process);
        self.workers.push(worker);
    }

    /// Waits (up to [`DEADLINE`]) until `done` holds, yielding to the worker's tasks.
    fn wait_for(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + DEADLINE;
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            self.rt
                .block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
        }
    }
}

/// What the handler returns for `outcome`.
fn outcome_result(outcome: Outcome) -> Result<(), JobError> {
    match outcome {
        Outcome::Finish => Ok(()),
        Outcome::Fatal => Err(JobError::new("Fatal", "fails for good")),
        Outcome::Flaky => Err(JobError::new("Flaky", "fails, then may work")),
        Outcome::Discardable => Err(JobError::new("Discardable", "not worth keeping")),
    }
}

impl<S: Store> StateMachineTest for Real<S> {
    type SystemUnderTest = Self;
    type Reference = QueueModel;

    fn init_test(model: &Model) -> Self {
        let rt = crate::support::runtime();
        let (db, dir) = S::fresh(&rt);
        let clock = Clock::manual(crate::support::START);
        let options = QueueOptions {
            threads: THREADS,
            alive_threshold: Duration::from_secs(THRESHOLD),
            on_dead_process: if model.fail_dead {
                OnDeadProcess::Fail
            } else {
                OnDeadProcess::Release
            },
            preserve_finished_jobs: model.preserve_finished,
            ..QueueOptions::default()
        };
        let mut setup = QueueSetup::new(db, clock.clone(), options, WakeMode::Poll);
        let started: Arc<Mutex<Vec<Started>>> = Arc::default();
        let sink = started.clone();
        let job_options = JobOptions::default()
            .retry(Retry::new(ATTEMPTS, Duration::from_secs(RETRY_WAIT)).on(&["Flaky"]))
            .discard_on(&["Discardable"]);
        setup.register(job_options, move |_: Work, ctx| {
            let (gate, outcome) = oneshot::channel();
            sink.lock().expect("started lock").push(Started {
                job: ctx.id.0,
                attempt: ctx.attempt,
                gate,
            });
            async move { outcome.await.unwrap_or(Ok(())) }
        });
        let queue = setup.offline();
        let mut real = Real {
            rt,
            _dir: dir,
            store: PhantomData,
            clock,
            queue,
            processes: Vec::new(),
            workers: Vec::new(),
            started,
            ids: Vec::new(),
            gates: HashMap::new(),
        };
        for p in &model.procs {
            real.start(p.selector);
        }
        real
    }

    fn apply(mut real: Self, model: &Model, step: Step) -> Self {
        let queue = real.queue.clone();
        let answer = match step {
            Step::Enqueue {
                queue: q,
                priority,
                key,
                delay,
            } => {
                let work = Work {
                    queue: QUEUES[q].to_owned(),
                    priority,
                    key: key.map(|k| (KEYS[k].0.to_owned(), KEYS[k].1)),
                };
                let id = real
                    .rt
                    .block_on(async {
                        match delay {
                            Some(d) => queue.enqueue_in(&work, Duration::from_secs(d)).await,
                            None => queue.enqueue(&work).await,
                        }
                    })
                    .expect("enqueue");
                real.ids.push(id);
                Answer::None
            }
            Step::EnqueueAll { jobs } => {
                let work: Vec<Work> = jobs
                    .iter()
                    .map(|&(q, priority, key)| Work {
                        queue: QUEUES[q].to_owned(),
                        priority,
                        key: key.map(|k| (KEYS[k].0.to_owned(), KEYS[k].1)),
                    })
                    .collect();
                let ids = real
                    .rt
                    .block_on(queue.enqueue_all(&work))
                    .expect("enqueue all");
                assert_eq!(ids.len(), work.len(), "every job enqueued");
                real.ids.extend(ids);
                Answer::None
            }
            Step::RetryAll | Step::DiscardAllFailed => {
                let ids = real
                    .rt
                    .block_on(async {
                        if matches!(step, Step::RetryAll) {
                            queue.retry_all().await
                        } else {
                            queue.discard_all_failed().await
                        }
                    })
                    .expect("admin call on failed jobs");
                let mut jobs: Vec<usize> = ids.iter().map(|id| real.index(id.0)).collect();
                jobs.sort_unstable();
                Answer::Jobs(jobs)
            }
            Step::Claim { process } => {
                let worker = real.workers[process].clone();
                let n = real.rt.block_on(worker.run_once()).expect("claim");
                real.wait_for("claimed jobs start", || {
                    real.started.lock().expect("started lock").len() >= n
                });
                let runs: Vec<Started> =
                    std::mem::take(&mut *real.started.lock().expect("started lock"));
                assert_eq!(runs.len(), n, "runs started by one claim");
                let mut claimed = Vec::new();
                for run in runs {
                    let i = real.index(run.job);
                    claimed.push((i, run.attempt));
                    real.gates.insert((process, i), run.gate);
                }
                claimed.sort_unstable();
                Answer::Claimed(claimed)
            }
            Step::Complete {
                process,
                job,
                outcome,
            } => {
                let gate = real
                    .gates
                    .remove(&(process, job))
                    .expect("the run is waiting");
                let worker = &real.workers[process];
                let before = worker.running();
                assert!(
                    gate.send(outcome_result(outcome)).is_ok(),
                    "the handler is waiting"
                );
                // The run's task ends once its outcome is committed.
                real.wait_for("the outcome is recorded", || worker.running() < before);
                Answer::None
            }
            Step::Retry { job } => {
                Answer::Done(real.rt.block_on(queue.retry(real.ids[job])).is_ok())
            }
            Step::Discard { job } => {
                Answer::Done(real.rt.block_on(queue.discard(real.ids[job])).is_ok())
            }
            Step::Pause { queue: q } => {
                Answer::Done(real.rt.block_on(queue.pause(QUEUES[q])).expect("pause"))
            }
            Step::Resume { queue: q } => {
                Answer::Done(real.rt.block_on(queue.resume(QUEUES[q])).expect("resume"))
            }
            Step::Dispatch => {
                let report = real.rt.block_on(queue.dispatch_due(500)).expect("dispatch");
                Answer::Dispatched(report.dispatched, report.ready)
            }
            Step::Advance { secs } => {
                real.clock.advance(Duration::from_secs(secs));
                for (p, process) in real.processes.iter().enumerate() {
                    if model.procs[p].alive {
                        real.rt.block_on(process.heartbeat()).expect("heartbeat");
                    }
                }
                Answer::None
            }
            Step::Start { selector } => {
                real.start(selector);
                Answer::None
            }
            Step::Kill { .. } => Answer::None,
            Step::Prune => {
                let report = real.rt.block_on(queue.prune(None)).expect("prune");
                Answer::Pruned(report.processes, report.jobs)
            }
        };
        assert_eq!(answer, model.answer, "the queue answered otherwise");
        real
    }

    fn check_invariants(real: &Self, model: &Model) {
        let listed = real
            .rt
            .block_on(real.queue.jobs(None, None, 10_000))
            .expect("list jobs");
        let states: HashMap<i64, JobState> = listed.iter().map(|j| (j.id.0, j.state)).collect();
        let mut held = [0usize; KEYS.len()];
        for (i, job) in model.jobs.iter().enumerate() {
            let real_state = states.get(&real.ids[i].0).map(|s| s.as_str());
            assert_eq!(real_state, job.state.name(), "state of job {i}");
            if let (Some(k), Some("ready" | "claimed")) = (job.key, real_state) {
                held[k] += 1;
            }
        }
        for (k, (_, limit)) in KEYS.iter().enumerate() {
            assert!(held[k] <= *limit as usize, "key {k} over its limit");
        }
        if let Some(i) =
            (0..model.jobs.len()).find(|&i| matches!(model.jobs[i].state, State::Claimed(_)))
        {
            let info = real
                .rt
                .block_on(real.queue.job(real.ids[i]))
                .expect("job")
                .expect("claimed job exists");
            assert_eq!(
                info.executions,
                i64::from(model.jobs[i].executions),
                "executions of job {i}"
            );
        }
        let stats = real.rt.block_on(real.queue.stats()).expect("stats");
        let (totals, queues) = model.counts();
        assert_eq!(stats.totals, totals, "stats totals");
        assert_eq!(stats.queues, queues, "stats per queue");
        let mut paused: Vec<&str> = model.paused.iter().map(|&q| QUEUES[q]).collect();
        paused.sort_unstable();
        assert_eq!(stats.paused, paused, "paused queues");
        let registered = model.procs.iter().filter(|p| p.registered).count();
        assert_eq!(stats.processes, registered as i64, "registered processes");
    }
}
