//! `/tokens`: the caller's API tokens (administrators: anyone's), created with an optional
//! expiry and revoked by id. The rules are [`crate::services::tokens`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::users::parse_id;
use crate::domain::{Error, UserId};
use crate::services::tokens::{self, NewToken};
use crate::store::{ApiToken, Page};

pub fn router() -> Router<AppState> {
    Router::new().route("/tokens", get(list_tokens).post(create_token)).route("/tokens/{id}", delete(revoke_token))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokensQuery {
    /// Another user's tokens (administrators).
    pub user_id: Option<String>,
    /// `true`: everyone's tokens (administrators).
    pub all: Option<String>,
}

fn user_param(raw: Option<&str>) -> Result<Option<UserId>, Error> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Some(UserId(n)))
            .ok_or_else(|| Error::invalid("user_id", "must be a user id")),
    }
}

/// The caller's API tokens (revoked ones too), newest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", params(TokensQuery),
    responses((status = 200, body = Page<ApiToken>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TokensQuery>,
) -> ApiResult<Json<Page<ApiToken>>> {
    let all = q.all.as_deref() == Some("true");
    let items = tokens::list(&state, &caller, user_param(q.user_id.as_deref())?, all).await?;
    Ok(Json(Page { total: items.len() as i64, items, next_cursor: None }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for (at most 100 characters).
    #[serde(default)]
    pub name: String,
    /// Days until it stops working (1 to 3650); never when absent.
    pub expires_in_days: Option<i64>,
    /// Another user's token (administrators).
    pub user_id: Option<i64>,
}

/// Creates an API token; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = CreateTokenRequest,
    responses((status = 201, body = NewToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    let user = req.user_id.map(UserId);
    let t = tokens::create(&state, &caller, user, &req.name, req.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Revokes a token: it is refused from the next request on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, &caller, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
