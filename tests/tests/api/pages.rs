//! The server-rendered login page: CSRF on every form (S8), cookie attributes (S2), a new
//! session id and CSRF token at login (S3), logout (S4), security and cache headers (S10,
//! S11), escaping, and the same throttle as the API.

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

backend_tests!(login_page_logs_in_and_out_with_csrf_checked);

/// A client that keeps cookies and does not follow redirects, as the tests of pages need.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().expect("client")
}

/// The hidden CSRF field of a rendered form.
pub(crate) fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().expect("value").to_string()
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
}

async fn login_page_logs_in_and_out_with_csrf_checked(b: Backend) {
    let app = TestApp::start_with(b, None, |c| {
        c.auth.oauth = vec![kith::config::OAuthProvider {
            id: "sso".into(),
            display_name: "Company <SSO>".into(),
            issuer: "https://login.example.com".into(),
            client_id: "kith".into(),
            ..Default::default()
        }];
    })
    .await;
    app.create_user(
        json!({"username": "robin", "emails": [{"email": "robin@example.com"}], "password": "a long passphrase!"}),
    )
    .await;
    let browser = browser();
    let res = browser.get(format!("{}/login", app.base)).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().expect("csp");
    for part in ["default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let cookies = set_cookies(&res);
    assert!(
        cookies.iter().any(|c| c.starts_with("kith_csrf=") && c.contains("HttpOnly") && c.contains("SameSite=Strict"))
    );
    let html = res.text().await.expect("html");
    assert!(html.contains("Log in with Company &lt;SSO&gt;"), "names are escaped: {html}");
    assert!(html.contains("/api/v1/auth/oauth/sso/start?return_to=/login"));
    let csrf = csrf_field(&html);
    let form = |csrf: &str, password: &str| {
        vec![("csrf", csrf.to_string()), ("username", "robin".to_string()), ("password", password.to_string())]
    };

    // S8: no token, a wrong token, another origin: refused before anything happens
    let post = |form: Vec<(&'static str, String)>| browser.post(format!("{}/login", app.base)).form(&form);
    assert_eq!(post(form("", "a long passphrase!")).send().await.expect("post").status(), StatusCode::FORBIDDEN);
    let wrong = "x".repeat(43);
    assert_eq!(post(form(&wrong, "a long passphrase!")).send().await.expect("post").status(), StatusCode::FORBIDDEN);
    let res = post(form(&csrf, "a long passphrase!")).header("origin", "https://evil.test").send().await.expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res =
        post(form(&csrf, "a long passphrase!")).header("sec-fetch-site", "cross-site").send().await.expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // another client's cookie-less post with a stolen field value: no cookie, no entry
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let res = stranger
        .post(format!("{}/login", app.base))
        .form(&form(&csrf, "a long passphrase!"))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // a wrong password: the page again, generic message, the typed name escaped
    let hostile = vec![
        ("csrf", csrf.clone()),
        ("username", "<script>alert(1)</script>".to_string()),
        ("password", "nope nope".to_string()),
    ];
    let res = browser.post(format!("{}/login", app.base)).form(&hostile).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.expect("html");
    assert!(html.contains("The user name or password is wrong."));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;") || html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>alert(1)"));

    // the right password: a session cookie (S2) and a new CSRF token (S3)
    let res = post(form(&csrf, "a long passphrase!")).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    let cookies = set_cookies(&res);
    let session = cookies.iter().find(|c| c.starts_with("kith_session=")).expect("session cookie").clone();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain="));
    let token = session["kith_session=".len()..].split(';').next().expect("token").to_string();
    let new_csrf = cookies.iter().find(|c| c.starts_with("kith_csrf=")).expect("rotated csrf");
    assert!(!new_csrf.contains(&csrf), "the CSRF token changes at login");
    let html = browser.get(format!("{}/login", app.base)).send().await.expect("page").text().await.expect("html");
    assert!(html.contains("Logged in as"), "{html}");
    let csrf = csrf_field(&html);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);

    // S4: log out (CSRF checked), then the old session is dead everywhere
    let res = browser.post(format!("{}/logout", app.base)).form(&[("csrf", "wrong")]).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser.post(format!("{}/logout", app.base)).form(&[("csrf", csrf.as_str())]).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = stranger
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", format!("kith_session={token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
