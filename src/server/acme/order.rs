//! One ACME order with instant-acme: the account (created once, then restored from the
//! store), the challenge of each authorization answered through [`Challenges`], then the CSR
//! and the certificate chain.

use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};
use rcgen::{CertificateParams, CustomExtension, KeyPair};

use super::store::{AcmeStore, Stored};
use super::{Error, Settings};
use crate::server::args::ChallengeKind;
use crate::server::tls::Challenges;
use crate::server::tls::challenges::challenge_key;

/// How long the CA may take to validate and to issue.
const VALIDATION: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(250))
    .backoff(1.5)
    .timeout(Duration::from_secs(90));

/// Orders a certificate for `settings.domains`, stores it and returns it.
///
/// # Errors
/// The ACME server is unreachable or refuses, a challenge fails, or the store cannot be written.
pub(super) async fn obtain(
    settings: &Settings,
    store: &AcmeStore,
    challenges: &Challenges,
) -> Result<Stored, Error> {
    let account = account(settings, store).await?;
    let issued = issue(&account, settings, challenges).await;
    // Answers of a finished (or failed) order must not linger.
    challenges.clear();
    let (key_pem, chain_pem) = issued?;
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.save_certificate(&key_pem, &chain_pem)).await?
}

/// The stored account, or a new one (stored at once).
async fn account(settings: &Settings, store: &AcmeStore) -> Result<Account, Error> {
    let builder = || match &settings.root {
        Some(root) => Account::builder_with_root(root),
        None => Account::builder(),
    };
    let loaded = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.load_account()).await??
    };
    if let Some(credentials) = loaded {
        return Ok(builder()?.from_credentials(credentials).await?);
    }
    let contact: Vec<String> = settings
        .emails
        .iter()
        .map(|email| format!("mailto:{email}"))
        .collect();
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await?;
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.save_account(&credentials)).await??;
    tracing::info!(account = account.id(), "ACME account created");
    Ok(account)
}

/// Runs the order: answers each pending authorization, finalizes with a fresh key and
/// returns `(key PEM, chain PEM)`.
async fn issue(
    account: &Account,
    settings: &Settings,
    challenges: &Challenges,
) -> Result<(String, String), Error> {
    let identifiers: Vec<Identifier> = settings
        .domains
        .iter()
        .cloned()
        .map(Identifier::Dns)
        .collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let kind = match settings.challenge {
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        ChallengeKind::Http01 => ChallengeType::Http01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(Error::Order(format!(
                    "authorization for {} is {status:?}",
                    authorization.identifier()
                )));
            }
        }
        let mut challenge = authorization
            .challenge(kind.clone())
            .ok_or_else(|| Error::Order(format!("the ACME server offers no {kind:?} challenge")))?;
        let key_authorization = challenge.key_authorization();
        match settings.challenge {
            ChallengeKind::TlsAlpn01 => {
                let domain = challenge.identifier().to_string();
                let pem = alpn_certificate(&domain, key_authorization.digest().as_ref())?;
                let cert = challenge_key(pem.as_bytes()).ok_or_else(|| {
                    Error::Order("the challenge certificate does not load".to_owned())
                })?;
                challenges.set_tls_alpn(domain, Arc::new(cert), &pem);
            }
            ChallengeKind::Http01 => challenges.set_http(
                challenge.token.clone(),
                key_authorization.as_str().to_owned(),
            ),
        }
        challenge.set_ready().await?;
    }
    let status = order.poll_ready(&VALIDATION).await?;
    if status != OrderStatus::Ready {
        let detail = order
            .state()
            .error
            .as_ref()
            .map(|problem| problem.to_string())
            .unwrap_or_default();
        return Err(Error::Order(format!(
            "the order is {status:?}, not ready {detail}"
        )));
    }
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&VALIDATION).await?;
    Ok((key_pem, chain_pem))
}

/// The self-signed TLS-ALPN-01 certificate for `domain` (key and certificate PEM): its only
/// name is the domain and it carries the critical `acmeIdentifier` extension with the key
/// authorization's digest.
fn alpn_certificate(domain: &str, digest: &[u8]) -> Result<String, Error> {
    let mut params = CertificateParams::new(vec![domain.to_owned()])?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(format!("{}{}", key.serialize_pem(), cert.pem()))
}
