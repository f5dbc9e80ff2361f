//! Model-based test of the cache: random sequences of write (plain, `unless_exist`, with an
//! expiry), read, delete, increment, clock advances and expiry passes, on two namespaces of
//! one real store (an SQLite file, and a PostgreSQL database), with random entry, size and
//! age limits, each step checked against an in-memory model of the rows ([`reference`]).
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

mod reference;
#[path = "../../../../tests/support/engine_model.rs"]
mod support;

use std::marker::PhantomData;
use std::time::Duration;

use proptest_state_machine::{StateMachineTest, prop_state_machine};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use trifecta_cache::{Cache, CacheOptions, WriteOptions};
use trifecta_store::Backend;
use trifecta_store::Clock;

use reference::{Answer, CacheModel, K, Model, NAMES, NAMESPACE, Step};

/// Cases per run without `PROPTEST_CASES`: a few seconds here.
const DEFAULT_CASES: u32 = 48;
/// Rows removed per expiry round. The round looks at the `3 × batch` oldest rows, which
/// covers every row the model can hold (eight keys), so a pass sees the whole cache.
const BATCH: u32 = 3;

/// Where a case's cache lives.
trait Store {
    /// A fresh, migrated store (and the directory to keep while it is used).
    fn open(rt: &Runtime) -> (Backend, Option<TempDir>);
}

/// A cache file in a temporary directory.
struct OnSqlite;

impl Store for OnSqlite {
    fn open(_: &Runtime) -> (Backend, Option<TempDir>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = support::migrated(dir.path(), "cache", trifecta_cache::SCHEMA);
        (db.into(), Some(dir))
    }
}

/// A new database on the test PostgreSQL server.
struct OnPostgres;

impl Store for OnPostgres {
    fn open(rt: &Runtime) -> (Backend, Option<TempDir>) {
        let pg = support::migrated_pg(rt, "cache", trifecta_cache::postgres_migrations);
        (pg.into(), None)
    }
}

/// The system under test: one cache store, a handle without namespace and one with.
struct Real<S> {
    rt: Runtime,
    _dir: Option<TempDir>,
    clock: Clock,
    plain: Cache,
    namespaced: Cache,
    store: PhantomData<S>,
}

impl<S> Real<S> {
    fn handle(&self, key: K) -> &Cache {
        if key.namespaced {
            &self.namespaced
        } else {
            &self.plain
        }
    }
}

impl<S: Store> StateMachineTest for Real<S> {
    type SystemUnderTest = Self;
    type Reference = CacheModel;

    fn init_test(model: &Model) -> Self {
        let rt = support::runtime();
        let (db, dir) = S::open(&rt);
        let clock = Clock::manual(support::START);
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
            store: PhantomData,
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
    #![proptest_config(support::config(DEFAULT_CASES))]

    #[test]
    fn the_cache_holds_what_the_model_holds(sequential 1..40 => Real<OnSqlite>);
}

prop_state_machine! {
    #![proptest_config(support::config_pg(DEFAULT_CASES))]

    #[test]
    fn the_cache_on_postgres_holds_what_the_model_holds(sequential 1..40 => Real<OnPostgres>);
}
