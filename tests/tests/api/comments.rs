//! Agent-only comments on users (SPEC 2 and 10), over the API and the agent pages, on both
//! backends: added (sticky or not), counted in the Comments tab's label, pinned comments in the
//! record's header, pin and unpin, deleted by their author or a manager only, refused when
//! empty (the message by the field), kept from the person themselves, and moved by a merge.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

use crate::agent_pages::{get, login, post};
use crate::pages::browser;

backend_tests!(user_comments_over_the_api, an_agent_comments_on_a_user_in_the_pages,);

async fn user_comments_over_the_api(b: Backend) {
    let app = TestApp::start(b).await;
    let (carla, token) = app.logged_in_user("carla", "a long secret phrase of hers").await;
    let other = app.create_user(json!({"username": "dora", "emails": [{"email": "dora@acme.example"}]})).await;
    let path = format!("/api/v1/users/{carla}/comments");
    let (s, c) = app.post(&path, json!({"body": "<b>VIP</b>: call before 10", "sticky": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["body"], "<b>VIP</b>: call before 10", "stored as text; escaping is the viewer's job");
    assert_eq!(c["sticky"], true);
    let first = c["id"].as_i64().expect("id");
    let (s, c) = app.post(&path, json!({"body": "prefers e-mail"})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["sticky"], false);
    let second = c["id"].as_i64().expect("id");
    for (body, field) in [
        (json!({"body": "   "}), "body"),
        (json!({"body": "x".repeat(10_001)}), "body"),
        (json!({"body": "x", "colour": "red"}), "colour"),
    ] {
        let (s, v) = app.post(&path, body).await;
        assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    let (s, v) = app.post("/api/v1/users/999999/comments", json!({"body": "lost"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // newest first, paged
    let (s, page) = app.get(&format!("{path}?limit=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], second);
    let cursor = page["next_cursor"].as_str().expect("more").to_string();
    let (_, page) = app.get(&format!("{path}?limit=1&cursor={cursor}")).await;
    assert_eq!(page["items"][0]["id"], first);
    assert!(page["next_cursor"].is_null());
    // unpin; a comment of another user is not found under this one
    let (s, c) = app.patch(&format!("{path}/{first}"), json!({"sticky": false})).await;
    assert_eq!((s, c["sticky"].clone()), (StatusCode::OK, json!(false)), "{c}");
    let (s, _) = app.patch(&format!("/api/v1/users/{other}/comments/{first}"), json!({"sticky": true})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // the person never sees them, nor how many there are
    let (s, _) = app.call(reqwest::Method::GET, &path, Some(&token), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, me) = app.call(reqwest::Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(me.get("comment_count").is_none(), "{me}");
    // a default Agent comments, deletes their own, not another's
    let (_, agent) = app.user_with_token("agent.ann", &["Agent"]).await;
    let (s, mine) =
        app.call(reqwest::Method::POST, &path, Some(&agent), Some(json!({"body": "left a voicemail"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    let mine = mine["id"].as_i64().expect("id");
    let (s, v) = app.call(reqwest::Method::DELETE, &format!("{path}/{first}"), Some(&agent), None).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, None);
    let (s, _) = app.call(reqwest::Method::DELETE, &format!("{path}/{mine}"), Some(&agent), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.delete(&format!("{path}/{first}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "an administrator may delete any comment");
    let (_, page) = app.get(&path).await;
    assert_eq!(page["total"], 1);
    // merged: the survivor keeps the source's comments
    let (s, _) = app.post(&format!("/api/v1/users/{other}/merge"), json!({"source_id": carla})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, page) = app.get(&format!("/api/v1/users/{other}/comments")).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["body"], "prefers e-mail");
}

async fn an_agent_comments_on_a_user_in_the_pages(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let carla = app
        .create_user(
            json!({"username": "carla", "display_name": "Carla Diaz", "emails": [{"email": "carla@acme.example"}]}),
        )
        .await;
    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;
    let (s, record) = get(&client, &app, &format!("/agent/users/{carla}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(record.contains("comments#comment-body\" aria-keyshortcuts=\"n\""), "the Comment action: {record}");
    assert!(!record.contains("class=\"pinned\""), "nothing pinned yet");

    // JavaScript off: an empty comment comes back with the message by the field
    let (_, tab) = get(&client, &app, &format!("/agent/users/{carla}/comments")).await;
    assert!(tab.contains("<textarea id=\"comment-body\" name=\"body\""), "{tab}");
    let res = post(&client, &app, &format!("/agent/users/{carla}/comments"), &tab, &[("body", "  ")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"comment-error\""), "{html}");
    assert!(html.contains("id=\"comment-error\">is required"), "{html}");

    // a pinned comment: the header shows it, the tab counts it
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{carla}/comments"),
        &tab,
        &[("body", "<script>alert(1)</script> VIP, call first"), ("sticky", "true")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_string();
    assert_eq!(to, format!("/agent/users/{carla}/comments?saved=comments"));
    let (_, html) = get(&client, &app, &to).await;
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt; VIP, call first"), "escaped: {html}");
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("class=\"pinned\""), "pinned in the header: {html}");
    assert!(html.contains("<span class=\"badge\">1</span>"), "the tab's count: {html}");

    // with htmx: the list alone comes back
    let res =
        post(&client, &app, &format!("/agent/users/{carla}/comments"), &tab, &[("body", "second")], Some("comments"))
            .await;
    assert_eq!(res.status(), StatusCode::OK);
    let frag = res.text().await.expect("html");
    assert!(frag.contains("<section id=\"comments\""), "{frag}");
    assert!(!frag.contains("<html"), "a fragment: {frag}");
    assert!(frag.contains("second") && frag.contains("✓"), "{frag}");
    assert!(frag.contains("<div id=\"pinned-comments\" hx-swap-oob=\"true\">"), "the header follows: {frag}");
    assert!(frag.contains("VIP, call first</span>"), "{frag}");

    let (_, page) = app.get(&format!("/api/v1/users/{carla}/comments")).await;
    let pinned = page["items"][1]["id"].as_i64().expect("id");
    assert_eq!(page["items"][1]["sticky"], true);
    // unpin, then delete it (her own)
    let (_, tab) = get(&client, &app, &format!("/agent/users/{carla}/comments")).await;
    let res =
        post(&client, &app, &format!("/agent/users/{carla}/comments/{pinned}"), &tab, &[("action", "unpin")], None)
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&client, &app, &format!("/agent/users/{carla}")).await;
    assert!(!html.contains("class=\"pinned\""), "{html}");
    let res =
        post(&client, &app, &format!("/agent/users/{carla}/comments/{pinned}"), &tab, &[("action", "delete")], None)
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get(&format!("/api/v1/users/{carla}/comments")).await;
    assert_eq!(page["total"], 1);
    // a comment of someone else: a default Agent may not delete it
    let (s, c) = app.post(&format!("/api/v1/users/{carla}/comments"), json!({"body": "by the admin"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let theirs = c["id"].as_i64().expect("id");
    let (_, tab) = get(&client, &app, &format!("/agent/users/{carla}/comments")).await;
    assert_eq!(
        tab.matches("name=\"action\" value=\"delete\"").count(),
        1,
        "delete offered on her own comment only: {tab}"
    );
    assert!(tab.contains(&format!("id=\"comment-{theirs}\"")), "{tab}");
    let res =
        post(&client, &app, &format!("/agent/users/{carla}/comments/{theirs}"), &tab, &[("action", "delete")], None)
            .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, page) = app.get(&format!("/api/v1/users/{carla}/comments")).await;
    assert_eq!(page["total"], 2);
}
