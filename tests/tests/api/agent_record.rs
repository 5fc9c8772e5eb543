//! A user's record in the agent UI over HTTP, JavaScript off and with htmx's headers, on both
//! backends: every tab; editing a field group (saved, refused with the message by the field,
//! refused over a newer version with "Keep mine / Take theirs"); addresses and phones one change
//! at a time; disable; delete only with the permission; the API's `version`, `ETag` and
//! `If-Match`; the agent's own colour scheme and shortcuts stored on the server.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_pages::{get, login, post, version_in};
use crate::pages::browser;

backend_tests!(
    an_agent_reads_every_tab_and_edits_a_user_in_the_browser,
    two_agents_editing_one_user_meet_the_conflict,
    the_api_takes_a_version_and_if_match,
);

async fn an_agent_reads_every_tab_and_edits_a_user_in_the_browser(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let id = app
        .create_user(json!({"username": "carla", "display_name": "Carla Diaz", "emails": [{"email": "carla@acme.example", "primary": true}], "phones": [{"kind": "cell", "number": "+1 201 555 0142"}]}))
        .await;
    let (s, _) = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Printer <on fire>", "user_id": id, "emails": ["carla@acme.example"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;

    // every tab is a URL that renders a whole page with that tab chosen
    for tab in [
        "details",
        "contact",
        "portal",
        "roles",
        "custom-fields",
        "tickets",
        "chats",
        "calls",
        "surveys",
        "organizations",
        "stats",
        "history",
        "changes",
    ] {
        let (status, html) = get(&client, &app, &format!("/agent/users/{id}/{tab}")).await;
        assert_eq!(status, StatusCode::OK, "{tab}: {html}");
        assert!(html.contains(&format!("id=\"tab-{tab}\" href=")), "{tab}");
        assert!(html.contains("role=\"tablist\"") && html.contains("role=\"tabpanel\" id=\"tabpanel\""), "{tab}");
        let selected = html.split("aria-selected=\"true\"").count() - 1;
        assert_eq!(selected, 1, "{tab}: one selected tab");
        assert!(html.contains(&format!("aria-labelledby=\"tab-{tab}\"")), "{tab}: the panel is labelled by its tab");
        assert!(html.contains("<h1 id=\"record-title\">Carla Diaz</h1>"), "{tab}");
    }
    let (status, _) = get(&client, &app, &format!("/agent/users/{id}/nonsense")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // the tickets tab lists the open ticket, escaped
    let (_, html) = get(&client, &app, &format!("/agent/users/{id}/tickets")).await;
    assert!(html.contains("Printer &lt;on fire&gt;"), "{html}");
    // htmx asks for the tabs alone
    let res = client
        .get(format!("{}/agent/users/{id}/contact", app.base))
        .header("hx-request", "true")
        .header("hx-target", "record-tabs")
        .send()
        .await
        .expect("tabs");
    let fragment = res.text().await.expect("html");
    assert!(
        fragment.starts_with("<div id=\"record-tabs\"")
            || fragment.trim_start().starts_with("{#")
            || fragment.contains("<div id=\"record-tabs\"")
    );
    assert!(!fragment.contains("<html") && !fragment.contains("record-title"), "the tabs only: {fragment}");
    assert!(fragment.contains("carla@acme.example"), "the contact tab's content");

    // click to edit without JavaScript: ?edit= is the form, the post saves and comes back
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}?edit=identity")).await;
    assert!(page.contains(&format!("action=\"&#x2F;agent&#x2F;users&#x2F;{id}&#x2F;edit&#x2F;identity\"")), "{page}");
    let version = version_in(&page);
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/edit/identity"),
        &page,
        &[
            ("version", &version),
            ("display_name", "Carla Díaz-Ortiz"),
            ("username", "carla"),
            ("time_zone", "Europe/Madrid"),
            ("language", "en"),
            ("summary", "VIP since 2020"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/agent/users/{id}?saved=identity#group-identity").as_str());
    let (_, html) = get(&client, &app, &format!("/agent/users/{id}?saved=identity")).await;
    assert!(
        html.contains("Carla Díaz-Ortiz") && html.contains("Europe&#x2F;Madrid") && html.contains("✓ Saved"),
        "{html}"
    );
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["summary"], "VIP since 2020");
    assert_eq!(user["auto_responder"], false, "an unticked box is false");

    // a refused value: 422, the form again with the message by the field, nothing written
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}?edit=identity")).await;
    let version = version_in(&page);
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/edit/identity"),
        &page,
        &[
            ("version", &version),
            ("display_name", "Someone Else"),
            ("username", "carla"),
            ("time_zone", "Mars/Olympus"),
            ("language", "en"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"f-identity-3-error"), "{html}");
    assert!(html.contains("id=\"f-identity-3-error\">`Mars&#x2F;Olympus` is not an IANA time zone"), "{html}");
    assert!(html.contains("value=\"Someone Else\""), "what was typed stays: {html}");
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["display_name"], "Carla Díaz-Ortiz", "nothing half-written");

    // with htmx the answer is the group alone: its view with "Saved", or its form with the error
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}?edit=labels")).await;
    let version = version_in(&page);
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/edit/labels"),
        &page,
        &[("version", &version), ("labels", "vip, spain")],
        Some("group-labels"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.expect("html");
    assert!(fragment.trim_start().starts_with("<section id=\"group-labels\""), "{fragment}");
    assert!(
        fragment.contains("<div id=\"announce\" hx-swap-oob=\"innerHTML\">Saved: Labels</div>"),
        "announced: {fragment}"
    );
    assert!(
        fragment.contains("✓ Saved") && fragment.contains("spain, vip") && !fragment.contains("<html"),
        "{fragment}"
    );

    // addresses and phones, one change per request
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}/contact")).await;
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/emails"),
        &page,
        &[("version", &version_in(&page)), ("action", "add"), ("email", "Carla.Work@Acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}/contact")).await;
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/emails"),
        &page,
        &[("version", &version_in(&page)), ("action", "primary"), ("email", "carla.work@acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}/contact")).await;
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/emails"),
        &page,
        &[("version", &version_in(&page)), ("action", "add"), ("email", "not an address")],
        Some("emails"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("html").contains("role=\"alert\""));
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}/contact")).await;
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/phones"),
        &page,
        &[("version", &version_in(&page)), ("action", "add"), ("kind", "work"), ("number", "+49 30 1234567")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}/contact")).await;
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/phones"),
        &page,
        &[("version", &version_in(&page)), ("action", "remove"), ("number", "+12015550142")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    let emails: Vec<(String, bool)> = user["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .map(|e| (e["email"].as_str().unwrap_or_default().to_string(), e["primary"].as_bool().unwrap_or_default()))
        .collect();
    assert!(
        emails.contains(&("carla.work@acme.example".into(), true))
            && emails.contains(&("carla@acme.example".into(), false)),
        "{emails:?}"
    );
    let phones: Vec<&str> =
        user["phones"].as_array().expect("phones").iter().filter_map(|p| p["number"].as_str()).collect();
    assert_eq!(phones, vec!["+49301234567"]);

    // an exact address, phone number or #id jumps to the record (a plain search)
    for q in ["carla.work%40acme.example", "%2B49%2030%201234567", &format!("%23{id}")] {
        let res = client.get(format!("{}/agent/users?q={q}", app.base)).send().await.expect("search");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{q}");
        assert_eq!(res.headers()["location"], format!("/agent/users/{id}").as_str(), "{q}");
    }
    let res = client
        .get(format!("{}/agent/users?q=carla.work%40acme.example", app.base))
        .header("hx-request", "true")
        .header("hx-target", "list-results")
        .send()
        .await
        .expect("typing");
    assert_eq!(res.status(), StatusCode::OK, "typing never jumps");

    // a new user: the address is required (by the field), then the record opens
    let (_, page) = get(&client, &app, "/agent/users/new").await;
    assert!(page.contains("<label for=\"f-new-user-3\">E-mail address</label>"), "{page}");
    let res = post(&client, &app, "/agent/users", &page, &[("display_name", "Nina New"), ("email", "")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("id=\"f-new-user-3-error\"") && html.contains("value=\"Nina New\""), "{html}");
    let res = post(
        &client,
        &app,
        "/agent/users",
        &page,
        &[("display_name", "Nina New"), ("email", "Nina@New.example"), ("phone", "+1 201 555 0199")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_string();
    let (_, html) = get(&client, &app, &to).await;
    assert!(
        html.contains("Nina New") && html.contains("nina@new.example") && html.contains("+1 201 555 0199"),
        "{html}"
    );

    // the change log tab shows who changed what
    let (_, html) = get(&client, &app, &format!("/agent/users/{id}/changes")).await;
    assert!(html.contains("agent.ann") && html.contains("display_name") && html.contains("Carla Díaz-Ortiz"), "{html}");

    // disable, then a default Agent has no Delete and is refused when posting it anyway
    let (_, page) = get(&client, &app, &format!("/agent/users/{id}")).await;
    assert!(!page.contains("/delete\""), "no Delete for an Agent: {page}");
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{id}/state"),
        &page,
        &[("version", &version_in(&page)), ("disabled", "true")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["disabled"], true);
    let res = post(&client, &app, &format!("/agent/users/{id}/delete"), &page, &[], None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, _) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::OK, "still there");
    // a form without the CSRF field is refused
    let res = client
        .post(format!("{}/agent/users/{id}/state", app.base))
        .form(&[("disabled", "false")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // an administrator sees Delete naming the user, and it deletes
    let admin = browser();
    login(&app, &admin, "admin", "correct horse battery", "").await;
    let (_, page) = get(&admin, &app, &format!("/agent/users/{id}")).await;
    assert!(page.contains("Delete Carla Díaz-Ortiz"), "{page}");
    let res = post(&admin, &app, &format!("/agent/users/{id}/delete"), &page, &[], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // the agent's own settings: stored on the server, on the next page at once
    let (_, page) = get(&client, &app, "/agent/users").await;
    assert!(page.contains("data-theme=\"system\"") && page.contains("data-shortcuts=\"on\""));
    let res =
        post(&client, &app, "/agent/settings", &page, &[("ui_theme", "dark"), ("return_to", "/agent/users?q=x")], None)
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/agent/users?q=x");
    let (_, page) = get(&client, &app, "/agent/users").await;
    assert!(page.contains("data-theme=\"dark\"") && page.contains("data-shortcuts=\"off\""), "dark, shortcuts off");
    let res = post(&client, &app, "/agent/settings", &page, &[("ui_theme", "purple")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn two_agents_editing_one_user_meet_the_conflict(b: Backend) {
    let app = TestApp::start(b).await;
    for name in ["ann", "bob"] {
        app.create_user(json!({"username": name, "emails": [{"email": format!("{name}@desk.example")}], "roles": ["Agent"], "password": "a long agent passphrase"}))
            .await;
    }
    let id = app.create_user(json!({"username": "dora", "emails": [{"email": "dora@cust.example"}]})).await;
    let (ann, bob) = (browser(), browser());
    login(&app, &ann, "ann", "a long agent passphrase", "").await;
    login(&app, &bob, "bob", "a long agent passphrase", "").await;
    let (_, ann_page) = get(&ann, &app, &format!("/agent/users/{id}/contact?edit=contact")).await;
    let (_, bob_page) = get(&bob, &app, &format!("/agent/users/{id}/contact?edit=contact")).await;
    let v = version_in(&ann_page);
    assert_eq!(v, version_in(&bob_page));
    let res = post(
        &ann,
        &app,
        &format!("/agent/users/{id}/edit/contact"),
        &ann_page,
        &[("version", &v), ("company", "Ann's Co")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Bob saves over the version he read: 409, his values in the form, Ann's beside them
    let res = post(
        &bob,
        &app,
        &format!("/agent/users/{id}/edit/contact"),
        &bob_page,
        &[("version", &v), ("company", "Bob's Co")],
        Some("group-contact"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.expect("html");
    assert!(html.contains("Keep mine") && html.contains("Take theirs"), "{html}");
    assert!(html.contains("value=\"Bob&#x27;s Co\"") && html.contains("Ann&#x27;s Co"), "{html}");
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["company"], "Ann's Co", "Bob's stale save wrote nothing");
    // "Keep mine" posts his values over the current version
    let newer = version_in(&html);
    assert_ne!(newer, v);
    let res = post(
        &bob,
        &app,
        &format!("/agent/users/{id}/edit/contact"),
        &bob_page,
        &[("version", &newer), ("company", "Bob's Co")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["company"], "Bob's Co");
}

async fn the_api_takes_a_version_and_if_match(b: Backend) {
    let app = TestApp::start(b).await;
    let id = app.create_user(json!({"username": "erin", "emails": [{"email": "erin@cust.example"}]})).await;
    let res = app
        .client
        .get(format!("{}/api/v1/users/{id}", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("get");
    let etag = res.headers()["etag"].to_str().expect("etag").to_string();
    let user: Value = res.json().await.expect("json");
    let v = user["version"].as_i64().expect("version");
    assert_eq!(etag, format!("\"{v}\""));
    // an edit without a version still works (existing clients)
    let (s, after) = app.patch(&format!("/api/v1/users/{id}"), json!({"company": "One"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["version"], v + 1);
    // an old version in the body: 409 naming `version`, nothing written
    let (s, body) = app.patch(&format!("/api/v1/users/{id}"), json!({"company": "Two", "version": v})).await;
    kith_tests::assert_error(s, &body, StatusCode::CONFLICT, Some("version"));
    // If-Match with the old version: 412; with the current one: 200 and the new ETag
    let patch = |tag: String, company: &str| {
        app.client
            .patch(format!("{}/api/v1/users/{id}", app.base))
            .bearer_auth(&app.admin_token)
            .header("if-match", tag)
            .json(&json!({"company": company}))
            .send()
    };
    let res = patch(format!("\"{v}\""), "Three").await.expect("patch");
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let res = patch(format!("\"{}\"", v + 1), "Four").await.expect("patch");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().expect("etag"), format!("\"{}\"", v + 2));
    let res = patch("not-a-tag".into(), "Five").await.expect("patch");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (_, user) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(user["company"], "Four");
    // organizations too
    let (s, org) = app.post("/api/v1/organizations", json!({"name": "Acme"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (oid, ov) = (org["id"].as_i64().expect("id"), org["version"].as_i64().expect("version"));
    let (s, _) = app.patch(&format!("/api/v1/organizations/{oid}"), json!({"city": "Berlin", "version": ov})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app.patch(&format!("/api/v1/organizations/{oid}"), json!({"city": "Paris", "version": ov})).await;
    kith_tests::assert_error(s, &body, StatusCode::CONFLICT, Some("version"));
}
