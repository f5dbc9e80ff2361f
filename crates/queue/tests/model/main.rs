//! Model-based test of the queue: random sequences of enqueue (now or scheduled, with
//! priorities and concurrency keys), claims by three worker processes with different queue
//! lists, finish / fail / retry / discard outcomes of the running jobs, admin retry and
//! discard, pause and resume, dispatching, clock advances, heartbeats, process death and
//! pruning, run against a real SQLite file and against a PostgreSQL database, and checked
//! after every step against a small in-memory model ([`reference`]).
//!
//! What must hold after every step:
//! - every job is in exactly the state the model says (ready, scheduled, claimed, blocked,
//!   failed, finished, or gone), so a finished, failed or discarded job is never claimed
//!   again and a paused queue yields nothing;
//! - a claim takes exactly the jobs the model picks: strict queue order of the worker's list,
//!   then priority, then age, and only from unpaused queues, as many as it has idle threads;
//!   each runs with the attempt number the model counts;
//! - no concurrency key ever has more ready or claimed jobs than its limit, and a blocked job
//!   waits only while its key is full;
//! - a process silent past the alive threshold is pruned and its claimed jobs released or
//!   failed (per `OnDeadProcess`), and a late finish from it changes nothing;
//! - the counts of `stats` (per state, per queue, paused queues, processes) match the model.
//!
//! `PROPTEST_CASES` sets the number of cases (default [`DEFAULT_CASES`]).

mod machine;
mod reference;
#[path = "../../../../tests/support/engine_model.rs"]
mod support;
mod system;

use proptest_state_machine::prop_state_machine;

use system::{OnPostgres, OnSqlite, Real};

/// Cases per run without `PROPTEST_CASES`: a few seconds here.
const DEFAULT_CASES: u32 = 64;

prop_state_machine! {
    #![proptest_config(support::config(DEFAULT_CASES))]

    #[test]
    fn the_queue_moves_jobs_as_the_model_does(sequential 1..50 => Real<OnSqlite>);
}

prop_state_machine! {
    #![proptest_config(support::config_pg(DEFAULT_CASES))]

    #[test]
    fn on_postgres_the_queue_moves_jobs_as_the_model_does(sequential 1..50 => Real<OnPostgres>);
}

/// A fixed sequence through the model: a process is killed while it runs a job, pruned
/// (its claim released), another process claims the job, and only then does the killed
/// process's run end. Its late outcome must change nothing: the job stays claimed by the
/// process that runs it now.
#[test]
fn a_late_finish_of_a_pruned_process_leaves_the_new_claim_alone() {
    use proptest_state_machine::StateMachineTest;
    use reference::{Model, Outcome, Step};

    let steps = vec![
        Step::Enqueue {
            queue: 0,
            priority: 0,
            key: None,
            delay: None,
        },
        Step::Claim { process: 1 },
        Step::Kill { process: 1 },
        Step::Advance { secs: 301 },
        Step::Prune,
        Step::Claim { process: 0 },
        Step::Complete {
            process: 1,
            job: 0,
            outcome: Outcome::Finish,
        },
    ];
    Real::<OnSqlite>::test_sequential(
        support::config(DEFAULT_CASES),
        Model::new(false, true),
        steps,
        None,
    );
}
