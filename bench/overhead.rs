//! The cost of `--metrics-bind` on the hot paths: jobs/s of the queue's end-to-end run (1 job
//! per call, 10 submitters) with and without the Prometheus recorder installed, and the
//! end-to-end latency of the pipeline (100 subscribers, instant wake) with and without the
//! flag, its `/metrics` scraped every second.
//!
//! The two sides run in pairs, one right after the other (and which goes first alternates),
//! and the comparison is made within each pair: on a shared machine the rounds drift by more
//! than the effect (jobs/s spread ±7 % between rounds), but both runs of a pair see the same
//! drift. The overhead is the mean over pairs (of log-ratios for jobs/s, of differences for
//! the p50), with a 95 % bootstrap interval that says how precisely it is known.

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
    let mut job_ratios = Vec::new();
    if let Some(exe) = queue_exe {
        for round in 0..plan.job_rounds {
            let mut pair = [None, None];
            for metrics in order(round) {
                pair[usize::from(metrics)] = jobs_per_s(exe, metrics, plan.quick);
                tick();
            }
            if let [Some(off), Some(on)] = pair {
                without.push(off);
                with.push(on);
                job_ratios.push((on / off).ln());
            }
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let (mut e2e_without, mut e2e_with) = (Samples::default(), Samples::default());
    let mut p50_diffs = Vec::new();
    for round in 0..plan.e2e_rounds {
        let mut p50 = [0.0; 2];
        for metrics in order(round) {
            let run = Run {
                wake: "instant",
                clients: plan.clients,
                changes: plan.changes,
                gap: Duration::from_millis(50),
                seed: 0,
                metrics,
            };
            let outcome = rt.block_on(pipeline::pipeline(bin, &run, tick))?;
            let samples = Samples(outcome.end_to_end().0);
            p50[usize::from(metrics)] = samples.quantile(0.5).as_secs_f64() * 1e3;
            let side = if metrics {
                &mut e2e_with
            } else {
                &mut e2e_without
            };
            side.0.extend(samples.0);
        }
        p50_diffs.push(p50[1] - p50[0]);
    }
    let ratio = Estimate::of(&job_ratios);
    let percent = |log_ratio: f64| finite(log_ratio.exp() * 100.0);
    let diff = Estimate::of(&p50_diffs);
    Ok(json!({
        "job_rounds": plan.job_rounds,
        "e2e_rounds": plan.e2e_rounds,
        "clients": plan.clients,
        "changes_per_run": plan.changes,
        "jobs_per_s": {
            "without": finite(median(&without)),
            "with": finite(median(&with)),
            "with_percent_of_without": percent(ratio.mean),
            "ci95_percent": [percent(ratio.low), percent(ratio.high)],
            "runs_without": without,
            "runs_with": with,
        },
        "end_to_end_ms": {
            "without": e2e_without.summary_ms(),
            "with": e2e_with.summary_ms(),
            "p50_difference": finite(diff.mean),
            "p50_difference_ci95": [finite(diff.low), finite(diff.high)],
            "p50_differences": p50_diffs,
        },
    }))
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
    let e = &o["end_to_end_ms"];
    let (ew, em) = (&e["without"], &e["with"]);
    let fig = |v: &Value, digits: usize| {
        v.as_f64()
            .map_or("–".to_owned(), |x| format!("{x:.digits$}"))
    };
    let signed = |v: &Value| v.as_f64().map_or("–".to_owned(), |x| format!("{x:+.3}"));
    format!(
        "## Metrics overhead\n\n\
         `--metrics-bind` against none, in pairs run back to back: {} pairs of the queue's \
         end-to-end run (1 job per call, 10 submitters; with the Prometheus recorder installed \
         and rendered every second), {} pairs of the pipeline ({} subscribers, {} changes, \
         instant wake; `/metrics` scraped every second). Each pair is compared within itself; \
         the intervals are 95 % bootstrap intervals of the mean over pairs.\n\n\
         | | without | with `--metrics-bind` | with, paired |\n| --- | ---: | ---: | ---: |\n\
         | jobs/s (median of runs) | {} | {} | {} % of without ({}–{} %) |\n\
         | end to end p50 (ms) | {} | {} | {} ms ({}…{}) |\n\
         | end to end p99 (ms) | {} | {} | |\n\
         | end to end samples | {} | {} | |\n\n\
         jobs/s runs without: {}; with: {}. p50 differences per pair (ms): {}.\n",
        o["job_rounds"],
        o["e2e_rounds"],
        o["clients"],
        o["changes_per_run"],
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
        j["runs_without"],
        j["runs_with"],
        e["p50_differences"],
    )
}
