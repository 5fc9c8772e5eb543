//! OpenID Connect logins: `GET /auth/oauth/{id}/start` sends the browser to the provider,
//! `GET /auth/oauth/{id}/callback` takes it back. The browser flow ends with a session cookie
//! and a redirect to a same-site path; `?mode=api` ends with the JSON `POST /auth/login` gives.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::auth::LoginResponse;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiQuery, ClientAddr};
use crate::services::oidc_logins;
use crate::web::{session_cookie_name, set_cookie};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/auth/oauth/{id}/start", get(start)).route("/auth/oauth/{id}/callback", get(callback))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StartQuery {
    /// `browser` (default: session cookie, then a redirect to `return_to`) or `api` (JSON).
    pub mode: Option<String>,
    /// Where the browser goes after logging in: a path on this site (default `/`).
    pub return_to: Option<String>,
}

/// Starts a login with an OpenID provider: a redirect to its authorization endpoint.
#[utoipa::path(get, path = "/api/v1/auth/oauth/{id}/start", tag = "auth", params(("id" = String, Path), StartQuery),
    responses((status = 303, description = "to the provider"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    let url = oidc_logins::start(&state, &id, q.mode.as_deref(), q.return_to.as_deref()).await?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, url), (CACHE_CONTROL, "no-store".into())]).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of this answer; when present it must be the provider's.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub session_state: Option<String>,
}

/// The provider's answer: checks `state` (once only, within 10 minutes), `iss`, exchanges the
/// code with the PKCE verifier, checks the ID token, finds or creates the user, opens a session.
#[utoipa::path(get, path = "/api/v1/auth/oauth/{id}/callback", tag = "auth", params(("id" = String, Path), CallbackQuery),
    responses((status = 200, body = LoginResponse), (status = 303, description = "logged in (browser)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let answer = oidc_logins::Answer {
        code: q.code.as_deref(),
        state: q.state.as_deref(),
        iss: q.iss.as_deref(),
        error: q.error.as_deref(),
        error_description: q.error_description.as_deref(),
    };
    let done = oidc_logins::finish(&state, &id, addr, answer).await?;
    if done.mode == oidc_logins::Mode::Api {
        let response: LoginResponse = done.session.into();
        return Ok(([(CACHE_CONTROL, "no-store")], Json(response)).into_response());
    }
    let cookie = set_cookie(
        &state,
        session_cookie_name(&state),
        &done.session.token,
        "Lax",
        Some(state.config.auth.session_absolute_hours * 3600),
    );
    Ok((StatusCode::SEE_OTHER, [(LOCATION, done.return_to), (SET_COOKIE, cookie), (CACHE_CONTROL, "no-store".into())])
        .into_response())
}
