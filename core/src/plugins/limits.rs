//! `[plugins]`: where plugins are found and the bounds every call runs in. The plugin host owns
//! this section of the configuration (the config module re-exports it).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Hard ceiling of any plugin's linear memory (the pooling allocator's slot size).
pub const MAX_MEMORY_BYTES: usize = 128 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PluginsConfig {
    /// Folders holding plugins, one sub-folder each (`plugin.toml` + the `.wasm`). A missing
    /// folder is skipped.
    pub dirs: Vec<PathBuf>,
    /// Compiled plugins are cached here (relative to `server.data_dir`).
    pub cache_dir: PathBuf,
    /// Largest `.wasm` accepted, bytes.
    pub max_wasm_bytes: u64,
    /// Linear memory per call unless the manifest asks for less, MiB; and the most a manifest
    /// may ask for.
    pub memory_mib: u32,
    pub max_memory_mib: u32,
    /// Wall time per call by extension point, ms (a manifest may ask for less).
    pub auth_timeout_ms: u64,
    pub field_timeout_ms: u64,
    pub avatar_timeout_ms: u64,
    pub tab_timeout_ms: u64,
    pub action_timeout_ms: u64,
    /// Fuel (roughly, WebAssembly instructions) per millisecond of a call's time budget: a
    /// deterministic second bound beside the clock.
    pub fuel_per_ms: u64,
    /// Calls of one plugin running at once unless the manifest asks for fewer.
    pub max_concurrency: u32,
    /// Each plugin's key-value store holds at most this much (keys + values), KiB.
    pub kv_quota_kib: u64,
    /// A plugin that faults this many times within `breaker_window_secs` is switched off until
    /// an admin switches it on again.
    pub breaker_faults: u32,
    pub breaker_window_secs: u64,
    /// Largest JSON body a plugin action takes and gives, bytes.
    pub max_action_bytes: usize,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dirs: vec![PathBuf::from("data/plugins")],
            cache_dir: PathBuf::from("plugin-cache"),
            max_wasm_bytes: 32 << 20,
            memory_mib: 32,
            max_memory_mib: 128,
            auth_timeout_ms: 3000,
            field_timeout_ms: 50,
            avatar_timeout_ms: 300,
            tab_timeout_ms: 1000,
            action_timeout_ms: 1000,
            fuel_per_ms: 100_000_000,
            max_concurrency: 8,
            kv_quota_kib: 4096,
            breaker_faults: 5,
            breaker_window_secs: 60,
            max_action_bytes: 256 << 10,
        }
    }
}
