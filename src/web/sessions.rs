//! Sign in, sign out and sign up, as Rails 8's authentication generator: `GET /login`,
//! `POST /session`, `DELETE /session`, `GET /signup`, `POST /registration`.
//!
//! Sign-in attempts are limited per client address and per email address (10 each per 3
//! minutes) through Solid Cache, so the limit holds across processes sharing the storage
//! directory: an address failing with many emails locks out only itself, and an account
//! cannot be tried from many addresses. Behind a trusted proxy the client address is the
//! forwarded client ([`super::proxy`]), so each of the proxy's clients has its own limit.
//! The attempt is counted (an atomic increment in one write transaction) before the password
//! is checked, and an attempt that cannot be counted is refused: the limit fails closed. A
//! session starts with a fresh CSRF token.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::SignedCookieJar;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{self, MaybeUser};
use super::error::Chain;
use super::input::Input;
use super::proxy::ClientInfo;
use super::{ApiError, AppState};
use crate::app::{self, NewUser};
use crate::inertia::{Errors, Inertia, Props};

/// Most sign-in attempts per client address within [`RATE_WINDOW`].
pub const RATE_LIMIT: i64 = 10;
/// Most sign-in attempts per email address, from any client address, within [`RATE_WINDOW`].
pub const EMAIL_RATE_LIMIT: i64 = 10;
/// The rate-limit window.
pub const RATE_WINDOW: Duration = Duration::from_secs(180);
/// Longest wait for the cache file to count an attempt: longer than a best-effort cache
/// write, because an attempt that cannot be counted is refused.
const COUNT_TIMEOUT: Duration = Duration::from_secs(1);

const BAD_LOGIN: &str = "Try another email address or password.";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/session", post(create_session).delete(destroy_session))
        .route("/signup", get(signup_page))
        .route("/registration", post(create_registration))
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
pub(super) struct Credentials {
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
pub(super) struct Registration {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    password: String,
}

/// The client's address as the edge decided it (behind trusted proxies, the forwarded
/// client; see [`super::proxy`]).
fn client_ip(parts_ext: &axum::http::Extensions) -> Option<String> {
    parts_ext
        .get::<ClientInfo>()
        .and_then(|info| info.addr)
        .map(|addr| addr.to_string())
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Request head pieces the handlers need besides the body.
struct Client {
    ip: Option<String>,
    user_agent: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client {
            ip: client_ip(&parts.extensions),
            user_agent: user_agent(&parts.headers),
        })
    }
}

async fn login_page(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    if user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let props = Props::new().prop("signup_enabled", state.site.signup);
    Ok(inertia.render("Auth/Login", props).await?)
}

async fn create_session(
    State(state): State<AppState>,
    client: Client,
    jar: SignedCookieJar,
    inertia: Inertia,
    Input(form): Input<Credentials>,
) -> Result<Response, ApiError> {
    match sign_in_limit(&state, client.ip.as_deref(), &form.email_address).await {
        Limit::Allowed => {}
        refused => return Ok(refuse_sign_in(inertia, refused, client.ip.as_deref())),
    }
    let user = state
        .app
        .authenticate(&form.email_address, &form.password)
        .await?;
    let Some(user) = user else {
        return Ok(inertia
            .errors(Errors::new().add("email_address", BAD_LOGIN))
            .redirect("/login"));
    };
    start_session(&state, &user, client, jar, inertia.redirect("/")).await
}

/// Starts a session for `user` and answers `then` with its cookie and its fresh CSRF
/// token: the token held before signing in (which a page or script could have seen) stops
/// working with the new session.
async fn start_session(
    state: &AppState,
    user: &crate::app::User,
    client: Client,
    jar: SignedCookieJar,
    then: Response,
) -> Result<Response, ApiError> {
    let session = state
        .app
        .start_session(user, client.ip, client.user_agent)
        .await?;
    let mut response = (
        jar.add(auth::session_cookie(&state.cookies, session.token.clone())),
        then,
    )
        .into_response();
    super::csrf::issue_for_session(&state.cookies, &session.token, response.headers_mut());
    Ok(response)
}

async fn destroy_session(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    jar: SignedCookieJar,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    if let Some(current) = user {
        state.app.end_session(&current.session.token).await?;
        // Sockets of this session stop now, on every server, rather than at their next
        // reconnect.
        super::cable_auth::disconnect_sessions(&state.actioncable, &[current.session.id], false)
            .await;
    }
    let jar = jar.remove(auth::removal_cookie());
    Ok((jar, inertia.redirect("/login")).into_response())
}

async fn signup_page(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    if !state.site.signup {
        return Err(ApiError::NotFound);
    }
    if user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(inertia.render("Auth/Signup", Props::new()).await?)
}

