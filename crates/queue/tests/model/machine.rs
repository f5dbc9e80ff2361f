//! The queue model as a proptest state machine: which steps can come next, when a step
//! applies, and what it does to the [`Model`].

use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

use super::reference::{
    Answer, KEYS, Model, Outcome, Proc, QUEUES, SELECTORS, State, Step, THRESHOLD,
};

/// The model as a proptest state machine: it generates the steps and applies them.
pub struct QueueModel;

impl ReferenceStateMachine for QueueModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (any::<bool>(), any::<bool>())
            .prop_map(|(fail_dead, preserve_finished)| Model::new(fail_dead, preserve_finished))
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let process = 0..state.procs.len();
        let queue = 0..QUEUES.len();
        let job = 0..state.jobs.len().max(1);
        let outcome = prop_oneof![
            Just(Outcome::Finish),
            Just(Outcome::Fatal),
            Just(Outcome::Flaky),
            Just(Outcome::Discardable),
        ];
        let mut steps = vec![
            (
                6,
                (
                    queue.clone(),
                    0..3i32,
                    proptest::option::of(0..KEYS.len()),
                    proptest::option::weighted(0.25, 1..60u64),
                )
                    .prop_map(|(queue, priority, key, delay)| Step::Enqueue {
                        queue,
                        priority,
                        key,
                        delay,
                    })
                    .boxed(),
            ),
            (
                5,
                process
                    .clone()
                    .prop_map(|process| Step::Claim { process })
                    .boxed(),
            ),
            (
                1,
                proptest::collection::vec(
                    (
                        0..QUEUES.len(),
                        0..3i32,
                        proptest::option::of(0..KEYS.len()),
                    ),
                    1..4,
                )
                .prop_map(|jobs| Step::EnqueueAll { jobs })
                .boxed(),
            ),
            (1, job.clone().prop_map(|job| Step::Retry { job }).boxed()),
            (1, job.prop_map(|job| Step::Discard { job }).boxed()),
            (1, Just(Step::RetryAll).boxed()),
            (1, Just(Step::DiscardAllFailed).boxed()),
            (
                1,
                queue
                    .clone()
                    .prop_map(|queue| Step::Pause { queue })
                    .boxed(),
            ),
            (1, queue.prop_map(|queue| Step::Resume { queue }).boxed()),
            (1, Just(Step::Dispatch).boxed()),
            (
                2,
                (1..60u64).prop_map(|secs| Step::Advance { secs }).boxed(),
            ),
            (
                // Jumps that leave a killed process past the threshold.
                2,
                (THRESHOLD..2 * THRESHOLD)
                    .prop_map(|secs| Step::Advance { secs })
                    .boxed(),
            ),
            (
                2,
                (0..SELECTORS.len())
                    .prop_map(|selector| Step::Start { selector })
                    .boxed(),
            ),
            (
                1,
                process.prop_map(|process| Step::Kill { process }).boxed(),
            ),
            (3, Just(Step::Prune).boxed()),
        ];
        let (live, hung): (Vec<_>, Vec<_>) = state
            .running
            .iter()
            .copied()
            .partition(|&(p, _)| state.procs[p].alive);
        let (held, recovered): (Vec<_>, Vec<_>) = hung
            .into_iter()
            .partition(|&(p, j)| state.jobs[j].state == State::Claimed(p));
        let (reclaimed, recovered): (Vec<_>, Vec<_>) = recovered
            .into_iter()
            .partition(|&(_, j)| matches!(state.jobs[j].state, State::Claimed(_)));
        // A killed process's runs end rarely while it holds their claims, and often once
        // they were recovered (a late outcome, to be ignored), most often while another
        // process runs the job again.
        for (runs, weight) in [(live.clone(), 4), (held, 1), (recovered, 3), (reclaimed, 8)] {
            if !runs.is_empty() {
                steps.push((
                    weight,
                    (proptest::sample::select(runs), outcome.clone())
                        .prop_map(|((process, job), outcome)| Step::Complete {
                            process,
                            job,
                            outcome,
                        })
                        .boxed(),
                ));
            }
        }
        if !live.is_empty() {
            // Mostly kill a process with jobs in flight: its claims are what pruning recovers.
            steps.push((
                2,
                proptest::sample::select(live)
                    .prop_map(|(process, _)| Step::Kill { process })
                    .boxed(),
            ));
        }
        proptest::strategy::Union::new_weighted(steps).boxed()
    }

    fn preconditions(state: &Model, step: &Step) -> bool {
        match *step {
            Step::Claim { process } | Step::Kill { process } => {
                state.procs.get(process).is_some_and(|p| p.alive)
            }
            Step::Complete { process, job, .. } => state.running.contains(&(process, job)),
            Step::Retry { job } | Step::Discard { job } => job < state.jobs.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.answer = Answer::None;
        let now = state.now;
        match *step {
            Step::Enqueue {
                queue,
                priority,
                key,
                delay,
            } => {
                let i = state.push_job(queue, priority, key);
                match delay {
                    Some(d) => state.jobs[i].state = State::Scheduled(now + d),
                    None => state.admit(i),
                }
            }
            Step::Claim { process } => {
                let mut claimed = Vec::new();
                for i in state.claim_order(process) {
                    state.jobs[i].state = State::Claimed(process);
                    state.jobs[i].executions += 1;
                    state.running.push((process, i));
                    claimed.push((i, state.jobs[i].executions));
                }
                claimed.sort_unstable();
                state.answer = Answer::Claimed(claimed);
            }
            Step::Complete {
                process,
                job,
                outcome,
            } => {
                state.running.retain(|r| *r != (process, job));
                let attempt = state.jobs[job].executions;
                state.complete(process, job, outcome, attempt);
            }
            Step::EnqueueAll { ref jobs } => {
                for &(queue, priority, key) in jobs {
                    let i = state.push_job(queue, priority, key);
                    state.admit(i);
                }
            }
            Step::RetryAll | Step::DiscardAllFailed => {
                let failed: Vec<usize> = (0..state.jobs.len())
                    .filter(|&i| state.jobs[i].state == State::Failed)
                    .collect();
                for &i in &failed {
                    if matches!(step, Step::RetryAll) {
                        state.jobs[i].executions = 0;
                        state.admit(i);
                    } else {
                        state.jobs[i].state = State::Gone;
                    }
                }
                state.answer = Answer::Jobs(failed);
            }
            Step::Retry { job } => {
                let ok = state.jobs[job].state == State::Failed;
                if ok {
                    state.jobs[job].executions = 0;
                    state.admit(job);
                }
                state.answer = Answer::Done(ok);
            }
            Step::Discard { job } => {
                let before = state.jobs[job].state;
                let ok = matches!(
                    before,
                    State::Ready | State::Scheduled(_) | State::Blocked | State::Failed
                );
                if ok {
                    state.jobs[job].state = State::Gone;
                    if before == State::Ready {
                        state.free_slot(state.jobs[job].key);
                    }
                }
                state.answer = Answer::Done(ok);
            }
            Step::Pause { queue } => {
                let new = !state.paused.contains(&queue);
                if new {
                    state.paused.push(queue);
                }
                state.answer = Answer::Done(new);
            }
            Step::Resume { queue } => {
                let was = state.paused.contains(&queue);
                state.paused.retain(|q| *q != queue);
                state.answer = Answer::Done(was);
            }
            Step::Dispatch => {
                let mut due: Vec<(u64, i32, usize)> = (0..state.jobs.len())
                    .filter_map(|i| match state.jobs[i].state {
                        State::Scheduled(at) if at <= now => Some((at, state.jobs[i].priority, i)),
                        _ => None,
                    })
                    .collect();
                due.sort_unstable();
                let mut ready = 0;
                for &(_, _, i) in &due {
                    state.admit(i);
                    ready += usize::from(state.jobs[i].state == State::Ready);
                }
                state.answer = Answer::Dispatched(due.len(), ready);
            }
            Step::Advance { secs } => {
                // Then every live process heartbeats, before anyone can prune it.
                state.now += secs;
                for p in state.procs.iter_mut().filter(|p| p.alive) {
                    p.last_heartbeat = state.now;
                }
            }
            Step::Start { selector } => state.procs.push(Proc {
                selector,
                alive: true,
                registered: true,
                last_heartbeat: now,
            }),
            Step::Kill { process } => state.procs[process].alive = false,
            Step::Prune => {
                let (mut processes, mut jobs) = (0, 0);
                for p in 0..state.procs.len() {
                    let dead = state.procs[p].last_heartbeat + THRESHOLD < now;
                    if !state.procs[p].registered || !dead {
                        continue;
                    }
                    state.procs[p].registered = false;
                    processes += 1;
                    for i in 0..state.jobs.len() {
                        if state.jobs[i].state != State::Claimed(p) {
                            continue;
                        }
                        jobs += 1;
                        if state.fail_dead {
                            state.jobs[i].state = State::Failed;
                            state.free_slot(state.jobs[i].key);
                        } else {
                            // Released straight to ready: it keeps its slot.
                            state.jobs[i].state = State::Ready;
                        }
                    }
                }
                state.answer = Answer::Pruned(processes, jobs);
            }
        }
        state.check_limits();
        state
    }
}
