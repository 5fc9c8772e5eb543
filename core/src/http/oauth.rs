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
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    let started = oidc_logins::start(&state, &id, addr, q.mode.as_deref(), q.return_to.as_deref()).await?;
    // binds the login to this browser; Lax, so the provider's redirect back (a top-level GET)
    // carries it
    let max_age = oidc_logins::PENDING_LIFETIME_MS / 1000;
    let binding =
        set_cookie(&state, crate::web::oidc_binding_cookie_name(&state), &started.binding, "Lax", Some(max_age));
    Ok((StatusCode::SEE_OTHER, [(LOCATION, started.url), (SET_COOKIE, binding), (CACHE_CONTROL, "no-store".into())])
        .into_response())
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
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let answer = oidc_logins::Answer {
        code: q.code.as_deref(),
        state: q.state.as_deref(),
        iss: q.iss.as_deref(),
        error: q.error.as_deref(),
        error_description: q.error_description.as_deref(),
    };
    let binding = crate::web::cookie(&headers, crate::web::oidc_binding_cookie_name(&state));
    let done = oidc_logins::finish(&state, &id, addr, binding.as_deref(), answer).await?;
    // the binding has done its work
    let spent = set_cookie(&state, crate::web::oidc_binding_cookie_name(&state), "", "Lax", Some(0));
    if done.mode == oidc_logins::Mode::Api {
        let response: LoginResponse = done.session.into();
        let mut res = ([(CACHE_CONTROL, "no-store")], Json(response)).into_response();
        crate::web::add_cookie(&mut res, &spent);
        return Ok(res);
    }
    let cookie = set_cookie(
        &state,
        session_cookie_name(&state),
        &done.session.token,
        "Lax",
        Some(state.config.auth.session_absolute_hours * 3600),
    );
    let mut res =
        (StatusCode::SEE_OTHER, [(LOCATION, done.return_to), (SET_COOKIE, cookie), (CACHE_CONTROL, "no-store".into())])
            .into_response();
    crate::web::add_cookie(&mut res, &spent);
    Ok(res)
}
