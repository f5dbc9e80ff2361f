//! Flash data and validation errors carried across one redirect in an encrypted cookie,
//! so the server keeps no session state for them (`docs/protocols.md` §3.7, §3.8).

use axum_extra::extract::cookie::{Cookie, CookieJar, PrivateCookieJar, SameSite};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::InertiaConfig;

/// Validation errors: field name to its first message (`props.errors`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Errors(Map<String, Value>);

impl Errors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` for `field`; the first message of a field wins.
    #[must_use]
    pub fn add(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.0
            .entry(field.into())
            .or_insert_with(|| Value::String(message.into()));
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

/// What one request leaves for the next.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Carry {
    /// Flash data, shown once.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub flash: Map<String, Value>,
    /// Validation errors of the form that redirected.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub errors: Map<String, Value>,
}

impl Carry {
    /// Whether there is nothing to carry.
    pub fn is_empty(&self) -> bool {
        self.flash.is_empty() && self.errors.is_empty()
    }
}

/// Reads (and decrypts) the carried data; a tampered or unreadable cookie counts as none.
pub fn read(config: &InertiaConfig, jar: &PrivateCookieJar) -> Option<Carry> {
    let cookie = jar.get(config.cookie_name())?;
    match serde_json::from_str(cookie.value()) {
        Ok(carry) => Some(carry),
        Err(err) => {
            tracing::debug!(cause = %err, "ignoring unreadable flash cookie");
            None
        }
    }
}

fn cookie(config: &InertiaConfig, value: String) -> Cookie<'static> {
    Cookie::build((config.cookie_name().to_owned(), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.https())
        .build()
}

/// Stores `carry` for the next request.
pub fn write(config: &InertiaConfig, jar: PrivateCookieJar, carry: &Carry) -> PrivateCookieJar {
    match serde_json::to_string(carry) {
        Ok(json) => jar.add(cookie(config, json)),
        Err(err) => {
            tracing::error!(cause = %err, "cannot serialise flash data");
            jar
        }
    }
}

/// A plain jar that expires an unreadable flash cookie (the private jar ignores those).
pub(super) fn expire_unreadable(config: &InertiaConfig) -> CookieJar {
    let mut removal = cookie(config, String::new());
    removal.make_removal();
    CookieJar::new().add(removal)
}

/// Clears the carried data (it has been shown once).
pub(super) fn clear(config: &InertiaConfig, jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(cookie(config, String::new()))
}
