//! Model-based test of the cache: random sequences of write (plain, `unless_exist`, with an
//! expiry), read, delete, increment, clock advances and expiry passes, on two namespaces of
//! one real SQLite file, with random entry, size and age limits, each step checked against an
//! in-memory model of the rows.
//!
//! What must hold after every step:
//! - a read returns the value last written (or incremented) under the key, unless it was
//!   deleted, expired or evicted; an expired or deleted value is never returned;
//! - delete reports whether a row went, increment returns the model's number;
//! - the file's exact totals (entries, bytes = key + value + 140 per row) match the model;
//! - after an expiry pass the cache is within `max_entries` and `max_size`, every row past
//!   its expiry or `max_age` is gone, and the rows evicted to get there are the oldest
//!   (first written) ones.
//!
//! `PROPTEST_CASES` sets the number of cases (default [`DEFAULT_CASES`]).

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use trifecta_cache::{Cache, CacheOptions, WriteOptions};
use trifecta_store::{Clock, Db, PoolOptions, Timestamp};

/// Cases per run without `PROPTEST_CASES`: a few seconds here.
const DEFAULT_CASES: u32 = 48;
/// Key names, each used in both namespaces.
const NAMES: [&str; 4] = ["k0", "k1", "k2", "k3"];
/// The second handle's namespace (the first has none).
const NAMESPACE: &str = "ns";
/// Rows removed per expiry round. The round looks at the `3 × batch` oldest rows, which
/// covers every row the model can hold (eight keys), so a pass sees the whole cache.
const BATCH: u32 = 3;
/// 2023-11-14T22:13:20Z, the manual clock's start.
const START: Timestamp = Timestamp(1_700_000_000_000_000);

/// The proptest settings: no regression files, and [`DEFAULT_CASES`] unless
/// `PROPTEST_CASES` says otherwise.
fn config() -> Config {
    let mut config = Config {
        // Shrunk counterexamples become regular tests, not files in the tree.
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

/// A key: a name in one of the two namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct K {
    name: usize,
    namespaced: bool,
}

impl K {
    /// The key as stored (namespace prefixed).
    fn stored(self) -> String {
        if self.namespaced {
            format!("{NAMESPACE}:{}", NAMES[self.name])
        } else {
            NAMES[self.name].to_owned()
        }
    }
}

/// One step of a test case.
#[derive(Clone, Debug)]
enum Step {
    Write {
        key: K,
        value: String,
        expires_in: Option<u64>,
        unless_exist: bool,
    },
    Read {
        key: K,
    },
    Delete {
        key: K,
    },
    Increment {
        key: K,
        amount: i64,
        expires_in: Option<u64>,
    },
    Advance {
        secs: u64,
    },
    Expire,
}

/// A row of the model.
#[derive(Clone, Debug)]
struct Row {
    key: K,
    /// The stored JSON.
    json: String,
    /// FIFO place: kept by overwrites.
    order: u64,
    created: u64,
    expires: Option<u64>,
}

impl Row {
    fn size(&self) -> u64 {
        (self.key.stored().len() + self.json.len() + 140) as u64
    }
}

/// The limits of one case.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_entries: Option<u64>,
    max_size: Option<u64>,
    max_age: Option<u64>,
}

/// The model: rows in FIFO order, the clock, and what the last step should have returned.
#[derive(Clone, Debug)]
struct Model {
    limits: Limits,
    now: u64,
    next_order: u64,
    rows: Vec<Row>,
    /// What the last step returned, as the model says.
    answer: Answer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    None,
    Written(bool),
    Read(Option<serde_json::Value>),
    Deleted(bool),
    Incremented(i64),
}

