//! A person in a real browser (headless Chromium): logs in on `/login` with a directory
//! password (OpenLDAP slapd), logs out, then logs in with the identity provider's button
//! (oidc-provider) — the two ways issue 5 promises, end to end, on SQLite and PostgreSQL.

use kith::config::{LdapProvider, OAuthProvider};
use kith_tests::chrome::{Chrome, chrome_available};
use kith_tests::oidc_provider::{OidcProvider, free_port, oidc_provider_available};
use kith_tests::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE, Slapd, slapd_available};
use kith_tests::{Backend, TestApp, backend_tests};
use serde_json::json;

backend_tests!(a_person_logs_in_through_the_directory_and_the_identity_provider);

async fn a_person_logs_in_through_the_directory_and_the_identity_provider(b: Backend) {
    if !(chrome_available() && slapd_available() && oidc_provider_available()) {
        return;
    }
    let slapd = Slapd::start();
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let ldap = LdapProvider {
        id: "corp".into(),
        url: slapd.ldap_url.clone(),
        starttls: true,
        ca_file: slapd.ca_file.display().to_string(),
        bind_dn: ADMIN_DN.into(),
        bind_password: ADMIN_PASSWORD.into(),
        base_dn: BASE.into(),
        ..LdapProvider::default()
    };
    let oauth = OAuthProvider {
        id: "idp".into(),
        display_name: "Test IdP".into(),
        issuer: issuer.clone(),
        client_id: "kith".into(),
        client_secret: "a client secret that is long enough".into(),
        ..OAuthProvider::default()
    };
    let app = TestApp::start_with(b, None, move |c| {
        c.auth.ldap = vec![ldap];
        c.auth.oauth = vec![oauth];
    })
    .await;
    let clients = json!([{"client_id": "kith", "client_secret": "a client secret that is long enough",
        "redirect_uris": [format!("{}/api/v1/auth/oauth/idp/callback", app.base)]}]);
    let accounts = json!({"dana": {"email": "dana@idp.example", "email_verified": true, "name": "Dana Browser"}});
    let _op = OidcProvider::start_with_default(op_port, &clients, &accounts, "dana");

    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/login", app.base)).await;
    chrome.type_into("input[name=username]", "alice").await;
    chrome.type_into("input[name=password]", "alice's long secret").await;
    chrome.click("form[action='/login'] button").await;
    let page = chrome.wait_for_text("Logged in as").await;
    assert!(page.contains("Alice Archer") && page.contains("ldap:corp"), "{page}");

    chrome.click("form[action='/logout'] button").await;
    chrome.wait_for_text("Log in with Test IdP").await;
    chrome.click("a.button").await;
    let page = chrome.wait_for_text("Logged in as").await;
    assert!(page.contains("Dana Browser") && page.contains("oauth:idp"), "{page}");
    assert!(chrome.current_url().await.ends_with("/login"));
    chrome.quit().await;
}
