//! How a handler answers a change a form asked for, the same way for every resource: done,
//! the handler's own redirect (usually with a flash); refused for a field
//! ([`app::Error::Invalid`]), back to the form with the reason in `props.errors`; anything
//! else, the [`ApiError`] the domain error maps to (404, 403 or 500). Also the one way a
//! public id from a URL becomes a database id.

use axum::response::Response;

use super::ApiError;
use crate::app::{self, App};
use crate::inertia::{Errors, Inertia};

/// The database id behind a public id; anything undecodable is a record that does not
/// exist.
///
/// # Errors
/// [`app::Error::NotFound`] for an id this app did not hand out.
pub(super) fn decode(app: &App, public: &str) -> app::Result<i64> {
    app.ids().decode(public).ok_or(app::Error::NotFound)
}

/// Answers the outcome of a change: `done(inertia, value)` when it was made, a redirect to
/// `back` with the field's error when it was invalid.
///
/// # Errors
/// Every other domain error, as its [`ApiError`].
pub(super) fn answer<T>(
    inertia: Inertia,
    back: &str,
    outcome: app::Result<T>,
    done: impl FnOnce(Inertia, T) -> Response,
) -> Result<Response, ApiError> {
    match outcome {
        Ok(value) => Ok(done(inertia, value)),
        Err(app::Error::Invalid { field, message }) => Ok(inertia
            .errors(Errors::new().add(field, message))
            .redirect(back)),
        Err(other) => Err(other.into()),
    }
}
