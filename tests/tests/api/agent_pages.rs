//! The agent UI's first pages over HTTP, JavaScript off (plain GETs and form posts), on both
//! backends: logged out → log in and come back; the directory's search, sort, views, keyset
//! paging and preview; a user's page; a portal user refused; every value escaped.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

use crate::pages::{browser, csrf_field};

backend_tests!(an_agent_finds_and_opens_users_without_javascript,);

pub(crate) async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
    return_to: &str,
) -> reqwest::Response {
    let page = client
        .get(format!("{}/login?return_to={}", app.base, urlencode(return_to)))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&format!(
            "name=\"return_to\" value=\"{}\"",
            return_to.replace('&', "&amp;").replace('/', "&#x2F;")
        )) || return_to.is_empty(),
        "{page}"
    );
    let form = [
        ("csrf", csrf_field(&page)),
        ("username", username.to_string()),
        ("password", password.to_string()),
        ("return_to", return_to.to_string()),
    ];
    client.post(format!("{}/login", app.base)).form(&form).send().await.expect("login")
}

pub(crate) async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = client.get(format!("{}{path}", app.base)).send().await.expect("get");
    (res.status(), res.text().await.expect("html"))
}

/// Posts a page's form (the CSRF field taken from `page`).
pub(crate) async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    page: &str,
    fields: &[(&str, &str)],
    htmx_target: Option<&str>,
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf_field(page))];
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut req = client.post(format!("{}{path}", app.base)).form(&form);
    if let Some(t) = htmx_target {
        req = req.header("hx-request", "true").header("hx-target", t);
    }
    req.send().await.expect("post")
}

