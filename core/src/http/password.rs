//! Forgotten passwords. `POST /api/v1/auth/password/forgot` queues a reset link for an address
//! and answers the same whether anybody owns it (the job worker finds that out, RELIABILITY
//! A9); `POST /api/v1/auth/password/reset` sets a new password with a link's token, which works
//! once, and ends every session of the account. The rules are
//! [`crate::services::accounts`]'s; the login pages call the same functions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ClientAddr};
use crate::services::accounts;

pub fn router() -> Router<AppState> {
    let small = axum::extract::DefaultBodyLimit::max(16 * 1024);
    Router::new()
        .route("/auth/password/forgot", post(forgot).layer(small))
        .route("/auth/password/reset", post(reset).layer(small))
        .route("/me/password", post(change_own).layer(small))
}

pub use crate::services::accounts::FORGOT_ANSWER;

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
    accounts::change_own_password(&state, &caller, req.current_password, req.new_password, req.end_other_sessions)
        .await?;
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
    accounts::request_reset(&state, addr, &req.email).await?;
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
    accounts::complete_reset(&state, addr, &req.token, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
