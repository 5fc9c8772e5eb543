//! OpenID Connect logins against the certified provider `oidc-provider` on Node.js
//! (RELIABILITY O1, O2, O6–O11), on SQLite and PostgreSQL: the code flow with PKCE in API and
//! browser mode, a wrong / missing / replayed `state`, a replayed code, another issuer in the
//! answer, linking by verified e-mail, an expired pending login, and providers whose
//! discovery lies or redirects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kith::clock::ManualClock;
use kith::config::OAuthProvider;
use kith_tests::oidc_provider::{OidcProvider, authorize, browser, free_port, oidc_provider_available};
use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_tests!(
    code_flow_with_pkce_creates_the_user_once,
    browser_flow_sets_a_cookie_good_for_reads_only,
    state_and_code_are_good_once_and_the_issuer_must_match,
    an_address_is_linked_only_when_verified_and_allowed,
    a_pending_login_expires_after_ten_minutes,
    lying_or_redirecting_providers_are_refused,
    forged_id_tokens_are_refused,
    claims_map_to_roles_and_organizations,
    a_login_finishes_only_in_the_browser_that_started_it,
);

const SECRET: &str = "a client secret that is long enough";

fn accounts() -> Value {
    json!({
        "alice": {"email": "alice@idp.example", "email_verified": true, "name": "Alice Idp", "preferred_username": "alice.idp"},
        "bob": {"email": "bob@shared.example", "email_verified": true, "name": "Bob Idp"},
        "eve": {"email": "bob@shared.example", "email_verified": false, "name": "Eve Idp"},
        "carol": {"email": "carol@idp.example", "email_verified": true, "name": "Carol Idp", "groups": ["support", "acme", "unmapped"]},
    })
}

fn provider(id: &str, issuer: &str, client_id: &str) -> OAuthProvider {
    OAuthProvider {
        id: id.into(),
        display_name: format!("IdP {id}"),
        issuer: issuer.into(),
        client_id: client_id.into(),
        client_secret: SECRET.into(),
        ..OAuthProvider::default()
    }
}

/// Kith with providers `idp` (and `linking`, which links verified addresses), and the real
/// provider with a client for each, redirecting to Kith's exact callback URLs.
async fn setup(b: Backend, clock: Option<Arc<ManualClock>>) -> (TestApp, OidcProvider) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let iss = issuer.clone();
    let app = TestApp::start_with(b, clock, move |c| {
        let mut linking = provider("linking", &iss, "kith-linking");
        linking.link_verified_email = true;
        let mut grouped = provider("grouped", &iss, "kith-grouped");
        grouped.scopes.push("groups".into());
        grouped.roles_claim = "groups".into();
        grouped.claim_roles.insert("support".into(), vec!["Agent".into()]);
        grouped.claim_organizations.insert("acme".into(), vec!["Acme Support".into()]);
        c.auth.oauth = vec![provider("idp", &iss, "kith"), linking, grouped];
        c.mail.transport = "file".into();
        c.mail.dir = c.server.data_dir.join("outbox");
    })
    .await;
    let clients = json!([
        {"client_id": "kith", "client_secret": SECRET, "redirect_uris": [format!("{}/api/v1/auth/oauth/idp/callback", app.base)]},
        {"client_id": "kith-linking", "client_secret": SECRET, "redirect_uris": [format!("{}/api/v1/auth/oauth/linking/callback", app.base)]},
        {"client_id": "kith-grouped", "client_secret": SECRET, "redirect_uris": [format!("{}/api/v1/auth/oauth/grouped/callback", app.base)]},
    ]);
    let op = OidcProvider::start(port, &clients, &accounts());
    (app, op)
}

