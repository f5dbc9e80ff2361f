//! Model-based test of the cable: random sequences of publish, subscribe, unsubscribe, poll,
//! listener and process restarts, clock advances and trims, run by two "processes" (each its
//! own handle and `Cable` on one store) against a real SQLite file and against a PostgreSQL
//! database, each step checked against a small model of what every subscriber must have
//! received ([`reference`]).
//!
//! What must hold after every step:
//! - a subscriber's messages are, in order and without repeats, the messages published to
//!   its channel after it subscribed (a prefix of them: its listener may not have polled
//!   yet), with the payload and channel they were published with;
//! - after its process's listener polls, a live subscriber has all of them, across listener
//!   restarts and trims (trimming never removes a message a live listener has not passed:
//!   the clock only moves while every listener with subscribers polled within the
//!   retention);
//! - an unsubscribed subscriber, or one of a restarted process, gets nothing more;
//! - the table holds exactly the messages younger than the retention once trimmed.
//!
//! `PROPTEST_CASES` sets the number of cases (default [`DEFAULT_CASES`]).

mod reference;
#[path = "../../../../tests/support/engine_model.rs"]
mod support;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest_state_machine::{StateMachineTest, prop_state_machine};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use trifecta_cable::{Cable, CableOptions, Listener, Message, Sink, Subscription};
use trifecta_store::{Backend, Clock, WakeMode};

use reference::{CHANNELS, CableModel, Model, PROCESSES, RETENTION, Step};

/// Cases per run without `PROPTEST_CASES`: about two seconds here.
const DEFAULT_CASES: u32 = 64;

/// A subscriber's inbox: (id, channel, payload) in delivery order.
#[derive(Default)]
struct Inbox(Mutex<Vec<(i64, String, String)>>);

impl Sink for Inbox {
    fn deliver(&self, m: &Message) {
        self.0.lock().expect("inbox lock").push((
            m.id,
            m.channel.to_string(),
            m.payload.to_string(),
        ));
    }
}

/// One simulated process: its cable handle and its listener, driven by hand.
struct Process {
    cable: Cable,
    listener: Listener,
}

/// Where a case's messages live: an SQLite file in a temporary directory, or a database on
/// the test PostgreSQL server; each "process" opens its own handle on it.
trait Store {
    /// A fresh place.
    fn fresh(rt: &Runtime) -> Place;
}

/// A fresh place's handle-opening details.
enum Place {
    Dir(TempDir),
    Url(String),
}

impl Place {
    /// A new handle on the place, migrated.
    fn open(&self, rt: &Runtime) -> Backend {
        match self {
            Place::Dir(dir) => {
                support::migrated(dir.path(), "cable", trifecta_cable::SCHEMA).into()
            }
            Place::Url(url) => rt.block_on(async {
                trifecta_store::pg::testing::open(
                    "cable",
                    url,
                    4,
                    trifecta_cable::postgres_migrations,
                )
                .await
                .expect("cable store")
                .into()
            }),
        }
    }
}

/// SQLite.
struct OnSqlite;

impl Store for OnSqlite {
    fn fresh(_: &Runtime) -> Place {
        Place::Dir(tempfile::tempdir().expect("temp dir"))
    }
}

/// PostgreSQL.
struct OnPostgres;

impl Store for OnPostgres {
    fn fresh(rt: &Runtime) -> Place {
        Place::Url(
            rt.block_on(trifecta_store::pg::testing::database())
                .expect("test database"),
        )
    }
}

/// The system under test: the cable store, one cable per process, the subscribers' inboxes.
struct Real<S> {
    rt: Runtime,
    place: Place,
    store: PhantomData<S>,
    clock: Clock,
    wake: WakeMode,
    procs: Vec<Process>,
    subs: Vec<(Subscription, usize, Arc<Inbox>)>,
    /// Inbox length when the subscriber ended.
    ended: Vec<Option<usize>>,
}

impl<S> Real<S> {
    fn start(&self) -> Process {
        let db = self.place.open(&self.rt);
        let options = CableOptions {
            message_retention: Duration::from_secs(RETENTION),
            trim_batch_size: 2,
            ..CableOptions::default()
        };
        let cable = Cable::new(db, self.clock.clone(), options, self.wake);
        let listener = cable.listener();
        Process { cable, listener }
    }

    fn end(&mut self, sub: usize) {
        if self.ended[sub].is_none() {
            let (s, process, inbox) = &self.subs[sub];
            self.procs[*process].cable.unsubscribe(s);
            self.ended[sub] = Some(inbox.0.lock().expect("inbox lock").len());
        }
    }
}

