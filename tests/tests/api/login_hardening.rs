//! Login hardening: the per-account soft lock and the per-address limiter (RELIABILITY A1–A6),
//! identity headers (A13), the session cap (S7), fixation (S3) and the login history. The
//! clock is virtual, so delays are stepped through rather than waited for.

use std::sync::Arc;

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    brute_force_on_one_account_is_slowed_then_released,
    the_hourly_ceiling_holds,
    parallel_guesses_cannot_outrun_the_counter,
    spraying_from_one_address_is_capped,
    a_locked_name_is_a_delay_not_a_lockout,
    identity_headers_are_ignored,
    sessions_are_capped_and_rotated_and_logins_recorded,
    a_session_cookie_changes_nothing_and_answers_are_not_cached,
    unknown_and_known_names_take_the_same_time,
);

const RIGHT: &str = "the right passphrase";
const WRONG: &str = "a wrong passphrase!";

/// An app with a virtual clock where the per-address limiter is out of the way unless a test
/// wants it, and where `X-Forwarded-For` from the test client (127.0.0.1) is believed.
async fn app(b: Backend, address_burst: u32) -> TestApp {
    TestApp::start_with(b, Some(kith::clock::ManualClock::new(1_800_000_000_000)), move |c| {
        c.auth.login_address_burst = address_burst;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
}

/// One login attempt from `from`; answers status, `Retry-After` (seconds) and body.
async fn attempt(app: &TestApp, from: &str, username: &str, password: &str) -> (StatusCode, Option<i64>, Value) {
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", from)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("request");
    let status = res.status();
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry, body)
}

async fn password_user(app: &TestApp, username: &str) -> i64 {
    app.create_user(
        json!({"username": username, "emails": [{"email": format!("{username}@example.com")}], "password": RIGHT}),
    )
    .await
}

/// A1, A2: 100 wrong passwords for one account within 10 s get at most 6 checks; the rest are
/// 429 with Retry-After without a check. Once the wait is over the right password works.
async fn brute_force_on_one_account_is_slowed_then_released(b: Backend) {
    let app = app(b, 10_000).await;
    let clock = app.clock.clone().expect("clock");
    password_user(&app, "target").await;
    let (mut checked, mut throttled) = (0, 0);
    for _ in 0..100 {
        let (status, retry, body) = attempt(&app, "203.0.113.7", "target", WRONG).await;
        match status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled += 1;
                assert!(retry.is_some_and(|s| (1..=3).contains(&s)), "Retry-After in seconds: {retry:?}");
                assert_eq!(body["error"]["code"], "rate_limited");
            }
            other => panic!("unexpected {other}: {body}"),
        }
        clock.advance(100);
    }
    assert!(checked <= 6, "{checked} passwords checked in 10 s");
    assert_eq!(checked + throttled, 100);
    // an unknown name is throttled exactly the same way, so a 429 reveals nothing
    let (s1, _, _) = attempt(&app, "203.0.113.7", "nobody-here", WRONG).await;
    let (s2, _, _) = attempt(&app, "203.0.113.7", "nobody-here", WRONG).await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS));
    // A2: after the wait the right password is accepted and the count starts over
    clock.advance(3_001);
    let (status, _, body) = attempt(&app, "203.0.113.7", "target", RIGHT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = attempt(&app, "203.0.113.7", "target", WRONG).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    clock.advance(1_000);
    let (status, _, _) = attempt(&app, "203.0.113.7", "target", RIGHT).await;
    assert_eq!(status, StatusCode::OK, "one failure waits 1 s only");
}

/// A3: an attacker who always waits exactly as long as told gets at most
/// `login_max_failures_per_hour` (20) checks in an hour, far below ASVS's 100.
async fn the_hourly_ceiling_holds(b: Backend) {
    let app = app(b, 10_000).await;
    let clock = app.clock.clone().expect("clock");
    password_user(&app, "patient").await;
    let start = app.state.store.now();
    let mut checked = 0;
    while app.state.store.now() < start + 3_600_000 {
        let (status, retry, _) = attempt(&app, "203.0.113.8", "patient", WRONG).await;
        match status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => clock.advance(retry.expect("Retry-After") * 1000),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= 20, "{checked} checks in one hour");
    assert!(checked >= 5, "the delays are short at first: {checked}");
}

