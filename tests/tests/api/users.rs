//! `/users`: create, validate, edit, search, clone, delete, change log, permissions.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    create_normalizes_every_field,
    bad_input_is_refused_naming_the_field_and_writes_nothing,
    duplicates_conflict_and_nothing_half_written,
    edit_changes_only_sent_fields_and_logs_each,
    edit_conflict_leaves_the_record_untouched,
    search_filter_sort_and_paginate,
    name_sorted_search_stays_exact_through_crowding_renames_and_deletes,
    clone_copies_all_but_identity_and_addresses,
    delete_keeps_the_history_and_ends_sessions,
    permissions_are_checked_in_every_handler,
    merging_an_agent_needs_roles_manage_even_for_one_of_the_two,
    demo_rows_are_what_the_service_writes,
);

async fn create_normalizes_every_field(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, u) = app
        .post(
            "/api/v1/users",
            json!({
                "username": "Jane.Doe",
                "display_name": "  Jane Doe ",
                "emails": [
                    {"email": "Jane@Example.COM", "verified": true},
                    {"email": "jane@bücher.example", "primary": true}
                ],
                "phones": [{"kind": "cell", "number": "(201) 555-0123"}, {"number": "+44 20 7946 0958"}],
                "time_zone": "Europe/Berlin",
                "language": "de",
                "company": "Acme",
                "website": "https://acme.example",
                "twitter": "@jane",
                "signature_html": "<p onclick=\"x()\">Best,<script>alert(1)</script> <a href=\"javascript:alert(1)\">J</a> <a href=\"https://acme.example\">Acme</a></p>",
                "summary": "Key contact",
                "labels": ["vip", "Beta", "VIP"],
                "auto_responder": true,
                "subscribe_community": true,
                "password": "a long enough passphrase"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    assert_eq!(u["username"], "Jane.Doe");
    assert_eq!(u["display_name"], "Jane Doe");
    assert_eq!(u["emails"][0], json!({"email": "jane@example.com", "primary": false, "verified": true}));
    assert_eq!(u["emails"][1], json!({"email": "jane@xn--bcher-kva.example", "primary": true, "verified": false}));
    assert_eq!(u["phones"][0], json!({"kind": "cell", "number": "+12015550123", "raw": "(201) 555-0123"}));
    assert_eq!(u["phones"][1]["kind"], "other");
    assert_eq!(u["phones"][1]["number"], "+442079460958");
    assert_eq!(u["time_zone"], "Europe/Berlin");
    assert_eq!(u["language"], "de");
    assert_eq!(u["labels"], json!(["Beta", "vip"]));
    assert_eq!(u["auto_responder"], true);
    let sig = u["signature_html"].as_str().expect("signature");
    assert!(!sig.contains("script") && !sig.contains("onclick") && !sig.contains("javascript"), "{sig}");
    assert!(sig.contains("https://acme.example"), "{sig}");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none(), "password must never be returned");
    assert_eq!(u["roles"], json!(["Registered User", "Registered User with Verified Email"]));
    assert_eq!(u["is_agent"], false);
    // the stored record reads back the same
    let (status, again) = app.get(&format!("/api/v1/users/{}", u["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, u);
    // defaults: first address primary, configured time zone and language
    let (_, v) = app.post("/api/v1/users", json!({"username": "min", "emails": [{"email": "min@example.com"}]})).await;
    assert_eq!(v["emails"][0]["primary"], true);
    assert_eq!(v["time_zone"], "UTC");
    assert_eq!(v["language"], "en");
    assert_eq!(v["display_name"], "min");
}

async fn bad_input_is_refused_naming_the_field_and_writes_nothing(b: Backend) {
    let app = TestApp::start(b).await;
    let before = app.count_users().await;
    let ok = json!({"username": "valid", "emails": [{"email": "valid@example.com"}]});
    let with = |k: &str, v: Value| {
        let mut o = ok.clone();
        o[k] = v;
        o
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("emails", json!([{"email": "not-an-address"}])), "emails[0].email"),
        (
            with(
                "emails",
                json!([{"email": "a@example.com"}, {"email": "b@example.com", "primary": true}, {"email": "c@example.com", "primary": true}]),
            ),
            "emails",
        ),
        (with("emails", json!([])), "emails"),
        (with("emails", json!([{"email": "a@example.com"}, {"email": "A@EXAMPLE.com"}])), "emails[1].email"),
        (with("phones", json!([{"kind": "cell", "number": "call me maybe"}])), "phones[0].number"),
        (with("phones", json!([{"kind": "pager", "number": "2015550123"}])), "phones[0].kind"),
        (with("time_zone", json!("Mars/Olympus_Mons")), "time_zone"),
        (with("language", json!("tlh")), "language"),
        (with("roles", json!(["Wizard"])), "roles"),
        (with("roles", json!(["Registered User with Verified Email"])), "roles"),
        (with("display_name", json!("x".repeat(201))), "display_name"),
        (with("summary", json!("x".repeat(10_001))), "summary"),
        (with("company", json!("x".repeat(501))), "company"),
        (with("username", json!("has space")), "username"),
        (with("username", json!("x".repeat(101))), "username"),
        (with("auth_method", json!("kerberos")), "auth_method"),
        (with("password", json!("short")), "password"),
        (with("password", json!("x".repeat(129))), "password"),
        (with("labels", json!([""])), "labels"),
        (with("custom_fields", json!({"nope": 1})), "custom_fields.nope"),
        (with("banned", json!("yes")), "banned"),
        (with("is_agent", json!(true)), "is_agent"),
        (json!({"emails": [{"email": "x@example.com"}]}), "username"),
    ];
    for (body, field) in cases {
        let (status, v) = app.post("/api/v1/users", body.clone()).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
        assert_eq!(v["error"]["code"], "invalid", "{v}");
    }
    // several bad fields are all named at once
    let (status, v) = app
        .post("/api/v1/users", json!({"username": "x", "emails": [{"email": "bad"}], "time_zone": "Nowhere/None", "phones": [{"number": "?"}]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["emails[0].email", "time_zone", "phones[0].number"] {
        assert!(v["error"]["fields"][f].is_string(), "{f} in {v}");
    }
    // not JSON, wrong content type
    let res = app
        .client
        .post(format!("{}/api/v1/users", app.base))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .client
        .post(format!("{}/api/v1/users", app.base))
        .bearer_auth(&app.admin_token)
        .body("username=x")
        .send()
        .await
        .expect("send");
    // not JSON at all (a form post): 415
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // over the body limit
    let huge =
        json!({"username": "big", "emails": [{"email": "big@example.com"}], "summary": "x".repeat(3 * 1024 * 1024)});
    let (status, _) = app.post("/api/v1/users", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count_users().await, before, "a refused request must write nothing");
}

async fn duplicates_conflict_and_nothing_half_written(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "Sam", "emails": [{"email": "sam@example.com"}]})).await;
    let before = app.count_users().await;
    let (status, v) =
        app.post("/api/v1/users", json!({"username": "sAM", "emails": [{"email": "other@example.com"}]})).await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("username"));
    let (status, v) = app
        .post(
            "/api/v1/users",
            json!({"username": "sam2", "emails": [{"email": "fresh@example.com"}, {"email": "SAM@example.com"}]}),
        )
        .await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("emails[1].email"));
    assert_eq!(app.count_users().await, before);
    // the fresh address of the refused request was not kept either
    let id = app.create_user(json!({"username": "sam3", "emails": [{"email": "fresh@example.com"}]})).await;
    assert!(id > 0);
}

async fn edit_changes_only_sent_fields_and_logs_each(b: Backend) {
    let app = TestApp::start(b).await;
    let id = app
        .create_user(json!({"username": "ed", "emails": [{"email": "ed@example.com"}], "website": "https://ed.example", "company": "Old Co"}))
        .await;
    let (status, u) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"display_name": "Ed Edison", "company": "New Co", "website": null, "labels": ["gold"],
                   "emails": [{"email": "ed@example.com", "verified": true}, {"email": "ed@work.example", "primary": true}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(u["display_name"], "Ed Edison");
    assert_eq!(u["company"], "New Co");
    assert_eq!(u["website"], "");
    assert_eq!(u["username"], "ed", "fields not sent stay");
    assert_eq!(u["emails"][1]["primary"], true);
    assert!(u["roles"].as_array().expect("roles").contains(&json!("Registered User with Verified Email")));
    let (status, log) = app.get(&format!("/api/v1/users/{id}/changes")).await;
    assert_eq!(status, StatusCode::OK);
    let items = log["items"].as_array().expect("items");
    let field = |f: &str| items.iter().find(|c| c["field"] == f).cloned().unwrap_or(Value::Null);
    assert_eq!(field("company")["old"], "Old Co");
    assert_eq!(field("company")["new"], "New Co");
    assert_eq!(field("website")["old"], "https://ed.example");
    assert_eq!(field("website")["new"], "");
    assert_eq!(field("display_name")["new"], "Ed Edison");
    assert!(field("emails")["new"].is_array());
    assert_eq!(field("company")["actor"], json!({"kind": "agent", "id": app.admin_id, "name": "admin"}));
    assert!(field("company")["at"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(items.last().expect("first entry")["field"], "created", "newest first");
    assert_eq!(log["total"], items.len());
    // a password change is logged without the password
    let (status, _) = app.patch(&format!("/api/v1/users/{id}"), json!({"password": "another long passphrase"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = app.get(&format!("/api/v1/users/{id}/changes?limit=1")).await;
    assert_eq!(log["items"][0]["field"], "password");
    assert!(!log.to_string().contains("another long passphrase"));
    assert!(log["next_cursor"].is_string());
    let (_, next) = app
        .get(&format!("/api/v1/users/{id}/changes?limit=1&cursor={}", log["next_cursor"].as_str().expect("cursor")))
        .await;
    assert_ne!(next["items"][0], log["items"][0]);
    // an edit that changes nothing logs nothing
    let before = log["total"].clone();
    let (status, _) = app.patch(&format!("/api/v1/users/{id}"), json!({"company": "New Co"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = app.get(&format!("/api/v1/users/{id}/changes")).await;
    assert_eq!(log["total"], before);
    // unknown user
    let (status, v) = app.patch("/api/v1/users/999999", json!({"company": "x"})).await;
    assert_error(status, &v, StatusCode::NOT_FOUND, None);
    let (status, _) = app.get("/api/v1/users/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn edit_conflict_leaves_the_record_untouched(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "first", "emails": [{"email": "first@example.com"}]})).await;
    let id = app.create_user(json!({"username": "second", "emails": [{"email": "second@example.com"}]})).await;
    let (status, v) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"display_name": "Changed", "emails": [{"email": "FIRST@example.com"}]}),
        )
        .await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("emails[0].email"));
    let (status, v) =
        app.patch(&format!("/api/v1/users/{id}"), json!({"display_name": "Changed", "username": "FIRST"})).await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("username"));
    let (status, v) =
        app.patch(&format!("/api/v1/users/{id}"), json!({"display_name": "Changed", "time_zone": "Bad/Zone"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("time_zone"));
    let (_, u) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u["display_name"], "second");
    assert_eq!(u["emails"], json!([{"email": "second@example.com", "primary": true, "verified": false}]));
    // a user may keep and re-case their own username
    let (status, u) = app.patch(&format!("/api/v1/users/{id}"), json!({"username": "Second"})).await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(u["username"], "Second");
}

async fn search_filter_sort_and_paginate(b: Backend) {
    let app = TestApp::start(b).await;
    let people = [
        ("alice", "Alice Archer", "alice@acme.example", "+12015550101", "Acme", vec!["vip"], true),
        ("bob", "bob Baker", "bob@globex.example", "+12015550102", "Globex", vec![], false),
        ("carol", "Carol Cooper", "carol@acme.example", "+12015550103", "Acme", vec!["vip", "beta"], true),
        ("dave", "Dave Dyer", "dave@initech.example", "+12015550104", "Initech", vec!["beta"], false),
        ("erin", "Erin Edwards", "erin@acme.example", "+12015550105", "Acme", vec![], false),
        ("frank", "Frank Fisher", "frank@globex.example", "+12015550106", "Globex", vec!["VIP"], true),
        ("grace", "grace Gray", "grace@umbrella.example", "+12015550107", "Umbrella", vec![], false),
    ];
    for (u, name, email, phone, company, labels, verified) in &people {
        app.create_user(
            json!({"username": u, "display_name": name, "emails": [{"email": email, "verified": verified}],
            "phones": [{"kind": "work", "number": phone}], "company": company, "labels": labels}),
        )
        .await;
    }
    app.user_with_token("agent1", &["Agent"]).await;
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {v}"))
            .iter()
            .map(|u| u["username"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let (_, v) = app.get("/api/v1/users?q=ACME").await;
    assert_eq!(names(&v), ["alice", "carol", "erin"]);
    assert_eq!(v["total"], 3);
    let (_, v) = app.get("/api/v1/users?q=globex.exa").await;
    assert_eq!(names(&v), ["bob", "frank"]);
    let (_, v) = app.get("/api/v1/users?q=5550104").await;
    assert_eq!(names(&v), ["dave"]);
    let (_, v) = app.get("/api/v1/users?q=cooper").await;
    assert_eq!(names(&v), ["carol"]);
    let (_, v) = app.get("/api/v1/users?q=beta").await;
    assert_eq!(names(&v), ["carol", "dave"]);
    let (_, v) = app.get("/api/v1/users?q=100%25").await;
    assert_eq!(v["total"], 0, "LIKE wildcards in q are literal");
    let (_, v) = app.get("/api/v1/users?label=vip").await;
    assert_eq!(names(&v), ["alice", "carol", "frank"]);
    let (_, v) = app.get("/api/v1/users?role=Agent").await;
    assert_eq!(names(&v), ["agent1"]);
    let (_, v) = app.get("/api/v1/users?role=Registered%20User%20with%20Verified%20Email").await;
    assert_eq!(names(&v), ["admin", "agent1", "alice", "carol", "frank"]);
    let (_, v) = app.get("/api/v1/users?role=Everyone").await;
    assert_eq!(v["total"], 9);
    let (status, v) = app.get("/api/v1/users?role=Wizard").await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("role"));
    // sorting: display name ignores case; every key both ways
    let (_, v) = app.get("/api/v1/users?q=example&sort=display_name").await;
    assert_eq!(names(&v)[..4], ["admin", "agent1", "alice", "bob"]);
    let (_, v) = app.get("/api/v1/users?q=example&sort=username&order=desc").await;
    assert_eq!(names(&v)[..2], ["grace", "frank"]);
    let (_, v) = app.get("/api/v1/users?sort=email").await;
    assert_eq!(names(&v)[0], "admin");
    let (_, v) = app.get("/api/v1/users?sort=verified&order=desc&limit=5").await;
    assert!(v["items"].as_array().expect("items").iter().all(|u| u["emails"][0]["verified"] == true));
    let (_, v) = app.get("/api/v1/users?sort=created&order=desc&limit=1").await;
    assert_eq!(names(&v), ["agent1"]);
    let (status, _) = app.get("/api/v1/users?sort=last_login").await;
    assert_eq!(status, StatusCode::OK);
    for bad in ["sort=shoe_size", "order=sideways", "limit=0", "limit=many", "cursor=garbage"] {
        let (status, v) = app.get(&format!("/api/v1/users?{bad}")).await;
        let field = bad.split('=').next().expect("key");
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    // limit above the maximum is capped
    let (status, v) = app.get("/api/v1/users?limit=1000000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["items"].as_array().expect("items").len(), 9);
    // walking pages with each sort key visits every user exactly once
    for sort in ["display_name", "username", "email", "verified", "last_login", "created"] {
        for order in ["asc", "desc"] {
            let mut seen = Vec::new();
            let mut path = format!("/api/v1/users?sort={sort}&order={order}&limit=2");
            loop {
                let (status, v) = app.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{v}");
                assert_eq!(v["total"], 9);
                seen.extend(names(&v));
                match v["next_cursor"].as_str() {
                    Some(c) => path = format!("/api/v1/users?sort={sort}&order={order}&limit=2&cursor={c}"),
                    None => break,
                }
            }
            let mut sorted = seen.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(seen.len(), 9, "{sort} {order}: {seen:?}");
            assert_eq!(sorted.len(), 9, "{sort} {order}: duplicates in {seen:?}");
        }
    }
}

async fn clone_copies_all_but_identity_and_addresses(b: Backend) {
    let app = TestApp::start(b).await;
    let id = app
        .create_user(json!({"username": "orig", "display_name": "Original", "emails": [{"email": "orig@example.com"}],
            "phones": [{"kind": "work", "number": "2015550199"}], "company": "Acme", "labels": ["vip"], "time_zone": "Asia/Tokyo",
            "signature_html": "<b>Orig</b>", "password": "first secret phrase here"}))
        .await;
    let (status, v) = app.post(&format!("/api/v1/users/{id}/clone"), json!({})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("emails"));
    let (status, c) = app
        .post(
            &format!("/api/v1/users/{id}/clone"),
            json!({"emails": [{"email": "copy@example.com"}], "display_name": "Copy"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_ne!(c["id"], json!(id));
    assert_eq!(c["username"], "orig-copy");
    assert_eq!(c["display_name"], "Copy");
    assert_eq!(c["emails"], json!([{"email": "copy@example.com", "primary": true, "verified": false}]));
    let (_, o) = app.get(&format!("/api/v1/users/{id}")).await;
    for f in ["company", "labels", "time_zone", "signature_html", "phones", "language"] {
        assert_eq!(c[f], o[f], "{f} is copied");
    }
    // the password is not copied: the clone cannot log in with it
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "orig-copy", "password": "first secret phrase here"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, c2) = app
        .post(
            &format!("/api/v1/users/{id}/clone"),
            json!({"username": "orig-copy", "emails": [{"email": "copy2@example.com"}]}),
        )
        .await;
    assert_error(status, &c2, StatusCode::CONFLICT, Some("username"));
    let (status, _) = app.post("/api/v1/users/999999/clone", json!({"emails": [{"email": "x@example.com"}]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn delete_keeps_the_history_and_ends_sessions(b: Backend) {
    let app = TestApp::start(b).await;
    let (id, session) = app.logged_in_user("leaving", "a fine passphrase").await;
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&session), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = app.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    let (status, _) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&session), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the deleted user's session is gone");
    // the address is free again
    app.create_user(json!({"username": "newcomer", "emails": [{"email": "leaving@customer.example"}]})).await;
    // an administrator cannot delete themselves
    let (status, v) = app.delete(&format!("/api/v1/users/{}", app.admin_id)).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("id"));
}

async fn permissions_are_checked_in_every_handler(b: Backend) {
    let app = TestApp::start(b).await;
    let target = app.create_user(json!({"username": "cust", "emails": [{"email": "cust@example.com"}]})).await;
    let (agent_id, agent) = app.user_with_token("agent", &["Agent"]).await;
    let (_, manager) = app.user_with_token("manager", &["Manager"]).await;
    let (_, portal) = app.logged_in_user("portal", "some secret words here").await;
    let users = "/api/v1/users";
    let one = format!("/api/v1/users/{target}");

    // anonymous and bad tokens: 401 everywhere
    for (m, p) in [
        (Method::GET, users.to_string()),
        (Method::GET, one.clone()),
        (Method::DELETE, one.clone()),
        (Method::GET, "/api/v1/me".into()),
    ] {
        for token in [None, Some("kith_t_forged"), Some("not-a-token"), Some("")] {
            let (status, v) = app.call(m.clone(), &p, token, None).await;
            assert_error(status, &v, StatusCode::UNAUTHORIZED, None);
        }
    }
    // identity headers are never trusted
    let res = app
        .client
        .get(format!("{}/api/v1/users", app.base))
        .header("X-Forwarded-User", "admin")
        .header("Remote-User", "admin")
        .header("X-Remote-User", "admin")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // a portal user sees nothing of the agent API
    for (m, p, body) in [
        (Method::GET, users.to_string(), None),
        (Method::GET, one.clone(), None),
        (Method::POST, users.to_string(), Some(json!({"username": "x", "emails": [{"email": "x@example.com"}]}))),
        (Method::PATCH, one.clone(), Some(json!({"company": "x"}))),
        (Method::DELETE, one.clone(), None),
        (Method::POST, format!("{one}/clone"), Some(json!({"emails": [{"email": "y@example.com"}]}))),
        (Method::GET, format!("{one}/changes"), None),
        (Method::GET, "/api/v1/roles".into(), None),
        (Method::POST, "/api/v1/roles".into(), Some(json!({"name": "x", "kind": "user"}))),
    ] {
        let (status, v) = app.call(m.clone(), &p, Some(&portal), body).await;
        assert_error(status, &v, StatusCode::FORBIDDEN, None);
    }
    // an agent edits users but may not delete them
    let (status, _) = app.call(Method::PATCH, &one, Some(&agent), Some(json!({"company": "Edited"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = app.call(Method::DELETE, &one, Some(&agent), None).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    // ...nor raise anyone (themselves included) to an agent role, nor edit another agent
    let (status, v) = app.call(Method::PATCH, &one, Some(&agent), Some(json!({"roles": ["Administrator"]}))).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{agent_id}"),
            Some(&agent),
            Some(json!({"roles": ["Administrator"]})),
        )
        .await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, v) = app
        .call(
            Method::POST,
            users,
            Some(&agent),
            Some(json!({"username": "sneaky", "emails": [{"email": "s@example.com"}], "roles": ["Agent"]})),
        )
        .await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.admin_id),
            Some(&agent),
            Some(json!({"password": "taken over passphrase"})),
        )
        .await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    // an agent may edit their own record
    let (status, _) = app
        .call(Method::PATCH, &format!("/api/v1/users/{agent_id}"), Some(&agent), Some(json!({"summary": "me"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    // a manager deletes customers
    let (status, _) = app.call(Method::DELETE, &one, Some(&manager), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // a custom role with only users_view reads but does not write
    let (status, _) =
        app.post("/api/v1/roles", json!({"name": "Viewer", "kind": "agent", "permissions": ["users_view"]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, viewer) = app.user_with_token("viewer", &["Viewer"]).await;
    let (status, _) = app.call(Method::GET, users, Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = app
        .call(
            Method::POST,
            users,
            Some(&viewer),
            Some(json!({"username": "n", "emails": [{"email": "n@example.com"}]})),
        )
        .await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
}

/// Every page of `GET /users?q=...&sort=display_name` (both directions), joined up.
async fn all_pages(app: &TestApp, q: &str, order: &str) -> (Vec<(String, i64)>, i64) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/users?q={q}&sort=display_name&order={order}&limit=7");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, v) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let total = v["total"].as_i64().expect("total");
        for u in v["items"].as_array().expect("items") {
            out.push((u["display_name"].as_str().expect("name").to_lowercase(), u["id"].as_i64().expect("id")));
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, total),
        }
    }
}

/// Fragment searches sorted by name walk a name-ordered index on SQLite (its ranks have gaps
/// that fill up): many users squeezed into one gap, renames and deletes must keep every page
/// exact, in both directions, against a plain sort of what was stored.
async fn name_sorted_search_stays_exact_through_crowding_renames_and_deletes(b: Backend) {
    let app = TestApp::start(b).await;
    let mut people: Vec<(String, i64)> = Vec::new();
    let mut add = |name: String, id: i64| people.push((name.to_lowercase(), id));
    for name in ["Crowd Aaa", "Crowd Aac"] {
        let username = name.replace(' ', ".");
        let id = app.create_user(json!({"username": username, "display_name": name, "emails": [{"email": format!("{username}@crowd.example")}]})).await;
        add(name.to_string(), id);
    }
    // 40 equal names land between the two, halving one gap until it must be spread out
    for i in 0..40 {
        let username = format!("crowd.aab{i}");
        let id = app.create_user(json!({"username": username, "display_name": "Crowd Aab", "emails": [{"email": format!("{username}@crowd.example")}]})).await;
        add("Crowd Aab".into(), id);
    }
    for i in 0..10 {
        let name = format!("Crowd {}", ["Zed", "Mid", "Aaa", "Bee", "Aab"][i % 5]);
        let username = format!("crowd.more{i}");
        let id = app.create_user(json!({"username": username, "display_name": name, "emails": [{"email": format!("{username}@crowd.example")}]})).await;
        add(name, id);
    }
    app.create_user(json!({"username": "someone.else", "display_name": "Someone Else", "emails": [{"email": "else@other.example"}]})).await;
    let check = |people: &Vec<(String, i64)>| {
        let mut want = people.clone();
        want.sort();
        want
    };
    let want = check(&people);
    let (asc, total) = all_pages(&app, "crowd", "asc").await;
    assert_eq!(total, want.len() as i64);
    assert_eq!(asc, want);
    let (desc, _) = all_pages(&app, "crowd", "desc").await;
    assert_eq!(desc, want.iter().rev().cloned().collect::<Vec<_>>());

    // renames move people (also into the crowded spot), deletes take them out
    for (n, (_, id)) in people.clone().iter().enumerate().filter(|(n, _)| n % 6 == 0) {
        let name = if n % 12 == 0 { "Crowd Aab".to_string() } else { format!("Crowd Moved {n}") };
        let (status, v) = app.patch(&format!("/api/v1/users/{id}"), json!({"display_name": name})).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        people[n].0 = name.to_lowercase();
    }
    for (_, id) in people.iter().filter(|(_, id)| id % 7 == 0) {
        let (status, _) = app.delete(&format!("/api/v1/users/{id}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    people.retain(|(_, id)| id % 7 != 0);
    let want = check(&people);
    let (asc, total) = all_pages(&app, "crowd", "asc").await;
    assert_eq!(total, want.len() as i64);
    assert_eq!(asc, want);
    let (desc, _) = all_pages(&app, "crowd", "desc").await;
    assert_eq!(desc, want.iter().rev().cloned().collect::<Vec<_>>());
    // a renamed user is found by the new name and not by the old
    let (_, v) = app.get("/api/v1/users?q=moved&sort=display_name").await;
    assert_eq!(v["total"].as_i64(), Some(people.iter().filter(|(n, _)| n.contains("moved")).count() as i64));
}

/// Security issue, item 1: a Manager (users_merge, no roles_manage) could merge the
/// administrator with themselves — taking over the administrator's account through the moved
/// sign-in identities — or merge another Manager into themselves, while editing or deleting
/// either was refused. Merging is now refused whenever either side is an agent, unless the
/// caller manages roles; customers still merge as before.
async fn merging_an_agent_needs_roles_manage_even_for_one_of_the_two(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = app.state.store.find_user_id("admin").await.expect("lookup").expect("admin").0;
    let (m1, m1_token) = app.user_with_token("m1", &["Manager"]).await;
    let (m2, _) = app.user_with_token("m2", &["Manager"]).await;
    let merge = |survivor: i64, source: i64| {
        let token = m1_token.clone();
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/users/{survivor}/merge"),
                Some(&token),
                Some(json!({"source_id": source})),
            )
            .await
        }
    };
    // the administrator keeps their account; m1 is not merged into it
    let (status, v) = merge(admin, m1).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    // m2 is not swallowed by m1
    let (status, v) = merge(m1, m2).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    // nor is a customer merged into the Manager's own account
    let customer = app.create_user(json!({"username": "cust", "emails": [{"email": "cust@c.example"}]})).await;
    let (status, v) = merge(m1, customer).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    for id in [admin, m1, m2, customer] {
        assert_eq!(app.get(&format!("/api/v1/users/{id}")).await.0, StatusCode::OK, "user {id} is still there");
    }
    let (_, me) = app.call(Method::GET, "/api/v1/me", Some(&m1_token), None).await;
    assert_eq!(me["username"], "m1", "the Manager is still themselves");
    // two customers: a Manager merges them as before
    let other = app.create_user(json!({"username": "cust2", "emails": [{"email": "cust2@c.example"}]})).await;
    let (status, v) = merge(customer, other).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // the administrator (roles_manage) may merge agents
    let (status, v) = app.post(&format!("/api/v1/users/{m1}/merge"), json!({"source_id": m2})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// Every `users` column a write fills, as text, for user `id` (read with plain SQL).
async fn stored_columns(app: &TestApp, id: i64) -> Vec<(String, Option<String>)> {
    let cols: Vec<String> = kith::store::USER_COLUMNS.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    let sql = format!("SELECT {} FROM users WHERE id = {id}", cols.join(", "));
    let url = app.state.config.database_url();
    let values: Vec<Option<String>> = match app.backend {
        kith_tests::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("row");
            (0..cols.len()).map(|i| sqlx::Row::get::<Option<String>, _>(&row, i)).collect()
        }
        kith_tests::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("row");
            (0..cols.len()).map(|i| sqlx::Row::get::<Option<String>, _>(&row, i)).collect()
        }
    };
    kith::store::USER_COLUMNS.iter().map(|c| c.to_string()).zip(values).collect()
}

/// `kith demo-data` writes user rows through the same column list and the same derivations
/// (lookup keys, primary address, search text) as a user created through the API: a demo user
/// deleted and created again from the same input has the same stored columns.
async fn demo_rows_are_what_the_service_writes(b: Backend) {
    let app = TestApp::start(b).await;
    let options = kith::demo::DemoOptions {
        users: 40,
        organizations: 3,
        tickets: 10,
        chats: 0,
        calls: 0,
        surveys: 0,
        seed: 11,
        languages: vec!["en".into(), "de".into()],
    };
    kith::demo::generate(&app.state.store, &options).await.expect("demo data");
    let (status, page) = app.get("/api/v1/users?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let demo: Vec<Value> =
        page["items"].as_array().expect("items").iter().filter(|u| u["username"] != "admin").cloned().collect();
    assert!(demo.len() >= 40, "{}", demo.len());
    // one with two addresses and phones if the seed made one, else any
    let user = demo
        .iter()
        .max_by_key(|u| u["emails"].as_array().map_or(0, Vec::len) * 10 + u["phones"].as_array().map_or(0, Vec::len))
        .expect("a demo user")
        .clone();
    let id = user["id"].as_i64().expect("id");
    let before = stored_columns(&app, id).await;
    assert_eq!(app.delete(&format!("/api/v1/users/{id}")).await.0, StatusCode::NO_CONTENT);
    let phones: Vec<Value> = user["phones"]
        .as_array()
        .expect("phones")
        .iter()
        .map(|p| json!({"kind": p["kind"], "number": p["raw"]}))
        .collect();
    let input = json!({
        "username": user["username"],
        "display_name": user["display_name"],
        "emails": user["emails"],
        "phones": phones,
        "time_zone": user["time_zone"],
        "language": user["language"],
        "company": user["company"],
    });
    let again = app.create_user(input).await;
    let after = stored_columns(&app, again).await;
    assert_eq!(before, after, "a demo row equals the service's row for the same input");
    assert!(before.iter().any(|(c, v)| c == "search_text" && v.as_deref().is_some_and(|t| t.contains('@'))));
}
