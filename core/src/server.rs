//! Start-up and the operations the CLI offers: open the database, create the first
//! administrator, issue API tokens, serve HTTP until told to stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::{new_token, token_hash};
use crate::clock::SystemClock;
use crate::config::{Config, redact_url};
use crate::domain::{Error, Result};
use crate::http::{AppState, app};
use crate::store::{Store, TokenKind};

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    let store = Store::connect(
        &url,
        config.database.max_connections,
        Duration::from_secs(config.database.acquire_timeout_secs),
        Arc::new(SystemClock),
    )
    .await
    .map_err(|e| Error::Unavailable(format!("cannot open the database {}: {e}", redact_url(&url))))?;
    store.migrate().await?;
    Ok(store)
}

/// Issues an API token for a user; the token is returned once and only its hash is kept.
pub async fn create_token(store: &Store, username: &str, name: &str, expires_in_days: Option<i64>) -> Result<String> {
    let id = store
        .find_user_id(username)
        .await?
        .ok_or_else(|| Error::invalid("username", format!("no user named `{username}`")))?;
    let token = new_token(TokenKind::Api);
    let expires_at = crate::services::tokens::expiry(store.now(), expires_in_days)?;
    store.create_api_token(id, name, &token_hash(&token), expires_at).await?;
    Ok(token)
}

/// On a first start (no users at all), creates the configured administrator and writes the
/// generated password to a file only the operator can read. Returns that file's path.
pub async fn bootstrap_admin(state: &App) -> Result<Option<PathBuf>> {
    let b = &state.config.bootstrap;
    if b.admin_username.is_empty() || state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let (_, password) = match crate::services::users::create_admin(state, &b.admin_username, &b.admin_email, None).await
    {
        Ok(r) => r,
        // another instance on the same database got there first
        Err(Error::Conflict { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let dir = &state.config.server.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("initial-admin-password");
    write_private(&path, &format!("{}\n", password.unwrap_or_default()))?;
    Ok(Some(path))
}

fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))
}

/// Hourly: recompress avatars nobody viewed for 30 days.
fn spawn_avatar_recompression(store: Store) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match crate::avatars::recompress_stale(&store).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(avatars = n, "recompressed avatars not viewed for 30 days"),
                Err(e) => tracing::warn!(error = %e, "avatar recompression failed; will try again in an hour"),
            }
        }
    });
}

/// Runs the HTTP server until SIGINT or SIGTERM, then lets requests in flight finish.
pub async fn serve(config: Config) -> Result<()> {
    let store = open_store(&config).await?;
    tracing::info!(backend = store.backend_name(), database = %redact_url(&config.database_url()), "database ready");
    let bind = config.server.bind.clone();
    let state = AppState::new(store.clone(), config);
    if let Some(path) = bootstrap_admin(&state).await? {
        tracing::info!(
            username = %state.config.bootstrap.admin_username,
            password_file = %path.display(),
            "first start: created the administrator; the password is in the file named here. Log in with POST /api/v1/auth/login, change it, then delete the file"
        );
    }
    let listener =
        TcpListener::bind(&bind).await.map_err(|e| Error::Unavailable(format!("cannot listen on {bind}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    for p in &state.config.auth.ldap {
        let mode = if p.bind_dn.is_empty() { "direct bind" } else { "search-then-bind" };
        let tls = if p.url.starts_with("ldaps://") {
            "LDAPS"
        } else if p.starttls {
            "StartTLS"
        } else {
            "no TLS"
        };
        tracing::info!(provider = %p.id, url = %p.url, "LDAP provider ldap:{} ({mode}, {tls})", p.id);
    }
    if !state.config.metrics.bind.is_empty() {
        let bind = state.config.metrics.bind.clone();
        let listener = TcpListener::bind(&bind)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot listen on {bind} (metrics.bind): {e}")))?;
        let metrics = crate::http::ops::metrics_router().with_state(state.clone());
        tracing::info!(bind = %bind, "metrics: /metrics is served on its own address, not the main port");
        tokio::spawn(async move {
            let served = axum::serve(listener, metrics.into_make_service_with_connect_info::<std::net::SocketAddr>());
            if let Err(e) = served.await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    spawn_avatar_recompression(state.store.clone());
    crate::jobs::spawn_worker(crate::jobs::JobContext::of(&state));
    if state.mailer.is_on() {
        tracing::info!(transport = %state.config.mail.transport, "mail: password reset links and security notices are sent");
    } else {
        tracing::info!(
            "mail.transport = \"none\": no e-mail is sent, so forgotten passwords cannot be reset by e-mail"
        );
    }
    let (loaded, failed) = state.plugins.reload().await;
    if loaded + failed > 0 {
        tracing::info!(loaded, failed, dirs = ?state.config.plugins.dirs, "plugins: enable and configure them at /api/v1/plugins");
    }
    for p in &state.config.auth.oauth {
        tracing::info!(provider = %p.id, issuer = %p.issuer, "OpenID Connect provider oauth:{}: start logins at {}/api/v1/auth/oauth/{}/start", p.id, state.config.server.public_url, p.id);
    }
    tracing::info!(
        "Kith is listening on http://{addr} — log in at http://{addr}/login; API at http://{addr}/api/v1 (OpenAPI: /api/v1/openapi.json), health at /healthz"
    );
    let limits = crate::http::listener::Limits {
        header_read_timeout: Duration::from_secs(state.config.server.header_read_timeout_secs),
        max_connections: state.config.server.max_connections,
        max_connections_per_address: state.config.server.max_connections_per_address,
    };
    crate::http::listener::serve(listener, app(state), limits, shutdown_signal())
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
