//! `/users`: search, create, read, edit, clone, delete, and a user's change log.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::custom_fields::{check_values, with_display};
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, parse_json};
use crate::auth::MAX_PASSWORD_BYTES;
use crate::domain::change::Change;
use crate::domain::custom_field::Entity;
use crate::domain::role::{EVERYONE, Permission, REGISTERED_USER, RoleKind, VERIFIED_USER};
use crate::domain::user::{EmailInput, User, UserFields, UserInput};
use crate::domain::{Error, UserId};
use crate::store::{Cursor, Page, RoleFilter, UserQuery, UserSort};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(update_user).delete(delete_user))
        .route("/users/{id}/clone", post(clone_user))
        .route("/users/{id}/changes", get(list_user_changes))
}

/// Path ids that are not numbers name no record.
pub(crate) fn parse_id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or(Error::NotFound)
}

/// `?limit=` (default 50, at most 500).
pub(crate) fn parse_limit(raw: Option<&str>) -> Result<i64, Error> {
    match raw {
        None | Some("") => Ok(50),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(500)),
            _ => Err(Error::invalid("limit", "must be a whole number from 1 to 500")),
        },
    }
}

/// `?order=` asc (default) or desc → descending?
pub(crate) fn parse_order(raw: Option<&str>) -> Result<bool, Error> {
    match raw.unwrap_or("asc") {
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(Error::invalid("order", "must be asc or desc")),
    }
}

/// `?q=`: trimmed, lowercased, at most 200 characters; empty means no search.
pub(crate) fn parse_fragment(raw: Option<&str>) -> Result<Option<String>, Error> {
    let q = raw.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(Error::invalid("q", "too long (at most 200 characters)"));
    }
    Ok(q)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListUsersQuery {
    /// A fragment of a name, username, e-mail address, phone number, company or label.
    pub q: Option<String>,
    /// A role name (assigned or derived).
    pub role: Option<String>,
    /// A label, any letter case.
    pub label: Option<String>,
    /// display_name (default), username, email, verified, last_login, created.
    pub sort: Option<String>,
    /// asc (default) or desc.
    pub order: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Searches and lists users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListUsersQuery),
    responses((status = 200, body = Page<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListUsersQuery>,
) -> ApiResult<Json<Page<User>>> {
    caller.require(Permission::UsersView)?;
    let sort = match p.sort.as_deref().unwrap_or("display_name") {
        "display_name" => UserSort::DisplayName,
        "username" => UserSort::Username,
        "email" => UserSort::Email,
        "verified" => UserSort::Verified,
        "last_login" => UserSort::LastLogin,
        "created" => UserSort::Created,
        _ => {
            return Err(Error::invalid(
                "sort",
                "must be display_name, username, email, verified, last_login or created",
            )
            .into());
        }
    };
    let descending = parse_order(p.order.as_deref())?;
    let q = parse_fragment(p.q.as_deref())?;
    let role = match p.role.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(r) if r.eq_ignore_ascii_case(EVERYONE) || r.eq_ignore_ascii_case(REGISTERED_USER) => Some(RoleFilter::Any),
        Some(r) if r.eq_ignore_ascii_case(VERIFIED_USER) => Some(RoleFilter::VerifiedEmail),
        Some(r) => match state.store.find_role_by_name(r).await? {
            Some(role) => Some(RoleFilter::Assigned(role.id)),
            None => return Err(Error::invalid("role", format!("no role named `{r}`")).into()),
        },
    };
    let label = p.label.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let after = p.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    let query = UserQuery { q, role, label, sort, descending, limit: parse_limit(p.limit.as_deref())?, after };
    Ok(Json(state.store.list_users(&query).await?))
}

/// Role name (lowercase) → kind, for deciding whether a change touches agent roles.
async fn role_kinds(state: &AppState) -> ApiResult<HashMap<String, RoleKind>> {
    Ok(state.store.list_roles().await?.into_iter().map(|r| (r.name.to_lowercase(), r.kind)).collect())
}

/// Giving or taking an agent role is an administrator's act (`roles_manage`), so an agent
/// with `users_edit` cannot raise anyone, themselves included, to agent or administrator.
fn check_agent_roles(
    caller: &Caller,
    kinds: &HashMap<String, RoleKind>,
    old: &[String],
    new: &[String],
) -> Result<(), Error> {
    let is_agent_role = |r: &String| kinds.get(&r.to_lowercase()) == Some(&RoleKind::Agent);
    let lower = |v: &[String]| v.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>();
    let (old_l, new_l) = (lower(old), lower(new));
    let touched = new.iter().filter(|r| !old_l.contains(&r.to_lowercase())).any(is_agent_role)
        || old.iter().filter(|r| !new_l.contains(&r.to_lowercase())).any(is_agent_role);
    if touched && !caller.has(Permission::RolesManage) {
        return Err(Error::Forbidden("giving or taking agent roles needs the `roles_manage` permission".into()));
    }
    Ok(())
}

