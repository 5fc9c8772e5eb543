//! WebAssembly plugins (SPEC 7): found in the configured folders, compiled once (cached by
//! content hash), called through one bounded path per extension point.
//!
//! - [`manifest`]: `plugin.toml`, checked strictly.
//! - [`host`]: the wasmtime engine, linker and per-call store with its limits.
//! - [`imports`]: what plugins may call (log, config, kv, membership).
//! - [`outbound`]: outbound HTTP behind the manifest ∩ grant allow-list and the SSRF check.
//!
//! A fault (trap, timeout, memory bomb, malformed answer) fails that call alone; it is logged
//! and counted, and a plugin that keeps faulting is switched off by a circuit breaker until an
//! admin switches it on again. What an admin decided (enabled, settings, granted hosts) lives in
//! the database so every Kith instance sees it; each instance reads it at most every
//! [`SETTINGS_TTL`].

pub mod host;
pub mod imports;
pub mod limits;
pub mod manifest;
pub mod outbound;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::domain::organization::OrganizationId;
use crate::store::{PluginSettingsRow, Store};
use host::bindings::exports::kith::plugin::{actions, auth_provider, avatar_provider, field_type, org_tab};
use host::bindings::kith::plugin::types::{OrgRef, PluginError};
use host::{Budget, Fault, HostState, PluginPre, Runtime};
use imports::CallEnv;
pub use limits::PluginsConfig;
use manifest::{ExtensionPoint, HostPattern, Manifest};
use outbound::Outbound;

pub use auth_provider::{AuthOutcome, AuthenticatedUser, Credentials};
pub use avatar_provider::Avatar;
pub use org_tab::TabContent;

/// How long a Kith instance trusts its copy of the plugin settings.
pub const SETTINGS_TTL: Duration = Duration::from_secs(2);
/// Largest text a plugin may hand back for a field, an HTML tab, a table cell.
const MAX_FIELD_BYTES: usize = 64 << 10;
const MAX_HTML_BYTES: usize = 1 << 20;
const MAX_CELL_BYTES: usize = 4096;
const MAX_TABLE_ROWS: usize = 1000;
const MAX_IMAGE_BYTES: usize = 1 << 20;
const MAX_MESSAGE_BYTES: usize = 2048;

/// A plugin that loaded: its manifest and a pre-instantiated component.
pub struct Loaded {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub sha256: String,
    pub api_versions: Vec<String>,
    pub load: LoadInfo,
    pre: PluginPre<HostState>,
    semaphore: tokio::sync::Semaphore,
    pub stats: Stats,
    breaker: Mutex<VecDeque<Instant>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadInfo {
    /// Milliseconds to compile or to load from the cache.
    pub ms: f64,
    pub from_cache: bool,
}

/// Counters of one plugin since this instance loaded it.
#[derive(Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub faults: AtomicU64,
    pub plugin_errors: AtomicU64,
    pub denied_requests: Arc<AtomicU64>,
    pub faults_by_class: Mutex<BTreeMap<&'static str, u64>>,
    pub last_fault: Mutex<Option<String>>,
}

/// A plugin folder that did not load, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LoadError {
    pub dir: String,
    pub error: String,
}

/// What an admin decided about a plugin, parsed.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub enabled: bool,
    pub config: BTreeMap<String, String>,
    pub granted_hosts: Vec<String>,
    pub disabled_reason: Option<String>,
}

impl Settings {
    fn from_row(r: &PluginSettingsRow) -> Settings {
        Settings {
            enabled: r.enabled,
            config: serde_json::from_str(&r.config).unwrap_or_default(),
            granted_hosts: serde_json::from_str(&r.granted_hosts).unwrap_or_default(),
            disabled_reason: r.disabled_reason.clone(),
        }
    }
}

/// A call into a plugin.
pub enum Hook {
    Authenticate(Credentials),
    Validate { field: field_type::FieldInfo, value: String },
    Format { field: field_type::FieldInfo, value: String },
    Avatar { email: String, size: u32 },
    Render { req: org_tab::PageRequest },
    Action { name: String, input: String, caller: actions::Caller },
}

