//! The ActionCable `connect` hook of the app: a socket is identified by the session cookie
//! of its upgrade request, exactly as a page request is. Without a live session it is
//! rejected (`unauthorized`, no welcome), and an open socket whose session expires or ends
//! is closed (`unauthorized`, no reconnect) at its next revalidation. Channels find the signed-in [`User`] in the
//! connection's identity data. [`disconnect_sessions`] kicks a session's sockets on every
//! server sharing the storage directory.

use std::sync::Arc;

use async_trait::async_trait;

use super::error::Chain;
use super::{Cookies, auth};
use crate::actioncable::{ActionCable, Connect, ConnectRequest, Identity, Rejected};
use crate::app::{App, User};

/// Identifies sockets by session cookie.
#[derive(Clone)]
pub struct SessionConnect {
    app: App,
    cookies: Cookies,
}

impl SessionConnect {
    /// A hook that resolves session cookies signed as `cookies` says to sessions of `app`.
    pub fn new(app: App, cookies: Cookies) -> Self {
        Self { app, cookies }
    }

    /// The identity key of a session's sockets (what `ActionCable::disconnect` takes).
    pub fn identity_of(session_id: i64) -> String {
        format!("session:{session_id}")
    }

    /// The identity keys of several sessions.
    pub fn identities_of(session_ids: &[i64]) -> Vec<String> {
        session_ids.iter().copied().map(Self::identity_of).collect()
    }
}

/// Disconnects the sockets of `session_ids` on every server sharing the storage directory:
/// this process's at once, the others' within one cable polling interval. With `reconnect`,
/// clients come back and are identified (and their subscriptions authorized) afresh. A failure
/// to publish the order is logged; this process's sockets are closed regardless.
pub async fn disconnect_sessions(actioncable: &ActionCable, session_ids: &[i64], reconnect: bool) {
    let identities = SessionConnect::identities_of(session_ids);
    if let Err(err) = actioncable
        .disconnect_everywhere(&identities, reconnect)
        .await
    {
        tracing::error!(
            cause = %err,
            sessions = session_ids.len(),
            "cannot order other servers to disconnect sessions"
        );
    }
}

#[async_trait]
impl Connect for SessionConnect {
    async fn connect(&self, request: &ConnectRequest) -> Result<Identity, Rejected> {
        match auth::resolve(&self.app, &self.cookies.key, &request.headers).await {
            Ok(Some(current)) => Ok(Identity {
                id: Some(Self::identity_of(current.session.id)),
                data: Some(Arc::new(current.user) as Arc<dyn std::any::Any + Send + Sync>),
            }),
            Ok(None) => Err(Rejected),
            Err(err) => {
                tracing::error!(cause = %Chain(&err), "cannot resolve the session of a socket");
                Err(Rejected)
            }
        }
    }

    /// Still valid while the cookie resolves to the same live session: an expired
    /// (`--session-max-age`) or ended session is not. A database failure keeps the socket
    /// (logged): closing it would tell the client never to come back over a passing fault.
    async fn revalidate(&self, identity: &Identity, request: &ConnectRequest) -> bool {
        match auth::resolve(&self.app, &self.cookies.key, &request.headers).await {
            Ok(Some(current)) => {
                identity.id.as_deref() == Some(&Self::identity_of(current.session.id))
            }
            Ok(None) => false,
            Err(err) => {
                tracing::error!(cause = %Chain(&err), "cannot revalidate the session of a socket");
                true
            }
        }
    }
}

/// The signed-in user of a connection identified by [`SessionConnect`].
pub fn user_of(identity: &Identity) -> Option<&User> {
    identity.data::<User>()
}