impl Model {
    fn row(&self, key: K) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }

    fn live(&self, key: K) -> Option<&Row> {
        self.row(key)
            .map(|i| &self.rows[i])
            .filter(|r| r.expires.is_none_or(|e| e > self.now))
    }

    /// Writes `json` under `key`: an existing row (even expired) keeps its place.
    fn upsert(&mut self, key: K, json: String, expires: Option<u64>) {
        match self.row(key) {
            Some(i) => {
                self.rows[i].json = json;
                self.rows[i].expires = expires;
            }
            None => {
                self.rows.push(Row {
                    key,
                    json,
                    order: self.next_order,
                    created: self.now,
                    expires,
                });
                self.next_order += 1;
            }
        }
    }

    fn totals(&self) -> (u64, u64) {
        (
            self.rows.len() as u64,
            self.rows.iter().map(Row::size).sum(),
        )
    }

    /// The expiry pass: every stale row goes, and the oldest rows while over a limit.
    fn expire(&mut self) {
        let (entries, bytes) = self.totals();
        let over = |limit: Option<u64>, have: u64| {
            limit.map_or(0, |m| i128::from(have) - i128::from(m)).max(0)
        };
        let mut excess_entries = over(self.limits.max_entries, entries);
        let mut excess_bytes = over(self.limits.max_size, bytes);
        let now = self.now;
        let max_age = self.limits.max_age;
        self.rows.sort_by_key(|r| r.order);
        self.rows.retain(|r| {
            let stale = max_age.is_some_and(|age| r.created + age < now)
                || r.expires.is_some_and(|e| e <= now);
            let evict = stale || excess_entries > 0 || excess_bytes > 0;
            if evict {
                excess_entries -= 1;
                excess_bytes -= i128::from(r.size());
            }
            !evict
        });
    }
}

