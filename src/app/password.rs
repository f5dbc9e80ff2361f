//! Password digests: bcrypt, the format of Rails' `has_secure_password`. bcrypt is slow on
//! purpose, so every digest and check runs on the blocking pool behind a [`Hasher`] whose
//! permits bound how many run at once: a burst of sign-ins queues for a permit instead of
//! taking every core from the async workers that serve everyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

use super::error::{Error, Result};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// bcrypt only reads the first 72 bytes; longer passwords are refused rather than truncated.
pub const MAX_BYTES: usize = 72;

/// Checks a new password's length.
pub fn validate(password: &str) -> Result<()> {
    if password.chars().count() < MIN_LENGTH {
        return Err(Error::invalid(
            "password",
            format!("is too short (minimum is {MIN_LENGTH} characters)"),
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(Error::invalid(
            "password",
            format!("is too long (maximum is {MAX_BYTES} bytes)"),
        ));
    }
    Ok(())
}

/// Runs bcrypt with bounded parallelism and counts the checks it made. Cheap to clone;
/// clones share the permits and the counter.
#[derive(Clone, Debug)]
pub(crate) struct Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    permits: Semaphore,
    checks: AtomicU64,
}

impl Hasher {
    /// A hasher that runs at most half the cores' worth of bcrypt at once (at least one):
    /// the other half stays with the runtime, so requests keep being answered during a
    /// burst of sign-ins.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_permits(cores.div_ceil(2))
    }

    /// A hasher running at most `permits` (at least one) bcrypt computations at once.
    pub(crate) fn with_permits(permits: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                permits: Semaphore::new(permits.max(1)),
                checks: AtomicU64::new(0),
            }),
        }
    }

    /// Password checks (verifications, real or against the dummy digest) started so far.
    pub(crate) fn checks(&self) -> u64 {
        self.inner.checks.load(Ordering::Relaxed)
    }

    /// Runs `f` on the blocking pool once a permit is free.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| Error::internal("password hasher closed", e))?;
        Ok(tokio::task::spawn_blocking(f)
            .await
            .map_err(crate::store::Error::from)?)
    }

    /// A bcrypt digest of `password` at `cost`.
    pub(crate) async fn digest(&self, password: String, cost: u32) -> Result<String> {
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| Error::internal("password hashing failed", e))
    }

    /// Whether `password` matches `digest`. A malformed digest never matches.
    pub(crate) async fn verify(&self, password: String, digest: String) -> Result<bool> {
        self.inner.checks.fetch_add(1, Ordering::Relaxed);
        self.run(move || bcrypt::verify(password, &digest).unwrap_or(false))
            .await
    }

    /// Spends the time of one real check, against a digest made once per process, so an
    /// unknown email address answers as slowly as a wrong password.
    pub(crate) async fn verify_nothing(&self, password: String, cost: u32) {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        self.inner.checks.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .run(move || {
                let digest = DUMMY.get_or_init(|| {
                    bcrypt::hash("trifecta: no such user", cost).unwrap_or_default()
                });
                bcrypt::verify(password, digest).unwrap_or(false)
            })
            .await;
    }
}
