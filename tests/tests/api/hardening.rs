//! The outside review's findings (security issue), each a test that failed before its fix:
//! control characters, metrics labels, token revocation, and input hardening.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    control_characters_are_refused_naming_the_field_everywhere,
    metrics_labels_are_bounded_and_metrics_are_not_public,
    api_tokens_are_listed_revoked_and_expire,
    input_hardening,
    many_rules_answer_and_are_capped,
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

/// Item 8: nothing could revoke an API token. Now `/tokens` lists, creates (with an optional
/// expiry) and revokes them; a revoked or expired token stops at the next request.
async fn api_tokens_are_listed_revoked_and_expire(b: Backend) {
    let app = TestApp::start_with_clock(b).await;
    let clock = app.clock.clone().expect("clock");
    let (agent, agent_token) = app.user_with_token("tok-agent", &["Agent"]).await;
    let (_, other_token) = app.user_with_token("tok-other", &["Agent"]).await;
    let as_agent = |method: Method, path: &str, body: Option<Value>| {
        let app = &app;
        let (path, token) = (path.to_string(), agent_token.clone());
        async move { app.call(method, &path, Some(&token), body).await }
    };
    // create one: the secret is in this answer only
    let (status, created) =
        as_agent(Method::POST, "/api/v1/tokens", Some(json!({"name": "CI", "expires_in_days": 30}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().expect("token").to_string();
    let id = created["id"].as_i64().expect("id");
    assert!(created["expires_at"].is_string(), "{created}");
    let (status, me) = app.call(Method::GET, "/api/v1/me", Some(&secret), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], agent);
    // listed without its secret, with when it was last used
    let (status, list) = as_agent(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["items"].as_array().expect("items").iter().find(|t| t["id"] == id).cloned().expect("listed");
    assert!(listed.get("token").is_none() && !list.to_string().contains(&secret));
    assert!(listed["last_used_at"].is_string(), "{listed}");
    // someone else's token is not there for another agent; an administrator sees everyone's
    let (status, v) = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&other_token), None).await;
    assert_error(status, &v, StatusCode::NOT_FOUND, None);
    let (status, v) = app.call(Method::GET, &format!("/api/v1/tokens?user_id={agent}"), Some(&other_token), None).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, all) = app.get("/api/v1/tokens?all=true").await;
    assert_eq!(status, StatusCode::OK);
    assert!(all["items"].as_array().expect("items").len() >= 4, "{all}");
    // revoked: refused at the next request
    let (status, _) = as_agent(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&secret), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = as_agent(Method::GET, "/api/v1/tokens", None).await;
    assert!(list["items"].as_array().expect("items").iter().any(|t| t["id"] == id && t["revoked_at"].is_string()));
    // an expiring token stops when its day is over
    let (_, short) =
        as_agent(Method::POST, "/api/v1/tokens", Some(json!({"name": "short", "expires_in_days": 1}))).await;
    let short = short["token"].as_str().expect("token").to_string();
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&short), None).await.0, StatusCode::OK);
    clock.advance(86_400_000 + 1);
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&short), None).await.0, StatusCode::UNAUTHORIZED);
    // bad input named
    let (status, v) = as_agent(Method::POST, "/api/v1/tokens", Some(json!({"expires_in_days": 0}))).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in_days"));
    let (status, v) = as_agent(Method::POST, "/api/v1/tokens", Some(json!({"name": "x".repeat(101)}))).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("name"));
    // an administrator revokes anyone's
    let (_, t) = app.call(Method::POST, "/api/v1/tokens", Some(&other_token), Some(json!({"name": "o"}))).await;
    let (oid, osecret) = (t["id"].as_i64().expect("id"), t["token"].as_str().expect("token").to_string());
    assert_eq!(app.delete(&format!("/api/v1/tokens/{oid}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&osecret), None).await.0, StatusCode::UNAUTHORIZED);
}

/// Item 9: what slipped through — JSON declared by a parameter, script URLs as websites,
/// tracking pixels in signatures, invisible and look-alike usernames, public suffixes as
/// domain rules, and `*.example.com` refused instead of understood.
async fn input_hardening(b: Backend) {
    let app = TestApp::start(b).await;
    // a body is JSON only when its media type says so
    for ct in ["text/plain; x=+json", "application/jsonx", "text/json"] {
        let res = app
            .client
            .post(format!("{}/api/v1/users", app.base))
            .bearer_auth(&app.admin_token)
            .header("content-type", ct)
            .body(r#"{"username": "ct", "emails": [{"email": "ct@example.com"}]}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
    let res = app
        .client
        .post(format!("{}/api/v1/users", app.base))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/merge-patch+json; charset=utf-8")
        .body(r#"{"username": "ct", "emails": [{"email": "ct@example.com"}]}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CREATED);

    // websites are http(s)
    let (status, v) = app
        .post(
            "/api/v1/users",
            json!({"username": "w", "emails": [{"email": "w@example.com"}], "website": "javascript:alert(1)"}),
        )
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("website"));
    let (status, v) =
        app.post("/api/v1/organizations", json!({"name": "W", "website": "data:text/html,<b>x</b>"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("website"));
    let (status, v) = app.post("/api/v1/organizations", json!({"name": "W", "website": "www.w.example"})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["website"], "https://www.w.example");

    // signatures keep Kith's own images only
    let sig =
        r#"<p>Hi</p><img src="https://tracker.example/p.gif?u=1" alt="t"><img src="/api/v1/users/1/avatar" alt="me">"#;
    let (status, u) = app
        .post(
            "/api/v1/users",
            json!({"username": "sig", "emails": [{"email": "sig@example.com"}], "signature_html": sig}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let stored = u["signature_html"].as_str().expect("signature");
    assert!(!stored.contains("tracker.example"), "{stored}");
    assert!(stored.contains(r#"src="/api/v1/users/1/avatar""#), "{stored}");

    // usernames: invisible characters refused, compatibility forms folded, look-alikes refused
    let (status, v) =
        app.post("/api/v1/users", json!({"username": "adm\u{200b}in", "emails": [{"email": "z@example.com"}]})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("username"));
    for lookalike in ["ADMİN", "аdmin", "ａｄｍｉｎ"] {
        let (status, v) =
            app.post("/api/v1/users", json!({"username": lookalike, "emails": [{"email": "y@example.com"}]})).await;
        assert_error(status, &v, StatusCode::CONFLICT, Some("username"));
        let why = v["error"]["fields"]["username"].as_str().unwrap_or_default().to_string();
        assert!(why.contains("`admin`") || why == "is already taken", "{lookalike}: {v}");
    }
    let (status, v) =
        app.post("/api/v1/users", json!({"username": "ＦＵＬＬ", "emails": [{"email": "f@example.com"}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["username"], "FULL");

    // domain rules: public suffixes need the confirmation; *.example.com means its subdomains
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Suffix"})).await;
    let org = org["id"].as_i64().expect("id");
    let rules = format!("/api/v1/organizations/{org}/members");
    let (status, v) = app.post(&rules, json!({"kind": "domain", "value": "co.uk", "include_subdomains": true})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("value"));
    let (status, v) = app.post(&rules, json!({"kind": "domain", "value": "github.io"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("value"));
    let (status, v) = app
        .post(
            &rules,
            json!({"kind": "domain", "value": "co.uk", "include_subdomains": true, "confirm_public_domain": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = app.post(&rules, json!({"kind": "domain", "value": "acme.co.uk"})).await;
    assert_eq!(status, StatusCode::CREATED, "a registrable domain under a suffix is fine: {v}");
    let (status, v) = app.post(&rules, json!({"kind": "domain", "value": "*.Example.COM"})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["value"], "example.com");
    assert_eq!(v["include_subdomains"], true);
}

/// Item 3: at 260 email rules every tab answered 500 (`too many SQL variables`: each rule's
/// count re-checked every earlier rule). Now rules of a kind are matched together, totals stay
/// exact, and an organization's rules are capped (`membership.max_rules_per_organization`).
async fn many_rules_answer_and_are_capped(b: Backend) {
    let app = TestApp::start_with(b, None, |c| c.membership.max_rules_per_organization = 320).await;
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Many"})).await;
    let org = org["id"].as_i64().expect("id");
    let rules = format!("/api/v1/organizations/{org}/members");
    for i in 0..300 {
        let (status, v) = app.post(&rules, json!({"kind": "email", "value": format!("p{i}@many.example")})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    for d in ["many.example", "other.example"] {
        let (status, v) = app.post(&rules, json!({"kind": "domain", "value": d, "include_subdomains": true})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    // tickets: 40 to ruled addresses (two of them to two addresses), 10 to the other domain,
    // 5 elsewhere
    for i in 0..40 {
        let mut emails = vec![format!("p{i}@many.example")];
        if i < 2 {
            emails.push(format!("p{}@many.example", i + 100));
        }
        let (status, v) = app.post("/api/v1/tickets", json!({"subject": "t", "emails": emails})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    for i in 0..10 {
        app.post("/api/v1/tickets", json!({"subject": "o", "emails": [format!("x{i}@sub.other.example")]})).await;
    }
    for i in 0..5 {
        app.post("/api/v1/tickets", json!({"subject": "n", "emails": [format!("y{i}@nowhere.example")]})).await;
    }
    let (status, page) = app.get(&format!("/api/v1/organizations/{org}/tickets?limit=20")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 50, "exact total over 302 rules");
    let all = app.walk(&format!("/api/v1/organizations/{org}/tickets"), 7).await;
    assert_eq!(all.len(), 50);
    let first = all.iter().find(|t| t["subject"] == "t" && t["matched_by"].as_array().is_some_and(|m| m.len() == 3));
    assert!(first.is_some(), "a ticket to two ruled addresses names both and the domain");
    for tab in ["users", "chats", "calls", "surveys"] {
        let (status, v) = app.get(&format!("/api/v1/organizations/{org}/{tab}")).await;
        assert_eq!(status, StatusCode::OK, "{tab}: {v}");
    }
    // the cap
    for i in 0..18 {
        app.post(&rules, json!({"kind": "email", "value": format!("q{i}@many.example")})).await;
    }
    let (status, v) = app.post(&rules, json!({"kind": "email", "value": "over@many.example"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("value"));
}
