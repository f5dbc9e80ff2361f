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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_issue_an_xsrf_cookie_that_unsafe_requests_must_echo() -> TestResult {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/login")).send().await?;
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
        let mut req = app.client.post(app.url("/login"));
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
            .request(method.clone(), app.url("/login"))
            .send()
            .await?;
        assert_eq!(res.status(), 403, "{method}");
    }

    // The matching pair passes the check (and reaches the router, which has no POST /login).
    let res = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("XSRF-TOKEN={token}"))
        .header("x-xsrf-token", &token)
        .send()
        .await?;
    assert_eq!(res.status(), 405);
    assert!(xsrf_from(&res).is_none(), "an existing token is kept");
    app.stop().await
}

mod flows {
    use reqwest::Method;
    use serde_json::json;

    use crate::helpers::{Browser, TestApp, TestResult, location};

    const PASSWORD: &str = "correct horse battery";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn anonymous_visitors_are_sent_to_login_and_the_login_page_renders() -> TestResult {
        let app = TestApp::spawn().await;
        let browser = Browser::of(&app);
        for path in ["/", "/todos", "/status", "/about"] {
            let res = browser.get(path).await;
            assert!(res.status().is_redirection(), "{path}: {}", res.status());
            assert_eq!(location(&res), "/login");
        }
        let page = browser.page("/login").await;
        assert_eq!(page["component"], "Auth/Login");
        assert_eq!(page["props"]["signup_enabled"], true);
        assert_eq!(page["props"]["auth"]["user"], serde_json::Value::Null);
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signup_makes_the_first_user_admin_and_signs_in() -> TestResult {
        let app = TestApp::spawn().await;
        let first = Browser::of(&app);
        let res = first.sign_up("First@Example.com", PASSWORD).await;
        assert_eq!(res.status(), 302);
        assert_eq!(location(&res), "/");
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("_trifecta_session="))
            .expect("session cookie")
            .to_owned();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        let page = first.page("/todos").await;
        assert_eq!(page["component"], "Todos/Index");
        assert_eq!(
            page["props"]["auth"]["user"]["email_address"],
            "first@example.com"
        );
        assert_eq!(page["props"]["auth"]["user"]["site_admin"], true);
        assert_eq!(page["flash"]["notice"], "Welcome, first!");

        let second = Browser::of(&app);
        second.sign_up("second@example.com", PASSWORD).await;
        let page = second.page("/todos").await;
        assert_eq!(page["props"]["auth"]["user"]["site_admin"], false);

        // A taken email and a short password come back as errors, nothing saved.
        let third = Browser::of(&app);
        let res = third.sign_up("SECOND@example.com", PASSWORD).await;
        assert_eq!(location(&res), "/signup");
        let page = third.page("/signup").await;
        assert_eq!(
            page["props"]["errors"]["email_address"],
            "Email address has already been taken"
        );
        let res = third.sign_up("third@example.com", "short").await;
        assert_eq!(location(&res), "/signup");
        let page = third.page("/signup").await;
        assert!(
            page["props"]["errors"]["password"]
                .as_str()
                .unwrap_or_default()
                .contains("too short")
        );
        assert_eq!(app.state.app.users().await?.len(), 2);
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn login_logout_wrong_password_and_form_bodies() -> TestResult {
        let app = TestApp::spawn().await;
        let setup = Browser::of(&app);
        setup.sign_up("ann@example.com", PASSWORD).await;

        let browser = Browser::of(&app);
        let res = browser.sign_in("ann@example.com", "wrong password!").await;
        assert_eq!(location(&res), "/login");
        let page = browser.page("/login").await;
        assert_eq!(
            page["props"]["errors"]["email_address"],
            "Try another email address or password."
        );
        assert!(
            browser.get("/todos").await.status().is_redirection(),
            "still anonymous"
        );

        // Form-encoded works as well as JSON.
        let res = browser
            .send_form(
                Method::POST,
                "/session",
                &[("email_address", "ANN@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(location(&res), "/");
        assert_eq!(
            browser.page("/todos").await["props"]["auth"]["user"]["email_address"],
            "ann@example.com"
        );
        assert!(
            browser.get("/login").await.status().is_redirection(),
            "signed-in users skip /login"
        );

        let res = browser
            .send_json(Method::DELETE, "/session", json!({}))
            .await;
        assert_eq!(res.status(), 303, "DELETE redirects with 303");
        assert_eq!(location(&res), "/login");
        assert!(
            browser.get("/todos").await.status().is_redirection(),
            "signed out"
        );
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign_in_attempts_are_rate_limited_per_ip() -> TestResult {
        let app = TestApp::spawn().await;
        let browser = Browser::of(&app);
        browser.sign_up("ann@example.com", PASSWORD).await;
        let other = Browser::of(&app);
        for _ in 0..10 {
            let res = other.sign_in("ann@example.com", "wrong password!").await;
            assert_eq!(location(&res), "/login");
        }
        let res = other.sign_in("ann@example.com", PASSWORD).await;
        assert_eq!(res.status(), 303);
        assert!(res.headers().contains_key("retry-after"));
        let page = other.page("/login").await;
        assert!(
            page["flash"]["alert"]
                .as_str()
                .unwrap_or_default()
                .contains("Too many sign-in attempts"),
            "{page}"
        );
        assert!(
            other.get("/todos").await.status().is_redirection(),
            "the right password was refused too"
        );
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tampered_and_deleted_sessions_are_anonymous() -> TestResult {
        let app = TestApp::spawn().await;
        let browser = Browser::of(&app);
        browser.sign_up("ann@example.com", PASSWORD).await;
        let cookie = browser.cookie("_trifecta_session").expect("session cookie");
        assert_eq!(browser.get("/todos").await.status(), 200);

        // Flip one character of the signed value: the signature no longer matches.
        let mut tampered = cookie.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered)?;
        let res = app
            .client
            .get(app.url("/todos"))
            .header("cookie", format!("_trifecta_session={tampered}"))
            .send()
            .await?;
        assert!(
            res.status().is_redirection(),
            "tampered cookie is anonymous"
        );
        let res = app
            .client
            .get(app.url("/todos"))
            .header("cookie", format!("_trifecta_session={cookie}"))
            .send()
            .await?;
        assert_eq!(res.status(), 200, "the genuine cookie works");

        // Deleting the user ends the session server-side.
        app.state.app.delete_user("ann@example.com").await?;
        assert!(
            browser.get("/todos").await.status().is_redirection(),
            "deleted session is anonymous"
        );
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_signup_closes_public_registration() -> TestResult {
        let app = TestApp::spawn_with(|c| c.serve.web.no_signup = true).await;
        let browser = Browser::of(&app);
        assert_eq!(browser.get("/signup").await.status(), 404);
        let res = browser.sign_up("ann@example.com", PASSWORD).await;
        assert_eq!(res.status(), 404);
        assert_eq!(
            browser.page("/login").await["props"]["signup_enabled"],
            false
        );
        assert!(app.state.app.users().await?.is_empty());
        app.stop().await
    }
}

mod sockets {
    use reqwest::Method;
    use serde_json::json;

    use crate::cable_client::{Client, Opts};
    use crate::helpers::{Browser, TestApp, TestResult};

    fn with_cookie(browser: &Browser) -> Opts {
        let session = browser.cookie("_trifecta_session").expect("signed in");
        Opts::default()
            .ignore(&["ping"])
            .header("cookie", &format!("_trifecta_session={session}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sockets_without_a_session_are_rejected_without_welcome() -> TestResult {
        let app = TestApp::spawn().await;
        for opts in [
            Opts::default().ignore(&["ping"]),
            Opts::default()
                .ignore(&["ping"])
                .header("cookie", "_trifecta_session=forged-value"),
        ] {
            let mut client = Client::connect(app.addr, opts).await;
            let (frames, _) = client.wait_closed().await;
            assert_eq!(
                frames,
                vec![json!({"type": "disconnect", "reason": "unauthorized", "reconnect": false})],
                "first and only frame"
            );
        }
        app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signed_in_socket_is_welcomed_and_logout_kicks_it() -> TestResult {
        let app = TestApp::spawn().await;
        let browser = Browser::of(&app);
        browser
            .sign_up("ann@example.com", "correct horse battery")
            .await;
        let old_cookie = with_cookie(&browser);
        let mut client = Client::connect(app.addr, old_cookie.clone()).await;
        assert_eq!(client.receive().await, json!({"type": "welcome"}));

        browser
            .send_json(Method::DELETE, "/session", json!({}))
            .await;
        let (frames, _) = client.wait_closed().await;
        assert_eq!(
            frames,
            vec![json!({"type": "disconnect", "reason": "remote", "reconnect": false})]
        );
        // The old cookie no longer opens a socket: its session row is gone.
        let mut again = Client::connect(app.addr, old_cookie).await;
        let (frames, _) = again.wait_closed().await;
        assert_eq!(frames[0]["reason"], "unauthorized");
        app.stop().await
    }
}

mod tls {
    use crate::helpers::{TestApp, TestResult};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cookies_are_secure_when_served_over_tls() -> TestResult {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        let dir = tempfile::tempdir()?;
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem())?;
        std::fs::write(&key, certified.signing_key.serialize_pem())?;
        let app = TestApp::spawn_with(|c| {
            c.serve.web.tls_cert = Some(cert.clone());
            c.serve.web.tls_key = Some(key.clone());
        })
        .await;
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(
                certified.cert.pem().as_bytes(),
            )?)
            .resolve("localhost", app.addr)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = format!("https://localhost:{}", app.addr.port());
        let res = client.get(format!("{base}/login")).send().await?;
        let xsrf = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("XSRF-TOKEN="))
            .expect("xsrf cookie")
            .to_owned();
        assert!(xsrf.contains("Secure"), "{xsrf}");
        let token = xsrf["XSRF-TOKEN=".len()..]
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let res = client
            .post(format!("{base}/registration"))
            .header("cookie", format!("XSRF-TOKEN={token}"))
            .header("x-xsrf-token", &token)
            .json(&serde_json::json!({"name": "", "email_address": "tls@example.com", "password": "correct horse battery"}))
            .send()
            .await?;
        let session = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("_trifecta_session="))
            .expect("session cookie")
            .to_owned();
        assert!(
            session.contains("Secure") && session.contains("HttpOnly"),
            "{session}"
        );
        app.stop().await
    }
}
