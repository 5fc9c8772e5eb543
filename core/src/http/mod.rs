//! The JSON API (`/api/v1`) and the operational endpoints, one module per resource, each with
//! its own `router()`. [`app`] assembles them with the cross-cutting layers: request ids,
//! tracing, metrics, panic catching, timeouts and body limits.

pub mod auth;
pub mod avatars;
pub mod custom_fields;
pub mod error;
pub mod extract;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod organizations;
pub mod pages;
pub mod password;
pub mod plugins;
pub mod records;
pub mod roles;
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

use crate::auth::{AddressLimiter, Passwords};
use crate::config::Config;
use crate::domain::user::UserRules;
use crate::store::Store;
use crate::telemetry::{Metrics, RandomRequestId};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub passwords: Arc<Passwords>,
    pub rules: Arc<UserRules>,
    pub metrics: Arc<Metrics>,
    /// Login attempts per client address.
    pub login_limiter: Arc<AddressLimiter>,
    /// OpenID Connect: discovered providers and the no-redirect HTTP client.
    pub oidc: Arc<crate::oidc::Oidc>,
    /// WebAssembly plugins (empty until `plugins.reload()`).
    pub plugins: Arc<crate::plugins::Plugins>,
    /// Sends what the job worker hands it (`[mail]`).
    pub mailer: Arc<crate::mail::Mailer>,
    /// Wakes this instance's job worker when a request queues a job.
    pub jobs_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        let rules = UserRules {
            default_region: config.phone.default_region.clone(),
            languages: config.i18n.languages.clone(),
            default_time_zone: config.i18n.default_time_zone.clone(),
            password_min_length: config.auth.password_min_length,
            password_max_length: config.auth.password_max_length,
        };
        let login_limiter =
            Arc::new(AddressLimiter::new(config.auth.login_address_burst, config.auth.login_address_per_minute));
        // Building an HTTP client fails only when the TLS backend cannot start: nothing works then.
        let oidc = Arc::new(crate::oidc::Oidc::new().expect("the HTTP client for identity providers starts"));
        let plugins = Arc::new(crate::plugins::Plugins::new(&config, store.clone()));
        // `Config::validate` has built the same mailer, so this fails only for a config that
        // skipped validation; nothing is sent then, and that is said loudly
        let mailer = crate::mail::Mailer::new(&config.mail).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the [mail] settings do not work: no e-mail will be sent");
            crate::mail::Mailer::off()
        });
        AppState {
            plugins,
            mailer: Arc::new(mailer),
            jobs_wake: Arc::new(tokio::sync::Notify::new()),
            oidc,
            login_limiter,
            store,
            config: Arc::new(config),
            passwords: Passwords::new(),
            rules: Arc::new(rules),
            metrics: Arc::new(Metrics::default()),
        }
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
        .merge(organizations::router())
        .merge(records::router())
        .merge(user_tabs::router())
        .merge(plugins::router())
        .merge(custom_fields::router())
        .merge(avatars::router(state.config.avatars.max_upload_bytes))
        .route("/openapi.json", axum::routing::get(openapi::openapi_json))
        .fallback(|| async { error::ApiError(crate::domain::Error::NotFound) })
        // answers about people are never kept by browsers or proxies (RELIABILITY S10)
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    let body_limit = state.config.server.max_body_bytes;
    Router::new()
        .nest("/api/v1", api)
        .merge(ops::router())
        .merge(pages::router())
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::telemetry::track))
        .layer(axum::middleware::map_response(close_after_refused_body))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            error::ApiError(crate::domain::Error::Internal("panic".into())).into_response()
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