impl Hook {
    pub fn point(&self) -> ExtensionPoint {
        match self {
            Hook::Authenticate(_) => ExtensionPoint::AuthProvider,
            Hook::Validate { .. } | Hook::Format { .. } => ExtensionPoint::FieldType,
            Hook::Avatar { .. } => ExtensionPoint::AvatarProvider,
            Hook::Render { .. } => ExtensionPoint::OrgTab,
            Hook::Action { .. } => ExtensionPoint::Actions,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Hook::Authenticate(_) => "authenticate",
            Hook::Validate { .. } => "validate",
            Hook::Format { .. } => "format",
            Hook::Avatar { .. } => "avatar-for",
            Hook::Render { .. } => "render",
            Hook::Action { .. } => "action",
        }
    }
}

/// A plugin's answer, by hook.
#[derive(Debug)]
pub enum Answer {
    Authenticate(Result<AuthOutcome, PluginError>),
    Validate(Result<String, String>),
    Format(Result<String, PluginError>),
    Avatar(Result<Avatar, PluginError>),
    Render(Result<TabContent, PluginError>),
    Action(Result<String, PluginError>),
}

/// Why a plugin gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// No plugin with this id is loaded.
    NotFound,
    /// Switched off (by an admin, or by the circuit breaker: the reason).
    Disabled(Option<String>),
    /// The manifest does not provide this extension point (or this tab, field type, action).
    NotProvided,
    /// It faulted.
    Fault(Fault),
    /// The settings could not be read.
    Unavailable(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotFound => f.write_str("no such plugin"),
            CallError::Disabled(None) => f.write_str("the plugin is disabled"),
            CallError::Disabled(Some(why)) => write!(f, "the plugin is disabled ({why})"),
            CallError::NotProvided => f.write_str("the plugin does not provide this"),
            CallError::Fault(fault) => write!(f, "the plugin failed ({})", fault.class()),
            CallError::Unavailable(e) => write!(f, "plugins are unavailable: {e}"),
        }
    }
}

type SettingsMap = Arc<HashMap<String, Settings>>;

/// Every loaded plugin and how to call it.
pub struct Plugins {
    runtime: Result<Arc<Runtime>, String>,
    cfg: PluginsConfig,
    cache_dir: PathBuf,
    store: Store,
    default_region: String,
    loaded: RwLock<Arc<BTreeMap<String, Arc<Loaded>>>>,
    errors: RwLock<Arc<Vec<LoadError>>>,
    /// The settings and when they were read.
    settings: tokio::sync::Mutex<(Option<Instant>, SettingsMap)>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins").field("loaded", &self.all().keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Plugins {
    /// The registry, empty until [`Plugins::reload`].
    /// `data_dir` holds the compile cache (`cache_dir` under it); `default_region` is the
    /// phone region plugins' membership checks normalize numbers with.
    pub fn new(cfg: &PluginsConfig, data_dir: &Path, default_region: &str, store: Store) -> Plugins {
        Plugins {
            runtime: host::runtime(),
            cfg: cfg.clone(),
            cache_dir: data_dir.join(&cfg.cache_dir),
            store,
            default_region: default_region.to_string(),
            loaded: RwLock::new(Arc::new(BTreeMap::new())),
            errors: RwLock::new(Arc::new(Vec::new())),
            settings: tokio::sync::Mutex::new((None, Arc::new(HashMap::new()))),
        }
    }

    /// (Re)loads every plugin folder of the configured directories, off the async workers.
    /// Calls in flight keep the plugin they started with.
    pub async fn reload(self: &Arc<Self>) -> (usize, usize) {
        let me = self.clone();
        let (found, errors) = tokio::task::spawn_blocking(move || me.scan())
            .await
            .unwrap_or_else(|e| (BTreeMap::new(), vec![LoadError { dir: String::new(), error: e.to_string() }]));
        for e in &errors {
            tracing::warn!(dir = %e.dir, error = %e.error, "plugin not loaded");
        }
        for p in found.values() {
            tracing::info!(
                plugin = %p.manifest.id(),
                version = %p.manifest.plugin.version,
                provides = ?p.manifest.plugin.provides.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                load_ms = p.load.ms,
                cached = p.load.from_cache,
                "plugin loaded"
            );
        }
        let counts = (found.len(), errors.len());
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(found);
        *self.errors.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(errors);
        self.forget_settings().await;
        counts
    }

