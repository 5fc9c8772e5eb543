//! Forgotten passwords. `POST /api/v1/auth/password/forgot` queues a reset link for an address
//! and answers the same whether anybody owns it (the job worker finds that out, RELIABILITY
//! A9); `POST /api/v1/auth/password/reset` sets a new password with a link's token, which works
//! once, and ends every session of the account. The login page's forms call the same two
//! functions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ClientAddr};
use crate::auth::{MAX_PASSWORD_BYTES, token_hash};
use crate::domain::address::normalize_email;
use crate::domain::user::check_password;
use crate::domain::{Error, UserId};
use crate::jobs::{Task, enqueue};

pub fn router() -> Router<AppState> {
    let small = axum::extract::DefaultBodyLimit::max(16 * 1024);
    Router::new()
        .route("/auth/password/forgot", post(forgot).layer(small))
        .route("/auth/password/reset", post(reset).layer(small))
        .route("/me/password", post(change_own).layer(small))
}

/// What every forgot-password request is told, whoever owns the address.
pub const FORGOT_ANSWER: &str =
    "If an account that logs in with a password uses this address, a link to reset the password is on its way.";

/// The token of an unknown, used or expired link.
const DEAD_LINK: &str = "this link is unknown, used or expired; ask for a new one";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    /// Any address of the account; the link goes to its primary address.
    pub email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ForgotResponse {
    pub message: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The `token` of the link in the e-mail.
    pub token: String,
    /// The new password (the password policy applies).
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The password policy applies.
    pub new_password: String,
    /// Log out every other session of the account (default `true`); the one making this
    /// request stays logged in.
    #[serde(default = "yes")]
    pub end_other_sessions: bool,
}

fn yes() -> bool {
    true
}

/// Changes the caller's own password (accounts that log in with a Kith password). A wrong
/// `current_password` counts against the account name's login throttle, like a failed login.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_own(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    for (field, value) in [("current_password", &req.current_password), ("new_password", &req.new_password)] {
        if value.len() > MAX_PASSWORD_BYTES {
            return Err(Error::invalid(field, format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")).into());
        }
    }
    let Some(record) = state.store.find_login(&caller.username).await? else { return Err(Error::NotFound.into()) };
    if record.auth_method != "password" {
        let why = format!("this account logs in through {}; its password is changed there", record.auth_method);
        return Err(Error::invalid("current_password", why).into());
    }
    // the new password is checked first: a refused one costs no attempt of the throttle
    check_password(&req.new_password, &caller.username, &state.rules)
        .map_err(|why| Error::invalid("new_password", why))?;
    let account_key = crate::domain::user::username_key(&caller.username);
    if let Some(wait) = state.store.reserve_login_attempt(&account_key, &state.config.auth.login_policy()).await? {
        return Err(Error::RateLimited(wait).into());
    }
    if !state.passwords.verify(req.current_password, record.password_hash).await?.ok {
        tracing::info!(event = "password_change_refused", user_id = caller.id.0, "wrong current password");
        return Err(Error::invalid("current_password", "is not the current password").into());
    }
    let hash = state.passwords.hash(req.new_password).await?;
    let ended =
        state.store.change_own_password(caller.id, &hash, caller.session_hash(), req.end_other_sessions).await?;
    tracing::info!(
        event = "password_changed",
        user_id = caller.id.0,
        sessions_ended = ended,
        "password changed by its owner"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Asks for a password reset link. The answer is always 202 with the same message; at most
/// `mail.resets_per_account_per_hour` links go to one account an hour, only to accounts that
/// log in with a Kith password, and only to the account's primary address.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses((status = 202, body = ForgotResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn forgot(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> ApiResult<(StatusCode, Json<ForgotResponse>)> {
    request_reset(&state, addr, &req.email).await?;
    Ok((StatusCode::ACCEPTED, Json(ForgotResponse { message: FORGOT_ANSWER.into() })))
}

/// Sets a new password with a reset link's token; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    complete_reset(&state, addr, &req.token, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a reset link for `email` (the same work whoever owns it). Counts against the client
/// address's login allowance, so addresses cannot be sprayed.
pub(crate) async fn request_reset(state: &AppState, addr: std::net::IpAddr, email: &str) -> Result<(), ApiError> {
    state.login_limiter.take(addr, state.store.now())?;
    let address = normalize_email(email).map_err(|why| Error::invalid("email", why))?.address;
    enqueue(state, &Task::PasswordReset { address }).await?;
    Ok(())
}

/// Whose live link `token` is, if anybody's (for the reset page).
pub(crate) async fn link_holder(state: &AppState, token: &str) -> Result<Option<String>, ApiError> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    Ok(state.store.password_reset_holder(&token_hash(token)).await?.map(|t| t.username))
}

/// Checks the new password against the policy and sets it with the link's token.
pub(crate) async fn complete_reset(
    state: &AppState,
    addr: std::net::IpAddr,
    token: &str,
    password: String,
) -> Result<UserId, ApiError> {
    state.login_limiter.take(addr, state.store.now())?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid("password", format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")).into());
    }
    if token.is_empty() || token.len() > 100 {
        return Err(Error::invalid("token", DEAD_LINK).into());
    }
    let hashed_token = token_hash(token);
    let Some(holder) = state.store.password_reset_holder(&hashed_token).await? else {
        return Err(Error::invalid("token", DEAD_LINK).into());
    };
    check_password(&password, &holder.username, &state.rules).map_err(|why| Error::invalid("password", why))?;
    let hash = state.passwords.hash(password).await?;
    let Some(id) = state.store.reset_password(&hashed_token, &hash).await? else {
        return Err(Error::invalid("token", DEAD_LINK).into());
    };
    state.login_limiter.give_back(addr);
    tracing::info!(event = "password_reset", user_id = id.0, address = %addr, "password reset by e-mail link; sessions ended");
    Ok(id)
}
