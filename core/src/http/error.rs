//! The one error type at the HTTP edge and the SPEC's error body:
//! `{"error": {"code": "...", "message": "...", "fields": {"name": "why"}}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{Error, FieldErrors};

/// A failed request, as the client sees it.
#[derive(Debug)]
pub struct ApiError(pub Error, bool);

impl ApiError {
    /// 412: an `If-Match` edit over a version the record has moved past.
    pub fn precondition_failed(current: i64) -> Self {
        ApiError(Error::Stale { current }, true)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e, false)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "FieldErrors::is_empty")]
    pub fields: FieldErrors,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let precondition = self.1;
        let (status, code, message, fields) = match self.0 {
            Error::Invalid(fields) => {
                let message = match fields.iter().next() {
                    Some((f, why)) if fields.len() == 1 => format!("{f}: {why}"),
                    _ => "some values are not valid".to_string(),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", message, fields)
            }
            Error::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, FieldErrors::new()),
            Error::UnsupportedMediaType(m) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m, FieldErrors::new())
            }
            Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, FieldErrors::new()),
            Error::Conflict { field, message } => {
                let m = format!("{field}: {message}");
                (StatusCode::CONFLICT, "conflict", m, FieldErrors::from([(field, message)]))
            }
            Error::Stale { current } => (
                if precondition { StatusCode::PRECONDITION_FAILED } else { StatusCode::CONFLICT },
                if precondition { "precondition_failed" } else { "version_conflict" },
                format!("version: the record was changed meanwhile and is at version {current} now; read it again"),
                FieldErrors::from([("version".to_string(), format!("is {current} now"))]),
            ),
            Error::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such record".into(), FieldErrors::new()),
            Error::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, FieldErrors::new()),
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in or send a valid bearer token".into(),
                FieldErrors::new(),
            ),
            Error::RateLimited(ms) => {
                let secs = ((ms.max(1) + 999) / 1000).to_string();
                let body =
                    body("rate_limited", format!("too many attempts; try again in {secs} s"), FieldErrors::new());
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs)], body).into_response();
            }
            Error::Unavailable(m) => {
                tracing::warn!(reason = %m, "answering 503");
                let body = body("unavailable", "the service is busy; try again shortly".into(), FieldErrors::new());
                return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "2")], body).into_response();
            }
            Error::PluginFailed(m) => (StatusCode::BAD_GATEWAY, "plugin_failed", m, FieldErrors::new()),
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into(), FieldErrors::new())
            }
        };
        (status, body(code, message, fields)).into_response()
    }
}

fn body(code: &'static str, message: String, fields: FieldErrors) -> Json<ErrorBody> {
    Json(ErrorBody { error: ErrorDetail { code, message, fields } })
}

pub type ApiResult<T> = Result<T, ApiError>;
