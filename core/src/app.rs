//! The composition root: everything Kith's fronts (the JSON API, the pages, the CLI, the job
//! worker) share, built without axum. The HTTP layer's `AppState` wraps an [`App`] for the
//! routers; the job worker and the CLI hold one directly.

use std::sync::Arc;

use crate::auth::{AddressLimiter, Passwords};
use crate::config::Config;
use crate::domain::user::UserRules;
use crate::mail::Mailer;
use crate::oidc::Oidc;
use crate::plugins::Plugins;
use crate::store::Store;

/// The application's parts.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    pub passwords: Arc<Passwords>,
    /// The user rules config sets (phone region, languages, password policy).
    pub rules: Arc<UserRules>,
    /// Login attempts per client address.
    pub login_limiter: Arc<AddressLimiter>,
    /// OpenID Connect logins started per client address.
    pub oidc_start_limiter: Arc<AddressLimiter>,
    /// Avatar uploads per user (10 in a burst, 10 a minute).
    pub avatar_uploads: Arc<crate::auth::RateLimiter<crate::domain::UserId>>,
    /// Images decoded at once (one per core): a flood of uploads queues here instead of
    /// decoding in parallel and multiplying the memory it takes.
    pub image_decodes: Arc<tokio::sync::Semaphore>,
    /// OpenID Connect: discovered providers and the no-redirect HTTP client.
    pub oidc: Arc<Oidc>,
    /// WebAssembly plugins (empty until `plugins.reload()`).
    pub plugins: Arc<Plugins>,
    /// Sends what the job worker hands it (`[mail]`).
    pub mailer: Arc<Mailer>,
    /// The e-mails' templates (`core/templates/mail/<lang>/<name>.txt`).
    pub mail_templates: Arc<crate::mail::MailTemplates>,
    /// Wakes this instance's job worker when a request queues a job.
    pub jobs_wake: Arc<tokio::sync::Notify>,
}

impl App {
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
        let oidc = Arc::new(Oidc::new().expect("the HTTP client for identity providers starts"));
        let plugins = Arc::new(Plugins::new(
            &config.plugins,
            &config.server.data_dir,
            &config.phone.default_region,
            store.clone(),
        ));
        // `Config::validate` has built the same mailer, so this fails only for a config that
        // skipped validation; nothing is sent then, and that is said loudly
        let mailer = Mailer::new(&config.mail).unwrap_or_else(|(key, why)| {
            tracing::error!(key, error = %why, "the [mail] settings do not work: no e-mail will be sent");
            Mailer::off()
        });
        App {
            oidc_start_limiter: Arc::new(AddressLimiter::new(20, 20)),
            avatar_uploads: Arc::new(crate::auth::RateLimiter::new(10, 10)),
            image_decodes: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            )),
            plugins,
            mailer: Arc::new(mailer),
            mail_templates: Arc::new(crate::mail::MailTemplates::default()),
            jobs_wake: Arc::new(tokio::sync::Notify::new()),
            oidc,
            login_limiter,
            store,
            config: Arc::new(config),
            passwords: Passwords::new(),
            rules: Arc::new(rules),
        }
    }
}
