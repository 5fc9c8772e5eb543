//! Who is calling: bearer tokens (agent API tokens and login sessions), password login,
//! logout, and `GET /me`.

use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::clock::to_rfc3339;
use crate::domain::Error;
use crate::domain::user::User;
use crate::services::accounts;

pub fn router() -> Router<AppState> {
    // A login body holds a name and a password of at most 512 bytes: anything much larger is
    // refused (413) before it is even read in full.
    Router::new()
        .route("/auth/login", post(login).layer(axum::extract::DefaultBodyLimit::max(16 * 1024)))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

pub use crate::services::Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let bearer = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim);
        // The session cookie (set by a browser login) counts for the JSON API's reads only: a
        // change needs the bearer header a cross-site page cannot send. (Pages take the cookie
        // for their CSRF-checked forms, in `web`.)
        let cookie = if bearer.is_none() && (parts.method == Method::GET || parts.method == Method::HEAD) {
            crate::web::cookie(&parts.headers, crate::web::session_cookie_name(state))
        } else {
            None
        };
        let token = bearer.or(cookie.as_deref()).ok_or(Error::Unauthenticated)?;
        Ok(accounts::authenticate(state, token).await?.ok_or(Error::Unauthenticated)?)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// RFC 3339; the session also ends after the configured idle time.
    pub expires_at: String,
    pub user: User,
}

/// Logs in with a username and password, whatever checks the password (Kith's own hash, a
/// directory, a plugin). Unknown users, wrong passwords and users who log in some other way all
/// get the same 401 after the same work; a client address or account name that keeps failing
/// gets 429 with `Retry-After` (unknown names too, so it reveals nothing).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    Ok(Json(accounts::password_login(&state, addr, &req.username, req.password).await?.into()))
}

impl From<accounts::Session> for LoginResponse {
    fn from(s: accounts::Session) -> Self {
        LoginResponse { token: s.token, expires_at: to_rfc3339(s.expires_at), user: s.user }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LogoutQuery {
    /// `true` ends every session of the caller, on every device.
    pub everywhere: Option<String>,
}

/// Ends the caller's session (or all of them).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", params(LogoutQuery),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LogoutQuery>,
) -> ApiResult<StatusCode> {
    accounts::logout(&state, &caller, q.everywhere.as_deref() == Some("true")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own record.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<User>> {
    Ok(Json(crate::services::users::me(&state, &caller).await?))
}
