//! The reference model of the queue: every job's state, the concurrency slots, pauses,
//! processes and their heartbeats, and what each step must return. How steps are drawn and
//! applied to it is in [`super::machine`].

use std::collections::BTreeMap;

/// Queue names: `a` and `ab` share the prefix `a`.
pub const QUEUES: [&str; 3] = ["a", "ab", "b"];
/// The worker processes' queue lists.
pub const SELECTORS: [&[&str]; 3] = [&["*"], &["b", "a"], &["a*"]];
/// Threads of each worker.
pub const THREADS: usize = 2;
/// Concurrency keys and their limits.
pub const KEYS: [(&str, u32); 2] = [("x", 1), ("y", 2)];
/// Attempts of a job failing with the retryable error class.
pub const ATTEMPTS: u32 = 2;
/// Wait before the second attempt, in seconds.
pub const RETRY_WAIT: u64 = 10;
/// The alive threshold, in seconds.
pub const THRESHOLD: u64 = 300;

/// How a running job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler succeeds.
    Finish,
    /// It fails with a class that is not retried.
    Fatal,
    /// It fails with the retryable class.
    Flaky,
    /// It fails with a class in `discard_on`.
    Discardable,
}

/// One step of a test case.
#[derive(Clone, Debug)]
pub enum Step {
    Enqueue {
        queue: usize,
        priority: i32,
        key: Option<usize>,
        delay: Option<u64>,
    },
    /// Jobs enqueued together in one transaction, each (queue, priority, key).
    EnqueueAll {
        jobs: Vec<(usize, i32, Option<usize>)>,
    },
    Claim {
        process: usize,
    },
    Complete {
        process: usize,
        job: usize,
        outcome: Outcome,
    },
    Retry {
        job: usize,
    },
    Discard {
        job: usize,
    },
    RetryAll,
    DiscardAllFailed,
    Pause {
        queue: usize,
    },
    Resume {
        queue: usize,
    },
    Dispatch,
    Advance {
        secs: u64,
    },
    Start {
        selector: usize,
    },
    Kill {
        process: usize,
    },
    Prune,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ready,
    Scheduled(u64),
    Claimed(usize),
    Blocked,
    Failed,
    Finished,
    /// Deleted: discarded, or finished without `preserve_finished_jobs`.
    Gone,
}

impl State {
    /// The name `JobState` gives it; `None` for a deleted job.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            State::Ready => "ready",
            State::Scheduled(_) => "scheduled",
            State::Claimed(_) => "claimed",
            State::Blocked => "blocked",
            State::Failed => "failed",
            State::Finished => "finished",
            State::Gone => return None,
        })
    }
}

/// A job of the model; its index in [`Model::jobs`] is its enqueue order.
#[derive(Clone, Debug)]
pub struct Job {
    pub queue: usize,
    pub priority: i32,
    pub key: Option<usize>,
    pub state: State,
    /// Claims so far (reset by an admin retry): the attempt number of the next run - 1.
    pub executions: u32,
}

/// What the last step must have returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    None,
    /// Jobs claimed, with their attempt numbers (sorted by job).
    Claimed(Vec<(usize, u32)>),
    /// Whether an admin call succeeded, or pause/resume changed something.
    Done(bool),
    /// The jobs an admin call on every failed job took.
    Jobs(Vec<usize>),
    /// Scheduled jobs dispatched, and of those made ready.
    Dispatched(usize, usize),
    /// Processes pruned and claimed jobs recovered.
    Pruned(usize, usize),
}

/// A worker process of the model.
#[derive(Clone, Debug)]
pub struct Proc {
    /// Its queue list, in [`SELECTORS`].
    pub selector: usize,
    /// Heartbeating and claiming (until killed).
    pub alive: bool,
    /// Its row exists (until pruned).
    pub registered: bool,
    pub last_heartbeat: u64,
}

/// The whole model.
#[derive(Clone, Debug)]
pub struct Model {
    pub fail_dead: bool,
    pub preserve_finished: bool,
    pub now: u64,
    pub jobs: Vec<Job>,
    pub paused: Vec<usize>,
    pub procs: Vec<Proc>,
    /// Runs whose handler is waiting for its outcome: (process, job).
    pub running: Vec<(usize, usize)>,
    pub answer: Answer,
}

impl Model {
    /// A fresh queue: no jobs, one live process per queue list in [`SELECTORS`].
    pub fn new(fail_dead: bool, preserve_finished: bool) -> Self {
        Model {
            fail_dead,
            preserve_finished,
            now: 0,
            jobs: Vec::new(),
            paused: Vec::new(),
            procs: (0..SELECTORS.len())
                .map(|selector| Proc {
                    selector,
                    alive: true,
                    registered: true,
                    last_heartbeat: 0,
                })
                .collect(),
            running: Vec::new(),
            answer: Answer::None,
        }
    }

