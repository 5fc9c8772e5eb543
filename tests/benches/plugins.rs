//! Plugin host overhead: `cargo bench -p kith-tests --bench plugins` (release build).
//!
//! Measures, on a SQLite store:
//! - a field validation through Kith's full host path (settings, semaphore, fresh store with
//!   limits armed, instantiate from the pre-instantiated component, call, drop) against the
//!   same logic as a native Rust function;
//! - loading a plugin cold (compile) and from the precompiled cache;
//! - an organization tab rendered by the Forms plugin (100 forms recorded) against the same
//!   organization's built-in users tab.
//!
//! Prints p50/p99 per operation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kith::clock::SystemClock;
use kith::config::Config;
use kith::http::AppState;
use kith::plugins::host::bindings::exports::kith::plugin::{actions, field_type::FieldInfo, org_tab::PageRequest};
use kith::plugins::{Answer, Hook, org_ref};
use kith::store::{PluginSettingsRow, Store};
use kith_tests::plugins::PluginDir;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

fn row(name: &str, data: &str, v: Vec<Duration>) -> (f64, f64) {
    let (p50, p99) = percentiles(v);
    println!("| {name} | {data} | {p50:.1} | {p99:.1} |");
    (p50, p99)
}

async fn enable(store: &Store, id: &str) {
    let row = PluginSettingsRow {
        plugin_id: id.into(),
        enabled: true,
        config: "{}".into(),
        granted_hosts: "[]".into(),
        disabled_reason: None,
    };
    store.put_plugin_settings(&row).await.expect("enable");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tmp = std::env::temp_dir().join(format!("kith-bench-plugins-{}", std::process::id()));
    let dir = PluginDir::new(&tmp);
    dir.install("plugins/iban", "iban", |t| t);
    dir.install("plugins/forms", "forms", |t| t);
    dir.install("tests/plugins/hostile", "ok", |t| t);
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/kith.db", tmp.display());
    config.server.data_dir = tmp.clone();
    config.plugins.dirs = vec![dir.root.clone()];
    let store =
        Store::connect(&config.database.url, 4, Duration::from_secs(5), Arc::new(SystemClock)).await.expect("db");
    store.migrate().await.expect("migrate");
    let state = AppState::new(store.clone(), config.clone());
    state.plugins.reload().await;
    for id in ["iban", "forms", "ok"] {
        enable(&store, id).await;
    }
    println!("| operation | data | p50 µs | p99 µs |");
    println!("|---|---|---:|---:|");

    // field validation: plugin vs native
    let validate = |id: &'static str, type_id: &'static str, value: &'static str| {
        let plugins = state.plugins.clone();
        async move {
            let field = FieldInfo { type_id: type_id.into(), settings_json: "{}".into() };
            match plugins.call(id, Hook::Validate { field, value: value.into() }).await {
                Ok(Answer::Validate(Ok(_))) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    for _ in 0..500 {
        validate("ok", "hostile", "abc").await;
    }
    let mut times = Vec::new();
    for _ in 0..5000 {
        let t = Instant::now();
        validate("ok", "hostile", "abc").await;
        times.push(t.elapsed());
    }
    let (plugin_p50, _) = row("field validation through the plugin host (upper-case)", "3-byte value", times);
    let mut times = Vec::new();
    for _ in 0..5000 {
        let t = Instant::now();
        std::hint::black_box(std::hint::black_box("abc").to_uppercase());
        times.push(t.elapsed());
    }
    let (native_p50, _) = row("same logic, native Rust", "3-byte value", times);
    println!("| ratio plugin / native (p50) | | {:.0}x | |", plugin_p50 / native_p50.max(0.001));
    let mut times = Vec::new();
    for _ in 0..5000 {
        let t = Instant::now();
        validate("iban", "iban", "GB82 WEST 1234 5698 7654 32").await;
        times.push(t.elapsed());
    }
    row("IBAN validation through the plugin host", "27-byte IBAN", times);

    // loading
    let runtime = kith::plugins::host::runtime().expect("runtime");
    let folder = dir.root.join("forms");
    let mut cold = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        kith::plugins::load_folder(&runtime, &config.plugins, None, &folder).expect("load");
        cold.push(t.elapsed());
    }
    row("load a plugin cold (compile)", "forms", cold);
    let cache = tmp.join("cache");
    kith::plugins::load_folder(&runtime, &config.plugins, Some(&cache), &folder).expect("load");
    let mut warm = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let p = kith::plugins::load_folder(&runtime, &config.plugins, Some(&cache), &folder).expect("load");
        warm.push(t.elapsed());
        assert!(p.load.from_cache);
    }
    row("load a plugin from the precompiled cache", "forms", warm);

    // an organization tab by the Forms plugin
    let org = store
        .create_org(
            &kith::domain::organization::OrganizationFields { name: "Bench Org".into(), ..Default::default() },
            &kith::domain::change::Actor::system("bench"),
        )
        .await
        .expect("org");
    let spec = kith::domain::organization::RuleSpec {
        kind: kith::domain::organization::RuleKind::Domain,
        value: "example.com".into(),
        include_subdomains: false,
        view_org_tickets: false,
    };
    store.create_rule(org.id, &spec, &kith::domain::change::Actor::system("bench")).await.expect("rule");
    for i in 0..100 {
        let input = serde_json::json!({"form": format!("Form {i}"), "email": format!("p{i}@{}", if i % 2 == 0 { "example.com" } else { "other.example" })});
        let hook = Hook::Action {
            name: "record-form".into(),
            input: input.to_string(),
            caller: actions::Caller { user_id: 1, username: "bench".into() },
        };
        match state.plugins.call("forms", hook).await {
            Ok(Answer::Action(Ok(_))) => {}
            other => panic!("{other:?}"),
        }
    }
    let render = || {
        let plugins = state.plugins.clone();
        let req = PageRequest { tab_id: "forms".into(), org: org_ref(org.id, "Bench Org"), page: 1, per_page: 25 };
        async move {
            match plugins.call("forms", Hook::Render { req }).await {
                Ok(Answer::Render(Ok(_))) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    for _ in 0..50 {
        render().await;
    }
    let mut times = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        render().await;
        times.push(t.elapsed());
    }
    row("Forms organization tab (plugin render)", "100 forms, 50 members' shown 25", times);
    let mut times = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        store.org_tab(org.id, kith::domain::organization::Tab::Users, 25, None).await.expect("tab");
        times.push(t.elapsed());
    }
    row("built-in users tab, same organization (for scale)", "0 members", times);
    let _ = std::fs::remove_dir_all(&tmp);
}
