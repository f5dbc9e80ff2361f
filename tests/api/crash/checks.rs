//! The checkers on hand-written ledgers: each forbidden class is found where it happened,
//! and the allowed histories pass.

use std::collections::HashMap;

use trifecta::queue::{JobState, OnDeadProcess};

use super::check_cable::{self as cable, Inputs};
use super::check_queue::{self as queue, Stored};
use super::ledger::Event;

fn enqueue(tag: &str) -> Vec<Event> {
    vec![
        Event::Enqueue {
            tag: tag.into(),
            by: "w".into(),
        },
        Event::Enqueued {
            tag: tag.into(),
            job: 1,
        },
    ]
}

fn start(proc: &str, run: u64) -> Event {
    Event::Start {
        tag: "a".into(),
        proc: proc.into(),
        run,
    }
}

fn end(proc: &str, run: u64) -> Event {
    Event::End {
        tag: "a".into(),
        proc: proc.into(),
        run,
    }
}

fn dead(proc: &str) -> Event {
    Event::Dead { proc: proc.into() }
}

/// The class job `a` gets after `enqueue("a")` and `runs`, stored in `state`.
fn job_class(runs: Vec<Event>, state: Option<JobState>) -> Vec<&'static str> {
    let mut events = enqueue("a");
    events.extend(runs);
    let stored: HashMap<String, Stored> = state
        .map(|state| ("a".to_owned(), Stored { state, error: None }))
        .into_iter()
        .collect();
    let verdict = queue::check(&events, &stored, OnDeadProcess::Release);
    let classes = [
        queue::RAN_ONCE,
        queue::RAN_AGAIN_AFTER_CRASH,
        queue::CONCURRENT,
        queue::AGAIN_WITHOUT_CRASH,
        queue::LOST,
        queue::NOT_FINISHED,
        queue::UNEXPECTED,
    ];
    classes
        .into_iter()
        .filter(|c| verdict.count(c) > 0)
        .collect()
}

const DONE: Option<JobState> = Some(JobState::Finished);

#[test]
fn the_queue_checker_tells_every_history_apart() {
    let once = vec![start("p", 0), end("p", 0)];
    assert_eq!(job_class(once, DONE), [queue::RAN_ONCE]);
    let overlapping = vec![start("p", 0), start("q", 0), end("p", 0), end("q", 0)];
    assert_eq!(job_class(overlapping, DONE), [queue::CONCURRENT]);
    let after_death = vec![start("p", 0), dead("p"), start("q", 0), end("q", 0)];
    assert_eq!(job_class(after_death, DONE), [queue::RAN_AGAIN_AFTER_CRASH]);
    // Ended, but died before its finish was recorded: running again is allowed.
    let ended_then_died = vec![
        start("p", 0),
        end("p", 0),
        dead("p"),
        start("q", 0),
        end("q", 0),
    ];
    assert_eq!(
        job_class(ended_then_died, DONE),
        [queue::RAN_AGAIN_AFTER_CRASH]
    );
    // Started again while the first process, stopped, still held it.
    let before_death = vec![start("p", 0), start("q", 0), dead("p"), end("q", 0)];
    assert_eq!(job_class(before_death, DONE), [queue::CONCURRENT]);
    let twice = vec![start("p", 0), end("p", 0), start("q", 0), end("q", 0)];
    assert_eq!(job_class(twice, DONE), [queue::AGAIN_WITHOUT_CRASH]);
    assert_eq!(job_class(vec![], Some(JobState::Ready)), [queue::LOST]);
    assert_eq!(
        job_class(vec![start("p", 0), dead("p")], Some(JobState::Claimed)),
        [queue::LOST]
    );
    let claimed = vec![start("p", 0), end("p", 0)];
    assert_eq!(
        job_class(claimed, Some(JobState::Claimed)),
        [queue::NOT_FINISHED]
    );

    let stray = vec![start("p", 0), end("p", 0)];
    let verdict = queue::check(&stray, &HashMap::new(), OnDeadProcess::Release);
    assert_eq!(verdict.count(queue::UNEXPECTED), 1);
    let unacked = vec![
        Event::Enqueue {
            tag: "a".into(),
            by: "w".into(),
        },
        Event::Enqueue {
            tag: "b".into(),
            by: "w".into(),
        },
        Event::Start {
            tag: "b".into(),
            proc: "p".into(),
            run: 0,
        },
        Event::End {
            tag: "b".into(),
            proc: "p".into(),
            run: 0,
        },
    ];
    let done = Stored {
        state: JobState::Finished,
        error: None,
    };
    let stored = HashMap::from([("b".to_owned(), done)]);
    let verdict = queue::check(&unacked, &stored, OnDeadProcess::Release);
    assert_eq!(verdict.count(queue::UNACKED_NOT_RUN), 1);
    assert_eq!(verdict.count(queue::UNACKED_RAN), 1);
    assert!(verdict.failures().is_empty(), "{verdict}");
}

