//! The certified OpenID provider `oidc-provider` (npm, locked in `tests/oidc/package-lock.json`)
//! run by Node.js on a free 127.0.0.1 port for one test, with the clients and accounts the test
//! names; and a small helper that plays the browser through the code flow.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    log: PathBuf,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Whether Node.js and the provider's npm packages are there; under `CI=true` their absence
/// fails the test, otherwise it is skipped loudly.
pub fn oidc_provider_available() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if node && dir().join("node_modules/oidc-provider").exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Node.js or tests/oidc/node_modules is missing (run `npm ci` in tests/oidc); CI requires them");
    }
    eprintln!(
        "\n!!! SKIPPING an OIDC test: Node.js or tests/oidc/node_modules is missing (npm ci in tests/oidc) !!!\n"
    );
    false
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl OidcProvider {
    /// Starts the provider on `port` with `clients` and `accounts` (see `tests/oidc/provider.js`).
    pub fn start(port: u16, clients: &Value, accounts: &Value) -> OidcProvider {
        Self::run("provider.js", port, &[("CLIENTS", clients.to_string()), ("ACCOUNTS", accounts.to_string())])
    }

    /// Like [`OidcProvider::start`], logging in as `default_account` when a request names
    /// nobody (a real browser clicking Kith's button).
    pub fn start_with_default(port: u16, clients: &Value, accounts: &Value, default_account: &str) -> OidcProvider {
        Self::run(
            "provider.js",
            port,
            &[
                ("CLIENTS", clients.to_string()),
                ("ACCOUNTS", accounts.to_string()),
                ("DEFAULT_ACCOUNT", default_account.to_string()),
            ],
        )
    }

    /// Starts the forging provider (`tests/oidc/forger.js`) for one client.
    pub fn start_forger(port: u16, client_id: &str, redirect_uri: &str) -> OidcProvider {
        Self::run(
            "forger.js",
            port,
            &[("CLIENT_ID", client_id.to_string()), ("REDIRECT_URI", redirect_uri.to_string())],
        )
    }

    fn run(script: &str, port: u16, env: &[(&str, String)]) -> OidcProvider {
        let log = std::env::temp_dir().join(format!("kith-oidc-{}.log", crate::random_suffix()));
        let mut cmd = Command::new("node");
        cmd.arg(dir().join(script)).env("PORT", port.to_string());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let provider = OidcProvider { child, issuer: format!("http://127.0.0.1:{port}"), log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "oidc-provider did not start: {:?}",
                std::fs::read_to_string(&provider.log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        provider
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A browser without a screen: keeps cookies, follows no redirect by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().expect("client")
}

fn location(res: &reqwest::Response, base: &str) -> Option<String> {
    let loc = res.headers().get("location")?.to_str().ok()?;
    Some(if loc.starts_with('/') { format!("{base}{loc}") } else { loc.to_string() })
}

/// Starts a login at Kith (`start_query` e.g. `mode=api`), takes the browser to the provider as
/// `account`, and follows it until the provider sends it back to Kith. Answers the
/// authorization URL Kith built and the callback URL (not yet visited).
pub async fn authorize(
    browser: &reqwest::Client,
    kith: &str,
    provider_id: &str,
    start_query: &str,
    issuer: &str,
    account: &str,
) -> (String, String) {
    let res =
        browser.get(format!("{kith}/api/v1/auth/oauth/{provider_id}/start?{start_query}")).send().await.expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    let auth_url = location(&res, kith).expect("location");
    let mut next = format!("{auth_url}&login_hint={account}");
    for _ in 0..10 {
        if next.starts_with(kith) {
            return (auth_url, next);
        }
        let res = browser.get(&next).send().await.expect("provider");
        let status = res.status();
        match location(&res, issuer) {
            Some(loc) => next = loc,
            None => panic!("the provider stopped at {next}: {status} {:?}", res.text().await),
        }
    }
    panic!("too many redirects")
}
