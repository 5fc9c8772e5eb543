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
use crate::auth::{MAX_PASSWORD_BYTES, new_token, token_hash, token_kind};
use crate::clock::to_rfc3339;
use crate::domain::change::{Actor, ActorKind};
use crate::domain::role::{Permission, PermissionSet};
use crate::domain::user::User;
use crate::domain::{Error, UserId};
use crate::store::{NewSession, TokenKind};

pub fn router() -> Router<AppState> {
    // A login body holds a name and a password of at most 512 bytes: anything much larger is
    // refused (413) before it is even read in full.
    Router::new()
        .route("/auth/login", post(login).layer(axum::extract::DefaultBodyLimit::max(16 * 1024)))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_agent: bool,
    pub permissions: PermissionSet,
    pub via: TokenKind,
    token_hash: String,
}

impl Caller {
    /// 403 unless the caller holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.permissions.has(p) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("this needs the `{}` permission", p.as_str())).into())
        }
    }

    pub fn has(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }

    /// The hash of the session this request came with (`None` for an API token).
    pub fn session_hash(&self) -> Option<&str> {
        (self.via == TokenKind::Session).then_some(self.token_hash.as_str())
    }

    /// How the change log names this caller.
    pub fn actor(&self) -> Actor {
        let kind = if self.is_agent { ActorKind::Agent } else { ActorKind::User };
        Actor { kind, id: Some(self.id.0), name: self.username.clone() }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let bearer = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim);
        // The session cookie (set by a browser login) counts for reads only: until forms carry
        // CSRF tokens, every change needs the bearer header a cross-site page cannot send.
        let cookie = if bearer.is_none() && (parts.method == Method::GET || parts.method == Method::HEAD) {
            super::pages::cookie(&parts.headers, super::oauth::session_cookie_name(state))
        } else {
            None
        };
        let token =
            bearer.or(cookie.as_deref()).filter(|t| !t.is_empty() && t.len() <= 200).ok_or(Error::Unauthenticated)?;
        let kind = token_kind(token).ok_or(Error::Unauthenticated)?;
        let hash = token_hash(token);
        let idle = state.config.auth.session_idle_minutes * 60_000;
        let (id, username, display_name, roles) =
            state.store.caller(&hash, kind, idle).await?.ok_or(Error::Unauthenticated)?;
        let mut permissions = PermissionSet::default();
        let mut is_agent = false;
        for r in &roles {
            permissions.extend(&r.effective_permissions());
            is_agent |= r.kind == crate::domain::role::RoleKind::Agent;
        }
        Ok(Caller { id, username, display_name, is_agent, permissions, via: kind, token_hash: hash })
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
    Ok(Json(password_login(&state, addr, &req.username, req.password).await?))
}

/// A login with a name and password from any front (the JSON API, the login page): the
/// address limiter, the account name's throttle, the credential check, the new session.
pub(crate) async fn password_login(
    state: &AppState,
    addr: std::net::IpAddr,
    username: &str,
    password: String,
) -> Result<LoginResponse, ApiError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid("password", format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")).into());
    }
    state.login_limiter.take(addr, state.store.now())?;
    // no account name is this long or holds control characters (PostgreSQL text cannot even
    // hold a NUL): refused like a wrong password, before anything is looked up
    if username.len() > 320 || username.chars().any(char::is_control) {
        return Err(Error::Unauthenticated.into());
    }
    let account_key = username.trim().to_lowercase();
    if let Some(wait) = state.store.reserve_login_attempt(&account_key, &state.config.auth.login_policy()).await? {
        tracing::info!(event = "login_throttled", address = %addr, "login refused: account name is cooling down");
        return Err(Error::RateLimited(wait).into());
    }
    let Some(accepted) = crate::login::check_password(state, username, password).await? else {
        tracing::info!(event = "login_failed", address = %addr, "login refused");
        return Err(Error::Unauthenticated.into());
    };
    let (id, method) = (accepted.user, accepted.method);
    let response = open_session(state, id, &method, addr, Some(&account_key), accepted.rehash.as_deref()).await?;
    state.login_limiter.give_back(addr);
    Ok(response)
}

/// Turns an accepted login into a new session (a fresh token: nothing the client brought is
/// reused) and answers what the client gets.
pub(crate) async fn open_session(
    state: &AppState,
    id: UserId,
    method: &str,
    addr: std::net::IpAddr,
    account_key: Option<&str>,
    rehash: Option<&str>,
) -> Result<LoginResponse, ApiError> {
    let token = new_token(TokenKind::Session);
    let auth = &state.config.auth;
    let expires = state
        .store
        .complete_login(&NewSession {
            user: id,
            token_hash: &token_hash(&token),
            method,
            address: &addr.to_string(),
            account_key,
            new_password_hash: rehash,
            idle_ms: auth.session_idle_minutes * 60_000,
            absolute_ms: auth.session_absolute_hours * 3_600_000,
            max_sessions: auth.max_sessions_per_user,
        })
        .await?;
    let user = state.store.get_user(id).await?;
    tracing::info!(event = "login", user_id = id.0, method = %method, address = %addr, "logged in");
    Ok(LoginResponse { token, expires_at: to_rfc3339(expires), user })
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
    if q.everywhere.as_deref() == Some("true") {
        let n = state.store.delete_user_sessions(caller.id).await?;
        tracing::info!(event = "logout_everywhere", user_id = caller.id.0, sessions = n, "sessions revoked");
    } else if caller.via == TokenKind::Session {
        state.store.delete_session(&caller.token_hash).await?;
        tracing::info!(event = "logout", user_id = caller.id.0, "session ended");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own record.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(caller.id).await?))
}
