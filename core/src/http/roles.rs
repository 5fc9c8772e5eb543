//! `/roles`: the built-in and custom roles, and their permissions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::ApiJson;
use super::users::parse_id;
use crate::domain::role::{Permission, PermissionSet, Role, RoleKind, check_role_name, is_derived};
use crate::domain::{Checker, Error, RoleId};
use crate::store::{Page, RoleWrite};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list_roles).post(create_role))
        .route("/roles/{id}", get(get_role).patch(update_role).delete(delete_role))
}

/// A role as a caller sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub name: Option<String>,
    /// `user` or `agent`; required on create, fixed afterwards.
    pub kind: Option<String>,
    pub description: Option<String>,
    /// Permission names; only agent roles carry them.
    pub permissions: Option<Vec<String>>,
}

impl RoleInput {
    fn check(&self) -> Result<RoleWrite, Error> {
        let mut c = Checker::default();
        let name = self.name.as_deref().and_then(|n| c.take("name", check_role_name(n)));
        if name.as_deref().is_some_and(is_derived) {
            c.fail("name", "is reserved for a derived role");
        }
        let kind = match self.kind.as_deref() {
            None => None,
            Some(k) => c.take("kind", RoleKind::parse(k).ok_or_else(|| "must be user or agent".to_string())),
        };
        if let Some(d) = &self.description {
            c.max_len("description", d, 1000);
        }
        let permissions = self.permissions.as_ref().map(|list| {
            let mut set = PermissionSet::default();
            for (i, p) in list.iter().enumerate() {
                match Permission::parse(p) {
                    Some(p) => {
                        set.0.insert(p);
                    }
                    None => c.fail(format!("permissions[{i}]"), format!("no permission named `{p}`")),
                }
            }
            set
        });
        c.finish()?;
        Ok(RoleWrite { name, kind, description: self.description.clone(), permissions })
    }
}

/// Every role: derived user roles, built-in and custom ones.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles",
    responses((status = 200, body = Page<Role>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_roles(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Page<Role>>> {
    if !caller.has(Permission::RolesManage) {
        caller.require(Permission::UsersView)?;
    }
    let items = state.store.list_roles().await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 200, body = Role), (status = 404, body = ErrorBody)))]
pub async fn get_role(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Role>> {
    if !caller.has(Permission::RolesManage) {
        caller.require(Permission::UsersView)?;
    }
    Ok(Json(state.store.get_role(RoleId(parse_id(&id)?)).await?))
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = Role), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<RoleInput>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    caller.require(Permission::RolesManage)?;
    let role = state.store.create_role(&input.check()?, &caller.actor()).await?;
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
    caller.require(Permission::RolesManage)?;
    let id = RoleId(parse_id(&id)?);
    Ok(Json(state.store.update_role(id, &input.check()?, &caller.actor()).await?))
}

#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::RolesManage)?;
    state.store.delete_role(RoleId(parse_id(&id)?), &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