/// An agent's record is edited only by themselves or by someone who manages roles.
pub(crate) fn check_may_edit(caller: &Caller, target: &User) -> Result<(), Error> {
    if target.is_agent && target.id != caller.id && !caller.has(Permission::RolesManage) {
        return Err(Error::Forbidden("editing another agent needs the `roles_manage` permission".into()));
    }
    Ok(())
}

async fn hash_if_given(state: &AppState, password: &Option<String>) -> ApiResult<Option<String>> {
    match password {
        Some(pw) if pw.len() > MAX_PASSWORD_BYTES => {
            Err(Error::invalid("password", format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")).into())
        }
        Some(pw) => Ok(Some(state.passwords.hash(pw.clone()).await?)),
        None => Ok(None),
    }
}

/// Creates a user; with an agent role (`roles: ["Agent"]`) the user is an agent.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Permission::UsersEdit)?;
    let given = input.custom_fields.take().unwrap_or_default();
    input.custom_fields = Some(check_values(&state, Entity::User, &given, true).await?);
    let fields = input.apply(UserFields::defaults(&state.rules), &state.rules)?;
    check_agent_roles(&caller, &role_kinds(&state).await?, &[], &fields.roles)?;
    let hash = hash_if_given(&state, &input.password).await?;
    let user = state.store.create_user(&fields, hash.as_deref(), &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Permission::UsersView)?;
    let user = state.store.get_user(UserId(parse_id(&id)?)).await?;
    Ok(Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?))
}

/// Edits a user: only the fields sent change; `null` clears a clearable field.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserInput,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut input): ApiJson<UserInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::UsersEdit)?;
    let id = UserId(parse_id(&id)?);
    if let Some(given) = input.custom_fields.take() {
        input.custom_fields = Some(check_values(&state, Entity::User, &given, false).await?);
    }
    let kinds = role_kinds(&state).await?;
    let hash = hash_if_given(&state, &input.password).await?;
    let rules = state.rules.clone();
    let who = caller.clone();
    let edit = move |current: &User| {
        check_may_edit(&who, current)?;
        let new = input.apply(current.to_fields(), &rules)?;
        check_agent_roles(&who, &kinds, &current.to_fields().roles, &new.roles)?;
        if new.disabled && !current.disabled && current.id == who.id {
            return Err(Error::invalid("disabled", "you cannot disable your own account"));
        }
        Ok(new)
    };
    let user = state.store.update_user(id, edit, hash.as_deref(), &caller.actor()).await?;
    Ok(Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?))
}

/// Deletes a user. Their tickets, chats, calls and surveys stay, keeping their addresses.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::UsersDelete)?;
    let id = UserId(parse_id(&id)?);
    if id == caller.id {
        return Err(Error::invalid("id", "you cannot delete your own account").into());
    }
    let target = state.store.get_user(id).await?;
    check_may_edit(&caller, &target)?;
    state.store.delete_user(id, &caller.actor()).await?;
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
    caller.require(Permission::UsersEdit)?;
    let req: CloneRequest =
        if body.iter().all(u8::is_ascii_whitespace) { CloneRequest::default() } else { parse_json(&body)? };
    let source = state.store.get_user(UserId(parse_id(&id)?)).await?;
    let mut base = source.to_fields();
    base.emails.clear();
    // a clone starts as a working account
    base.disabled = false;
    check_agent_roles(&caller, &role_kinds(&state).await?, &[], &base.roles)?;
    let username = match req.username {
        Some(u) => u,
        None => free_username(&state, &format!("{}-copy", source.username)).await?,
    };
    let input = UserInput {
        username: Some(username),
        display_name: req.display_name,
        emails: req.emails,
        ..Default::default()
    };
    let fields = input.apply(base, &state.rules)?;
    let user = state.store.create_user(&fields, None, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::User, &user, &user.custom_fields).await?)))
}

async fn free_username(state: &AppState, base: &str) -> ApiResult<String> {
    for n in 1..100 {
        let candidate = if n == 1 { base.to_string() } else { format!("{base}{n}") };
        if state.store.find_user_id(&candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(Error::invalid("username", "choose a username for the copy").into())
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
    caller.require(Permission::UsersView)?;
    let id = parse_id(&id)?;
    state.store.get_user(UserId(id)).await?;
    let cursor = parse_id_cursor(p.cursor.as_deref())?;
    Ok(Json(state.store.list_changes("user", id, parse_limit(p.limit.as_deref())?, cursor).await?))
}

/// Cursors of lists ordered by id (change log, comments): the last id seen.
pub(crate) fn parse_id_cursor(raw: Option<&str>) -> Result<Option<i64>, Error> {
    match raw.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => {
            c.parse::<i64>().map(Some).map_err(|_| Error::invalid("cursor", "is not a cursor this list gave out"))
        }
    }
}
