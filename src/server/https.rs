//! HTTPS set-up of `start`: which flags go together, where the certificate comes from (a
//! `--tls-cert` pair or the ACME task of `--tls-domain`), and serving the main listener next to
//! the plain-HTTP one of `--http-bind`.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{ChallengeKind, Config, Error, acme, listen, tls};
use crate::config::ServeConfig;

/// Rejects HTTPS flags that do not go together, before anything is opened.
pub(super) fn check_https_flags(serve: &ServeConfig) -> Result<(), Error> {
    if serve.https.http_bind.is_some() && !serve.native_tls() {
        return Err(Error::Usage(
            "--http-bind redirects to HTTPS: it needs --tls-domain or --tls-cert/--tls-key",
        ));
    }
    if !serve.https.tls_domains.is_empty()
        && serve.https.acme_challenge == ChallengeKind::Http01
        && serve.https.http_bind.is_none()
    {
        return Err(Error::Usage(
            "--acme-challenge http-01 is answered on the port-80 listener: add --http-bind (e.g. 0.0.0.0:80)",
        ));
    }
    Ok(())
}

/// HTTPS as configured: the resolver and acceptor, where certificates come from, and the
/// ACME task to run.
pub(super) struct Https {
    pub resolver: Arc<tls::CertResolver>,
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub source: tls::reload::Source,
    pub hangup: tls::reload::Hangup,
    pub acme: Option<acme::Acme>,
}

/// Sets HTTPS up: loads the `--tls-cert` pair, or prepares the ACME store of `--tls-domain`
/// (the certificate then comes from the ACME task). `None` for plain HTTP.
pub(super) async fn https(config: &Config) -> Result<Option<Https>, Error> {
    let web = &config.serve.web;
    let resolver = Arc::new(tls::CertResolver::default());
    let (source, acme) = if let (Some(cert), Some(key)) = (&web.tls_cert, &web.tls_key) {
        let (c, k) = (cert.clone(), key.clone());
        let certified = tokio::task::spawn_blocking(move || tls::load_files(&c, &k)).await??;
        resolver.set(Arc::new(certified));
        let source = tls::reload::Source::Files {
            cert: cert.clone(),
            key: key.clone(),
        };
        (source, None)
    } else if let Some(settings) = acme::Settings::from_args(&config.serve.https) {
        let storage = config.storage.storage.clone();
        let shared = resolver.clone();
        let acme = tokio::task::spawn_blocking(move || acme::Acme::new(settings, &storage, shared))
            .await?
            .map_err(|e| Error::Tls(e.to_string()))?;
        (tls::reload::Source::Acme(acme.wake()), Some(acme))
    } else {
        return Ok(None);
    };
    let alpn_challenges = acme
        .as_ref()
        .is_some_and(|_| config.serve.https.acme_challenge == ChallengeKind::TlsAlpn01);
    Ok(Some(Https {
        acceptor: tls::acceptor(resolver.clone(), alpn_challenges)?,
        resolver,
        source,
        hangup: tls::reload::Hangup::install(),
        acme,
    }))
}

/// Serves the main listener and, if given, the plain-HTTP one until `token` is cancelled.
pub(super) async fn serve_both(
    listener: TcpListener,
    serve: listen::Serve,
    plain: Option<(TcpListener, listen::Serve)>,
    token: CancellationToken,
) -> std::io::Result<()> {
    let plain_token = token.clone();
    let plain = async move {
        match plain {
            Some((listener, serve)) => listen::serve(listener, serve, plain_token).await,
            None => Ok(()),
        }
    };
    let (main, plain) = tokio::join!(listen::serve(listener, serve, token), plain);
    main.and(plain)
}
