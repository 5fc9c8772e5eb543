//! Contention under load (RELIABILITY D3): `cargo bench -p kith-tests --bench contention`.
//!
//! 32 clients for 20 s (per backend: SQLite, and PostgreSQL when it answers) against the real
//! router over HTTP: adding and removing email rules on one organization, editing one shared
//! user, creating users and tickets the rules match, merging pairs of users, and reading the
//! organization's tabs. Prints p50/p99 per operation and fails (exit 1) on any 5xx, any
//! "database is locked", or a write p99 of 1 s or more. `KITH_CONTENTION_SECS` shortens it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kith_tests::{Backend, TestApp, postgres_available};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const CLIENTS: usize = 32;

#[derive(Default)]
struct Tally {
    times: BTreeMap<&'static str, Vec<Duration>>,
    statuses: BTreeMap<u16, u64>,
    locked: u64,
}

async fn run(b: Backend, secs: u64) -> bool {
    let app = Arc::new(TestApp::start(b).await);
    let (_, org) = app.post("/api/v1/organizations", json!({"name": "Contended"})).await;
    let org = org["id"].as_i64().expect("org id");
    let shared = app.create_user(json!({"username": "shared", "emails": [{"email": "shared@busy.example"}]})).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let seq = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (app, tally, seq) = (app.clone(), tally.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut rules: Vec<i64> = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let (op, method, path, body): (&'static str, Method, String, Option<Value>) = match (c + i as usize) % 8 {
                    0 => match rules.pop() {
                        Some(r) if i.is_multiple_of(2) => ("remove rule", Method::DELETE, format!("/api/v1/organizations/{org}/members/{r}"), None),
                        _ => (
                            "add rule",
                            Method::POST,
                            format!("/api/v1/organizations/{org}/members"),
                            Some(json!({"kind": "email", "value": format!("r{n}@busy.example")})),
                        ),
                    },
                    1 => ("edit shared user", Method::PATCH, format!("/api/v1/users/{shared}"), Some(json!({"summary": format!("edit {n}")}))),
                    2 => (
                        "create user",
                        Method::POST,
                        "/api/v1/users".into(),
                        Some(json!({"username": format!("u{n}"), "emails": [{"email": format!("r{n}@busy.example")}]})),
                    ),
                    3 => (
                        "create ticket",
                        Method::POST,
                        "/api/v1/tickets".into(),
                        Some(json!({"subject": "load", "emails": [format!("r{}@busy.example", n / 2)]})),
                    ),
                    4 => {
                        // a pair made for the merge, then merged
                        let a = app.create_user(json!({"username": format!("ma{n}"), "emails": [{"email": format!("ma{n}@busy.example")}]})).await;
                        let b = app.create_user(json!({"username": format!("mb{n}"), "emails": [{"email": format!("mb{n}@busy.example")}]})).await;
                        ("merge", Method::POST, format!("/api/v1/users/{a}/merge"), Some(json!({"source_id": b})))
                    }
                    5 => ("read tickets tab", Method::GET, format!("/api/v1/organizations/{org}/tickets?limit=25"), None),
                    6 => ("read users tab", Method::GET, format!("/api/v1/organizations/{org}/users?limit=25"), None),
                    _ => ("search users", Method::GET, "/api/v1/users?q=busy&limit=25".into(), None),
                };
                let started = Instant::now();
                let (status, v) = app.call(method, &path, Some(&app.admin_token), body).await;
                let took = started.elapsed();
                if op == "add rule" && status == StatusCode::CREATED {
                    rules.push(v["id"].as_i64().unwrap_or(0));
                }
                let mut t = tally.lock().await;
                t.times.entry(op).or_default().push(took);
                *t.statuses.entry(status.as_u16()).or_default() += 1;
                if v.to_string().contains("database is locked") {
                    t.locked += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let t = tally.lock().await;
    println!("\n{b:?}: {CLIENTS} clients, {secs} s — statuses {:?}", t.statuses);
    println!("| operation | count | p50 ms | p99 ms |\n|---|---:|---:|---:|");
    let mut worst_write = Duration::ZERO;
    for (op, times) in &t.times {
        let mut v = times.clone();
        v.sort();
        let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        let (p50, p99) = (at(0.5), at(0.99));
        println!("| {op} | {} | {:.1} | {:.1} |", v.len(), p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
        if !op.starts_with("read") && !op.starts_with("search") {
            worst_write = worst_write.max(p99);
        }
    }
    let server_errors: u64 = t.statuses.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum();
    let ok = server_errors == 0 && t.locked == 0 && worst_write < Duration::from_secs(1);
    println!(
        "{b:?}: 5xx {server_errors}, \"database is locked\" {}, worst write p99 {:.0} ms — {}",
        t.locked,
        worst_write.as_secs_f64() * 1e3,
        if ok { "PASS" } else { "FAIL" }
    );
    ok
}

fn main() {
    let secs = std::env::var("KITH_CONTENTION_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut ok = rt.block_on(run(Backend::Sqlite, secs));
    if rt.block_on(postgres_available()) {
        ok &= rt.block_on(run(Backend::Postgres, secs));
    } else {
        println!("PostgreSQL is not reachable: its half is skipped");
    }
    if !ok {
        std::process::exit(1);
    }
}
