//! The operations dashboard over HTTP: who may see and use it (members, anonymous visitors
//! and forged CSRF tokens refused), the job lists with their filters and keyset pages,
//! sensitive arguments filtered, the job page. Its actions and live markers are in
//! `dashboard_actions`.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestResult, location, signed_up, wait_for};
use trifecta::queue::{JobId, JobState};

/// Every dashboard page with its component (the job page is checked on its own).
const PAGES: [(&str, &str); 8] = [
    ("/admin/jobs", "Admin/Jobs/Overview"),
    ("/admin/jobs/failed", "Admin/Jobs/List"),
    ("/admin/jobs/ready", "Admin/Jobs/List"),
    ("/admin/jobs/in_progress", "Admin/Jobs/List"),
    ("/admin/jobs/processes", "Admin/Jobs/Processes"),
    ("/admin/jobs/recurring", "Admin/Jobs/Recurring"),
    ("/admin/cache", "Admin/Cache"),
    ("/admin/cable", "Admin/Cable"),
];

/// A job with secrets in its arguments (no handler is registered for it).
#[derive(serde::Serialize, serde::Deserialize)]
struct SignupMailer {
    message: String,
    password: String,
    auth: Value,
}

impl trifecta::queue::Job for SignupMailer {
    const NAME: &'static str = "SignupMailer";

    fn queue(&self) -> &str {
        "sms"
    }
}

/// Enqueues the built-in `fail` job with `args` on `queue`.
pub(crate) async fn enqueue(app: &TestApp, name: &str, args: Value, queue: &str) -> i64 {
    app.state
        .queue
        .enqueue_named(name, &args.to_string(), Some(queue), None, None)
        .await
        .expect("enqueue")
        .0
}

pub(crate) async fn state_of(app: &TestApp, id: i64) -> Option<JobState> {
    app.state
        .queue
        .job(JobId(id))
        .await
        .expect("job")
        .map(|j| j.state)
}

pub(crate) async fn wait_state(app: &TestApp, id: i64, state: JobState) {
    wait_for(
        &format!("job {id} {}", state.as_str()),
        Duration::from_secs(20),
        || async { (state_of(app, id).await == Some(state)).then_some(()) },
    )
    .await;
}

/// Sends a dashboard action as the Inertia client does.
pub(crate) async fn act(browser: &Browser, path: &str, body: Value) -> reqwest::Response {
    browser.send_json(Method::POST, path, body).await
}

