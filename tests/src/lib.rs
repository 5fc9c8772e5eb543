//! Test harness: starts the real Kith app on a fresh database — a SQLite file in its own
//! directory, or a PostgreSQL database created for the test and dropped after it — serves it
//! on a loopback port, and talks to it over HTTP.
//!
//! PostgreSQL is expected at `KITH_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When it cannot be reached, tests fail under `CI=true` and are skipped loudly otherwise.

pub mod chrome;
pub mod oidc_provider;
pub mod plugins;
pub mod samba;
pub mod slapd;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kith::clock::{Clock, ManualClock, SystemClock};
use kith::config::Config;
use kith::http::AppState;
use kith::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend for each named async fn taking a [`Backend`]:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::postgres_available().await {
                        super::$name($crate::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

pub fn pg_admin_url() -> String {
    std::env::var("KITH_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL answers. Under `CI=true` an unreachable server fails the test.
pub async fn postgres_available() -> bool {
    match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&pg_admin_url())).await {
        Ok(Ok(c)) => {
            let _ = c.close().await;
            true
        }
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            };
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is not reachable at {} ({why}); CI requires it", pg_admin_url());
            }
            eprintln!("\n!!! SKIPPING a PostgreSQL test: {} is not reachable ({why}) !!!\n", pg_admin_url());
            false
        }
    }
}

/// A random lowercase hex name part.
pub fn random_suffix() -> String {
    kith::auth::random_string(9).to_lowercase().replace(['-', '_'], "x")
}

