//! [`InertiaRequest`]: what the Inertia headers of one request ask for.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::{
    X_INERTIA, X_INERTIA_ERROR_BAG, X_INERTIA_PARTIAL_COMPONENT, X_INERTIA_PARTIAL_DATA,
    X_INERTIA_PARTIAL_EXCEPT, X_INERTIA_RESET, X_INERTIA_VERSION,
};

/// The Inertia view of a request.
#[derive(Debug, Clone, Default)]
pub struct InertiaRequest {
    /// `X-Inertia: true`: answer with JSON rather than HTML.
    pub is_inertia: bool,
    /// The method.
    pub method: Method,
    /// Path and query, as the page object's `url`.
    pub url: String,
    /// The client's asset version ("" when absent).
    pub version: String,
    /// The component a partial reload is for.
    pub partial_component: Option<String>,
    /// Props (dot paths) a partial reload wants.
    pub partial_data: Vec<String>,
    /// Props (dot paths) a partial reload does not want.
    pub partial_except: Vec<String>,
    /// Props to reset rather than merge.
    pub reset: Vec<String>,
    /// The form's error bag.
    pub error_bag: Option<String>,
    /// The `Referer`, for redirecting back.
    pub referer: Option<String>,
}

impl InertiaRequest {
    /// Reads the headers of `parts`.
    pub fn from_parts(parts: &Parts) -> Self {
        let h = &parts.headers;
        let url = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        Self {
            is_inertia: is_inertia(h),
            method: parts.method.clone(),
            url,
            version: text(h, X_INERTIA_VERSION).unwrap_or_default(),
            partial_component: text(h, X_INERTIA_PARTIAL_COMPONENT).filter(|s| !s.is_empty()),
            partial_data: list(h, X_INERTIA_PARTIAL_DATA),
            partial_except: list(h, X_INERTIA_PARTIAL_EXCEPT),
            reset: list(h, X_INERTIA_RESET),
            error_bag: text(h, X_INERTIA_ERROR_BAG).filter(|s| !s.is_empty()),
            referer: text(h, "referer"),
        }
    }

    /// Whether this is a partial reload of `component`; partial headers for another
    /// component are ignored.
    pub fn is_partial_for(&self, component: &str) -> bool {
        self.is_inertia && self.partial_component.as_deref() == Some(component)
    }
}

/// `X-Inertia: true` on `headers`.
pub(super) fn is_inertia(headers: &HeaderMap) -> bool {
    headers
        .get(X_INERTIA)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    text(headers, name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
