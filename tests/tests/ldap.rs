//! LDAP logins against a real OpenLDAP `slapd` (RELIABILITY L1, L2, L4, L5, L6, L8), on SQLite
//! and PostgreSQL: search-then-bind, direct bind, StartTLS and LDAPS with a generated CA, group
//! to role mapping kept in step at each login, injection attempts, an ambiguous user, a wrong
//! CA, and a directory that accepts connections and never answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kith::config::{Config, LdapProvider};
use kith_tests::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE, Slapd, person_dn, slapd_available};
use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_tests!(
    search_then_bind_creates_the_user_and_keeps_roles_and_organizations_in_step,
    direct_bind_starttls_and_ldaps_verify_the_ca,
    blank_passwords_and_injections_never_bind,
    an_ambiguous_user_is_refused,
    a_dead_directory_fails_fast_and_spares_local_logins,
    the_login_throttle_shields_the_directory,
    active_directory_binds_as_user_at_domain_and_domain_backslash_user,
);

const ALICE_PW: &str = "alice's long secret";

fn provider(slapd: &Slapd) -> LdapProvider {
    let mut p = LdapProvider {
        id: "corp".into(),
        url: slapd.ldap_url.clone(),
        bind_dn: ADMIN_DN.into(),
        bind_password: ADMIN_PASSWORD.into(),
        base_dn: BASE.into(),
        group_base_dn: format!("ou=groups,{BASE}"),
        connect_timeout_secs: 2,
        timeout_secs: 2,
        ..LdapProvider::default()
    };
    p.group_roles.insert("helpdesk".into(), vec!["Agent".into()]);
    p
}

/// An app whose login throttle is out of the way (tests that want it set it back).
async fn app_with(b: Backend, providers: Vec<LdapProvider>, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::start_with(b, None, move |c| {
        c.auth.ldap = providers;
        c.auth.login_delays_secs = vec![0];
        c.auth.login_address_burst = 10_000;
        tweak(c);
    })
    .await
}

