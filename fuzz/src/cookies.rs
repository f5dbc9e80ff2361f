//! The `Cookie` header as the server reads it: the signed session cookie, the `XSRF-TOKEN`
//! check, and the encrypted flash cookie of Inertia. A signed or encrypted value is accepted
//! only as the server wrote it, and what the server writes reads back the same.
//!
//! Input lines: the `Cookie` header, the `X-XSRF-TOKEN` header, a session token, a flash
//! notice.

use std::sync::LazyLock;
use std::time::Duration;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, Key};
use axum_extra::extract::{PrivateCookieJar, SignedCookieJar};
use serde_json::{Map, Value};
use trifecta::inertia::InertiaConfig;
use trifecta::inertia::fuzzing::{Carry, read_carry, write_carry};
use trifecta::web::Cookies;
use trifecta::web::auth::{SESSION_COOKIE, session_cookie};
use trifecta::web::csrf::{self, accepts, expected_token};

static COOKIES: LazyLock<Cookies> = LazyLock::new(|| Cookies {
    key: Key::from(&[7; 64]),
    max_age: Duration::from_secs(3600),
});

static INERTIA: LazyLock<InertiaConfig> =
    LazyLock::new(|| InertiaConfig::new("v1", "", COOKIES.key.clone()));

/// Checks one request's cookies and tokens.
pub fn run(data: &[u8]) {
    let mut lines = crate::lines(data);
    let cookie = lines.next().unwrap_or_default();
    let sent = lines.next().and_then(|l| std::str::from_utf8(l).ok());
    let token = lines.next().and_then(|l| std::str::from_utf8(l).ok());
    let notice = lines.next().and_then(|l| std::str::from_utf8(l).ok());

    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(cookie) {
        headers.insert(COOKIE, value);
    }
    xsrf(&headers, sent);
    signed_only(&headers);
    if let Some(token) = token.filter(|t| t.bytes().all(is_cookie_octet)) {
        session_round_trip(token);
    }
    if let Some(notice) = notice {
        flash_round_trip(notice);
    }
}

fn xsrf(headers: &HeaderMap, sent: Option<&str>) {
    let cookie = csrf::cookie_value(headers, csrf::COOKIE);
    let header_len = headers.get(COOKIE).map_or(0, HeaderValue::len);
    assert!(cookie.as_ref().is_none_or(|c| c.len() <= header_len));
    let expected = expected_token(&COOKIES, headers);
    if let Some(e) = &expected {
        assert!(
            e.len() == 64 && e.bytes().all(|b| b.is_ascii_hexdigit()),
            "{e:?}"
        );
    }
    let accepted = accepts(cookie.as_deref(), sent, expected.as_deref());
    let should = match (cookie.as_deref(), sent) {
        (Some(c), Some(s)) => !c.is_empty() && c == s && expected.as_deref().is_none_or(|e| e == s),
        _ => false,
    };
    assert_eq!(
        accepted, should,
        "cookie {cookie:?} header {sent:?} session {expected:?}"
    );
}

/// A session cookie in the request counts only when it carries this server's signature.
/// With several cookies of that name, the signed jar keeps one that verifies, whichever
/// comes last: it must be one of those sent.
fn signed_only(headers: &HeaderMap) {
    let jar = SignedCookieJar::from_headers(headers, COOKIES.key.clone());
    if let Some(found) = jar.get(SESSION_COOKIE) {
        let (_, signed) = signed(found.value());
        let header = headers
            .get(COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let sent = header
            .split(';')
            .filter_map(|pair| Cookie::parse_encoded(pair.trim()).ok())
            .any(|c| c.name() == SESSION_COOKIE && c.value() == signed);
        assert!(
            sent,
            "session {:?} accepted but not sent signed",
            found.value()
        );
    }
}

/// The session cookie the server sends for `token`: its `Set-Cookie` header's
/// `name=value` pair as sent (percent-encoded), and the value decoded.
fn signed(token: &str) -> (String, String) {
    let jar =
        SignedCookieJar::new(COOKIES.key.clone()).add(session_cookie(&COOKIES, token.to_owned()));
    let response = jar.into_response();
    let set = response.headers().get(SET_COOKIE).expect("a Set-Cookie");
    let set = set.to_str().expect("ASCII");
    let value = Cookie::parse_encoded(set)
        .expect("a cookie")
        .value()
        .to_owned();
    let pair = set.split(';').next().unwrap_or_default().to_owned();
    (pair, value)
}

fn session_round_trip(token: &str) {
    let (pair, _) = signed(token);
    let mut headers = HeaderMap::new();
    let cookie = HeaderValue::from_str(&pair).expect("a header");
    headers.insert(COOKIE, cookie);
    let jar = SignedCookieJar::from_headers(&headers, COOKIES.key.clone());
    assert_eq!(
        jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()),
        Some(token.to_owned())
    );
    if !token.is_empty() {
        let expected = expected_token(&COOKIES, &headers).expect("a signed session has a token");
        assert!(accepts(Some(&expected), Some(&expected), Some(&expected)));
    }
}

fn flash_round_trip(notice: &str) {
    let mut flash = Map::new();
    flash.insert("notice".to_owned(), Value::from(notice));
    let mut errors = Map::new();
    errors.insert("title".to_owned(), Value::from(notice));
    let carry = Carry { flash, errors };
    let jar = write_carry(&INERTIA, PrivateCookieJar::new(COOKIES.key.clone()), &carry);
    let response = jar.into_response();
    let mut headers = HeaderMap::new();
    for set in response.headers().get_all(SET_COOKIE) {
        let pair = set
            .to_str()
            .expect("ASCII")
            .split(';')
            .next()
            .unwrap_or_default();
        headers.append(COOKIE, HeaderValue::from_str(pair).expect("a header"));
    }
    let jar = PrivateCookieJar::from_headers(&headers, COOKIES.key.clone());
    assert_eq!(read_carry(&INERTIA, &jar), Some(carry));
}

/// RFC 6265's `cookie-octet`: what a cookie value may hold unquoted.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed `signed_session` holds a session cookie signed with this target's key, so
    /// the fuzzer starts inside the verified branch rather than having to forge a MAC.
    #[test]
    fn the_signed_seed_carries_a_session_this_key_accepts() {
        let seed = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpus/cookies/signed_session"
        ))
        .expect("the seed");
        let cookie = crate::lines(&seed).next().expect("a Cookie line");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_bytes(cookie).expect("a header"));
        assert!(expected_token(&COOKIES, &headers).is_some());
    }
}
