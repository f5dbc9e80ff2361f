//! [`Inertia`]: the extractor handlers render pages and redirect with.

use std::convert::Infallible;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, VARY};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{CookieJar, PrivateCookieJar};
use serde::Serialize;
use serde_json::{Map, Value};

use super::session::{self, Carry};
use super::{
    Errors, InertiaConfig, InertiaRequest, Page, Props, Result, X_INERTIA, X_INERTIA_LOCATION,
    shell,
};

/// Props every page gets, put into the request extensions by an application middleware.
#[derive(Debug, Clone, Default)]
pub struct SharedProps(pub Map<String, Value>);

/// One request's Inertia context: renders pages, redirects with flash data and errors.
#[derive(Debug)]
pub struct Inertia {
    config: InertiaConfig,
    request: InertiaRequest,
    jar: PrivateCookieJar,
    carried: Option<Carry>,
    /// A flash cookie was sent, readable or not; rendering clears it either way.
    had_cookie: bool,
    shared: Map<String, Value>,
    outgoing: Carry,
}

impl<S> FromRequestParts<S> for Inertia
where
    InertiaConfig: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let config = InertiaConfig::from_ref(state);
        Ok(Self::new(config, parts))
    }
}

impl Inertia {
    /// The context of the request whose head is `parts`.
    pub fn new(config: InertiaConfig, parts: &Parts) -> Self {
        let jar = PrivateCookieJar::from_headers(&parts.headers, config.key().clone());
        let carried = session::read(&config, &jar);
        let had_cookie = CookieJar::from_headers(&parts.headers)
            .get(config.cookie_name())
            .is_some();
        let shared = parts
            .extensions
            .get::<SharedProps>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        Self {
            request: InertiaRequest::from_parts(parts),
            config,
            jar,
            carried,
            had_cookie,
            shared,
            outgoing: Carry::default(),
        }
    }

    /// What the Inertia headers asked for.
    pub fn request(&self) -> &InertiaRequest {
        &self.request
    }

    /// Adds a shared prop (sent with every page this request renders).
    #[must_use]
    pub fn share(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(v) => {
                self.shared.insert(key.into(), v);
            }
            Err(err) => tracing::error!(cause = %err, "cannot serialise shared prop"),
        }
        self
    }

    /// Flash data for the next page (top-level `flash`, shown once).
    #[must_use]
    pub fn flash(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(v) => {
                self.outgoing.flash.insert(key.into(), v);
            }
            Err(err) => tracing::error!(cause = %err, "cannot serialise flash value"),
        }
        self
    }

    /// Validation errors for the next page (`props.errors`), nested under the request's
    /// error bag when it names one.
    #[must_use]
    pub fn errors(mut self, errors: Errors) -> Self {
        if errors.is_empty() {
            return self;
        }
        let errors = errors.into_map();
        self.outgoing.errors = match &self.request.error_bag {
            Some(bag) => Map::from_iter([(bag.clone(), Value::Object(errors))]),
            None => errors,
        };
        self
    }

    /// Redirects to `to`: 302, or 303 after PUT/PATCH/DELETE so the browser follows with GET.
    pub fn redirect(self, to: &str) -> Response {
        let status = match self.request.method {
            Method::PUT | Method::PATCH | Method::DELETE => StatusCode::SEE_OTHER,
            _ => StatusCode::FOUND,
        };
        let jar = self.outgoing_jar();
        match HeaderValue::try_from(to) {
            Ok(location) => (status, jar, [(LOCATION, location)]).into_response(),
            Err(_) => {
                tracing::error!(to, "redirect target is not a valid header value");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    /// Redirects to the page the request came from (its `Referer`), else to `/`.
    pub fn back(self) -> Response {
        let to = self
            .request
            .referer
            .clone()
            .unwrap_or_else(|| "/".to_owned());
        self.redirect(&to)
    }

    /// A full-page visit to `url` (another site, or a non-Inertia page): 409 with
    /// `X-Inertia-Location` for Inertia visits, a plain 302 otherwise.
    pub fn location(self, url: &str) -> Response {
        if !self.request.is_inertia {
            return self.redirect(url);
        }
        let jar = self.outgoing_jar();
        match HeaderValue::try_from(url) {
            Ok(v) => (StatusCode::CONFLICT, jar, [(X_INERTIA_LOCATION, v)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    fn outgoing_jar(&self) -> PrivateCookieJar {
        if self.outgoing.is_empty() {
            self.jar.clone()
        } else {
            session::write(&self.config, self.jar.clone(), &self.outgoing)
        }
    }

    /// Renders `component` with `props` (200).
    ///
    /// # Errors
    /// A lazy prop that failed, or props that cannot be serialised.
    pub async fn render(self, component: &str, props: Props) -> Result<Response> {
        self.render_with_status(StatusCode::OK, component, props)
            .await
    }

    /// Renders `component` with `props` and `status` (error pages use 404, 500...).
    ///
    /// # Errors
    /// A lazy prop that failed, or props that cannot be serialised.
    pub async fn render_with_status(
        self,
        status: StatusCode,
        component: &str,
        props: Props,
    ) -> Result<Response> {
        let page = self.page(component, props).await?;
        let jar = if self.carried.is_some() {
            session::clear(&self.config, self.jar.clone())
        } else {
            self.jar.clone()
        };
        let unreadable = if self.had_cookie && self.carried.is_none() {
            session::expire_unreadable(&self.config)
        } else {
            CookieJar::new()
        };
        let vary = (VARY, HeaderValue::from_static("X-Inertia"));
        let no_cache = (CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if self.request.is_inertia {
            let body = serde_json::to_vec(&page)?;
            let headers = [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                vary,
                no_cache,
            ];
            let marker = [(X_INERTIA, HeaderValue::from_static("true"))];
            Ok((status, jar, unreadable, headers, marker, body).into_response())
        } else {
            let html = shell::render(&self.config, &page)?;
            let headers = [
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                vary,
                no_cache,
            ];
            Ok((status, jar, unreadable, headers, html).into_response())
        }
    }

    async fn page(&self, component: &str, props: Props) -> Result<Page> {
        let mut all = Props::new();
        for (k, v) in &self.shared {
            all = all.prop(k.clone(), v);
        }
        let own: Vec<String> = props.keys().map(str::to_owned).collect();
        let resolved = all.extend(props).resolve(&self.request, component).await?;
        let mut props = resolved.props;
        let carried = self.carried.as_ref();
        if !props.contains_key("errors") {
            let errors = carried.map(|c| c.errors.clone()).unwrap_or_default();
            props.insert("errors".to_owned(), Value::Object(errors));
        }
        let shared_props = self
            .shared
            .keys()
            .filter(|k| props.contains_key(*k) && !own.contains(k))
            .cloned()
            .collect();
        Ok(Page {
            component: component.to_owned(),
            props,
            url: self.request.url.clone(),
            version: self.config.version().to_owned(),
            deferred_props: resolved.deferred,
            merge_props: resolved.merge,
            shared_props,
            flash: carried.map(|c| c.flash.clone()).unwrap_or_default(),
            encrypt_history: false,
            clear_history: false,
        })
    }
}
