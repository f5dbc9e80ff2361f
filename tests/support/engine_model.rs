//! Set-up shared by the engines' model tests (`crates/{queue,cache,cable}/tests/model/`),
//! included by path: each engine crate tests only its own public API, so there is no crate
//! to put this in.

use proptest::test_runner::Config;
use trifecta_store::{Db, Pg, PoolOptions, Schema, Timestamp};

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

/// [`config`] for a model on PostgreSQL, where every case makes a database: shrinking a
/// counterexample stops after 30 s, so a failure is reported in a minute rather than after
/// thousands of databases.
#[allow(dead_code, reason = "not every engine's model runs on PostgreSQL yet")]
pub fn config_pg(default_cases: u32) -> Config {
    Config {
        max_shrink_time: 30_000,
        ..config(default_cases)
    }
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

/// A fresh store `name` in a new database on the test PostgreSQL server
/// (`trifecta_store::pg::testing`), migrated with `runner`.
#[allow(dead_code, reason = "not every engine's model runs on PostgreSQL yet")]
pub fn migrated_pg(
    rt: &tokio::runtime::Runtime,
    name: &'static str,
    runner: fn() -> refinery::Runner,
) -> Pg {
    rt.block_on(async {
        let url = trifecta_store::pg::testing::database()
            .await
            .expect("test database");
        trifecta_store::pg::testing::open(name, &url, 4, runner)
            .await
            .expect("store")
    })
}
