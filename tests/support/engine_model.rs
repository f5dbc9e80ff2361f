//! Set-up shared by the engines' model tests (`crates/{queue,cache,cable}/tests/model/`),
//! included by path: each engine crate tests only its own public API, so there is no crate
//! to put this in.

use proptest::test_runner::Config;
use trifecta_store::{Db, PoolOptions, Schema, Timestamp};

/// 2023-11-14T22:13:20Z, where the manual clocks of the models start.
pub const START: Timestamp = Timestamp(1_700_000_000_000_000);

/// The proptest settings: no regression files (shrunk counterexamples become regular
/// tests, not files in the tree), and `default_cases` unless `PROPTEST_CASES` says
/// otherwise.
pub fn config(default_cases: u32) -> Config {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config
}

/// A single-threaded runtime with time and I/O, as the models drive the engines step by
/// step.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A fresh store `name` in `dir`, migrated to `schema`.
pub fn migrated(dir: &std::path::Path, name: &'static str, schema: Schema) -> Db {
    let db = Db::open(
        name,
        &dir.join(format!("{name}.sqlite3")),
        &PoolOptions::default(),
    )
    .expect("open the store");
    db.migrate_blocking(schema).expect("migrate");
    db
}