async fn create_registration(
    State(state): State<AppState>,
    client: Client,
    jar: SignedCookieJar,
    inertia: Inertia,
    Input(form): Input<Registration>,
) -> Result<Response, ApiError> {
    if !state.site.signup {
        return Err(ApiError::NotFound);
    }
    let name = (!form.name.trim().is_empty()).then(|| form.name.clone());
    let new = NewUser {
        email_address: form.email_address,
        password: form.password,
        name,
        site_admin: false,
    };
    // Every invalid field at once, before the (slow) password hash.
    let mut problems = state.app.registration_errors(&new).await?;
    let created = if problems.is_empty() {
        Some(state.app.create_user(new).await)
    } else {
        None
    };
    let user = match created {
        Some(Ok(user)) => user,
        Some(Err(app::Error::Invalid { field, message })) => {
            problems.push((field, message));
            return Ok(signup_errors(inertia, problems));
        }
        Some(Err(e)) => return Err(e.into()),
        None => return Ok(signup_errors(inertia, problems)),
    };
    tracing::info!(user = %user.email_address, site_admin = user.site_admin, "signed up");
    let welcome = format!(
        "Welcome, {}!",
        if user.name.is_empty() {
            &user.email_address
        } else {
            &user.name
        }
    );
    let then = inertia.flash("notice", json!(welcome)).redirect("/");
    start_session(&state, &user, client, jar, then).await
}

/// What the sign-in limit decided for one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    /// Counted and within both limits: the password may be checked.
    Allowed,
    /// Counted, and the client address or the email address is over its limit.
    Exceeded,
    /// The attempt could not be counted (the cache file is locked, full or gone).
    Unrecorded,
}

/// Counts this attempt against the client address's window, then the email address's, and
/// decides before any password is checked. Each count is one atomic increment, so a burst of
/// simultaneous attempts gets exactly the limit's worth through. A count that cannot be
/// written refuses the attempt: an unlimited sign-in form is a brute-force oracle.
async fn sign_in_limit(state: &AppState, ip: Option<&str>, email: &str) -> Limit {
    // Normalized as users' addresses are, so case and spaces do not make new counters.
    let email = email.trim().to_lowercase();
    let counters = [
        (
            format!("rate_limit:session:{}", ip.unwrap_or("unknown")),
            RATE_LIMIT,
        ),
        (
            format!("rate_limit:session:email:{email}"),
            EMAIL_RATE_LIMIT,
        ),
    ];
    for (key, limit) in counters {
        match state
            .cache
            .try_increment(&key, 1, Some(RATE_WINDOW), COUNT_TIMEOUT)
            .await
        {
            Ok(count) if count <= limit => {}
            Ok(_) => return Limit::Exceeded,
            Err(err) => {
                tracing::error!(cause = %Chain(&err), "sign-in attempt could not be counted");
                return Limit::Unrecorded;
            }
        }
    }
    Limit::Allowed
}

/// The answer to a refused sign-in: an Inertia visit goes back to the form with the message
/// as a flash and a field error (a 303, which the Inertia client follows); anything else
/// gets `429 Too Many Requests` with the message. Both carry `Retry-After`.
fn refuse_sign_in(inertia: Inertia, limit: Limit, ip: Option<&str>) -> Response {
    let (message, retry) = if limit == Limit::Unrecorded {
        tracing::warn!(?ip, "sign-in refused: the attempt could not be counted");
        (
            "Sign-in is unavailable for a moment: the attempt could not be recorded. Try again shortly.".to_owned(),
            Duration::from_secs(5),
        )
    } else {
        tracing::warn!(?ip, "sign-in rate limit reached");
        let wait = RATE_WINDOW.as_secs() / 60;
        (
            format!("Too many sign-in attempts. Try again in {wait} minutes."),
            RATE_WINDOW,
        )
    };
    let mut response = if inertia.request().is_inertia {
        let mut response = inertia
            .flash("alert", &message)
            .errors(Errors::new().add("email_address", &message))
            .redirect("/login");
        *response.status_mut() = StatusCode::SEE_OTHER;
        response
    } else {
        (StatusCode::TOO_MANY_REQUESTS, message).into_response()
    };
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, retry.as_secs().into());
    response
}

/// Back to the sign-up form with `problems`, each message starting with its field's label.
fn signup_errors(inertia: Inertia, problems: Vec<(&'static str, String)>) -> Response {
    let errors = problems
        .into_iter()
        .fold(Errors::new(), |errors, (field, message)| {
            errors.add(field, format!("{} {message}", label(field)))
        });
    inertia.errors(errors).redirect("/signup")
}

/// The form label of a sign-up field, which starts its error message.
fn label(field: &str) -> &str {
    match field {
        "email_address" => "Email address",
        "password" => "Password",
        "name" => "Name",
        other => other,
    }
}
