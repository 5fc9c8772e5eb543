//! A plugin that misbehaves on purpose, for the host's sandbox tests. Config key `mode` picks the
//! behaviour of every export, read at call time:
//!
//! | mode | what every export does |
//! |---|---|
//! | `ok` (or unset) | behaves (see [`ok`] per export) |
//! | `loop` | spins forever |
//! | `trap` | `panic!("hostile trap")` |
//! | `unreachable` | aborts (a wasm `unreachable`) without a panic message |
//! | `memory` | allocates and touches 1 MiB blocks forever |
//! | `stack` | recurses without end |
//! | `garbage` | answers with huge values (20 MiB strings and images, 200,000 table rows, or with config `render = "html"` 5 MiB of HTML with `<script>`) |
//! | `escalate` | auth accepts anyone as external id `admin` in group `Administrator`; the rest behaves |
//! | `forbidden-host` | GETs config `url` through the SDK client and reports `fetched <status>` or `http: <error>` (validate: Ok/Err; format, avatar: Err(unavailable) on failure; avatar success: a text/plain image of the outcome; render: a row; auth: rejected with it; action: a JSON string) |
//! | `ambient` | tries the file system, environment and network; reports e.g. `fs=denied env=0 net=denied` |
//! | `slow-ok` | busy-waits config `ms` milliseconds, then behaves |

use std::hint::black_box;
use std::time::{Duration, Instant};

use kith_plugin_sdk::config;
use kith_plugin_sdk::prelude::*;

/// The plugin type registered with Kith.
pub struct Hostile;

kith_plugin_sdk::export!(Hostile);

const MIB: usize = 1 << 20;

/// The modes that return at all; the others never come back from [`mode`].
enum Mode {
    Ok,
    Garbage,
    Escalate,
    ForbiddenHost,
    Ambient,
}

fn mode() -> Mode {
    match config::get("mode").as_deref().unwrap_or("ok") {
        "loop" => spin(),
        "trap" => panic!("hostile trap"),
        "unreachable" => std::process::abort(),
        "memory" => hoard(),
        "stack" => {
            recurse(0);
            unreachable!("recursion never ends")
        }
        "garbage" => Mode::Garbage,
        "escalate" => Mode::Escalate,
        "forbidden-host" => Mode::ForbiddenHost,
        "ambient" => Mode::Ambient,
        "slow-ok" => {
            let ms = config::get_parsed::<u64>("ms").ok().flatten().unwrap_or(10);
            let until = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < until {
                black_box(0);
            }
            Mode::Ok
        }
        "ok" => Mode::Ok,
        other => panic!("unknown mode {other:?}"),
    }
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n).wrapping_add(1);
    }
}

fn hoard() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; MIB];
        block.iter_mut().step_by(4096).for_each(|b| *b = 1);
        hoard.push(black_box(block));
    }
}

/// Not a tail call: the frame's array is used after the recursive call returns.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(frame[31])
}

fn huge(bytes: usize) -> String {
    "x".repeat(bytes)
}

/// `fetched <status>` or `http: <error>`, for a GET to config `url`.
fn fetch() -> Result<String, String> {
    let url = config::get("url").unwrap_or_default();
    match kith_plugin_sdk::http::get(url).send() {
        Ok(response) => Ok(format!("fetched {}", response.status)),
        Err(e) => Err(format!("http: {e}")),
    }
}

/// What the sandbox let through, e.g. `fs=denied env=0 net=denied`.
fn ambient() -> String {
    let fs = if std::fs::read_to_string("/etc/passwd").is_ok() { "read" } else { "denied" };
    let env = std::env::vars().count();
    let net = if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() { "connected" } else { "denied" };
    format!("fs={fs} env={env} net={net}")
}

fn report(result: Result<String, String>) -> String {
    result.unwrap_or_else(|e| e)
}

impl FieldType for Hostile {
    /// ok: the value upper-cased.
    fn validate(_field: FieldInfo, value: String) -> Result<String, String> {
        match mode() {
            Mode::Ok | Mode::Escalate => Ok(value.to_uppercase()),
            Mode::Garbage => Ok(huge(20 * MIB)),
            Mode::ForbiddenHost => fetch(),
            Mode::Ambient => Ok(ambient()),
        }
    }

