//! Health, readiness, metrics, request ids, the OpenAPI document, SQLite durability settings.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::Value;

backend_tests!(operational_endpoints, openapi_documents_every_route, sqlite_durability_pragmas);

async fn operational_endpoints(b: Backend) {
    let app = TestApp::start(b).await;
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(res.status(), StatusCode::OK);
    let id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(id.len(), 16, "every response carries a request id");
    let res = app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(res.status(), StatusCode::OK);
    let res =
        app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "abc123").send().await.expect("healthz");
    assert_eq!(res.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc123"));
    let _ = app.get("/api/v1/users/1").await;
    let _ = app.get("/api/v1/users/2").await;
    let text =
        app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
    assert!(
        text.contains(r#"kith_http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"kith_http_request_duration_seconds_count{method="GET",route="/api/v1/users/{id}"} 2"#),
        "{text}"
    );
    // unknown API paths answer in the API's error shape
    let (status, v) = app.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

/// Every route the router serves under /api/v1 is in the document, with its methods.
async fn openapi_documents_every_route(b: Backend) {
    let app = TestApp::start(b).await;
    let res = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.expect("openapi");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let routes = [
        ("post", "/api/v1/auth/login"),
        ("get", "/api/v1/auth/oauth/{id}/start"),
        ("get", "/api/v1/auth/oauth/{id}/callback"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/password/forgot"),
        ("post", "/api/v1/auth/password/reset"),
        ("post", "/api/v1/me/password"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users/{id}"),
        ("patch", "/api/v1/users/{id}"),
        ("delete", "/api/v1/users/{id}"),
        ("post", "/api/v1/users/{id}/clone"),
        ("get", "/api/v1/users/{id}/changes"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("get", "/api/v1/roles"),
        ("post", "/api/v1/roles"),
        ("get", "/api/v1/roles/{id}"),
        ("patch", "/api/v1/roles/{id}"),
        ("delete", "/api/v1/roles/{id}"),
        ("get", "/api/v1/users/{id}/tickets"),
        ("get", "/api/v1/users/{id}/chats"),
        ("get", "/api/v1/users/{id}/calls"),
        ("get", "/api/v1/users/{id}/surveys"),
        ("get", "/api/v1/users/{id}/organizations"),
        ("get", "/api/v1/users/{id}/stats"),
        ("get", "/api/v1/users/{id}/history"),
        ("post", "/api/v1/users/{id}/merge"),
        ("get", "/api/v1/me/tickets"),
        ("get", "/api/v1/organizations"),
        ("post", "/api/v1/organizations"),
        ("get", "/api/v1/organizations/{id}"),
        ("patch", "/api/v1/organizations/{id}"),
        ("delete", "/api/v1/organizations/{id}"),
        ("get", "/api/v1/organizations/{id}/members"),
        ("post", "/api/v1/organizations/{id}/members"),
        ("post", "/api/v1/organizations/{id}/members/preview"),
        ("patch", "/api/v1/organizations/{id}/members/{rule_id}"),
        ("delete", "/api/v1/organizations/{id}/members/{rule_id}"),
        ("get", "/api/v1/organizations/{id}/users"),
        ("get", "/api/v1/organizations/{id}/tickets"),
        ("get", "/api/v1/organizations/{id}/chats"),
        ("get", "/api/v1/organizations/{id}/calls"),
        ("get", "/api/v1/organizations/{id}/surveys"),
        ("get", "/api/v1/organizations/{id}/comments"),
        ("post", "/api/v1/organizations/{id}/comments"),
        ("get", "/api/v1/organizations/{id}/changes"),
        ("post", "/api/v1/tickets"),
        ("get", "/api/v1/tickets/{id}"),
        ("patch", "/api/v1/tickets/{id}"),
        ("post", "/api/v1/chats"),
        ("get", "/api/v1/chats/{id}"),
        ("patch", "/api/v1/chats/{id}"),
        ("post", "/api/v1/calls"),
        ("get", "/api/v1/calls/{id}"),
        ("patch", "/api/v1/calls/{id}"),
        ("post", "/api/v1/surveys"),
        ("get", "/api/v1/surveys/{id}"),
        ("patch", "/api/v1/surveys/{id}"),
        ("get", "/api/v1/plugins"),
        ("post", "/api/v1/plugins/reload"),
        ("get", "/api/v1/plugins/{id}"),
        ("patch", "/api/v1/plugins/{id}"),
        ("post", "/api/v1/plugins/{id}/actions/{name}"),
        ("get", "/api/v1/organizations/{id}/tabs/{tab}"),
        ("get", "/api/v1/custom-fields"),
        ("post", "/api/v1/custom-fields"),
        ("get", "/api/v1/custom-fields/{id}"),
        ("patch", "/api/v1/custom-fields/{id}"),
        ("delete", "/api/v1/custom-fields/{id}"),
        ("get", "/api/v1/users/{id}/avatar"),
        ("put", "/api/v1/users/{id}/avatar"),
        ("delete", "/api/v1/users/{id}/avatar"),
        ("get", "/api/v1/users/{id}/comments"),
        ("post", "/api/v1/users/{id}/comments"),
        ("patch", "/api/v1/users/{id}/comments/{comment_id}"),
        ("delete", "/api/v1/users/{id}/comments/{comment_id}"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let documented: usize = paths.values().map(|p| p.as_object().map_or(0, |o| o.len())).sum();
    for (method, path) in routes {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    assert_eq!(documented, routes.len(), "the document lists a route the test does not know");
    for schema in [
        "User",
        "UserInput",
        "Role",
        "ErrorBody",
        "Change",
        "Organization",
        "Rule",
        "RuleInput",
        "Ticket",
        "RecordInput",
        "TabCounts",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
    // the write-only password is in the input and never in the output
    assert!(doc["components"]["schemas"]["UserInput"]["properties"]["password"].is_object());
    assert!(doc["components"]["schemas"]["User"]["properties"]["password"].is_null());
}

async fn sqlite_durability_pragmas(b: Backend) {
    let app = TestApp::start(b).await;
    let pragmas = app.state.store.sqlite_pragmas().await.expect("pragmas");
    match b {
        Backend::Sqlite => {
            let (journal, sync, busy, fk) = pragmas.expect("sqlite");
            assert_eq!(journal, "wal");
            assert_eq!(sync, 2, "synchronous=FULL");
            assert!(busy >= 5000);
            assert_eq!(fk, 1);
        }
        Backend::Postgres => assert!(pragmas.is_none()),
    }
}
