//! `/organizations`: search, create, edit, delete; membership rules and their preview; the
//! users, tickets, chats, calls and surveys tabs; agent-only comments; the change log.

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
use super::extract::{ApiJson, ApiQuery};
use super::users::{ChangesQuery, parse_fragment, parse_id, parse_limit, parse_order};
use crate::domain::change::Change;
use crate::domain::custom_field::Entity;
use crate::domain::organization::{
    Organization, OrganizationFields, OrganizationId, OrganizationInput, Rule, RuleId, RuleInput, RuleSpec, Tab,
};
use crate::domain::role::Permission;
use crate::domain::{Error, Result};
use crate::store::{Comment, Cursor, OrgQuery, OrgSort, Page, TabCounts};

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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListOrganizationsQuery {
    /// A fragment of the name, website or phone number, any letter case.
    pub q: Option<String>,
    /// name (default), website or phone.
    pub sort: Option<String>,
    /// asc (default) or desc.
    pub order: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", params(ListOrganizationsQuery),
    responses((status = 200, body = Page<Organization>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListOrganizationsQuery>,
) -> ApiResult<Json<Page<Organization>>> {
    caller.require(Permission::OrganizationsView)?;
    let sort = match p.sort.as_deref().unwrap_or("name") {
        "name" => OrgSort::Name,
        "website" => OrgSort::Website,
        "phone" => OrgSort::Phone,
        _ => return Err(Error::invalid("sort", "must be name, website or phone").into()),
    };
    let descending = parse_order(p.order.as_deref())?;
    let q = parse_fragment(p.q.as_deref())?;
    let after = p.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    if after.as_ref().is_some_and(|c| c.s.is_none()) {
        return Err(Error::invalid("cursor", "is not a cursor this list gave out").into());
    }
    let query = OrgQuery { q, sort, descending, limit: parse_limit(p.limit.as_deref())?, after };
    Ok(Json(state.store.list_orgs(&query).await?))
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations", request_body = OrganizationInput,
    responses((status = 201, body = Organization), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut input): ApiJson<OrganizationInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Permission::OrganizationsEdit)?;
    let given = input.custom_fields.take().unwrap_or_default();
    input.custom_fields = Some(check_values(&state, Entity::Organization, &given, true).await?);
    let fields = input.apply(OrganizationFields::default())?;
    let org = state.store.create_org(&fields, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?)))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = Organization), (status = 404, body = ErrorBody)))]
pub async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrganizationsView)?;
    let org = state.store.get_org(org_id(&id)?).await?;
    Ok(Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?))
}

#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), request_body = OrganizationInput,
    responses((status = 200, body = Organization), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut input): ApiJson<OrganizationInput>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrganizationsEdit)?;
    if let Some(given) = input.custom_fields.take() {
        input.custom_fields = Some(check_values(&state, Entity::Organization, &given, false).await?);
    }
    let edit = move |current: &Organization| input.apply(current.to_fields());
    let org = state.store.update_org(org_id(&id)?, edit, &caller.actor()).await?;
    Ok(Json(with_display(&state, Entity::Organization, &org, &org.custom_fields).await?))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::OrganizationsDelete)?;
    state.store.delete_org(org_id(&id)?, &caller.actor()).await?;
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
    caller.require(Permission::OrganizationsView)?;
    let items = state.store.list_rules(org_id(&id)?).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

fn check_rule(state: &AppState, input: &RuleInput, base: Option<&RuleSpec>) -> Result<RuleSpec> {
    input.apply(base, &state.config.phone.default_region, &state.config.membership.public_domains)
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
    caller.require(Permission::OrganizationsEdit)?;
    let org = org_id(&id)?;
    let spec = check_rule(&state, &input, None)?;
    Ok((StatusCode::CREATED, Json(state.store.create_rule(org, &spec, &caller.actor()).await?)))
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
    caller.require(Permission::OrganizationsEdit)?;
    let (org, rule) = (org_id(&id)?, RuleId(parse_id(&rule_id)?));
    let st = state.clone();
    let edit = move |current: &RuleSpec| check_rule(&st, &input, Some(current));
    Ok(Json(state.store.update_rule(org, rule, edit, &caller.actor()).await?))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{rule_id}", tag = "organizations",
    params(("id" = i64, Path), ("rule_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::OrganizationsEdit)?;
    state.store.delete_rule(org_id(&id)?, RuleId(parse_id(&rule_id)?), &caller.actor()).await?;
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
    caller.require(Permission::OrganizationsEdit)?;
    state.store.get_org(org_id(&id)?).await?;
    let spec = check_rule(&state, &RuleInput { confirm_public_domain: true, ..input }, None)?;
    Ok(Json(state.store.preview_rule(&spec).await?))
}

// ---- tabs ----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TabQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

async fn tab(state: &AppState, caller: &Caller, id: &str, tab: Tab, p: &TabQuery) -> ApiResult<Json<Page<Value>>> {
    caller.require(Permission::OrganizationsView)?;
    if tab == Tab::Users {
        caller.require(Permission::UsersView)?;
    }
    let after = p.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    Ok(Json(state.store.org_tab(org_id(id)?, tab, parse_limit(p.limit.as_deref())?, after).await?))
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
        ) -> ApiResult<Json<Page<Value>>> {
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
    caller.require(Permission::OrganizationsView)?;
    let cursor = super::users::parse_id_cursor(p.cursor.as_deref())?;
    Ok(Json(state.store.list_org_comments(org_id(&id)?, parse_limit(p.limit.as_deref())?, cursor).await?))
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
    caller.require(Permission::OrganizationsView)?;
    caller.require(Permission::Comment)?;
    let body = input.body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "is required").into());
    }
    if body.chars().count() > 10_000 {
        return Err(Error::invalid("body", "too long (at most 10000 characters)").into());
    }
    Ok((StatusCode::CREATED, Json(state.store.add_org_comment(org_id(&id)?, &caller.actor(), body).await?)))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/changes", tag = "organizations", params(("id" = i64, Path), ChangesQuery),
    responses((status = 200, body = Page<Change>), (status = 404, body = ErrorBody)))]
pub async fn list_organization_changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Page<Change>>> {
    caller.require(Permission::OrganizationsView)?;
    let id = org_id(&id)?;
    state.store.get_org(id).await?;
    let cursor = super::users::parse_id_cursor(p.cursor.as_deref())?;
    Ok(Json(state.store.list_changes("organization", id.0, parse_limit(p.limit.as_deref())?, cursor).await?))
}
