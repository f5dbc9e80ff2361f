//! CSRF protection, the way the Inertia client expects it: the server sets an `XSRF-TOKEN`
//! cookie (readable by scripts) on responses, and every request that can change state must
//! echo it in the `X-XSRF-TOKEN` header (the Inertia client does this by itself). Another
//! origin can neither read the cookie nor set the header, so it cannot forge requests.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Cookie the server sets.
pub const COOKIE: &str = "XSRF-TOKEN";
/// Header the client must send back.
pub const HEADER: &str = "x-xsrf-token";

/// Middleware: checks unsafe methods, and issues the cookie where it is missing.
pub async fn protect(
    State(cookies): State<super::Cookies>,
    request: Request,
    next: Next,
) -> Response {
    let cookie = cookie_value(request.headers(), COOKIE);
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        let sent = request.headers().get(HEADER).and_then(|v| v.to_str().ok());
        let valid = match (&cookie, sent) {
            (Some(c), Some(s)) => !c.is_empty() && constant_time_eq(c.as_bytes(), s.as_bytes()),
            _ => false,
        };
        if !valid {
            tracing::info!(method = %request.method(), uri = %request.uri(), "CSRF check failed");
            return (
                StatusCode::FORBIDDEN,
                "Invalid or missing CSRF token: send the value of the XSRF-TOKEN cookie in the X-XSRF-TOKEN header. Reload the page to get a fresh token.",
            )
                .into_response();
        }
    }
    let secure = cookies.secure;
    let mut response = next.run(request).await;
    if cookie.is_none()
        && let Some(token) = new_token()
    {
        let secure = if secure { "; Secure" } else { "" };
        if let Ok(v) =
            HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; SameSite=Lax{secure}"))
        {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
}

fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