/// A4 (CVE-2024-4629): guesses released together cannot all be checked before the first is
/// counted; a right password among them while the name is waiting does not get in.
async fn parallel_guesses_cannot_outrun_the_counter(b: Backend) {
    let app = Arc::new(app(b, 10_000).await);
    let clock = app.clock.clone().expect("clock");
    password_user(&app, "raced").await;
    let burst = |with_right: bool| {
        let app = app.clone();
        async move {
            let barrier = Arc::new(tokio::sync::Barrier::new(50));
            let mut tasks = Vec::new();
            for i in 0..50 {
                let (app, barrier) = (app.clone(), barrier.clone());
                let password = if with_right && i == 25 { RIGHT } else { WRONG };
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    attempt(&app, "203.0.113.9", "raced", password).await.0
                }));
            }
            let mut statuses = Vec::new();
            for t in tasks {
                statuses.push(t.await.expect("task"));
            }
            statuses
        }
    };
    let statuses = burst(false).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(checked, 1, "one check, the other 49 wait: {statuses:?}");
    // the name is now waiting: 50 more, the right password among them, none gets in
    let statuses = burst(true).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    clock.advance(1_001);
    let (status, _, _) = attempt(&app, "203.0.113.9", "raced", RIGHT).await;
    assert_eq!(status, StatusCode::OK);
}

/// A5: one wrong password for each of 1,000 names from one address within 60 s: the address
/// limiter (burst 10, then 10 a minute) lets at most 20 be checked.
async fn spraying_from_one_address_is_capped(b: Backend) {
    let app = app(b, 10).await;
    let clock = app.clock.clone().expect("clock");
    let mut checked = 0;
    for i in 0..1000 {
        let (status, retry, _) = attempt(&app, "198.51.100.1", &format!("sprayed{i}"), WRONG).await;
        match status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => assert!(retry.is_some_and(|s| s >= 1)),
            other => panic!("unexpected {other}"),
        }
        clock.advance(60);
    }
    assert!(checked <= 20, "{checked} checks from one address in 60 s");
    assert!(checked >= 10, "the burst is allowed: {checked}");
    // another address is not affected
    let (status, _, _) = attempt(&app, "198.51.100.2", "sprayed-x", WRONG).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A6: an attacker at one address makes the name wait; the owner at another address logs in
/// once the wait is over (a delay, never a permanent lock), and successful logins from a
/// shared office address give their attempt back.
async fn a_locked_name_is_a_delay_not_a_lockout(b: Backend) {
    let app = app(b, 3).await;
    let clock = app.clock.clone().expect("clock");
    password_user(&app, "agent").await;
    for _ in 0..30 {
        let _ = attempt(&app, "192.0.2.66", "agent", WRONG).await;
        clock.advance(500);
    }
    clock.advance(3_001);
    let (status, _, body) = attempt(&app, "192.0.2.10", "agent", RIGHT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..10 {
        let (status, _, body) = attempt(&app, "192.0.2.10", "agent", RIGHT).await;
        assert_eq!(status, StatusCode::OK, "successes do not use up the office's burst of 3: {body}");
    }
}

/// A13: identity headers a proxy might add are never believed.
async fn identity_headers_are_ignored(b: Backend) {
    let app = TestApp::start(b).await;
    for path in ["/api/v1/me", "/api/v1/users", "/api/v1/roles", "/api/v1/organizations"] {
        for header in ["x-forwarded-user", "remote-user", "x-remote-user", "x-auth-request-user", "x-forwarded-email"] {
            let res = app
                .client
                .get(format!("{}{path}", app.base))
                .header(header, "admin")
                .header("x-forwarded-for", "127.0.0.1")
                .send()
                .await
                .expect("request");
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path} with {header}");
        }
    }
}

