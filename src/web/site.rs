//! [`Site`]: the web layer's own handles: Inertia settings built from the embedded front end
//! and facts shown on the status page.

use std::time::Instant;

use axum_extra::extract::cookie::Key;

use super::assets::Manifest;
use crate::inertia::InertiaConfig;

/// Web-layer handles in [`AppState`](super::AppState). Cheap to clone.
#[derive(Clone)]
pub struct Site {
    /// Asset version, `<head>` tags and the flash cookie key.
    pub inertia: InertiaConfig,
    /// When this server started.
    pub started: Instant,
    /// The environment name.
    pub env: String,
    /// Public sign-up is open (`--no-signup` closes it).
    pub signup: bool,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("inertia", &self.inertia)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl Site {
    /// Reads the embedded manifest; flash cookies are signed with `cookie_key`; `https` when
    /// the server terminates TLS itself.
    pub fn new(cookie_key: &Key, env: &str, https: bool, signup: bool) -> Self {
        let manifest = Manifest::load();
        Self {
            inertia: InertiaConfig::new(manifest.version, manifest.head, cookie_key.clone())
                .with_https(https),
            started: Instant::now(),
            env: env.to_owned(),
            signup,
        }
    }
}