pub(crate) fn version_in(html: &str) -> String {
    let at = html.find("name=\"version\" value=\"").expect("version field") + "name=\"version\" value=\"".len();
    html[at..].split('"').next().expect("value").to_string()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn an_agent_finds_and_opens_users_without_javascript(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    app.create_user(json!({"username": "cust.carl", "emails": [{"email": "carl@cust.example"}], "password": "a long customer passphrase"}))
        .await;
    let hostile = app
        .create_user(json!({"username": "mallory", "display_name": "<script>alert(1)</script> Mallory", "emails": [{"email": "mallory@evil.example"}], "phones": [{"number": "+1 201 555 0142"}]}))
        .await;
    for i in 0..55 {
        app.create_user(json!({"username": format!("walker{i:02}"), "display_name": format!("Walker {i:02}"), "emails": [{"email": format!("walker{i:02}@walk.example")}]}))
            .await;
    }
    let client = browser();
    // logged out: to the login page, and back after it
    let res = client.get(format!("{}/agent/users?q=walker", app.base)).send().await.expect("directory");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_string();
    assert_eq!(to, "/login?return_to=%2Fagent%2Fusers%3Fq%3Dwalker");
    let res = login(&app, &client, "agent.ann", "a long agent passphrase", "/agent/users?q=walker").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/agent/users?q=walker");
    // the search: 55 walkers, 50 on the first page, a "Load more" link to the rest
    let res = client.get(format!("{}/agent/users?q=walker", app.base)).send().await.expect("directory");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["server-timing"].to_str().expect("timing").starts_with("total;dur="));
    let html = res.text().await.expect("html");
    for landmark in [
        "<nav class=\"pane nav-pane\" aria-label=\"Directory\">",
        "aria-label=\"Users\"",
        "role=\"search\"",
        "<label for=\"q\">Search users</label>",
    ] {
        assert!(html.contains(landmark), "{landmark}: {html}");
    }
    assert!(html.contains("55 users"), "the count: {html}");
    let table = html.split("<table class=\"list\">").nth(1).and_then(|t| t.split("</table>").next()).expect("the list");
    assert_eq!(table.matches("<tr>").count() + table.matches("<tr class").count(), 51, "a header row and 50 users");
    assert!(html.contains("aria-sort=\"ascending\""), "sorted by name");
    let more = html
        .split("class=\"button\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("Load more")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    let rest = client
        .get(format!("{}{more}", app.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{more}: {e}"))
        .text()
        .await
        .expect("html");
    assert!(rest.contains("Walker 54") && !rest.contains("Walker 00<"), "the second page has the rest");
    // htmx's search as you type gets the results alone, the same rows
    let res = client
        .get(format!("{}/agent/users?q=walker0", app.base))
        .header("hx-request", "true")
        .header("hx-target", "list-results")
        .send()
        .await
        .expect("fragment");
    assert!(res.headers()["vary"].to_str().expect("vary").contains("HX-Request"));
    let fragment = res.text().await.expect("html");
    assert!(!fragment.contains("<html") && !fragment.contains("<nav"), "only the results: {fragment}");
    assert!(
        fragment.contains("10 users") && fragment.contains("Walker 09") && !fragment.contains("Walker 10"),
        "{fragment}"
    );
    // sorting by username, descending
    let html = client
        .get(format!("{}/agent/users?q=walker&sort=username&order=desc", app.base))
        .send()
        .await
        .expect("sorted")
        .text()
        .await
        .expect("html");
    let first = html.find("walker54").expect("walker54");
    let later = html.find("walker53").expect("walker53");
    assert!(first < later, "descending");
    assert!(html.contains("aria-sort=\"descending\""));
    // a view by role
    let html = client
        .get(format!("{}/agent/users?view=role%3AAgent", app.base))
        .send()
        .await
        .expect("view")
        .text()
        .await
        .expect("html");
    assert!(html.contains("agent.ann") && !html.contains("cust.carl"), "{html}");
    assert!(html.contains("aria-current=\"page\"><span>Agent</span>"));
    // the preview pane and the user's page; the hostile name is text
    let html = client
        .get(format!("{}/agent/users?q=mallory&selected={hostile}", app.base))
        .send()
        .await
        .expect("preview")
        .text()
        .await
        .expect("html");
    assert!(html.contains("aria-labelledby=\"record-title\""));
    assert!(html.contains("<h2 id=\"record-title\">&lt;script&gt;alert(1)&lt;&#x2F;script&gt; Mallory</h2>"), "{html}");
    assert!(!html.contains("<script>alert(1)"));
    let res = client.get(format!("{}/agent/users/{hostile}", app.base)).send().await.expect("record");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("+12015550142") && html.contains("Open tickets"), "{html}");
    let res = client.get(format!("{}/agent/users/999999", app.base)).send().await.expect("missing");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // an agent whose language is German gets German pages
    app.create_user(json!({"username": "agent.greta", "emails": [{"email": "greta@desk.example"}], "roles": ["Agent"], "language": "de", "password": "a long agent passphrase"}))
        .await;
    let greta = browser();
    login(&app, &greta, "agent.greta", "a long agent passphrase", "").await;
    let html =
        greta.get(format!("{}/agent/users?q=walker", app.base)).send().await.expect("de").text().await.expect("html");
    assert!(
        html.contains("<html lang=\"de\"") && html.contains("55 Benutzer") && html.contains("Mehr laden"),
        "{html}"
    );
    // `/` takes an agent to the directory
    let res = client.get(format!("{}/", app.base)).send().await.expect("home");
    assert_eq!(res.headers()["location"], "/agent/users");

    // a portal user gets the 403 page, not the directory
    let customer = browser();
    let res = login(&app, &customer, "cust.carl", "a long customer passphrase", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = customer.get(format!("{}/agent/users", app.base)).send().await.expect("directory");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("html").contains("Not allowed"));
    let res = customer.get(format!("{}/agent/users/{hostile}", app.base)).send().await.expect("record");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // a return_to elsewhere is ignored
    let other = browser();
    let res = login(&app, &other, "agent.ann", "a long agent passphrase", "").await;
    assert_eq!(res.headers()["location"], "/login");
    let page = other
        .get(format!("{}/login?return_to=https%3A%2F%2Fevil.example", app.base))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(!page.contains("evil.example"));
}
