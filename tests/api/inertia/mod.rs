//! The Inertia v3 acceptance checklist (`docs/protocols.md` §3.10), point by point, against test
//! routes wrapped in the real edge (`trifecta::web::edge`).

mod fixture;

use std::sync::atomic::Ordering;

use reqwest::header::{CONTENT_TYPE, LOCATION, VARY};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestResult, cookie_client};
use fixture::{EVIL, Fixture, header, page_from_html};

// 1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_visit_is_html_with_the_page_in_a_script_element() -> TestResult {
    let f = Fixture::new().await;
    let res = f.app.client.get(f.url("/t/page?x=1&y=2")).send().await?;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert!(header(&res, "vary").contains("X-Inertia"));
    assert!(res.headers().get("x-inertia").is_none());
    let html = res.text().await?;
    let page = page_from_html(&html);
    assert_eq!(page["component"], "T/Page");
    assert_eq!(page["props"]["errors"], json!({}));
    assert_eq!(page["url"], "/t/page?x=1&y=2");
    assert_eq!(page["version"], f.version.as_str());
    assert_eq!(
        page["props"]["evil"], EVIL,
        "a prop containing </script> cannot end the element"
    );
    f.app.stop().await
}

// 2
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inertia_visit_gets_the_same_page_object_as_json() -> TestResult {
    let f = Fixture::new().await;
    let html = f
        .app
        .client
        .get(f.url("/t/page"))
        .send()
        .await?
        .text()
        .await?;
    let from_html = page_from_html(&html);
    let res = f
        .visit(&f.app.client, Method::GET, "/t/page")
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/json");
    assert_eq!(header(&res, "x-inertia"), "true");
    assert!(header(&res, VARY.as_str()).contains("X-Inertia"));
    let page: Value = res.json().await?;
    assert_eq!(page, from_html);
    assert_eq!(page["props"]["appName"], "trifecta", "shared prop");
    assert_eq!(page["sharedProps"], json!(["appName"]));
    assert_eq!(page["mergeProps"], json!(["items"]));
    assert!(page.get("flash").is_none());
    f.app.stop().await
}

// 3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_version_is_409_to_the_full_url_without_running_the_handler() -> TestResult {
    let f = Fixture::new().await;
    let path = "/t/count?a=1&b=two";
    for version in [Some("stale"), None] {
        let mut req = f.app.client.get(f.url(path)).header("X-Inertia", "true");
        if let Some(v) = version {
            req = req.header("X-Inertia-Version", v);
        }
        let res = req.send().await?;
        assert_eq!(res.status(), StatusCode::CONFLICT, "version {version:?}");
        assert_eq!(header(&res, "x-inertia-location"), f.url(path));
        assert!(res.bytes().await?.is_empty());
    }
    assert_eq!(f.runs.load(Ordering::SeqCst), 0, "handler not run");
    let res = f.visit(&f.app.client, Method::GET, path).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(f.runs.load(Ordering::SeqCst), 1);
    let res = f
        .app
        .client
        .post(f.url(path))
        .header("X-Inertia", "true")
        .header("X-Inertia-Version", "stale")
        .send()
        .await?;
    assert_eq!(res.status(), 200, "POST is never 409");
    assert_eq!(f.runs.load(Ordering::SeqCst), 2);
    f.app.stop().await
}

// 4
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_after_put_patch_delete_become_303() -> TestResult {
    let f = Fixture::new().await;
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let res = f
            .visit(&f.app.client, method.clone(), "/t/redirect")
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{method}");
        assert_eq!(header(&res, "location"), "/t/page");
    }
    let res = f
        .visit(&f.app.client, Method::POST, "/t/redirect")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FOUND, "POST keeps 302");
    let res = f
        .visit(&f.app.client, Method::PUT, "/t/redirect307")
        .send()
        .await?;
    assert_eq!(
        res.status(),
        StatusCode::TEMPORARY_REDIRECT,
        "307 unchanged"
    );
    let res = f.app.client.put(f.url("/t/redirect")).send().await?;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "non-Inertia requests untouched"
    );
    f.app.stop().await
}

// 5
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_redirect_becomes_409_with_the_location() -> TestResult {
    let f = Fixture::new().await;
    let res = f
        .visit(&f.app.client, Method::POST, "/t/external")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        header(&res, "x-inertia-location"),
        "https://example.com/elsewhere"
    );
    assert!(res.headers().get(LOCATION).is_none());
    let res = f.app.client.post(f.url("/t/external")).send().await?;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "plain 302 without X-Inertia"
    );

    let res = f
        .visit(&f.app.client, Method::GET, "/t/away")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        header(&res, "x-inertia-location"),
        "https://example.com/away"
    );
    let res = f.app.client.get(f.url("/t/away")).send().await?;
    assert_eq!(res.status(), StatusCode::FOUND);
    f.app.stop().await
}

