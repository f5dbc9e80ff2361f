//! CSRF protection, the way the Inertia client expects it: the server sets an `XSRF-TOKEN`
//! cookie (readable by scripts) on responses, and every request that can change state must
//! echo it in the `X-XSRF-TOKEN` header (the Inertia client does this by itself). Another
//! origin can neither read the cookie nor set the header, so it cannot forge requests.
//!
//! The token rotates at sign-in: a signed-in visitor's token is derived from their session
//! (a keyed hash of the session token), so the token held before signing in, which a page or
//! script could have seen, no longer passes once the session exists, even replayed together
//! with its old cookie.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::SignedCookieJar;
use sha2::{Digest, Sha256};

use super::Cookies;
use super::auth::SESSION_COOKIE;

/// Cookie the server sets.
pub const COOKIE: &str = "XSRF-TOKEN";
/// Header the client must send back.
pub const HEADER: &str = "x-xsrf-token";

/// Middleware: checks unsafe methods, and issues the cookie where it is missing or belongs
/// to another session.
pub async fn protect(State(cookies): State<Cookies>, request: Request, next: Next) -> Response {
    let cookie = cookie_value(request.headers(), COOKIE);
    let expected = expected_token(&cookies, request.headers());
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        let sent = request.headers().get(HEADER).and_then(|v| v.to_str().ok());
        if !accepts(cookie.as_deref(), sent, expected.as_deref()) {
            tracing::info!(method = %request.method(), uri = %request.uri(), "CSRF check failed");
            return (
                StatusCode::FORBIDDEN,
                "Invalid or missing CSRF token: send the value of the XSRF-TOKEN cookie in the X-XSRF-TOKEN header. Reload the page to get a fresh token.",
            )
                .into_response();
        }
    }
    let stale = match (&cookie, &expected) {
        (None, _) => true,
        (Some(c), Some(e)) => c != e,
        (Some(_), None) => false,
    };
    let mut response = next.run(request).await;
    let already_set = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(format!("{COOKIE}=").as_bytes()));
    if stale && !already_set {
        let token = expected.or_else(new_token);
        if let Some(token) = token {
            set_cookie(response.headers_mut(), &token);
        }
    }
    response
}

/// Sets the CSRF cookie of the session whose token is `session` on a response's `headers`:
/// called where a session starts, so the token held before signing in stops working.
pub fn issue_for_session(cookies: &Cookies, session: &str, headers: &mut HeaderMap) {
    set_cookie(headers, &derive(cookies, session));
}

/// Whether a request that can change state passes, given its `XSRF-TOKEN` cookie, the
/// `X-XSRF-TOKEN` header it sent, and the token of its session ([`expected_token`]): the
/// header must equal a non-empty cookie, and the session's token when there is a session.
pub fn accepts(cookie: Option<&str>, sent: Option<&str>, expected: Option<&str>) -> bool {
    match (cookie, sent) {
        (Some(c), Some(s)) => {
            !c.is_empty()
                && constant_time_eq(c.as_bytes(), s.as_bytes())
                && expected.is_none_or(|e| constant_time_eq(e.as_bytes(), s.as_bytes()))
        }
        _ => false,
    }
}

/// The CSRF token that the correctly signed session cookie among `headers` requires, if
/// there is one.
pub fn expected_token(cookies: &Cookies, headers: &HeaderMap) -> Option<String> {
    session_token(cookies, headers).map(|s| derive(cookies, &s))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
}

/// The session token of a correctly signed session cookie (live or not: an ended session
/// is an anonymous visitor, whose token is checked like any other).
fn session_token(cookies: &Cookies, headers: &HeaderMap) -> Option<String> {
    SignedCookieJar::from_headers(headers, cookies.key.clone())
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// The CSRF token of session `session`: a hash keyed with the cookie signing key, so only
/// the server can compute it and it changes with every session.
fn derive(cookies: &Cookies, session: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(cookies.key.signing());
    hash.update(b"\0xsrf\0");
    hash.update(session.as_bytes());
    hex::encode(hash.finalize())
}

fn set_cookie(headers: &mut HeaderMap, token: &str) {
    // `Secure` is added on HTTPS responses by the edge (`proxy::resolve`).
    if let Ok(v) = HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; SameSite=Lax")) {
        headers.append(header::SET_COOKIE, v);
    }
}

fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
