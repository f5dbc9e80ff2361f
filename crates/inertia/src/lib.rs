//! A thin server side of the Inertia v3 protocol for axum (see `docs/protocols.md` §3).
//!
//! - [`Inertia`] is the extractor handlers use: `inertia.render("Users/Index", props)` answers
//!   the first visit with the HTML shell (the page object in
//!   `<script data-page="app" type="application/json">`) and Inertia visits with the page
//!   object as JSON; `inertia.errors(..).back()` and `inertia.flash(..).redirect(..)` carry
//!   validation errors and flash data to the next page in an encrypted cookie, so nothing is
//!   kept on the server.
//! - [`Props`] holds eager, optional (lazy), deferred and always props; partial reloads
//!   (`X-Inertia-Partial-*`, dot paths) decide which are evaluated.
//! - [`middleware`] answers stale asset versions with 409, turns 302 into 303 after
//!   PUT/PATCH/DELETE and external redirects into 409 + `X-Inertia-Location`.
//!
//! The module knows nothing about the application: the HTML around the page and the asset
//! version come in through [`InertiaConfig`].

mod config;
mod extract;
mod filter;
mod middleware;
mod page;
mod props;
mod request;
mod session;
mod shell;

pub use config::InertiaConfig;
pub use extract::{Inertia, SharedProps};
pub use middleware::middleware;
pub use page::Page;
pub use props::Props;
pub use request::InertiaRequest;
pub use session::Errors;

/// The parsers of request input, for the fuzz targets (`fuzz/`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::filter::{prune, top_level_excluded, top_level_wanted};
    pub use super::session::{Carry, read as read_carry, write as write_carry};
}

/// Request header that marks an Inertia visit (and response header that marks the answer).
pub const X_INERTIA: &str = "x-inertia";
/// The client's asset version.
pub const X_INERTIA_VERSION: &str = "x-inertia-version";
/// Where the client must go with a full page load (409 answers).
pub const X_INERTIA_LOCATION: &str = "x-inertia-location";
/// Component a partial reload is for.
pub const X_INERTIA_PARTIAL_COMPONENT: &str = "x-inertia-partial-component";
/// Comma list of props a partial reload wants.
pub const X_INERTIA_PARTIAL_DATA: &str = "x-inertia-partial-data";
/// Comma list of props a partial reload does not want.
pub const X_INERTIA_PARTIAL_EXCEPT: &str = "x-inertia-partial-except";
/// Comma list of props to reset rather than merge.
pub const X_INERTIA_RESET: &str = "x-inertia-reset";
/// The error bag of a form visit.
pub const X_INERTIA_ERROR_BAG: &str = "x-inertia-error-bag";

/// Errors of rendering a page.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A lazy, optional or deferred prop failed to evaluate.
    #[error("prop {key:?} failed: {message}")]
    Prop {
        /// The prop's key.
        key: String,
        /// What went wrong (for logs only, never for clients).
        message: String,
    },
    /// The page object could not be serialised.
    #[error("cannot serialise the page: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
