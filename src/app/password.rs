//! Password digests: bcrypt, the format of Rails' `has_secure_password`, computed on the
//! blocking pool because it is deliberately slow.

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

/// A bcrypt digest of `password` at `cost`.
pub async fn digest(password: String, cost: u32) -> Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(crate::store::Error::from)?
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches `digest`. A malformed digest never matches.
pub async fn verify(password: String, digest: String) -> Result<bool> {
    let ok =
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &digest).unwrap_or(false))
            .await
            .map_err(crate::store::Error::from)?;
    Ok(ok)
}

/// Spends the time of one real check, against a digest made once per process, so an unknown
/// email address answers as slowly as a wrong password.
pub async fn verify_nothing(password: String, cost: u32) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let _ = tokio::task::spawn_blocking(move || {
        let digest =
            DUMMY.get_or_init(|| bcrypt::hash("trifecta: no such user", cost).unwrap_or_default());
        bcrypt::verify(password, digest).unwrap_or(false)
    })
    .await;
}
