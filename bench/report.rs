//! `make bench`: the whole report. Runs the end-to-end pipeline (N = 1, 100, 1,000 subscribed
//! clients, `--wake poll` and `--wake instant`) and the idle cost against the release binary
//! as a child process, runs the engine benches (`queue`, `cache`, `cable`) as subprocesses,
//! then prints one Markdown report and writes `target/bench/latest.json` and
//! `target/bench/latency-cdf.svg`.
//!
//! PostgreSQL beside SQLite (`postgres.rs`): one durable cluster on this machine,
//! the end-to-end run across two servers on it and the queue bench on it;
//! `BENCH_ONLY=postgres` runs those alone (writing `target/bench/postgres.json`).
//!
//! `BENCH_QUICK=1` (`make bench QUICK=1`) runs a ~1-minute subset. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a few-second smoke run of the pipeline alone.

#![allow(clippy::print_stdout, missing_docs)]

mod board_load;
mod dashboard;
mod hostile;
mod overhead;
mod pipeline;
mod postgres;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use pipeline::{BoxError, Run};

/// A goal: label, measured value (NaN when this run did not measure it), limit, unit,
/// and whether the value must stay at most (latency, memory) or reach at least
/// (throughput) the limit.
struct Goal {
    what: String,
    value: f64,
    limit: f64,
    unit: &'static str,
    at_least: bool,
}

impl Goal {
    /// A goal the value must not exceed.
    fn at_most(what: impl Into<String>, value: f64, limit: f64, unit: &'static str) -> Self {
        Goal {
            what: what.into(),
            value,
            limit,
            unit,
            at_least: false,
        }
    }

    /// A goal the value must reach.
    fn at_least(what: impl Into<String>, value: f64, limit: f64, unit: &'static str) -> Self {
        Goal {
            at_least: true,
            ..Goal::at_most(what, value, limit, unit)
        }
    }

    fn measured(&self) -> bool {
        !self.value.is_nan() && !self.limit.is_nan()
    }

    fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.limit
        } else {
            self.value <= self.limit
        }
    }

    fn verdict(&self) -> &'static str {
        match (self.measured(), self.met()) {
            (false, _) => "not measured in this mode",
            (true, true) => "met",
            (true, false) => "**NOT met**",
        }
    }

    fn json(&self) -> Value {
        let value = if self.measured() {
            json!(self.value)
        } else {
            Value::Null
        };
        let met = if self.measured() {
            json!(self.met())
        } else {
            Value::Null
        };
        json!({"goal": self.what, "value": value, "limit": self.limit, "unit": self.unit,
               "at_least": self.at_least, "met": met})
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Smoke,
    Quick,
    Full,
}

fn runs(mode: Mode) -> Vec<Run> {
    let mut out = Vec::new();
    // `BENCH_WAKE=instant` (or `poll`) measures one wake mode only.
    let only_wake = std::env::var("BENCH_WAKE").unwrap_or_default();
    for wake in ["poll", "instant"] {
        if !only_wake.is_empty() && only_wake != wake {
            continue;
        }
        let shapes: &[(usize, usize, u64)] = match mode {
            Mode::Smoke => &[(1, 3, 50)],
            Mode::Quick => &[(1, 40, 50), (100, 60, 50)],
            Mode::Full => &[(1, 200, 50), (100, 200, 50), (1000, 60, 100)],
        };
        for &(clients, changes, gap_ms) in shapes {
            out.push(Run {
                wake,
                clients,
                changes,
                gap: Duration::from_millis(gap_ms),
                seed: 0,
                metrics: false,
            });
        }
    }
    // Issue 16: the same change on a board of 100,000 todos.
    if mode != Mode::Smoke && only_wake != "poll" {
        out.push(Run {
            wake: "instant",
            clients: 100,
            changes: if mode == Mode::Full { 200 } else { 60 },
            gap: Duration::from_millis(50),
            seed: BIG_BOARD,
            metrics: false,
        });
    }
    out
}

/// Todos on the big board of issue 16's goals.
const BIG_BOARD: usize = 100_000;

/// The burst of issue 16: 1,000 changes a second on the big board (a short, small one in
/// the smoke run).
fn burst(mode: Mode) -> board_load::Burst {
    match mode {
        Mode::Smoke => board_load::Burst {
            seed: 1_000,
            rate: 100,
            length: Duration::from_millis(500),
        },
        Mode::Quick => board_load::Burst {
            seed: BIG_BOARD,
            rate: 1_000,
            length: Duration::from_secs(3),
        },
        Mode::Full => board_load::Burst {
            seed: BIG_BOARD,
            rate: 1_000,
            length: Duration::from_secs(10),
        },
    }
}

/// The newest built executable of bench target `name` beside this one (target/release/deps,
/// wherever `CARGO_TARGET_DIR` puts it) that was built from this checkout: a target dir
/// shared by several work trees holds their builds too.
fn bench_exe(name: &str) -> Option<PathBuf> {
    let deps = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let prefix = format!("{name}-");
    let mut found: Vec<_> = std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix) && !n.contains('.')
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort();
    let ours = support::CHECKOUT.as_bytes();
    found
        .into_iter()
        .rev()
        .map(|(_, p)| p)
        .find(|p| std::fs::read(p).is_ok_and(|bytes| bytes.windows(ours.len()).any(|w| w == ours)))
}