async fn search_then_bind_creates_the_user_and_keeps_roles_and_organizations_in_step(b: Backend) {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let mut corp = provider(&slapd);
    corp.group_organizations.insert("helpdesk".into(), vec!["Acme Support".into()]);
    let app = app_with(b, vec![corp], |_| {}).await;
    let (status, org) = app.post("/api/v1/organizations", json!({"name": "Acme Support"})).await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    let org_id = org["id"].as_i64().expect("org");
    let (status, other) = app.post("/api/v1/organizations", json!({"name": "Hand Picked"})).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_i64().expect("org");

    let (status, v) = app.login("alice", "not her password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, v) = app.login("alice", ALICE_PW).await;
    assert_eq!(status, StatusCode::OK, "{v}\n{:?}", slapd.binds());
    let user = &v["user"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["display_name"], "Alice Archer");
    assert_eq!(user["auth_method"], "ldap:corp");
    assert_eq!(user["emails"][0]["email"], "alice@example.org");
    assert_eq!(user["emails"][0]["verified"], true);
    assert_eq!(user["phones"][0]["number"], "+12025550101");
    assert!(user["roles"].as_array().expect("roles").iter().any(|r| r == "Agent"), "{user}");
    assert_eq!(user["is_agent"], true);
    let token = v["token"].as_str().expect("token").to_string();
    let (status, me) = app.call(reqwest::Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!((status, me["username"].clone()), (StatusCode::OK, json!("alice")));
    // the search ran as the service account, then one bind as alice per attempt
    assert_eq!(slapd.binds_as(&person_dn("alice", "people")), 2, "{}", slapd.log_text());
    // helpdesk members belong to Acme Support through a username rule the directory keeps
    let (_, members) = app.get(&format!("/api/v1/organizations/{org_id}/users")).await;
    assert_eq!(members["total"], 1, "{members}");
    assert_eq!(members["items"][0]["username"], "alice");
    // an agent puts alice in another organization by hand: the directory leaves that alone
    let (status, rule) = app
        .post(&format!("/api/v1/organizations/{other_id}/members"), json!({"kind": "username", "value": "alice"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");

    // bob is in no mapped group: a customer
    let (status, v) = app.login("bob", "bob's long secret").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["is_agent"], false);
    // an entry without an e-mail address cannot become a Kith user: refused, nothing created
    let (status, _) = app.login("nomail", "nomail's long secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = app.get("/api/v1/users?q=nomail").await;
    assert_eq!(list["total"], 0);

    // the directory changes: alice leaves helpdesk and is renamed; her next login follows,
    // keeping a role given in Kith that the directory does not manage
    let id = v["user"]["id"].as_i64().expect("id");
    let (_, alice) = app.get("/api/v1/users?q=alice").await;
    let alice_id = alice["items"][0]["id"].as_i64().expect("alice");
    assert_ne!(alice_id, id);
    let (status, _) = app.patch(&format!("/api/v1/users/{alice_id}"), json!({"roles": ["Agent", "Manager"]})).await;
    assert_eq!(status, StatusCode::OK);
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&slapd.ldap_url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD).await.expect("bind").success().expect("admin bind");
    let alice_dn = person_dn("alice", "people");
    let group = format!("cn=helpdesk,ou=groups,{BASE}");
    let drop_member = ldap3::Mod::Delete("member", std::collections::HashSet::from([alice_dn.as_str()]));
    ldap.modify(&group, vec![drop_member]).await.expect("modify").success().expect("left helpdesk");
    let rename = ldap3::Mod::Replace("cn", std::collections::HashSet::from(["Alice Carter"]));
    ldap.modify(&alice_dn, vec![rename]).await.expect("modify").success().expect("renamed");
    let _ = ldap.unbind().await;
    let (status, v) = app.login("alice", ALICE_PW).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["display_name"], "Alice Carter");
    let roles: Vec<&str> = v["user"]["roles"].as_array().expect("roles").iter().filter_map(Value::as_str).collect();
    assert!(!roles.contains(&"Agent"), "the directory took Agent away: {roles:?}");
    assert!(roles.contains(&"Manager"), "a role the directory does not manage stays: {roles:?}");
    let (_, members) = app.get(&format!("/api/v1/organizations/{org_id}/users")).await;
    assert_eq!(members["total"], 0, "alice left helpdesk, so Acme Support: {members}");
    let (_, members) = app.get(&format!("/api/v1/organizations/{other_id}/users")).await;
    let (_, rules) = app.get(&format!("/api/v1/organizations/{other_id}/members")).await;
    assert_eq!(members["total"], 1, "the hand-made rule stays: {members} {rules}");
    let (_, changes) = app.get(&format!("/api/v1/users/{alice_id}/changes")).await;
    assert!(changes.to_string().contains("ldap:corp"), "the change log names the directory: {changes}");
}

async fn direct_bind_starttls_and_ldaps_verify_the_ca(b: Backend) {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let ca = slapd.ca_file.display().to_string();
    let other_ca = slapd.other_ca_file.display().to_string();
    let direct = |id: &str, url: &str, starttls: bool, ca_file: &str| LdapProvider {
        id: id.into(),
        url: url.into(),
        starttls,
        ca_file: ca_file.into(),
        bind_dn: String::new(),
        bind_password: String::new(),
        user_dn_template: format!("uid={{username}},ou=people,{BASE}"),
        create_users: false,
        ..provider(&slapd)
    };
    let providers = vec![
        direct("plain", &slapd.ldap_url, false, ""),
        direct("starttls", &slapd.ldap_url, true, &ca),
        direct("ldaps", &slapd.ldaps_url, false, &ca),
        direct("wrongca", &slapd.ldaps_url, false, &other_ca),
        direct("wrongca-starttls", &slapd.ldap_url, true, &other_ca),
    ];
    let app = app_with(b, providers, |_| {}).await;
    // direct bind uses the name typed: the Kith user is `alice`, switched between providers
    let id = app
        .create_user(
            json!({"username": "alice", "emails": [{"email": "alice@example.org"}], "auth_method": "ldap:plain"}),
        )
        .await;
    for (method, expected) in [
        ("plain", StatusCode::OK),
        ("starttls", StatusCode::OK),
        ("ldaps", StatusCode::OK),
        ("wrongca", StatusCode::UNAUTHORIZED),
        ("wrongca-starttls", StatusCode::UNAUTHORIZED),
    ] {
        let (status, v) =
            app.patch(&format!("/api/v1/users/{id}"), json!({"auth_method": format!("ldap:{method}")})).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let before = slapd.binds_as(&person_dn("alice", "people"));
        let (status, v) = app.login("alice", ALICE_PW).await;
        assert_eq!(status, expected, "{method}: {v}\n{}", slapd.log_text());
        let binds = slapd.binds_as(&person_dn("alice", "people")) - before;
        if expected == StatusCode::OK {
            assert_eq!(binds, 1, "{method}: one direct bind");
            assert_eq!(v["user"]["display_name"], "Alice Archer", "{method}: attributes read after the bind");
        } else {
            assert_eq!(binds, 0, "{method}: a certificate from the wrong CA ends it before any bind");
        }
    }
    // a wrong password in direct-bind mode
    let (status, _) = app.patch(&format!("/api/v1/users/{id}"), json!({"auth_method": "ldap:starttls"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.login("alice", "not alice's password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn blank_passwords_and_injections_never_bind(b: Backend) {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let app = app_with(b, vec![provider(&slapd)], |_| {}).await;
    let (status, _) = app.login("alice", ALICE_PW).await;
    assert_eq!(status, StatusCode::OK, "alice exists in Kith from here on");
    let alice = person_dn("alice", "people");
    let admin = person_dn("admin", "people");
    let (alice_before, admin_before) = (slapd.binds_as(&alice), slapd.binds_as(&admin));
    // L1: the server would accept these as unauthenticated binds
    for pw in ["", " ", "\t", "  \t "] {
        let (status, v) = app.login("alice", pw).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{pw:?}: {v}");
        let (status, _) = app.login("someone-new", pw).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(slapd.binds_as(&alice), alice_before, "no bind for a blank password");
    // L2: filter metacharacters in the user name match nobody and bind as nobody
    for name in ["*", "admin*", "admin)(|(uid=*", "x\0", "(", ")", "\\", "*)(uid=*))(|(uid=*", "al*"] {
        for pw in [ALICE_PW, "admin's long secret"] {
            let (status, v) = app.login(name, pw).await;
            // a control character is refused before anything is looked up (422 naming the field)
            let expected =
                if name.contains('\0') { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::UNAUTHORIZED };
            assert_eq!(status, expected, "{name:?}: {v}");
        }
    }
    assert_eq!(slapd.binds_as(&alice), alice_before, "{:?}", slapd.binds());
    assert_eq!(slapd.binds_as(&admin), admin_before, "{:?}", slapd.binds());
    let (_, list) = app.get("/api/v1/users?sort=username&limit=100").await;
    let names: Vec<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names, vec!["admin", "alice"], "no user was created by an injection");
}

async fn an_ambiguous_user_is_refused(b: Backend) {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let app = app_with(b, vec![provider(&slapd)], |_| {}).await;
    let (status, _) = app.login("twin", "twin's long secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(slapd.binds_as(&person_dn("twin", "people")), 0);
    assert_eq!(slapd.binds_as(&person_dn("twin", "contractors")), 0);
}

/// L5: a directory that accepts TCP and never answers. 50 logins at once each fail within
/// the configured budget; password logins meanwhile stay fast.
async fn a_dead_directory_fails_fast_and_spares_local_logins(b: Backend) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ldap://{}", listener.local_addr().expect("addr"));
    let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    let sink = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().await.push(socket); // accepted, never read, never answered
        }
    });
    let dead = LdapProvider {
        id: "dead".into(),
        url,
        bind_dn: ADMIN_DN.into(),
        bind_password: "x".into(),
        base_dn: BASE.into(),
        connect_timeout_secs: 1,
        timeout_secs: 1,
        ..LdapProvider::default()
    };
    let app = Arc::new(app_with(b, vec![dead], |_| {}).await);
    app.create_user(
        json!({"username": "local", "emails": [{"email": "local@example.com"}], "password": "a passphrase here"}),
    )
    .await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let (status, _) = app.login(&format!("dir-user-{i}"), "some password here").await;
            (status, t.elapsed())
        }));
    }
    let mut local = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let (status, v) = app.login("local", "a passphrase here").await;
        assert_eq!(status, StatusCode::OK, "{v}");
        local.push(t.elapsed());
    }
    for t in tasks {
        let (status, took) = t.await.expect("task");
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(took < Duration::from_secs(7), "an LDAP login took {took:?} (budget 1 s connect + 4 x 1 s)");
    }
    local.sort();
    assert!(local[local.len() - 1] < Duration::from_millis(1500), "local logins during the outage: {local:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    sink.abort();
}

