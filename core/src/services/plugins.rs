//! Plugins administration (`plugins_manage`): what is installed, its state and counters;
//! enabling, configuring and granting hosts; reloading. And the two things plugins add for
//! agents: actions (each needs the permission its manifest names) and organization tabs
//! (`organizations_view`; a failing plugin fails alone, its tab shows the error).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Caller;
use crate::app::App;
use crate::domain::organization::OrganizationId;
use crate::domain::role::Permission;
use crate::domain::{Checker, Error, Result};
use crate::plugins::host::bindings::exports::kith::plugin::{actions, org_tab};
use crate::plugins::host::bindings::kith::plugin::types::PluginError;
use crate::plugins::manifest::HostPattern;
use crate::plugins::{Answer, CallError, Hook, Loaded, Settings, TabContent, org_ref};
use crate::store::PluginSettingsRow;

/// A plugin as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginView {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// `kith:plugin` version the component is built for.
    pub api: Vec<String>,
    pub provides: Vec<String>,
    /// `enabled`, `disabled`, or `tripped` (switched off by the circuit breaker).
    pub state: String,
    pub disabled_reason: Option<String>,
    /// Settings: schema and value (secrets never shown: `"set": true` instead).
    #[schema(value_type = Object)]
    pub config: BTreeMap<String, Value>,
    pub allowed_outbound_hosts: Vec<String>,
    pub granted_hosts: Vec<String>,
    #[schema(value_type = Object)]
    pub declares: Value,
    #[schema(value_type = Object)]
    pub counters: Value,
    pub last_fault: Option<String>,
    #[schema(value_type = Object)]
    pub load: Value,
    pub sha256: String,
}

fn view(p: &Loaded, s: &Settings) -> PluginView {
    let m = &p.manifest;
    let config = m
        .config
        .iter()
        .map(|(k, spec)| {
            let value = s.config.get(k);
            let shown = if spec.secret {
                json!({"type": spec.kind, "required": spec.required, "secret": true, "description": spec.description, "set": value.is_some()})
            } else {
                json!({"type": spec.kind, "required": spec.required, "secret": false, "description": spec.description,
                       "value": value, "default": spec.default_text()})
            };
            (k.clone(), shown)
        })
        .collect();
    let stats = &p.stats;
    use std::sync::atomic::Ordering::Relaxed;
    let by_class = stats.faults_by_class.lock().map(|m| m.clone()).unwrap_or_default();
    PluginView {
        id: m.id().to_string(),
        name: m.plugin.name.clone(),
        version: m.plugin.version.clone(),
        description: m.plugin.description.clone(),
        api: p.api_versions.clone(),
        provides: m.plugin.provides.iter().map(|e| e.as_str().to_string()).collect(),
        state: if s.enabled {
            "enabled".into()
        } else if s.disabled_reason.is_some() {
            "tripped".into()
        } else {
            "disabled".into()
        },
        disabled_reason: s.disabled_reason.clone(),
        config,
        allowed_outbound_hosts: m.capabilities.allowed_outbound_hosts.clone(),
        granted_hosts: s.granted_hosts.clone(),
        declares: json!({
            "field_types": m.field_types.iter().map(|f| json!({"id": f.id, "label": f.label, "type": format!("plugin:{}/{}", m.id(), f.id)})).collect::<Vec<_>>(),
            "tabs": m.tabs.iter().map(|t| json!({"id": t.id, "title": t.title})).collect::<Vec<_>>(),
            "actions": m.actions.iter().map(|a| json!({"name": a.name, "permission": a.permission})).collect::<Vec<_>>(),
        }),
        counters: json!({
            "calls": stats.calls.load(Relaxed),
            "faults": stats.faults.load(Relaxed),
            "plugin_errors": stats.plugin_errors.load(Relaxed),
            "denied_requests": stats.denied_requests.load(Relaxed),
            "faults_by_class": by_class,
        }),
        last_fault: stats.last_fault.lock().ok().and_then(|f| f.clone()),
        load: json!({"ms": p.load.ms, "from_cache": p.load.from_cache, "dir": p.dir.display().to_string()}),
        sha256: p.sha256.clone(),
    }
}