    fn scan(&self) -> (BTreeMap<String, Arc<Loaded>>, Vec<LoadError>) {
        let mut found: BTreeMap<String, Arc<Loaded>> = BTreeMap::new();
        let mut errors = Vec::new();
        let runtime = match &self.runtime {
            Ok(r) => r.clone(),
            Err(e) => {
                errors.push(LoadError { dir: String::new(), error: e.clone() });
                return (found, errors);
            }
        };
        for dir in &self.cfg.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            let mut folders: Vec<PathBuf> =
                entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("plugin.toml").is_file()).collect();
            folders.sort();
            for folder in folders {
                let shown = folder.display().to_string();
                match load_folder(&runtime, &self.cfg, Some(&self.cache_dir), &folder) {
                    Ok(p) if found.contains_key(p.manifest.id()) => errors.push(LoadError {
                        dir: shown,
                        error: format!("another folder already provides the plugin id {:?}", p.manifest.id()),
                    }),
                    Ok(p) => {
                        found.insert(p.manifest.id().to_string(), Arc::new(p));
                    }
                    Err(error) => errors.push(LoadError { dir: shown, error }),
                }
            }
        }
        (found, errors)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Loaded>> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    pub fn all(&self) -> Arc<BTreeMap<String, Arc<Loaded>>> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn load_errors(&self) -> Arc<Vec<LoadError>> {
        self.errors.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn runtime_info(&self) -> Result<bool, String> {
        self.runtime.as_ref().map(|r| r.pooling).map_err(Clone::clone)
    }

    /// The admin settings of every plugin (cached for [`SETTINGS_TTL`]).
    pub async fn settings(&self) -> Result<Arc<HashMap<String, Settings>>, CallError> {
        let mut guard = self.settings.lock().await;
        if let (Some(at), map) = &*guard
            && at.elapsed() < SETTINGS_TTL
        {
            return Ok(map.clone());
        }
        let rows = self.store.plugin_settings().await.map_err(|e| CallError::Unavailable(e.to_string()))?;
        let map: Arc<HashMap<String, Settings>> =
            Arc::new(rows.iter().map(|r| (r.plugin_id.clone(), Settings::from_row(r))).collect());
        *guard = (Some(Instant::now()), map.clone());
        Ok(map)
    }

    pub async fn settings_of(&self, id: &str) -> Result<Settings, CallError> {
        Ok(self.settings().await?.get(id).cloned().unwrap_or_default())
    }

    /// Drops the cached settings (after an admin changed them here).
    pub async fn forget_settings(&self) {
        self.settings.lock().await.0 = None;
    }

    /// Whether a plugin is loaded and switched on.
    pub async fn is_enabled(&self, id: &str) -> bool {
        self.get(id).is_some() && self.settings_of(id).await.map(|s| s.enabled).unwrap_or(false)
    }

    /// Calls one hook of one plugin with every bound armed.
    pub async fn call(&self, id: &str, hook: Hook) -> Result<Answer, CallError> {
        let plugin = self.get(id).ok_or(CallError::NotFound)?;
        let point = hook.point();
        if !plugin.manifest.provides(point) {
            return Err(CallError::NotProvided);
        }
        let settings = self.settings_of(id).await?;
        if !settings.enabled {
            return Err(CallError::Disabled(settings.disabled_reason));
        }
        let runtime = self.runtime.as_ref().map_err(|e| CallError::Unavailable(e.clone()))?;
        let budget = self.budget(&plugin.manifest, point);
        let hook_name = hook.name();
        plugin.stats.calls.fetch_add(1, Ordering::Relaxed);
        let permit = match tokio::time::timeout(budget.time, plugin.semaphore.acquire()).await {
            Ok(Ok(p)) => p,
            _ => return Err(self.fault(&plugin, hook_name, Fault::Busy, "").await),
        };
        let env = Arc::new(CallEnv {
            plugin_id: id.to_string(),
            hook: hook_name,
            config: config_view(&plugin.manifest, &settings),
            store: self.store.clone(),
            kv_quota_bytes: (self.cfg.kv_quota_kib as i64).saturating_mul(1024),
            default_region: self.default_region.clone(),
            org_scope: match &hook {
                Hook::Render { req } => Some(OrganizationId(req.org.id)),
                _ => None,
            },
            log_lines: Default::default(),
        });
        let allowed = granted_hosts(&plugin.manifest, &settings);
        let outbound = Outbound::new(Arc::new(allowed), plugin.stats.denied_requests.clone());
        let mut armed = match host::arm(&runtime.engine, env, outbound, budget) {
            Ok(a) => a,
            Err(e) => return Err(self.fault(&plugin, hook_name, Fault::Trap(e.to_string()), "").await),
        };
        // the outer clock also covers time spent in host calls (database, HTTP)
        let outer = budget.time + host::TICK * 5;
        let result = tokio::time::timeout(outer, run(&plugin.pre, &mut armed.store, hook)).await;
        drop(permit);
        let stderr = armed.stderr();
        if !stderr.is_empty() {
            tracing::info!(target: "kith::plugin", plugin = id, hook = hook_name, stderr = %host::truncate(&stderr, 4096), "plugin stderr");
        }
        let answer = match result {
            Err(_) => Err(Fault::Timeout),
            Ok(Err(e)) => Err(armed.classify(&e)),
            Ok(Ok(answer)) => check_answer(answer, self.cfg.max_action_bytes).map_err(Fault::Malformed),
        };
        drop(armed);
        match answer {
            Ok(a) => {
                if answer_is_plugin_error(&a) {
                    plugin.stats.plugin_errors.fetch_add(1, Ordering::Relaxed);
                }
                Ok(a)
            }
            Err(fault) => Err(self.fault(&plugin, hook_name, fault, &stderr).await),
        }
    }

    fn budget(&self, m: &Manifest, point: ExtensionPoint) -> Budget {
        let ceiling = match point {
            ExtensionPoint::AuthProvider => self.cfg.auth_timeout_ms,
            ExtensionPoint::FieldType => self.cfg.field_timeout_ms,
            ExtensionPoint::AvatarProvider => self.cfg.avatar_timeout_ms,
            ExtensionPoint::OrgTab => self.cfg.tab_timeout_ms,
            ExtensionPoint::Actions => self.cfg.action_timeout_ms,
        };
        let ms = m.limits.timeout_ms.map_or(ceiling, |t| t.min(ceiling));
        let mib = m.limits.memory_mib.map_or(self.cfg.memory_mib, |x| x.min(self.cfg.max_memory_mib));
        Budget {
            time: Duration::from_millis(ms),
            fuel: ms.saturating_mul(self.cfg.fuel_per_ms),
            memory_bytes: (mib as usize) << 20,
        }
    }

    /// Counts and logs a fault; trips the breaker when there were too many lately.
    async fn fault(&self, plugin: &Loaded, hook: &'static str, fault: Fault, stderr: &str) -> CallError {
        let id = plugin.manifest.id();
        plugin.stats.faults.fetch_add(1, Ordering::Relaxed);
        *plugin.stats.faults_by_class.lock().unwrap_or_else(|e| e.into_inner()).entry(fault.class()).or_default() += 1;
        *plugin.stats.last_fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{hook}: {fault}"));
        tracing::warn!(target: "kith::plugin", plugin = id, hook, fault = %fault, stderr = %host::truncate(stderr, 1024), "plugin call failed");
        if fault == Fault::Busy {
            // load on this server, not a fault of the plugin's: counted, never held against it
            return CallError::Fault(fault);
        }
        let window = Duration::from_secs(self.cfg.breaker_window_secs);
        let trip = {
            let mut recent = plugin.breaker.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            recent.push_back(now);
            while recent.front().is_some_and(|t| now.duration_since(*t) > window) {
                recent.pop_front();
            }
            let trip = recent.len() >= self.cfg.breaker_faults as usize;
            if trip {
                recent.clear();
            }
            trip
        };
        if trip {
            let reason = format!(
                "switched off by the circuit breaker: {} faults within {} s, the last {}",
                self.cfg.breaker_faults,
                self.cfg.breaker_window_secs,
                fault.class()
            );
            match self.store.trip_plugin(id, &reason).await {
                Ok(true) => tracing::error!(target: "kith::plugin", plugin = id, %reason, "plugin disabled"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(target: "kith::plugin", plugin = id, error = %e, "could not disable a failing plugin")
                }
            }
            self.forget_settings().await;
        }
        CallError::Fault(fault)
    }
}