async fn finish(browser: &reqwest::Client, callback: &str) -> (StatusCode, Value) {
    let res = browser.get(callback).send().await.expect("callback");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn code_flow_with_pkce_creates_the_user_once(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let br = browser();
    let (auth_url, callback) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    // O2: PKCE with S256 always, and state and nonce sent
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code"] {
        assert!(auth_url.contains(part), "{part} missing from {auth_url}");
    }
    assert!(!auth_url.contains("plain"));
    let (status, v) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["username"], "alice.idp");
    assert_eq!(v["user"]["display_name"], "Alice Idp");
    assert_eq!(v["user"]["auth_method"], "oauth:idp");
    assert_eq!(v["user"]["emails"][0]["email"], "alice@idp.example");
    assert_eq!(v["user"]["emails"][0]["verified"], true);
    let token = v["token"].as_str().expect("token").to_string();
    let (status, me) = app.call(reqwest::Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!((status, me["username"].clone()), (StatusCode::OK, json!("alice.idp")));
    // the second login is the same person: the identity is (issuer, sub)
    let br = browser();
    let (_, callback) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    let (status, again) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["user"]["id"], v["user"]["id"]);
    let (_, history) = app.get(&format!("/api/v1/users/{}/history", v["user"]["id"])).await;
    assert_eq!(history["logins"][0]["method"], "oauth:idp");
}

async fn browser_flow_sets_a_cookie_good_for_reads_only(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let browser = browser();
    let (_, callback) = authorize(&browser, &app.base, "idp", "return_to=/agent/users", &op.issuer, "alice").await;
    let res = browser.get(&callback).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/agent/users");
    let cookie = res.headers()["set-cookie"].to_str().expect("cookie").to_string();
    for attr in ["kith_session=kith_s_", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(cookie.len() < 4096);
    let res = browser.get(format!("{}/api/v1/me", app.base)).send().await.expect("me");
    assert_eq!(res.status(), StatusCode::OK, "the cookie authenticates reads");
    let res = browser.post(format!("{}/api/v1/auth/logout?everywhere=true", app.base)).send().await.expect("logout");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "but no change (no CSRF token yet)");
    // O11: an off-site return_to is refused before anything starts
    for bad in ["//evil.test", "https://evil.test", "/\\evil.test", "javascript:alert(1)"] {
        let res = browser
            .get(format!("{}/api/v1/auth/oauth/idp/start", app.base))
            .query(&[("return_to", bad)])
            .send()
            .await
            .expect("start");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

async fn state_and_code_are_good_once_and_the_issuer_must_match(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let br = browser();
    let (_, callback) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    let url = reqwest::Url::parse(&callback).expect("url");
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let (code, state) = (param("code").expect("code"), param("state").expect("state"));
    let cb = format!("{}/api/v1/auth/oauth/idp/callback", app.base);
    // O1: missing and wrong state
    let (status, _) = finish(&br, &format!("{cb}?code={code}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = finish(&br, &format!("{cb}?code={code}&state=not-the-state")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // the real answer works once; replayed, its state is spent
    let (status, v) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a used state is never accepted twice");
    // a replayed code under a fresh state: the provider refuses it (and the PKCE verifier differs)
    let br = browser();
    let (_, fresh) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    let fresh_url = reqwest::Url::parse(&fresh).expect("url");
    let fresh_state = fresh_url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).expect("state");
    let (status, _) = finish(&br, &format!("{cb}?code={code}&state={fresh_state}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a used code does not log in");
    // O6: an answer naming another issuer is refused
    let br = browser();
    let (_, other) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    let other_url = reqwest::Url::parse(&other).expect("url");
    let pairs: Vec<(String, String)> = other_url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" { "http://evil.test".to_string() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    let mut forged = reqwest::Url::parse(&cb).expect("url");
    forged.query_pairs_mut().extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !pairs.iter().any(|(k, _)| k == "iss") {
        forged.query_pairs_mut().append_pair("iss", "http://evil.test");
    }
    let (status, _) = finish(&br, forged.as_str()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let _ = state;
}

/// O8: an identity whose e-mail belongs to an existing user is not logged in as that user,
/// unless the provider links by verified e-mail and says the address is verified.
async fn an_address_is_linked_only_when_verified_and_allowed(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let local = app
        .create_user(
            json!({"username": "bob", "emails": [{"email": "bob@shared.example"}], "password": "a local passphrase"}),
        )
        .await;
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "bob").await;
    let (status, _) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idp does not link");
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "linking", "mode=api", &op.issuer, "eve").await;
    let (status, _) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unverified address is never linked");
    assert_eq!(app.state.store.count_jobs().await.expect("jobs"), 0, "nothing linked, nobody told");
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "linking", "mode=api", &op.issuer, "bob").await;
    let (status, v) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["id"], local);
    let (_, list) = app.get("/api/v1/users?q=shared.example").await;
    assert_eq!(list["total"], 1, "no second account was made");
    // the account's owner is told by e-mail that a new way in exists
    assert_eq!(kith::jobs::run_due(&kith::jobs::JobContext::of(&app.state)).await.expect("jobs"), 1);
    let mails = kith_tests::outbox(&app.state.config.mail.dir);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("bob@shared.example") && mails[0].contains("IdP linking"), "{}", mails[0]);
    assert!(mails[0].contains("Subject: A new way to sign in to your account"), "{}", mails[0]);
    // a later login through the linked identity tells nobody again
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "linking", "mode=api", &op.issuer, "bob").await;
    assert_eq!(finish(&br, &cb).await.0, StatusCode::OK);
    assert_eq!(app.state.store.count_jobs().await.expect("jobs"), 0);
}

