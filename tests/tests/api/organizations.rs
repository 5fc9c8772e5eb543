//! Organizations, membership rules, the tabs they pull in, user tabs, portal scope and merge.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    organization_crud_search_comments_and_changes,
    rules_are_normalized_and_refused_when_wrong,
    tabs_follow_the_spec_table_exactly,
    rules_are_live_and_tabs_paginate,
    user_tabs_and_organizations,
    portal_sees_organization_tickets_only_when_allowed,
    merge_moves_everything_to_the_survivor,
);

async fn org(app: &TestApp, body: Value) -> i64 {
    let (status, v) = app.post("/api/v1/organizations", body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("id")
}

async fn rule(app: &TestApp, org: i64, body: Value) -> i64 {
    let (status, v) = app.post(&format!("/api/v1/organizations/{org}/members"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("id")
}

async fn record(app: &TestApp, kind: &str, body: Value) -> i64 {
    let (status, v) = app.post(&format!("/api/v1/{kind}"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("id")
}

/// Every item of a tab (walking all pages) as (id, sorted rule ids that matched).
async fn tab_all(app: &TestApp, path: &str, limit: usize) -> Vec<(i64, Vec<i64>)> {
    app.walk(path, limit)
        .await
        .iter()
        .map(|item| {
            let mut rules: Vec<i64> = item["matched_by"]
                .as_array()
                .map(|m| m.iter().filter_map(|r| r["rule_id"].as_i64()).collect())
                .unwrap_or_default();
            rules.sort();
            (item["id"].as_i64().expect("id"), rules)
        })
        .collect()
}

fn ids(v: &[(i64, Vec<i64>)]) -> Vec<i64> {
    let mut i: Vec<i64> = v.iter().map(|(id, _)| *id).collect();
    i.sort();
    i
}

async fn organization_crud_search_comments_and_changes(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, o) = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Acme Corp", "website": "https://www.acme.example", "phone": "+1 201 555 0100", "employees": "26-50",
                   "address1": "1 Road", "city": "Springfield", "state": "IL", "zip": "62701", "country": "US",
                   "summary": "Big customer", "labels": ["Gold"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    assert_eq!(o["comment_count"], 0);
    assert_eq!(o["labels"], json!(["Gold"]));
    let id = o["id"].as_i64().expect("id");
    org(&app, json!({"name": "Globex", "website": "globex.example", "phone": "555-0199"})).await;
    org(&app, json!({"name": "initech", "website": "https://initech.example"})).await;
    let (status, v) = app.post("/api/v1/organizations", json!({"name": "ACME CORP"})).await;
    assert_error(status, &v, StatusCode::CONFLICT, Some("name"));
    for (body, field) in [
        (json!({"website": "x"}), "name"),
        (json!({"name": "X", "employees": "lots"}), "employees"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "Y", "tier": 1}), "tier"),
    ] {
        let (status, v) = app.post("/api/v1/organizations", body).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"].as_array().expect("items").iter().map(|o| o["name"].as_str().unwrap_or("").to_string()).collect()
    };
    let (_, v) = app.get("/api/v1/organizations?q=ACME").await;
    assert_eq!(names(&v), ["Acme Corp"]);
    let (_, v) = app.get("/api/v1/organizations?q=globex.ex").await;
    assert_eq!(names(&v), ["Globex"]);
    let (_, v) = app.get("/api/v1/organizations?q=5550199").await;
    assert_eq!(names(&v), ["Globex"]);
    let (_, v) = app.get("/api/v1/organizations?q=555%200100").await;
    assert_eq!(names(&v), ["Acme Corp"]);
    let (_, v) = app.get("/api/v1/organizations").await;
    assert_eq!(names(&v), ["Acme Corp", "Globex", "initech"]);
    let (_, v) = app.get("/api/v1/organizations?sort=name&order=desc").await;
    assert_eq!(names(&v), ["initech", "Globex", "Acme Corp"]);
    let (_, v) = app.get("/api/v1/organizations?sort=website").await;
    assert_eq!(names(&v), ["Acme Corp", "Globex", "initech"], "website sorts without scheme and www");
    let (_, v) = app.get("/api/v1/organizations?sort=phone&limit=1").await;
    assert_eq!(v["total"], 3);
    let (_, v2) = app
        .get(&format!("/api/v1/organizations?sort=phone&limit=1&cursor={}", v["next_cursor"].as_str().expect("c")))
        .await;
    assert_ne!(names(&v), names(&v2));
    let (status, v) = app.get("/api/v1/organizations?sort=size").await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("sort"));

    // edit and change log
    let (status, o) =
        app.patch(&format!("/api/v1/organizations/{id}"), json!({"city": "Shelbyville", "website": null})).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["website"], "");
    assert_eq!(o["name"], "Acme Corp");
    // comments: agent-only, counted
    let (status, c) =
        app.post(&format!("/api/v1/organizations/{id}/comments"), json!({"body": "<b>VIP</b> handle with care"})).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["body"], "<b>VIP</b> handle with care", "stored as text; escaping is the viewer's job");
    let (status, v) = app.post(&format!("/api/v1/organizations/{id}/comments"), json!({"body": "  "})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("body"));
    let (_, o) = app.get(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(o["comment_count"], 1);
    let (_, cs) = app.get(&format!("/api/v1/organizations/{id}/comments")).await;
    assert_eq!(cs["total"], 1);
    assert_eq!(cs["items"][0]["author"]["name"], "admin");
    rule(&app, id, json!({"kind": "domain", "value": "acme.example"})).await;
    let (_, log) = app.get(&format!("/api/v1/organizations/{id}/changes")).await;
    let fields: Vec<&str> =
        log["items"].as_array().expect("items").iter().filter_map(|c| c["field"].as_str()).collect();
    assert_eq!(fields, ["members", "website", "city", "created"], "{log}");
    assert_eq!(log["items"][0]["new"]["value"], "acme.example");

    // permissions: agents view, edit and comment; only managers delete; portal users nothing
    let (_, agent) = app.user_with_token("agent", &["Agent"]).await;
    let (_, manager) = app.user_with_token("manager", &["Manager"]).await;
    let (_, portal) = app.logged_in_user("portal", "a secret phrase here").await;
    let one = format!("/api/v1/organizations/{id}");
    let (status, _) = app.call(Method::PATCH, &one, Some(&agent), Some(json!({"zip": "1"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        app.call(Method::POST, &format!("{one}/comments"), Some(&agent), Some(json!({"body": "hi"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, v) = app.call(Method::DELETE, &one, Some(&agent), None).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    for (m, p) in [
        (Method::GET, one.clone()),
        (Method::GET, format!("{one}/tickets")),
        (Method::GET, format!("{one}/comments")),
        (Method::GET, "/api/v1/organizations".into()),
    ] {
        let (status, v) = app.call(m, &p, Some(&portal), None).await;
        assert_error(status, &v, StatusCode::FORBIDDEN, None);
    }
    let (status, _) = app.call(Method::DELETE, &one, Some(&manager), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&one).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("{one}/tickets")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn rules_are_normalized_and_refused_when_wrong(b: Backend) {
    let app = TestApp::start(b).await;
    let id = org(&app, json!({"name": "Rules Inc"})).await;
    app.create_user(json!({"username": "Known", "emails": [{"email": "known@rules.example"}]})).await;
    let members = format!("/api/v1/organizations/{id}/members");
    let (_, r) = app
        .post(
            &members,
            json!({"kind": "domain", "value": "Bücher.Example", "include_subdomains": true, "view_org_tickets": true}),
        )
        .await;
    assert_eq!(r["value"], "xn--bcher-kva.example", "{r}");
    assert_eq!(r["include_subdomains"], true);
    let (_, r) = app.post(&members, json!({"kind": "email", "value": "  Boss@Rules.EXAMPLE "})).await;
    assert_eq!(r["value"], "boss@rules.example");
    let (_, r) = app.post(&members, json!({"kind": "phone", "value": "(201) 555-0123"})).await;
    assert_eq!(r["value"], "+12015550123");
    let (status, r) = app.post(&members, json!({"kind": "username", "value": "KNOWN"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_i64().expect("id");
    for (body, status_want, field) in [
        (json!({"kind": "email", "value": "not-an-address"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "domain", "value": "no_dots"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "domain", "value": "user@acme.example"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "phone", "value": "call me"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "username", "value": "nobody"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "planet", "value": "x"}), StatusCode::UNPROCESSABLE_ENTITY, "kind"),
        (json!({"value": "x@y.example"}), StatusCode::UNPROCESSABLE_ENTITY, "kind"),
        (
            json!({"kind": "phone", "value": "2015550199", "view_org_tickets": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "view_org_tickets",
        ),
        (
            json!({"kind": "email", "value": "a@b.example", "include_subdomains": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "include_subdomains",
        ),
        (json!({"kind": "domain", "value": "GMAIL.com"}), StatusCode::UNPROCESSABLE_ENTITY, "value"),
        (json!({"kind": "email", "value": "BOSS@rules.example"}), StatusCode::CONFLICT, "value"),
        (json!({"kind": "phone", "value": "+1 201-555-0123"}), StatusCode::CONFLICT, "value"),
        (json!({"kind": "domain", "value": "xn--bcher-kva.example"}), StatusCode::CONFLICT, "value"),
        (json!({"kind": "username", "value": "known"}), StatusCode::CONFLICT, "value"),
    ] {
        let (status, v) = app.post(&members, body.clone()).await;
        assert_error(status, &v, status_want, Some(field));
    }
    let (status, _) =
        app.post(&members, json!({"kind": "domain", "value": "gmail.com", "confirm_public_domain": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = app.get(&members).await;
    assert_eq!(list["total"], 5);
    // edit and delete a rule
    let (status, r) = app.patch(&format!("{members}/{rid}"), json!({"view_org_tickets": true})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["view_org_tickets"], true);
    assert_eq!(r["value"], "known");
    let (status, v) = app.patch(&format!("{members}/{rid}"), json!({"kind": "email"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("kind"));
    let (status, _) = app.delete(&format!("{members}/{rid}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.delete(&format!("{members}/{rid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = org(&app, json!({"name": "Other"})).await;
    let (_, list) = app.get(&members).await;
    let first = list["items"][0]["id"].as_i64().expect("id");
    let (status, _) = app.delete(&format!("/api/v1/organizations/{other}/members/{first}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a rule is reached only through its organization");
    // preview: counts without saving
    app.create_user(json!({"username": "p1", "emails": [{"email": "p1@preview.example"}]})).await;
    app.create_user(json!({"username": "p2", "emails": [{"email": "p2@sub.preview.example"}]})).await;
    record(&app, "tickets", json!({"subject": "a", "emails": ["x@preview.example", "y@preview.example"]})).await;
    record(&app, "tickets", json!({"subject": "b", "emails": ["z@notpreview.example"]})).await;
    record(&app, "calls", json!({"email": "q@preview.example", "phone": "2015550111"})).await;
    let (status, c) = app
        .post(
            &format!("/api/v1/organizations/{other}/members/preview"),
            json!({"kind": "domain", "value": "preview.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c, json!({"users": 1, "tickets": 1, "chats": 0, "calls": 1, "surveys": 0}));
    let (_, c) = app
        .post(
            &format!("/api/v1/organizations/{other}/members/preview"),
            json!({"kind": "domain", "value": "preview.example", "include_subdomains": true}),
        )
        .await;
    assert_eq!(c["users"], 2);
    let (_, list) = app.get(&format!("/api/v1/organizations/{other}/members")).await;
    assert_eq!(list["total"], 0, "preview saves nothing");
    let (status, v) = app
        .post(&format!("/api/v1/organizations/{other}/members/preview"), json!({"kind": "email", "value": "bad"}))
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("value"));
}

/// One scenario per cell of the SPEC 3 table, plus the traps: a look-alike domain, subdomains,
/// records with no account, and a record matched by two rules.
async fn tabs_follow_the_spec_table_exactly(b: Backend) {
    let app = TestApp::start(b).await;
    let ann = app
        .create_user(json!({"username": "ann", "emails": [{"email": "ann@acme.example"}, {"email": "ann@home.example"}], "phones": [{"number": "2015550101"}]}))
        .await;
    let bob = app.create_user(json!({"username": "bob", "emails": [{"email": "bob@sales.acme.example"}]})).await;
    let cat = app.create_user(json!({"username": "cat", "emails": [{"email": "cat@notacme.example"}], "phones": [{"number": "2015550103"}]})).await;
    let dan = app.create_user(json!({"username": "dan", "emails": [{"email": "dan@else.example"}]})).await;
    let o = org(&app, json!({"name": "Acme"})).await;
    let r_domain = rule(&app, o, json!({"kind": "domain", "value": "acme.example"})).await;
    let r_email = rule(&app, o, json!({"kind": "email", "value": "dan@else.example"})).await;
    let r_user = rule(&app, o, json!({"kind": "username", "value": "cat"})).await;
    let r_phone = rule(&app, o, json!({"kind": "phone", "value": "+12015550101"})).await;

    // users: domain (ann, not bob on a subdomain, not cat's look-alike), email (dan), username (cat), phone (ann)
    let users = tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 2).await;
    assert_eq!(ids(&users), {
        let mut v = vec![ann, cat, dan];
        v.sort();
        v
    });
    let ann_row = users.iter().find(|(id, _)| *id == ann).expect("ann");
    assert_eq!(
        ann_row.1,
        {
            let mut v = vec![r_domain, r_phone];
            v.sort();
            v
        },
        "a record matched by two rules appears once with both"
    );
    assert!(!ids(&users).contains(&bob));

    // tickets
    let t_addr =
        record(&app, "tickets", json!({"subject": "header at domain", "emails": ["someone@acme.example"]})).await;
    let t_linked_ann = record(
        &app,
        "tickets",
        json!({"subject": "ann's account, other address", "user_id": ann, "emails": ["ann@home.example"]}),
    )
    .await;
    let t_cat_account = record(&app, "tickets", json!({"subject": "cat's account", "user_id": cat})).await;
    let t_cat_address_only =
        record(&app, "tickets", json!({"subject": "cat's address, no account", "emails": ["cat@notacme.example"]}))
            .await;
    let t_dan_addr = record(&app, "tickets", json!({"subject": "dan's address", "emails": ["dan@else.example"]})).await;
    let t_dan_account = record(
        &app,
        "tickets",
        json!({"subject": "dan's account, other address", "user_id": dan, "emails": ["dan@other.example"]}),
    )
    .await;
    let t_sub = record(&app, "tickets", json!({"subject": "subdomain", "emails": ["x@sales.acme.example"]})).await;
    let t_lookalike = record(&app, "tickets", json!({"subject": "look-alike", "emails": ["x@notacme.example"]})).await;
    let tickets = tab_all(&app, &format!("/api/v1/organizations/{o}/tickets"), 3).await;
    // domain: header address at acme.example; username cat: linked to cat; email dan: header has it;
    // phone +1...0101: linked to an account with it (ann)
    let mut want = vec![t_addr, t_linked_ann, t_cat_account, t_dan_addr];
    want.sort();
    assert_eq!(ids(&tickets), want);
    for not in [t_cat_address_only, t_dan_account, t_sub, t_lookalike] {
        assert!(!ids(&tickets).contains(&not));
    }
    let by = |rows: &[(i64, Vec<i64>)], id: i64| {
        rows.iter().find(|(i, _)| *i == id).map(|(_, r)| r.clone()).unwrap_or_default()
    };
    assert_eq!(by(&tickets, t_linked_ann), vec![r_phone]);
    assert_eq!(by(&tickets, t_cat_account), vec![r_user]);
    assert_eq!(by(&tickets, t_dan_addr), vec![r_email]);
    // newest first
    let (_, page) = app.get(&format!("/api/v1/organizations/{o}/tickets")).await;
    let order: Vec<i64> = page["items"].as_array().expect("items").iter().filter_map(|t| t["id"].as_i64()).collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted);
    assert_eq!(page["items"][0]["subject"], "dan's address", "items are the records themselves");

    // chats
    let c_addr = record(&app, "chats", json!({"email": "z@acme.example"})).await;
    let c_cat = record(&app, "chats", json!({"user_id": cat})).await;
    let c_cat_addr = record(&app, "chats", json!({"email": "cat@notacme.example"})).await;
    let c_dan = record(&app, "chats", json!({"email": "dan@else.example"})).await;
    let c_ann_acct = record(&app, "chats", json!({"user_id": ann, "email": "ann@home.example"})).await;
    let chats = tab_all(&app, &format!("/api/v1/organizations/{o}/chats"), 2).await;
    let mut want = vec![c_addr, c_cat, c_dan, c_ann_acct];
    want.sort();
    assert_eq!(ids(&chats), want);
    assert!(!ids(&chats).contains(&c_cat_addr));

    // calls: username rule → calls from one of cat's addresses; phone rule → calls from the number
    let k_cat_addr = record(&app, "calls", json!({"email": "cat@notacme.example"})).await;
    let k_phone = record(&app, "calls", json!({"phone": "(201) 555-0101"})).await;
    let k_cat_phone = record(&app, "calls", json!({"phone": "2015550103"})).await;
    let k_domain =
        record(&app, "calls", json!({"email": "q@acme.example", "direction": "outbound", "duration_secs": 60})).await;
    let k_sub = record(&app, "calls", json!({"email": "q@sales.acme.example"})).await;
    let calls = tab_all(&app, &format!("/api/v1/organizations/{o}/calls"), 10).await;
    let mut want = vec![k_cat_addr, k_phone, k_domain];
    want.sort();
    assert_eq!(ids(&calls), want);
    assert!(!ids(&calls).contains(&k_cat_phone) && !ids(&calls).contains(&k_sub));
    assert_eq!(by(&calls, k_cat_addr), vec![r_user]);

    // surveys: username → sent to cat's account; phone → sent to a user who has the number (ann)
    let s_cat = record(&app, "surveys", json!({"user_id": cat, "name": "CSAT", "score": 5})).await;
    let s_cat_addr = record(&app, "surveys", json!({"email": "cat@notacme.example", "name": "CSAT"})).await;
    let s_ann =
        record(&app, "surveys", json!({"user_id": ann, "email": "ann@home.example", "name": "NPS", "score": 9})).await;
    let s_domain = record(&app, "surveys", json!({"email": "r@acme.example", "name": "NPS"})).await;
    let surveys = tab_all(&app, &format!("/api/v1/organizations/{o}/surveys"), 1).await;
    let mut want = vec![s_cat, s_ann, s_domain];
    want.sort();
    assert_eq!(ids(&surveys), want);
    assert!(!ids(&surveys).contains(&s_cat_addr));

    // include_subdomains widens the domain rule to bob and the subdomain records, never the look-alike
    let (status, _) =
        app.patch(&format!("/api/v1/organizations/{o}/members/{r_domain}"), json!({"include_subdomains": true})).await;
    assert_eq!(status, StatusCode::OK);
    let users = tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 50).await;
    assert!(ids(&users).contains(&bob));
    let tickets = tab_all(&app, &format!("/api/v1/organizations/{o}/tickets"), 50).await;
    assert!(ids(&tickets).contains(&t_sub) && !ids(&tickets).contains(&t_lookalike));
    let calls = tab_all(&app, &format!("/api/v1/organizations/{o}/calls"), 50).await;
    assert!(ids(&calls).contains(&k_sub));
    // record edits are live too: a ticket whose header loses the address leaves the tab
    let (status, _) = app
        .patch(
            &format!("/api/v1/tickets/{t_addr}"),
            json!({"emails": ["someone@elsewhere.example"], "status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let tickets = tab_all(&app, &format!("/api/v1/organizations/{o}/tickets"), 50).await;
    assert!(!ids(&tickets).contains(&t_addr));
    // records are validated
    for (kind, body, field) in [
        ("tickets", json!({"emails": ["a@b.example"]}), "subject"),
        ("tickets", json!({"subject": "x", "status": "lost"}), "status"),
        ("tickets", json!({"subject": "x", "user_id": 999999}), "user_id"),
        ("tickets", json!({"subject": "x", "emails": ["nope"]}), "emails[0]"),
        ("tickets", json!({"subject": "x", "phone": "2015550101"}), "phone"),
        ("calls", json!({"direction": "inbound"}), "phone"),
        ("calls", json!({"phone": "abc"}), "phone"),
        ("surveys", json!({"email": "a@b.example"}), "name"),
        ("chats", json!({}), "email"),
        ("chats", json!({"email": "a@b.example", "started_at": "yesterday"}), "started_at"),
    ] {
        let (status, v) = app.post(&format!("/api/v1/{kind}"), body).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    let (status, _) = app.get("/api/v1/tickets/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn rules_are_live_and_tabs_paginate(b: Backend) {
    let app = TestApp::start(b).await;
    let o = org(&app, json!({"name": "Live"})).await;
    rule(&app, o, json!({"kind": "domain", "value": "live.example"})).await;
    let u = app.create_user(json!({"username": "mover", "emails": [{"email": "mover@elsewhere.example"}]})).await;
    let users = tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 5).await;
    assert!(users.is_empty());
    app.patch(
        &format!("/api/v1/users/{u}"),
        json!({"emails": [{"email": "mover@elsewhere.example"}, {"email": "mover@live.example"}]}),
    )
    .await;
    let users = tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 5).await;
    assert_eq!(ids(&users), vec![u], "gaining an address makes a member at once");
    app.patch(&format!("/api/v1/users/{u}"), json!({"emails": [{"email": "mover@elsewhere.example"}]})).await;
    assert!(
        tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 5).await.is_empty(),
        "losing it ends membership"
    );
    // 23 tickets at one second apart, some at the same instant: pages cover all, once, newest first
    let mut made = Vec::new();
    for i in 0..23 {
        let at = format!("2026-01-01T00:00:{:02}Z", i / 2);
        made.push(
            record(
                &app,
                "tickets",
                json!({"subject": format!("t{i}"), "emails": [format!("c{i}@live.example")], "created_at": at}),
            )
            .await,
        );
    }
    let all = tab_all(&app, &format!("/api/v1/organizations/{o}/tickets"), 4).await;
    assert_eq!(all.len(), 23);
    let mut got = ids(&all);
    got.dedup();
    assert_eq!(got.len(), 23);
    let (status, v) = app.get(&format!("/api/v1/organizations/{o}/tickets?cursor=nonsense")).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"));
}

async fn user_tabs_and_organizations(b: Backend) {
    let app = TestApp::start(b).await;
    let u = app
        .create_user(json!({"username": "tabby", "emails": [{"email": "tabby@cats.example"}, {"email": "t@home.example"}], "phones": [{"number": "2015550150"}]}))
        .await;
    let open1 =
        record(&app, "tickets", json!({"subject": "linked", "user_id": u, "created_at": "2026-02-01T10:00:00Z"})).await;
    let open2 = record(&app, "tickets", json!({"subject": "from address", "emails": ["t@home.example"], "status": "pending", "created_at": "2026-02-02T10:00:00Z"})).await;
    let done = record(
        &app,
        "tickets",
        json!({"subject": "done", "user_id": u, "status": "closed", "created_at": "2026-02-03T10:00:00Z"}),
    )
    .await;
    record(&app, "tickets", json!({"subject": "someone else", "emails": ["x@cats.example"]})).await;
    record(&app, "chats", json!({"user_id": u, "started_at": "2026-02-04T10:00:00Z"})).await;
    record(&app, "chats", json!({"email": "tabby@cats.example"})).await;
    record(&app, "calls", json!({"phone": "201-555-0150", "duration_secs": 120})).await;
    record(&app, "calls", json!({"email": "t@home.example", "duration_secs": 30, "at": "2026-02-05T10:00:00Z"})).await;
    record(&app, "surveys", json!({"user_id": u, "name": "CSAT", "score": 4})).await;
    let (_, v) = app.get(&format!("/api/v1/users/{u}/tickets?state=open")).await;
    let got: Vec<i64> = v["items"].as_array().expect("items").iter().filter_map(|t| t["id"].as_i64()).collect();
    assert_eq!(got, vec![open2, open1], "open and pending, newest first");
    let (_, v) = app.get(&format!("/api/v1/users/{u}/tickets?state=resolved")).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["id"], done);
    let (_, v) = app.get(&format!("/api/v1/users/{u}/tickets")).await;
    assert_eq!(v["total"], 3);
    let (status, v) = app.get(&format!("/api/v1/users/{u}/tickets?state=lost")).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("state"));
    let (_, v) = app.get(&format!("/api/v1/users/{u}/chats")).await;
    assert_eq!(v["total"], 2);
    let (_, v) = app.get(&format!("/api/v1/users/{u}/calls")).await;
    assert_eq!(v["total"], 2);
    let (_, v) = app.get(&format!("/api/v1/users/{u}/surveys")).await;
    assert_eq!(v["total"], 1);
    let (_, s) = app.get(&format!("/api/v1/users/{u}/stats")).await;
    assert_eq!(
        s,
        json!({"tickets": 3, "tickets_open": 2, "tickets_resolved": 1, "chats": 2, "calls": 2, "call_seconds": 150, "surveys": 1})
    );
    let (_, h) = app.get(&format!("/api/v1/users/{u}/history")).await;
    assert_eq!(h["last_ticket_at"], "2026-02-03T10:00:00.000Z");
    assert!(h["last_login_at"].is_null());
    assert!(h["last_survey_at"].is_string());
    // organizations, each with its ticket count
    let a = org(&app, json!({"name": "Cats"})).await;
    rule(&app, a, json!({"kind": "domain", "value": "cats.example"})).await;
    let b2 = org(&app, json!({"name": "Phones"})).await;
    rule(&app, b2, json!({"kind": "phone", "value": "2015550150"})).await;
    let c = org(&app, json!({"name": "Unrelated"})).await;
    rule(&app, c, json!({"kind": "domain", "value": "dogs.example"})).await;
    let (_, v) = app.get(&format!("/api/v1/users/{u}/organizations")).await;
    let names: Vec<&str> = v["items"].as_array().expect("items").iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, ["Cats", "Phones"]);
    assert_eq!(v["items"][0]["ticket_count"], 1, "Cats: only the ticket sent from x@cats.example");
    assert_eq!(v["items"][1]["ticket_count"], 2, "Phones: tickets linked to tabby's account");
    assert_eq!(v["items"][0]["matched_by"][0]["kind"], "domain");
    let (status, _) = app.get("/api/v1/users/999999/tickets").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // deleting the user keeps the tickets and their addresses
    app.delete(&format!("/api/v1/users/{u}")).await;
    let (status, t) = app.get(&format!("/api/v1/tickets/{open2}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["emails"], json!(["t@home.example"]));
    let (_, t) = app.get(&format!("/api/v1/tickets/{open1}")).await;
    assert!(t["user_id"].is_null());
}

async fn portal_sees_organization_tickets_only_when_allowed(b: Backend) {
    let app = TestApp::start(b).await;
    let pw = "portal secret words";
    let (vera, vera_t) = app.logged_in_user("vera", pw).await;
    let (_, nova_t) = app.logged_in_user("nova", pw).await;
    let (uma, uma_t) = app.logged_in_user("uma", pw).await;
    let (_, phil_t) = app.logged_in_user("phil", pw).await;
    // vera: verified address at the org's domain; nova: same domain, unverified; uma: named by a
    // username rule (unverified); phil: matched by phone only
    app.patch(&format!("/api/v1/users/{vera}"), json!({"emails": [{"email": "vera@org.example", "verified": true}]}))
        .await;
    let nova = app.state.store.find_user_id("nova").await.expect("db").expect("nova").0;
    app.patch(&format!("/api/v1/users/{nova}"), json!({"emails": [{"email": "nova@org.example"}]})).await;
    let phil = app.state.store.find_user_id("phil").await.expect("db").expect("phil").0;
    app.patch(&format!("/api/v1/users/{phil}"), json!({"phones": [{"number": "2015550177"}]})).await;
    let o = org(&app, json!({"name": "Org"})).await;
    rule(&app, o, json!({"kind": "domain", "value": "org.example", "view_org_tickets": true})).await;
    rule(&app, o, json!({"kind": "username", "value": "uma", "view_org_tickets": true})).await;
    rule(&app, o, json!({"kind": "phone", "value": "2015550177"})).await;
    let t1 = record(&app, "tickets", json!({"subject": "org ticket", "emails": ["boss@org.example"]})).await;
    let t2 = record(&app, "tickets", json!({"subject": "uma's", "user_id": uma})).await;
    let t3 = record(&app, "tickets", json!({"subject": "vera's own", "user_id": vera, "emails": ["vera@org.example"]}))
        .await;
    record(&app, "tickets", json!({"subject": "unrelated", "emails": ["x@else.example"]})).await;
    let ids_of = |v: &Value| -> Vec<i64> {
        let mut i: Vec<i64> =
            v["items"].as_array().map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect()).unwrap_or_default();
        i.sort();
        i
    };
    let mut all = vec![t1, t2, t3];
    all.sort();
    for (token, allowed) in [(&vera_t, true), (&uma_t, true), (&nova_t, false), (&phil_t, false)] {
        let (status, v) = app.call(Method::GET, "/api/v1/me/tickets?scope=organization", Some(token), None).await;
        if allowed {
            assert_eq!(status, StatusCode::OK, "{v}");
            assert_eq!(ids_of(&v), all);
            assert!(v["items"][0].get("matched_by").is_none(), "rule details stay with agents");
        } else {
            assert_error(status, &v, StatusCode::FORBIDDEN, None);
        }
    }
    let (_, v) = app.call(Method::GET, "/api/v1/me/tickets", Some(&vera_t), None).await;
    assert_eq!(ids_of(&v), vec![t3]);
    let (_, v) = app.call(Method::GET, "/api/v1/me/tickets?scope=mine", Some(&nova_t), None).await;
    assert_eq!(v["total"], 0);
    let (status, v) = app.call(Method::GET, "/api/v1/me/tickets?scope=everyone", Some(&nova_t), None).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("scope"));
    // a portal user reads no ticket by id through the agent API
    let (status, _) = app.call(Method::GET, &format!("/api/v1/tickets/{t1}"), Some(&nova_t), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // verifying nova's address grants the view
    app.patch(&format!("/api/v1/users/{nova}"), json!({"emails": [{"email": "nova@org.example", "verified": true}]}))
        .await;
    let (status, _) = app.call(Method::GET, "/api/v1/me/tickets?scope=organization", Some(&nova_t), None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn merge_moves_everything_to_the_survivor(b: Backend) {
    let app = TestApp::start(b).await;
    let keep = app
        .create_user(json!({"username": "keep", "emails": [{"email": "keep@m.example"}], "phones": [{"number": "2015550160"}], "labels": ["a"]}))
        .await;
    let gone = app
        .create_user(json!({"username": "gone", "emails": [{"email": "gone@m.example", "verified": true}], "phones": [{"number": "2015550160"}, {"number": "2015550161"}], "labels": ["b", "A"]}))
        .await;
    let t = record(&app, "tickets", json!({"subject": "gone's", "user_id": gone})).await;
    let c = record(&app, "chats", json!({"user_id": gone})).await;
    let s = record(&app, "surveys", json!({"user_id": gone, "name": "CSAT"})).await;
    let o = org(&app, json!({"name": "M"})).await;
    rule(&app, o, json!({"kind": "username", "value": "gone"})).await;
    let (status, v) = app.post(&format!("/api/v1/users/{keep}/merge"), json!({"source_id": keep})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("source_id"));
    let (status, v) = app.post(&format!("/api/v1/users/{keep}/merge"), json!({"source_id": 999999})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("source_id"));
    let (_, agent) = app.user_with_token("agent", &["Agent"]).await;
    let (status, v) = app
        .call(Method::POST, &format!("/api/v1/users/{keep}/merge"), Some(&agent), Some(json!({"source_id": gone})))
        .await;
    assert_error(status, &v, StatusCode::FORBIDDEN, None);
    let (status, u) = app.post(&format!("/api/v1/users/{keep}/merge"), json!({"source_id": gone})).await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(
        u["emails"],
        json!([{"email": "keep@m.example", "primary": true, "verified": false}, {"email": "gone@m.example", "primary": false, "verified": true}])
    );
    let phones: Vec<&str> =
        u["phones"].as_array().expect("phones").iter().filter_map(|p| p["number"].as_str()).collect();
    assert_eq!(phones, ["+12015550160", "+12015550161"]);
    assert_eq!(u["labels"], json!(["a", "b"]));
    let (status, _) = app.get(&format!("/api/v1/users/{gone}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (kind, id) in [("tickets", t), ("chats", c), ("surveys", s)] {
        let (_, r) = app.get(&format!("/api/v1/{kind}/{id}")).await;
        assert_eq!(r["user_id"], keep, "{kind}");
    }
    let (_, rules) = app.get(&format!("/api/v1/organizations/{o}/members")).await;
    assert_eq!(rules["items"][0]["value"], "keep", "the username rule follows the survivor");
    let users = tab_all(&app, &format!("/api/v1/organizations/{o}/users"), 5).await;
    assert_eq!(ids(&users), vec![keep]);
    let (_, log) = app.get(&format!("/api/v1/users/{keep}/changes")).await;
    let merged =
        log["items"].as_array().expect("items").iter().find(|c| c["field"] == "merged").cloned().expect("merged entry");
    assert_eq!(merged["new"]["username"], "gone");
    assert_eq!(merged["actor"]["name"], "admin");
}
