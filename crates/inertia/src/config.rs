//! [`InertiaConfig`]: the asset version, the HTML around the page, and the cookie key.

use std::sync::Arc;

use axum_extra::extract::cookie::Key;

/// Settings shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct InertiaConfig {
    inner: Arc<Inner>,
}

struct Inner {
    version: String,
    head: String,
    key: Key,
    cookie_name: String,
    https: bool,
}

impl std::fmt::Debug for InertiaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InertiaConfig")
            .field("version", &self.inner.version)
            .field("cookie_name", &self.inner.cookie_name)
            .finish_non_exhaustive()
    }
}

impl InertiaConfig {
    /// `version` is the asset version (the client reloads fully when it changes); `head` is
    /// HTML placed in `<head>` of the first visit (styles and scripts); `key` encrypts the
    /// cookie that carries flash data and validation errors across one redirect.
    pub fn new(version: impl Into<String>, head: impl Into<String>, key: Key) -> Self {
        Self {
            inner: Arc::new(Inner {
                version: version.into(),
                head: head.into(),
                key,
                cookie_name: "inertia_flash".to_owned(),
                https: false,
            }),
        }
    }

    /// The server is reached over HTTPS: full URLs use `https://` and the flash cookie is `Secure`.
    #[must_use]
    pub fn with_https(self, https: bool) -> Self {
        let inner = Inner {
            version: self.inner.version.clone(),
            head: self.inner.head.clone(),
            key: self.inner.key.clone(),
            cookie_name: self.inner.cookie_name.clone(),
            https,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The current asset version.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// HTML for `<head>`.
    pub fn head(&self) -> &str {
        &self.inner.head
    }

    pub(super) fn key(&self) -> &Key {
        &self.inner.key
    }

    pub(super) fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    pub(super) fn https(&self) -> bool {
        self.inner.https
    }
}
