//! A user record's quick actions and the directory's bulk actions over HTTP, JavaScript off and
//! with htmx's headers, on both backends: merge (find, side by side with what moves, swap,
//! merge, refused), clone, a new ticket and call log prefilled from the user; bulk labels,
//! roles, disable and delete (confirmation naming the count; all or none); and what a default
//! Agent may not do; and CSRF on every page form (RELIABILITY S8).

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

use crate::agent_pages::{get, login, post};
use crate::pages::browser;

backend_tests!(
    a_manager_merges_clones_and_logs_work_for_a_user,
    bulk_actions_change_every_chosen_user_or_none,
    every_page_form_refuses_a_post_without_its_token,
    an_agent_sets_a_password_or_sends_a_reset_link,
);

async fn a_manager_merges_clones_and_logs_work_for_a_user(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "mgr.mia", "emails": [{"email": "mia@desk.example"}], "roles": ["Manager"], "password": "a long manager passphrase"}))
        .await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let a = app
        .create_user(json!({"username": "carla", "display_name": "Carla Diaz", "emails": [{"email": "carla@acme.example", "primary": true}]}))
        .await;
    let b_id = app
        .create_user(json!({"username": "carla2", "display_name": "Carla Duplicate", "emails": [{"email": "carla.d@home.example"}], "phones": [{"kind": "cell", "number": "+1 201 555 0142"}]}))
        .await;
    let (s, _) = app
        .post("/api/v1/tickets", json!({"subject": "Old ticket", "user_id": b_id, "emails": ["carla.d@home.example"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.post("/api/v1/calls", json!({"email": "carla.d@home.example", "direction": "inbound"})).await;
    assert_eq!(s, StatusCode::CREATED);

    let client = browser();
    login(&app, &client, "mgr.mia", "a long manager passphrase", "").await;
    let (s, record) = get(&client, &app, &format!("/agent/users/{a}")).await;
    assert_eq!(s, StatusCode::OK);
    let base = esc(&format!("/agent/users/{a}"));
    for action in [
        format!("href=\"{base}/merge\" data-dialog aria-keyshortcuts=\"m\""),
        format!("href=\"{base}/new/ticket\" aria-keyshortcuts=\"t\""),
        format!("href=\"{base}/new/call\""),
        format!("href=\"{base}/clone\""),
    ] {
        assert!(record.contains(&action), "{action}: {record}");
    }

    // merge: find the other user, see both side by side with what moves
    let (s, html) = get(&client, &app, &format!("/agent/users/{a}/merge?q=duplicate")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<label for=\"merge-q\">"), "{html}");
    assert!(html.contains(&format!("merge?other={b_id}&amp;q=duplicate")), "the candidate: {html}");
    assert!(!html.contains(&format!("merge?other={a}&amp;")), "the record itself is no candidate: {html}");
    let (s, html) = get(&client, &app, &format!("/agent/users/{a}/merge?other={b_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Moving from Carla Duplicate to Carla Diaz: 1 ticket, 0 chats, 1 call, 0 surveys"),
        "what moves: {html}"
    );
    assert!(html.contains(&esc(&format!("action=\"/agent/users/{a}/merge\""))), "{html}");
    assert!(html.contains(&format!("name=\"source_id\" value=\"{b_id}\"")), "{html}");
    // swapped: the other one stays
    let (_, swapped) = get(&client, &app, &format!("/agent/users/{a}/merge?other={b_id}&keep=other")).await;
    assert!(swapped.contains(&esc(&format!("action=\"/agent/users/{b_id}/merge\""))), "{swapped}");
    assert!(swapped.contains(&format!("name=\"source_id\" value=\"{a}\"")), "{swapped}");
    // the dialog asks for the body alone
    let res = client
        .get(format!("{}/agent/users/{a}/merge?other={b_id}", app.base))
        .header("hx-request", "true")
        .header("hx-target", "dialog-body")
        .send()
        .await
        .expect("dialog");
    let body = res.text().await.expect("html");
    assert!(!body.contains("<html") && body.contains("id=\"dialog-title\""), "{body}");
    assert!(body.contains("hx-post=") && body.contains("method=\"dialog\""), "{body}");
    // a user cannot be merged into themselves: the view again with the reason
    let res =
        post(&client, &app, &format!("/agent/users/{a}/merge"), &html, &[("source_id", &a.to_string())], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("html").contains("cannot be merged into itself"));
    // merged: the source is gone, its records are the survivor's, the record says so
    let res =
        post(&client, &app, &format!("/agent/users/{a}/merge"), &html, &[("source_id", &b_id.to_string())], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/agent/users/{a}?merged={b_id}").as_str());
    let (_, after) = get(&client, &app, &format!("/agent/users/{a}?merged={b_id}")).await;
    assert!(after.contains(&format!("User #{b_id} was merged into this user.")), "{after}");
    let (s, _) = app.get(&format!("/api/v1/users/{b_id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, stats) = app.get(&format!("/api/v1/users/{a}/stats")).await;
    assert_eq!((stats["tickets"].as_i64(), stats["calls"].as_i64()), (Some(1), Some(1)), "{stats}");

    // clone: a form with the copy's name, a free username and an address of its own
    let (s, form) = get(&client, &app, &format!("/agent/users/{a}/clone")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("value=\"carla-copy\"") && form.contains("value=\"Carla Diaz\""), "{form}");
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{a}/clone"),
        &form,
        &[("display_name", "Carla Copy"), ("username", "carla-copy"), ("email", "carla@acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "the address is taken");
    assert!(res.text().await.expect("html").contains("aria-invalid=\"true\""));
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{a}/clone"),
        &form,
        &[("display_name", "Carla Copy"), ("username", "carla-copy"), ("email", "carla.copy@acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_string();
    let copy: i64 = to.strip_prefix("/agent/users/").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{to}"));
    let (_, c) = app.get(&format!("/api/v1/users/{copy}")).await;
    assert_eq!((c["username"].as_str(), c["display_name"].as_str()), (Some("carla-copy"), Some("Carla Copy")), "{c}");
    assert_eq!(c["phones"].as_array().map(Vec::len), Some(1), "phones are copied: {c}");
    // with htmx (the dialog), a merge answers where to go
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{a}/merge"),
        &html,
        &[("source_id", &copy.to_string())],
        Some("dialog-body"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["hx-redirect"], format!("/agent/users/{a}?merged={copy}").as_str());

    // a new ticket, prefilled with the primary address; refused without a subject
    let (s, form) = get(&client, &app, &format!("/agent/users/{a}/new/ticket")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("value=\"carla@acme.example\""), "{form}");
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{a}/new/ticket"),
        &form,
        &[("subject", " "), ("status", "open"), ("emails", "carla@acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = res.text().await.expect("html");
    assert!(again.contains("aria-invalid=\"true\"") && again.contains("is required"), "{again}");
    let res = post(
        &client,
        &app,
        &format!("/agent/users/{a}/new/ticket"),
        &form,
        &[("subject", "Ink <low>"), ("status", "open"), ("emails", "carla@acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/agent/users/{a}/tickets?saved=ticket").as_str());
    let (_, tickets) = get(&client, &app, &format!("/agent/users/{a}/tickets?saved=ticket")).await;
    assert!(tickets.contains("Ticket created.") && tickets.contains("Ink &lt;low&gt;"), "{tickets}");
    // a call log: the duration as agents write it
    let (_, form) = get(&client, &app, &format!("/agent/users/{a}/new/call")).await;
    let call = |d: &'static str| {
        vec![("direction", "outbound"), ("phone", "+1 201 555 0142"), ("email", "carla@acme.example"), ("duration", d)]
    };
    let res = post(&client, &app, &format!("/agent/users/{a}/new/call"), &form, &call("4:75"), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("html").contains("minutes:seconds"));
    let res = post(&client, &app, &format!("/agent/users/{a}/new/call"), &form, &call("4:30"), None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, calls) = get(&client, &app, &format!("/agent/users/{a}/calls?saved=call")).await;
    assert!(calls.contains("Call log saved.") && calls.contains("4:30"), "{calls}");

    // a default Agent: no Merge, and the merge page and form refused
    let agent = browser();
    login(&app, &agent, "agent.ann", "a long agent passphrase", "").await;
    let (_, record) = get(&agent, &app, &format!("/agent/users/{a}")).await;
    assert!(!record.contains("/merge\""), "{record}");
    let (s, _) = get(&agent, &app, &format!("/agent/users/{a}/merge")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let res =
        post(&agent, &app, &format!("/agent/users/{a}/merge"), &record, &[("source_id", &copy.to_string())], None)
            .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn bulk_actions_change_every_chosen_user_or_none(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "mgr.mia", "emails": [{"email": "mia@desk.example"}], "roles": ["Manager"], "password": "a long manager passphrase"}))
        .await;
    let ann = app
        .create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let mut walkers = Vec::new();
    for i in 0..4 {
        walkers.push(
            app.create_user(json!({"username": format!("walker{i}"), "display_name": format!("Walker {i}"), "emails": [{"email": format!("walker{i}@walk.example")}]}))
                .await,
        );
    }
    let client = browser();
    login(&app, &client, "mgr.mia", "a long manager passphrase", "").await;
    let (_, list) = get(&client, &app, "/agent/users?q=walker").await;
    assert!(list.contains("<form id=\"bulk\""), "{list}");
    assert!(list.contains(&format!("name=\"ids\" value=\"{}\" form=\"bulk\"", walkers[0])), "{list}");
    assert!(list.contains("<option value=\"delete\">"), "a Manager may delete: {list}");
    assert!(list.contains("Apply to all 4 users this search finds"), "{list}");
    let (w0, w1) = (walkers[0].to_string(), walkers[1].to_string());

    // the ticked rows get a label; the list says how many changed
    let res = post(
        &client,
        &app,
        "/agent/users/bulk",
        &list,
        &[
            ("ids", &w0),
            ("ids", &w1),
            ("action", "add_label"),
            ("value", "VIP"),
            ("return_to", "/agent/users?q=walker"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/agent/users?q=walker&done=2&did=add_label");
    let (_, after) = get(&client, &app, "/agent/users?q=walker&done=2&did=add_label").await;
    assert!(after.contains("Done: 2 users changed."), "{after}");
    assert_eq!(labels(&app, walkers[0]).await, vec!["VIP"]);
    assert!(labels(&app, walkers[2]).await.is_empty());
    // the label is a view: listed, counted (after the page, by htmx) and filtered by
    let (_, views) = get_htmx(&client, &app, "/agent/users/views?q=walker", "views").await;
    assert!(views.contains("<span>VIP</span> <span class=\"view-count\">2</span>"), "{views}");
    assert!(views.contains("view=label%3AVIP"), "{views}");
    assert!(views.contains("<span>Disabled</span> <span class=\"view-count\">0</span>"), "{views}");
    assert!(list.contains("hx-get=\"&#x2F;agent&#x2F;users&#x2F;views?q=walker\" hx-trigger=\"load\""), "{list}");
    let (_, vip) = get(&client, &app, "/agent/users?view=label%3AVIP").await;
    assert!(vip.contains("2 users") && vip.contains("Walker 0") && !vip.contains("Walker 2"), "{vip}");
    // every user the search finds
    let res = post(
        &client,
        &app,
        "/agent/users/bulk",
        &list,
        &[("scope", "matching"), ("q", "walker"), ("view", ""), ("action", "add_label"), ("value", "Walks")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().expect("to").ends_with("done=4&did=add_label"));
    assert_eq!(labels(&app, walkers[3]).await, vec!["Walks"]);
    // refusals change nothing and say why: no value, an unknown role, nobody chosen
    for (fields, why) in [
        (vec![("ids", w0.as_str()), ("action", "add_label"), ("value", " ")], "name a label"),
        (vec![("ids", w0.as_str()), ("action", "add_role"), ("value", "Wizards")], "no role named `Wizards`"),
        (vec![("action", "disable")], "choose at least one user"),
        (vec![("ids", w0.as_str()), ("action", "promote")], "must be add_label"),
    ] {
        let res = post(&client, &app, "/agent/users/bulk", &list, &fields, None).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        let page = res.text().await.expect("html");
        assert!(page.contains(why) && page.contains("Nothing was changed"), "{why}: {page}");
    }
    // all or none: a Manager may not disable an agent, so the walker stays enabled too
    let ann_s = ann.to_string();
    let res =
        post(&client, &app, "/agent/users/bulk", &list, &[("ids", &w0), ("ids", &ann_s), ("action", "disable")], None)
            .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("html").contains(&format!("(#{ann})")), "the refusal names the agent");
    let (_, w) = app.get(&format!("/api/v1/users/{w0}")).await;
    assert_eq!(w["disabled"], json!(false));
    // the Disabled view
    let w3 = walkers[3].to_string();
    let res = post(&client, &app, "/agent/users/bulk", &list, &[("ids", &w3), ("action", "disable")], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, disabled) = get(&client, &app, "/agent/users?view=disabled").await;
    assert!(disabled.contains("One user") && disabled.contains("Walker 3"), "{disabled}");
    // roles: given and taken
    let res = post(
        &client,
        &app,
        "/agent/users/bulk",
        &list,
        &[("ids", &w1), ("action", "add_role"), ("value", "Manager")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "an agent role needs roles_manage");

    // deleting asks first, naming the count and the users; then deletes both
    let res =
        post(&client, &app, "/agent/users/bulk", &list, &[("ids", &w0), ("ids", &w1), ("action", "delete")], None)
            .await;
    assert_eq!(res.status(), StatusCode::OK);
    let confirm = res.text().await.expect("html");
    assert!(confirm.contains("Delete 2 users?") && confirm.contains(&format!("Walker 0 (#{w0})")), "{confirm}");
    let (s, _) = app.get(&format!("/api/v1/users/{w0}")).await;
    assert_eq!(s, StatusCode::OK, "asking deletes nothing");
    let res = post(
        &client,
        &app,
        "/agent/users/bulk",
        &confirm,
        &[("ids", &w0), ("ids", &w1), ("action", "delete"), ("confirm", "yes")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for id in [&w0, &w1] {
        let (s, _) = app.get(&format!("/api/v1/users/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    // a default Agent: no delete offered, and refused when posted anyway
    let agent = browser();
    login(&app, &agent, "agent.ann", "a long agent passphrase", "").await;
    let (_, list) = get(&agent, &app, "/agent/users").await;
    assert!(list.contains("<form id=\"bulk\"") && !list.contains("<option value=\"delete\">"), "{list}");
    let w2 = walkers[2].to_string();
    let res =
        post(&agent, &app, "/agent/users/bulk", &list, &[("ids", &w2), ("action", "delete"), ("confirm", "yes")], None)
            .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (s, _) = app.get(&format!("/api/v1/users/{w2}")).await;
    assert_eq!(s, StatusCode::OK);
}

async fn labels(app: &TestApp, id: i64) -> Vec<String> {
    let (_, u) = app.get(&format!("/api/v1/users/{id}")).await;
    u["labels"].as_array().cloned().unwrap_or_default().iter().filter_map(|l| l.as_str().map(str::to_string)).collect()
}

/// An attribute value as the templates write it (`/` escaped).
fn esc(s: &str) -> String {
    s.replace('/', "&#x2F;")
}

async fn get_htmx(client: &reqwest::Client, app: &TestApp, path: &str, target: &str) -> (StatusCode, String) {
    let res = client
        .get(format!("{}{path}", app.base))
        .header("hx-request", "true")
        .header("hx-target", target)
        .send()
        .await
        .expect("get");
    (res.status(), res.text().await.expect("html"))
}

/// RELIABILITY S8 for the pages: every route of `core/src/web` that takes a POST (read from the
/// routers' sources, so a new form cannot be missed) refuses it without the CSRF token, with
/// another session's token, and from another origin — and nothing changes.
async fn every_page_form_refuses_a_post_without_its_token(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "mgr.mia", "emails": [{"email": "mia@desk.example"}], "roles": ["Manager"], "password": "a long manager passphrase"}))
        .await;
    let victim = app
        .create_user(json!({"username": "victim", "display_name": "Vic Tim", "emails": [{"email": "vic@tim.example"}]}))
        .await;
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Target Org"})).await;
    let org = org["id"].as_i64().expect("org id");
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src/web");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(&web).expect("core/src/web") {
        let source = std::fs::read_to_string(entry.expect("entry").path()).expect("source");
        for line in source.lines().filter(|l| l.trim_start().starts_with(".route(\"")) {
            let path = line.split('"').nth(1).expect("path").to_string();
            if line.contains("post(") {
                routes.push(path);
            }
        }
    }
    routes.sort();
    assert!(routes.len() >= 18, "the page routes that take a POST: {routes:?}");
    let client = browser();
    login(&app, &client, "mgr.mia", "a long manager passphrase", "").await;
    let (_, page) = get(&client, &app, &format!("/agent/users/{victim}")).await;
    // another session's token: a second browser's
    let other = browser();
    login(&app, &other, "mgr.mia", "a long manager passphrase", "").await;
    let (_, other_page) = get(&other, &app, "/agent/users").await;
    let foreign = crate::pages::csrf_field(&other_page);
    let fields = [
        ("source_id", victim.to_string()),
        ("ids", victim.to_string()),
        ("action", "delete".to_string()),
        ("confirm", "yes".to_string()),
        ("disabled", "true".to_string()),
        ("display_name", "Hijacked".to_string()),
        ("name", "Hijacked".to_string()),
        ("subject", "Forged".to_string()),
        ("body", "Forged".to_string()),
        ("ui_theme", "dark".to_string()),
    ];
    for route in &routes {
        let path = route
            .replace("/agent/users/{id}", &format!("/agent/users/{victim}"))
            .replace("/agent/organizations/{id}", &format!("/agent/organizations/{org}"))
            .replace("{group}", "identity")
            .replace("{kind}", "ticket");
        let url = format!("{}{path}", app.base);
        let mut no_token: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.clone())).collect();
        let res = client.post(&url).form(&no_token).send().await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} without a token");
        no_token.push(("csrf", foreign.clone()));
        let res = client.post(&url).form(&no_token).send().await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with another session's token");
        let mut own: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.clone())).collect();
        own.push(("csrf", crate::pages::csrf_field(&page)));
        let res = client
            .post(&url)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .form(&own)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} from another site");
    }
    // nothing changed
    let (s, v) = app.get(&format!("/api/v1/users/{victim}")).await;
    assert_eq!(
        (s, v["display_name"].as_str(), v["disabled"].as_bool()),
        (StatusCode::OK, Some("Vic Tim"), Some(false))
    );
    let (_, o) = app.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(o["name"], "Target Org");
    let (_, tickets) = app.get(&format!("/api/v1/users/{victim}/tickets")).await;
    assert_eq!(tickets["total"], 0, "{tickets}");
}

/// The Portal tab's signing-in section: an agent sets a user's password (too short refused by
/// the field) or sends them a reset link; the user then logs in with the new password.
async fn an_agent_sets_a_password_or_sends_a_reset_link(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let carl = app
        .create_user(json!({"username": "carl", "emails": [{"email": "carl@cust.example", "primary": true}], "password": "a first secret phrase"}))
        .await;
    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;
    let (_, page) = get(&client, &app, &format!("/agent/users/{carl}/portal")).await;
    assert!(page.contains("id=\"sign-in\"") && page.contains("Send a reset link to carl@cust.example"), "{page}");
    let path = format!("/agent/users/{carl}/password");
    let res = post(&client, &app, &path, &page, &[("action", "set"), ("password", "short")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("id=\"sign-in-error\""), "{html}");
    let res =
        post(&client, &app, &path, &page, &[("action", "set"), ("password", "a second secret phrase")], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = get(&client, &app, &format!("/agent/users/{carl}/portal?saved=password")).await;
    assert!(after.contains("Password set"), "{after}");
    let carl_browser = browser();
    let res = login(&app, &carl_browser, "carl", "a second secret phrase", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the new password works");
    let res = post(&client, &app, &path, &page, &[("action", "send_reset")], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().expect("to").contains("saved=reset"));
}
