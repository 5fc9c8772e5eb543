//! `/users`: search, create, read, edit, clone, delete, and a user's change log.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::custom_fields::with_display;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, IfMatch, etag, parse_json};
use crate::domain::UserId;
use crate::domain::change::Change;
use crate::domain::custom_field::Entity;
use crate::domain::user::{EmailInput, User, UserInput};
use crate::services::users;
use crate::store::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(update_user).delete(delete_user))
        .route("/users/{id}/clone", post(clone_user))
        .route("/users/{id}/changes", get(list_user_changes))
}

pub(crate) use crate::services::params::parse_id;

/// The list parameters are the service's own.
pub use crate::services::users::ListParams as ListUsersQuery;

/// Searches and lists users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListUsersQuery),
    responses((status = 200, body = Page<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListUsersQuery>,
) -> ApiResult<Json<Page<User>>> {
    Ok(Json(users::list(&state, &caller, &p).await?))
}

/// Creates a user; with an agent role (`roles: ["Agent"]`) the user is an agent.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = users::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let user = users::get(&state, &caller, UserId(parse_id(&id)?)).await?;
    Ok((etag(user.version), Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

/// Edits a user: only the fields sent change; `null` clears a clearable field.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserInput,
    params(("If-Match" = Option<String>, Header, description = "the version the edit was made over, as \"7\"")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(mut input): ApiJson<UserInput>,
) -> ApiResult<impl IntoResponse> {
    if_match.apply(&mut input.version)?;
    let user = users::update(&state, &caller, UserId(parse_id(&id)?), input).await.map_err(|e| if_match.answer(e))?;
    Ok((etag(user.version), Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

/// Deletes a user. Their tickets, chats, calls and surveys stay, keeping their addresses.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    users::delete(&state, &caller, UserId(parse_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneRequest {
    /// Defaults to the source's username with `-copy` (and a number if needed).
    pub username: Option<String>,
    /// Defaults to the source's display name.
    pub display_name: Option<String>,
    /// The copy's addresses (an address belongs to one user, so none are copied).
    pub emails: Option<Vec<EmailInput>>,
}

/// Copies a user's settings, contact details, labels, roles and phones into a new user;
/// username, password and e-mail addresses are not copied.
#[utoipa::path(post, path = "/api/v1/users/{id}/clone", tag = "users", params(("id" = i64, Path)), request_body = CloneRequest,
    responses((status = 201, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn clone_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: CloneRequest =
        if body.iter().all(u8::is_ascii_whitespace) { CloneRequest::default() } else { parse_json(&body)? };
    let input = users::CloneInput { username: req.username, display_name: req.display_name, emails: req.emails };
    let user = users::clone(&state, &caller, UserId(parse_id(&id)?), input).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangesQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Every change to the user, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/changes", tag = "users", params(("id" = i64, Path), ChangesQuery),
    responses((status = 200, body = Page<Change>), (status = 404, body = ErrorBody)))]
pub async fn list_user_changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Page<Change>>> {
    let id = UserId(parse_id(&id)?);
    Ok(Json(users::changes(&state, &caller, id, p.limit.as_deref(), p.cursor.as_deref()).await?))
}
