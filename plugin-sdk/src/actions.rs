//! Named JSON actions, declared in `plugin.toml` under `[[actions]]`
//! (manifest `provides = ["actions"]`), called by agents at
//! `POST /api/v1/plugins/{id}/actions/{name}` after Kith checked the action's permission.

use crate::PluginError;

/// The signed-in person calling the action.
///
/// ```
/// use kith_plugin_sdk::actions::Caller;
/// let caller = Caller { user_id: 1, username: "agent".into() };
/// ```
pub use crate::bindings::exports::kith::plugin::actions::Caller;

/// Runs actions. `input` and the answer are JSON documents. The default refuses every name
/// with `invalid-input("unknown action <name>")`.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Add {
///     a: i64,
///     b: i64,
/// }
///
/// struct Calculator;
///
/// impl Actions for Calculator {
///     fn run(name: String, input: String, _caller: Caller) -> Result<String, PluginError> {
///         match name.as_str() {
///             "add" => {
///                 let add: Add = serde_json::from_str(&input)?; // bad JSON → invalid-input
///                 Ok(serde_json::json!({ "sum": add.a + add.b }).to_string())
///             }
///             _ => Err(PluginError::invalid_input(format!("unknown action {name}"))),
///         }
///     }
/// }
///
/// kith_plugin_sdk::export!(Calculator);
/// ```
pub trait Actions {
    /// Runs the action `name` with the JSON `input` on behalf of `caller`.
    fn run(name: String, input: String, caller: Caller) -> Result<String, PluginError> {
        let _ = (input, caller);
        Err(PluginError::invalid_input(format!("unknown action {name}")))
    }
}
