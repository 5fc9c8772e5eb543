//! Custom field types, declared in `plugin.toml` under `[[field_types]]`
//! (manifest `provides = ["field-type"]`).

use crate::PluginError;

/// Which field is being validated or formatted: the type id from the manifest, and the field
/// definition's settings as JSON (`{}` when none).
///
/// ```
/// use kith_plugin_sdk::field::FieldInfo;
/// let field = FieldInfo { type_id: "iban".into(), settings_json: "{}".into() };
/// let settings: serde_json::Value = serde_json::from_str(&field.settings_json)?;
/// # Ok::<(), serde_json::Error>(())
/// ```
pub use crate::bindings::exports::kith::plugin::field_type::FieldInfo;

/// Validates and formats values of the field types the plugin declares.
///
/// Defaults: `validate` refuses every value ("this plugin has no field types"), `format`
/// shows the stored value unchanged. A plugin with several field types tells them apart by
/// `field.type_id`.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Postcode;
///
/// impl FieldType for Postcode {
///     fn validate(_field: FieldInfo, value: String) -> Result<String, String> {
///         let compact: String = value.split_whitespace().collect::<String>().to_uppercase();
///         if (5..=7).contains(&compact.len()) && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
///             Ok(compact)
///         } else {
///             Err("not a valid postcode".into())
///         }
///     }
///
///     fn format(_field: FieldInfo, value: String) -> Result<String, PluginError> {
///         let split = value.len().saturating_sub(3);
///         Ok(format!("{} {}", &value[..split], &value[split..]))
///     }
/// }
///
/// kith_plugin_sdk::export!(Postcode);
/// ```
pub trait FieldType {
    /// Ok: the value to store (normalized). Err: a message for the person who typed it.
    fn validate(field: FieldInfo, value: String) -> Result<String, String> {
        let _ = (field, value);
        Err("this plugin has no field types".into())
    }

    /// How a stored (already validated) value reads on a page.
    fn format(field: FieldInfo, value: String) -> Result<String, PluginError> {
        let _ = field;
        Ok(value)
    }
}
