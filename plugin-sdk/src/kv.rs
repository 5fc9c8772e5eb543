//! The plugin's own key-value store: the only state that survives between calls. Scoped to the
//! plugin, with a quota; keys are at most 512 bytes and list in byte order.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PluginError;
use crate::bindings::kith::plugin::kv as host;

/// The most keys one [`list_keys`] call returns (the host's cap).
///
/// ```
/// assert_eq!(kith_plugin_sdk::kv::MAX_LIST, 1000);
/// ```
pub const MAX_LIST: u32 = 1000;

fn failed(op: &str, key: &str, err: String) -> PluginError {
    PluginError::internal(format!("kv {op} {key:?}: {err}"))
}

/// The value stored under `key`, if any.
///
/// ```no_run
/// let bytes = kith_plugin_sdk::kv::get("counter")?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn get(key: &str) -> Result<Option<Vec<u8>>, PluginError> {
    host::get(key).map_err(|e| failed("get", key, e))
}

/// Stores `value` under `key`, replacing what was there.
///
/// ```no_run
/// kith_plugin_sdk::kv::set("greeting", b"hello")?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn set(key: &str, value: &[u8]) -> Result<(), PluginError> {
    host::set(key, value).map_err(|e| failed("set", key, e))
}

/// Removes `key` (removing a missing key is not an error).
///
/// ```no_run
/// kith_plugin_sdk::kv::delete("greeting")?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn delete(key: &str) -> Result<(), PluginError> {
    host::delete(key).map_err(|e| failed("delete", key, e))
}

/// Keys starting with `prefix`, in byte order, after `start_after` (exclusive), at most `limit`
/// (capped at [`MAX_LIST`]). For every key under a prefix use [`key_batches`].
///
/// ```no_run
/// let first_ten = kith_plugin_sdk::kv::list_keys("form/", None, 10)?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn list_keys(prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<String>, PluginError> {
    host::list_keys(prefix, start_after, limit.min(MAX_LIST)).map_err(|e| failed("list-keys", prefix, e))
}

/// Keys under `prefix` with their values, in byte order, after `start_after` (exclusive), at
/// most `limit` (capped at [`MAX_LIST`]): one host call instead of a `get` per key. The host
/// may answer fewer than `limit` (it caps a batch at 4 MiB of values); continue after the last
/// key until an empty answer.
///
/// ```no_run
/// let mut after: Option<String> = None;
/// loop {
///     let batch = kith_plugin_sdk::kv::scan("form/", after.as_deref(), 500)?;
///     let Some((last, _)) = batch.last() else { break };
///     after = Some(last.clone());
/// }
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn scan(prefix: &str, start_after: Option<&str>, limit: u32) -> Result<Vec<(String, Vec<u8>)>, PluginError> {
    host::scan(prefix, start_after, limit.min(MAX_LIST)).map_err(|e| failed("scan", prefix, e))
}

/// The JSON value stored under `key`, decoded as `T`. A stored value that does not decode is an
/// `internal` error (the plugin wrote it).
///
/// ```no_run
/// #[derive(serde::Deserialize)]
/// struct Settings { greeting: String }
///
/// let settings: Option<Settings> = kith_plugin_sdk::kv::get_json("settings")?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, PluginError> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| PluginError::internal(format!("kv {key:?} holds invalid JSON: {e}"))),
    }
}

/// Stores `value` as JSON under `key`.
///
/// ```no_run
/// kith_plugin_sdk::kv::set_json("settings", &serde_json::json!({ "greeting": "hi" }))?;
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), PluginError> {
    let bytes = serde_json::to_vec(value).map_err(|e| PluginError::internal(format!("kv {key:?}: {e}")))?;
    set(key, &bytes)
}

/// Every key under `prefix`, `batch` (at most [`MAX_LIST`]) at a time, in byte order.
///
/// ```no_run
/// let mut count = 0;
/// for batch in kith_plugin_sdk::kv::key_batches("form/", 500) {
///     count += batch?.len();
/// }
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn key_batches(prefix: &str, batch: u32) -> KeyBatches {
    KeyBatches { prefix: prefix.to_owned(), after: None, batch: batch.clamp(1, MAX_LIST), done: false }
}

/// The iterator [`key_batches`] returns: each item is one non-empty batch of keys.
///
/// ```no_run
/// let all: Vec<String> = kith_plugin_sdk::kv::key_batches("form/", 1000)
///     .collect::<Result<Vec<_>, _>>()?
///     .concat();
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
#[derive(Debug)]
pub struct KeyBatches {
    prefix: String,
    after: Option<String>,
    batch: u32,
    done: bool,
}

impl Iterator for KeyBatches {
    type Item = Result<Vec<String>, PluginError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match list_keys(&self.prefix, self.after.as_deref(), self.batch) {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(keys) => {
                // A short batch is the last one; an empty one means there was nothing more.
                self.done = keys.len() < self.batch as usize;
                self.after = keys.last().cloned();
                if keys.is_empty() { None } else { Some(Ok(keys)) }
            }
        }
    }
}
