//! Sign in, sign out and sign up, as Rails 8's authentication generator: `GET /login`,
//! `POST /session`, `DELETE /session`, `GET /signup`, `POST /registration`. Sign-in attempts
//! are rate-limited per client IP (10 per 3 minutes) through Solid Cache, so the limit
//! holds across processes sharing the storage directory.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::SignedCookieJar;
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, MaybeUser};
use super::input::Input;
use super::{ApiError, AppState};
use crate::app::{self, NewUser};
use crate::inertia::{Errors, Inertia, Props};

/// Most sign-in attempts per client IP within [`RATE_WINDOW`].
pub const RATE_LIMIT: i64 = 10;
/// The rate-limit window.
pub const RATE_WINDOW: Duration = Duration::from_secs(180);

const BAD_LOGIN: &str = "Try another email address or password.";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/session", post(create_session).delete(destroy_session))
        .route("/signup", get(signup_page))
        .route("/registration", post(create_registration))
}

#[derive(Debug, Deserialize)]
struct Credentials {
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
struct Registration {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    password: String,
}

/// The client's address: the TCP peer (trifecta terminates connections itself).
fn client_ip(parts_ext: &axum::http::Extensions) -> Option<String> {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
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
    if !within_rate_limit(&state, client.ip.as_deref()).await {
        let wait = RATE_WINDOW.as_secs() / 60;
        let message = format!("Too many sign-in attempts. Try again in {wait} minutes.");
        tracing::warn!(ip = ?client.ip, "sign-in rate limit reached");
        let mut response = inertia
            .flash("alert", &message)
            .errors(Errors::new().add("email_address", &message))
            .redirect("/login");
        *response.status_mut() = StatusCode::SEE_OTHER;
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            RATE_WINDOW.as_secs().into(),
        );
        return Ok(response);
    }
    let user = state
        .app
        .authenticate(&form.email_address, &form.password)
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user else {
        return Ok(inertia
            .errors(Errors::new().add("email_address", BAD_LOGIN))
            .redirect("/login"));
    };
    let jar = start_session(&state, &user, client, jar).await?;
    Ok((jar, inertia.redirect("/")).into_response())
}

/// Starts a session for `user` and adds its cookie to `jar`.
async fn start_session(
    state: &AppState,
    user: &crate::app::User,
    client: Client,
    jar: SignedCookieJar,
) -> Result<SignedCookieJar, ApiError> {
    let session = state
        .app
        .start_session(user, client.ip, client.user_agent)
        .await
        .map_err(ApiError::internal)?;
    Ok(jar.add(auth::session_cookie(&state.cookies, session.token)))
}

async fn destroy_session(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    jar: SignedCookieJar,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    if let Some(current) = user {
        state
            .app
            .end_session(&current.session.token)
            .await
            .map_err(ApiError::internal)?;
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
    let mut problems = state
        .app
        .registration_errors(&new)
        .await
        .map_err(ApiError::internal)?;
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
        Some(Err(e)) => return Err(ApiError::internal(e)),
        None => return Ok(signup_errors(inertia, problems)),
    };
    tracing::info!(user = %user.email_address, site_admin = user.site_admin, "signed up");
    let jar = start_session(&state, &user, client, jar).await?;
    let welcome = format!(
        "Welcome, {}!",
        if user.name.is_empty() {
            &user.email_address
        } else {
            &user.name
        }
    );
    Ok((jar, inertia.flash("notice", json!(welcome)).redirect("/")).into_response())
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

/// Counts this attempt against the client's window; fails open (logged) when the cache is
/// unusable, because locking everyone out is worse than a briefly unlimited form.
async fn within_rate_limit(state: &AppState, ip: Option<&str>) -> bool {
    let key = format!("rate_limit:session:{}", ip.unwrap_or("unknown"));
    match state.cache.increment(&key, 1, Some(RATE_WINDOW)).await {
        Some(count) => count <= RATE_LIMIT,
        None => true,
    }
}