async fn run(
    pre: &PluginPre<HostState>,
    store: &mut wasmtime::Store<HostState>,
    hook: Hook,
) -> wasmtime::Result<Answer> {
    let p = pre.instantiate_async(&mut *store).await?;
    Ok(match hook {
        Hook::Authenticate(c) => {
            Answer::Authenticate(p.kith_plugin_auth_provider().call_authenticate(&mut *store, &c).await?)
        }
        Hook::Validate { field, value } => {
            Answer::Validate(p.kith_plugin_field_type().call_validate(&mut *store, &field, &value).await?)
        }
        Hook::Format { field, value } => {
            Answer::Format(p.kith_plugin_field_type().call_format(&mut *store, &field, &value).await?)
        }
        Hook::Avatar { email, size } => {
            Answer::Avatar(p.kith_plugin_avatar_provider().call_avatar_for(&mut *store, &email, size).await?)
        }
        Hook::Render { req } => Answer::Render(p.kith_plugin_org_tab().call_render(&mut *store, &req).await?),
        Hook::Action { name, input, caller } => {
            Answer::Action(p.kith_plugin_actions().call_run(&mut *store, &name, &input, &caller).await?)
        }
    })
}

fn too_long(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max { Err(format!("{what} of {} bytes (at most {max})", s.len())) } else { Ok(()) }
}

