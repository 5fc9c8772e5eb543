//! `/organizations`: search, create, edit, delete; membership rules and their preview; the
//! users, tickets, chats, calls and surveys tabs; agent-only comments; the change log.

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
use super::extract::{ApiJson, ApiQuery, IfMatch, etag};
use super::users::{ChangesQuery, parse_id};
use crate::domain::Result;
use crate::domain::change::Change;
use crate::domain::custom_field::Entity;
use crate::domain::organization::{
    Organization, OrganizationId, OrganizationInput, Rule, RuleId, RuleInput, Tab, TabItem,
};
use crate::services::organizations;
use crate::store::{Comment, Page, TabCounts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(list_organizations).post(create_organization))
        .route("/organizations/{id}", get(get_organization).patch(update_organization).delete(delete_organization))
        .route("/organizations/{id}/members", get(list_members).post(add_member))
        .route("/organizations/{id}/members/preview", post(preview_member))
        .route("/organizations/{id}/members/{rule_id}", axum::routing::patch(update_member).delete(delete_member))
        .route("/organizations/{id}/users", get(org_users))
        .route("/organizations/{id}/tickets", get(org_tickets))
        .route("/organizations/{id}/chats", get(org_chats))
        .route("/organizations/{id}/calls", get(org_calls))
        .route("/organizations/{id}/surveys", get(org_surveys))
        .route("/organizations/{id}/comments", get(list_comments).post(add_comment))
        .route("/organizations/{id}/changes", get(list_organization_changes))
}

pub fn org_id(raw: &str) -> Result<OrganizationId> {
    parse_id(raw).map(OrganizationId)
}

pub use crate::services::organizations::ListParams as ListOrganizationsQuery;

#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", params(ListOrganizationsQuery),
    responses((status = 200, body = Page<Organization>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListOrganizationsQuery>,
) -> ApiResult<Json<Page<Organization>>> {
    Ok(Json(organizations::list(&state, &caller, &p).await?))
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations", request_body = OrganizationInput,
    responses((status = 201, body = Organization), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let org = organizations::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?)))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = Organization), (status = 404, body = ErrorBody)))]
pub async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let org = organizations::get(&state, &caller, org_id(&id)?).await?;
    Ok((etag(org.version), Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?)))
}

#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), request_body = OrganizationInput,
    params(("If-Match" = Option<String>, Header, description = "the version the edit was made over, as \"7\"")),
    responses((status = 200, body = Organization), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(mut input): ApiJson<OrganizationInput>,
) -> ApiResult<impl IntoResponse> {
    if_match.apply(&mut input.version)?;
    let org = organizations::update(&state, &caller, org_id(&id)?, input).await.map_err(|e| if_match.answer(e))?;
    Ok((etag(org.version), Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?)))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    organizations::delete(&state, &caller, org_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- membership rules ----

#[utoipa::path(get, path = "/api/v1/organizations/{id}/members", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = Page<Rule>), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<Rule>>> {
    let items = organizations::rules(&state, &caller, org_id(&id)?).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

/// Adds a membership rule. Values are normalized; malformed values, unknown usernames,
/// duplicates, public mail domains (unless confirmed) and `view_org_tickets` on a phone rule
/// are refused.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members", tag = "organizations", params(("id" = i64, Path)), request_body = RuleInput,
    responses((status = 201, body = Rule), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    let rule = organizations::add_rule(&state, &caller, org_id(&id)?, input).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(patch, path = "/api/v1/organizations/{id}/members/{rule_id}", tag = "organizations",
    params(("id" = i64, Path), ("rule_id" = i64, Path)), request_body = RuleInput,
    responses((status = 200, body = Rule), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<Rule>> {
    let (org, rule) = (org_id(&id)?, RuleId(parse_id(&rule_id)?));
    Ok(Json(organizations::update_rule(&state, &caller, org, rule, input).await?))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{rule_id}", tag = "organizations",
    params(("id" = i64, Path), ("rule_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    organizations::delete_rule(&state, &caller, org_id(&id)?, RuleId(parse_id(&rule_id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many users, tickets, chats, calls and surveys a rule would pull in; nothing is saved.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members/preview", tag = "organizations", params(("id" = i64, Path)), request_body = RuleInput,
    responses((status = 200, body = TabCounts), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RuleInput>,
) -> ApiResult<Json<TabCounts>> {
    Ok(Json(organizations::preview_rule(&state, &caller, org_id(&id)?, input).await?))
}

// ---- tabs ----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TabQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

async fn tab(state: &AppState, caller: &Caller, id: &str, tab: Tab, p: &TabQuery) -> ApiResult<Json<Page<TabItem>>> {
    Ok(Json(organizations::tab(state, caller, org_id(id)?, tab, p.limit.as_deref(), p.cursor.as_deref()).await?))
}

macro_rules! tab_handler {
    ($name:ident, $tab:expr, $path:literal, $what:literal) => {
        #[doc = concat!("The organization's ", $what, ", newest first; every item says which rules pulled it in (`matched_by`).")]
        #[utoipa::path(get, path = $path, tag = "organizations", params(("id" = i64, Path), TabQuery),
            responses((status = 200, body = Page<Object>), (status = 404, body = ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            ApiQuery(p): ApiQuery<TabQuery>,
        ) -> ApiResult<Json<Page<TabItem>>> {
            tab(&state, &caller, &id, $tab, &p).await
        }
    };
}

tab_handler!(org_users, Tab::Users, "/api/v1/organizations/{id}/users", "members (users)");
tab_handler!(org_tickets, Tab::Tickets, "/api/v1/organizations/{id}/tickets", "tickets");
tab_handler!(org_chats, Tab::Chats, "/api/v1/organizations/{id}/chats", "live chats");
tab_handler!(org_calls, Tab::Calls, "/api/v1/organizations/{id}/calls", "call logs");
tab_handler!(org_surveys, Tab::Surveys, "/api/v1/organizations/{id}/surveys", "surveys");

// ---- comments and changes ----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/comments", tag = "organizations", params(("id" = i64, Path), ChangesQuery),
    responses((status = 200, body = Page<Comment>), (status = 404, body = ErrorBody)))]
pub async fn list_comments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Page<Comment>>> {
    Ok(Json(organizations::comments(&state, &caller, org_id(&id)?, p.limit.as_deref(), p.cursor.as_deref()).await?))
}

/// Adds an agent-only comment.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/comments", tag = "organizations", params(("id" = i64, Path)), request_body = CommentInput,
    responses((status = 201, body = Comment), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    Ok((StatusCode::CREATED, Json(organizations::add_comment(&state, &caller, org_id(&id)?, &input.body).await?)))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/changes", tag = "organizations", params(("id" = i64, Path), ChangesQuery),
    responses((status = 200, body = Page<Change>), (status = 404, body = ErrorBody)))]
pub async fn list_organization_changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Page<Change>>> {
    Ok(Json(organizations::changes(&state, &caller, org_id(&id)?, p.limit.as_deref(), p.cursor.as_deref()).await?))
}
