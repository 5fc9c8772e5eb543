//! WebAssembly plugins through the real host: the first-party plugins (IBAN field type, Forms
//! organization tab and actions, HTTP auth provider, Gravatar) and a hostile plugin that loops,
//! traps, grows memory, recurses, answers garbage, reaches for files, the environment, sockets
//! and forbidden hosts. Every test on SQLite and PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kith::clock::ManualClock;
use kith::config::Config;
use kith_tests::plugins::{PluginDir, rss_bytes, shared_cache};
use kith_tests::{Backend, TestApp, assert_error, backend_tests, random_suffix};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    plugins: PluginDir,
    tmp: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

async fn start(backend: Backend, install: impl FnOnce(&PluginDir), tweak: impl FnOnce(&mut Config)) -> Setup {
    start_clocked(backend, None, install, tweak).await
}

async fn start_clocked(
    backend: Backend,
    clock: Option<Arc<ManualClock>>,
    install: impl FnOnce(&PluginDir),
    tweak: impl FnOnce(&mut Config),
) -> Setup {
    let tmp = std::env::temp_dir().join(format!("kith-plugins-{}", random_suffix()));
    let plugins = PluginDir::new(&tmp);
    install(&plugins);
    let root = plugins.root.clone();
    let app = TestApp::start_with(backend, clock, move |c| {
        c.plugins.dirs = vec![root];
        c.plugins.cache_dir = shared_cache();
        tweak(c);
    })
    .await;
    Setup { app, plugins, tmp }
}

/// The hostile plugin installed as `id` in `mode`.
fn hostile(dir: &PluginDir, id: &str, mode: &str) {
    dir.install("tests/plugins/hostile", id, |t| {
        // each copy shows its own tab
        let t = t.replace("[[tabs]]\nid = \"hostile\"", &format!("[[tabs]]\nid = \"{id}\""));
        t.replacen("default = \"ok\"", &format!("default = \"{mode}\""), 1)
    });
}