/// Runs engine bench `name` (`--bench`), returning its Markdown output and the figures it
/// wrote for the goal checks (`null` when it wrote none).
fn engine(name: &str, quick: bool) -> (String, Value) {
    engine_with(name, name, quick, &[])
}

/// As [`engine`], with the environment variables `vars` set too; `run` names the figures
/// file (`target/bench/<run>-figures.json`).
fn engine_with(name: &str, run: &str, quick: bool, vars: &[(&str, String)]) -> (String, Value) {
    let Some(exe) = bench_exe(name) else {
        let md = format!("_`{name}` bench not built (run `cargo bench --no-run` first)._\n");
        return (md, Value::Null);
    };
    let figures = support::out_dir().join(format!("{run}-figures.json"));
    let _ = std::fs::remove_file(&figures);
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--bench")
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env(support::FIGURES_ENV, &figures)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped());
    if quick {
        cmd.env("QUEUE_BENCH_QUICK", "1")
            .env("CACHE_BENCH_SCALE", "0.1")
            .env("CABLE_BENCH_MAX", "1000");
    }
    let md = match cmd.output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            // The error a failed bench returns from `main` is the last line of its stderr.
            let stderr = String::from_utf8_lossy(&o.stderr);
            let why = stderr.lines().last().unwrap_or("");
            format!(
                "_`{name}` bench failed ({}): {why}_\n\n{}",
                o.status,
                String::from_utf8_lossy(&o.stdout)
            )
        }
        Err(e) => format!("_`{name}` bench could not start: {e}_\n"),
    };
    let figures = std::fs::read_to_string(&figures)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (md, figures)
}

