//! [`WebArgs`]: the HTTP edge settings of `trifecta serve` (TLS), and [`SecretString`].

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

/// A secret given on the command line or in the environment; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl FromStr for SecretString {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// TLS settings of `trifecta serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct WebArgs {
    /// PEM certificate chain; with `--tls-key`, serve HTTPS (HTTP/2 and HTTP/1.1 via ALPN).
    #[arg(long, env = "TRIFECTA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "TRIFECTA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Close public sign-up (`/signup`, `POST /registration`); create users with
    /// `trifecta users create` instead.
    #[arg(long, env = "TRIFECTA_NO_SIGNUP")]
    pub no_signup: bool,
}
