//! Shared by every benchmark under `bench/`: latency statistics, machine facts, the JSON
//! report in `target/bench/`, an SVG latency CDF, and the `/cable` client ([`ws`]).

#![allow(dead_code)]

pub mod ws;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Latency samples of one measurement.
#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    /// Adds one sample.
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// The `q` quantile (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.0.clone();
        v.sort_unstable();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    /// `{count, p50, p95, p99, max, mean}` in milliseconds.
    pub fn summary_ms(&self) -> Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        let mean = if self.0.is_empty() {
            Duration::ZERO
        } else {
            self.0.iter().sum::<Duration>() / self.0.len() as u32
        };
        json!({
            "count": self.0.len(),
            "p50": ms(self.quantile(0.50)),
            "p95": ms(self.quantile(0.95)),
            "p99": ms(self.quantile(0.99)),
            "max": ms(self.quantile(1.0)),
            "mean": ms(mean),
        })
    }

    /// `{count, p50, p95, p99, max}` in microseconds.
    pub fn summary_us(&self) -> Value {
        let us = |d: Duration| (d.as_secs_f64() * 1e7).round() / 10.0;
        json!({
            "count": self.0.len(),
            "p50": us(self.quantile(0.50)),
            "p95": us(self.quantile(0.95)),
            "p99": us(self.quantile(0.99)),
            "max": us(self.quantile(1.0)),
        })
    }

    /// The samples in milliseconds, sorted (for CDFs).
    pub fn sorted_ms(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// Facts about this machine that every report carries.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    json!({
        "cpu_model": cpu,
        "cores": cores,
        "kernel": kernel,
        "sqlite_version": rusqlite::version(),
        "fsync": fsync_cost(),
    })
}

/// Median and p99 of a 4 KiB append + fsync in the temp dir, in microseconds.
pub fn fsync_cost() -> Value {
    let Ok(dir) = tempfile::tempdir() else {
        return Value::Null;
    };
    let Ok(mut file) = std::fs::File::create(dir.path().join("fsync.bin")) else {
        return Value::Null;
    };
    let block = [0x5au8; 4096];
    let mut samples = Samples::default();
    for _ in 0..200 {
        let start = Instant::now();
        if file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_err()
        {
            return Value::Null;
        }
        samples.push(start.elapsed());
    }
    samples.summary_us()
}

/// Where an engine bench writes its headline figures (JSON) for the report to check
/// against the goals: the path in `BENCH_FIGURES`, when set.
pub const FIGURES_ENV: &str = "BENCH_FIGURES";

/// Writes `figures` to the path in [`FIGURES_ENV`], if any (the report reads them back).
pub fn write_figures(figures: &Value) -> std::io::Result<()> {
    match std::env::var_os(FIGURES_ENV) {
        Some(path) => std::fs::write(path, figures.to_string()),
        None => Ok(()),
    }
}

/// A marker naming this checkout, which every engine bench keeps in its binary
/// ([`mark_checkout`]): the report runs the engine benches built from its own checkout, not
/// those of another work tree that shares the `CARGO_TARGET_DIR`.
pub const CHECKOUT: &str = concat!("trifecta-bench-checkout:", env!("CARGO_MANIFEST_DIR"), "\0");

/// Keeps [`CHECKOUT`] in this binary (call it from `main`).
pub fn mark_checkout() {
    std::hint::black_box(CHECKOUT);
}

/// `target/bench/`, created if missing.
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// An SVG plot of latency CDFs (log-scale x axis in ms), one line per series.
pub fn svg_cdf(title: &str, series: &[(&str, Vec<f64>)]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 420.0;
    const L: f64 = 70.0;
    const R: f64 = 20.0;
    const T: f64 = 40.0;
    const B: f64 = 60.0;
    const COLORS: [&str; 6] = [
        "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
    ];
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|x| *x > 0.0)
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min).max(1e-3);
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
    let (lo_e, hi_e) = (lo.log10().floor(), hi.log10().ceil());
    let x = |v: f64| L + (v.max(lo).log10() - lo_e) / (hi_e - lo_e) * (W - L - R);
    let y = |q: f64| T + (1.0 - q) * (H - T - B);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>
"#,
        W / 2.0,
        escape(title)
    );
    let mut e = lo_e;
    while e <= hi_e {
        let v = 10f64.powf(e);
        let px = x(v);
        s += &format!(
            r##"<line x1="{px:.1}" y1="{T}" x2="{px:.1}" y2="{}" stroke="#e5e7eb"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>
"##,
            H - B,
            H - B + 16.0,
            if v >= 1.0 {
                format!("{v:.0} ms")
            } else {
                format!("{v} ms")
            }
        );
        e += 1.0;
    }
    for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
        let py = y(q);
        s += &format!(
            r##"<line x1="{L}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" text-anchor="end">p{}</text>
"##,
            W - R,
            L - 6.0,
            py + 4.0,
            (q * 100.0).round()
        );
    }
    for (i, (name, values)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let n = values.len().max(1) as f64;
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(k, v)| format!("{:.1},{:.1}", x(*v), y((k + 1) as f64 / n)))
            .collect();
        s += &format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>
<rect x="{}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{}</text>
"#,
            points.join(" "),
            L + 10.0,
            T + 8.0 + 18.0 * i as f64,
            L + 28.0,
            T + 18.0 + 18.0 * i as f64,
            escape(name)
        );
    }
    s += &format!(
        r#"<text x="{}" y="{}" text-anchor="middle">latency (ms, log scale)</text>
</svg>
"#,
        (L + W - R) / 2.0,
        H - 18.0
    );
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
