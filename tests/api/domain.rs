//! The domain on either backend, for the domain-level tests (`todos`, `users`): [`Domain`]
//! on a migrated SQLite file or on a fresh PostgreSQL database
//! (`trifecta::store::pg::testing`), and [`on_both!`], which runs each case on both.

use std::time::Duration;

use trifecta::app::{self, App, Settings};
use trifecta::store::pg::testing;
use trifecta::store::{Clock, PoolOptions, Timestamp};
use trifecta::stores::Stores;

use crate::helpers::TestResult;

/// A domain handle, its manual clock and what keeps its database alive.
pub struct Domain {
    pub app: App,
    pub clock: Clock,
    _dir: Option<tempfile::TempDir>,
}

fn settings() -> Settings {
    Settings {
        bcrypt_cost: 4,
        session_max_age: Duration::from_secs(3600),
    }
}

fn clock() -> Clock {
    Clock::manual(Timestamp(1_700_000_000_000_000))
}

const SECRET: &[u8] = b"test secret key base, long enough";

impl Domain {
    /// The domain on the app file of a fresh storage directory.
    pub fn sqlite() -> TestResult<Domain> {
        let dir = tempfile::tempdir()?;
        let stores = Stores::open(dir.path(), "test", &PoolOptions::default())?;
        let clock = clock();
        Ok(Domain {
            app: App::new(stores.app, clock.clone(), SECRET, settings()),
            clock,
            _dir: Some(dir),
        })
    }

    /// The domain on a fresh PostgreSQL database.
    pub async fn postgres() -> TestResult<Domain> {
        let url = testing::database().await?;
        let pg = testing::open("app", &url, 4, app::postgres_migrations).await?;
        let clock = clock();
        Ok(Domain {
            app: App::new(pg, clock.clone(), SECRET, settings()),
            clock,
            _dir: None,
        })
    }
}

/// For each `case` (an `async fn(Domain) -> TestResult`), a module of that name with two
/// tests, `sqlite` and `postgres`, running it on each backend.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> crate::helpers::TestResult {
                super::$case(crate::domain::Domain::sqlite()?).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> crate::helpers::TestResult {
                super::$case(crate::domain::Domain::postgres().await?).await
            }
        }
    )*};
}
pub(crate) use on_both;
