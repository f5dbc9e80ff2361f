//! Certificate reload without a restart: `SIGHUP`, or a change of the `--tls-cert`/`--tls-key`
//! files (checked every second), loads the certificate again and swaps it in the resolver.
//! Open connections and the listening socket are untouched; a certificate that does not load
//! is logged and the current one stays. With ACME, both re-read the stored certificate and
//! check its renewal at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::CertResolver;

/// How often the certificate files are checked for a change.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Where the served certificate comes from.
#[derive(Debug)]
pub(in crate::server) enum Source {
    /// A `--tls-cert`/`--tls-key` pair.
    Files {
        /// The PEM chain.
        cert: PathBuf,
        /// The PEM key.
        key: PathBuf,
    },
    /// The ACME task, which a reload wakes.
    Acme(Arc<Notify>),
}

/// `SIGHUP`, as a stream of receipts (none where the platform has no such signal).
pub(in crate::server) struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    /// Installs the handler now, so a `SIGHUP` that arrives right after startup reloads
    /// instead of killing the process.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(|e| tracing::error!(cause = %e, "cannot listen for SIGHUP"))
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.signal.as_mut()
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// A file's modification time and length, to notice a replaced or rewritten file.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads on `SIGHUP` and on a change of the certificate files until `token` is cancelled.
pub(in crate::server) async fn run(
    source: Source,
    resolver: Arc<CertResolver>,
    mut hangup: Hangup,
    token: CancellationToken,
) {
    let files = match &source {
        Source::Files { cert, key } => Some((cert.clone(), key.clone())),
        Source::Acme(_) => None,
    };
    let stamps = |files: &Option<(PathBuf, PathBuf)>| {
        files.as_ref().map(|(cert, key)| (stamp(cert), stamp(key)))
    };
    let mut seen = stamps(&files);
    loop {
        let cause = tokio::select! {
            () = token.cancelled() => break,
            () = hangup.recv() => "SIGHUP",
            () = tokio::time::sleep(WATCH_EVERY) => {
                let now = stamps(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                "file changed"
            }
        };
        match &source {
            Source::Acme(wake) => {
                tracing::info!(cause, "re-reading the stored ACME certificate");
                wake.notify_one();
            }
            Source::Files { cert, key } => reload_files(cert, key, &resolver, cause).await,
        }
    }
}

async fn reload_files(
    cert: &std::path::Path,
    key: &std::path::Path,
    resolver: &CertResolver,
    cause: &str,
) {
    let (cert_path, key_path) = (cert.to_owned(), key.to_owned());
    let loaded =
        tokio::task::spawn_blocking(move || super::load_files(&cert_path, &key_path)).await;
    match loaded {
        Ok(Ok(certified)) => {
            resolver.set(Arc::new(certified));
            tracing::info!(cause, cert = %cert.display(), "TLS certificate reloaded");
        }
        Ok(Err(err)) => {
            tracing::error!(cause, error = %err, "TLS certificate not reloaded; serving the current one")
        }
        Err(err) => tracing::error!(cause, error = %err, "TLS certificate reload failed"),
    }
}
