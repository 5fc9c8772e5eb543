//! The web foundation over HTTP: a page's language (the user's, `?lang=`, `Accept-Language`),
//! content-hashed static files, the theme's error pages for paths nothing serves, the selected
//! theme and the operator's override folder, and `Server-Timing` on every answer.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::pages::{browser, csrf_field};

backend_tests!(
    pages_speak_the_viewers_language,
    static_files_have_hashed_urls_and_long_lives,
    unknown_paths_get_the_themes_error_page,
    the_selected_theme_and_the_override_folder_shape_the_pages,
    every_answer_says_where_its_time_went,
);

async fn pages_speak_the_viewers_language(b: Backend) {
    let app = TestApp::start(b).await;
    let page = |lang_header: &'static str, path: &'static str| {
        let app = &app;
        async move {
            let res = reqwest::Client::new()
                .get(format!("{}{path}", app.base))
                .header("accept-language", lang_header)
                .send()
                .await
                .expect("page");
            let content_language = res.headers()["content-language"].to_str().expect("header").to_string();
            (content_language, res.text().await.expect("html"))
        }
    };
    let (cl, html) = page("de-AT,de;q=0.9,en;q=0.5", "/login").await;
    assert_eq!(cl, "de");
    assert!(html.contains("<html lang=\"de\" dir=\"ltr\""), "{html}");
    assert!(html.contains("Benutzername") && html.contains("Passwort vergessen?"), "{html}");
    let (cl, html) = page("fr, en;q=0.1", "/login").await;
    assert_eq!(cl, "en");
    assert!(html.contains("User name"));
    // ?lang= wins over the browser's wish (links from e-mails)
    let (cl, html) = page("de", "/login/forgot?lang=en").await;
    assert_eq!(cl, "en");
    assert!(html.contains("Send the link"), "{html}");
    // a language nobody configured falls back to the default
    let (cl, _) = page("pt-BR", "/login").await;
    assert_eq!(cl, "en");

    // a logged-in user's own language wins over the browser's
    app.create_user(json!({"username": "greta", "emails": [{"email": "greta@example.de"}], "language": "de", "password": "a long passphrase!"}))
        .await;
    let browser = browser();
    let html = browser.get(format!("{}/login", app.base)).send().await.expect("page").text().await.expect("html");
    let form = [("csrf", csrf_field(&html)), ("username", "greta".into()), ("password", "a long passphrase!".into())];
    let res = browser.post(format!("{}/login", app.base)).form(&form).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser.get(format!("{}/login", app.base)).header("accept-language", "en").send().await.expect("page");
    let html = res.text().await.expect("html");
    assert!(html.contains("Angemeldet als greta") && html.contains("Abmelden"), "{html}");
}

async fn static_files_have_hashed_urls_and_long_lives(b: Backend) {
    let app = TestApp::start(b).await;
    let html = reqwest::get(format!("{}/login", app.base)).await.expect("page").text().await.expect("html");
    let href = |name: &str| {
        let at = html.find(&format!("/static/default/{name}.")).unwrap_or_else(|| panic!("{name} in {html}"));
        html[at..].split('"').next().expect("url").to_string()
    };
    for (file, kind) in [
        ("kith", "text/css"),
        ("theme", "text/css"),
        ("htmx.min", "text/javascript"),
        ("theme-init", "text/javascript"),
    ] {
        let url = href(file);
        assert!(url.len() > format!("/static/default/{file}.").len() + 10, "a content hash: {url}");
        let res = reqwest::get(format!("{}{url}", app.base)).await.expect("static");
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        assert!(res.headers()["content-type"].to_str().expect("type").starts_with(kind));
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
    // htmx is served from Kith itself, the vendored copy
    let htmx = reqwest::get(format!("{}{}", app.base, href("htmx.min"))).await.expect("htmx").text().await.expect("js");
    assert!(htmx.contains("htmx"), "vendored htmx");
    // a stale or made-up hash is not served
    let res = reqwest::get(format!("{}/static/default/kith.0000000000.css", app.base)).await.expect("static");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn unknown_paths_get_the_themes_error_page(b: Backend) {
    let app = TestApp::start(b).await;
    let res = reqwest::Client::new()
        .get(format!("{}/no/such/page", app.base))
        .header("accept-language", "de")
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
    assert!(res.headers()["content-security-policy"].to_str().expect("csp").contains("default-src 'none'"));
    let html = res.text().await.expect("html");
    assert!(html.contains("<h1 id=\"page-title\">Nicht gefunden</h1>"), "{html}");
    assert!(html.contains("href=\"#main\""), "a skip link");
    // the JSON API keeps its JSON 404
    let (status, v) = app.get("/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    // a form posted without its CSRF token: the theme's 403 page says what to do
    let res = reqwest::Client::new()
        .post(format!("{}/login", app.base))
        .form(&[("username", "x"), ("password", "y")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.expect("html");
    assert!(html.contains("This form has expired"), "{html}");
}

async fn the_selected_theme_and_the_override_folder_shape_the_pages(b: Backend) {
    let over = std::env::temp_dir().join(format!("kith-web-override-{}", kith_tests::random_suffix()));
    std::fs::create_dir_all(over.join("templates")).expect("dir");
    std::fs::write(
        over.join("templates/password.html"),
        r#"{% extends "default/password.html" %}{% block title %}Operator's reset page{% endblock title %}"#,
    )
    .expect("write");
    // does not compile: the theme's own login page serves, and the start-up said why
    std::fs::write(over.join("templates/login.html"), "{% block %}").expect("write");
    let dir = over.clone();
    let app = TestApp::start_with(b, None, move |c| {
        c.theme.portal = "contrast".into();
        c.theme.override_dir = dir;
    })
    .await;
    let html = reqwest::get(format!("{}/login", app.base)).await.expect("page").text().await.expect("html");
    assert!(html.contains("High contrast"), "the contrast theme's header: {html}");
    assert!(html.contains("/static/contrast/theme."), "the contrast theme's stylesheet");
    assert!(html.contains("User name"), "the broken override fell back to the theme's login page");
    let html = reqwest::get(format!("{}/login/forgot", app.base)).await.expect("page").text().await.expect("html");
    assert!(
        html.contains("<title>Operator&#x27;s reset page · Kith</title>") || html.contains("Operator's reset page"),
        "{html}"
    );
    assert!(app.state.web.themes.overrides.problems.iter().any(|p| p.contains("login.html")));
    let _ = std::fs::remove_dir_all(&over);
}

async fn every_answer_says_where_its_time_went(b: Backend) {
    let app = TestApp::start(b).await;
    let id = app.create_user(json!({"username": "timed", "emails": [{"email": "timed@example.com"}]})).await;
    let timing = |res: &reqwest::Response| res.headers()["server-timing"].to_str().expect("header").to_string();
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/users/{id}", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("get");
    let t = timing(&res);
    assert!(t.starts_with("total;dur="), "{t}");
    // the token's caller and the user: at least two database calls, each counted
    let calls: u32 =
        t.split("desc=\"").nth(1).and_then(|d| d.split(' ').next()).and_then(|n| n.parse().ok()).expect("count");
    assert!((2..=6).contains(&calls), "{t}");
    let res = reqwest::get(format!("{}/healthz", app.base)).await.expect("health");
    assert!(timing(&res).contains("db;dur=0.00;desc=\"0 calls\""), "{}", timing(&res));
    let res = reqwest::get(format!("{}/login", app.base)).await.expect("page");
    assert!(timing(&res).starts_with("total;dur="));
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&app.admin_token), None).await;
    assert_eq!(status, StatusCode::OK);
}
