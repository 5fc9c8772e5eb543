//! The `kith` binary: commands, configuration errors, first-start bootstrap — on both backends.

use std::os::unix::fs::PermissionsExt;

use kith_tests::{Backend, Server, TestDb, backend_tests, free_port, run_kith, write_config};
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_tests!(admin_and_token_commands, configuration_errors_name_the_key, first_start_creates_an_administrator);

async fn admin_and_token_commands(b: Backend) {
    let db = TestDb::create(b).await;
    let config = write_config(&db, free_port(), false);
    let out = run_kith(&config, &["migrate"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));

    // with --password-stdin
    let out = run_kith(
        &config,
        &["admin", "create", "--username", "root", "--email", "root@example.com", "--password-stdin"],
        Some("a chosen admin secret\n"),
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("a chosen admin secret"));
    // without: a generated password, printed once
    let out = run_kith(&config, &["admin", "create", "--username", "boss", "--email", "boss@example.com"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let generated =
        stdout.lines().find_map(|l| l.strip_prefix("password (shown once): ")).expect("generated password").to_string();
    assert!(generated.len() >= 20);
    // a duplicate is refused with the reason
    let out = run_kith(&config, &["admin", "create", "--username", "ROOT", "--email", "x@example.com"], None, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("username"));

    let out = run_kith(&config, &["token", "create", "--username", "root"], None, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).lines().last().expect("token line").trim().to_string();
    assert!(token.starts_with("kith_t_"), "{token}");
    let out = run_kith(&config, &["token", "create", "--username", "nobody"], None, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));

    // the token and both passwords work against the server
    let port: u16 = std::fs::read_to_string(&config)
        .expect("config")
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    let server = Server::start(&config, port, db.dir.join("serve.log")).await;
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["username"], "root");
    assert!(me["roles"].as_array().expect("roles").contains(&json!("Administrator")));
    for (user, pw) in [("root", "a chosen admin secret"), ("boss", generated.as_str())] {
        let r = client
            .post(format!("{}/api/v1/auth/login", server.base))
            .json(&json!({"username": user, "password": pw}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK, "{user}");
    }

    let help = std::process::Command::new(kith_tests::kith_bin()).arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in ["serve", "migrate", "admin", "token", "--config"] {
        assert!(help.contains(cmd), "--help lists {cmd}: {help}");
    }
}

async fn configuration_errors_name_the_key(b: Backend) {
    let db = TestDb::create(b).await;
    let config = write_config(&db, free_port(), false);
    let out = run_kith(&config, &["migrate"], None, &[("KITH_DATABASE__MAX_CONNECTIONS", "lots")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database.max_connections"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_kith(&config, &["migrate"], None, &[("KITH_SERVER__BIND", "not an address")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
    let out = run_kith(&config, &["migrate"], None, &[("KITH_SERVR__BIND", "x")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KITH_SERVR__BIND"), "unknown variables are warned about");
    let out = run_kith(&db.dir.join("missing.toml"), &["migrate"], None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

async fn first_start_creates_an_administrator(b: Backend) {
    let db = TestDb::create(b).await;
    let port = free_port();
    let config = write_config(&db, port, true);
    let server = Server::start(&config, port, db.dir.join("serve.log")).await;
    let file = db.dir.join("initial-admin-password");
    let password = std::fs::read_to_string(&file).expect("password file").trim().to_string();
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner reads the password file");
    let log = server.log_text();
    assert!(log.contains(&format!("listening on http://127.0.0.1:{port}")), "{log}");
    assert!(log.contains("initial-admin-password"), "{log}");
    assert!(!log.contains(&password), "the password is never logged");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    let token = v["token"].as_str().expect("token");
    assert!(!server.log_text().contains(token), "session tokens are never logged");
    drop(server);
    // a second start does not create another administrator
    std::fs::remove_file(&file).expect("rm");
    let mut server = Server::start(&config, port, db.dir.join("serve2.log")).await;
    assert!(!file.exists());
    // SIGTERM: graceful shutdown, exit status 0
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let s = server.child.wait();
        (s, server)
    })
    .await
    .expect("join");
    assert!(status.0.expect("wait").success());
    assert!(status.1.log_text().contains("stopped"), "{}", status.1.log_text());
}
