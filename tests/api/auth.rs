//! CSRF and the session cookie over HTTP.

use crate::helpers::{TestApp, TestResult};

fn xsrf_from(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("XSRF-TOKEN="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn responses_issue_an_xsrf_cookie_that_unsafe_requests_must_echo() -> TestResult {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/up")).send().await?;
    let token = xsrf_from(&res).expect("XSRF-TOKEN cookie set");
    assert_eq!(token.len(), 64);
    let cookie_line = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("XSRF-TOKEN="))
        .unwrap_or_default()
        .to_owned();
    assert!(cookie_line.contains("SameSite=Lax"), "{cookie_line}");
    assert!(
        !cookie_line.contains("HttpOnly"),
        "scripts must read it: {cookie_line}"
    );

    // Missing header, wrong header, missing cookie: all 403 with a message.
    let cases = [
        (Some(token.as_str()), None),
        (Some(token.as_str()), Some("not-the-token")),
        (None, Some(token.as_str())),
        (Some(""), Some("")),
    ];
    for (cookie, header) in cases {
        let mut req = app.client.post(app.url("/up"));
        if let Some(c) = cookie {
            req = req.header("cookie", format!("XSRF-TOKEN={c}"));
        }
        if let Some(h) = header {
            req = req.header("x-xsrf-token", h);
        }
        let res = req.send().await?;
        assert_eq!(res.status(), 403, "cookie {cookie:?} header {header:?}");
        let body = res.text().await?;
        assert!(body.contains("CSRF"), "{body}");
    }
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let res = app
            .client
            .request(method.clone(), app.url("/up"))
            .send()
            .await?;
        assert_eq!(res.status(), 403, "{method}");
    }

    // The matching pair passes the check (and reaches the router, which has no POST /up).
    let res = app
        .client
        .post(app.url("/up"))
        .header("cookie", format!("XSRF-TOKEN={token}"))
        .header("x-xsrf-token", &token)
        .send()
        .await?;
    assert_eq!(res.status(), 405);
    assert!(xsrf_from(&res).is_none(), "an existing token is kept");
    app.stop().await
}
