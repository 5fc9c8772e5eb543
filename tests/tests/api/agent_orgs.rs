//! Organizations in the agent UI over HTTP, JavaScript off and with htmx's headers, on both
//! backends: the directory, creating one, its tabs, membership rules with the preview before
//! saving and the public-domain second step, the records the rules pull in naming the rule,
//! the first ten members, comments, editing with versions, and deleting by permission.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

use crate::agent_pages::{get, login, post, version_in};
use crate::pages::browser;

backend_tests!(an_agent_builds_an_organization_in_the_browser);

async fn an_agent_builds_an_organization_in_the_browser(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    for i in 0..12 {
        app.create_user(json!({"username": format!("emp{i:02}"), "display_name": format!("Employee {i:02}"), "emails": [{"email": format!("emp{i:02}@acme.example")}]}))
            .await;
    }
    let (s, _) = app.post("/api/v1/organizations", json!({"name": "Existing Ltd"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.post("/api/v1/tickets", json!({"subject": "Roof <leaks>", "emails": ["boss@acme.example"]})).await;
    assert_eq!(s, StatusCode::CREATED);
    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;

    // the directory finds the existing one
    let (status, html) = get(&client, &app, "/agent/organizations?q=exist").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("One organization") && html.contains("Existing Ltd"), "{html}");
    assert!(html.contains("<nav class=\"pane nav-pane\" aria-label=\"Directory\">"));

    // creating: a taken name is refused by the field; a new one opens its members tab
    let (_, page) = get(&client, &app, "/agent/organizations/new").await;
    assert!(page.contains("<label for=\"f-new-1\">Name</label>"), "{page}");
    let res =
        post(&client, &app, "/agent/organizations", &page, &[("name", "existing ltd"), ("website", "")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("value=\"existing ltd\""), "{html}");
    let res = post(
        &client,
        &app,
        "/agent/organizations",
        &page,
        &[("name", "Acme Inc"), ("website", "https://acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_string();
    assert!(to.ends_with("/members"), "{to}");
    let base = to.trim_end_matches("/members").to_string();

    // a rule's preview before saving: what it would pull in, nothing saved
    let (_, page) = get(&client, &app, &format!("{base}/members")).await;
    assert!(page.contains("No rules yet"), "{page}");
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "preview"), ("kind", "domain"), ("value", "ACME.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("This rule pulls in 12 users, 1 tickets"), "{html}");
    assert!(html.contains("No rules yet") && html.contains("value=\"ACME.example\""), "nothing saved, the value kept");
    // the same from htmx (typing): the members block alone
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "preview"), ("kind", "domain"), ("value", "acme.example")],
        Some("rule-preview"),
    )
    .await;
    let fragment = res.text().await.expect("html");
    assert!(!fragment.contains("<html") && fragment.contains("12 users"), "{fragment}");
    // saving it
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "add"), ("kind", "domain"), ("value", "acme.example")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // a public mail domain is a second step
    let (_, page) = get(&client, &app, &format!("{base}/members")).await;
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "add"), ("kind", "domain"), ("value", "gmail.com")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("name=\"confirm_public_domain\"") && html.contains("gmail.com is a public mail provider"),
        "{html}"
    );
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "add"), ("kind", "domain"), ("value", "gmail.com"), ("confirm_public_domain", "on")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // a phone rule cannot show the organization's tickets: refused with the reason
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "add"), ("kind", "phone"), ("value", "+1 201 555 0100"), ("view_org_tickets", "on")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("html").contains("a phone rule cannot let users see"));
    let (_, page) = get(&client, &app, &format!("{base}/members")).await;
    assert!(page.contains(">acme.example<") && page.contains(">gmail.com<"), "{page}");
    // each rule's options are edited in place (its update form, then its remove form)
    let rule_ids: Vec<String> = page
        .split("name=\"rule_id\" value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    assert_eq!(rule_ids.len(), 4, "two forms for each of two rules: {page}");
    let res = post(
        &client,
        &app,
        &format!("{base}/members"),
        &page,
        &[("action", "update"), ("rule_id", &rule_ids[0]), ("include_subdomains", "on"), ("view_org_tickets", "on")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let org = base.trim_start_matches("/agent/organizations/");
    let (_, rules) = app.get(&format!("/api/v1/organizations/{org}/members")).await;
    let acme = rules["items"].as_array().and_then(|r| r.iter().find(|r| r["value"] == "acme.example")).cloned();
    let acme = acme.unwrap_or_else(|| panic!("{rules}"));
    assert_eq!((acme["include_subdomains"].as_bool(), acme["view_org_tickets"].as_bool()), (Some(true), Some(true)));
    let (_, page) = get(&client, &app, &format!("{base}/members")).await;
    // removing the gmail rule
    let gmail_rule = page
        .split("name=\"rule_id\" value=\"")
        .nth(3)
        .and_then(|s| s.split('"').next())
        .expect("second rule")
        .to_string();
    let res =
        post(&client, &app, &format!("{base}/members"), &page, &[("action", "remove"), ("rule_id", &gmail_rule)], None)
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = get(&client, &app, &format!("{base}/members")).await;
    assert!(!page.contains(">gmail.com<"));

    // the ticket of that domain, naming the rule that matched it
    let (_, html) = get(&client, &app, &format!("{base}/tickets")).await;
    assert!(html.contains("Roof &lt;leaks&gt;") && html.contains("Domain: acme.example"), "{html}");
    // the details tab shows the first ten members and the way to all twelve
    let (_, html) = get(&client, &app, &base).await;
    assert!(html.contains("12 members") && html.contains("Show all 12 members"), "{html}");
    assert_eq!(html.matches("Employee ").count(), 10, "ten embedded");
    let (_, html) = get(&client, &app, &format!("{base}/users")).await;
    assert_eq!(html.matches("Employee ").count(), 12);

    // comments: added, listed, counted in the tab
    let (_, page) = get(&client, &app, &format!("{base}/comments")).await;
    let res =
        post(&client, &app, &format!("{base}/comments"), &page, &[("body", "Key account: <call first>")], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&client, &app, &format!("{base}/comments")).await;
    assert!(
        html.contains("Key account: &lt;call first&gt;") && html.contains("<span class=\"badge\">1</span>"),
        "{html}"
    );
    let res = post(&client, &app, &format!("{base}/comments"), &page, &[("body", "   ")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // editing with the version; a stale save is the conflict
    let (_, page) = get(&client, &app, &format!("{base}?edit=address")).await;
    let v = version_in(&page);
    let res = post(
        &client,
        &app,
        &format!("{base}/edit/address"),
        &page,
        &[("version", &v), ("city", "Springfield"), ("country", "US")],
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(
        &client,
        &app,
        &format!("{base}/edit/address"),
        &page,
        &[("version", &v), ("city", "Shelbyville")],
        Some("group-address"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.expect("html").contains("Keep mine"));
    let (_, html) = get(&client, &app, &format!("{base}/changes")).await;
    assert!(html.contains("Springfield") && !html.contains("Shelbyville"), "{html}");

    // an Agent may not delete organizations; an administrator may
    let (_, page) = get(&client, &app, &base).await;
    assert!(!page.contains("/delete\""));
    let res = post(&client, &app, &format!("{base}/delete"), &page, &[], None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let admin = browser();
    login(&app, &admin, "admin", "correct horse battery", "").await;
    let (_, page) = get(&admin, &app, &base).await;
    let res = post(&admin, &app, &format!("{base}/delete"), &page, &[], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = get(&admin, &app, &base).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // unknown tabs and plugin tabs nobody supplies are 404 pages
    let (status, _) = get(&client, &app, "/agent/organizations/1/nonsense").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&client, &app, "/agent/organizations/1/tabs/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
