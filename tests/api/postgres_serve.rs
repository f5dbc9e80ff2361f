//! The binary on PostgreSQL: `--database-url` (or `DATABASE_URL`) puts the four stores on
//! a server, a per-store URL moves one store, `migrate` is safe to run from several hosts at
//! once, `/up` probes each store where it lives, and what cannot work on PostgreSQL (the
//! file backup) or cannot start (a bad URL, no server) says so in one line.

use std::time::Duration;

use crate::helpers::{ChildServer, TestResult, run_cli, run_cli_env};
use trifecta::stores::StoreKind;

/// A fresh database on the test server, and a client on it.
async fn database() -> TestResult<(String, tokio_postgres::Client)> {
    let url = trifecta::store::pg::testing::database().await?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok((url, client))
}

/// The highest version in each store's history table, in [`StoreKind::ALL`] order (0 when
/// the store has none).
async fn versions(db: &tokio_postgres::Client) -> TestResult<Vec<i64>> {
    let mut out = Vec::new();
    for kind in StoreKind::ALL {
        let table = format!("{}_schema_history", kind.name());
        let exists: Option<String> = db
            .query_one("SELECT to_regclass($1)::text", &[&table])
            .await?
            .get(0);
        let version: i32 = match exists {
            Some(_) => db
                .query_one(
                    &format!("SELECT coalesce(max(version), 0) FROM {table}"),
                    &[],
                )
                .await?
                .get(0),
            None => 0,
        };
        out.push(i64::from(version));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_puts_every_store_on_postgres_once_even_from_two_hosts_at_once() -> TestResult {
    let (url, db) = database().await?;
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    // Two hosts migrating one fresh database together: both succeed, one applies.
    let runs: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let (dir, url) = (dir.path().to_path_buf(), url.clone());
            std::thread::spawn(move || run_cli_env(&dir, &["migrate"], &[("DATABASE_URL", &url)]))
        })
        .collect();
    for run in runs {
        let (status, stdout, stderr) = run.join().expect("migrate thread");
        assert!(status.success(), "migrate failed: {stdout}{stderr}");
        for kind in StoreKind::ALL {
            assert!(stdout.contains(kind.name()), "{stdout}");
        }
    }
    let migrated = versions(&db).await?;
    assert!(
        migrated.iter().all(|v| *v >= 1),
        "every store migrated on PostgreSQL: {migrated:?}"
    );
    for dir in &dirs {
        for kind in StoreKind::ALL {
            assert!(
                !dir.path().join(kind.file_name("test")).exists(),
                "no SQLite file for {} when it is on PostgreSQL",
                kind.name()
            );
        }
    }
    // Again: nothing to apply, same versions.
    let (status, _, stderr) = run_cli_env(dirs[0].path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(status.success(), "{stderr}");
    assert_eq!(versions(&db).await?, migrated);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_store_url_moves_only_that_store() -> TestResult {
    let (url, db) = database().await?;
    let dir = tempfile::tempdir()?;
    let (status, stdout, stderr) = run_cli(dir.path(), &["--cache-database-url", &url, "migrate"]);
    assert!(status.success(), "{stdout}{stderr}");
    let versions = versions(&db).await?;
    for (kind, version) in StoreKind::ALL.iter().zip(&versions) {
        let file = dir.path().join(kind.file_name("test"));
        if *kind == StoreKind::Cache {
            assert!(*version >= 1, "the cache is on PostgreSQL");
            assert!(!file.exists(), "no cache file");
        } else {
            assert_eq!(*version, 0, "{} is not on PostgreSQL", kind.name());
            assert!(file.exists(), "{} stays a file", kind.name());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_is_up_and_refuses_a_file_backup_in_one_line() -> TestResult {
    let (url, _db) = database().await?;
    let dir = tempfile::tempdir()?;
    let env = [("DATABASE_URL", url.as_str())];
    let server = ChildServer::spawn_env(dir.path(), &[], &env);
    let up: serde_json::Value = reqwest::get(server.url("/up")).await?.json().await?;
    assert_eq!(up["status"], "ok", "{up}");
    for kind in StoreKind::ALL {
        assert_eq!(up["stores"][kind.name()], "ok", "{up}");
    }
    let dest = dir.path().join("backup");
    let (status, _, stderr) = run_cli_env(
        dir.path(),
        &["backup", dest.to_str().expect("utf-8 path")],
        &env,
    );
    assert!(
        !status.success(),
        "a file backup of PostgreSQL stores is refused"
    );
    assert!(
        stderr.contains("on PostgreSQL") && stderr.contains("pg_dump"),
        "says why and what to use: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!dest.exists(), "nothing written");
    // A restore would write files the stores on PostgreSQL never read.
    let (status, _, stderr) = run_cli_env(
        dir.path(),
        &["restore", dest.to_str().expect("utf-8 path")],
        &env,
    );
    assert!(
        !status.success(),
        "a file restore under PostgreSQL stores is refused"
    );
    assert!(stderr.contains("on PostgreSQL"), "says why: {stderr}");
    Ok(())
}

#[test]
fn a_url_that_is_not_postgres_or_a_server_that_is_not_there_stops_startup_in_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    for (url, says) in [
        ("mysql://localhost/app", "PostgreSQL"),
        // Port 1 on loopback: nothing listens there.
        ("postgres://127.0.0.1:1/trifecta", "PostgreSQL"),
    ] {
        let (status, stdout, stderr) = run_cli_env(
            dir.path(),
            &["serve", "--bind", "127.0.0.1:0"],
            &[("DATABASE_URL", url)],
        );
        assert!(!status.success(), "{url}: refused ({stdout})");
        let last = stderr.trim().lines().last().unwrap_or_default();
        assert!(last.contains(says), "{url}: names the problem: {stderr}");
        assert!(!last.contains("password"), "{url}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_postgres_pools_instead_of_file_sizes() -> TestResult {
    let (url, _db) = database().await?;
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_env(
        dir.path(),
        &["--metrics-bind", "127.0.0.1:0"],
        &[("DATABASE_URL", url.as_str())],
    );
    let addr = crate::metrics::metrics_addr(&server).expect("a metrics listening line");
    // A request that reads the app store, so its pool has opened a connection.
    let res = reqwest::get(server.url("/up")).await?;
    assert_eq!(res.status(), 200);
    let text = crate::metrics::scrape(addr).await;
    crate::metrics::promtool_check(&text);
    for kind in StoreKind::ALL {
        let open = crate::metrics::sample(
            &text,
            "trifecta_postgres_pool_connections",
            &[("db", kind.name())],
        );
        assert!(
            open.is_some_and(|n| n >= 1.0),
            "{}: an open connection: {text}",
            kind.name()
        );
        assert!(
            crate::metrics::sample(&text, "trifecta_sqlite_file_bytes", &[("db", kind.name())])
                .is_none(),
            "{}: no file size for a store on PostgreSQL",
            kind.name()
        );
    }
    Ok(())
}

/// `/up` is what a load balancer asks: it turns 503 naming every store while the
/// PostgreSQL server cannot be reached (its host's link cut), and 200 again once it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_fails_while_postgres_is_unreachable_and_recovers() -> TestResult {
    let lan = crate::lan::Lan::new(1).map_err(|e| format!("a LAN: {e}"))?;
    let pg = trifecta::store::pg::testing::Cluster::start_in(&lan.host(0), lan.addr(0))?;
    let dir = tempfile::tempdir()?;
    let url = pg.url("postgres");
    let server = ChildServer::spawn_env(dir.path(), &[], &[("DATABASE_URL", url.as_str())]);
    let up = || async {
        let res = reqwest::get(server.url("/up")).await.ok()?;
        let status = res.status().as_u16();
        Some((status, res.json::<serde_json::Value>().await.ok()?))
    };
    let (status, _) = up().await.ok_or("no answer")?;
    assert_eq!(status, 200);
    lan.cut(0).map_err(|e| format!("cut: {e}"))?;
    let body = crate::helpers::wait_for("/up turns 503", Duration::from_secs(30), || async {
        match up().await {
            Some((503, body)) => Some(body),
            _ => None,
        }
    })
    .await;
    for kind in StoreKind::ALL {
        assert_eq!(body["stores"][kind.name()], "unavailable", "{body}");
    }
    lan.mend(0).map_err(|e| format!("mend: {e}"))?;
    crate::helpers::wait_for("/up is 200 again", Duration::from_secs(30), || async {
        matches!(up().await, Some((200, _))).then_some(())
    })
    .await;
    Ok(())
}
