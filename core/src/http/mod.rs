//! The JSON API (`/api/v1`) and the operational endpoints, one module per resource, each with
//! its own `router()`: thin handlers that extract, call [`crate::services`] and serialize.
//! [`app`] assembles them with the browser pages ([`crate::web`]) and the cross-cutting layers:
//! request ids, tracing, metrics, `Server-Timing`, panic catching, timeouts and body limits.

pub mod auth;
pub mod avatars;
pub mod custom_fields;
pub mod error;
pub mod extract;
pub mod listener;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod organizations;
pub mod password;
pub mod plugins;
pub mod records;
pub mod roles;
pub mod tokens;
pub mod user_tabs;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::config::Config;
use crate::store::Store;
use crate::telemetry::{Metrics, RandomRequestId};
use crate::web::Web;

/// What every handler can reach: the application (through `Deref`, so `state.store` works),
/// the pages' themes, and the HTTP metrics.
#[derive(Clone, Debug)]
pub struct AppState {
    pub app: Arc<App>,
    pub web: Arc<Web>,
    pub metrics: Arc<Metrics>,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// Builds the application and loads the themes. The built-in default theme is part of the
    /// binary, so only a build defect makes loading fail.
    pub fn new(store: Store, config: Config) -> Self {
        let web = Web::load(&config).unwrap_or_else(|e| panic!("the built-in theme does not load: {e}"));
        AppState { app: Arc::new(App::new(store, config)), web: Arc::new(web), metrics: Arc::new(Metrics::default()) }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A body refused unread (413) leaves its bytes on the connection: `Connection: close` tells the
/// client to open a new connection rather than reuse this one (a pooled client otherwise sends
/// its next request down a connection the server is closing).
async fn close_after_refused_body(mut res: axum::response::Response) -> axum::response::Response {
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        res.headers_mut().insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// The whole application as one router; tests and the server build the same thing.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(password::router())
        .merge(oauth::router())
        .merge(users::router())
        .merge(roles::router())
        .merge(tokens::router())
        .merge(organizations::router())
        .merge(records::router())
        .merge(user_tabs::router())
        .merge(plugins::router())
        .merge(custom_fields::router())
        .merge(avatars::router(state.config.avatars.max_upload_bytes))
        .route("/openapi.json", axum::routing::get(openapi::openapi_json))
        .fallback(|| async { error::ApiError::from(crate::domain::Error::NotFound) })
        // answers about people are never kept by browsers or proxies (RELIABILITY S10)
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    let body_limit = state.config.server.max_body_bytes;
    Router::new()
        .nest("/api/v1", api)
        .merge(ops::router(state.config.metrics.bind.is_empty()))
        .merge(crate::web::router(state.config.avatars.max_upload_bytes))
        .fallback(crate::web::not_found)
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::telemetry::track))
        .layer(axum::middleware::map_response(close_after_refused_body))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            error::ApiError::from(crate::domain::Error::Internal("panic".into())).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-")
                        .to_string();
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RandomRequestId))
        .with_state(state)
}
