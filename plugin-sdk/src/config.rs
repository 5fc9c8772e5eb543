//! The plugin's settings, entered by an admin under `[plugins.<id>.config]` and described by
//! the manifest's `[config.<key>]` schema. Secrets arrive already resolved; never log them.
//! Values are strings whatever their schema type: `get_parsed` reads bools and integers.

use std::str::FromStr;

use crate::PluginError;
use crate::bindings::kith::plugin::config as host;

/// The value of `key`, or `None` when the admin did not set it and the schema has no default.
///
/// ```no_run
/// let service = kith_plugin_sdk::config::get("service").unwrap_or_else(|| "gravatar".into());
/// ```
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// The value of `key`, or `default` when it is not set.
///
/// ```no_run
/// let style = kith_plugin_sdk::config::get_or("default", "404");
/// ```
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}

/// The value of `key`; an error naming the key when it is not set or is blank.
///
/// ```no_run
/// use kith_plugin_sdk::PluginError;
///
/// fn endpoint() -> Result<String, PluginError> {
///     let url = kith_plugin_sdk::config::require("endpoint")?;
///     Ok(url)
/// }
/// ```
pub fn require(key: &str) -> Result<String, PluginError> {
    match get(key) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(missing(key)),
    }
}

/// The value of `key` parsed as `T` (`bool`, `u64`, ...): `Ok(None)` when not set, an error
/// naming the key when it does not parse.
///
/// ```no_run
/// let ms: u64 = kith_plugin_sdk::config::get_parsed("ms")?.unwrap_or(10);
/// # Ok::<(), kith_plugin_sdk::PluginError>(())
/// ```
pub fn get_parsed<T: FromStr>(key: &str) -> Result<Option<T>, PluginError>
where
    T::Err: std::fmt::Display,
{
    match get(key) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| PluginError::internal(format!("config key `{key}` = {raw:?} is not valid: {e}"))),
    }
}

fn missing(key: &str) -> PluginError {
    PluginError::internal(format!("config key `{key}` is not set (an admin sets it under [plugins.<id>.config])"))
}
