//! `/users/{id}/avatar`: upload (a person their own, agents anyone's they may edit), remove,
//! and serve — always from Kith's URL, with an ETag and a private cache lifetime.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::users::parse_id;
use crate::domain::{Error, UserId};
use crate::services::avatars;

/// `max_upload` is `avatars.max_upload_bytes`: this route's body limit in place of
/// `server.max_body_bytes`, larger or smaller.
pub fn router(max_upload: usize) -> Router<AppState> {
    let limit = axum::extract::DefaultBodyLimit::max(max_upload);
    Router::new().route("/users/{id}/avatar", get(get_avatar).put(put_avatar.layer(limit)).delete(delete_avatar))
}

/// The avatar image: uploaded, else from an avatar-provider plugin (fetched and cached by
/// Kith), else generated initials. `If-None-Match` gets 304.
#[utoipa::path(get, path = "/api/v1/users/{id}/avatar", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, description = "the image"), (status = 304), (status = 404, body = ErrorBody)))]
pub async fn get_avatar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let served = avatars::get(&state, &caller, UserId(parse_id(&id)?)).await?;
    let etag = format!("\"{}\"", served.etag);
    let mut h = HeaderMap::new();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    // an image is never a document: no script, even for SVG opened directly
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    if let Ok(v) = HeaderValue::from_str(&served.content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    Ok((StatusCode::OK, h, served.body).into_response())
}

/// Uploads an avatar: the raw image as the body (PNG, JPEG, GIF or WebP, at most
/// `avatars.max_upload_bytes`); stored cropped square at 256 px.
#[utoipa::path(put, path = "/api/v1/users/{id}/avatar", tag = "users", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, body = Object), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_avatar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let id = UserId(parse_id(&id)?);
    // who may change it is decided before the body is looked at
    avatars::may_change(&state, &caller, id).await?;
    let max = state.config.avatars.max_upload_bytes;
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge(format!("an avatar is at most {max} bytes")),
        _ => Error::invalid("avatar", r.body_text()),
    })?;
    let declared = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !declared.starts_with("image/") {
        return Err(Error::UnsupportedMediaType(
            "send the image itself with Content-Type: image/png, image/jpeg, image/gif or image/webp".into(),
        )
        .into());
    }
    let a = avatars::upload(&state, &caller, id, body.to_vec()).await?;
    Ok(Json(
        json!({"source": "upload", "etag": a.etag, "bytes": a.image.len(), "url": format!("/api/v1/users/{id}/avatar")}),
    ))
}

/// Removes an uploaded avatar (providers and initials take over).
#[utoipa::path(delete, path = "/api/v1/users/{id}/avatar", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_avatar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    avatars::remove(&state, &caller, UserId(parse_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
