//! Who is asking: the session cookie (signed, HttpOnly, SameSite=Lax, Secure on HTTPS) and
//! the extractors handlers use. A missing, tampered or stale cookie is an anonymous visitor.

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::SignedCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};

use super::{ApiError, AppState, Cookies};
use crate::app::{self, App, Session, User};
use crate::inertia::SharedProps;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "_trifecta_session";

/// The signed-in user and their session, or a redirect to `/login`.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// The user.
    pub user: User,
    /// Their session.
    pub session: Session,
}

/// The signed-in user if there is one.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// What happens to an anonymous visitor on a page that needs a user.
#[derive(Debug)]
pub enum AuthRejection {
    /// Go sign in.
    Login,
    /// The lookup failed on our side.
    Error(ApiError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Login => Redirect::to("/login").into_response(),
            AuthRejection::Error(e) => e.into_response(),
        }
    }
}

/// Resolves the session cookie of a request to a live session.
///
/// # Errors
/// Database failures only; every kind of bad cookie is `Ok(None)`.
pub async fn resolve(
    app: &App,
    key: &Key,
    headers: &axum::http::HeaderMap,
) -> app::Result<Option<CurrentUser>> {
    let jar = SignedCookieJar::from_headers(headers, key.clone());
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let found = app.resume_session(&token).await?;
    Ok(found.map(|(session, user)| CurrentUser { user, session }))
}

impl<S> FromRequestParts<S> for MaybeUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<MaybeUser>() {
            return Ok(found.clone());
        }
        let state = AppState::from_ref(state);
        let found = MaybeUser(resolve(&state.app, &state.cookies.key, &parts.headers).await?);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeUser::from_request_parts(parts, state).await {
            Ok(MaybeUser(Some(user))) => Ok(user),
            Ok(MaybeUser(None)) => Err(AuthRejection::Login),
            Err(e) => Err(AuthRejection::Error(e)),
        }
    }
}

/// Middleware on every page: resolves the session once, keeps it in the request
/// extensions, and shares `auth: {user}` (or `auth: {user: null}`) with every Inertia page.
pub async fn load_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let found = match resolve(&state.app, &state.cookies.key, request.headers()).await {
        Ok(found) => found,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let user = found.as_ref().map(|c| {
        serde_json::json!({
            "id": state.app.ids().encode(c.user.id),
            "name": c.user.name,
            "email_address": c.user.email_address,
            "site_admin": c.user.site_admin,
        })
    });
    let mut shared = request
        .extensions()
        .get::<SharedProps>()
        .cloned()
        .unwrap_or_default();
    shared
        .0
        .insert("auth".to_owned(), serde_json::json!({ "user": user }));
    request.extensions_mut().insert(shared);
    request.extensions_mut().insert(MaybeUser(found));
    next.run(request).await
}

/// Route layer for pages that need a signed-in user: anonymous visitors go to `/login`.
pub async fn require_user(request: Request, next: Next) -> Response {
    let signed_in = request
        .extensions()
        .get::<MaybeUser>()
        .is_some_and(|m| m.0.is_some());
    if signed_in {
        next.run(request).await
    } else {
        Redirect::to("/login").into_response()
    }
}

/// The cookie that carries a new session's token.
pub fn session_cookie(cookies: &Cookies, token: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(SESSION_COOKIE, token);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    if let Ok(age) = cookie::time::Duration::try_from(cookies.max_age) {
        cookie.set_max_age(age);
    }
    cookie
}

/// The cookie that removes the session cookie.
pub fn removal_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::from(SESSION_COOKIE);
    cookie.set_path("/");
    cookie
}
