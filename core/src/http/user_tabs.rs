//! A user's tabs (tickets, chats, calls, surveys, organizations, stats, history), merging two
//! users, and the portal's `GET /me/tickets`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::organizations::TabQuery;
use super::users::parse_id;
use crate::domain::organization::{Membership, Tab, TabItem};
use crate::domain::user::User;
use crate::domain::user::{UserHistory, UserStats};
use crate::domain::{Error, UserId};
use crate::services::{portal, users};

use crate::domain::records::TicketState;
use crate::store::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{id}/tickets", get(user_tickets))
        .route("/users/{id}/chats", get(user_chats))
        .route("/users/{id}/calls", get(user_calls))
        .route("/users/{id}/surveys", get(user_surveys))
        .route("/users/{id}/organizations", get(user_organizations))
        .route("/users/{id}/stats", get(user_stats))
        .route("/users/{id}/history", get(user_history))
        .route("/users/{id}/merge", post(merge_user))
        .route("/me/tickets", get(my_tickets))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserTicketsQuery {
    /// `open` (open and pending) or `resolved` (resolved and closed); all when absent.
    pub state: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The user's tickets — linked to their account or sent from one of their addresses — newest
/// first, open and resolved apart with `state`.
#[utoipa::path(get, path = "/api/v1/users/{id}/tickets", tag = "users", params(("id" = i64, Path), UserTicketsQuery),
    responses((status = 200, body = Page<Object>), (status = 404, body = ErrorBody)))]
pub async fn user_tickets(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<UserTicketsQuery>,
) -> ApiResult<Json<Page<TabItem>>> {
    let filter = TicketState::parse(p.state.as_deref()).map_err(|why| Error::invalid("state", why))?;
    let id = UserId(parse_id(&id)?);
    Ok(Json(users::tab(&state, &caller, id, Tab::Tickets, filter, p.limit.as_deref(), p.cursor.as_deref()).await?))
}

macro_rules! user_tab {
    ($name:ident, $tab:expr, $path:literal, $what:literal) => {
        #[doc = concat!("The user's ", $what, ", newest first.")]
        #[utoipa::path(get, path = $path, tag = "users", params(("id" = i64, Path), TabQuery),
                                    responses((status = 200, body = Page<Object>), (status = 404, body = ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            ApiQuery(p): ApiQuery<TabQuery>,
        ) -> ApiResult<Json<Page<TabItem>>> {
            let id = UserId(parse_id(&id)?);
            Ok(Json(users::tab(&state, &caller, id, $tab, None, p.limit.as_deref(), p.cursor.as_deref()).await?))
        }
    };
}

user_tab!(
    user_chats,
    Tab::Chats,
    "/api/v1/users/{id}/chats",
    "live chats (linked to the account or from one of their addresses)"
);
user_tab!(user_calls, Tab::Calls, "/api/v1/users/{id}/calls", "calls (from one of their addresses or phone numbers)");
user_tab!(
    user_surveys,
    Tab::Surveys,
    "/api/v1/users/{id}/surveys",
    "surveys (sent to the account or one of their addresses)"
);

/// The organizations the user belongs to, each with its ticket count and the matching rules.
#[utoipa::path(get, path = "/api/v1/users/{id}/organizations", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Page<Object>), (status = 404, body = ErrorBody)))]
pub async fn user_organizations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<Membership>>> {
    let items = users::organizations_of(&state, &caller, UserId(parse_id(&id)?)).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

/// Counts of the user's tickets (open, resolved), chats, calls (and their time) and surveys.
#[utoipa::path(get, path = "/api/v1/users/{id}/stats", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserStats), (status = 404, body = ErrorBody)))]
pub async fn user_stats(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserStats>> {
    Ok(Json(users::stats(&state, &caller, UserId(parse_id(&id)?)).await?))
}

/// Last login and the time of the user's last ticket, chat, call and survey.
#[utoipa::path(get, path = "/api/v1/users/{id}/history", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserHistory), (status = 404, body = ErrorBody)))]
pub async fn user_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserHistory>> {
    Ok(Json(users::history(&state, &caller, UserId(parse_id(&id)?)).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The user merged into this one and then deleted.
    pub source_id: i64,
}

/// Merges `source_id` into this user: every address, phone, label, role, ticket, chat, survey
/// and comment of the source moves here, in one transaction; the change log says who merged what.
#[utoipa::path(post, path = "/api/v1/users/{id}/merge", tag = "users", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> ApiResult<Json<User>> {
    Ok(Json(users::merge(&state, &caller, UserId(parse_id(&id)?), req.source_id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MyTicketsQuery {
    /// `mine` (default): tickets linked to the caller's account; `organization`: all tickets of
    /// the caller's organizations whose rules allow it (403 otherwise).
    pub scope: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The caller's tickets, or their organizations' (SPEC 3: a username rule naming them with
/// `view_org_tickets`, or an email/domain rule with it matching one of their verified addresses).
#[utoipa::path(get, path = "/api/v1/me/tickets", tag = "auth", params(MyTicketsQuery),
    responses((status = 200, body = Page<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn my_tickets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<MyTicketsQuery>,
) -> ApiResult<Json<Page<TabItem>>> {
    let scope = portal::Scope::parse(p.scope.as_deref())?;
    Ok(Json(portal::tickets(&state, &caller, scope, p.limit.as_deref(), p.cursor.as_deref()).await?))
}