#[test]
fn with_on_dead_process_fail_a_crash_fails_the_job_instead_of_running_it_again() {
    let mut events = enqueue("a");
    events.extend([start("p", 0), dead("p")]);
    let failed = Stored {
        state: JobState::Failed,
        error: Some("ProcessPrunedError".to_owned()),
    };
    let stored = HashMap::from([("a".to_owned(), failed)]);
    let fail = queue::check(&events, &stored, OnDeadProcess::Fail);
    assert_eq!(fail.count(queue::FAILED_AFTER_CRASH), 1, "{fail}");
    assert!(fail.failures().is_empty(), "{fail}");
    let release = queue::check(&events, &stored, OnDeadProcess::Release);
    assert_eq!(release.failures().len(), 1, "{release}");

    events.extend([start("q", 0), end("q", 0)]);
    let finished = Stored {
        state: JobState::Finished,
        error: None,
    };
    let stored = HashMap::from([("a".to_owned(), finished)]);
    let rerun = queue::check(&events, &stored, OnDeadProcess::Fail);
    assert_eq!(rerun.count(queue::RAN_AGAIN_AFTER_CRASH), 1, "{rerun}");
    assert_eq!(rerun.failures().len(), 1, "{rerun}");
}

fn publish(msg: &str, id: i64) -> Vec<Event> {
    vec![
        Event::Publish {
            msg: msg.into(),
            by: "w".into(),
        },
        Event::Published {
            msg: msg.into(),
            id,
        },
    ]
}

fn confirmed(conn: u64) -> Event {
    Event::Confirmed { sub: 0, conn }
}

fn received(conn: u64, msg: &str) -> Event {
    Event::Received {
        sub: 0,
        conn,
        msg: msg.into(),
    }
}

fn closed(conn: u64) -> Event {
    Event::Closed { sub: 0, conn }
}

/// The counts of the cable checker over `events`, with messages `m<id>` stored under
/// their ids and fence `m9`.
fn cable_check(events: &[Event], resume: bool) -> super::verdict::Verdict {
    let stored: HashMap<String, i64> = (1..=9).map(|id| (format!("m{id}"), id)).collect();
    let inputs = Inputs {
        stored: &stored,
        fence: "m9",
        resume,
    };
    cable::check(events, &inputs)
}

#[test]
fn the_cable_checker_tells_every_history_apart() {
    // Connected throughout, got everything: m1, m2, then the fence.
    let mut good = vec![confirmed(0)];
    good.extend(publish("m1", 1));
    good.push(received(0, "m1"));
    good.extend(publish("m2", 2));
    good.extend(publish("m9", 9));
    good.extend([received(0, "m2"), received(0, "m9")]);
    let verdict = cable_check(&good, true);
    assert_eq!(verdict.count(cable::DELIVERED), 3);
    assert!(verdict.failures().is_empty(), "{verdict}");

    // m2 skipped while m3 came: missing while connected.
    let mut gap = vec![confirmed(0)];
    for id in 1..=3 {
        gap.extend(publish(&format!("m{id}"), id));
    }
    gap.extend([received(0, "m1"), received(0, "m3"), closed(0)]);
    assert_eq!(cable_check(&gap, false).count(cable::MISSING), 1);

    // m2 went out between two connections: missed, allowed unless resuming.
    let mut away = vec![confirmed(0)];
    away.extend(publish("m1", 1));
    away.extend([received(0, "m1"), closed(0)]);
    away.extend(publish("m2", 2));
    away.push(confirmed(1));
    away.extend(publish("m9", 9));
    away.push(received(1, "m9"));
    // An attempt in between whose subscription was never confirmed changes nothing.
    away.insert(5, Event::Subscribing { sub: 0, conn: 5 });
    let today = cable_check(&away, false);
    assert_eq!(today.count(cable::MISSED_WHILE_AWAY), 1);
    assert!(today.failures().is_empty(), "{today}");
    assert_eq!(cable_check(&away, true).failures().len(), 1);

    // The same message twice, on two connections; a reversed pair; a stray message.
    let mut bad = vec![confirmed(0)];
    bad.extend(publish("m1", 1));
    bad.extend(publish("m2", 2));
    bad.extend([
        received(0, "m2"),
        received(0, "m1"),
        closed(0),
        confirmed(1),
    ]);
    bad.extend([received(1, "m1"), received(1, "x")]);
    let verdict = cable_check(&bad, false);
    assert_eq!(verdict.count(cable::DUPLICATED), 1, "{verdict}");
    assert_eq!(verdict.count(cable::OUT_OF_ORDER), 1, "{verdict}");
    assert_eq!(verdict.count(cable::UNEXPECTED), 1, "{verdict}");

    // Acknowledged before the subscribe was sent, yet delivered on that subscription.
    let mut replay = publish("m1", 1);
    replay.extend([Event::Subscribing { sub: 0, conn: 0 }, confirmed(0)]);
    replay.push(received(0, "m1"));
    let verdict = cable_check(&replay, false);
    assert_eq!(verdict.count(cable::REPLAYED), 1, "{verdict}");

    // Acknowledged under another id than stored, and a commit below an earlier ack.
    let mut ids = publish("m5", 4);
    ids.extend(publish("m3", 3));
    let verdict = cable_check(&ids, false);
    assert_eq!(verdict.count(cable::ACKED_NOT_STORED), 1, "{verdict}");
    assert_eq!(verdict.count(cable::AGAINST_REAL_TIME), 1, "{verdict}");
}