/// The flash the next page shows after an action.
pub(crate) async fn flash(browser: &Browser) -> Value {
    browser.page("/admin/jobs").await["flash"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_site_admins_see_and_use_the_dashboard() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let member = signed_up(&app, "member@example.com").await;
    let anonymous = Browser::of(&app);
    app.state.queue.pause("held").await?;
    let job = enqueue(&app, "noop", json!({}), "held").await;
    let job_page = format!("/admin/jobs/{job}");

    for (path, component) in PAGES
        .iter()
        .copied()
        .chain([(job_page.as_str(), "Admin/Jobs/Show")])
    {
        assert_eq!(
            anonymous.visit(path).await.status(),
            404,
            "anonymous {path}"
        );
        assert_eq!(
            anonymous.get(path).await.status(),
            404,
            "anonymous HTML {path}"
        );
        assert_eq!(member.visit(path).await.status(), 404, "member {path}");
        let page = admin.page(path).await;
        assert_eq!(page["component"], component, "{path}");
    }
    assert_eq!(admin.visit("/admin/jobs/nonsense").await.status(), 404);
    assert_eq!(admin.visit("/admin/jobs/999999").await.status(), 404);

    // Actions: refused for anyone but an admin, and for an admin with a forged token.
    let pause = "/admin/jobs/queues/default/pause";
    for who in [&anonymous, &member] {
        assert_eq!(act(who, pause, json!({})).await.status(), 404);
        let discard = format!("/admin/jobs/{job}/discard");
        assert_eq!(act(who, &discard, json!({})).await.status(), 404);
    }
    let forged = admin
        .client
        .post(app.url(pause))
        .header("x-inertia", "true")
        .header("x-xsrf-token", "forged")
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    assert!(!app.state.queue.is_paused("default").await?);
    assert_eq!(state_of(&app, job).await, Some(JobState::Ready));

    let res = act(&admin, pause, json!({})).await;
    assert_eq!(res.status(), 302, "{}", location(&res));
    assert!(app.state.queue.is_paused("default").await?);
    assert_eq!(
        flash(&admin).await["notice"],
        "Paused queue default: its jobs wait until it is resumed."
    );
    let res = act(&admin, "/admin/jobs/queues/default/resume", json!({})).await;
    assert_eq!(res.status(), 302);
    assert!(!app.state.queue.is_paused("default").await?);
    let res = act(&admin, "/admin/jobs/queues/bad%20name!/pause", json!({})).await;
    assert_eq!(res.status(), 400);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_and_page_and_never_show_secrets() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let mut ids = BTreeSet::new();
    for i in 0..60 {
        ids.insert(
            enqueue(
                &app,
                "fail",
                json!({"message": format!("mail {i}")}),
                "mail",
            )
            .await,
        );
    }
    for i in 0..14 {
        ids.insert(enqueue(&app, "fail", json!({"message": format!("sms {i}")}), "sms").await);
    }
    // A job this server has no handler for fails as unknown, its arguments kept as sent.
    let secret = app
        .state
        .queue
        .enqueue(&SignupMailer {
            message: "smtp down".into(),
            password: "hunter2".into(),
            auth: json!({"api_token": "tok-123"}),
        })
        .await?
        .0;
    ids.insert(secret);
    for _ in 0..5 {
        enqueue(&app, "noop", json!({}), "sms").await;
    }
    wait_for("75 failed, 5 finished", Duration::from_secs(30), || async {
        let s = app.state.queue.stats().await.ok()?;
        (s.totals.get("failed") == Some(&75) && s.totals.get("finished") == Some(&5)).then_some(())
    })
    .await;

    // Every page, newest first, with no job twice and none missing.
    let mut seen = Vec::new();
    let mut times = Vec::new();
    let mut path = "/admin/jobs/failed".to_owned();
    loop {
        let page = admin.page(&path).await;
        let props = &page["props"];
        assert_eq!(props["state"], "failed");
        assert_eq!(props["counts"]["failed"], json!({"n": 75, "more": false}));
        assert_eq!(props["counts"]["finished"], json!({"n": 5, "more": false}));
        let rows = props["jobs"].as_array().expect("jobs");
        assert!(rows.len() <= 50);
        seen.extend(rows.iter().map(|r| r["id"].as_i64().expect("id")));
        times.extend(
            rows.iter()
                .map(|r| r["at"].as_str().expect("at").to_owned()),
        );
        match props["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/jobs/failed?cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 75, "{seen:?}");
    // Newest failure first (RFC 3339 UTC times of one width sort as text).
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), ids);

    // Filters.
    let page = admin.page("/admin/jobs/failed?queue=sms").await;
    let rows = page["props"]["jobs"].as_array().expect("jobs").clone();
    assert_eq!(rows.len(), 15);
    assert!(rows.iter().all(|r| r["queue_name"] == "sms"));
    assert_eq!(page["props"]["filter"]["queue"], "sms");
    assert_eq!(page["props"]["counts"]["failed"]["n"], 15);
    assert!(
        page["props"]["queue_names"].as_array().is_some(),
        "{}",
        page["props"]
    );
    let page = admin.page("/admin/jobs/failed?class=noop").await;
    assert_eq!(page["props"]["jobs"], json!([]));
    let page = admin
        .page("/admin/jobs/finished?class=noop&queue=sms")
        .await;
    assert_eq!(page["props"]["jobs"].as_array().map(Vec::len), Some(5));
    let page = admin
        .page("/admin/jobs/failed?from=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(page["props"]["jobs"], json!([]));
    let page = admin
        .page("/admin/jobs/failed?to=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(page["props"]["jobs"], json!([]));
    let page = admin
        .page("/admin/jobs/failed?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&queue=mail")
        .await;
    assert_eq!(page["props"]["counts"]["failed"]["n"], 60);

    // Bad filter values are a 400 that says which and why.
    for (query, says) in [
        ("from=yesterday", "from"),
        ("cursor=garbage", "cursor"),
        ("from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z", "from"),
    ] {
        let res = admin.visit(&format!("/admin/jobs/failed?{query}")).await;
        assert_eq!(res.status(), 400, "{query}");
        let body = res.text().await?;
        assert!(body.contains(says), "{query}: {body}");
    }

    // Sensitive values are filtered in the list and on the job page.
    let page = admin.page("/admin/jobs/failed?queue=sms").await;
    let row = page["props"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|r| r["id"] == secret)
        .expect("the secret job")
        .clone();
    let shown = row["arguments"].as_str().expect("arguments");
    assert!(
        shown.contains("[FILTERED]") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(!shown.contains("tok-123"), "{shown}");
    assert!(shown.contains("smtp down"), "{shown}");
    assert_eq!(row["class_name"], "SignupMailer");
    let page = admin.page(&format!("/admin/jobs/{secret}")).await;
    let job = &page["props"]["job"];
    let args = job["arguments"].as_str().expect("arguments");
    assert!(
        !args.contains("hunter2") && !args.contains("tok-123"),
        "{args}"
    );
    assert_eq!(job["state"], "failed");
    let attempt = &job["attempts"][0];
    assert_eq!(
        attempt["exception_class"],
        trifecta::queue::UNKNOWN_JOB,
        "{job}"
    );
    assert!(job["process"]["pid"].is_number(), "{job}");
    assert_eq!(
        page["props"]["actions"],
        json!({"retry": true, "discard": true, "run_now": false})
    );
    app.stop().await
}
