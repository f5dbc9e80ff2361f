//! The cost of `--metrics-bind` on the hot paths, each side measured against the other in
//! pairs close together in time: on a shared VM the machine drifts by more than the effect
//! (separate runs of the same build spread ±7 % in jobs/s), but the two halves of a pair see
//! the same drift.
//!
//! - **jobs/s**: the queue bench's `interleaved` mode runs, in one process, a queue whose
//!   metric handles are no-ops and one whose handles record into the Prometheus recorder,
//!   alternating blocks of 5,000 jobs (1 per call, 10 submitters) between them. Processes
//!   differ from each other by more than blocks do, so several run, which queue is built
//!   first alternating, and the interval resamples processes.
//! - **end to end**: two servers run at once, one with `--metrics-bind` (its `/metrics`
//!   scraped every second) and one without, each with its own subscribers; todo changes
//!   alternate between them, so each change on one has a partner on the other 25 ms away.
//!
//! The overhead is a mean (of log-ratios for jobs/s, of differences of a change's median
//! latency for end to end), with a 95 % bootstrap interval.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::pipeline::{self, BoxError, Received, Server};
use crate::support::{self, Samples};

/// How much to measure.
pub struct Plan {
    /// Pairs of 5,000-job blocks (500 with `quick`) in all; 0 skips jobs/s.
    pub job_rounds: usize,
    /// Processes the pairs of blocks are spread over.
    pub job_processes: usize,
    /// Paired pipeline runs, each on two fresh servers.
    pub e2e_rounds: usize,
    /// Subscribed clients of each server.
    pub clients: usize,
    /// Todo creations on each server per run.
    pub changes: usize,
    /// Whether the queue blocks are a tenth of their size.
    pub quick: bool,
}

/// Runs the plan; `queue_exe` is the built queue bench (jobs/s are not measured without it).
/// `tick` is called once per queue round and once per change sent.
///
/// # Errors
/// A pipeline run or the queue bench failed.
pub fn measure(
    bin: &Path,
    queue_exe: Option<&Path>,
    plan: &Plan,
    tick: &(dyn Fn() + Sync),
) -> Result<Value, BoxError> {
    let processes = match queue_exe {
        Some(exe) if plan.job_rounds > 0 => interleaved_jobs(exe, plan)?,
        _ => Vec::new(),
    };
    for _ in 0..plan.job_rounds {
        tick();
    }
    // Per process, the mean log-ratio of its pairs of blocks; the interval resamples
    // processes, the unit that varies most.
    let per_process: Vec<f64> = processes
        .iter()
        .map(|p| {
            let r: Vec<f64> = p
                .without
                .iter()
                .zip(&p.with)
                .map(|(off, on)| (on / off).ln())
                .collect();
            r.iter().sum::<f64>() / r.len().max(1) as f64
        })
        .filter(|m| m.is_finite())
        .collect();
    let without: Vec<f64> = processes
        .iter()
        .flat_map(|p| p.without.iter().copied())
        .collect();
    let with: Vec<f64> = processes
        .iter()
        .flat_map(|p| p.with.iter().copied())
        .collect();
    let rt = tokio::runtime::Runtime::new()?;
    let (mut e2e_without, mut e2e_with) = (Samples::default(), Samples::default());
    let mut diffs = Vec::new();
    for round in 0..plan.e2e_rounds {
        let pair = rt.block_on(paired_pipeline(bin, plan, round, tick))?;
        for (off, on) in pair.without.iter().zip(&pair.with) {
            if !off.0.is_empty() && !on.0.is_empty() {
                let median_ms = |s: &Samples| s.quantile(0.5).as_secs_f64() * 1e3;
                diffs.push(median_ms(on) - median_ms(off));
            }
        }
        e2e_without
            .0
            .extend(pair.without.into_iter().flat_map(|s| s.0));
        e2e_with.0.extend(pair.with.into_iter().flat_map(|s| s.0));
    }
    let ratio = Estimate::of(&per_process);
    let percent = |log_ratio: f64| finite(log_ratio.exp() * 100.0);
    let diff = Estimate::of(&diffs);
    Ok(json!({
        "job_rounds": without.len().min(with.len()),
        "job_processes": per_process.len(),
        "job_block": if plan.quick { 500 } else { 5_000 },
        "e2e_rounds": plan.e2e_rounds,
        "e2e_pairs": diffs.len(),
        "clients": plan.clients,
        "changes_per_run": plan.changes,
        "jobs_per_s": {
            "without": finite(median(&without)),
            "with": finite(median(&with)),
            "with_percent_of_without": percent(ratio.mean),
            "ci95_percent": [percent(ratio.low), percent(ratio.high)],
            "per_process_percent": per_process.iter().map(|m| m.exp() * 100.0).collect::<Vec<_>>(),
        },
        "end_to_end_ms": {
            "without": e2e_without.summary_ms(),
            "with": e2e_with.summary_ms(),
            "p50_difference": finite(diff.mean),
            "p50_difference_ci95": [finite(diff.low), finite(diff.high)],
        },
    }))
}

