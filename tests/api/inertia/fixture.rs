//! Test routes for the Inertia checklist, wrapped in the real edge (`trifecta::web::edge`),
//! and request helpers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use reqwest::header::LOCATION;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Map, Value, json};
use trifecta::config::ServeConfig;
use trifecta::inertia::{Errors, Inertia, Props, SharedProps};
use trifecta::web::{ApiError, AppState};

use crate::helpers::{TestApp, serve_router};

pub(super) const EVIL: &str = "</script><script>alert(1)</script>&\u{2028}";

pub(super) struct Fixture {
    pub(super) app: TestApp,
    pub(super) addr: SocketAddr,
    pub(super) version: String,
    pub(super) runs: Arc<AtomicUsize>,
    pub(super) lazy_runs: Arc<AtomicUsize>,
    _server: tokio::task::JoinHandle<()>,
}

impl Fixture {
    pub(super) async fn new() -> Fixture {
        let app = TestApp::spawn().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let lazy_runs = Arc::new(AtomicUsize::new(0));
        let router = trifecta::web::edge(
            routes(runs.clone(), lazy_runs.clone()),
            app.state.clone(),
            &ServeConfig::default(),
        );
        let (addr, server) = serve_router(router).await;
        Fixture {
            version: app.state.site.inertia.version().to_owned(),
            app,
            addr,
            runs,
            lazy_runs,
            _server: server,
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// An Inertia visit with the current asset version.
    pub(super) fn visit(&self, client: &Client, method: Method, path: &str) -> RequestBuilder {
        client
            .request(method, self.url(path))
            .header("X-Inertia", "true")
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Accept", "text/html, application/xhtml+xml")
            .header("X-Inertia-Version", &self.version)
    }

    pub(super) fn partial(&self, component: &str, data: &str, except: &str) -> RequestBuilder {
        let mut req = self
            .visit(&self.app.client, Method::GET, "/t/page")
            .header("X-Inertia-Partial-Component", component);
        if !data.is_empty() {
            req = req.header("X-Inertia-Partial-Data", data);
        }
        if !except.is_empty() {
            req = req.header("X-Inertia-Partial-Except", except);
        }
        req
    }
}

fn routes(runs: Arc<AtomicUsize>, lazy_runs: Arc<AtomicUsize>) -> Router<AppState> {
    let shared = SharedProps(Map::from_iter([("appName".to_owned(), json!("trifecta"))]));
    Router::new()
        .route(
            "/t/page",
            get(move |inertia: Inertia| page(inertia, lazy_runs.clone())),
        )
        .route(
            "/t/count",
            any(move |inertia: Inertia| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    inertia
                        .render("T/Count", Props::new())
                        .await
                        .map_err(ApiError::from)
                }
            }),
        )
        .route("/t/redirect", any(|| async { found("/t/page") }))
        .route(
            "/t/redirect307",
            any(|| async {
                (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, "/t/page")]).into_response()
            }),
        )
        .route(
            "/t/external",
            post(|| async { found("https://example.com/elsewhere") }),
        )
        .route(
            "/t/away",
            get(|inertia: Inertia| async move { inertia.location("https://example.com/away") }),
        )
        .route("/t/form", post(form).put(form))
        .route(
            "/t/boom",
            get(|| async { Err::<(), _>(ApiError::internal("secret detail: disk /var/x failed")) }),
        )
        .route("/t/panic", get(panics))
        .layer(Extension(shared))
}

#[allow(clippy::unused_async)]
async fn panics() -> &'static str {
    #[allow(clippy::panic)]
    {
        panic!("secret panic detail")
    }
}

fn found(to: &'static str) -> Response {
    (StatusCode::FOUND, [(LOCATION, to)]).into_response()
}

async fn page(inertia: Inertia, lazy_runs: Arc<AtomicUsize>) -> Result<Response, ApiError> {
    let props = Props::new()
        .prop("title", "Hello")
        .prop("evil", EVIL)
        .prop(
            "auth",
            json!({"user": {"name": "Ada", "email": "ada@example.com"}, "team": {"id": 7}}),
        )
        .always("always", "here")
        .merge("items", [1, 2])
        .optional("lazy", move || async move {
            lazy_runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>("lazy value")
        })
        .deferred("comments", "default", || async {
            Ok::<_, Infallible>(["c1", "c2"])
        })
        .deferred("related", "sidebar", || async {
            Ok::<_, Infallible>(json!(["r1"]))
        });
    Ok(inertia.render("T/Page", props).await?)
}

async fn form(inertia: Inertia, Json(body): Json<Value>) -> Response {
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    if name.is_empty() {
        inertia
            .errors(Errors::new().add("name", "The name field is required."))
            .back()
    } else {
        inertia
            .flash("notice", format!("Saved {name}"))
            .redirect("/t/page")
    }
}

pub(super) fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON inside `<script data-page="app" type="application/json">...</script>`, which
/// must be followed by the mount point.
pub(super) fn page_from_html(html: &str) -> Value {
    let open = "<script data-page=\"app\" type=\"application/json\">";
    let start = html.find(open).expect("script element") + open.len();
    let end = start + html[start..].find("</script>").expect("end of script");
    assert!(
        html[end..].starts_with("</script>\n<div id=\"app\"></div>"),
        "mount point follows the script"
    );
    serde_json::from_str(&html[start..end]).expect("page JSON")
}