impl<S: Store> StateMachineTest for Real<S> {
    type SystemUnderTest = Self;
    type Reference = CableModel;

    fn init_test(model: &Model) -> Self {
        let rt = support::runtime();
        let place = S::fresh(&rt);
        let mut real = Real {
            rt,
            place,
            store: PhantomData,
            clock: Clock::manual(support::START),
            wake: if model.instant {
                WakeMode::Instant
            } else {
                WakeMode::Poll
            },
            procs: Vec::new(),
            subs: Vec::new(),
            ended: Vec::new(),
        };
        real.procs = (0..PROCESSES).map(|_| real.start()).collect();
        real
    }

    fn apply(mut real: Self, model: &Model, step: Step) -> Self {
        match step {
            Step::Publish { process, channel } => {
                let n = model.messages.len() - 1;
                let cable = real.procs[process].cable.clone();
                real.rt
                    .block_on(cable.broadcast(CHANNELS[channel], &serde_json::json!({ "n": n })))
                    .expect("broadcast");
            }
            Step::Subscribe { process, channel } => {
                let inbox = Arc::new(Inbox::default());
                let cable = real.procs[process].cable.clone();
                let sub = real
                    .rt
                    .block_on(cable.subscribe(CHANNELS[channel], inbox.clone()))
                    .expect("subscribe");
                real.subs.push((sub, process, inbox));
                real.ended.push(None);
            }
            Step::Unsubscribe { sub } => real.end(sub),
            Step::Poll { process } => {
                let Real { rt, procs, .. } = &mut real;
                let read = rt
                    .block_on(procs[process].listener.run_once())
                    .expect("poll");
                assert!(read < 1000, "one poll reads every new row here");
            }
            Step::RestartListener { process } => {
                real.procs[process].listener = real.procs[process].cable.listener();
            }
            Step::RestartProcess { process } => {
                for sub in 0..real.subs.len() {
                    if real.subs[sub].1 == process {
                        real.end(sub);
                    }
                }
                real.procs[process] = real.start();
            }
            Step::Advance { secs } => real.clock.advance(Duration::from_secs(secs)),
            Step::Trim => {
                let cable = real.procs[0].cable.clone();
                real.rt.block_on(cable.trim()).expect("trim");
            }
        }
        real
    }

    fn check_invariants(real: &Self, model: &Model) {
        for (i, s) in model.subs.iter().enumerate() {
            let inbox = real.subs[i].2.0.lock().expect("inbox lock").clone();
            let owed = model.owed(s);
            let got: Vec<usize> = inbox
                .iter()
                .map(|(_, channel, payload)| {
                    assert_eq!(
                        channel, CHANNELS[s.channel],
                        "subscriber {i}: wrong channel"
                    );
                    let v: serde_json::Value = serde_json::from_str(payload).expect("JSON");
                    v["n"]
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .expect("payload n")
                })
                .collect();
            assert!(
                inbox.windows(2).all(|w| w[0].0 < w[1].0),
                "subscriber {i}: ids not increasing: {inbox:?}"
            );
            assert!(
                got.len() <= owed.len() && got[..] == owed[..got.len()],
                "subscriber {i}: got {got:?}, owed (in order) {owed:?}"
            );
            if let Some(len) = real.ended[i] {
                assert_eq!(got.len(), len, "subscriber {i} got messages after it ended");
            } else if model.polled == Some(s.process) {
                assert_eq!(
                    got, owed,
                    "subscriber {i}: its listener polled, yet messages are missing"
                );
            }
        }
        let stored = real
            .rt
            .block_on(real.procs[0].cable.table_stats())
            .expect("table stats")
            .messages;
        let kept = model.messages.iter().filter(|m| !m.trimmed).count();
        assert_eq!(
            usize::try_from(stored).expect("count"),
            kept,
            "messages in the table"
        );
    }
}

prop_state_machine! {
    #![proptest_config(support::config(DEFAULT_CASES))]

    #[test]
    fn every_subscriber_gets_its_messages_once_in_order(sequential 1..40 => Real<OnSqlite>);
}

prop_state_machine! {
    #![proptest_config(support::config_pg(DEFAULT_CASES))]

    #[test]
    fn on_postgres_every_subscriber_gets_its_messages_once_in_order(sequential 1..40 => Real<OnPostgres>);
}
