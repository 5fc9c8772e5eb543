//! `/custom-fields`: definitions for users and organizations. Values are checked by
//! [`crate::services::custom_fields`].

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
use crate::domain::custom_field::{CustomField, CustomFieldInput, Entity};
use crate::domain::{Error, Result};
use crate::services::custom_fields;
pub use crate::services::custom_fields::{check_values, display};
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
    let items = custom_fields::list(&state, &caller, q.entity.as_deref()).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = i64, Path)),
    responses((status = 200, body = CustomField), (status = 404, body = ErrorBody)))]
pub async fn get_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomField>> {
    Ok(Json(custom_fields::get(&state, &caller, parse_id(&id)?).await?))
}

#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom-fields", request_body = CustomFieldInput,
    responses((status = 201, body = CustomField), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_field(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CustomFieldInput>,
) -> ApiResult<(StatusCode, Json<CustomField>)> {
    Ok((StatusCode::CREATED, Json(custom_fields::create(&state, &caller, input).await?)))
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
    Ok(Json(custom_fields::update(&state, &caller, parse_id(&id)?, input).await?))
}

/// Deletes a definition; values already stored under its key are kept but no longer shown.
#[utoipa::path(delete, path = "/api/v1/custom-fields/{id}", tag = "custom-fields", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    custom_fields::delete(&state, &caller, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The record as JSON with `custom_fields_display` (see [`display`]).
pub async fn with_display<T: serde::Serialize>(
    state: &AppState,
    entity: Entity,
    record: &T,
    values: &Map<String, Value>,
) -> Result<Value> {
    let mut out = serde_json::to_value(record).map_err(|e| Error::Internal(e.to_string()))?;
    let display = display(state, entity, values).await?;
    if let Some(o) = out.as_object_mut() {
        o.insert("custom_fields_display".into(), Value::Object(display));
    }
    Ok(out)
}
