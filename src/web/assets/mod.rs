//! The front end built by Vite into `assets/dist/`, embedded in the binary: the manifest
//! (script and style tags, Inertia asset version) and `GET /assets/*` with immutable caching,
//! `ETag`/304 and precompressed gzip, brotli and zstd variants.

mod compress;
mod manifest;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

pub(super) use compress::warm;
pub(super) use manifest::Manifest;

use super::{ApiError, AppState};
use compress::Encoding;

/// The Vite output. A missing build fails compilation (see build.rs).
#[derive(RustEmbed)]
#[folder = "assets/dist/"]
struct Dist;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/assets/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let key = format!("assets/{path}");
    let Some(file) = Dist::get(&key) else {
        return ApiError::NotFound.into_response();
    };
    let hash = hex::encode(&file.metadata.sha256_hash()[..12]);
    let variants = compress::variants(&key);
    let encoding = Encoding::negotiate(&headers, variants.map(|v| v.available()));
    // Until the startup precompression is done, the compression layer encodes on the fly
    // and one tag covers every encoding: a weak one.
    let etag = match variants {
        Some(_) => format!("\"{hash}{}\"", encoding.etag_suffix()),
        None => format!("W/\"{hash}\""),
    };
    let mut out = HeaderMap::new();
    out.insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    out.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::try_from(&etag) {
        out.insert(ETAG, v);
    }
    if if_none_match(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    if let Ok(v) = HeaderValue::try_from(file.metadata.mimetype()) {
        out.insert(CONTENT_TYPE, v);
    }
    let body = match (encoding, variants) {
        (Encoding::Identity, _) | (_, None) => file.data.into_owned(),
        (enc, Some(v)) => {
            if let Some(name) = enc.header() {
                out.insert(CONTENT_ENCODING, HeaderValue::from_static(name));
            }
            v.get(enc).to_vec()
        }
    };
    (StatusCode::OK, out, body).into_response()
}

/// Whether `If-None-Match` lists `etag` (or `*`). Weak comparison, as RFC 9110 asks for 304.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == bare)
}
