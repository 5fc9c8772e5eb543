//! Operational endpoints: liveness, readiness, Prometheus metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::extract::ClientAddr;

/// Liveness and readiness, and `/metrics` unless `metrics.bind` gives it a port of its own.
pub fn router(with_metrics: bool) -> Router<AppState> {
    let r = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz));
    if with_metrics { r.route("/metrics", get(metrics)) } else { r }
}

/// Only `/metrics`, for the separate `metrics.bind` listener: whoever reaches that address may
/// read it (the operator chose who can), unless `metrics.token` is set.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(|State(state): State<AppState>, headers: HeaderMap| async move { render_metrics(&state, &headers, true) }),
    )
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus text. With `metrics.token` set, only for its bearer; without one, only for
/// clients on this machine (the client address as `ClientAddr` sees it, so a public client
/// behind a trusted local proxy is not mistaken for a local one). Others get 404, as if there
/// were nothing here.
async fn metrics(State(state): State<AppState>, ClientAddr(addr): ClientAddr, headers: HeaderMap) -> Response {
    render_metrics(&state, &headers, addr.is_loopback())
}

fn render_metrics(state: &AppState, headers: &HeaderMap, without_token: bool) -> Response {
    let token = &state.config.metrics.token;
    let allowed = if token.is_empty() {
        without_token
    } else {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