/// The goals of the engine issues (queue #3, cache #4, cable #5), from the figures the
/// engine benches wrote; a figure this run did not produce is reported as not measured.
fn engine_goals(figures: &serde_json::Map<String, Value>) -> Vec<Goal> {
    let get = |bench: &str, row: &str, field: &str| {
        figures
            .get(bench)
            .and_then(|b| b.get(row))
            .and_then(|r| r.get(field))
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    // Figures where more is better; every other goal is an upper bound.
    let mut goals = vec![
        Goal::at_least(
            "jobs end to end, 1 per call (10 submitters)",
            get("queue", "end_to_end_1_per_call", "jobs_per_s"),
            10_000.0,
            "jobs/s",
        ),
        Goal::at_least(
            "jobs end to end, batches of 100",
            get("queue", "end_to_end_batched", "jobs_per_s"),
            25_000.0,
            "jobs/s",
        ),
    ];
    // Queue latency: percentiles over the samples of all idle gaps (50 ms, 500 ms, 2 s).
    let upper: [(&str, &str, &str, &str, f64, &str); 18] = [
        (
            "enqueue→start, instant: p50 (all gaps)",
            "queue",
            "start_instant_all",
            "p50_ms",
            0.5,
            "ms",
        ),
        (
            "enqueue→start, instant: p99 (all gaps)",
            "queue",
            "start_instant_all",
            "p99_ms",
            2.0,
            "ms",
        ),
        (
            "enqueue→start, poll: p50 (all gaps)",
            "queue",
            "start_poll_all",
            "p50_ms",
            55.0,
            "ms",
        ),
        (
            "enqueue→start, poll: max (all gaps)",
            "queue",
            "start_poll_all",
            "max_ms",
            110.0,
            "ms",
        ),
        (
            "cache get p50, hot",
            "cache",
            "get hot (1k keys)",
            "p50_us",
            5.0,
            "µs",
        ),
        (
            "cache get p50, cold",
            "cache",
            "get cold (random of all keys)",
            "p50_us",
            5.0,
            "µs",
        ),
        (
            "cache set p50, hot",
            "cache",
            "set hot (overwrite 1k keys)",
            "p50_us",
            30.0,
            "µs",
        ),
        (
            "cache set p50, cold",
            "cache",
            "set cold (new keys)",
            "p50_us",
            30.0,
            "µs",
        ),
        (
            "cable fan-out to 1,000 sockets, instant: p95",
            "cable",
            "instant_1000",
            "p95_ms",
            20.0,
            "ms",
        ),
        (
            "cable fan-out to 10,000 sockets, instant: p95",
            "cable",
            "instant_10000",
            "p95_ms",
            250.0,
            "ms",
        ),
        (
            "server memory per idle subscribed socket (at 10,000)",
            "cable",
            "idle_socket_10000",
            "kb",
            20.0,
            "KB",
        ),
        (
            "server memory per idle subscribed socket (at 50,000)",
            "cable",
            "idle_50000",
            "kb",
            15.0,
            "KB",
        ),
        (
            "one broadcast to 50,000 idle sockets: p95 (worst of 3)",
            "cable",
            "idle_50000",
            "p95_ms",
            1500.0,
            "ms",
        ),
        (
            "1,000 non-reading sockets × 100 subscriptions: server RSS",
            "cable",
            "hostile_1000",
            "rss_mb",
            300.0,
            "MB",
        ),
        (
            "1,000 non-reading sockets × 100 subscriptions: honest p99",
            "cable",
            "hostile_1000",
            "honest_p99_ms",
            50.0,
            "ms",
        ),
        (
            "1,000 clients resuming after kill -9, 20 missed each: caught up p95",
            "cable",
            "resume_1000",
            "p95_ms",
            1000.0,
            "ms",
        ),
        (
            "fan-out to 1,000 sockets with offsets (extended protocol): p95 as % of plain",
            "cable",
            "ext_overhead_1000",
            "pct",
            105.0,
            "%",
        ),
        (
            "fan-out to 10,000 sockets with offsets (extended protocol): p95 as % of plain",
            "cable",
            "ext_overhead_10000",
            "pct",
            105.0,
            "%",
        ),
    ];
    for (what, bench, row, field, limit, unit) in upper {
        goals.push(Goal::at_most(what, get(bench, row, field), limit, unit));
    }
    goals
}

/// The metrics-overhead runs of `mode` (issue 17).
fn overhead_plan(mode: Mode) -> overhead::Plan {
    match mode {
        Mode::Smoke => overhead::Plan {
            job_rounds: 0,
            job_processes: 0,
            e2e_rounds: 1,
            clients: 1,
            changes: 3,
            quick: true,
        },
        Mode::Quick => overhead::Plan {
            job_rounds: 40,
            job_processes: 2,
            e2e_rounds: 1,
            clients: 100,
            changes: 60,
            quick: true,
        },
        Mode::Full => overhead::Plan {
            job_rounds: 400,
            job_processes: 8,
            e2e_rounds: 3,
            clients: 100,
            changes: 200,
            quick: false,
        },
    }
}

/// Progress ticks of a plan: one per queue round, one per change sent.
fn overhead_ticks(plan: &overhead::Plan) -> u64 {
    (plan.job_rounds + 2 * plan.e2e_rounds * plan.changes) as u64
}

/// Runs the metrics-overhead plan of `mode` (jobs/s only when the queue bench is built).
fn metrics_overhead(mode: Mode, bin: &Path, bar: &ProgressBar) -> Result<Value, BoxError> {
    bar.set_message("metrics overhead: with and without --metrics-bind");
    let queue_exe = if mode == Mode::Smoke {
        None
    } else {
        bench_exe("queue")
    };
    let tick = || bar.inc(1);
    overhead::measure(bin, queue_exe.as_deref(), &overhead_plan(mode), &tick)
}

/// The metrics-overhead goals. jobs/s with the recorder at least 98 % of without, judged on
/// the mean over processes: on this VM whole processes differ by about ±2 % whatever runs in
/// them, so an interval of about ±1.5 % is as fine as a report of this length gets, and it is
/// printed beside the verdict. The end-to-end latency with `--metrics-bind` no higher than
/// without, judged on the high end of its 95 % interval with 0.1 ms to spare (3 % of the
/// p50): paired changes 25 ms apart pin it to a few hundredths of a millisecond.
fn overhead_goals(o: &Value) -> Vec<Goal> {
    let j = &o["jobs_per_s"];
    let e = &o["end_to_end_ms"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    vec![
        Goal::at_least(
            format!(
                "jobs/s with the metrics recorder, as % of without: mean over {} processes of {} pairs of blocks (95 % interval {:.1}–{:.1} %)",
                o["job_processes"],
                o["job_rounds"],
                f(&j["ci95_percent"][0]),
                f(&j["ci95_percent"][1]),
            ),
            f(&j["with_percent_of_without"]),
            98.0,
            "%",
        ),
        Goal::at_most(
            format!(
                "end to end, a change's median with `--metrics-bind` minus without, {} subscribers, instant: high end of the 95 % interval (mean {:+.3} ms, {} pairs)",
                o["clients"],
                f(&e["p50_difference"]),
                o["e2e_pairs"],
            ),
            f(&e["p50_difference_ci95"][1]),
            0.1,
            "ms",
        ),
    ]
}

/// `BENCH_ONLY=metrics`: the metrics-overhead runs alone, with their goals.
fn metrics_only(mode: Mode, bin: &Path) -> Result<(), BoxError> {
    let bar = if mode == Mode::Smoke {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(overhead_ticks(&overhead_plan(mode)))
    };
    let o = metrics_overhead(mode, bin, &bar)?;
    bar.finish_and_clear();
    let goals = overhead_goals(&o);
    let path = support::out_dir().join("metrics-overhead.json");
    let report =
        json!({"metrics_overhead": o, "goals": goals.iter().map(Goal::json).collect::<Vec<_>>()});
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("# trifecta benchmark report (metrics overhead only)\n");
    print_goals(&goals);
    println!("\n{}", overhead::markdown(&o));
    println!("JSON: `{}`.", path.display());
    Ok(())
}

/// The end-to-end run on PostgreSQL of `mode`.
fn postgres_plan(mode: Mode) -> postgres::Plan {
    let (clients, changes) = match mode {
        Mode::Smoke => (2, 3),
        Mode::Quick => (100, 60),
        Mode::Full => (100, 200),
    };
    postgres::Plan {
        clients,
        changes,
        gap: Duration::from_millis(50),
    }
}

/// Progress ticks of the PostgreSQL part: one per change, 100 for the queue bench.
fn postgres_ticks(mode: Mode) -> u64 {
    postgres_plan(mode).changes as u64 + 100
}

/// What the PostgreSQL part measured.
struct PgPart {
    /// `{"settings", "end_to_end", "queue", "errors"}`.
    json: Value,
    /// The queue bench's table.
    queue_md: String,
    /// End-to-end samples (for the CDF).
    samples: support::Samples,
}

/// Runs the PostgreSQL part: a durable cluster, the end-to-end run across two
/// servers on it and the queue bench on it. A part that fails is reported as failed, with
/// the rest of the report intact.
fn postgres_part(mode: Mode, bin: &Path, bar: &ProgressBar) -> PgPart {
    let mut part = PgPart {
        json: json!({"errors": []}),
        queue_md: String::new(),
        samples: support::Samples::default(),
    };
    let mut errors = Vec::new();
    bar.set_message("PostgreSQL: starting a durable cluster");
    let pg = match postgres::Postgres::start() {
        Ok(pg) => pg,
        Err(e) => {
            part.json["errors"] = json!([format!("no PostgreSQL cluster: {e}")]);
            bar.inc(postgres_ticks(mode));
            return part;
        }
    };
    part.json["settings"] = pg.settings.clone();
    bar.set_message("PostgreSQL: end to end across two servers");
    let plan = postgres_plan(mode);
    let tick = || bar.inc(1);
    let e2e = tokio::runtime::Runtime::new()
        .map_err(pipeline::BoxError::from)
        .and_then(|rt| rt.block_on(postgres::end_to_end(bin, &pg, &plan, &tick)));
    match e2e {
        Ok((figures, samples)) => {
            part.json["end_to_end"] = figures;
            part.samples = samples;
        }
        Err(e) => errors.push(format!("end to end: {e}")),
    }
    bar.set_message("PostgreSQL: queue bench");
    let (md, figures) = engine_with(
        "queue",
        "queue-postgres",
        mode != Mode::Full,
        &[("QUEUE_BENCH_POSTGRES", pg.base_url())],
    );
    bar.inc(100);
    part.queue_md = md;
    part.json["queue"] = figures;
    part.json["errors"] = json!(errors);
    part
}

/// The goals on PostgreSQL.
fn postgres_goals(p: &Value) -> Vec<Goal> {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let q = &p["queue"];
    vec![
        Goal::at_most(
            "PostgreSQL: end to end across 2 servers, 100 subscribers, instant: p50",
            f(&p["end_to_end"]["end_to_end"]["p50"]),
            10.0,
            "ms",
        ),
        Goal::at_least(
            "PostgreSQL: jobs end to end, 1 per call (10 submitters)",
            f(&q["end_to_end_1_per_call"]["jobs_per_s"]),
            5_000.0,
            "jobs/s",
        ),
        Goal::at_least(
            "PostgreSQL: jobs end to end, batches of 100",
            f(&q["end_to_end_batched"]["jobs_per_s"]),
            20_000.0,
            "jobs/s",
        ),
        Goal::at_most(
            "PostgreSQL: enqueue→start, instant: p50 (all gaps)",
            f(&q["start_instant_all"]["p50_ms"]),
            5.0,
            "ms",
        ),
    ]
}

/// The PostgreSQL section: the setup, SQLite and PostgreSQL side by side (`sqlite` is the
/// SQLite end-to-end summary of 100 instant subscribers and the SQLite queue figures, `null`
/// when this run did not measure them), then each PostgreSQL table.
fn postgres_markdown(
    p: &Value,
    queue_md: &str,
    sqlite_label: &str,
    sqlite_e2e: &Value,
    sqlite_queue: &Value,
) -> String {
    let s = &p["settings"];
    let mut out = String::from("## PostgreSQL beside SQLite\n\n");
    if s.is_object() {
        out += &format!(
            "PostgreSQL {} on this machine, durable (`fsync` {}, `synchronous_commit` {}, \
             `full_page_writes` {}, `wal_sync_method` {}), `shared_buffers` {}; pools of {} \
             connections per store. SQLite: one server; PostgreSQL: two servers on one \
             database.\n\n",
            s["server_version"].as_str().unwrap_or("?"),
            s["fsync"].as_str().unwrap_or("?"),
            s["synchronous_commit"].as_str().unwrap_or("?"),
            s["full_page_writes"].as_str().unwrap_or("?"),
            s["wal_sync_method"].as_str().unwrap_or("?"),
            s["shared_buffers"].as_str().unwrap_or("?"),
            trifecta::config::DEFAULT_POOL,
        );
    }
    for e in p["errors"].as_array().into_iter().flatten() {
        out += &format!(
            "_PostgreSQL part failed: {}_\n\n",
            e.as_str().unwrap_or("?")
        );
    }
    let fig = |v: &Value, digits: usize| {
        v.as_f64()
            .map_or("–".to_owned(), |x| format!("{x:.digits$}"))
    };
    let three = |v: &Value| {
        format!(
            "{} / {} / {}",
            fig(&v["p50"], 2),
            fig(&v["p99"], 2),
            fig(&v["max"], 2)
        )
    };
    let rate = |q: &Value, row: &str| fig(&q[row]["jobs_per_s"], 0);
    let start = |q: &Value| {
        let r = &q["start_instant_all"];
        format!("{} / {}", fig(&r["p50_ms"], 3), fig(&r["p99_ms"], 3))
    };
    let pg_q = &p["queue"];
    out += &format!("| | {sqlite_label} | PostgreSQL |\n| --- | ---: | ---: |\n");
    out += &format!(
        "| end to end, 100 subscribers, instant: p50 / p99 / max (ms) | {} | {} |\n",
        three(sqlite_e2e),
        three(&p["end_to_end"]["end_to_end"])
    );
    for (what, row) in [
        (
            "enqueue, 1 job per call, 10 submitters (jobs/s)",
            "enqueue_1_per_call_10_submitters",
        ),
        ("enqueue, batches of 100 (jobs/s)", "enqueue_batched"),
        (
            "jobs end to end, 1 per call, 10 submitters (jobs/s)",
            "end_to_end_1_per_call",
        ),
        (
            "jobs end to end, batches of 100 (jobs/s)",
            "end_to_end_batched",
        ),
    ] {
        out += &format!(
            "| {what} | {} | {} |\n",
            rate(sqlite_queue, row),
            rate(pg_q, row)
        );
    }
    out += &format!(
        "| enqueue→start, instant, all gaps: p50 / p99 (ms) | {} | {} |\n\n",
        start(sqlite_queue),
        start(pg_q)
    );
    if p["end_to_end"].is_object() {
        out += &format!(
            "### End to end across two servers (ms)\n\n{}\n",
            postgres::markdown(&p["end_to_end"])
        );
    }
    if !queue_md.is_empty() {
        out += &format!("### Queue on PostgreSQL\n\n{queue_md}\n");
    }
    out
}

/// `BENCH_ONLY=postgres`: the PostgreSQL part alone, with its goals.
fn postgres_only(mode: Mode, bin: &Path) -> Result<(), BoxError> {
    let bar = if mode == Mode::Smoke {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(postgres_ticks(mode))
    };
    let part = postgres_part(mode, bin, &bar);
    bar.finish_and_clear();
    let goals = postgres_goals(&part.json);
    let path = support::out_dir().join("postgres.json");
    let report =
        json!({"postgres": part.json, "goals": goals.iter().map(Goal::json).collect::<Vec<_>>()});
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    // The SQLite column from the last full or quick report, if there is one.
    let last: Value = std::fs::read_to_string(support::out_dir().join("latest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let label = match last["mode"].as_str() {
        Some(m) => format!("SQLite (last report, {m} mode)"),
        None => "SQLite (no earlier report)".to_owned(),
    };
    println!("# trifecta benchmark report (PostgreSQL only)\n");
    print_goals(&goals);
    println!(
        "\n{}",
        postgres_markdown(
            &part.json,
            &part.queue_md,
            &label,
            &last["pipeline"]["instant"]["100"]["stages"]["end_to_end"],
            &last["engines"]["queue"],
        )
    );
    println!("JSON: `{}`.", path.display());
    Ok(())
}

fn ms(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn main() -> Result<(), BoxError> {
    let mode = if !std::env::args().any(|a| a == "--bench") {
        Mode::Smoke
    } else if std::env::var_os("BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0") {
        Mode::Quick
    } else {
        Mode::Full
    };
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_trifecta"));
    // 1,000 sockets on each side of loopback; the server child inherits the limit.
    let _ = rlimit::increase_nofile_limit(65_536);
    // `BENCH_ONLY=metrics` measures the cost of `--metrics-bind` alone.
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "metrics") {
        return metrics_only(mode, &bin);
    }
    // `BENCH_ONLY=dashboard` measures the operations dashboard alone.
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "dashboard") {
        return dashboard_only(mode, &bin);
    }
    // `BENCH_ONLY=postgres` measures the PostgreSQL part alone.
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "postgres") {
        return postgres_only(mode, &bin);
    }

    let runs = runs(mode);
    let idle_window = match mode {
        Mode::Smoke => Duration::from_secs(1),
        Mode::Quick => Duration::from_secs(10),
        Mode::Full => Duration::from_secs(30),
    };
    // `BENCH_ONLY=pipeline` skips the engine benches (for working on the pipeline).
    let pipeline_only = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "pipeline");
    let engines: &[&str] = if mode == Mode::Smoke || pipeline_only {
        &[]
    } else {
        &["queue", "cache", "cable", "web"]
    };
    // PostgreSQL beside SQLite, but not in the smoke run of `cargo test`.
    let with_postgres = mode != Mode::Smoke && !pipeline_only;
    let total = runs.iter().map(|r| r.changes as u64).sum::<u64>()
        + idle_window.as_secs()
        + 100 * engines.len() as u64
        + overhead_ticks(&overhead_plan(mode))
        + if with_postgres {
            postgres_ticks(mode)
        } else {
            0
        }
        + 1;
    let bar = if mode == Mode::Smoke {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent:>3}% {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );

    let began = std::time::Instant::now();
    bar.set_message("machine facts (fsync cost)");
    let machine = support::machine();
    bar.inc(1);

    let rt = tokio::runtime::Runtime::new()?;
    let mut results = Vec::new();
    for run in &runs {
        bar.set_message(format!(
            "pipeline --wake {} with {} clients",
            run.wake, run.clients
        ));
        let tick = || bar.inc(1);
        let outcome = rt.block_on(pipeline::pipeline(&bin, run, &tick))?;
        results.push(outcome);
    }
    let burst_run = burst(mode);
    bar.set_message(format!(
        "{} changes/s on a board of {} todos",
        burst_run.rate, burst_run.seed
    ));
    let burst = rt.block_on(board_load::burst(&bin, &burst_run))?;
    let (burst_size, loris) = match mode {
        Mode::Smoke => (20, 50),
        Mode::Quick => (100, 1_000),
        Mode::Full => (100, 5_000),
    };
    bar.set_message(format!("{burst_size} simultaneous wrong passwords"));
    let sign_in = rt.block_on(hostile::sign_in_burst(&bin, burst_size))?;
    bar.set_message(format!("{loris} slowloris connections"));
    let slowloris = rt.block_on(hostile::slowloris(&bin, loris))?;
    bar.set_message(format!("idle server for {} s", idle_window.as_secs()));
    let idle = rt.block_on(pipeline::idle(&bin, idle_window))?;
    bar.inc(idle_window.as_secs());
    let dashboard = match dashboard_rounds(mode) {
        0 => Value::Null,
        rounds => {
            bar.set_message("the operations dashboard on 1.1 M jobs");
            rt.block_on(dashboard::run(&bin, rounds))?
        }
    };
    drop(rt);

    let mut engine_md = serde_json::Map::new();
    let mut engine_figures = serde_json::Map::new();
    for name in engines {
        bar.set_message(format!("engine bench: {name}"));
        let (md, figures) = engine(name, mode != Mode::Full);
        engine_md.insert((*name).to_owned(), json!(md));
        engine_figures.insert((*name).to_owned(), figures);
        bar.inc(100);
    }
    let metrics_overhead = metrics_overhead(mode, &bin, &bar)?;
    let pg = with_postgres.then(|| postgres_part(mode, &bin, &bar));
    bar.finish_and_clear();

    // Goals (issue 10).
    let e2e_on = |wake: &str, clients: usize, seed: usize| {
        runs.iter()
            .zip(&results)
            .find(|(r, _)| r.wake == wake && r.clients == clients && r.seed == seed)
            .map(|(_, o)| o.end_to_end().summary_ms())
    };
    let e2e = |wake: &str, clients: usize| e2e_on(wake, clients, 0);
    let mut goals = Vec::new();
    let nan = json!({});
    let instant = e2e("instant", 100).unwrap_or_else(|| nan.clone());
    let poll = e2e("poll", 100).unwrap_or_else(|| nan.clone());
    for (what, source, field, limit, unit) in [
        (
            "end to end, 100 subscribers, instant: p50",
            &instant,
            "p50",
            2.0,
            "ms",
        ),
        (
            "end to end, 100 subscribers, instant: p99",
            &instant,
            "p99",
            10.0,
            "ms",
        ),
        (
            "end to end, 100 subscribers, poll: p50",
            &poll,
            "p50",
            110.0,
            "ms",
        ),
        (
            "end to end, 100 subscribers, poll: max",
            &poll,
            "max",
            220.0,
            "ms",
        ),
        ("idle server RSS", &idle, "rss_mb", 25.0, "MB"),
        ("idle server CPU", &idle, "cpu_percent", 0.5, "%"),
    ] {
        goals.push(Goal::at_most(what, ms(source, field), limit, unit));
    }
    let big = e2e_on("instant", 100, BIG_BOARD).unwrap_or_else(|| nan.clone());
    goals.push(Goal::at_most(
        "a change to 100 subscribers on 100,000 todos: p50",
        ms(&big, "p50"),
        20.0,
        "ms",
    ));
    if mode == Mode::Full {
        goals.push(Goal::at_most(
            "100 simultaneous wrong passwords from one address: password checks",
            ms(&sign_in, "password_checks"),
            10.0,
            "checks",
        ));
        let up_max = if slowloris["up_failed"] == 0 {
            ms(&slowloris["up"], "max")
        } else {
            f64::INFINITY
        };
        goals.push(Goal::at_most(
            "`/up` beside 5,000 slowloris connections: slowest of 50",
            up_max,
            100.0,
            "ms",
        ));
        goals.push(Goal::at_most(
            "backlog after 1,000 changes/s for 10 s: drained after the stop in",
            burst["drain_after_stop_ms"]
                .as_f64()
                .unwrap_or(f64::INFINITY),
            1000.0,
            "ms",
        ));
        goals.push(Goal::at_most(
            "cable file growth over that burst",
            ms(&burst, "cable_growth_mb"),
            10.0,
            "MB",
        ));
    }
    if !engines.is_empty() {
        goals.extend(engine_goals(&engine_figures));
    }
    goals.extend(dashboard_goals(&dashboard));
    goals.extend(overhead_goals(&metrics_overhead));
    if let Some(pg) = &pg {
        goals.extend(postgres_goals(&pg.json));
    }

    // JSON.
    let mut pipeline_json = serde_json::Map::new();
    for (run, outcome) in runs.iter().zip(&results) {
        let entry = pipeline_json
            .entry(run.wake.to_owned())
            .or_insert_with(|| json!({}));
        let key = if run.seed > 0 {
            format!("{}_on_{}_todos", run.clients, run.seed)
        } else {
            run.clients.to_string()
        };
        entry[key] = json!({
            "clients": run.clients,
            "changes": run.changes,
            "gap_ms": run.gap.as_millis() as u64,
            "stages": outcome.json(),
        });
    }
    let report = json!({
        "mode": match mode { Mode::Smoke => "smoke", Mode::Quick => "quick", Mode::Full => "full" },
        "machine": machine,
        "pipeline": pipeline_json,
        "idle": idle,
        "board_burst": burst,
        "sign_in_burst": sign_in,
        "slowloris": slowloris,
        "metrics_overhead": metrics_overhead,
        "dashboard": dashboard,
        "postgres": pg.as_ref().map(|p| p.json.clone()),
        "goals": goals.iter().map(Goal::json).collect::<Vec<_>>(),
        "engines_markdown": engine_md,
        "engines": engine_figures,
        "elapsed_s": began.elapsed().as_secs(),
    });
    let out = support::out_dir();
    let (json_path, svg_path) = if mode == Mode::Smoke {
        (out.join("smoke.json"), out.join("smoke-cdf.svg"))
    } else {
        (out.join("latest.json"), out.join("latency-cdf.svg"))
    };
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;

    // The CDF: end to end, every wake mode × client count.
    let labels: Vec<String> = runs
        .iter()
        .map(|r| match r.seed {
            0 => format!("{} · {} clients", r.wake, r.clients),
            n => format!("{} · {} clients · {n} todos", r.wake, r.clients),
        })
        .collect();
    let mut series: Vec<(&str, Vec<f64>)> = labels
        .iter()
        .zip(&results)
        .map(|(l, o)| (l.as_str(), thin(o.end_to_end().sorted_ms(), 400)))
        .collect();
    if let Some(pg) = pg.as_ref().filter(|p| !p.samples.0.is_empty()) {
        series.push((
            "PostgreSQL · instant · 100 clients · 2 servers",
            thin(pg.samples.sorted_ms(), 400),
        ));
    }
    std::fs::write(
        &svg_path,
        support::svg_cdf(
            "trifecta: todo created → frame received (end to end)",
            &series,
        ),
    )?;

    let pg_md = pg.as_ref().map(|p| {
        postgres_markdown(
            &p.json,
            &p.queue_md,
            "SQLite",
            &e2e("instant", 100).unwrap_or(Value::Null),
            &report["engines"]["queue"],
        )
    });
    print_markdown(
        &report,
        &runs,
        &results,
        &goals,
        &json_path,
        &svg_path,
        pg_md.as_deref(),
    );
    Ok(())
}

