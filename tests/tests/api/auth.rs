//! Password login, sessions, logout, `/me`, and the answers an attacker gets.

use kith_tests::{Backend, TestApp, assert_error, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

backend_tests!(
    login_logout_and_me,
    failed_logins_all_look_the_same,
    sessions_expire_and_end_on_password_change,
    stored_passwords_are_argon2id,
);

async fn login_logout_and_me(b: Backend) {
    let app = TestApp::start(b).await;
    let id = app
        .create_user(
            json!({"username": "Pat", "emails": [{"email": "pat@example.com"}], "password": "a long secret phrase"}),
        )
        .await;
    let (status, v) = app.login("pat", "a long secret phrase").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("kith_s_") && token.len() > 40);
    assert_eq!(v["user"]["id"], id);
    assert!(v["user"]["last_login_at"].is_string());
    assert!(v["expires_at"].is_string());
    let (status, me) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "Pat");
    // a second session, then logout of one
    let (_, v2) = app.login("PAT", "a long secret phrase").await;
    let token2 = v2["token"].as_str().expect("token").to_string();
    assert_ne!(token, token2, "each login gets a new session id");
    let (status, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token2), None).await;
    assert_eq!(status, StatusCode::OK);
    // logout everywhere
    let (_, v3) = app.login("pat", "a long secret phrase").await;
    let token3 = v3["token"].as_str().expect("token").to_string();
    let (status, _) = app.call(Method::POST, "/api/v1/auth/logout?everywhere=true", Some(&token3), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for t in [&token2, &token3] {
        let (status, _) = app.call(Method::GET, "/api/v1/me", Some(t), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // an API token is an agent's credential: /me works with it too
    let (status, me) = app.call(Method::GET, "/api/v1/me", Some(&app.admin_token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["is_agent"], true);
}

async fn failed_logins_all_look_the_same(b: Backend) {
    let app = TestApp::start_with_clock(b).await;
    let clock = app.clock.clone().expect("clock");
    app.create_user(
        json!({"username": "known", "emails": [{"email": "known@example.com"}], "password": "the right passphrase"}),
    )
    .await;
    app.create_user(json!({"username": "ldapuser", "emails": [{"email": "l@example.com"}], "auth_method": "ldap:corp", "password": "the right passphrase"})).await;
    let (s1, wrong) = app.login("known", "the wrong passphrase").await;
    let (s2, unknown) = app.login("nobody", "the wrong passphrase").await;
    let (s3, other_method) = app.login("ldapuser", "the right passphrase").await;
    // pass-the-hash: the stored PHC string is not the password
    let hash = app.state.store.find_login("known").await.expect("db").and_then(|r| r.password_hash).expect("hash");
    clock.advance(5_000); // past the wait after the wrong password
    let (s4, pth) = app.login("known", &hash).await;
    for (s, v) in [(s1, &wrong), (s2, &unknown), (s3, &other_method), (s4, &pth)] {
        assert_error(s, v, StatusCode::UNAUTHORIZED, None);
    }
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, other_method);
    // oversized passwords are refused before hashing
    clock.advance(5_000);
    let (status, v) = app.login("known", &"x".repeat(4096)).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("password"));
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "known", "password": "x".repeat(1024 * 1024)}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "a 1 MiB login body is not even read in full");
    assert_eq!(res.headers()["connection"], "close", "and the connection it came on is not reused");
    let (status, v) = app.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "known"}))).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("password"));
    // the right password still works
    clock.advance(5_000);
    let (status, _) = app.login("known", "the right passphrase").await;
    assert_eq!(status, StatusCode::OK);
}

async fn sessions_expire_and_end_on_password_change(b: Backend) {
    let app = TestApp::start_with_clock(b).await;
    let clock = app.clock.clone().expect("clock");
    let (id, token) = app.logged_in_user("sleepy", "nap time secret words").await;
    clock.advance(29 * 60_000);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "used within the idle window");
    clock.advance(29 * 60_000);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "use moved the idle expiry on");
    clock.advance(31 * 60_000);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idle for 31 minutes");
    // absolute lifetime: kept busy, still ends after 12 hours
    let (_, v) = app.login("sleepy", "nap time secret words").await;
    let token = v["token"].as_str().expect("token").to_string();
    for _ in 0..26 {
        clock.advance(28 * 60_000);
        let _ = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    }
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "past the absolute lifetime");
    // a password change ends open sessions
    let (_, v) = app.login("sleepy", "nap time secret words").await;
    let token = v["token"].as_str().expect("token").to_string();
    let (status, _) = app.patch(&format!("/api/v1/users/{id}"), json!({"password": "a brand new passphrase"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.login("sleepy", "nap time secret words").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    clock.advance(1_000); // the wait after one failure
    let (status, _) = app.login("sleepy", "a brand new passphrase").await;
    assert_eq!(status, StatusCode::OK);
}

async fn stored_passwords_are_argon2id(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(
        json!({"username": "hashme", "emails": [{"email": "h@example.com"}], "password": "hash me properly"}),
    )
    .await;
    let rec = app.state.store.find_login("hashme").await.expect("db").expect("user");
    let hash = rec.password_hash.expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    let salt_b64 = hash.split('$').nth(4).expect("salt");
    assert!(salt_b64.len() >= 22, "salt of at least 16 bytes: {salt_b64}");
}
