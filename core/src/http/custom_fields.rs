//! `/custom-fields`: definitions for users and organizations; and the check every write of a
//! user's or organization's `custom_fields` goes through (built-in types here, plugin types by
//! their plugin, bounded like every plugin call).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::ApiJson;
use super::users::parse_id;
use crate::domain::custom_field::{CustomField, CustomFieldInput, Entity, check_builtin, is_empty};
use crate::domain::role::Permission;
use crate::domain::{Checker, Error, Result};
use crate::plugins::host::bindings::exports::kith::plugin::field_type::FieldInfo;
use crate::plugins::{Answer, Hook};
use crate::store::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/custom-fields", get(list_fields).post(create_field))
        .route("/custom-fields/{id}", get(get_field).patch(update_field).delete(delete_field))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FieldQuery {
    /// `user` or `organization`; both when absent.
    pub entity: Option<String>,
}

/// The field definitions, in display order.
#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom-fields", params(FieldQuery),
    responses((status = 200, body = Page<CustomField>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_fields(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<FieldQuery>,
) -> ApiResult<Json<Page<CustomField>>> {
    if !caller.has(Permission::CustomFieldsManage) {
        caller.require(Permission::UsersView)?;
    }
    let entity = match q.entity.as_deref() {
        None | Some("") => None,
        Some(e) => Some(Entity::parse(e).ok_or_else(|| Error::invalid("entity", "must be user or organization"))?),
    };
    let items = state.store.custom_fields(entity).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = i64, Path)),
    responses((status = 200, body = CustomField), (status = 404, body = ErrorBody)))]
pub async fn get_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomField>> {
    if !caller.has(Permission::CustomFieldsManage) {
        caller.require(Permission::UsersView)?;
    }
    Ok(Json(state.store.custom_field(parse_id(&id)?).await?))
}

/// Field types loaded plugins declare, as `plugin:<id>/<type>`.
fn plugin_types(state: &AppState) -> Vec<String> {
    state
        .plugins
        .all()
        .values()
        .flat_map(|p| {
            p.manifest.field_types.iter().map(|f| format!("plugin:{}/{}", p.manifest.id(), f.id)).collect::<Vec<_>>()
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom-fields", request_body = CustomFieldInput,
    responses((status = 201, body = CustomField), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_field(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CustomFieldInput>,
) -> ApiResult<(StatusCode, Json<CustomField>)> {
    caller.require(Permission::CustomFieldsManage)?;
    let spec = input.apply(None, &plugin_types(&state))?;
    Ok((StatusCode::CREATED, Json(state.store.create_custom_field(&spec).await?)))
}

#[utoipa::path(patch, path = "/api/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = i64, Path)),
    request_body = CustomFieldInput,
    responses((status = 200, body = CustomField), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CustomFieldInput>,
) -> ApiResult<Json<CustomField>> {
    caller.require(Permission::CustomFieldsManage)?;
    let id = parse_id(&id)?;
    let current = state.store.custom_field(id).await?;
    let spec = input.apply(Some(&current), &plugin_types(&state))?;
    Ok(Json(state.store.update_custom_field(id, &spec).await?))
}

/// Deletes a definition; values already stored under its key are kept but no longer shown.
#[utoipa::path(delete, path = "/api/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::CustomFieldsManage)?;
    state.store.delete_custom_field(parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the `custom_fields` of a write against the definitions and normalizes them; `null`
/// (clearing) is kept for the merge. On create, every required field must be given; on update,
/// a required field cannot be cleared. Unknown keys are refused.
pub async fn check_values(
    state: &AppState,
    entity: Entity,
    values: &Map<String, Value>,
    creating: bool,
) -> Result<Map<String, Value>> {
    let defs = state.store.custom_fields(Some(entity)).await?;
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
        match check_builtin(def, v, &state.config.phone.default_region) {
            Err(why) => c.fail(name, why),
            Ok(Some(normal)) => {
                out.insert(key.clone(), normal);
            }
            Ok(None) => {
                if let Some(normal) = c.take(name, check_with_plugin(state, def, v).await) {
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
async fn check_with_plugin(state: &AppState, def: &CustomField, v: &Value) -> std::result::Result<String, String> {
    let Value::String(text) = v else { return Err("must be text".into()) };
    if text.len() > 10_000 {
        return Err("at most 10000 bytes".into());
    }
    let Some((plugin, type_id)) = def.plugin_type() else { return Err("has an unknown type".into()) };
    let field = field_info(def, type_id);
    match state.plugins.call(plugin, Hook::Validate { field, value: text.clone() }).await {
        Ok(Answer::Validate(Ok(normal))) => Ok(normal),
        Ok(Answer::Validate(Err(why))) => Err(why),
        Ok(_) | Err(_) => Err("could not be checked right now (its field type is unavailable); try again later".into()),
    }
}

/// What a field-type plugin is told about the field: its type and its settings as JSON.
fn field_info(def: &CustomField, type_id: &str) -> FieldInfo {
    FieldInfo { type_id: type_id.to_string(), settings_json: Value::Object(def.settings.clone()).to_string() }
}

/// The record as JSON with `custom_fields_display`: each custom field's text as pages show it
/// (a plugin type's `format`; its raw value when the plugin fails or is off; lists joined,
/// checkboxes Yes/No). Empty fields and keys without a definition are left out.
pub async fn with_display<T: serde::Serialize>(
    state: &AppState,
    entity: Entity,
    record: &T,
    values: &Map<String, Value>,
) -> Result<Value> {
    let mut out = serde_json::to_value(record).map_err(|e| Error::Internal(e.to_string()))?;
    let mut display = Map::new();
    if !values.is_empty() {
        for def in state.store.custom_fields(Some(entity)).await? {
            let Some(v) = values.get(&def.key).filter(|v| !is_empty(v)) else { continue };
            let text = match (def.plugin_type(), v) {
                (Some((plugin, type_id)), Value::String(raw)) => {
                    let field = field_info(&def, type_id);
                    match state.plugins.call(plugin, Hook::Format { field, value: raw.clone() }).await {
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
    }
    if let Some(o) = out.as_object_mut() {
        o.insert("custom_fields_display".into(), Value::Object(display));
    }
    Ok(out)
}