/// A fresh database for one test, dropped (or deleted) when the guard goes.
pub struct TestDb {
    pub url: String,
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        let dir = std::env::temp_dir().join(format!("kith-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb { url: format!("sqlite://{}/kith.db", dir.display()), dir, pg_name: None },
            Backend::Postgres => {
                let name = format!("kith_test_{}", random_suffix());
                let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.expect("PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                let _ = admin.close().await;
                let base = pg_admin_url();
                let url = match base.rsplit_once('/') {
                    Some((head, _)) => format!("{head}/{name}"),
                    None => format!("{base}/{name}"),
                };
                TestDb { url, dir, pg_name: Some(name) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async context: use a small runtime on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut c)
                                .await;
                        let _ = c.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// The real app on a fresh database, served on a loopback port.
pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// An administrator's API token.
    pub admin_token: String,
    pub admin_id: i64,
    pub clock: Option<Arc<ManualClock>>,
    server: tokio::task::JoinHandle<()>,
    _db: TestDb,
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, None, |_| {}).await
    }

    /// Starts with a virtual clock the test moves by hand.
    pub async fn start_with_clock(backend: Backend) -> TestApp {
        Self::start_with(backend, Some(ManualClock::new(1_800_000_000_000)), |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        clock: Option<Arc<ManualClock>>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        if let Ok(level) = std::env::var("KITH_TEST_LOG") {
            // KITH_TEST_LOG=info shows the server's log in a failing test's output
            let log = kith::config::LogConfig { level, ..Default::default() };
            kith::telemetry::init(&log);
        }
        let db = TestDb::create(backend).await;
        let mut config = Config::default();
        config.database.url = db.url.clone();
        config.database.max_connections = 4;
        config.server.data_dir = db.dir.clone();
        // the port is known before the config, so public_url (redirect URIs) is the real one
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        config.server.public_url = format!("http://{}", listener.local_addr().expect("addr"));
        tweak(&mut config);
        let dyn_clock: Arc<dyn Clock> = match &clock {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        let store = Store::connect(&db.url, config.database.max_connections, Duration::from_secs(5), dyn_clock)
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let state = AppState::new(store, config);
        state.plugins.reload().await;
        let (admin, _) = kith::services::users::create_admin(
            &state,
            "admin",
            "admin@example.com",
            Some("correct horse battery".into()),
        )
        .await
        .expect("admin");
        let admin_token = kith::server::create_token(&state.store, "admin", "tests", None).await.expect("token");
        let addr = listener.local_addr().expect("addr");
        let app = kith::app(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
        });
        TestApp {
            backend,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            admin_token,
            admin_id: admin.id.0,
            clock,
            server,
            _db: db,
        }
    }

    /// Sends a request with an optional bearer token and JSON body; answers status and JSON
    /// (or the text as a JSON string when the body is not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&self.admin_token), None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&self.admin_token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(&self.admin_token), Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(&self.admin_token), None).await
    }

    /// Creates a user (as the admin) and answers its id; panics unless 201.
    pub async fn create_user(&self, body: Value) -> i64 {
        let (status, v) = self.post("/api/v1/users", body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_i64().expect("id")
    }

    /// A user holding `roles`, with an API token.
    pub async fn user_with_token(&self, username: &str, roles: &[&str]) -> (i64, String) {
        let id = self
            .create_user(json!({"username": username, "emails": [{"email": format!("{username}@staff.example"), "verified": true}], "roles": roles}))
            .await;
        let token = kith::server::create_token(&self.state.store, username, "tests", None).await.expect("token");
        (id, token)
    }

    /// `POST /api/v1/auth/login` with a username and password, no token.
    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": username, "password": password})))
            .await
    }

    /// A password user logged in through `POST /auth/login`; answers id and session token.
    pub async fn logged_in_user(&self, username: &str, password: &str) -> (i64, String) {
        let id = self
            .create_user(json!({"username": username, "emails": [{"email": format!("{username}@customer.example")}], "password": password}))
            .await;
        let (status, v) = self.login(username, password).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        (id, v["token"].as_str().expect("token").to_string())
    }

    pub async fn count_users(&self) -> i64 {
        self.state.store.count_users().await.expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Asserts a SPEC error body: status, `error.code`, and (when given) that `fields` names `field`.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, field: Option<&str>) {
    assert_eq!(status, want, "{body}");
    assert!(body["error"]["code"].is_string(), "no error.code in {body}");
    assert!(body["error"]["message"].is_string(), "no error.message in {body}");
    if let Some(f) = field {
        assert!(body["error"]["fields"][f].is_string(), "error.fields should name `{f}`: {body}");
    }
}

/// The `kith` binary of this build (built on first use).
///
/// The test command passes the binary its workspace build made in `KITH_TEST_BIN`; otherwise
/// it is built the way `cargo test --workspace` builds (dev-dependencies included), since any
/// other selection resolves dependency features differently and recompiles much of the
/// dependency graph (minutes).
pub fn kith_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // scripts/test-all has built it already (with `--all-targets`) and says where
            if let Some(path) = std::env::var_os("KITH_TEST_BIN").map(PathBuf::from).filter(|p| p.is_file()) {
                return path;
            }
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--workspace", "--tests", "--bin", "kith"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building the kith binary failed");
            let exe = std::env::current_exe().expect("test exe");
            // target/<profile>/deps/<test> → target/<profile>/kith
            let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            dir.join("kith")
        })
        .clone()
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// A config file for the binary: the test database, a free port, no bootstrap admin unless asked.
pub fn write_config(db: &TestDb, port: u16, bootstrap_admin: bool) -> PathBuf {
    let path = db.dir.join("config.toml");
    let admin = if bootstrap_admin { "admin" } else { "" };
    let text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n[database]\nurl = \"{}\"\n[bootstrap]\nadmin_username = \"{admin}\"\n",
        db.dir.display(),
        db.url
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `kith --config CONFIG ARGS...` to completion with optional standard input.
pub fn run_kith(
    config: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new(kith_bin());
    cmd.arg("--config").arg(config).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kith");
    if let Some(mut input) = child.stdin.take()
        && let Some(s) = stdin
    {
        input.write_all(s.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("kith output")
}

/// `kith serve` as a child process; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    pub async fn start(config: &std::path::Path, port: u16, log: PathBuf) -> Server {
        let out = std::fs::File::create(&log).expect("log file");
        #[allow(clippy::zombie_processes)] // waited for in `kill`, which Drop calls
        let child = std::process::Command::new(kith_bin())
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("spawn kith serve");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                && r.status() == StatusCode::OK
            {
                return Server { child, base, log };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kith serve did not become ready: {}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A JSON body for a new user `name`.
pub fn user_body(name: &str) -> Value {
    json!({"username": name, "emails": [{"email": format!("{name}@example.com")}]})
}

impl TestApp {
    /// Every item of a paginated list, walking `next_cursor` with pages of `limit`; checks that
    /// `total` equals the number of items walked.
    pub async fn walk(&self, path: &str, limit: usize) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut url = format!("{path}{sep}limit={limit}");
        loop {
            let (status, v) = self.get(&url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {v}");
            out.extend(v["items"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => url = format!("{path}{sep}limit={limit}&cursor={c}"),
                None => {
                    assert_eq!(v["total"].as_u64(), Some(out.len() as u64), "{path}: total equals the items walked");
                    return out;
                }
            }
        }
    }
}

/// A small deterministic random source for generated tests (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0..n
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// An e-mail as a person reads it: quoted-printable soft line breaks joined and `=XX` escapes
/// decoded (lettre wraps lines of 76 characters or more, such as a link, that way).
pub fn decode_quoted_printable(mail: &str) -> String {
    let b = mail.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The e-mails in a `mail.transport = "file"` pickup folder, oldest first, each decoded to
/// its headers and body as text.
pub fn outbox(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| (e.metadata().and_then(|m| m.modified()).ok(), e.path()))
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| decode_quoted_printable(&std::fs::read_to_string(p).expect("eml"))).collect()
}

/// The token of the password reset link in a (decoded) e-mail.
pub fn reset_link_token(mail: &str) -> String {
    let at = mail.find("/login/reset?token=").expect("a reset link") + "/login/reset?token=".len();
    mail[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
