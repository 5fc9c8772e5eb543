//! `/plugins`: what is installed, its state and counters; enabling, configuring and granting
//! hosts (admins); plugin actions; and plugin-supplied organization tabs. The rules are
//! [`crate::services::plugins`]'s.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, require_json};
use super::organizations::org_id;
use crate::services::plugins;
pub use crate::services::plugins::{PluginPatch, PluginView, call_error};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list_plugins))
        .route("/plugins/reload", post(reload_plugins))
        .route("/plugins/{id}", get(get_plugin).patch(update_plugin))
        .route("/plugins/{id}/actions/{name}", post(run_action))
        .route("/organizations/{id}/tabs/{tab}", get(org_plugin_tab))
}

/// Installed plugins with their state, counters and settings, and folders that failed to load.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
pub async fn list_plugins(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<plugins::PluginList>> {
    Ok(Json(plugins::list(&state, &caller).await?))
}

#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins", params(("id" = String, Path)),
    responses((status = 200, body = PluginView), (status = 404, body = ErrorBody)))]
pub async fn get_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PluginView>> {
    Ok(Json(plugins::get(&state, &caller, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/plugins/{id}", tag = "plugins", params(("id" = String, Path)),
    request_body = PluginPatch,
    responses((status = 200, body = PluginView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PluginPatch>,
) -> ApiResult<Json<PluginView>> {
    Ok(Json(plugins::update(&state, &caller, &id, patch).await?))
}

#[utoipa::path(post, path = "/api/v1/plugins/reload", tag = "plugins",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
pub async fn reload_plugins(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(plugins::reload(&state, &caller).await?))
}

/// A plugin's own JSON action; the host checks the permission the manifest names and caps
/// the sizes both ways.
#[utoipa::path(post, path = "/api/v1/plugins/{id}/actions/{name}", tag = "plugins",
    params(("id" = String, Path), ("name" = String, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn run_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    plugins::check_action(&state, &caller, &id, &name)?;
    require_json(&headers)?;
    Ok(Json(plugins::run_action(&state, &caller, &id, &name, &body).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PluginTabQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A tab an organization-tab plugin supplies (e.g. Forms). When the plugin fails, the answer
/// is still 200 with `error` set, so the page around the tab renders.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/tabs/{tab}", tag = "organizations",
    params(("id" = i64, Path), ("tab" = String, Path), PluginTabQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn org_plugin_tab(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tab)): Path<(String, String)>,
    Query(q): Query<PluginTabQuery>,
) -> ApiResult<Json<Value>> {
    let org = org_id(&id)?;
    Ok(Json(plugins::org_tab(&state, &caller, org, &tab, q.page.as_deref(), q.per_page.as_deref()).await?))
}
