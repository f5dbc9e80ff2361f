//! Certificates from an ACME directory (Let's Encrypt by default) for `--tls-domain` names.
//! One background task per server: it serves the stored certificate, orders a new one when
//! there is none or a third of its lifetime is left, and swaps it into the resolver (new
//! handshakes get it, open connections keep theirs). Processes on one storage directory share
//! the account and certificate files; an order runs under a file lock, and the others pick
//! the result up from the store. When the ACME server cannot be reached, the current
//! certificate keeps being served and the order is retried with backoff.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::args::{ChallengeKind, HttpsArgs};
use super::tls::CertResolver;

mod order;
mod store;

/// The longest the task sleeps before looking at the store again (another process may have
/// renewed).
const STORE_CHECK: Duration = Duration::from_secs(10);
/// While another process holds the order lock, how often to look again.
const LOCK_POLL: Duration = Duration::from_secs(1);
/// The first retry after a failed order; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest pause between failed orders.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// Errors of the ACME task (logged; the server keeps serving).
#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    /// The ACME server was unreachable or answered with a problem.
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    /// The order did not become ready or valid.
    #[error("ACME order: {0}")]
    Order(String),
    /// A challenge certificate could not be made.
    #[error("challenge certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A store file could not be read or written.
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        /// What was done.
        action: &'static str,
        /// To which file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A store file holds something unusable.
    #[error("unusable ACME file {0}")]
    Corrupt(String),
    /// A blocking task failed.
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What the ACME task needs from the command line.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    /// The names of the certificate, sorted.
    pub domains: Vec<String>,
    /// The directory URL.
    pub directory: String,
    /// Contact addresses of the account.
    pub emails: Vec<String>,
    /// A PEM root for the directory's own HTTPS certificate.
    pub root: Option<PathBuf>,
    /// The challenge to answer.
    pub challenge: ChallengeKind,
}

impl Settings {
    /// The settings of `args`, or `None` without `--tls-domain`.
    pub fn from_args(args: &HttpsArgs) -> Option<Self> {
        if args.tls_domains.is_empty() {
            return None;
        }
        let mut domains = args.tls_domains.clone();
        domains.sort();
        domains.dedup();
        Some(Self {
            domains,
            directory: args.acme_directory.clone(),
            emails: args.acme_email.clone(),
            root: args.acme_root.clone(),
            challenge: args.acme_challenge,
        })
    }
}

/// The ACME task's handle.
#[derive(Debug)]
pub(super) struct Acme {
    settings: Settings,
    store: store::AcmeStore,
    resolver: Arc<CertResolver>,
    wake: Arc<Notify>,
}

impl Acme {
    /// Prepares the store folder under `storage` (blocking).
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn new(
        settings: Settings,
        storage: &Path,
        resolver: Arc<CertResolver>,
    ) -> Result<Self, Error> {
        let store = store::AcmeStore::new(storage, &settings.directory);
        store.create()?;
        resolver.challenges.share_in(store.dir().join("challenges"));
        Ok(Self {
            settings,
            store,
            resolver,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Wakes the task at once (`SIGHUP`): it re-reads the store and retries a failed order.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Keeps a certificate in the resolver until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        tracing::info!(domains = ?self.settings.domains, directory = %self.settings.directory, store = %self.store.dir().display(), "ACME certificates on");
        let mut retry = Retry::default();
        loop {
            let wait = tokio::select! {
                () = token.cancelled() => break,
                wait = self.tick(&mut retry) => wait,
            };
            tokio::select! {
                () = token.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => retry.at = None,
            }
        }
    }

    /// Serves the stored certificate if it is new, orders one if it is due, and returns how
    /// long to wait before the next look.
    async fn tick(&self, retry: &mut Retry) -> Duration {
        let stored = self.serve_stored().await;
        let now = SystemTime::now();
        if let Some(stored) = &stored
            && stored.covers(&self.settings.domains)
            && now < stored.renew_at()
        {
            *retry = Retry::default();
            return until(stored.renew_at()).min(STORE_CHECK);
        }
        if let Some(at) = retry.at
            && now < at
        {
            return until(at).min(STORE_CHECK);
        }
        let lock = {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.try_lock()).await
        };
        let lock = match lock {
            Ok(Ok(Some(lock))) => lock,
            Ok(Ok(None)) => {
                tracing::debug!("another process is ordering the certificate");
                return LOCK_POLL;
            }
            Ok(Err(err)) => return self.failed(retry, &err),
            Err(err) => return self.failed(retry, &Error::Join(err)),
        };
        // The process that held the lock may have just stored a fresh certificate.
        if let Some(stored) = self.serve_stored().await
            && stored.covers(&self.settings.domains)
            && SystemTime::now() < stored.renew_at()
        {
            return until(stored.renew_at()).min(STORE_CHECK);
        }
        let renewal = stored.is_some();
        tracing::info!(
            domains = ?self.settings.domains,
            renewal,
            "ordering a certificate"
        );
        let obtained = order::obtain(&self.settings, &self.store, &self.resolver.challenges).await;
        drop(lock);
        match obtained {
            Ok(stored) => {
                self.resolver.set(stored.certified.clone());
                *retry = Retry::default();
                tracing::info!(
                    domains = ?stored.names,
                    not_after = %humantime::format_rfc3339_seconds(stored.not_after),
                    renewal,
                    "certificate obtained; new connections get it"
                );
                until(stored.renew_at()).min(STORE_CHECK)
            }
            Err(err) => self.failed(retry, &err),
        }
    }

    /// Logs a failed order and schedules the retry.
    fn failed(&self, retry: &mut Retry, err: &Error) -> Duration {
        retry.failures = retry.failures.saturating_add(1);
        let wait = FIRST_RETRY
            .saturating_mul(1 << retry.failures.saturating_sub(1).min(12))
            .min(MAX_RETRY);
        retry.at = Some(SystemTime::now() + wait);
        let error = chain(err);
        let retry_in = humantime::format_duration(wait);
        if self.resolver.current().is_some() {
            tracing::warn!(%error, %retry_in, "certificate renewal failed; still serving the current certificate");
        } else {
            tracing::error!(%error, %retry_in, "certificate not obtained; HTTPS handshakes fail until it is");
        }
        wait.min(STORE_CHECK)
    }

    /// Reads the stored certificate and serves it if it is not the one served now.
    async fn serve_stored(&self) -> Option<store::Stored> {
        let store = self.store.clone();
        let loaded = match tokio::task::spawn_blocking(move || store.load_certificate()).await {
            Ok(loaded) => loaded,
            Err(err) => Err(Error::Join(err)),
        };
        let stored = match loaded {
            Ok(stored) => stored?,
            Err(err) => {
                tracing::warn!(error = %chain(&err), "stored certificate unusable; ordering a new one");
                return None;
            }
        };
        if !stored.covers(&self.settings.domains) {
            return Some(stored);
        }
        let fresh = self
            .resolver
            .current()
            .is_none_or(|current| !stored.same_as(&current));
        if fresh {
            self.resolver.set(stored.certified.clone());
            tracing::info!(
                domains = ?stored.names,
                not_after = %humantime::format_rfc3339_seconds(stored.not_after),
                "serving the stored certificate"
            );
        }
        Some(stored)
    }
}

/// Failed orders in a row and when the next may start.
#[derive(Debug, Default)]
struct Retry {
    failures: u32,
    at: Option<SystemTime>,
}

/// Time from now until `at` (zero if it has passed).
fn until(at: SystemTime) -> Duration {
    at.duration_since(SystemTime::now()).unwrap_or_default()
}

/// An error with its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
