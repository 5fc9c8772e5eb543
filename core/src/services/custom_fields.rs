//! Custom fields: their definitions (read with `users_view` or `custom_fields_manage`, changed
//! with `custom_fields_manage`), the check every write of a user's or organization's
//! `custom_fields` goes through (built-in types here, plugin types by their plugin, bounded like
//! every plugin call), and the display text of each value.

use serde_json::{Map, Value};

use super::Caller;
use crate::app::App;
use crate::domain::custom_field::{CustomField, CustomFieldInput, Entity, check_builtin, is_empty};
use crate::domain::role::Permission;
use crate::domain::{Checker, Error, Result};
use crate::plugins::host::bindings::exports::kith::plugin::field_type::FieldInfo;
use crate::plugins::{Answer, Hook};

/// Checks the `custom_fields` of a write against the definitions and normalizes them; `null`
/// (clearing) is kept for the merge. On create, every required field must be given; on update,
/// a required field cannot be cleared. Unknown keys are refused.
pub async fn check_values(
    app: &App,
    entity: Entity,
    values: &Map<String, Value>,
    creating: bool,
) -> Result<Map<String, Value>> {
    let defs = app.store.custom_fields(Some(entity)).await?;
    let mut c = Checker::default();
    let mut out = Map::new();
    for (key, v) in values {
        let name = format!("custom_fields.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            c.fail(name, "no such custom field");
            continue;
        };
        if is_empty(v) {
            if def.required {
                c.fail(name, "is required");
            } else {
                out.insert(key.clone(), Value::Null);
            }
            continue;
        }
        match check_builtin(def, v, &app.config.phone.default_region) {
            Err(why) => c.fail(name, why),
            Ok(Some(normal)) => {
                out.insert(key.clone(), normal);
            }
            Ok(None) => {
                if let Some(normal) = c.take(name, check_with_plugin(app, def, v).await) {
                    out.insert(key.clone(), Value::String(normal));
                }
            }
        }
    }
    if creating {
        for d in defs.iter().filter(|d| d.required) {
            if values.get(&d.key).is_none_or(is_empty) {
                c.fail(format!("custom_fields.{}", d.key), "is required");
            }
        }
    }
    c.finish()?;
    Ok(out)
}

/// A plugin field type's verdict. A fault or a switched-off plugin rejects the value with a
/// generic message (the raw reason is in the plugin's log and counters).
async fn check_with_plugin(app: &App, def: &CustomField, v: &Value) -> std::result::Result<String, String> {
    let Value::String(text) = v else { return Err("must be text".into()) };
    if text.len() > 10_000 {
        return Err("at most 10000 bytes".into());
    }
    let Some((plugin, type_id)) = def.plugin_type() else { return Err("has an unknown type".into()) };
    let field = field_info(def, type_id);
    match app.plugins.call(plugin, Hook::Validate { field, value: text.clone() }).await {
        Ok(Answer::Validate(Ok(normal))) => Ok(normal),
        Ok(Answer::Validate(Err(why))) => Err(why),
        Ok(_) | Err(_) => Err("could not be checked right now (its field type is unavailable); try again later".into()),
    }
}

/// What a field-type plugin is told about the field: its type and its settings as JSON.
fn field_info(def: &CustomField, type_id: &str) -> FieldInfo {
    FieldInfo { type_id: type_id.to_string(), settings_json: Value::Object(def.settings.clone()).to_string() }
}

/// Each non-empty custom field's text as pages show it (a plugin type's `format`; its raw
/// value when the plugin fails or is off; lists joined, checkboxes Yes/No). Keys without a
/// definition are left out.
pub async fn display(app: &App, entity: Entity, values: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut display = Map::new();
    if values.is_empty() {
        return Ok(display);
    }
    for def in app.store.custom_fields(Some(entity)).await? {
        let Some(v) = values.get(&def.key).filter(|v| !is_empty(v)) else { continue };
        let text = match (def.plugin_type(), v) {
            (Some((plugin, type_id)), Value::String(raw)) => {
                let field = field_info(&def, type_id);
                match app.plugins.call(plugin, Hook::Format { field, value: raw.clone() }).await {
                    Ok(Answer::Format(Ok(text))) => text,
                    _ => raw.clone(),
                }
            }
            (_, Value::String(s)) => s.clone(),
            (_, Value::Bool(b)) => if *b { "Yes" } else { "No" }.to_string(),
            (_, Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
            (_, other) => other.to_string(),
        };
        display.insert(def.key.clone(), Value::String(text));
    }
    Ok(display)
}

fn may_read(caller: &Caller) -> Result<()> {
    if caller.has(Permission::CustomFieldsManage) { Ok(()) } else { caller.require(Permission::UsersView) }
}

/// The definitions, in display order: of `entity` (`user` or `organization`), or both.
pub async fn list(app: &App, caller: &Caller, entity: Option<&str>) -> Result<Vec<CustomField>> {
    may_read(caller)?;
    let entity = match entity {
        None | Some("") => None,
        Some(e) => Some(Entity::parse(e).ok_or_else(|| Error::invalid("entity", "must be user or organization"))?),
    };
    app.store.custom_fields(entity).await
}

pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<CustomField> {
    may_read(caller)?;
    app.store.custom_field(id).await
}

/// Field types loaded plugins declare, as `plugin:<id>/<type>`.
fn plugin_types(app: &App) -> Vec<String> {
    app.plugins
        .all()
        .values()
        .flat_map(|p| {
            p.manifest.field_types.iter().map(|f| format!("plugin:{}/{}", p.manifest.id(), f.id)).collect::<Vec<_>>()
        })
        .collect()
}

pub async fn create(app: &App, caller: &Caller, input: CustomFieldInput) -> Result<CustomField> {
    caller.require(Permission::CustomFieldsManage)?;
    let spec = input.apply(None, &plugin_types(app))?;
    app.store.create_custom_field(&spec).await
}

pub async fn update(app: &App, caller: &Caller, id: i64, input: CustomFieldInput) -> Result<CustomField> {
    caller.require(Permission::CustomFieldsManage)?;
    let current = app.store.custom_field(id).await?;
    let spec = input.apply(Some(&current), &plugin_types(app))?;
    app.store.update_custom_field(id, &spec).await
}

/// Deletes a definition; values already stored under its key are kept but no longer shown.
pub async fn delete(app: &App, caller: &Caller, id: i64) -> Result<()> {
    caller.require(Permission::CustomFieldsManage)?;
    app.store.delete_custom_field(id).await
}
