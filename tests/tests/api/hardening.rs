//! The outside review's findings (security issue), each a test that failed before its fix:
//! control characters, metrics labels, token revocation, and input hardening.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    control_characters_are_refused_naming_the_field_everywhere,
    metrics_labels_are_bounded_and_metrics_are_not_public,
);

/// Item 7: a NUL (or any control character but tab and line breaks) in any text field or query
/// parameter is a 422 naming it — before, PostgreSQL answered 500 and SQLite stored it.
async fn control_characters_are_refused_naming_the_field_everywhere(b: Backend) {
    let app = TestApp::start(b).await;
    let user = app.create_user(json!({"username": "nul", "emails": [{"email": "nul@example.com"}]})).await;
    let org = {
        let (status, v) = app.post("/api/v1/organizations", json!({"name": "Nul Org"})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_i64().expect("id")
    };
    let bad = "ab\u{0}cd";
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"summary": bad}), "summary"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"address": bad}), "address"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"website": bad}), "website"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"company": bad}), "company"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"im": bad}), "im"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"auth_domain": bad}), "auth_domain"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"avatar_provider": bad}), "avatar_provider"),
        (Method::PATCH, format!("/api/v1/users/{user}"), json!({"labels": ["fine", bad]}), "labels[1]"),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"username": "x", "emails": [{"email": "x\u{0}@e.com"}]}),
            "emails[0].email",
        ),
        (Method::PATCH, format!("/api/v1/organizations/{org}"), json!({"summary": bad}), "summary"),
        (Method::POST, format!("/api/v1/organizations/{org}/comments"), json!({"body": bad}), "body"),
        (Method::POST, "/api/v1/tickets".into(), json!({"subject": bad, "emails": ["t@example.com"]}), "subject"),
        (Method::POST, "/api/v1/surveys".into(), json!({"name": bad, "email": "s@example.com"}), "name"),
        (
            Method::POST,
            "/api/v1/roles".into(),
            json!({"name": "R", "kind": "agent", "description": bad}),
            "description",
        ),
        (
            Method::POST,
            "/api/v1/custom-fields".into(),
            json!({"entity": "user", "key": "k", "label": bad, "type": "text"}),
            "label",
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, v) = app.call(method.clone(), &path, Some(&app.admin_token), Some(body)).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    for (query, field) in [("q=ab%00cd", "q"), ("label=a%00", "label"), ("role=Ag%01ent", "role")] {
        let (status, v) = app.get(&format!("/api/v1/users?{query}")).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    // nothing was stored; tab, newline and carriage return are text, not controls
    let (status, u) = app.get(&format!("/api/v1/users/{user}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(u["summary"], "");
    let (status, u) = app.patch(&format!("/api/v1/users/{user}"), json!({"summary": "two\nlines\tand\r\nmore"})).await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(u["summary"], "two\nlines\tand\r\nmore");
}

/// Item 5: the HTTP method was a metrics label as sent, so random methods grew `/metrics`
/// without end; and `/metrics` answered anyone on the public port.
async fn metrics_labels_are_bounded_and_metrics_are_not_public(b: Backend) {
    let app = TestApp::start_with(b, None, |c| c.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let client = reqwest::Client::new();
    for i in 0..300 {
        let method = Method::from_bytes(format!("X{i:04}ZZ").as_bytes()).expect("method");
        let _ = client.request(method, format!("{}/api/v1/users/{i}", app.base)).send().await.expect("send");
        let _ = client.get(format!("{}/no/such/{i}", app.base)).send().await.expect("send");
    }
    let metrics = client.get(format!("{}/metrics", app.base)).send().await.expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK, "a client on this machine reads them");
    let text = metrics.text().await.expect("text");
    assert!(!text.contains("X0001ZZ") && !text.contains("/no/such/1\""), "no invented label: {text}");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(text.len() < 64 * 1024, "{} bytes after 600 odd requests", text.len());
    // a client elsewhere (behind the trusted proxy) does not see them
    let res =
        client.get(format!("{}/metrics", app.base)).header("x-forwarded-for", "203.0.113.9").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // with a token, only its bearer
    let app = TestApp::start_with(b, None, |c| c.metrics.token = "s3cret-metrics".into()).await;
    let res = client.get(format!("{}/metrics", app.base)).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = client.get(format!("{}/metrics", app.base)).bearer_auth("wrong").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = client.get(format!("{}/metrics", app.base)).bearer_auth("s3cret-metrics").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
}