async fn enable(app: &TestApp, id: &str, extra: Value) -> Value {
    let mut body = json!({"enabled": true});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, v) = app.patch(&format!("/api/v1/plugins/{id}"), body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn plugin(app: &TestApp, id: &str) -> Value {
    let (status, v) = app.get(&format!("/api/v1/plugins/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn field(app: &TestApp, entity: &str, key: &str, field_type: &str) -> Value {
    let (status, v) = app
        .post("/api/v1/custom-fields", json!({"entity": entity, "key": key, "label": key, "type": field_type}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

backend_tests!(
    a_field_type_plugin_validates_and_normalizes_values,
    built_in_custom_fields_are_checked_on_every_write,
    hostile_plugins_fail_alone_and_trip_the_breaker,
    a_looping_plugin_is_stopped_at_its_deadline,
    hostile_answers_and_memory_bombs_leave_the_server_as_it_was,
    plugins_have_no_ambient_capabilities,
    outbound_http_needs_the_manifest_and_a_grant,
    an_auth_plugin_logs_users_in_and_is_confined,
    the_forms_plugin_records_forms_and_shows_them_with_the_rule_logic,
    plugins_reload_without_a_restart_and_versions_are_gated,
    many_calls_with_some_traps_stay_isolated,
    avatars_come_from_uploads_then_gravatar_then_initials_always_through_kith,
    the_sdk_readme_walkthrough_gives_a_plugin_that_runs_in_kith,
);

async fn a_field_type_plugin_validates_and_normalizes_values(backend: Backend) {
    let s = start(backend, |d| drop(d.install("plugins/iban", "iban", |t| t)), |_| {}).await;
    let app = &s.app;
    let (status, list) = app.get("/api/v1/plugins").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["state"], "disabled", "a new plugin waits for an admin: {list}");
    assert_eq!(list["items"][0]["api"], json!(["0.1.0"]));
    field(app, "user", "iban", "plugin:iban/iban").await;
    let (status, _) = app
        .post("/api/v1/custom-fields", json!({"entity": "user", "key": "x", "label": "X", "type": "plugin:iban/nope"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = |v: &str| json!({"username": format!("u{}", random_suffix()), "emails": [{"email": format!("{}@x.example", random_suffix())}], "custom_fields": {"iban": v}});
    // switched off: the value is refused with a generic message, nothing is stored
    let before = app.count_users().await;
    let (status, v) = app.post("/api/v1/users", body("GB82 WEST 1234 5698 7654 32")).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.iban"));
    assert_eq!(app.count_users().await, before);
    enable(app, "iban", json!({})).await;
    let (status, v) = app.post("/api/v1/users", body("gb82 west 1234 5698 7654 32")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["custom_fields"]["iban"], "GB82WEST12345698765432", "normalized by the plugin: {v}");
    let id = v["id"].as_i64().unwrap_or_default();
    let (status, v) = app
        .patch(&format!("/api/v1/users/{id}"), json!({"custom_fields": {"iban": "GB82 WEST 1234 5698 7654 33"}}))
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.iban"));
    assert!(
        v["error"]["fields"]["custom_fields.iban"].as_str().unwrap_or("").contains("IBAN"),
        "the plugin's message: {v}"
    );
    let (_, v) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(v["custom_fields"]["iban"], "GB82WEST12345698765432", "the bad value did not replace the good one");
    assert_eq!(
        v["custom_fields_display"]["iban"], "GB82 WEST 1234 5698 7654 32",
        "shown as the plugin formats it: {v}"
    );
    let (status, v) = app.patch(&format!("/api/v1/users/{id}"), json!({"custom_fields": {"iban": null}})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["custom_fields"].get("iban").is_none(), "null clears: {v}");
    let p = plugin(app, "iban").await;
    assert!(p["counters"]["calls"].as_u64().unwrap_or(0) >= 2, "{p}");
    assert_eq!(p["counters"]["faults"], 0, "{p}");
    // agents without plugins_manage see nothing of the admin resource
    let (_, agent) = app.user_with_token(&format!("ag{}", random_suffix()), &["Agent"]).await;
    let (status, _) = app.call(Method::GET, "/api/v1/plugins", Some(&agent), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.call(Method::PATCH, "/api/v1/plugins/iban", Some(&agent), Some(json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn built_in_custom_fields_are_checked_on_every_write(backend: Backend) {
    let s = start(backend, |_| {}, |_| {}).await;
    let app = &s.app;
    let (status, tier) = app
        .post(
            "/api/v1/custom-fields",
            json!({"entity": "organization", "key": "tier", "label": "Tier", "type": "select", "options": ["Gold", "Silver"], "required": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tier}");
    field(app, "organization", "since", "date").await;
    field(app, "user", "newsletter", "checkbox").await;
    let (status, v) = app
        .post("/api/v1/custom-fields", json!({"entity": "user", "key": "newsletter", "label": "Again", "type": "text"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = app
        .post("/api/v1/custom-fields", json!({"entity": "user", "key": "Bad Key", "label": "", "type": "colour"}))
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("key"));
    assert!(v["error"]["fields"]["label"].is_string() && v["error"]["fields"]["type"].is_string(), "{v}");
    // required on create
    let (status, v) = app.post("/api/v1/organizations", json!({"name": "Acme"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.tier"));
    let (status, v) =
        app.post("/api/v1/organizations", json!({"name": "Acme", "custom_fields": {"tier": "Bronze"}})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.tier"));
    let (status, v) = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Acme", "custom_fields": {"tier": "Gold", "since": "2026-02-30"}}),
        )
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.since"));
    let (status, org) = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Acme", "custom_fields": {"tier": "Gold", "since": "2026-02-28"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    let id = org["id"].as_i64().unwrap_or_default();
    let (status, v) = app.patch(&format!("/api/v1/organizations/{id}"), json!({"custom_fields": {"tier": null}})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.tier"));
    let (status, v) = app.patch(&format!("/api/v1/organizations/{id}"), json!({"custom_fields": {"nope": 1}})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.nope"));
    let (status, v) =
        app.patch(&format!("/api/v1/organizations/{id}"), json!({"custom_fields": {"tier": "Silver"}})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["custom_fields"], json!({"tier": "Silver", "since": "2026-02-28"}), "only the sent key changed");
    let (_, v) = app.get(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(v["custom_fields_display"], json!({"tier": "Silver", "since": "2026-02-28"}), "{v}");
    let (status, v) = app
        .post(
            "/api/v1/users",
            json!({"username": "nl", "emails": [{"email": "nl@x.example"}], "custom_fields": {"newsletter": "yes"}}),
        )
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.newsletter"));
    let (status, list) = app.get("/api/v1/custom-fields?entity=organization").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 2, "{list}");
    let tier_id = tier["id"].as_i64().unwrap_or_default();
    let (status, v) = app.patch(&format!("/api/v1/custom-fields/{tier_id}"), json!({"type": "text"})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("type"));
    let (status, _) = app.delete(&format!("/api/v1/custom-fields/{tier_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn hostile_plugins_fail_alone_and_trip_the_breaker(backend: Backend) {
    let modes = ["trap", "unreachable", "stack", "memory", "garbage"];
    let s = start(
        backend,
        |d| {
            hostile(d, "ok", "ok");
            for m in modes {
                hostile(d, m, m);
            }
        },
        |c| c.plugins.breaker_faults = 3,
    )
    .await;
    let app = &s.app;
    for id in std::iter::once("ok").chain(modes) {
        enable(app, id, json!({})).await;
        field(app, "user", &id.replace('-', "_"), &format!("plugin:{id}/hostile")).await;
    }
    let (status, org) = app.post("/api/v1/organizations", json!({"name": "Hostile Inc"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let org = org["id"].as_i64().unwrap_or_default();
    let user = app.create_user(json!({"username": "target", "emails": [{"email": "t@x.example"}]})).await;
    let expect_class = |m: &str| match m {
        "trap" => "panic",
        "unreachable" => "trap",
        // Rust keeps its stack in linear memory: deep recursion runs off its end (an
        // out-of-bounds trap) before wasmtime's own stack limit is reached
        "stack" => "trap|stack_overflow",
        "memory" => "memory_limit",
        _ => "malformed",
    };
    for m in modes {
        // a field value: refused with the generic message, the user unchanged
        let (status, v) = app.patch(&format!("/api/v1/users/{user}"), json!({"custom_fields": {m: "value"}})).await;
        assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some(&format!("custom_fields.{m}")));
        assert!(
            v["error"]["fields"][format!("custom_fields.{m}")].as_str().unwrap_or("").contains("could not be checked"),
            "{v}"
        );
        // its action: 502 naming the failure class, never a 500
        let (status, v) = app.post(&format!("/api/v1/plugins/{m}/actions/run"), json!({"x": 1})).await;
        assert_error(status, &v, StatusCode::BAD_GATEWAY, None);
        // its tab: the page still comes, with the failure inside the tab
        let (status, v) = app.get(&format!("/api/v1/organizations/{org}/tabs/{m}")).await;
        assert_eq!(status, StatusCode::OK, "{m}: {v}");
        assert!(v["error"]["message"].is_string(), "{m}: {v}");
        let p = plugin(app, m).await;
        let classes = &p["counters"]["faults_by_class"];
        assert!(expect_class(m).split('|').any(|c| classes[c].as_u64().unwrap_or(0) >= 1), "{m}: {p}");
        assert_eq!(p["state"], "tripped", "3 faults switch {m} off: {p}");
        assert!(p["disabled_reason"].as_str().unwrap_or("").contains("circuit breaker"), "{p}");
        assert!(p["last_fault"].is_string(), "{p}");
    }
    // the well-behaved plugin is untouched and the org page still renders
    let (status, v) = app.patch(&format!("/api/v1/users/{user}"), json!({"custom_fields": {"ok": "fine"}})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["custom_fields"]["ok"], "FINE");
    let (status, v) = app.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // an admin switches one back on: it runs (and fails) again
    enable(app, "trap", json!({})).await;
    assert_eq!(plugin(app, "trap").await["state"], "enabled");
    let (status, _) = app.post("/api/v1/plugins/trap/actions/run", json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

async fn a_looping_plugin_is_stopped_at_its_deadline(backend: Backend) {
    let s = start(backend, |d| hostile(d, "loop", "loop"), |_| {}).await;
    let app = &s.app;
    enable(app, "loop", json!({})).await;
    field(app, "user", "spin", "plugin:loop/hostile").await;
    let user = app.create_user(json!({"username": "looped", "emails": [{"email": "l@x.example"}]})).await;
    let budget = Duration::from_millis(app.state.config.plugins.field_timeout_ms);
    // a field validation (50 ms budget): stopped within twice the budget
    for _ in 0..3 {
        let t = Instant::now();
        let r = app
            .state
            .plugins
            .call(
                "loop",
                kith::plugins::Hook::Validate {
                    field: kith::plugins::host::bindings::exports::kith::plugin::field_type::FieldInfo {
                        type_id: "hostile".into(),
                        settings_json: "{}".into(),
                    },
                    value: "x".into(),
                },
            )
            .await;
        let took = t.elapsed();
        assert!(matches!(r, Err(kith::plugins::CallError::Fault(kith::plugins::host::Fault::Timeout))), "{r:?}");
        assert!(took < budget * 2, "stopped after {took:?} (budget {budget:?})");
    }
    let (status, v) = app.patch(&format!("/api/v1/users/{user}"), json!({"custom_fields": {"spin": "x"}})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.spin"));
    // a loop in a tab (1 s budget) while other requests run: they are not slowed
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Loop Ltd"})).await;
    let org = org["id"].as_i64().unwrap_or_default();
    enable(app, "loop", json!({})).await;
    let tab = {
        let base = app.base.clone();
        let token = app.admin_token.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = reqwest::Client::new()
                .get(format!("{base}/api/v1/organizations/{org}/tabs/loop"))
                .bearer_auth(token)
                .send()
                .await
                .expect("tab");
            (r.status(), r.json::<Value>().await.unwrap_or_default(), t.elapsed())
        })
    };
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let (status, _) = app.get("/api/v1/users?limit=5").await;
        assert_eq!(status, StatusCode::OK);
        worst = worst.max(t.elapsed());
    }
    let (status, v, took) = tab.await.expect("tab task");
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("timeout"), "{v}");
    let tab_budget = Duration::from_millis(app.state.config.plugins.tab_timeout_ms);
    assert!(took < tab_budget * 2, "tab answered after {took:?}");
    assert!(worst < Duration::from_millis(500), "other requests took up to {worst:?} while the plugin looped");
}

async fn hostile_answers_and_memory_bombs_leave_the_server_as_it_was(backend: Backend) {
    let s = start(
        backend,
        |d| {
            hostile(d, "memory", "memory");
            hostile(d, "garbage", "garbage");
        },
        |c| c.plugins.breaker_faults = 1000,
    )
    .await;
    let app = &s.app;
    enable(app, "memory", json!({})).await;
    enable(app, "garbage", json!({})).await;
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Garbage Corp"})).await;
    let org = org["id"].as_i64().unwrap_or_default();
    // warm up, then measure
    let _ = app.post("/api/v1/plugins/memory/actions/run", json!({})).await;
    let before = rss_bytes();
    for _ in 0..20 {
        let (status, v) = app.post("/api/v1/plugins/memory/actions/run", json!({})).await;
        assert_error(status, &v, StatusCode::BAD_GATEWAY, None);
        let (status, v) = app.post("/api/v1/plugins/garbage/actions/run", json!({})).await;
        assert_error(status, &v, StatusCode::BAD_GATEWAY, None);
        let (status, v) = app.get(&format!("/api/v1/organizations/{org}/tabs/garbage")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    let after = rss_bytes();
    let grew = after.saturating_sub(before) >> 20;
    assert!(grew < 100, "the server grew {grew} MiB after 20 memory bombs and 40 garbage answers");
    let p = plugin(app, "memory").await;
    assert!(p["counters"]["faults_by_class"]["memory_limit"].as_u64().unwrap_or(0) >= 20, "{p}");
    let p = plugin(app, "garbage").await;
    assert!(p["counters"]["faults_by_class"]["malformed"].as_u64().unwrap_or(0) >= 20, "{p}");
}

async fn plugins_have_no_ambient_capabilities(backend: Backend) {
    let s = start(backend, |d| hostile(d, "ambient", "ambient"), |_| {}).await;
    let app = &s.app;
    enable(app, "ambient", json!({})).await;
    let (status, v) = app.post("/api/v1/plugins/ambient/actions/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let report = v.to_string();
    assert!(report.contains("fs=denied"), "{report}");
    assert!(report.contains("env=0"), "{report}");
    assert!(report.contains("net=denied"), "{report}");
}

/// A listener that counts connections (a host a plugin must not reach).
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((_c, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, seen)
}

async fn outbound_http_needs_the_manifest_and_a_grant(backend: Backend) {
    let (port, seen) = canary().await;
    let url = format!("http://127.0.0.1:{port}/x");
    let s = start(
        backend,
        |d| {
            // not in the manifest at all
            hostile(d, "sneaky", "forbidden-host");
            // in the manifest, never granted
            hostile(d, "ungranted", "forbidden-host");
        },
        |_| {},
    )
    .await;
    let app = &s.app;
    let manifest = s.plugins.root.join("ungranted/plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    std::fs::write(
        &manifest,
        text.replace("allowed_outbound_hosts = []", &format!("allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]")),
    )
    .expect("manifest");
    let (status, v) = app.post("/api/v1/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for id in ["sneaky", "ungranted"] {
        enable(app, id, json!({"config": {"url": url}})).await;
        let (status, v) = app.post(&format!("/api/v1/plugins/{id}/actions/run"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert!(v.to_string().contains("http:"), "the plugin saw its request refused: {v}");
        assert!(plugin(app, id).await["counters"]["denied_requests"].as_u64().unwrap_or(0) >= 1);
    }
    // granting a host the manifest does not name is refused
    let (status, v) =
        app.patch("/api/v1/plugins/sneaky", json!({"granted_hosts": [format!("http://127.0.0.1:{port}")]})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("granted_hosts[0]"));
    assert_eq!(seen.load(Ordering::SeqCst), 0, "no connection reached the canary");
    // granted: the same request goes through
    enable(app, "ungranted", json!({"granted_hosts": [format!("http://127.0.0.1:{port}")]})).await;
    let _ = app.post("/api/v1/plugins/ungranted/actions/run", json!({})).await;
    assert!(seen.load(Ordering::SeqCst) >= 1, "the granted request reached its host");
}

/// A stand-in for a third-party CRM: POST /check with {username, password}.
async fn crm() -> (u16, Arc<AtomicUsize>) {
    use axum::routing::post;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/check",
        post(move |axum::Json(b): axum::Json<Value>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                match (b["username"].as_str(), b["password"].as_str()) {
                    (Some("alice"), Some("crm secret")) => (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"id": "crm-1", "email": "alice@crm.example", "name": "Alice", "groups": ["Administrator"]})),
                    ),
                    // a CRM (or a plugin) naming alice's identity for someone else
                    (Some("mallory"), Some("crm secret")) => {
                        (axum::http::StatusCode::OK, axum::Json(json!({"id": "crm-1", "email": "m@crm.example"})))
                    }
                    _ => (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "no"}))),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, calls)
}

async fn an_auth_plugin_logs_users_in_and_is_confined(backend: Backend) {
    let (port, calls) = crm().await;
    let origin = format!("http://127.0.0.1:{port}");
    let s = start(
        backend,
        |d| {
            d.install("plugins/http-auth", "http-auth", |t| {
                let start = t.find("allowed_outbound_hosts").unwrap_or(0);
                let end = start + t[start..].find('\n').unwrap_or(0);
                format!("{}allowed_outbound_hosts = [\"{origin}\"]{}", &t[..start], &t[end..])
            });
        },
        // the refusals below are on purpose: no login delays in this test
        |c| c.auth.login_delays_secs = vec![0],
    )
    .await;
    let app = &s.app;
    for name in ["alice", "mallory"] {
        app.create_user(json!({"username": name, "emails": [{"email": format!("{name}@x.example")}], "auth_method": "plugin:http-auth"}))
            .await;
    }
    // switched off: fails closed
    let (status, _) = app.login("alice", "crm secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // on, configured, but the CRM's host not granted: fails closed, the CRM never asked
    enable(app, "http-auth", json!({"config": {"endpoint": format!("{origin}/check")}})).await;
    let (status, _) = app.login("alice", "crm secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    enable(app, "http-auth", json!({"granted_hosts": [origin]})).await;
    let (status, v) = app.login("alice", "crm secret").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let token = v["token"].as_str().unwrap_or_default().to_string();
    let (status, me) = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(!me.to_string().contains("Administrator"), "roles never come from the plugin: {me}");
    let (status, _) = app.login("alice", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // mallory's CRM answer names alice's external id: refused
    let (status, _) = app.login("mallory", "crm secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // a password user is not asked about by the plugin
    let before = calls.load(Ordering::SeqCst);
    app.logged_in_user("local", "some long phrase here").await;
    assert_eq!(calls.load(Ordering::SeqCst), before);
}

async fn the_forms_plugin_records_forms_and_shows_them_with_the_rule_logic(backend: Backend) {
    let s = start(backend, |d| drop(d.install("plugins/forms", "forms", |t| t)), |_| {}).await;
    let app = &s.app;
    enable(app, "forms", json!({})).await;
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Example Ltd"})).await;
    let org = org["id"].as_i64().unwrap_or_default();
    let (status, v) = app
        .post(&format!("/api/v1/organizations/{org}/members"), json!({"kind": "domain", "value": "example.com"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let carol = app
        .create_user(json!({"username": "carol", "emails": [{"email": "carol@elsewhere.example"}], "phones": [{"kind": "work", "number": "+44 20 7946 0018"}]}))
        .await;
    let (status, v) = app
        .post(&format!("/api/v1/organizations/{org}/members"), json!({"kind": "phone", "value": "+44 20 7946 0018"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let send = |body: Value| async move { app.post("/api/v1/plugins/forms/actions/record-form", body).await };
    for (i, (to, form)) in [
        (json!({"email": "dan@example.com"}), "NPS survey"),
        (json!({"email": "eve@sub.example.com"}), "Onboarding"),
        (json!({"user_id": carol}), "Contract renewal"),
        (json!({"email": "stranger@notexample.com"}), "Not a member"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = to;
        body["form"] = json!(form);
        body["sent_at"] = json!(format!("2026-11-0{}T10:00:00Z", i + 1));
        let (status, v) = send(body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, v) = send(json!({"form": ""})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("input"));
    // the list action: newest first, at most `limit`
    let list = |body: Value| async move { app.post("/api/v1/plugins/forms/actions/list-forms", body).await };
    let (status, v) = list(json!({"limit": 2})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let names: Vec<&str> =
        v["forms"].as_array().map(|f| f.iter().filter_map(|f| f["form"].as_str()).collect()).unwrap_or_default();
    assert_eq!(names, ["Not a member", "Contract renewal"], "{v}");
    let (_, v) = list(json!({})).await;
    assert_eq!(v["forms"].as_array().map(Vec::len), Some(4), "{v}");
    let (status, v) = list(json!({"limit": 0})).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, None);
    let (status, tab) = app.get(&format!("/api/v1/organizations/{org}/tabs/forms")).await;
    assert_eq!(status, StatusCode::OK, "{tab}");
    assert_eq!(tab["title"], "Forms");
    assert_eq!(tab["total"], 2, "exact domain (no subdomain) + phone rule: {tab}");
    let text = tab["rows"].to_string();
    assert!(text.contains("Contract renewal") && text.contains("NPS survey"), "{tab}");
    assert!(!text.contains("Onboarding") && !text.contains("Not a member"), "{tab}");
    assert!(text.contains("phone") && text.contains("domain example.com"), "matched by says which rule: {tab}");
    assert!(tab["rows"][0].to_string().contains("Contract renewal"), "newest first: {tab}");
    let (_, page2) = app.get(&format!("/api/v1/organizations/{org}/tabs/forms?page=2&per_page=1")).await;
    assert_eq!(page2["rows"].as_array().map(Vec::len), Some(1), "{page2}");
    assert!(page2["rows"].to_string().contains("NPS survey"), "{page2}");
    let (status, v) = app.get(&format!("/api/v1/organizations/{org}/tabs/forms?per_page=0")).await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("per_page"));
    // a rule added later pulls in what was already recorded: live, nothing re-scanned
    let (_, list) = app.get(&format!("/api/v1/organizations/{org}/members")).await;
    let rule = list["items"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["kind"] == "domain"))
        .map(|r| r["id"].clone())
        .unwrap_or_default();
    let (status, v) =
        app.patch(&format!("/api/v1/organizations/{org}/members/{rule}"), json!({"include_subdomains": true})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, tab) = app.get(&format!("/api/v1/organizations/{org}/tabs/forms")).await;
    assert_eq!(tab["total"], 3, "{tab}");
    // permissions and size caps
    let (_, customer) = app.logged_in_user("cust", "a long secret phrase").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/plugins/forms/actions/record-form",
            Some(&customer),
            Some(json!({"form": "x", "email": "a@b.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.call(Method::GET, &format!("/api/v1/organizations/{org}/tabs/forms"), Some(&customer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = send(json!({"form": "x".repeat(300_000), "email": "a@b.example"})).await;
    assert_error(status, &v, StatusCode::PAYLOAD_TOO_LARGE, None);
    let (status, _) = app.post("/api/v1/plugins/forms/actions/nope", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/api/v1/organizations/{org}/tabs/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn plugins_reload_without_a_restart_and_versions_are_gated(backend: Backend) {
    let s = start(backend, |_| {}, |_| {}).await;
    let app = &s.app;
    let (_, list) = app.get("/api/v1/plugins").await;
    assert_eq!(list["total"], 0, "{list}");
    s.plugins.install("plugins/iban", "iban", |t| t);
    s.plugins.install("plugins/iban", "future", |t| t.replace("api = \"0.1\"", "api = \"0.2\""));
    s.plugins.install("plugins/iban", "tampered", |t| {
        t.replace("[plugin]", "[plugin]\nsha256 = \"00000000000000000000000000000000000000000000000000000000000000ff\"")
    });
    let (status, v) = app.post("/api/v1/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["loaded"], 1, "{v}");
    let errors = v["load_errors"].to_string();
    assert!(errors.contains("built for kith:plugin 0.2; this server supports 0.1"), "{errors}");
    assert!(errors.contains("SHA-256"), "{errors}");
    let p = plugin(app, "iban").await;
    assert!(p["load"]["ms"].as_f64().is_some(), "{p}");
    // garbage instead of a component
    let bad = s.plugins.install("plugins/iban", "broken", |t| t);
    std::fs::write(bad.join("kith_iban.wasm"), b"\0asm\x0d\0\x01\0garbage").expect("write");
    let (_, v) = app.post("/api/v1/plugins/reload", json!({})).await;
    assert!(v["load_errors"].to_string().contains("not a valid WebAssembly component"), "{v}");
    assert_eq!(v["loaded"], 1);
}

async fn many_calls_with_some_traps_stay_isolated(backend: Backend) {
    let s = start(
        backend,
        |d| {
            hostile(d, "ok", "ok");
            hostile(d, "trap", "trap");
        },
        |c| {
            c.plugins.breaker_faults = 1_000_000;
            // isolation and memory are the subject here, not deadlines (tested on their own):
            // 8 callers on 2 cores beside the rest of the suite may wait past 50 ms for a core
            c.plugins.field_timeout_ms = 2_000;
        },
    )
    .await;
    let app = &s.app;
    enable(app, "ok", json!({})).await;
    enable(app, "trap", json!({})).await;
    let plugins = app.state.plugins.clone();
    let call = move |id: &'static str| {
        let plugins = plugins.clone();
        async move {
            plugins
                .call(
                    id,
                    kith::plugins::Hook::Validate {
                        field: kith::plugins::host::bindings::exports::kith::plugin::field_type::FieldInfo {
                            type_id: "hostile".into(),
                            settings_json: "{}".into(),
                        },
                        value: "abc".into(),
                    },
                )
                .await
        }
    };
    let round = |n: usize| {
        let call = call.clone();
        async move {
            let mut tasks = Vec::new();
            for t in 0..8 {
                let call = call.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut ok, mut faults) = (0, 0);
                    for i in 0..n / 8 {
                        let id = if (i * 8 + t) % 100 == 0 { "trap" } else { "ok" };
                        match call(id).await {
                            Ok(kith::plugins::Answer::Validate(Ok(v))) if v == "ABC" => ok += 1,
                            Err(kith::plugins::CallError::Fault(_)) if id == "trap" => faults += 1,
                            other => panic!("{id}: {other:?}"),
                        }
                    }
                    (ok, faults)
                }));
            }
            let mut total = (0, 0);
            for t in tasks {
                let (ok, faults) = t.await.expect("task");
                total.0 += ok;
                total.1 += faults;
            }
            total
        }
    };
    round(1000).await;
    let warm = rss_bytes();
    let (ok, faults) = round(10_000).await;
    let after = rss_bytes();
    assert_eq!(ok + faults, 10_000);
    assert_eq!(faults, 100, "1 % trapped");
    let growth = after as f64 / warm as f64;
    assert!(growth < 1.10, "memory grew {:.1} % over 10,000 calls after warm-up", (growth - 1.0) * 100.0);
}

fn png(side: u32, shade: u8) -> Vec<u8> {
    // a tiny hand-made PNG would do, but the image crate is already here through kith
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(side, side, image::Rgb([shade, 100, 200]));
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// A square PNG whose top `noisy_rows` are noise: noise does not compress, so each of those
/// rows costs about 3 bytes a pixel.
fn noisy_png(side: u32, noisy_rows: u32) -> Vec<u8> {
    let mut rng = kith_tests::Rng::new(7);
    let img = image::RgbImage::from_fn(side, side, |_, y| {
        if y < noisy_rows {
            image::Rgb([rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8])
        } else {
            image::Rgb([60, 100, 200])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// A stand-in for Gravatar: `/avatar/<sha256>` answers a PNG for one hash, 404 otherwise.
async fn gravatar(known_email: &str) -> (u16, Arc<AtomicUsize>) {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(known_email.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let image = png(80, 40);
    let app = axum::Router::new().route(
        "/avatar/{hash}",
        axum::routing::get(move |axum::extract::Path(h): axum::extract::Path<String>| {
            let counter = counter.clone();
            let hash = hash.clone();
            let image = image.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if h == hash {
                    (axum::http::StatusCode::OK, [("content-type", "image/png")], image)
                } else {
                    (axum::http::StatusCode::NOT_FOUND, [("content-type", "text/plain")], b"no".to_vec())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, hits)
}

async fn avatar(app: &TestApp, user: i64, etag: Option<&str>) -> (StatusCode, String, String, Vec<u8>) {
    let mut req = app.client.get(format!("{}/api/v1/users/{user}/avatar", app.base)).bearer_auth(&app.admin_token);
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    let res = req.send().await.expect("avatar");
    let status = res.status();
    let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (ct, et, cc) = (header("content-type"), header("etag"), header("cache-control"));
    if status == StatusCode::OK {
        assert!(cc.contains("max-age"), "cacheable: {cc}");
    }
    (status, ct, et, res.bytes().await.expect("bytes").to_vec())
}

async fn avatars_come_from_uploads_then_gravatar_then_initials_always_through_kith(backend: Backend) {
    let (port, hits) = gravatar("ada@example.com").await;
    let origin = format!("http://127.0.0.1:{port}");
    let clock = ManualClock::new(1_800_000_000_000);
    let s = start_clocked(
        backend,
        Some(clock.clone()),
        |d| {
            d.install("plugins/gravatar", "gravatar", |t| {
                let start = t.find("allowed_outbound_hosts").unwrap_or(0);
                let end = start + t[start..].find(']').unwrap_or(0) + 1;
                format!("{}allowed_outbound_hosts = [\"{origin}\"]{}", &t[..start], &t[end..])
            });
            // asked first, and it traps: avatars fail open to the next provider
            hostile(d, "flaky", "trap");
        },
        |c| {
            c.avatars.max_upload_bytes = 200_000;
            // the avatar route has its own body limit, here above the server's
            c.server.max_body_bytes = 100_000;
            c.avatars.providers = vec!["flaky".into(), "gravatar".into()];
        },
    )
    .await;
    let app = &s.app;
    enable(app, "gravatar", json!({"config": {"base_url": origin}, "granted_hosts": [origin]})).await;
    enable(app, "flaky", json!({})).await;
    let ada = app
        .create_user(
            json!({"username": "ada", "display_name": "Ada Lovelace", "emails": [{"email": "ada@example.com"}]}),
        )
        .await;
    let bob = app
        .create_user(json!({"username": "bob", "display_name": "Bob Stone", "emails": [{"email": "bob@example.com"}]}))
        .await;
    // from the provider, fetched and cached by Kith
    let (status, ct, etag, body) = avatar(app, ada, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/png");
    let img = image::load_from_memory(&body).expect("an image");
    assert_eq!((img.width(), img.height()), (80, 80));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(plugin(app, "flaky").await["counters"]["faults_by_class"]["panic"].as_u64().unwrap_or(0) >= 1);
    let (status, _, _, _) = avatar(app, ada, Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, _, etag2, _) = avatar(app, ada, None).await;
    assert_eq!((status, etag2.as_str()), (StatusCode::OK, etag.as_str()));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "served from Kith's cache");
    // no Gravatar: initials
    let (status, ct, _, body) = avatar(app, bob, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    assert!(String::from_utf8_lossy(&body).contains(">BS<"));
    // ... remembered for a day: the next view asks no provider, after the day they are asked again
    let asked = hits.load(Ordering::SeqCst);
    let (_, ct, _, _) = avatar(app, bob, None).await;
    assert_eq!((ct.as_str(), hits.load(Ordering::SeqCst)), ("image/svg+xml", asked));
    clock.advance(25 * 3600 * 1000);
    let (_, ct, _, _) = avatar(app, bob, None).await;
    assert_eq!((ct.as_str(), hits.load(Ordering::SeqCst)), ("image/svg+xml", asked + 1));
    // (Ada is seen today too, so the 30-day count below starts from here for both)
    assert_eq!(avatar(app, ada, None).await.0, StatusCode::OK);
    // an upload wins
    let put = |bytes: Vec<u8>, ct: &'static str| {
        let req = app.client.put(format!("{}/api/v1/users/{bob}/avatar", app.base)).bearer_auth(&app.admin_token);
        async move { req.header("content-type", ct).body(bytes).send().await.expect("put").status() }
    };
    let photo = noisy_png(600, 60);
    assert!(photo.len() > 100_000 && photo.len() < 200_000, "{}", photo.len());
    assert_eq!(put(photo, "image/png").await, StatusCode::OK);
    let (status, ct, _, body) = avatar(app, bob, None).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
    let stored = body.len();
    assert_eq!(image::load_from_memory(&body).map(|i| i.width()).unwrap_or(0), 256);
    assert_eq!(put(b"<svg onload=alert(1)/>".to_vec(), "image/svg+xml").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(put(vec![0u8; 300_000], "image/png").await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(put(png(10, 10), "application/json").await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // someone else's avatar needs users_edit
    let (_, customer) = app.logged_in_user("cust", "a long secret phrase").await;
    let res = app
        .client
        .put(format!("{}/api/v1/users/{bob}/avatar", app.base))
        .bearer_auth(&customer)
        .header("content-type", "image/png")
        .body(png(10, 10))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // an agent may change customers' avatars, not another agent's (that needs roles_manage)
    let (_, agent) = app.user_with_token("plain-agent", &["Agent"]).await;
    let carol = app
        .create_user(
            json!({"username": "carol", "display_name": "Carol Eve", "emails": [{"email": "carol@example.org"}]}),
        )
        .await;
    for (user, put_status, delete_status) in
        [(app.admin_id, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN), (carol, StatusCode::OK, StatusCode::NO_CONTENT)]
    {
        let req = app.client.put(format!("{}/api/v1/users/{user}/avatar", app.base)).bearer_auth(&agent);
        let res = req.header("content-type", "image/png").body(png(10, 10)).send().await.expect("put");
        assert_eq!(res.status(), put_status, "{user}");
        let req = app.client.delete(format!("{}/api/v1/users/{user}/avatar", app.base)).bearer_auth(&agent);
        assert_eq!(req.send().await.expect("delete").status(), delete_status, "{user}");
    }
    // 30 days unseen: recompressed by the background job
    clock.advance(29 * 24 * 3600 * 1000);
    assert_eq!(kith::avatars::recompress_stale(&app.state.store).await.expect("job"), 0);
    clock.advance(2 * 24 * 3600 * 1000);
    assert_eq!(kith::avatars::recompress_stale(&app.state.store).await.expect("job"), 2);
    let (status, ct, _, body) = avatar(app, bob, None).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/jpeg"));
    assert!(body.len() < stored, "{} < {stored}", body.len());
    assert_eq!(kith::avatars::recompress_stale(&app.state.store).await.expect("job"), 0, "once");
    // removing the upload brings the initials back
    let (status, _) = app.delete(&format!("/api/v1/users/{bob}/avatar")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, ct, _, _) = avatar(app, bob, None).await;
    assert_eq!(ct, "image/svg+xml");
}

/// The code blocks of plugin-sdk/README.md that follow a line containing `marker`.
fn readme_block(readme: &str, marker: &str) -> String {
    let at = readme.find(marker).unwrap_or_else(|| panic!("README has no {marker:?}"));
    let rest = &readme[at..];
    let start = rest.find("```").expect("a code block");
    let body = &rest[start..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_string()
}

/// Follows plugin-sdk/README.md step by step: a new crate outside the workspace with the
/// README's Cargo.toml, src/lib.rs and plugin.toml, built for wasm32-wasip2, checked with
/// `kith plugin check`, loaded, enabled, and used as a custom field type.
async fn the_sdk_readme_walkthrough_gives_a_plugin_that_runs_in_kith(backend: Backend) {
    let ws = kith_tests::plugins::workspace();
    let readme = std::fs::read_to_string(ws.join("plugin-sdk/README.md")).expect("README");
    let krate = std::env::temp_dir().join(format!("kith-readme-plugin-{}", random_suffix()));
    std::fs::create_dir_all(krate.join("src")).expect("crate dir");
    let sdk = ws.join("plugin-sdk").canonicalize().expect("sdk path");
    let cargo_toml = readme_block(&readme, "`Cargo.toml`:")
        .replace("{ path = \"../kith/plugin-sdk\" }", &format!("{{ path = \"{}\" }}", sdk.display()));
    std::fs::write(krate.join("Cargo.toml"), cargo_toml).expect("Cargo.toml");
    std::fs::write(krate.join("src/lib.rs"), readme_block(&readme, "`src/lib.rs`:")).expect("lib.rs");
    // the workspace's lock pins the same dependency versions (no surprise upgrades in CI)
    std::fs::copy(ws.join("Cargo.lock"), krate.join("Cargo.lock")).expect("Cargo.lock");
    let target = ws.join("target/readme-plugin");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&krate)
        .status()
        .expect("cargo build");
    assert!(status.success(), "the README's plugin builds");
    let dist = krate.join("dist/postcode");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("plugin.toml"), readme_block(&readme, "### 3. Describe it")).expect("plugin.toml");
    std::fs::copy(target.join("wasm32-wasip2/release/kith_postcode.wasm"), dist.join("kith_postcode.wasm"))
        .expect("wasm");
    let out =
        std::process::Command::new(kith_tests::kith_bin()).args(["plugin", "check"]).arg(&dist).output().expect("kith");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("provides: field-type") && text.contains("plugin:postcode/postcode"), "{text}");
    // step 5 and 6: install, enable, use
    let s = start(
        backend,
        |d| {
            let to = d.root.join("postcode");
            std::fs::create_dir_all(&to).expect("folder");
            for f in ["plugin.toml", "kith_postcode.wasm"] {
                std::fs::copy(dist.join(f), to.join(f)).expect("copy");
            }
        },
        |_| {},
    )
    .await;
    let app = &s.app;
    enable(app, "postcode", json!({})).await;
    field(app, "user", "postcode", "plugin:postcode/postcode").await;
    let (status, v) = app
        .post(
            "/api/v1/users",
            json!({"username": "pc", "emails": [{"email": "pc@x.example"}], "custom_fields": {"postcode": "sw1a 1aa"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["custom_fields"]["postcode"], "SW1A1AA");
    let (_, v) = app.get(&format!("/api/v1/users/{}", v["id"])).await;
    assert_eq!(v["custom_fields_display"]["postcode"], "SW1A 1AA", "{v}");
    let (status, v) = app
        .post(
            "/api/v1/users",
            json!({"username": "pc2", "emails": [{"email": "pc2@x.example"}], "custom_fields": {"postcode": "hello"}}),
        )
        .await;
    assert_error(status, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("custom_fields.postcode"));
    assert!(v["error"]["fields"]["custom_fields.postcode"].as_str().unwrap_or("").contains("not a UK postcode"), "{v}");
    let _ = std::fs::remove_dir_all(&krate);
}