    /// ok: the value unchanged.
    fn format(_field: FieldInfo, value: String) -> Result<String, PluginError> {
        match mode() {
            Mode::Ok | Mode::Escalate => Ok(value),
            Mode::Garbage => Ok(huge(20 * MIB)),
            Mode::ForbiddenHost => fetch().map_err(PluginError::unavailable),
            Mode::Ambient => Ok(ambient()),
        }
    }
}

impl OrgTab for Hostile {
    /// ok: one row, `[tab id, org name]`.
    fn render(req: PageRequest) -> Result<TabContent, PluginError> {
        let table = |rows: Vec<Vec<String>>| {
            let total = rows.len() as u64;
            TabContent::Table(Table { columns: vec!["Tab".into(), "Organization".into()], rows, total })
        };
        match mode() {
            Mode::Ok | Mode::Escalate => Ok(table(vec![vec![req.tab_id, req.org.name]])),
            Mode::Garbage if config::get("render").as_deref() == Some("html") => {
                let script = "<script>alert(document.cookie)</script>";
                Ok(TabContent::Html(script.repeat(5 * MIB / script.len() + 1)))
            }
            Mode::Garbage => Ok(table(vec![vec!["row".to_owned(), "x".repeat(16)]; 200_000])),
            Mode::ForbiddenHost => Ok(table(vec![vec![req.tab_id, report(fetch())]])),
            Mode::Ambient => Ok(table(vec![vec![req.tab_id, ambient()]])),
        }
    }
}

impl AuthProvider for Hostile {
    /// ok: `good` / `pw` is accepted as external id `good-1`; anyone else is rejected.
    fn authenticate(creds: Credentials) -> Result<AuthOutcome, PluginError> {
        let accepted = |external_id: String, groups: Vec<String>| {
            AuthOutcome::Accepted(AuthenticatedUser { external_id, email: None, display_name: None, groups })
        };
        match mode() {
            Mode::Ok if creds.username == "good" && creds.password == "pw" => Ok(accepted("good-1".into(), vec![])),
            Mode::Ok => Ok(AuthOutcome::Rejected("wrong credentials".into())),
            Mode::Escalate => Ok(accepted("admin".into(), vec!["Administrator".into()])),
            Mode::Garbage => Ok(accepted(huge(20 * MIB), vec![huge(64); 100_000])),
            Mode::ForbiddenHost => Ok(AuthOutcome::Rejected(report(fetch()))),
            Mode::Ambient => Ok(AuthOutcome::Rejected(ambient())),
        }
    }
}

impl Actions for Hostile {
    /// ok: action `run` echoes its input.
    fn run(name: String, input: String, _caller: Caller) -> Result<String, PluginError> {
        if name != "run" {
            return Err(PluginError::invalid_input(format!("unknown action {name}")));
        }
        let said = |s: String| serde_json::Value::String(s).to_string();
        match mode() {
            Mode::Ok | Mode::Escalate => Ok(input),
            Mode::Garbage => Ok(said(huge(20 * MIB))),
            Mode::ForbiddenHost => Ok(said(report(fetch()))),
            Mode::Ambient => Ok(said(ambient())),
        }
    }
}

impl AvatarProvider for Hostile {
    /// ok: no avatar.
    fn avatar_for(_email: String, _size_px: u32) -> Result<Avatar, PluginError> {
        match mode() {
            Mode::Ok | Mode::Escalate => Ok(Avatar::None),
            Mode::Garbage => Ok(kith_plugin_sdk::avatar::image("text/html", vec![b'<'; 20 * MIB])),
            Mode::ForbiddenHost => fetch()
                .map(|outcome| kith_plugin_sdk::avatar::image("text/plain", outcome.into_bytes()))
                .map_err(PluginError::unavailable),
            Mode::Ambient => Err(PluginError::internal(ambient())),
        }
    }
}
