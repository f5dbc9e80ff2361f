//! Prometheus metrics on a separate listener (`--metrics-bind`, off by default).
//!
//! The engines count events through the [`metrics`] facade (`trifecta_*` counters, gauges
//! and histograms); without an installed recorder each of those calls is a load of one
//! global pointer and nothing more. With `--metrics-bind`, [`Exporter::install`] installs
//! `metrics-exporter-prometheus`'s recorder, [`track_requests`] adds the HTTP layer to the
//! app's router, and [`spawn`] answers `GET /metrics` on its own listener: no cookies, no
//! CSRF, nothing of the app's middleware, and not reachable on the app's port.
//!
//! What already exists as a figure (jobs by state, cache entries and bytes, open sockets,
//! file sizes, the process's memory and CPU) is read when Prometheus scrapes, never updated
//! on the hot paths.
//!
//! - `names`: every metric's name, help text and histogram buckets.
//! - `http`: the request counter and latency histogram, by route template and status.
//! - `scrape`: the `/metrics` handler and the figures read at scrape time.
//! - `process`: resident memory, CPU time and descriptors from `/proc/self`.

mod http;
mod names;
mod process;
mod scrape;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use clap::Args;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use http::track_requests;
pub use scrape::Sources;

/// How often recorded histogram samples are folded into their buckets when nobody scrapes,
/// so memory stays bounded.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The metrics flags of `trifecta serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at `http://ADDR/metrics` on this separate listener (for
    /// example `127.0.0.1:9100`; port 0 picks a free one). Off when not given.
    #[arg(long, env = "TRIFECTA_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
}

/// Errors starting the metrics endpoint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The metrics address could not be bound.
    #[error("cannot listen on {addr} for metrics (--metrics-bind): {cause}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// Another metrics recorder was installed in this process first.
    #[error("cannot install the Prometheus recorder: {0}")]
    Install(String),
}

/// The installed Prometheus recorder. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Exporter {
    handle: PrometheusHandle,
}

/// The process's recorder: the facade has one global recorder, so every server started in
/// one process (tests start several) shares it.
static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

impl Exporter {
    /// Installs the Prometheus recorder as the process's global recorder (once; later calls
    /// return the same one) and describes every metric.
    ///
    /// # Errors
    /// [`Error::Install`] when a different recorder was installed first.
    pub fn install() -> Result<Self, Error> {
        let handle = HANDLE.get_or_init(|| {
            let handle = names::buckets(PrometheusBuilder::new())
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            names::describe();
            Ok(handle)
        });
        match handle {
            Ok(handle) => Ok(Self {
                handle: handle.clone(),
            }),
            Err(e) => Err(Error::Install(e.clone())),
        }
    }

    /// The exposition text of every metric recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Binds the metrics listener.
///
/// # Errors
/// [`Error::Bind`] when the address is taken or not local.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|cause| Error::Bind { addr, cause })
}

/// Serves `GET /metrics` on `listener` as a task of `tracker` until `token` is cancelled,
/// and logs `metrics listening metrics=ADDR` with the bound address.
///
/// # Errors
/// The listener's address cannot be read.
pub fn spawn(
    listener: TcpListener,
    exporter: Exporter,
    sources: Sources,
    tracker: &TaskTracker,
    token: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    tracker.spawn(async move {
        if let Err(err) = serve(listener, exporter, sources, token).await {
            tracing::error!(cause = %err, "metrics listener failed");
        }
    });
    tracing::info!(metrics = %addr, "metrics listening");
    Ok(addr)
}

/// Answers `GET /metrics` on `listener` until `token` is cancelled, and folds histogram
/// samples into their buckets every few seconds meanwhile.
async fn serve(
    listener: TcpListener,
    exporter: Exporter,
    sources: Sources,
    token: CancellationToken,
) -> std::io::Result<()> {
    let upkeep = {
        let (handle, token) = (exporter.handle.clone(), token.clone());
        async move {
            let mut tick = tokio::time::interval(UPKEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => handle.run_upkeep(),
                }
            }
        }
    };
    let router = scrape::router(exporter, sources);
    let http = axum::serve(listener, router).with_graceful_shutdown(token.cancelled_owned());
    let (served, ()) = tokio::join!(http.into_future(), upkeep);
    served
}
