//! Headless Chromium driven through ChromeDriver's W3C WebDriver protocol (plain JSON over
//! HTTP, no client library): enough to open a page, type, click and read what it shows.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Chrome {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    profile: std::path::PathBuf,
}

/// Whether Chromium and ChromeDriver are installed; under `CI=true` their absence fails the
/// test, otherwise it is skipped loudly.
pub fn chrome_available() -> bool {
    if std::path::Path::new("/usr/bin/chromium").exists() && std::path::Path::new("/usr/bin/chromedriver").exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "chromium / chromium-driver are not installed (apt-get install -y chromium chromium-driver); CI requires them"
        );
    }
    eprintln!("\n!!! SKIPPING a browser test: apt-get install -y chromium chromium-driver !!!\n");
    false
}

/// WebDriver's codes for the keys a test presses besides letters.
pub mod key {
    pub const TAB: &str = "\u{e004}";
    pub const ENTER: &str = "\u{e007}";
    pub const ESCAPE: &str = "\u{e00c}";
    pub const DOWN: &str = "\u{e015}";
    pub const RIGHT: &str = "\u{e014}";
    pub const HOME: &str = "\u{e011}";
    pub const SHIFT: &str = "\u{e008}";
    pub const CONTROL: &str = "\u{e009}";
}

/// Where axe-core is (npm, `tests/browser`); under `CI=true` its absence fails.
pub fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{} is missing: run `npm ci` in tests/browser (scripts/test-all does)", path.display())
        }
        Err(_) => {
            eprintln!("\n!!! SKIPPING the axe checks: run `npm ci` in tests/browser !!!\n");
            None
        }
    }
}

impl Chrome {
    pub async fn start() -> Chrome {
        Self::start_with(true).await
    }

    /// A browser with JavaScript switched off (the pages must work without it).
    pub async fn start_without_javascript() -> Chrome {
        Self::start_with(false).await
    }

    async fn start_with(javascript: bool) -> Chrome {
        let port = crate::free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("kith-chrome-{}", crate::random_suffix()));
        let prefs =
            if javascript { json!({}) } else { json!({"profile.managed_default_content_settings.javascript": 2}) };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1440,1000", format!("--user-data-dir={}", profile.display())],
            "prefs": prefs
        }}}});
        let v: Value = client
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        let session = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        Chrome { driver, base, session, client, profile }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.client.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.expect("webdriver").json().await.expect("json");
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The element a CSS selector names (waiting up to 10 s for it to appear).
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self
                .client
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("webdriver")
                .json()
                .await
                .expect("json");
            if let Some(id) = v["value"].as_object().and_then(|o| o.values().next()).and_then(Value::as_str) {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "no element {css}: {}", self.source().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the page shows `text` (up to 10 s); answers the page.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = self.source().await;
            if page.contains(text) {
                return page;
            }
            assert!(Instant::now() < deadline, "the page never showed {text:?}: {} {page}", self.current_url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and answers what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Runs `script`, which calls its last argument with the answer.
    pub async fn execute_async(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await
    }

    /// Presses `keys` in turn (each a character or a [`key`] code) while holding `modifiers`,
    /// as the keyboard does: to whatever has focus.
    pub async fn press(&self, keys: &[&str], modifiers: &[&str]) {
        let mut actions: Vec<Value> = modifiers.iter().map(|m| json!({"type": "keyDown", "value": m})).collect();
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        actions.extend(modifiers.iter().map(|m| json!({"type": "keyUp", "value": m})));
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(reqwest::Method::POST, "/actions", Some(body)).await;
    }

    /// Types `text` into whatever has focus.
    pub async fn type_text(&self, text: &str) {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        self.press(&chars.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    }

    /// A short description of the focused element: `tag#id.class text`.
    pub async fn focused(&self) -> String {
        let script = "var a = document.activeElement; return a.tagName + '#' + a.id + '.' + a.className + ' ' + (a.textContent || '').trim().slice(0, 60);";
        self.execute(script, json!([])).await.as_str().unwrap_or_default().to_string()
    }

    /// Waits (up to 10 s) until `script` returns true.
    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.execute(script, json!([])).await != Value::Bool(true) {
            assert!(Instant::now() < deadline, "never: {what} ({})", self.focused().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn set_width(&self, width: u32) {
        self.cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": 1000}))).await;
    }

    pub async fn back(&self) {
        self.cmd(reqwest::Method::POST, "/back", Some(json!({}))).await;
    }

    /// The page as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).expect("png")
    }

    /// axe-core's violations of WCAG 2.0/2.1/2.2 A and AA on the page as it is now, one line each.
    pub async fn axe(&self, axe_source: &str) -> Vec<String> {
        self.execute(axe_source, json!([])).await;
        let script = "var done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']}})
              .then(function (r) { done(r.violations.map(function (v) {
                  return v.id + ': ' + v.nodes.slice(0, 3).map(function (n) { return n.target.join(' ') + ' ' + (n.failureSummary || ''); }).join(' | ');
              })); });";
        let v = self.execute_async(script).await;
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    pub async fn quit(mut self) {
        let _ = self.client.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // a test that failed before `quit` leaves the browser behind: it names its profile
        let _ = Command::new("pkill").arg("-f").arg(self.profile.as_os_str()).status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