fn check_plugin_error(e: &PluginError) -> Result<(), String> {
    match e {
        PluginError::InvalidInput(m)
        | PluginError::Unavailable(m)
        | PluginError::Denied(m)
        | PluginError::Internal(m) => too_long("an error message", m, MAX_MESSAGE_BYTES),
    }
}

/// Refuses answers too big to use (a plugin's memory is capped, so lifting them was bounded).
/// Refuses answers over their caps (`max_action_bytes` for actions) or malformed.
fn check_answer(a: Answer, max_action_bytes: usize) -> Result<Answer, String> {
    match &a {
        Answer::Validate(Ok(v)) => too_long("a field value", v, MAX_FIELD_BYTES)?,
        Answer::Validate(Err(m)) => too_long("a validation message", m, MAX_MESSAGE_BYTES)?,
        Answer::Format(Ok(v)) => too_long("a formatted value", v, MAX_FIELD_BYTES)?,
        Answer::Authenticate(Ok(AuthOutcome::Accepted(u))) => {
            too_long("an external id", &u.external_id, 256)?;
            too_long("an e-mail address", u.email.as_deref().unwrap_or(""), 254)?;
            too_long("a display name", u.display_name.as_deref().unwrap_or(""), 200)?;
            if u.groups.len() > 200 || u.groups.iter().any(|g| g.len() > 256) {
                return Err("too many or too long groups".into());
            }
        }
        Answer::Authenticate(Ok(AuthOutcome::Rejected(m))) => too_long("a rejection message", m, MAX_MESSAGE_BYTES)?,
        Answer::Avatar(Ok(Avatar::Url(u))) => too_long("an avatar URL", u, 2048)?,
        Answer::Avatar(Ok(Avatar::Image(i))) => {
            if i.bytes.len() > MAX_IMAGE_BYTES {
                return Err(format!("an avatar image of {} bytes (at most {MAX_IMAGE_BYTES})", i.bytes.len()));
            }
            too_long("a content type", &i.content_type, 100)?;
        }
        Answer::Render(Ok(TabContent::Html(h))) => too_long("tab HTML", h, MAX_HTML_BYTES)?,
        Answer::Render(Ok(TabContent::Table(t))) => {
            if t.rows.len() > MAX_TABLE_ROWS || t.columns.len() > 50 {
                return Err(format!(
                    "a table of {} rows and {} columns (at most {MAX_TABLE_ROWS} and 50)",
                    t.rows.len(),
                    t.columns.len()
                ));
            }
            for cell in t.columns.iter().chain(t.rows.iter().flatten()) {
                too_long("a table cell", cell, MAX_CELL_BYTES)?;
            }
            if t.rows.iter().any(|r| r.len() != t.columns.len()) {
                return Err("a table row whose cells do not match the columns".into());
            }
        }
        Answer::Action(Ok(json)) => {
            too_long("an action answer", json, max_action_bytes)?;
            if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
                return Err("an action answer that is not JSON".into());
            }
        }
        Answer::Authenticate(Err(e))
        | Answer::Format(Err(e))
        | Answer::Avatar(Err(e))
        | Answer::Render(Err(e))
        | Answer::Action(Err(e)) => check_plugin_error(e)?,
        Answer::Authenticate(Ok(AuthOutcome::NotHandled)) | Answer::Avatar(Ok(Avatar::None)) => {}
    }
    Ok(a)
}