/// O10: the answer to a login started 11 minutes ago is refused.
async fn a_pending_login_expires_after_ten_minutes(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let clock = ManualClock::new(1_800_000_000_000);
    let (app, op) = setup(b, Some(clock.clone())).await;
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "idp", "mode=api", &op.issuer, "alice").await;
    clock.advance(11 * 60_000);
    let (status, v) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

/// O7, O9: a discovery document naming another issuer disables the provider; a provider that
/// answers with a redirect is not followed (a canary listener sees no connection).
async fn lying_or_redirecting_providers_are_refused(b: Backend) {
    let canary = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("canary");
    let canary_url = format!("http://{}", canary.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let canary_task = tokio::spawn(async move {
        while canary.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("fake");
    let fake_url = format!("http://{}", fake.local_addr().expect("addr"));
    let redirect_to = canary_url.clone();
    let fake_task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = fake.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let response = if request.starts_with("GET /liar/") {
                let body = json!({"issuer": "http://evil.test", "authorization_endpoint": "http://evil.test/auth",
                    "jwks_uri": "http://evil.test/jwks", "response_types_supported": ["code"],
                    "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]})
                .to_string();
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                format!(
                    "HTTP/1.1 302 Found\r\nlocation: {redirect_to}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
            };
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    let (liar, redirector) = (format!("{fake_url}/liar"), format!("{fake_url}/redirector"));
    let app = TestApp::start_with(b, None, move |c| {
        c.auth.oauth = vec![provider("liar", &liar, "kith"), provider("redirector", &redirector, "kith")];
    })
    .await;
    for id in ["liar", "redirector"] {
        let res = browser().get(format!("{}/api/v1/auth/oauth/{id}/start", app.base)).send().await.expect("start");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{id}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect was not followed");
    let res = browser().get(format!("{}/api/v1/auth/oauth/nope/start", app.base)).send().await.expect("start");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    canary_task.abort();
    fake_task.abort();
}

/// O3, O4, O5: ID tokens for another audience, expired or not yet issued, with a wrong or
/// missing nonce, from another issuer, unsigned, signed by another key (even after the one
/// JWKS refresh an unknown `kid` earns), or HS256 with the public key as secret: all refused;
/// the same provider's honest token logs in.
async fn forged_id_tokens_are_refused(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let iss = issuer.clone();
    let app = TestApp::start_with(b, None, move |c| c.auth.oauth = vec![provider("forger", &iss, "kith")]).await;
    let forger = OidcProvider::start_forger(port, "kith", &format!("{}/api/v1/auth/oauth/forger/callback", app.base));
    for mode in [
        "wrong-aud",
        "other-aud-no-azp",
        "expired",
        "future-iat",
        "bad-nonce",
        "no-nonce",
        "other-iss",
        "alg-none",
        "bad-sig",
        "unknown-kid",
        "hs256-with-public-key",
    ] {
        let br = browser();
        let (_, callback) = authorize(&br, &app.base, "forger", "mode=api", &forger.issuer, mode).await;
        let (status, v) = finish(&br, &callback).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{mode}: {v}");
    }
    let (_, list) = app.get("/api/v1/users?q=forger.example").await;
    assert_eq!(list["total"], 0, "no forged identity became a user");
    let br = browser();
    let (_, callback) = authorize(&br, &app.base, "forger", "mode=api", &forger.issuer, "good").await;
    let (status, v) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["emails"][0]["email"], "good@forger.example");
    // key rotation: a token signed with a key Kith has not seen yet, now published, is
    // accepted after the one JWKS refresh
    let br = browser();
    let (_, callback) = authorize(&br, &app.base, "forger", "mode=api", &forger.issuer, "rotated").await;
    let (status, v) = finish(&br, &callback).await;
    assert_eq!(status, StatusCode::OK, "after rotation: {v}");
}

/// A provider's groups claim maps to Kith roles and organizations (a username rule).
async fn claims_map_to_roles_and_organizations(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let (status, org) = app.post("/api/v1/organizations", json!({"name": "Acme Support"})).await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "grouped", "mode=api", &op.issuer, "carol").await;
    let (status, v) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["is_agent"], true, "{v}");
    assert!(v["user"]["roles"].as_array().expect("roles").iter().any(|r| r == "Agent"));
    let (_, members) = app.get(&format!("/api/v1/organizations/{}/users", org["id"])).await;
    assert_eq!(members["total"], 1, "{members}");
    assert_eq!(members["items"][0]["username"], "carol");
    // a second login changes nothing (no duplicate rule, same roles)
    let br = browser();
    let (_, cb) = authorize(&br, &app.base, "grouped", "mode=api", &op.issuer, "carol").await;
    let (status, again) = finish(&br, &cb).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["user"]["roles"], v["user"]["roles"]);
}

/// Security issue item 2 (RFC 9700 4.7): the pending login was keyed by `state` alone, so an
/// attacker's callback URL opened in a victim's browser logged the victim in as the attacker.
/// Now the login is bound to a cookie of the browser that started it. And starts are capped
/// per client address (3,000 pending logins were made in 3.3 s).
async fn a_login_finishes_only_in_the_browser_that_started_it(b: Backend) {
    if !oidc_provider_available() {
        return;
    }
    let (app, op) = setup(b, None).await;
    let attacker = browser();
    let (_, callback) = authorize(&attacker, &app.base, "idp", "return_to=/login", &op.issuer, "alice").await;
    let victim = browser();
    let res = victim.get(&callback).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    assert!(!cookies.iter().any(|c| c.starts_with("kith_session=kith_s_")), "{cookies:?}");
    let body = res.text().await.expect("body");
    assert!(body.contains("another browser"), "{body}");
    // the starting browser itself finishes a login of its own
    let (_, callback) = authorize(&attacker, &app.base, "idp", "return_to=/login", &op.issuer, "alice").await;
    let res = attacker.get(&callback).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    assert!(cookies.iter().any(|c| c.starts_with("kith_session=kith_s_")), "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("kith_oidc=;") && c.contains("Max-Age=0")), "{cookies:?}");

    // one address cannot pile up pending logins
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let r = client.get(format!("{}/api/v1/auth/oauth/idp/start", app.base)).send().await.expect("start");
        statuses.push(r.status());
    }
    let started = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(started <= 21 && limited >= 19, "{started} started, {limited} limited");
}
