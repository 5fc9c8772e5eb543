//! Durability: `kill -9` the server while 200 writes are in flight; after a restart every write
//! that was answered 2xx is there (and SQLite's file passes its integrity check).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kith_tests::{Backend, Server, TestDb, backend_tests, free_port, run_kith, user_body, write_config};
use reqwest::StatusCode;
use sqlx::Connection;

backend_tests!(acknowledged_writes_survive_sigkill);

const WRITES: usize = 200;

async fn acknowledged_writes_survive_sigkill(b: Backend) {
    let rounds = if b == Backend::Sqlite { 3 } else { 1 };
    for round in 0..rounds {
        crash_round(b, round).await;
    }
}

async fn crash_round(b: Backend, round: usize) {
    let db = TestDb::create(b).await;
    let port = free_port();
    let config = write_config(&db, port, false);
    let out = run_kith(&config, &["admin", "create", "--username", "admin", "--email", "admin@example.com"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run_kith(&config, &["token", "create", "--username", "admin"], None, &[]);
    let token = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string();

    let mut server = Server::start(&config, port, db.dir.join("serve.log")).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..WRITES {
        let (client, base, token, acked) = (client.clone(), server.base.clone(), token.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let name = format!("crash{round}x{i}");
            let res =
                client.post(format!("{base}/api/v1/users")).bearer_auth(&token).json(&user_body(&name)).send().await;
            if let Ok(r) = res
                && r.status() == StatusCode::CREATED
                && let Ok(v) = r.json::<serde_json::Value>().await
                && let Some(id) = v["id"].as_i64()
                && let Ok(mut a) = acked.lock()
            {
                a.push((id, name));
            }
        }));
    }
    // Kill once some writes are acknowledged and others are still in flight.
    for _ in 0..400 {
        if acked.lock().map(|a| a.len()).unwrap_or(0) >= WRITES / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(!acked.is_empty(), "no write was acknowledged before the kill");
    assert!(acked.len() < WRITES, "the kill came after every write finished; nothing was in flight");

    let server = Server::start(&config, port, db.dir.join("serve2.log")).await;
    for (id, name) in &acked {
        let r = client.get(format!("{}/api/v1/users/{id}", server.base)).bearer_auth(&token).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "acknowledged user {name} (id {id}) was lost");
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(v["username"], name.as_str());
    }
    drop(server);
    if b == Backend::Sqlite {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.expect("open");
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.expect("check");
        assert_eq!(check, "ok");
        let fk: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&mut conn).await.expect("fk");
        assert!(fk.is_empty());
    }
    eprintln!(
        "{b:?} round {round}: {} of {WRITES} writes acknowledged before SIGKILL, all present after restart",
        acked.len()
    );
}