/// S7, S3, history: the 4th session of a user capped at 3 ends the oldest; every login gets a
/// new session token (nothing the client sends is reused); logins are in the user's history.
async fn sessions_are_capped_and_rotated_and_logins_recorded(b: Backend) {
    let app = TestApp::start_with(b, Some(kith::clock::ManualClock::new(1_800_000_000_000)), |c| {
        c.auth.max_sessions_per_user = 3;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let clock = app.clock.clone().expect("clock");
    let id = password_user(&app, "many").await;
    let mut tokens = Vec::new();
    for i in 0..4 {
        let (status, _, body) = attempt(&app, &format!("203.0.113.{}", 20 + i), "many", RIGHT).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens.push(body["token"].as_str().expect("token").to_string());
        clock.advance(1_000);
    }
    let distinct: std::collections::HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), 4, "every login makes a new session id");
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&tokens[0]), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the oldest session ended at the cap");
    for t in &tokens[1..] {
        let (status, _) = app.call(Method::GET, "/api/v1/me", Some(t), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, history) = app.get(&format!("/api/v1/users/{id}/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let logins = history["logins"].as_array().expect("logins");
    assert_eq!(logins.len(), 4, "{history}");
    assert_eq!(logins[0]["address"], "203.0.113.23", "newest first, with the client address");
    assert_eq!(logins[0]["method"], "password");
    assert!(history["last_login_at"].is_string());
    // logout everywhere ends them all (S4)
    let (status, _) = app.call(Method::POST, "/api/v1/auth/logout?everywhere=true", Some(&tokens[3]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for t in &tokens {
        let (status, _) = app.call(Method::GET, "/api/v1/me", Some(t), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// S8, S9, S10: every state-changing route of the OpenAPI document, called the way a hostile
/// page would (the victim's session cookie, a foreign Origin, `Sec-Fetch-Site: cross-site`, a
/// simple-request content type), changes nothing; authenticated answers say `no-store`.
async fn a_session_cookie_changes_nothing_and_answers_are_not_cached(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, v) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let session = v["token"].as_str().expect("token").to_string();
    let cookie = format!("kith_session={session}");
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let users_before = app.get("/api/v1/users").await.1["total"].clone();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let url = format!("{}{}", app.base, path.replace("{id}", "1").replace("{rule_id}", "1"));
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let res = app
                .client
                .request(m, &url)
                .header("cookie", &cookie)
                .header("origin", "https://evil.test")
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "text/plain")
                .body(r#"{"username":"x","password":"y","name":"x"}"#)
                .send()
                .await
                .expect("request");
            let status = res.status();
            if path == "/api/v1/auth/login" || path.starts_with("/api/v1/auth/password/") {
                // anonymous JSON-only routes: a cross-site form cannot post them at all
                assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{method} {path}: a form cannot post here");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: the cookie must not authorize a change");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} state-changing routes found");
    assert_eq!(app.get("/api/v1/users").await.1["total"], users_before);
    // the session itself still works with its bearer header
    let res = app.client.get(format!("{}/api/v1/me", app.base)).bearer_auth(&session).send().await.expect("me");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

/// A8: a wrong password for a known name and any password for an unknown name get the same
/// answer after about the same time (the unknown name is checked against a dummy hash).
async fn unknown_and_known_names_take_the_same_time(b: Backend) {
    let app = TestApp::start_with(b, Some(kith::clock::ManualClock::new(1_800_000_000_000)), |c| {
        c.auth.login_address_burst = 10_000;
        c.auth.login_delays_secs = vec![0];
        c.auth.login_max_failures_per_hour = 100_000;
    })
    .await;
    password_user(&app, "known").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut bodies = std::collections::HashSet::new();
    for i in 0..50 {
        for (name, into) in [("known".to_string(), &mut known), (format!("ghost{i}"), &mut unknown)] {
            let t = std::time::Instant::now();
            let (status, _, body) = attempt(&app, "203.0.113.60", &name, WRONG).await;
            into.push(t.elapsed());
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            bodies.insert(body.to_string());
        }
    }
    assert_eq!(bodies.len(), 1, "one answer for both: {bodies:?}");
    known.sort();
    unknown.sort();
    let (k, u) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    assert!(u.as_secs_f64() >= 0.8 * k.as_secs_f64(), "unknown median {u:?} vs known median {k:?}");
    assert!(u.as_secs_f64() <= 1.25 * k.as_secs_f64(), "unknown median {u:?} vs known median {k:?}");
}