    fn used(&self, key: usize) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.key == Some(key) && matches!(j.state, State::Ready | State::Claimed(_)))
            .count()
    }

    fn limit(key: usize) -> usize {
        KEYS[key].1 as usize
    }

    /// Records an enqueued job, in no state yet; returns its index.
    pub(super) fn push_job(&mut self, queue: usize, priority: i32, key: Option<usize>) -> usize {
        self.jobs.push(Job {
            queue,
            priority,
            key,
            state: State::Gone,
            executions: 0,
        });
        self.jobs.len() - 1
    }

    /// Makes job `i` ready, or blocked when its key is full.
    pub(super) fn admit(&mut self, i: usize) {
        let full = self.jobs[i]
            .key
            .is_some_and(|k| self.used(k) >= Self::limit(k));
        self.jobs[i].state = if full { State::Blocked } else { State::Ready };
    }

    /// A slot of `key` was given back: the first blocked job of the key takes it.
    pub(super) fn free_slot(&mut self, key: Option<usize>) {
        let Some(k) = key else { return };
        if self.used(k) >= Self::limit(k) {
            return;
        }
        let next = (0..self.jobs.len())
            .filter(|&i| self.jobs[i].key == Some(k) && self.jobs[i].state == State::Blocked)
            .min_by_key(|&i| (self.jobs[i].priority, i));
        if let Some(i) = next {
            self.jobs[i].state = State::Ready;
        }
    }

    fn ready_in(&self, queue: usize) -> Vec<usize> {
        let mut ids: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| self.jobs[i].state == State::Ready && self.jobs[i].queue == queue)
            .collect();
        ids.sort_by_key(|&i| (self.jobs[i].priority, i));
        ids
    }

    /// The jobs a claim of `process` takes, in claim order.
    pub fn claim_order(&self, process: usize) -> Vec<usize> {
        let idle = THREADS - self.running.iter().filter(|r| r.0 == process).count();
        let patterns = SELECTORS[self.procs[process].selector];
        let all = patterns.contains(&"*");
        let mut order: Vec<usize> = Vec::new();
        if all && self.paused.is_empty() {
            order = (0..self.jobs.len())
                .filter(|&i| self.jobs[i].state == State::Ready)
                .collect();
            order.sort_by_key(|&i| (self.jobs[i].priority, i));
        } else {
            let with_ready = |q: &usize| !self.ready_in(*q).is_empty();
            let mut names: Vec<usize> = Vec::new();
            let patterns: &[&str] = if all { &["*"] } else { patterns };
            for p in patterns {
                let mut found: Vec<usize> = if *p == "*" {
                    (0..QUEUES.len()).filter(with_ready).collect()
                } else if let Some(prefix) = p.strip_suffix('*') {
                    (0..QUEUES.len())
                        .filter(|&q| QUEUES[q].starts_with(prefix))
                        .filter(with_ready)
                        .collect()
                } else {
                    (0..QUEUES.len()).filter(|&q| QUEUES[q] == *p).collect()
                };
                found.sort_by_key(|&q| QUEUES[q]);
                for q in found {
                    if !self.paused.contains(&q) && !names.contains(&q) {
                        names.push(q);
                    }
                }
            }
            for q in names {
                order.extend(self.ready_in(q));
            }
        }
        order.truncate(idle);
        order
    }

    /// Job `i` left its run (claimed by `process`) with `outcome`.
    pub(super) fn complete(&mut self, process: usize, i: usize, outcome: Outcome, attempt: u32) {
        if self.jobs[i].state != State::Claimed(process) {
            // Its claim was recovered meanwhile: a late outcome changes nothing.
            return;
        }
        let done = if self.preserve_finished {
            State::Finished
        } else {
            State::Gone
        };
        self.jobs[i].state = match outcome {
            Outcome::Finish | Outcome::Discardable => done,
            Outcome::Fatal => State::Failed,
            Outcome::Flaky if attempt < ATTEMPTS => State::Scheduled(self.now + RETRY_WAIT),
            Outcome::Flaky => State::Failed,
        };
        self.free_slot(self.jobs[i].key);
    }

    /// Counts per state overall, and per queue (states with jobs only).
    pub fn counts(
        &self,
    ) -> (
        BTreeMap<String, i64>,
        BTreeMap<String, BTreeMap<String, i64>>,
    ) {
        let mut totals: BTreeMap<String, i64> = [
            "ready",
            "scheduled",
            "claimed",
            "blocked",
            "failed",
            "finished",
        ]
        .into_iter()
        .map(|s| (s.to_owned(), 0))
        .collect();
        let mut queues: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for j in &self.jobs {
            if let Some(name) = j.state.name() {
                *totals.entry(name.to_owned()).or_default() += 1;
                *queues
                    .entry(QUEUES[j.queue].to_owned())
                    .or_default()
                    .entry(name.to_owned())
                    .or_default() += 1;
            }
        }
        (totals, queues)
    }

    /// The model's own rule: no key has more ready or claimed jobs than its limit, and a
    /// key with a free slot has no blocked job.
    pub fn check_limits(&self) {
        for k in 0..KEYS.len() {
            assert!(
                self.used(k) <= Self::limit(k),
                "model over the limit of key {k}"
            );
            let blocked = self
                .jobs
                .iter()
                .any(|j| j.key == Some(k) && j.state == State::Blocked);
            assert!(
                !blocked || self.used(k) == Self::limit(k),
                "model: key {k} has a free slot and a blocked job"
            );
        }
    }
}
