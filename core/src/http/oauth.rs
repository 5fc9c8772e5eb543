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
use crate::auth::token_hash;
use crate::config::OAuthProvider;
use crate::domain::Error;
use crate::oidc::safe_return_to;
use crate::services::accounts::open_session;
use crate::store::PendingLogin;
use crate::web::{session_cookie_name, set_cookie};

/// A login started more than this long ago is not finished (RELIABILITY O10).
const PENDING_LIFETIME_MS: i64 = 10 * 60_000;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/auth/oauth/{id}/start", get(start)).route("/auth/oauth/{id}/callback", get(callback))
}

fn provider<'a>(state: &'a AppState, id: &str) -> Result<&'a OAuthProvider, Error> {
    state.config.auth.oauth.iter().find(|p| p.id == id).ok_or(Error::NotFound)
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
    let p = provider(&state, &id)?;
    let mode = q.mode.unwrap_or_else(|| "browser".into());
    if mode != "browser" && mode != "api" {
        return Err(Error::invalid("mode", "must be browser or api").into());
    }
    let return_to = q.return_to.unwrap_or_else(|| "/".into());
    if !safe_return_to(&return_to) {
        return Err(Error::invalid("return_to", "must be a path on this site, like /agent").into());
    }
    let started = state.oidc.start(p, &state.config.server.public_url).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "OIDC login could not start");
        Error::Unavailable(format!("identity provider {}", p.id))
    })?;
    let pending = PendingLogin {
        provider: p.id.clone(),
        nonce: started.nonce,
        pkce_verifier: started.pkce_verifier,
        mode,
        return_to,
        created_at: 0,
    };
    state.store.save_pending_login(&pending, &token_hash(&started.state)).await?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, started.url), (CACHE_CONTROL, "no-store".into())]).into_response())
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
    let p = provider(&state, &id)?;
    let Some(st) = q.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Err(Error::BadRequest("state is missing".into()).into());
    };
    // taken whatever happens next: a state is good for one answer only
    let pending = state.store.take_pending_login(&token_hash(st)).await?;
    let Some(pending) = pending.filter(|pl| pl.provider == p.id) else {
        tracing::warn!(provider = %p.id, "OIDC callback refused: unknown, used or foreign state");
        return Err(Error::BadRequest("this login is unknown or was already used; start again".into()).into());
    };
    if state.store.now() - pending.created_at > PENDING_LIFETIME_MS {
        return Err(Error::BadRequest("this login took too long; start again".into()).into());
    }
    if let Some(iss) = &q.iss
        && iss.trim_end_matches('/') != p.issuer.trim_end_matches('/')
    {
        tracing::warn!(provider = %p.id, "OIDC callback refused: the answer names another issuer");
        return Err(Error::BadRequest("the answer came from another issuer".into()).into());
    }
    if let Some(err) = &q.error {
        tracing::info!(provider = %p.id, error = %err, description = ?q.error_description, "the provider refused the login");
        return Err(Error::Unauthenticated.into());
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(Error::BadRequest("code is missing".into()).into());
    };
    let identity = state
        .oidc
        .finish(p, &state.config.server.public_url, code, &pending.nonce, &pending.pkce_verifier)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %p.id, error = %e, "OIDC login refused");
            Error::Unauthenticated
        })?;
    let Some(user) = crate::login::external_user(&state, p, &identity).await? else {
        return Err(Error::Unauthenticated.into());
    };
    crate::login::sync_claims(&state, p, user, &identity).await?;
    let method = format!("oauth:{}", p.id);
    let response: LoginResponse = open_session(&state, user, &method, addr, None, None).await?.into();
    if pending.mode == "api" {
        return Ok(([(CACHE_CONTROL, "no-store")], Json(response)).into_response());
    }
    let cookie = set_cookie(
        &state,
        session_cookie_name(&state),
        &response.token,
        "Lax",
        Some(state.config.auth.session_absolute_hours * 3600),
    );
    Ok((
        StatusCode::SEE_OTHER,
        [(LOCATION, pending.return_to), (SET_COOKIE, cookie), (CACHE_CONTROL, "no-store".into())],
    )
        .into_response())
}