/// Requests per dashboard page and action (0: not run).
fn dashboard_rounds(mode: Mode) -> usize {
    match mode {
        Mode::Smoke => 0,
        Mode::Quick => 20,
        Mode::Full => 100,
    }
}

/// The dashboard's goal: every page and action answers in p95 ≤ 50 ms on the big file.
fn dashboard_goals(figures: &Value) -> Vec<Goal> {
    let Some(requests) = figures["requests"].as_object() else {
        return Vec::new();
    };
    requests
        .iter()
        .map(|(label, v)| {
            Goal::at_most(
                format!("dashboard on 1.1 M jobs, {label}: p95"),
                ms(v, "p95"),
                50.0,
                "ms",
            )
        })
        .collect()
}

/// The dashboard's Markdown table.
fn dashboard_markdown(figures: &Value) {
    let Some(requests) = figures["requests"].as_object() else {
        return;
    };
    println!("\n## Operations dashboard (ms)\n");
    println!(
        "A queue file of {} finished, {} failed, {} ready and {} scheduled jobs (seeded in {} s); \
         {} Inertia visits or actions each, one after another, as a site admin.\n",
        figures["seeded"]["finished"],
        figures["seeded"]["failed"],
        figures["seeded"]["ready"],
        figures["seeded"]["scheduled"],
        figures["seed_s"],
        figures["rounds"]
    );
    println!("| request | p50 | p95 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (label, v) in requests {
        println!(
            "| {label} | {} | {} | {} | {} |",
            v["p50"], v["p95"], v["p99"], v["max"]
        );
    }
}

