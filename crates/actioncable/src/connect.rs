//! The connection hook: who is connecting? It sees the upgrade request's headers, cookies
//! and query, and either identifies the connection or rejects it (the client then gets
//! `{"type":"disconnect","reason":"unauthorized","reconnect":false}` and no welcome). Later
//! it is asked again, on a beat and on every subscribe, whether the identity still holds.

use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};

/// Headers of the WebSocket handshake alone, dropped from [`ConnectRequest::headers`].
const HANDSHAKE: [HeaderName; 5] = [
    header::UPGRADE,
    header::CONNECTION,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
];

/// The HTTP upgrade request of a connection.
#[derive(Clone, Debug)]
pub struct ConnectRequest {
    /// Path and query as requested.
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Decoded query parameters (the last value wins for repeated names).
    pub params: HashMap<String, String>,
    /// The peer address, when known.
    pub peer: Option<SocketAddr>,
}

impl ConnectRequest {
    /// Builds the request view; `params` are decoded from the query.
    ///
    /// The URI and header values are copied into allocations of their own: as parsed they
    /// are slices of the HTTP connection's read buffer, and keeping them for the life of the
    /// socket would keep that whole buffer (8 KiB or more) alive with it. The headers that
    /// only serve the upgrade itself (`Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `-Version`, `-Extensions`) are not kept: they mean nothing once it is done.
    pub fn new(uri: Uri, headers: HeaderMap, peer: Option<SocketAddr>) -> Self {
        let params = axum::extract::Query::<HashMap<String, String>>::try_from_uri(&uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let uri = Uri::try_from(uri.to_string()).unwrap_or(uri);
        let kept = || headers.iter().filter(|(name, _)| !HANDSHAKE.contains(name));
        let mut own = HeaderMap::with_capacity(kept().count());
        for (name, value) in kept() {
            let mut copy =
                HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
            copy.set_sensitive(value.is_sensitive());
            own.append(name.clone(), copy);
        }
        Self {
            uri,
            headers: own,
            params,
            peer,
        }
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A header as text (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of cookie `name`, taken verbatim from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// Who a connection is, as decided by the [`Connect`] hook.
#[derive(Clone, Default)]
pub struct Identity {
    /// The key [`super::ActionCable::disconnect`] kicks by (Rails' `identified_by`).
    pub id: Option<String>,
    /// Anything the app wants its channels to see (e.g. the signed-in user).
    pub data: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .field("data", &self.data.is_some())
            .finish()
    }
}

impl Identity {
    /// An identity with key `id` and no data.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            data: None,
        }
    }

    /// The data, if it is a `T`.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.data.as_deref().and_then(|d| d.downcast_ref::<T>())
    }
}

/// The connection was refused (Rails' `reject_unauthorized_connection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("connection rejected")]
pub struct Rejected;

/// Decides whether a connection may proceed.
#[async_trait]
pub trait Connect: Send + Sync + 'static {
    /// Identifies the connection, or rejects it.
    async fn connect(&self, request: &ConnectRequest) -> Result<Identity, Rejected>;

    /// Whether a connection identified as `identity` by [`Connect::connect`] from `request`
    /// may go on (e.g. its session has not expired or ended). Asked every
    /// `--cable-revalidate-interval` and before every subscribe; `false` closes the
    /// connection with `{"type":"disconnect","reason":"unauthorized","reconnect":false}`.
    /// The default keeps every connection.
    async fn revalidate(&self, identity: &Identity, request: &ConnectRequest) -> bool {
        let _ = (identity, request);
        true
    }
}

/// The default hook: everyone is welcome, anonymously.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

#[async_trait]
impl Connect for AcceptAll {
    async fn connect(&self, _request: &ConnectRequest) -> Result<Identity, Rejected> {
        Ok(Identity::default())
    }
}

/// What channels see of their connection.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    /// Who it is.
    pub identity: Identity,
    /// The upgrade request.
    pub request: ConnectRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_request_keeps_every_header_uri_and_param() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("app.example"));
        headers.append("cookie", HeaderValue::from_static("a=1; _s=tok"));
        headers.append("cookie", HeaderValue::from_static("b=2"));
        let mut secret = HeaderValue::from_static("Bearer x");
        secret.set_sensitive(true);
        headers.insert("authorization", secret);
        let uri: Uri = "/cable?room=7&x=%20y".parse().unwrap();
        let r = ConnectRequest::new(uri, headers.clone(), None);
        assert_eq!(r.headers, headers);
        assert!(r.headers["authorization"].is_sensitive());
        assert_eq!(r.cookie("_s"), Some("tok"));
        assert_eq!(r.cookie("b"), Some("2"));
        assert_eq!(r.uri, "/cable?room=7&x=%20y");
        assert_eq!(r.param("room"), Some("7"));
        assert_eq!(r.param("x"), Some(" y"));
    }
}