fn answer_is_plugin_error(a: &Answer) -> bool {
    matches!(
        a,
        Answer::Authenticate(Err(_))
            | Answer::Format(Err(_))
            | Answer::Avatar(Err(_))
            | Answer::Render(Err(_))
            | Answer::Action(Err(_))
    )
}

/// Settings as the plugin reads them: what the admin set, else the manifest's default.
fn config_view(m: &Manifest, s: &Settings) -> HashMap<String, String> {
    m.config
        .iter()
        .filter_map(|(k, spec)| s.config.get(k).cloned().or_else(|| spec.default_text()).map(|v| (k.clone(), v)))
        .collect()
}

/// The manifest's allowed hosts that an admin granted.
pub fn granted_hosts(m: &Manifest, s: &Settings) -> Vec<HostPattern> {
    let granted: Vec<HostPattern> = s.granted_hosts.iter().filter_map(|h| HostPattern::parse(h).ok()).collect();
    m.outbound_hosts().into_iter().filter(|h| granted.contains(h)).collect()
}

/// Loads one plugin folder: manifest, integrity, compile (or the cache), API version, linking.
pub fn load_folder(
    runtime: &Runtime,
    cfg: &PluginsConfig,
    cache_dir: Option<&Path>,
    folder: &Path,
) -> Result<Loaded, String> {
    let started = Instant::now();
    let text = read_capped(&folder.join("plugin.toml"), 64 << 10)?;
    let text = String::from_utf8(text).map_err(|_| "plugin.toml is not UTF-8".to_string())?;
    let manifest = Manifest::parse(&text)?;
    let wasm_path = folder.join(&manifest.plugin.wasm);
    let wasm = read_capped(&wasm_path, cfg.max_wasm_bytes)?;
    let sha256 = crate::auth::hex(&Sha256::digest(&wasm));
    if let Some(expected) = &manifest.plugin.sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(format!("{} has SHA-256 {sha256}, but plugin.toml says {expected}", manifest.plugin.wasm));
    }
    let cached = cache_dir.map(|d| d.join(format!("{sha256}-{}.cwasm", host::engine_key(&runtime.engine))));
    let (component, from_cache) =
        match cached.as_deref().filter(|p| p.is_file()).and_then(|p| host::load_cached(&runtime.engine, p)) {
            Some(c) => (c, true),
            None => {
                let c = host::compile(&runtime.engine, &wasm)?;
                if let Some(path) = &cached {
                    write_cache(path, &c);
                }
                (c, false)
            }
        };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let api_versions = host::api_versions(&runtime.engine, &component);
    let supported =
        |v: &str| manifest::SUPPORTED_API.iter().any(|s| v.strip_prefix(s).is_some_and(|r| r.starts_with('.')));
    if api_versions.is_empty() {
        return Err("the component uses no kith:plugin interface: it is not a Kith plugin".into());
    }
    if let Some(bad) = api_versions.iter().find(|v| !supported(v)) {
        return Err(format!(
            "the plugin is built for kith:plugin@{bad}; this server supports {}",
            manifest::SUPPORTED_API.iter().map(|s| format!("{s}.x")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !api_versions.iter().all(|v| v.starts_with(&format!("{}.", manifest.plugin.api))) {
        return Err(format!(
            "plugin.toml says api = {:?}, but the component is built for kith:plugin@{}",
            manifest.plugin.api,
            api_versions.join(", ")
        ));
    }
    let exported = host::exported_interfaces(&runtime.engine, &component);
    if let Some(missing) = manifest.plugin.provides.iter().find(|p| !exported.iter().any(|e| e == p.as_str())) {
        return Err(format!("plugin.toml says it provides {missing}, but the component does not export it"));
    }
    let pre = instantiate_pre(runtime, &component)?;
    let concurrency = manifest.limits.max_concurrency.map_or(cfg.max_concurrency, |c| c.min(cfg.max_concurrency));
    Ok(Loaded {
        manifest,
        dir: folder.to_path_buf(),
        sha256,
        api_versions,
        load: LoadInfo { ms, from_cache },
        pre,
        semaphore: tokio::sync::Semaphore::new(concurrency as usize),
        stats: Stats::default(),
        breaker: Mutex::new(VecDeque::new()),
    })
}

fn instantiate_pre(runtime: &Runtime, component: &Component) -> Result<PluginPre<HostState>, String> {
    let pre = runtime.linker.instantiate_pre(component).map_err(|e| {
        format!("the plugin needs something this server does not provide: {}", host::truncate(&format!("{e:#}"), 500))
    })?;
    PluginPre::new(pre).map_err(|e| format!("the plugin does not implement the kith:plugin world: {e:#}"))
}

fn write_cache(path: &Path, component: &Component) {
    let result = (|| -> Result<(), String> {
        let bytes = component.serialize().map_err(|e| e.to_string())?;
        let dir = path.parent().ok_or("no cache folder")?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    })();
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "could not cache a compiled plugin");
    }
}

fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > max {
        return Err(format!("{} is {} bytes; at most {max} are accepted", path.display(), meta.len()));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The organization as a plugin sees it.
pub fn org_ref(id: OrganizationId, name: &str) -> OrgRef {
    OrgRef { id: id.0, name: name.to_string() }
}

/// What `kith plugin check` prints, from [`load_folder`] without the cache.
pub fn check_folder(cfg: &PluginsConfig, folder: &Path) -> Result<String, String> {
    let runtime = host::runtime()?;
    let p = load_folder(&runtime, cfg, None, folder)?;
    let m = &p.manifest;
    let mut out = format!(
        "{} {} — {}\n  api: kith:plugin@{} (this server supports {})\n  provides: {}\n",
        m.id(),
        m.plugin.version,
        m.plugin.name,
        p.api_versions.join(", "),
        manifest::SUPPORTED_API.join(", "),
        m.plugin.provides.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
    );
    for f in &m.field_types {
        out.push_str(&format!("  field type: {} ({}) — use as plugin:{}/{}\n", f.id, f.label, m.id(), f.id));
    }
    for t in &m.tabs {
        out.push_str(&format!(
            "  organization tab: {} ({}) — GET /api/v1/organizations/{{id}}/tabs/{}\n",
            t.id, t.title, t.id
        ));
    }
    for a in &m.actions {
        out.push_str(&format!(
            "  action: {} (needs {}) — POST /api/v1/plugins/{}/actions/{}\n",
            a.name,
            a.permission,
            m.id(),
            a.name
        ));
    }
    let hosts = &m.capabilities.allowed_outbound_hosts;
    out.push_str(&format!(
        "  outbound hosts it asks for: {}\n",
        if hosts.is_empty() { "none".to_string() } else { hosts.join(", ") }
    ));
    for (k, c) in &m.config {
        out.push_str(&format!(
            "  setting {k}: {:?}{}{} {}\n",
            c.kind,
            if c.required { ", required" } else { "" },
            if c.secret { ", secret" } else { "" },
            c.description
        ));
    }
    out.push_str(&format!("  compiled in {:.1} ms; sha256 {}\n", p.load.ms, p.sha256));
    Ok(out)
}