/// `BENCH_ONLY=dashboard`: the dashboard bench alone, its goals and table on stdout, its
/// figures in `target/bench/dashboard.json`.
fn dashboard_only(mode: Mode, bin: &Path) -> Result<(), BoxError> {
    let rounds = dashboard_rounds(mode).max(5);
    let figures = tokio::runtime::Runtime::new()?.block_on(dashboard::run(bin, rounds))?;
    std::fs::write(
        support::out_dir().join("dashboard.json"),
        serde_json::to_string_pretty(&figures)?,
    )?;
    print_goals(&dashboard_goals(&figures));
    dashboard_markdown(&figures);
    Ok(())
}

/// At most `n` evenly spaced quantiles of sorted `v` (keeps the SVG small), always the max.
fn thin(v: Vec<f64>, n: usize) -> Vec<f64> {
    if v.len() <= n {
        return v;
    }
    (1..=n).map(|i| v[i * v.len() / n - 1]).collect()
}

fn print_markdown(
    report: &Value,
    runs: &[Run],
    results: &[pipeline::Outcome],
    goals: &[Goal],
    json_path: &Path,
    svg_path: &Path,
    postgres: Option<&str>,
) {
    let m = &report["machine"];
    println!(
        "# trifecta benchmark report ({} mode)\n",
        report["mode"].as_str().unwrap_or("")
    );
    println!(
        "Machine: {}, {} cores, Linux {}, SQLite {}; fsync of 4 KiB p50 {} µs, p99 {} µs.\n",
        m["cpu_model"].as_str().unwrap_or("?"),
        m["cores"],
        m["kernel"].as_str().unwrap_or("?"),
        m["sqlite_version"].as_str().unwrap_or("?"),
        m["fsync"]["p50"],
        m["fsync"]["p99"],
    );
    print_goals(goals);
    println!("\n## End-to-end pipeline (ms)\n");
    println!(
        "Open-loop todo creations over HTTP; every subscribed client must receive each change. \
         Stages from the queue and cable databases (job start time is not stored, so \
         `enqueued → broadcast` includes the claim).\n"
    );
    println!("| wake | clients | todos before | changes | stage | count | p50 | p95 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for (run, outcome) in runs.iter().zip(results) {
        // A stage without samples (the per-stage split when jobs coalesced) is left out.
        for (name, s) in outcome.stages.iter().filter(|(_, s)| !s.0.is_empty()) {
            let v = s.summary_ms();
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                run.wake,
                run.clients,
                run.seed,
                run.changes,
                name.replace('_', " "),
                v["count"],
                v["p50"],
                v["p95"],
                v["p99"],
                v["max"]
            );
        }
        if outcome.missing > 0 {
            println!(
                "| {} | {} | {} | {} | **frames never received** | {} | | | | |",
                run.wake, run.clients, run.seed, run.changes, outcome.missing
            );
        }
    }
    let b = &report["board_burst"];
    println!(
        "\n## Board burst\n\n{} changes at {}/s on a board of {} todos, one subscriber: \
         HTTP p50 {} ms, p99 {} ms, {} failed; {} broadcast jobs, {} frames; backlog drained \
         {} ms after the last response; cable file grew {} MB.",
        b["changes"],
        b["rate_per_s"],
        b["seed"],
        b["http"]["p50"],
        b["http"]["p99"],
        b["failed"],
        b["broadcast_jobs"],
        b["frames_received"],
        b["drain_after_stop_ms"],
        b["cable_growth_mb"],
    );
    let (si, sl) = (&report["sign_in_burst"], &report["slowloris"]);
    println!(
        "\n## Hostile load\n\n{} simultaneous wrong passwords from one address: {} reached a \
         password check, {} were refused (429), {} failed; {} ms in all. With {} slowloris \
         connections open ({} could not open): `GET /up` p50 {} ms, max {} ms, {} failed.",
        si["burst"],
        si["password_checks"],
        si["refused"],
        si["errors"],
        si["took_ms"],
        sl["connections"],
        sl["could_not_open"],
        sl["up"]["p50"],
        sl["up"]["max"],
        sl["up_failed"],
    );
    let idle = &report["idle"];
    println!(
        "\n## Idle server\n\nOver {} s with all pollers running: RSS {} MB, CPU {} % of one core.\n",
        idle["window_s"], idle["rss_mb"], idle["cpu_percent"]
    );
    println!("{}", overhead::markdown(&report["metrics_overhead"]));
    dashboard_markdown(&report["dashboard"]);
    if let Some(md) = postgres {
        println!("{md}");
    }
    if let Some(engines) = report["engines_markdown"].as_object() {
        for (name, md) in engines {
            println!("## Engine bench: {name}\n\n{}\n", md.as_str().unwrap_or(""));
        }
    }
    println!(
        "Run took {} s. JSON: `{}`; latency CDF: `{}`.",
        report["elapsed_s"],
        json_path.display(),
        svg_path.display()
    );
}

/// The goals table, each marked met or **NOT met**.
fn print_goals(goals: &[Goal]) {
    println!("## Goals\n");
    println!("| goal | measured | limit | |\n| --- | ---: | ---: | --- |");
    for g in goals {
        let value = if g.measured() {
            format!("{:.2} {}", g.value, g.unit)
        } else {
            "–".to_owned()
        };
        let limit = if g.limit.is_finite() {
            g.limit.to_string()
        } else {
            "–".to_owned()
        };
        println!(
            "| {} | {value} | {} {limit} {} | {} |",
            g.what,
            if g.at_least { "≥" } else { "≤" },
            g.unit,
            g.verdict()
        );
    }
}