/// The integer a stored value counts as for `increment` (a JSON number or numeric string).
fn as_integer(json: &str) -> Option<i64> {
    match serde_json::from_str::<serde_json::Value>(json).ok()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The model as a proptest state machine: it generates the steps and applies them.
struct CacheModel;

/// Any of the eight keys.
fn key() -> impl Strategy<Value = K> {
    (0..NAMES.len(), any::<bool>()).prop_map(|(name, namespaced)| K { name, namespaced })
}

impl ReferenceStateMachine for CacheModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (
            proptest::option::of(1u64..6),
            proptest::option::of(400u64..1200),
            proptest::option::of(20u64..200),
        )
            .prop_map(|(max_entries, max_size, max_age)| Model {
                limits: Limits {
                    max_entries,
                    max_size,
                    max_age,
                },
                now: 0,
                next_order: 0,
                rows: Vec::new(),
                answer: Answer::None,
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        let expires_in = proptest::option::of(1u64..30);
        prop_oneof![
            5 => (key(), "[a-z0-9 ]{0,40}", expires_in.clone(), any::<bool>()).prop_map(
                |(key, value, expires_in, unless_exist)| Step::Write {
                    key,
                    value,
                    expires_in,
                    unless_exist,
                }
            ),
            5 => key().prop_map(|key| Step::Read { key }),
            2 => key().prop_map(|key| Step::Delete { key }),
            2 => (key(), -5i64..5, expires_in).prop_map(|(key, amount, expires_in)| {
                Step::Increment {
                    key,
                    amount,
                    expires_in,
                }
            }),
            2 => (1u64..40).prop_map(|secs| Step::Advance { secs }),
            2 => Just(Step::Expire),
        ]
        .boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        let now = state.now;
        state.answer = match step {
            Step::Write {
                key,
                value,
                expires_in,
                unless_exist,
            } => {
                let write = !unless_exist || state.live(*key).is_none();
                if write {
                    let json = serde_json::Value::from(value.as_str()).to_string();
                    state.upsert(*key, json, expires_in.map(|d| now + d));
                }
                Answer::Written(write)
            }
            Step::Read { key } => Answer::Read(
                state
                    .live(*key)
                    .map(|r| serde_json::from_str(&r.json).expect("model JSON")),
            ),
            Step::Delete { key } => match state.row(*key) {
                Some(i) => {
                    state.rows.remove(i);
                    Answer::Deleted(true)
                }
                None => Answer::Deleted(false),
            },
            Step::Increment {
                key,
                amount,
                expires_in,
            } => {
                let kept = state
                    .live(*key)
                    .and_then(|r| as_integer(&r.json).map(|n| (n, r.expires)));
                let (base, expires) = kept.unwrap_or((0, expires_in.map(|d| now + d)));
                let next = base.saturating_add(*amount);
                state.upsert(*key, next.to_string(), expires);
                Answer::Incremented(next)
            }
            Step::Advance { secs } => {
                state.now += secs;
                Answer::None
            }
            Step::Expire => {
                state.expire();
                Answer::None
            }
        };
        state
    }
}

/// The system under test: one cache file, a handle without namespace and one with.
struct Real {
    rt: Runtime,
    _dir: TempDir,
    clock: Clock,
    plain: Cache,
    namespaced: Cache,
}

impl Real {
    fn handle(&self, key: K) -> &Cache {
        if key.namespaced {
            &self.namespaced
        } else {
            &self.plain
        }
    }
}

impl StateMachineTest for Real {
    type SystemUnderTest = Self;
    type Reference = CacheModel;

    fn init_test(model: &Model) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(
            "cache",
            &dir.path().join("cache.sqlite3"),
            &PoolOptions::default(),
        )
        .expect("open cache db");
        db.migrate_blocking(trifecta_cache::SCHEMA)
            .expect("migrate");
        let clock = Clock::manual(START);
        let options = CacheOptions {
            max_age: model.limits.max_age.map(Duration::from_secs),
            max_entries: model.limits.max_entries,
            max_size: model.limits.max_size,
            expiry_batch_size: BATCH,
            // Generous: on a loaded machine a dropped write would look like a lost one.
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            ..CacheOptions::default()
        };
        let plain = Cache::new(db, clock.clone(), options);
        let namespaced = plain.with_namespace(NAMESPACE);
        Real {
            rt,
            _dir: dir,
            clock,
            plain,
            namespaced,
        }
    }

    fn apply(real: Self, model: &Model, step: Step) -> Self {
        let answer = match step {
            Step::Write {
                key,
                value,
                expires_in,
                unless_exist,
            } => {
                let mut options = WriteOptions::new();
                if let Some(d) = expires_in {
                    options = options.expires_in(Duration::from_secs(d));
                }
                if unless_exist {
                    options = options.unless_exist();
                }
                let cache = real.handle(key);
                Answer::Written(real.rt.block_on(cache.write(
                    NAMES[key.name],
                    value.as_str(),
                    options,
                )))
            }
            Step::Read { key } => {
                let cache = real.handle(key);
                let value = real
                    .rt
                    .block_on(cache.read::<serde_json::Value>(NAMES[key.name]));
                let exists = real.rt.block_on(cache.exists(NAMES[key.name]));
                assert_eq!(
                    exists,
                    value.is_some(),
                    "exists and read disagree on {key:?}"
                );
                Answer::Read(value)
            }
            Step::Delete { key } => {
                let cache = real.handle(key);
                Answer::Deleted(real.rt.block_on(cache.delete(NAMES[key.name])))
            }
            Step::Increment {
                key,
                amount,
                expires_in,
            } => {
                let cache = real.handle(key);
                let next = real.rt.block_on(cache.increment(
                    NAMES[key.name],
                    amount,
                    expires_in.map(Duration::from_secs),
                ));
                Answer::Incremented(next.expect("increment written"))
            }
            Step::Advance { secs } => {
                real.clock.advance(Duration::from_secs(secs));
                Answer::None
            }
            Step::Expire => {
                loop {
                    let pass = real.rt.block_on(real.plain.expire_once()).expect("expiry");
                    if !pass.stopped_early() {
                        break;
                    }
                }
                let stats = real.rt.block_on(real.plain.stats()).expect("stats");
                let within = |limit: Option<u64>, have: u64| limit.is_none_or(|m| have <= m);
                assert!(
                    within(model.limits.max_entries, stats.entries)
                        && within(model.limits.max_size, stats.bytes),
                    "over the limits after an expiry pass: {} entries, {} bytes, limits {:?}",
                    stats.entries,
                    stats.bytes,
                    model.limits
                );
                Answer::None
            }
        };
        assert_eq!(answer, model.answer, "the engine answered otherwise");
        real
    }

    fn check_invariants(real: &Self, model: &Model) {
        let stats = real.rt.block_on(real.plain.stats()).expect("stats");
        assert_eq!(
            (stats.entries, stats.bytes),
            model.totals(),
            "rows and bytes in the file"
        );
        // Every key reads as the model says: nothing expired, deleted or evicted comes back.
        for (name, text) in NAMES.iter().enumerate() {
            for namespaced in [false, true] {
                let key = K { name, namespaced };
                let entry = real
                    .rt
                    .block_on(real.handle(key).inspect(text))
                    .expect("inspect");
                let want = model.live(key).map(|r| r.json.as_bytes().to_vec());
                assert_eq!(
                    entry.map(|e| e.value),
                    want,
                    "stored value of {}",
                    key.stored()
                );
            }
        }
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn the_cache_holds_what_the_model_holds(sequential 1..40 => Real);
}
