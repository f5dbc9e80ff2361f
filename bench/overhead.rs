//! The cost of `--metrics-bind` on the hot paths (issue 17): jobs/s of the queue's end-to-end
//! run (1 job per call, 10 submitters) with and without the Prometheus recorder installed,
//! and the end-to-end latency of the pipeline (100 subscribers, instant wake) with and
//! without the flag, its `/metrics` scraped every second. Rounds alternate the two sides
//! (and which goes first), so the drift of a shared machine falls on both; a side's jobs/s
//! is the median of its rounds, its p50 that of its pooled samples.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::pipeline::{self, BoxError, Run};
use crate::support::{self, Samples};

/// How much to measure.
pub struct Plan {
    /// Alternating rounds of the queue bench (each side once per round); 0 skips jobs/s.
    pub job_rounds: usize,
    /// Alternating rounds of the pipeline.
    pub e2e_rounds: usize,
    /// Subscribed clients of a pipeline run.
    pub clients: usize,
    /// Todo creations of a pipeline run.
    pub changes: usize,
    /// Whether the queue bench runs at a tenth of its size.
    pub quick: bool,
}

/// Runs the plan; `queue_exe` is the built queue bench (jobs/s are not measured without it).
///
/// # Errors
/// A pipeline run that failed.
pub fn measure(
    bin: &Path,
    queue_exe: Option<&Path>,
    plan: &Plan,
    tick: &(dyn Fn() + Sync),
) -> Result<Value, BoxError> {
    let (mut without, mut with) = (Vec::new(), Vec::new());
    if let Some(exe) = queue_exe {
        for round in 0..plan.job_rounds {
            for metrics in order(round) {
                if let Some(rate) = jobs_per_s(exe, metrics, plan.quick) {
                    if metrics { &mut with } else { &mut without }.push(rate);
                }
                tick();
            }
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let (mut e2e_without, mut e2e_with) = (Samples::default(), Samples::default());
    for round in 0..plan.e2e_rounds {
        for metrics in order(round) {
            let side = if metrics {
                &mut e2e_with
            } else {
                &mut e2e_without
            };
            let run = Run {
                wake: "instant",
                clients: plan.clients,
                changes: plan.changes,
                gap: Duration::from_millis(50),
                seed: 0,
                metrics,
            };
            let outcome = rt.block_on(pipeline::pipeline(bin, &run, tick))?;
            side.0.extend(outcome.end_to_end().0);
        }
    }
    let (jw, jm) = (median(&without), median(&with));
    Ok(json!({
        "job_rounds": plan.job_rounds,
        "e2e_rounds": plan.e2e_rounds,
        "clients": plan.clients,
        "changes_per_run": plan.changes,
        "jobs_per_s": {
            "without": finite(jw),
            "with": finite(jm),
            "with_percent_of_without": finite(jm / jw * 100.0),
            "runs_without": without,
            "runs_with": with,
        },
        "end_to_end_ms": {
            "without": e2e_without.summary_ms(),
            "with": e2e_with.summary_ms(),
        },
    }))
}

/// One run of the queue bench's end-to-end row (`QUEUE_BENCH_ONLY=end_to_end`), with the
/// recorder when `metrics`; `None` when it failed.
fn jobs_per_s(exe: &Path, metrics: bool, quick: bool) -> Option<f64> {
    let figures = support::out_dir().join(format!("overhead-queue-{metrics}.json"));
    let _ = std::fs::remove_file(&figures);
    let mut cmd = Command::new(exe);
    cmd.arg("--bench")
        .env("QUEUE_BENCH_ONLY", "end_to_end")
        .env("QUEUE_BENCH_METRICS", if metrics { "1" } else { "0" })
        .env(support::FIGURES_ENV, &figures)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if quick {
        cmd.env("QUEUE_BENCH_QUICK", "1");
    }
    if !cmd.status().ok()?.success() {
        return None;
    }
    let text = std::fs::read_to_string(&figures).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["end_to_end_1_per_call"]["jobs_per_s"].as_f64()
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
    let (ew, em) = (&o["end_to_end_ms"]["without"], &o["end_to_end_ms"]["with"]);
    let fig = |v: &Value| v.as_f64().map_or("–".to_owned(), |x| format!("{x:.0}"));
    format!(
        "## Metrics overhead\n\n\
         `--metrics-bind` against none, alternating: {} rounds of the queue's end-to-end run \
         (1 job per call, 10 submitters; with the Prometheus recorder installed and rendered \
         every second), {} rounds of the pipeline ({} subscribers, {} changes, instant wake; \
         `/metrics` scraped every second).\n\n\
         | | without | with `--metrics-bind` |\n| --- | ---: | ---: |\n\
         | jobs/s (median of rounds) | {} | {} |\n\
         | end to end p50 (ms) | {} | {} |\n\
         | end to end p99 (ms) | {} | {} |\n\
         | end to end samples | {} | {} |\n\n\
         jobs/s rounds without: {}; with: {}.\n",
        o["job_rounds"],
        o["e2e_rounds"],
        o["clients"],
        o["changes_per_run"],
        fig(&j["without"]),
        fig(&j["with"]),
        ew["p50"],
        em["p50"],
        ew["p99"],
        em["p99"],
        ew["count"],
        em["count"],
        j["runs_without"],
        j["runs_with"],
    )
}