/// Jobs/s of one interleaved process: each block without and with the recorder.
struct Blocks {
    without: Vec<f64>,
    with: Vec<f64>,
}

/// The queue bench's `interleaved` mode in `plan.job_processes` processes, which queue is
/// built first alternating between them: processes differ from each other by more than
/// their blocks do (±2 % here, whatever is built first), so the overhead is averaged over
/// processes too.
fn interleaved_jobs(exe: &Path, plan: &Plan) -> Result<Vec<Blocks>, BoxError> {
    let processes = plan.job_processes.max(1);
    let mut out = Vec::with_capacity(processes);
    for p in 0..processes {
        let first = if p % 2 == 0 { "without" } else { "with" };
        let figures = support::out_dir().join(format!("overhead-queue-{p}.json"));
        let _ = std::fs::remove_file(&figures);
        let mut cmd = Command::new(exe);
        cmd.arg("--bench")
            .env("QUEUE_BENCH_ONLY", "interleaved")
            .env("QUEUE_BENCH_FIRST", first)
            .env(
                "QUEUE_BENCH_ROUNDS",
                plan.job_rounds.div_ceil(processes).to_string(),
            )
            .env(support::FIGURES_ENV, &figures)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if plan.quick {
            cmd.env("QUEUE_BENCH_QUICK", "1");
        }
        let status = cmd.status()?;
        if !status.success() {
            return Err(format!("the queue bench's interleaved run failed: {status}").into());
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&figures)?)?;
        let side = |name: &str| -> Vec<f64> {
            v["interleaved"][name]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        out.push(Blocks {
            without: side("without"),
            with: side("with"),
        });
    }
    Ok(out)
}

/// Per change, the end-to-end latency to each subscriber that received it.
struct Paired {
    without: Vec<Samples>,
    with: Vec<Samples>,
}

/// One server of a paired run, its signed-in client and its subscribers.
struct Side {
    server: Server,
    client: reqwest::Client,
    xsrf: String,
    frames: mpsc::UnboundedReceiver<(usize, u64, i64)>,
    got: Received,
    sends: Vec<JoinHandle<Result<i64, String>>>,
    scraper: Option<JoinHandle<()>>,
}

impl Side {
    async fn start(bin: &Path, metrics: bool, plan: &Plan) -> Result<Side, BoxError> {
        let server = Server::start_with(bin, "instant", metrics).await?;
        let scraper = server
            .metrics
            .map(|at| pipeline::scrape_every(at, Duration::from_secs(1)));
        let (client, xsrf, session) = pipeline::sign_up(server.addr).await?;
        let (tx, frames) = mpsc::unbounded_channel();
        for i in 0..plan.clients {
            pipeline::subscribe(server.addr, i, &session, tx.clone()).await?;
        }
        Ok(Side {
            server,
            client,
            xsrf,
            frames,
            got: Received::new(plan.clients, plan.changes),
            sends: Vec::with_capacity(plan.changes),
            scraper,
        })
    }

    /// Sends change `k` (titled `bench-<k+1>`) without waiting for it.
    fn post(&mut self, k: usize) {
        while let Ok(ev) = self.frames.try_recv() {
            self.got.record(ev);
        }
        let (client, xsrf, addr) = (self.client.clone(), self.xsrf.clone(), self.server.addr);
        self.sends.push(tokio::spawn(async move {
            let sent = pipeline::now_us();
            match pipeline::post_todo(&client, addr, &xsrf, &format!("bench-{}", k + 1)).await {
                Ok(r) if r.status().is_success() || r.status().is_redirection() => Ok(sent),
                Ok(r) => Err(format!("POST /todos: {}", r.status())),
                Err(e) => Err(format!("POST /todos: {e}")),
            }
        }));
    }

    /// Waits for the sends and (up to `deadline`) the frames, stops the server and returns
    /// each change's latencies.
    async fn finish(mut self, deadline: tokio::time::Instant) -> Result<Vec<Samples>, BoxError> {
        let mut sent = Vec::with_capacity(self.sends.len());
        for s in self.sends.drain(..) {
            sent.push(s.await??);
        }
        while !self.got.complete() {
            match tokio::time::timeout_at(deadline, self.frames.recv()).await {
                Ok(Some(ev)) => self.got.record(ev),
                _ => break,
            }
        }
        if let Some(scraper) = self.scraper {
            scraper.abort();
        }
        self.server.stop().await;
        Ok(sent
            .iter()
            .enumerate()
            .map(|(k, req)| {
                Samples(
                    self.got
                        .at
                        .iter()
                        .filter_map(|c| c[k])
                        .map(|t| Duration::from_micros((t - req).max(0) as u64))
                        .collect(),
                )
            })
            .collect())
    }
}

