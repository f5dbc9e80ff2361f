//! [`HttpsArgs`]: certificates from an ACME directory and the port-80 listener of
//! `trifecta serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::ServeConfig;

/// Let's Encrypt's production directory, the default of `--acme-directory`.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the ACME server checks that this server answers for a domain.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChallengeKind {
    /// TLS-ALPN-01: answered in the TLS handshake on `--bind` (port 443 in production).
    #[default]
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
    /// HTTP-01: answered on the `--http-bind` listener (port 80 in production).
    #[value(name = "http-01")]
    Http01,
}

/// HTTPS settings of `trifecta serve` beyond a fixed `--tls-cert`/`--tls-key` pair.
#[derive(Args, Clone, Debug)]
pub struct HttpsArgs {
    /// Obtain and renew a certificate for this domain from the ACME directory and serve HTTPS
    /// with it (repeatable, or comma-separated; one certificate covers every name). Account
    /// and certificate live under `<storage>/acme/`.
    #[arg(long = "tls-domain", env = "TRIFECTA_TLS_DOMAIN", value_delimiter = ',',
          conflicts_with = "tls_cert", value_parser = parse_domain)]
    pub tls_domains: Vec<String>,
    /// ACME directory URL (e.g. Let's Encrypt's staging directory or an in-house CA).
    #[arg(long, env = "TRIFECTA_ACME_DIRECTORY", default_value = LETS_ENCRYPT)]
    pub acme_directory: String,
    /// Contact e-mail address for the ACME account (repeatable).
    #[arg(long, env = "TRIFECTA_ACME_EMAIL", value_delimiter = ',')]
    pub acme_email: Vec<String>,
    /// PEM root certificate that the ACME directory's own HTTPS certificate chains to, for an
    /// in-house or test ACME server. Default: the system's trusted roots.
    #[arg(long, env = "TRIFECTA_ACME_ROOT")]
    pub acme_root: Option<PathBuf>,
    /// Challenge the ACME server validates: `tls-alpn-01` (on `--bind`) or `http-01` (on
    /// `--http-bind`).
    #[arg(long, env = "TRIFECTA_ACME_CHALLENGE", value_enum, default_value_t)]
    pub acme_challenge: ChallengeKind,
    /// With HTTPS on: also serve plain HTTP here (e.g. `0.0.0.0:80`), answering ACME HTTP-01
    /// challenges and redirecting everything else to HTTPS (301, or 308 for non-GET).
    #[arg(long, env = "TRIFECTA_HTTP_BIND")]
    pub http_bind: Option<SocketAddr>,
}

impl Default for HttpsArgs {
    fn default() -> Self {
        Self {
            tls_domains: Vec::new(),
            acme_directory: LETS_ENCRYPT.to_owned(),
            acme_email: Vec::new(),
            acme_root: None,
            acme_challenge: ChallengeKind::default(),
            http_bind: None,
        }
    }
}

impl ServeConfig {
    /// Whether this server answers HTTPS itself: with a `--tls-cert` pair or `--tls-domain`.
    pub fn native_tls(&self) -> bool {
        self.web.tls_cert.is_some() || !self.https.tls_domains.is_empty()
    }
}

/// A DNS name a public CA can issue for: letters, digits and hyphens in dot-separated labels.
fn parse_domain(value: &str) -> Result<String, String> {
    let name = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!(
            "{value:?} is not a domain name (letters, digits and hyphens in dot-separated labels; no wildcards, no IP addresses)"
        ));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!("{value:?} is an IP address, not a domain name"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked_and_lowercased() {
        assert_eq!(parse_domain("Example.COM."), Ok("example.com".to_owned()));
        assert_eq!(parse_domain("localhost"), Ok("localhost".to_owned()));
        for bad in ["", "*.example.com", "a..b", "-a.com", "a_b.com", "1.2.3.4"] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }
}
