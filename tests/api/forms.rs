//! Request bodies: the same change sent as nested JSON (the Inertia client) and as a form
//! with bracketed names (`todo[title]`, what plain HTML forms send) has the same outcome,
//! the refusals included.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestResult, location, signed_up};

/// The todo titled `title` on the board, as the page shows it.
async fn todo(b: &Browser, title: &str) -> Value {
    let page = b.page("/todos").await;
    page["props"]["todos"]
        .as_array()
        .and_then(|todos| todos.iter().find(|t| t["title"] == title))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_change_is_the_same_from_json_and_from_a_form() -> TestResult {
    let app = TestApp::spawn().await;
    let b = signed_up(&app, "ann@example.com").await;
    let json = b
        .send_json(
            Method::POST,
            "/todos",
            json!({"todo": {"title": "by json"}}),
        )
        .await;
    let form = b
        .send_form(Method::POST, "/todos", &[("todo[title]", "by form")])
        .await;
    assert_eq!(
        (location(&json), location(&form)),
        ("/todos".to_owned(), "/todos".to_owned())
    );
    let json_id = todo(&b, "by json").await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let form_id = todo(&b, "by form").await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Done: a checkbox form sends a hidden 0 before its 1, and the last one counts.
    let json = b
        .send_json(
            Method::PATCH,
            &format!("/todos/{json_id}"),
            json!({"todo": {"title": "json done", "completed": true}}),
        )
        .await;
    let form = b
        .send_form(
            Method::PATCH,
            &format!("/todos/{form_id}"),
            &[
                ("todo[title]", "form done"),
                ("todo[completed]", "0"),
                ("todo[completed]", "1"),
            ],
        )
        .await;
    assert_eq!(
        (json.status(), form.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    assert_eq!(todo(&b, "json done").await["completed"], true);
    assert_eq!(todo(&b, "form done").await["completed"], true);

    // A value that is not a yes or no is refused, and changes nothing, either way.
    let json = b
        .send_json(
            Method::PATCH,
            &format!("/todos/{json_id}"),
            json!({"todo": {"title": "json again", "completed": "maybe"}}),
        )
        .await;
    let form = b
        .send_form(
            Method::PATCH,
            &format!("/todos/{form_id}"),
            &[("todo[title]", "form again"), ("todo[completed]", "maybe")],
        )
        .await;
    assert_eq!(
        (json.status(), form.status()),
        (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST)
    );
    assert_eq!(todo(&b, "json done").await["completed"], true);
    assert_eq!(todo(&b, "form done").await["completed"], true);

    // A todo that is gone goes back to the board with the same reason.
    for json_body in [true, false] {
        let res = if json_body {
            b.send_json(
                Method::PATCH,
                "/todos/nonsense",
                json!({"todo": {"completed": true}}),
            )
            .await
        } else {
            b.send_form(
                Method::PATCH,
                "/todos/nonsense",
                &[("todo[completed]", "1")],
            )
            .await
        };
        assert_eq!(location(&res), "/todos", "JSON: {json_body}");
        let page = b.page("/todos").await;
        assert_eq!(
            page["props"]["errors"]["todo"], "This todo no longer exists.",
            "JSON: {json_body}"
        );
    }
    app.stop().await
}
