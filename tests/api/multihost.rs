//! N servers on N hosts (issue #19): three hosts in network namespaces on one switch,
//! PostgreSQL on the first and a `trifecta serve` on each of the two others, every store on
//! that one server. Sockets of the unmodified npm client (`tests/js/todos.mjs`) on both
//! servers see a todo changed through either; jobs enqueued on both hosts run once; a host
//! whose link is cut leaves the other serving, and the jobs a killed host had claimed are
//! recovered by the other.

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use crate::helpers::{Browser, TestResult, bin, wait_for};
use crate::lan::Lan;

const PASSWORD: &str = "correct horse battery";
/// Shared by both servers: sessions signed by one are valid on the other.
const SECRET: &str = "5f0c6a8e9d3b47a1b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7";
/// How long anything the test waits for may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// A `trifecta serve` on one host of the LAN, its log (JSON lines) in a file.
struct Host {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    storage: tempfile::TempDir,
}

impl Host {
    fn start(lan: &Lan, h: usize, database_url: &str) -> Host {
        let storage = tempfile::tempdir().expect("storage dir");
        let log = storage.path().join("serve.log");
        let addr = SocketAddr::new(lan.addr(h), 3000);
        let child = lan
            .command(h, bin())
            .arg("--storage")
            .arg(storage.path())
            .args(["--log", "info,trifecta_queue=debug", "--log-format", "json"])
            .arg("serve")
            .args(["--bind", &addr.to_string()])
            // Dead hosts are noticed within seconds rather than Solid Queue's 5 minutes.
            .args(["--process-heartbeat-interval", "300ms"])
            .args(["--process-alive-threshold", "2s"])
            .env("TRIFECTA_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("TRIFECTA_SECRET_KEY_BASE", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn trifecta serve on a host");
        Host {
            child,
            addr,
            log,
            storage,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Ids of the jobs this server logged as performed.
    fn performed(&self) -> Vec<i64> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|v| v["message"] == "job performed")
            .filter_map(|v| {
                v["spans"].as_array()?.iter().find(|s| s["name"] == "job")?["id"].as_i64()
            })
            .collect()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `host` answers `/up` with 200.
async fn up(host: &Host) {
    let client = reqwest::Client::new();
    wait_for("the server answers /up", DEADLINE, || async {
        match client.get(host.url("/up")).send().await {
            Ok(res) if res.status() == 200 => Some(()),
            _ => None,
        }
    })
    .await;
}

/// The npm client on the todos channel of the server at `addr`, signed in with `cookie`.
struct Socket {
    _node: tokio::process::Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Socket {
    async fn open(addr: SocketAddr, cookie: &str) -> Socket {
        let mut node = tokio::process::Command::new("node")
            .arg(crate::cable_js::js_dir().join("todos.mjs"))
            .arg(format!("ws://{addr}/cable"))
            .arg(cookie)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node");
        let lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
        let mut socket = Socket { _node: node, lines };
        // Subscribed: the confirmation and the full list, in either order.
        let mut seen = vec![socket.next().await, socket.next().await];
        seen.sort_by_key(|v| v["event"].as_str().unwrap_or_default().to_owned());
        assert_eq!(seen[0]["event"], "connected", "{seen:?}");
        assert_eq!(seen[1]["event"], "received", "{seen:?}");
        socket
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("a client event in time")
            .expect("read")
            .expect("node running");
        serde_json::from_str(&line).expect("json line")
    }

    /// Waits for a batch of changes naming `title`.
    async fn sees(&mut self, title: &str) {
        loop {
            let event = self.next().await;
            if event["event"] == "changes"
                && event["titles"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == title))
            {
                return;
            }
        }
    }
}

/// Runs `trifecta jobs enqueue <args>` on host `h` against the shared database.
fn enqueue(lan: &Lan, h: usize, storage: &Path, database_url: &str, args: &[&str]) -> i64 {
    let out = lan
        .command(h, bin())
        .arg("--storage")
        .arg(storage)
        .args(["jobs", "enqueue"])
        .args(args)
        .env("TRIFECTA_ENV", "test")
        .env("DATABASE_URL", database_url)
        .env("TRIFECTA_SECRET_KEY_BASE", SECRET)
        .output()
        .expect("trifecta jobs enqueue");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "enqueue failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .trim()
        .strip_prefix("enqueued job ")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no job id in {stdout:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_postgres_share_sockets_and_jobs_and_outlive_each_other() -> TestResult {
    crate::cable_js::ensure_node_modules();
    let lan = Lan::new(3).expect("a LAN of three hosts");
    let pg = trifecta::store::pg::testing::Cluster::start_in(&lan.host(0), lan.addr(0))
        .expect("PostgreSQL on host 0");
    let (admin, conn) = tokio_postgres::connect(&pg.url("postgres"), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    admin.batch_execute("CREATE DATABASE trifecta").await?;
    let url = pg.url("trifecta");
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);

    let a = Host::start(&lan, 1, &url);
    let b = Host::start(&lan, 2, &url);
    up(&a).await;
    up(&b).await;

    // One user, signed up through host A; the session cookie works on host B too.
    let browser = Browser::new(a.addr, "");
    let res = browser.sign_up("multi@example.com", PASSWORD).await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let cookie = format!(
        "_trifecta_session={}",
        browser.cookie("_trifecta_session").expect("session cookie")
    );
    let mut on_a = Socket::open(a.addr, &cookie).await;
    let mut on_b = Socket::open(b.addr, &cookie).await;

    // A change through A reaches the socket on B (and A); one through B reaches A.
    let res = browser
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "written on A"}}),
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    on_b.sees("written on A").await;
    on_a.sees("written on A").await;
    let browser_b = Browser::new(b.addr, "");
    browser_b.sign_in("multi@example.com", PASSWORD).await;
    let res = browser_b
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "written on B"}}),
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    on_a.sees("written on B").await;
    on_b.sees("written on B").await;

    // Jobs enqueued on both hosts run exactly once between the two servers.
    let mut ids = Vec::new();
    for i in 0..20 {
        let (h, storage) = if i % 2 == 0 {
            (1, a.storage.path())
        } else {
            (2, b.storage.path())
        };
        ids.push(enqueue(&lan, h, storage, &url, &["noop"]));
    }
    let runs = wait_for("every job performed", DEADLINE, || async {
        let mut runs: HashMap<i64, usize> = HashMap::new();
        for id in a.performed().into_iter().chain(b.performed()) {
            *runs.entry(id).or_default() += 1;
        }
        ids.iter().all(|id| runs.contains_key(id)).then_some(runs)
    })
    .await;
    for id in &ids {
        assert_eq!(runs[id], 1, "job {id} ran {} times", runs[id]);
    }
    // A job is performed before its finish commits: wait for the rows.
    let finished =
        "SELECT count(*) FROM solid_queue_jobs WHERE id = ANY($1) AND finished_at IS NOT NULL";
    wait_for("every job finished in PostgreSQL", DEADLINE, || async {
        let n: i64 = db.query_one(finished, &[&ids]).await.ok()?.get(0);
        (n == 20).then_some(())
    })
    .await;

    // Host A's link is cut: host B goes on serving its socket.
    lan.cut(1).map_err(|e| format!("cut: {e}"))?;
    let res = browser_b
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "while A is cut off"}}),
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    on_b.sees("while A is cut off").await;
    lan.mend(1).map_err(|e| format!("mend: {e}"))?;

    // Jobs that take a while: once host A holds some, it is killed; B recovers them.
    let sleepers: Vec<i64> = (0..6)
        .map(|_| {
            enqueue(
                &lan,
                2,
                b.storage.path(),
                &url,
                &["sleep", "--args", r#"{"ms":3000}"#],
            )
        })
        .collect();
    let a_pid = i64::from(a.child.id());
    let held_by_a = wait_for("host A holds a job", DEADLINE, || async {
        let held: Vec<i64> = db
            .query(
                "SELECT c.job_id FROM solid_queue_claimed_executions c
                   JOIN solid_queue_processes p ON p.id = c.process_id
                  WHERE p.pid = $1 AND c.job_id = ANY($2)",
                &[&a_pid, &sleepers],
            )
            .await
            .expect("claims query")
            .iter()
            .map(|r| r.get(0))
            .collect();
        (!held.is_empty()).then_some(held)
    })
    .await;
    let mut a = a;
    a.child.kill()?;
    a.child.wait()?;
    wait_for(
        "B performs every job A held",
        Duration::from_secs(60),
        || async {
            let by_b = b.performed();
            held_by_a.iter().all(|id| by_b.contains(id)).then_some(())
        },
    )
    .await;
    // Every sleeper finishes (B's own included), and none stays claimed.
    wait_for("every sleeper finished", Duration::from_secs(60), || async {
        let finished: i64 = db
            .query_one(
                "SELECT count(*) FROM solid_queue_jobs WHERE id = ANY($1) AND finished_at IS NOT NULL",
                &[&sleepers],
            )
            .await
            .expect("finished query")
            .get(0);
        (finished == 6).then_some(())
    })
    .await;
    let left: i64 = db
        .query_one(
            "SELECT count(*) FROM solid_queue_claimed_executions WHERE job_id = ANY($1)",
            &[&sleepers],
        )
        .await?
        .get(0);
    assert_eq!(left, 0, "no job stays claimed by the dead host");
    assert!(
        !a.performed().iter().any(|id| held_by_a.contains(id)),
        "host A was killed before finishing the jobs it held: {}",
        a.log_text()
    );
    up(&b).await;
    Ok(())
}