async fn settings(app: &App) -> Result<std::sync::Arc<std::collections::HashMap<String, Settings>>> {
    app.plugins.settings().await.map_err(|e| Error::Unavailable(e.to_string()))
}

/// Every installed plugin, the folders that failed to load, and the engine's state.
#[derive(Debug, Serialize)]
pub struct PluginList {
    pub total: usize,
    pub items: Vec<PluginView>,
    pub load_errors: Vec<Value>,
    pub runtime: Value,
}

pub async fn list(app: &App, caller: &Caller) -> Result<PluginList> {
    caller.require(Permission::PluginsManage)?;
    let all = app.plugins.all();
    let settings = settings(app).await?;
    let items: Vec<PluginView> =
        all.values().map(|p| view(p, &settings.get(p.manifest.id()).cloned().unwrap_or_default())).collect();
    let load_errors = app.plugins.load_errors().iter().map(|e| json!(e)).collect();
    let runtime = match app.plugins.runtime_info() {
        Ok(pooling) => json!({"ok": true, "pooling_allocator": pooling}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    Ok(PluginList { total: items.len(), items, load_errors, runtime })
}

pub async fn get(app: &App, caller: &Caller, id: &str) -> Result<PluginView> {
    caller.require(Permission::PluginsManage)?;
    let p = app.plugins.get(id).ok_or(Error::NotFound)?;
    let s = settings(app).await?.get(id).cloned().unwrap_or_default();
    Ok(view(&p, &s))
}

/// What an admin changes about a plugin; absent fields stay.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginPatch {
    pub enabled: Option<bool>,
    #[schema(value_type = Object)]
    pub config: Option<BTreeMap<String, Value>>,
    pub granted_hosts: Option<Vec<String>>,
}

/// Switches a plugin on or off, sets its settings (checked against the manifest's schema; an
/// enabled plugin keeps its required ones) and grants outbound hosts among those it asks for.
pub async fn update(app: &App, caller: &Caller, id: &str, patch: PluginPatch) -> Result<PluginView> {
    caller.require(Permission::PluginsManage)?;
    let p = app.plugins.get(id).ok_or(Error::NotFound)?;
    let m = &p.manifest;
    // from the database, not the few-second cache: another server may have just tripped the
    // breaker, and writing back a cached `enabled` would undo that
    app.plugins.forget_settings().await;
    let mut s = app.plugins.settings_of(id).await.map_err(|e| Error::Unavailable(e.to_string()))?;
    let mut c = Checker::default();
    if let Some(config) = &patch.config {
        for (k, v) in config {
            let Some(spec) = m.config.get(k) else {
                c.fail(format!("config.{k}"), "the plugin has no such setting");
                continue;
            };
            if v.is_null() {
                s.config.remove(k);
            } else if let Some(text) = c.take(format!("config.{k}"), spec.accept(v)) {
                s.config.insert(k.clone(), text);
            }
        }
    }
    if let Some(hosts) = &patch.granted_hosts {
        let allowed = m.outbound_hosts();
        let mut granted = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            match HostPattern::parse(h) {
                Err(e) => c.fail(format!("granted_hosts[{i}]"), e),
                Ok(p) if !allowed.contains(&p) => c.fail(
                    format!("granted_hosts[{i}]"),
                    format!(
                        "{h} is not among the hosts the plugin asks for ({})",
                        m.capabilities.allowed_outbound_hosts.join(", ")
                    ),
                ),
                Ok(_) => granted.push(h.trim().trim_end_matches('/').to_string()),
            }
        }
        s.granted_hosts = granted;
    }
    if let Some(enabled) = patch.enabled {
        if enabled {
            s.disabled_reason = None;
        }
        s.enabled = enabled;
    }
    // an enabled plugin keeps its required settings, whether it is being enabled or edited
    if s.enabled {
        for (k, spec) in &m.config {
            if spec.required && spec.default.is_none() && !s.config.contains_key(k) {
                c.fail(format!("config.{k}"), "is required while the plugin is enabled");
            }
        }
    }
    c.finish()?;
    let row = PluginSettingsRow {
        plugin_id: id.to_string(),
        enabled: s.enabled,
        config: serde_json::to_string(&s.config).map_err(|e| Error::Internal(e.to_string()))?,
        granted_hosts: serde_json::to_string(&s.granted_hosts).map_err(|e| Error::Internal(e.to_string()))?,
        disabled_reason: s.disabled_reason.clone(),
    };
    app.store.put_plugin_settings(&row).await?;
    app.plugins.forget_settings().await;
    tracing::info!(plugin = %id, enabled = s.enabled, granted = ?s.granted_hosts, by = %caller.username, "plugin settings changed");
    Ok(view(&p, &s))
}

