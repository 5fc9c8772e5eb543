//! A user's tabs (tickets, chats, calls, surveys, organizations, stats, history), merging two
//! users, and the portal's `GET /me/tickets`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::organizations::TabQuery;
use super::users::{ChangesQuery, parse_id};
use crate::domain::organization::{Membership, Tab, TabItem};
use crate::domain::user::User;
use crate::domain::user::{UserHistory, UserStats};
use crate::domain::{Error, UserId};
use crate::services::{portal, users};

use crate::domain::records::TicketState;
use crate::store::{Comment, Page};

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
        .route("/users/{id}/comments", get(list_user_comments).post(add_user_comment))
        .route("/users/{id}/comments/{comment_id}", patch(update_user_comment).delete(delete_user_comment))
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

// ---- comments ----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCommentInput {
    pub body: String,
    /// Shown in the user's record header until taken off (default false).
    pub sticky: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCommentEdit {
    pub sticky: bool,
}

/// The user's agent-only comments, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/comments", tag = "users", params(("id" = i64, Path), ChangesQuery),
    responses((status = 200, body = Page<Comment>), (status = 404, body = ErrorBody)))]
pub async fn list_user_comments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Page<Comment>>> {
    let id = UserId(parse_id(&id)?);
    Ok(Json(users::comments(&state, &caller, id, p.limit.as_deref(), p.cursor.as_deref()).await?))
}

/// Adds an agent-only comment about the user (needs `comment`).
#[utoipa::path(post, path = "/api/v1/users/{id}/comments", tag = "users", params(("id" = i64, Path)), request_body = UserCommentInput,
    responses((status = 201, body = Comment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_user_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UserCommentInput>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let id = UserId(parse_id(&id)?);
    let c = users::add_comment(&state, &caller, id, &input.body, input.sticky.unwrap_or(false)).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Pins a comment to the user's header (`sticky: true`) or takes it off.
#[utoipa::path(patch, path = "/api/v1/users/{id}/comments/{comment_id}", tag = "users",
    params(("id" = i64, Path), ("comment_id" = i64, Path)), request_body = UserCommentEdit,
    responses((status = 200, body = Comment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_user_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, comment)): Path<(String, String)>,
    ApiJson(input): ApiJson<UserCommentEdit>,
) -> ApiResult<Json<Comment>> {
    let (id, comment) = (UserId(parse_id(&id)?), parse_id(&comment)?);
    Ok(Json(users::set_comment_sticky(&state, &caller, id, comment, input.sticky).await?))
}

/// Deletes a comment: its author, or an agent with `users_delete`.
#[utoipa::path(delete, path = "/api/v1/users/{id}/comments/{comment_id}", tag = "users",
    params(("id" = i64, Path), ("comment_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_user_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, comment)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, comment) = (UserId(parse_id(&id)?), parse_id(&comment)?);
    users::delete_comment(&state, &caller, id, comment).await?;
    Ok(StatusCode::NO_CONTENT)
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