/// One paired run: both servers up, changes alternating between them every 25 ms, the side
/// that goes first in a pair alternating too.
async fn paired_pipeline(
    bin: &Path,
    plan: &Plan,
    round: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Paired, BoxError> {
    let mut sides = [
        Side::start(bin, false, plan).await?,
        Side::start(bin, true, plan).await?,
    ];
    let gap = Duration::from_millis(25);
    let start = tokio::time::Instant::now();
    for k in 0..plan.changes {
        for (slot, metrics) in order(round + k).into_iter().enumerate() {
            tokio::time::sleep_until(start + gap * (2 * k + slot) as u32).await;
            sides[usize::from(metrics)].post(k);
            tick();
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let [off, on] = sides;
    let without = off.finish(deadline).await?;
    let with = on.finish(deadline).await?;
    Ok(Paired { without, with })
}

/// The mean of paired measurements and its 95 % percentile-bootstrap interval.
struct Estimate {
    mean: f64,
    low: f64,
    high: f64,
}

impl Estimate {
    /// Resamples `v` with replacement 10,000 times (a fixed seed, so a report can be
    /// recomputed from its JSON); NaN for an empty `v`.
    fn of(v: &[f64]) -> Estimate {
        if v.is_empty() {
            return Estimate {
                mean: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
            };
        }
        let mean = |xs: &mut dyn Iterator<Item = f64>| xs.sum::<f64>() / v.len() as f64;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut means: Vec<f64> = (0..10_000)
            .map(|_| {
                mean(&mut (0..v.len()).map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    v[(seed >> 33) as usize % v.len()]
                }))
            })
            .collect();
        means.sort_by(f64::total_cmp);
        Estimate {
            mean: mean(&mut v.iter().copied()),
            low: means[249],
            high: means[9_749],
        }
    }
}

/// Which side runs first in `round`: they take turns, so neither is always the one that
/// runs just after the other.
fn order(round: usize) -> [bool; 2] {
    if round.is_multiple_of(2) {
        [false, true]
    } else {
        [true, false]
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `null` for a figure that was not measured.
fn finite(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

/// The Markdown section of the report.
pub fn markdown(o: &Value) -> String {
    let j = &o["jobs_per_s"];
    let e = &o["end_to_end_ms"];
    let (ew, em) = (&e["without"], &e["with"]);
    let fig = |v: &Value, digits: usize| {
        v.as_f64()
            .map_or("–".to_owned(), |x| format!("{x:.digits$}"))
    };
    let signed = |v: &Value| v.as_f64().map_or("–".to_owned(), |x| format!("{x:+.3}"));
    format!(
        "## Metrics overhead\n\n\
         `--metrics-bind` against none, in pairs close together in time. jobs/s: {} pairs of \
         {}-job blocks (1 job per call, 10 submitters) in {} processes, each alternating \
         between a queue without the Prometheus recorder and one with it (rendered every \
         second); the mean is over processes (per process: {} % of without). End \
         to end: {} runs of two servers at once, one with `--metrics-bind` (`/metrics` scraped \
         every second) and one without, {} subscribers and {} changes each, the changes \
         alternating between them 25 ms apart ({} pairs of changes). Each pair is compared \
         within itself; the intervals are 95 % bootstrap intervals of the mean over pairs.\n\n\
         | | without | with `--metrics-bind` | with, paired |\n| --- | ---: | ---: | ---: |\n\
         | jobs/s (median of blocks) | {} | {} | {} % of without ({}–{} %) |\n\
         | end to end p50 (ms) | {} | {} | a change's median {} ms ({}…{}) |\n\
         | end to end p99 (ms) | {} | {} | |\n\
         | end to end samples | {} | {} | |\n",
        o["job_rounds"],
        o["job_block"],
        o["job_processes"],
        j["per_process_percent"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_f64)
                    .map(|x| format!("{x:.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        o["e2e_rounds"],
        o["clients"],
        o["changes_per_run"],
        o["e2e_pairs"],
        fig(&j["without"], 0),
        fig(&j["with"], 0),
        fig(&j["with_percent_of_without"], 1),
        fig(&j["ci95_percent"][0], 1),
        fig(&j["ci95_percent"][1], 1),
        ew["p50"],
        em["p50"],
        signed(&e["p50_difference"]),
        signed(&e["p50_difference_ci95"][0]),
        signed(&e["p50_difference_ci95"][1]),
        ew["p99"],
        em["p99"],
        ew["count"],
        em["count"],
    )
}