/// Loads every plugin folder again; answers how many loaded and failed, and the failures.
pub async fn reload(app: &App, caller: &Caller) -> Result<Value> {
    caller.require(Permission::PluginsManage)?;
    let (loaded, failed) = app.plugins.reload().await;
    Ok(json!({"loaded": loaded, "failed": failed, "load_errors": *app.plugins.load_errors()}))
}

fn plugin_error(e: PluginError) -> Error {
    match e {
        PluginError::InvalidInput(m) => Error::invalid("input", m),
        PluginError::Denied(m) => Error::Forbidden(m),
        PluginError::Unavailable(m) => Error::PluginFailed(format!("the plugin's service is unavailable: {m}")),
        PluginError::Internal(m) => Error::PluginFailed(format!("the plugin reported an internal error: {m}")),
    }
}

pub fn call_error(e: CallError) -> Error {
    match e {
        CallError::NotFound | CallError::NotProvided => Error::NotFound,
        CallError::Disabled(_) => Error::PluginFailed(e.to_string()),
        CallError::Fault(_) => Error::PluginFailed(e.to_string()),
        CallError::Unavailable(m) => Error::Unavailable(m),
    }
}

/// Whether the action exists and `caller` may run it (an agent holding the permission the
/// manifest names).
pub fn check_action(app: &App, caller: &Caller, id: &str, name: &str) -> Result<()> {
    let p = app.plugins.get(id).ok_or(Error::NotFound)?;
    let action = p.manifest.actions.iter().find(|a| a.name == name).ok_or(Error::NotFound)?;
    let Some(permission) = action.permission() else { return Err(Error::NotFound) };
    if !caller.is_agent {
        return Err(Error::Forbidden("plugin actions are for agents".into()));
    }
    caller.require(permission)
}

/// Runs a plugin's action for an agent holding the permission its manifest names; the input is
/// a JSON body of at most `plugins.max_action_bytes`.
pub async fn run_action(app: &App, caller: &Caller, id: &str, name: &str, body: &[u8]) -> Result<Value> {
    check_action(app, caller, id, name)?;
    let max = app.config.plugins.max_action_bytes;
    if body.len() > max {
        return Err(Error::TooLarge(format!("an action takes at most {max} bytes")));
    }
    let input: Value =
        serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("the body is not JSON: {e}")))?;
    let hook = Hook::Action {
        name: name.to_string(),
        input: input.to_string(),
        caller: actions::Caller { user_id: caller.id.0, username: caller.username.clone() },
    };
    match app.plugins.call(id, hook).await.map_err(call_error)? {
        // the host checked its size and that it is JSON
        Answer::Action(Ok(out)) => serde_json::from_str(&out).map_err(|e| Error::Internal(e.to_string())),
        Answer::Action(Err(e)) => Err(plugin_error(e)),
        _ => Err(Error::Internal("a plugin answered another hook".into())),
    }
}

