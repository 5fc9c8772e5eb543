//! `/roles`: built-in, derived and custom roles.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

backend_tests!(roles_lifecycle_and_rules);

async fn roles_lifecycle_and_rules(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, v) = app.get("/api/v1/roles").await;
    assert_eq!(status, StatusCode::OK);
    let roles = v["items"].as_array().expect("items");
    let find = |name: &str| roles.iter().find(|r| r["name"] == name).cloned().unwrap_or_default();
    for name in ["Everyone", "Registered User", "Registered User with Verified Email"] {
        assert_eq!(find(name)["derived"], true, "{name}");
        assert_eq!(find(name)["kind"], "user");
    }
    for name in ["Administrator", "Manager", "Agent"] {
        assert_eq!(find(name)["kind"], "agent", "{name}");
        assert_eq!(find(name)["built_in"], true);
    }
    let agent_perms = find("Agent")["permissions"].as_array().cloned().unwrap_or_default();
    assert!(!agent_perms.contains(&json!("users_delete")) && !agent_perms.contains(&json!("organizations_delete")));
    assert!(agent_perms.contains(&json!("users_edit")));
    assert_eq!(find("Administrator")["permissions"].as_array().map(Vec::len), Some(12));

    // create, refuse duplicates and nonsense
    let (status, r) = app.post("/api/v1/roles", json!({"name": "Billing", "kind": "agent", "permissions": ["users_view", "comment"], "description": "Billing team"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["permissions"], json!(["users_view", "comment"]));
    let rid = r["id"].as_i64().expect("id");
    let (status, v) = app.post("/api/v1/roles", json!({"name": "billing", "kind": "agent"})).await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("name"));
    let (status, v) =
        app.post("/api/v1/roles", json!({"name": "X", "kind": "agent", "permissions": ["users_view", "fly"]})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("permissions[1]"));
    let (status, v) = app.post("/api/v1/roles", json!({"name": "Y", "kind": "robot"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("kind"));
    let (status, v) = app.post("/api/v1/roles", json!({"name": "Z"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("kind"));
    let (status, v) =
        app.post("/api/v1/roles", json!({"name": "Portal Plus", "kind": "user", "permissions": ["users_view"]})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("permissions"));
    let (status, v) = app.post("/api/v1/roles", json!({"name": "Everyone", "kind": "user"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("name"));
    let (status, _) = app.post("/api/v1/roles", json!({"name": "KB Readers", "kind": "user"})).await;
    assert_eq!(status, StatusCode::CREATED);

    // built-ins keep their names; Administrator keeps every permission; none can be deleted
    let admin_id = find("Administrator")["id"].as_i64().expect("id");
    let agent_id = find("Agent")["id"].as_i64().expect("id");
    let (status, v) = app.patch(&format!("/api/v1/roles/{agent_id}"), json!({"name": "Helper"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("name"));
    let (status, v) = app.patch(&format!("/api/v1/roles/{admin_id}"), json!({"permissions": []})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("permissions"));
    let (status, v) = app.delete(&format!("/api/v1/roles/{agent_id}")).await;
    assert_error(status, &v, StatusCode::CONFLICT, None);
    let derived_id = find("Everyone")["id"].as_i64().expect("id");
    let (status, _) = app.patch(&format!("/api/v1/roles/{derived_id}"), json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // a custom role is assigned, filtered by, edited (logged) and deleted
    let uid = app
        .create_user(json!({"username": "biller", "emails": [{"email": "b@example.com"}], "roles": ["billing"]}))
        .await;
    let (_, u) = app.get(&format!("/api/v1/users/{uid}")).await;
    assert_eq!(u["roles"][0], "Billing");
    assert_eq!(u["is_agent"], true);
    let (_, list) = app.get("/api/v1/users?role=billing").await;
    assert_eq!(list["total"], 1);
    let (status, r) =
        app.patch(&format!("/api/v1/roles/{rid}"), json!({"permissions": ["users_view", "users_edit"]})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["permissions"], json!(["users_view", "users_edit"]));
    let (status, _) = app.get(&format!("/api/v1/roles/{rid}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&format!("/api/v1/roles/{rid}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, u) = app.get(&format!("/api/v1/users/{uid}")).await;
    assert_eq!(u["is_agent"], false);
    let (status, _) = app.get(&format!("/api/v1/roles/{rid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // only role managers change roles
    let (_, manager) = app.user_with_token("mgr", &["Manager"]).await;
    let (status, v) =
        app.call(Method::POST, "/api/v1/roles", Some(&manager), Some(json!({"name": "Q", "kind": "agent"}))).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, _) = app.call(Method::GET, "/api/v1/roles", Some(&manager), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(Method::DELETE, &format!("/api/v1/roles/{agent_id}"), Some(&manager), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
