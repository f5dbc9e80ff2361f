//! The sign-up form's errors come all at once: every invalid field in one answer, before
//! any password is hashed, and nothing is saved.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Browser, TestApp, TestResult, location, signed_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_field_is_reported_at_once() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "taken@example.com").await;
    let browser = Browser::of(&app);
    let long_name = "n".repeat(101);
    let res = browser
        .send_json(
            Method::POST,
            "/registration",
            json!({"name": long_name, "email_address": "not an email", "password": "short"}),
        )
        .await;
    assert_eq!(location(&res), "/signup");
    let page = browser.page("/signup").await;
    assert_eq!(
        page["props"]["errors"],
        json!({
            "name": "Name is too long (maximum is 100 characters)",
            "email_address": "Email address is invalid",
            "password": "Password is too short (minimum is 8 characters)",
        })
    );

    // A taken address comes together with the other problems too.
    browser
        .send_json(
            Method::POST,
            "/registration",
            json!({"name": "", "email_address": " Taken@Example.com", "password": "short"}),
        )
        .await;
    let page = browser.page("/signup").await;
    assert_eq!(
        page["props"]["errors"],
        json!({
            "email_address": "Email address has already been taken",
            "password": "Password is too short (minimum is 8 characters)",
        })
    );
    assert_eq!(app.state.app.users().await?.len(), 1);
    app.stop().await
}
