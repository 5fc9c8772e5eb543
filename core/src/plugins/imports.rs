//! What the host gives a plugin (the `kith:plugin` imports): its log, its settings, its own
//! key-value store, and organization membership with Kith's rule logic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use super::host::HostState;
use super::host::bindings::kith::plugin::{config, kv, log, membership, types};
use crate::domain::address::{normalize_email, normalize_phone};
use crate::domain::organization::{OrganizationId, RecordFacts, Tab, matches};
use crate::store::Store;

/// Log lines a plugin may write per call, and their length.
const LOG_LINES_PER_CALL: u32 = 100;
const LOG_LINE_BYTES: usize = 4096;
/// Keys are short; values share the plugin's quota.
pub const KV_KEY_BYTES: usize = 512;
/// Subjects per `match-members` call, and keys per `list-keys`.
const MAX_SUBJECTS: usize = 1000;
const MAX_LIST: u32 = 1000;
/// Bytes of values one `scan` answers at most (the rest comes in the next call).
const SCAN_BYTES: usize = 4 << 20;

/// Everything a call's host functions need, shared by the store's state.
pub struct CallEnv {
    pub plugin_id: String,
    pub hook: &'static str,
    /// Settings as the plugin reads them (defaults filled in; secrets included).
    pub config: HashMap<String, String>,
    pub store: Store,
    pub kv_quota_bytes: i64,
    pub default_region: String,
    /// The organization whose tab is being rendered: the only one `match-members` answers for.
    pub org_scope: Option<OrganizationId>,
    pub log_lines: AtomicU32,
}

impl types::Host for HostState {}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) {
        let env = &self.env;
        if env.log_lines.fetch_add(1, Ordering::Relaxed) >= LOG_LINES_PER_CALL {
            return;
        }
        let message = super::host::truncate(&message, LOG_LINE_BYTES);
        let (plugin, hook) = (env.plugin_id.as_str(), env.hook);
        match level {
            log::Level::Trace => tracing::trace!(target: "kith::plugin", plugin, hook, "{message}"),
            log::Level::Debug => tracing::debug!(target: "kith::plugin", plugin, hook, "{message}"),
            log::Level::Info => tracing::info!(target: "kith::plugin", plugin, hook, "{message}"),
            log::Level::Warn => tracing::warn!(target: "kith::plugin", plugin, hook, "{message}"),
            log::Level::Error => tracing::error!(target: "kith::plugin", plugin, hook, "{message}"),
        }
    }
}

impl config::Host for HostState {
    async fn get(&mut self, key: String) -> Option<String> {
        self.env.config.get(&key).cloned()
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > KV_KEY_BYTES {
        return Err(format!("keys are 1-{KV_KEY_BYTES} bytes"));
    }
    if key.chars().any(char::is_control) {
        return Err("keys cannot hold control characters".into());
    }
    Ok(())
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        check_key(&key)?;
        self.env.store.plugin_kv_get(&self.env.plugin_id, &key).await.map_err(|e| e.to_string())
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        check_key(&key)?;
        let env = &self.env;
        env.store.plugin_kv_set(&env.plugin_id, &key, &value, env.kv_quota_bytes).await.map_err(|e| e.to_string())
    }

    async fn delete(&mut self, key: String) -> Result<(), String> {
        check_key(&key)?;
        self.env.store.plugin_kv_delete(&self.env.plugin_id, &key).await.map_err(|e| e.to_string())
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> Result<Vec<String>, String> {
        if prefix.len() > KV_KEY_BYTES {
            return Err(format!("prefixes are at most {KV_KEY_BYTES} bytes"));
        }
        let limit = limit.clamp(1, MAX_LIST);
        let env = &self.env;
        env.store
            .plugin_kv_list(&env.plugin_id, &prefix, start_after.as_deref(), limit)
            .await
            .map_err(|e| e.to_string())
    }

    async fn scan(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, String> {
        if prefix.len() > KV_KEY_BYTES {
            return Err(format!("prefixes are at most {KV_KEY_BYTES} bytes"));
        }
        let limit = limit.clamp(1, MAX_LIST);
        let env = &self.env;
        env.store
            .plugin_kv_scan(&env.plugin_id, &prefix, start_after.as_deref(), limit, SCAN_BYTES)
            .await
            .map_err(|e| e.to_string())
    }
}

impl membership::Host for HostState {
    async fn match_members(
        &mut self,
        org_id: i64,
        subjects: Vec<membership::Subject>,
    ) -> Result<Vec<Vec<membership::MatchedBy>>, String> {
        let env = &self.env;
        if env.org_scope != Some(OrganizationId(org_id)) {
            return Err("membership answers only for the organization whose tab is being rendered".into());
        }
        if subjects.len() > MAX_SUBJECTS {
            return Err(format!("at most {MAX_SUBJECTS} subjects per call"));
        }
        match_members(&env.store, &env.default_region, OrganizationId(org_id), &subjects).await
    }
}

/// SPEC 3's rule logic for records sent to a person (the Surveys column): a `username` rule
/// takes what was sent to that account, an `email` rule what was sent to that address, a
/// `domain` rule what was sent to an address at the domain, a `phone` rule what was sent to an
/// account holding the number (or to the number itself).
pub async fn match_members(
    store: &Store,
    default_region: &str,
    org: OrganizationId,
    subjects: &[membership::Subject],
) -> Result<Vec<Vec<membership::MatchedBy>>, String> {
    let rules = store.list_rules(org).await.map_err(|e| e.to_string())?;
    let mut users: Vec<i64> = subjects.iter().filter_map(|s| s.user_id).collect();
    users.sort_unstable();
    users.dedup();
    let phones = if rules.iter().any(|r| r.kind == crate::domain::organization::RuleKind::Phone) && !users.is_empty() {
        store.phones_of_users(&users).await.map_err(|e| e.to_string())?
    } else {
        HashMap::new()
    };
    Ok(subjects
        .iter()
        .map(|s| {
            let mut account_phones = s.user_id.and_then(|u| phones.get(&u)).cloned().unwrap_or_default();
            if let Some(p) = s.phone.as_deref().and_then(|p| normalize_phone(p, default_region).ok()) {
                account_phones.push(p);
            }
            let facts = RecordFacts {
                user_id: s.user_id,
                emails: s
                    .email
                    .as_deref()
                    .and_then(|e| normalize_email(e).ok())
                    .map(|e| e.address)
                    .into_iter()
                    .collect(),
                phones: Vec::new(),
                account_phones,
            };
            rules
                .iter()
                .filter(|r| matches(Tab::Surveys, r, &[], &facts))
                .map(|r| membership::MatchedBy { kind: r.kind.as_str().to_string(), value: r.value.clone() })
                .collect()
        })
        .collect())
}
