//! `/roles`: the built-in and custom roles, and their permissions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::ApiJson;
use super::users::parse_id;
use crate::domain::RoleId;
use crate::domain::role::Role;
pub use crate::domain::role::RoleInput;
use crate::services::roles;
use crate::store::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list_roles).post(create_role))
        .route("/roles/{id}", get(get_role).patch(update_role).delete(delete_role))
}

/// Every role: derived user roles, built-in and custom ones.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles",
    responses((status = 200, body = Page<Role>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_roles(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Page<Role>>> {
    let items = roles::list(&state, &caller).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 200, body = Role), (status = 404, body = ErrorBody)))]
pub async fn get_role(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Role>> {
    Ok(Json(roles::get(&state, &caller, RoleId(parse_id(&id)?)).await?))
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = Role), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<RoleInput>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    let role = roles::create(&state, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(role)))
}

#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)), request_body = RoleInput,
    responses((status = 200, body = Role), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RoleInput>,
) -> ApiResult<Json<Role>> {
    Ok(Json(roles::update(&state, &caller, RoleId(parse_id(&id)?), &input).await?))
}

#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    roles::delete(&state, &caller, RoleId(parse_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