/// The organization tabs enabled plugins supply, as `(tab id, title)`, in plugin order.
pub async fn org_tabs(app: &App, caller: &Caller) -> Result<Vec<(String, String)>> {
    caller.require(Permission::OrganizationsView)?;
    let settings = settings(app).await?;
    let all = app.plugins.all();
    let mut out: Vec<(String, String)> = Vec::new();
    for p in all.values() {
        if settings.get(p.manifest.id()).is_some_and(|s| s.enabled) {
            out.extend(p.manifest.tabs.iter().map(|t| (t.id.clone(), t.title.clone())));
        }
    }
    Ok(out)
}

/// A tab an organization-tab plugin supplies (e.g. Forms), as JSON: `tab`, `title`, `plugin`,
/// `page`, `per_page` and either the content (`kind` `table` with `columns`, `rows`, `total`, or
/// `html`, sanitized) or `error` when the plugin failed — so the page around it still renders.
pub async fn org_tab(
    app: &App,
    caller: &Caller,
    org: OrganizationId,
    tab: &str,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Value> {
    caller.require(Permission::OrganizationsView)?;
    let mut c = Checker::default();
    let page = c.take("page", parse_small(page, 1, 1, 100_000));
    let per_page = c.take("per_page", parse_small(per_page, 25, 1, 200));
    c.finish()?;
    let (page, per_page) = (page.unwrap_or(1), per_page.unwrap_or(25));
    let settings = settings(app).await?;
    let all = app.plugins.all();
    let provider = all.values().find(|p| {
        p.manifest.tabs.iter().any(|t| t.id == tab) && settings.get(p.manifest.id()).is_some_and(|s| s.enabled)
    });
    let Some(plugin) = provider else { return Err(Error::NotFound) };
    let organization = app.store.get_org(org).await?;
    let title = plugin.manifest.tabs.iter().find(|t| t.id == tab).map(|t| t.title.clone()).unwrap_or_default();
    let req = org_tab::PageRequest { tab_id: tab.to_string(), org: org_ref(org, &organization.name), page, per_page };
    let head = json!({"tab": tab, "title": title, "plugin": plugin.manifest.id(), "page": page, "per_page": per_page});
    let failed = |message: String| {
        let mut v = head.clone();
        v["error"] = json!({"message": message});
        Ok(v)
    };
    match app.plugins.call(plugin.manifest.id(), Hook::Render { req }).await {
        Ok(Answer::Render(Ok(TabContent::Table(t)))) => {
            let mut v = head.clone();
            v["kind"] = json!("table");
            v["columns"] = json!(t.columns);
            v["rows"] = json!(t.rows);
            v["total"] = json!(t.total);
            Ok(v)
        }
        Ok(Answer::Render(Ok(TabContent::Html(html)))) => {
            let mut v = head.clone();
            v["kind"] = json!("html");
            v["html"] = json!(ammonia::clean(&html));
            Ok(v)
        }
        Ok(Answer::Render(Err(e))) => failed(format!("the {title} tab could not be shown: {}", plugin_error_text(&e))),
        Ok(_) => failed("the plugin answered another hook".into()),
        Err(e @ (CallError::NotFound | CallError::NotProvided)) => Err(call_error(e)),
        Err(e) => failed(format!("the {title} tab could not be shown: {e}")),
    }
}

fn plugin_error_text(e: &PluginError) -> String {
    match e {
        PluginError::InvalidInput(m) => format!("invalid input: {m}"),
        PluginError::Unavailable(m) => format!("unavailable: {m}"),
        PluginError::Denied(m) => format!("denied: {m}"),
        PluginError::Internal(m) => format!("internal error: {m}"),
    }
}

fn parse_small(raw: Option<&str>, default: u32, min: u32, max: u32) -> Result<u32, String> {
    match raw {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
    }
}