/// L8: ten wrong passwords in a row reach the directory at most as often as Kith's own
/// throttle allows (here: 3 an hour), far below a typical directory lockout of 5 or 10.
async fn the_login_throttle_shields_the_directory(b: Backend) {
    if !slapd_available() {
        return;
    }
    let slapd = Slapd::start();
    let app = app_with(b, vec![provider(&slapd)], |c| {
        c.auth.login_delays_secs = vec![0];
        c.auth.login_max_failures_per_hour = 3;
    })
    .await;
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(app.login("alice", "a wrong guess for alice").await.0);
    }
    assert_eq!(slapd.binds_as(&person_dn("alice", "people")), 3, "{answers:?}");
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 7);
}

/// A real Active Directory (Samba's AD DC) over LDAPS verified against the test CA: direct
/// binds as `user@domain` (the UPN) and `DOMAIN\user`, the entry read back with AD's
/// attributes (sAMAccountName, displayName, mail, memberOf → roles), AD's continuation
/// references skipped, and wrong passwords and injections refused.
async fn active_directory_binds_as_user_at_domain_and_domain_backslash_user(b: Backend) {
    use kith_tests::samba::{BASE, DNS_DOMAIN, NETBIOS, SambaAd, samba_available};
    if !samba_available() {
        return;
    }
    let ad = tokio::task::spawn_blocking(SambaAd::start).await.expect("samba");
    let ad_provider = |id: &str, template: String| {
        let mut p = LdapProvider {
            id: id.into(),
            url: ad.ldaps_url.clone(),
            ca_file: ad.ca_file.display().to_string(),
            user_dn_template: template,
            base_dn: BASE.into(),
            user_filter: "(&(objectClass=user)(sAMAccountName={username}))".into(),
            username_attribute: "sAMAccountName".into(),
            display_name_attribute: "displayName".into(),
            email_attribute: "mail".into(),
            group_attribute: "memberOf".into(),
            create_users: id == "ad",
            connect_timeout_secs: 5,
            timeout_secs: 5,
            ..LdapProvider::default()
        };
        p.group_roles.insert("helpdesk".into(), vec!["Agent".into()]);
        p
    };
    let providers = vec![
        ad_provider("ad", format!("{{username}}@{DNS_DOMAIN}")),
        ad_provider("ad-netbios", format!("{NETBIOS}\\{{username}}")),
    ];
    let app = app_with(b, providers, |_| {}).await;

    // user@domain: an unknown name is created from the directory at its first login
    let (status, v) = app.login("alice", "Al1ce-long-secret").await;
    assert_eq!(status, StatusCode::OK, "{v}\n{}", ad.log_text());
    let user = &v["user"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["display_name"], "Alice Liddell");
    assert_eq!(user["auth_method"], "ldap:ad");
    assert_eq!(user["emails"][0]["email"], format!("alice@{DNS_DOMAIN}"));
    assert!(user["roles"].as_array().expect("roles").contains(&json!("Agent")), "memberOf → Agent: {user}");
    let id = user["id"].as_i64().expect("id");
    // not in the group: no agent role
    let (status, v) = app.login("bob", "B0b-long-secret").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!v["user"]["roles"].as_array().expect("roles").contains(&json!("Agent")));

    // DOMAIN\user: the same person through the NetBIOS form
    let (status, _) = app.patch(&format!("/api/v1/users/{id}"), json!({"auth_method": "ldap:ad-netbios"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = app.login("alice", "Al1ce-long-secret").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["id"], id);

    // refused: a wrong password, a blank one, an injection, someone AD does not know
    let users_before = app.count_users().await;
    for (name, password) in [
        ("alice", "not her secret"),
        ("alice", " "),
        ("*)(sAMAccountName=*", "Al1ce-long-secret"),
        ("nobody", "Al1ce-long-secret"),
    ] {
        let (status, v) = app.login(name, password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name:?}: {v}");
    }
    // a created user would be named after the directory entry, not what was typed: count them
    assert_eq!(app.count_users().await, users_before, "no user was made by a refused login");
}