fn keys(page: &Value) -> Vec<String> {
    let mut k: Vec<String> = page["props"]
        .as_object()
        .expect("props")
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

// 6
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_reloads_send_only_what_was_asked() -> TestResult {
    let f = Fixture::new().await;
    let full: Value = f
        .visit(&f.app.client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        keys(&full),
        [
            "always", "appName", "auth", "errors", "evil", "items", "title"
        ],
        "no optional or deferred props in a full visit"
    );
    assert_eq!(
        f.lazy_runs.load(Ordering::SeqCst),
        0,
        "optional prop not evaluated"
    );

    let page: Value = f
        .partial("T/Page", "title", "")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(keys(&page), ["always", "errors", "title"]);

    let page: Value = f.partial("Other", "title", "").send().await?.json().await?;
    assert_eq!(keys(&page), keys(&full), "another component: full props");

    let page: Value = f
        .partial("T/Page", "", "evil,auth.user.email")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        keys(&page),
        ["always", "appName", "auth", "errors", "items", "title"]
    );
    assert_eq!(
        page["props"]["auth"],
        json!({"user": {"name": "Ada"}, "team": {"id": 7}})
    );

    let page: Value = f
        .partial("T/Page", "auth.user.name,lazy", "")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["props"]["auth"], json!({"user": {"name": "Ada"}}));
    assert_eq!(page["props"]["lazy"], "lazy value");
    assert_eq!(f.lazy_runs.load(Ordering::SeqCst), 1);

    let page: Value = f
        .partial("T/Page", "items", "")
        .header("X-Inertia-Reset", "items")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["props"]["items"], json!([1, 2]));
    assert!(
        page.get("mergeProps").is_none(),
        "reset props are not merged"
    );
    f.app.stop().await
}

// 7
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_props_are_listed_then_loaded_per_group() -> TestResult {
    let f = Fixture::new().await;
    let full: Value = f
        .visit(&f.app.client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert!(full["props"].get("comments").is_none());
    assert_eq!(
        full["deferredProps"],
        json!({"default": ["comments"], "sidebar": ["related"]})
    );
    let page: Value = f
        .partial("T/Page", "comments", "")
        .header("Cache-Control", "no-cache")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(keys(&page), ["always", "comments", "errors"]);
    assert_eq!(page["props"]["comments"], json!(["c1", "c2"]));
    assert!(page.get("deferredProps").is_none());
    f.app.stop().await
}

// 8
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_come_back_once_after_the_redirect() -> TestResult {
    let f = Fixture::new().await;
    let client = cookie_client();
    let back = f.url("/t/page");
    let res = f
        .visit(&client, Method::POST, "/t/form")
        .header("Referer", &back)
        .json(&json!({"name": ""}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header(&res, "location"), back);
    assert!(
        !header(&res, "set-cookie").contains("required"),
        "the cookie is encrypted"
    );
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        page["props"]["errors"],
        json!({"name": "The name field is required."})
    );
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["props"]["errors"], json!({}), "shown once");

    let res = f
        .visit(&client, Method::PUT, "/t/form")
        .header("Referer", &back)
        .header("X-Inertia-Error-Bag", "createUser")
        .json(&json!({"name": ""}))
        .send()
        .await?;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "PUT redirects with 303"
    );
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        page["props"]["errors"],
        json!({"createUser": {"name": "The name field is required."}})
    );

    let res = f
        .visit(&client, Method::POST, "/t/form")
        .header("X-Inertia-Error-Bag", "createUser")
        .json(&json!({"name": "Ada"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FOUND);
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        page["props"]["errors"],
        json!({}),
        "success with a bag: {{}}"
    );
    f.app.stop().await
}

// 9
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_is_shown_once_and_survives_a_version_reload() -> TestResult {
    let f = Fixture::new().await;
    let client = cookie_client();
    let res = f
        .visit(&client, Method::POST, "/t/form")
        .json(&json!({"name": "Ada"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header(&res, "location"), "/t/page");
    let res = client
        .get(f.url("/t/page"))
        .header("X-Inertia", "true")
        .header("X-Inertia-Version", "old")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["flash"], json!({"notice": "Saved Ada"}));
    assert!(page["props"].get("flash").is_none(), "flash is top-level");
    let page: Value = f
        .visit(&client, Method::GET, "/t/page")
        .send()
        .await?
        .json()
        .await?;
    assert!(
        page.get("flash").is_none(),
        "not on the next request: {page}"
    );

    // A tampered cookie is ignored, not an error.
    let res = f
        .visit(&f.app.client, Method::GET, "/t/page")
        .header("Cookie", "inertia_flash=not-a-valid-ciphertext")
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    assert!(
        header(&res, "set-cookie").starts_with("inertia_flash=;"),
        "and cleared: {}",
        header(&res, "set-cookie")
    );
    f.app.stop().await
}

// 10
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_inertia_pages_or_plain_html_never_internal_text() -> TestResult {
    let f = Fixture::new().await;
    let res = f
        .visit(&f.app.client, Method::GET, "/t/panic")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        res.headers().get("x-inertia").is_none(),
        "client shows its dialog"
    );
    assert!(header(&res, CONTENT_TYPE.as_str()).starts_with("text/html"));
    let body = res.text().await?;
    assert!(body.contains("Something went wrong") && !body.contains("secret"));

    let res = f
        .visit(&f.app.client, Method::GET, "/t/boom")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(header(&res, "x-inertia"), "true", "an Inertia error page");
    let body = res.text().await?;
    assert!(!body.contains("secret"), "{body}");
    let page: Value = serde_json::from_str(&body)?;
    assert_eq!(page["component"], "Error");
    assert_eq!(page["props"]["status"], 500);

    let res = f
        .visit(&f.app.client, Method::GET, "/t/missing")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&res, "x-inertia"), "true");
    let page: Value = res.json().await?;
    assert_eq!(page["component"], "Error");
    assert_eq!(page["props"]["status"], 404);

    let res = f
        .app
        .client
        .get(f.url("/t/boom"))
        .header("Accept", "text/html")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.headers().get("x-inertia").is_none());
    let html = res.text().await?;
    assert!(!html.contains("secret"));
    assert_eq!(page_from_html(&html)["component"], "Error");
    f.app.stop().await
}
