//! Layered configuration: built-in defaults < the config file < `KITH_<SECTION>__<KEY>` variables.
//!
//! The defaults here are the values written in the repository's `config.toml` (a test keeps the
//! two equal), so Kith behaves the same with no config file at all.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

// Each subsystem owns its section's type and the checks only it can make; this module layers
// the sources and checks what spans sections. None of these modules imports this one.
pub use crate::auth::redact_url;
pub use crate::ldap::LdapProvider;
pub use crate::mail::MailConfig;
pub use crate::plugins::limits::PluginsConfig;

/// Every setting Kith reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub phone: PhoneConfig,
    pub i18n: I18nConfig,
    pub auth: AuthConfig,
    pub bootstrap: BootstrapConfig,
    pub membership: MembershipConfig,
    pub plugins: PluginsConfig,
    pub avatars: AvatarsConfig,
    pub mail: MailConfig,
    pub theme: crate::web::theme::ThemeConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerConfig {
    /// Address and port the HTTP server listens on.
    pub bind: String,
    /// Where Kith keeps files of its own (the SQLite database by default, the first admin's password).
    pub data_dir: PathBuf,
    /// Seconds a request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// Largest request body accepted by JSON endpoints, in bytes.
    pub max_body_bytes: usize,
    /// The address people reach Kith at (scheme, host, port), for redirect URIs given to
    /// identity providers and for `Secure` cookies when it is `https://`.
    pub public_url: String,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the real client address.
    /// Empty: the address of the connection is the client's.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client may take to send a request's headers (and, on a kept-alive connection,
    /// to start its next request) before the connection is closed: slow-loris clients cannot
    /// hold connections open.
    pub header_read_timeout_secs: u64,
    /// Open connections the server accepts at once; more are closed at once.
    pub max_connections: usize,
    /// Open connections one client address may hold at once.
    pub max_connections_per_address: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            request_timeout_secs: 30,
            max_body_bytes: 2 * 1024 * 1024,
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 30,
            max_connections: 4096,
            max_connections_per_address: 256,
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (relative paths are under the data directory) or `postgres://...`.
    pub url: String,
    /// Connections in the pool (for SQLite: readers; writes go through one connection).
    pub max_connections: u32,
    /// Seconds to wait for a free connection before answering 503.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite://kith.db".into(), max_connections: 8, acquire_timeout_secs: 5 }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `kith=debug,sqlx=warn`, ...
    pub level: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Text }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PhoneConfig {
    /// ISO 3166 region used to read numbers written without a country code.
    pub default_region: String,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        Self { default_region: "US".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct I18nConfig {
    /// Languages users may choose (BCP 47 tags); the first is the default.
    pub languages: Vec<String>,
    /// Time zone given to new users who do not say theirs (an IANA name).
    pub default_time_zone: String,
}

impl Default for I18nConfig {
    fn default() -> Self {
        Self { languages: vec!["en".into(), "de".into()], default_time_zone: "UTC".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuthConfig {
    /// Shortest password accepted, in characters.
    pub password_min_length: usize,
    /// Longest password accepted, in characters.
    pub password_max_length: usize,
    /// Minutes a login session lives without use.
    pub session_idle_minutes: i64,
    /// Hours a login session lives at most, however much it is used.
    pub session_absolute_hours: i64,
    /// Live sessions one user may hold; a new login ends the oldest beyond this.
    pub max_sessions_per_user: i64,
    /// Seconds an account name waits after its 1st, 2nd, ... failed login in a row before the
    /// next credential check; the last entry repeats.
    pub login_delays_secs: Vec<u64>,
    /// Failed logins per account name per hour; after that it waits for the hour to end.
    pub login_max_failures_per_hour: i64,
    /// Login attempts one client address may make at once before it is slowed down.
    pub login_address_burst: u32,
    /// Login attempts per minute one client address may make after its burst (successful
    /// logins are given back).
    pub login_address_per_minute: u32,
    /// LDAP / Active Directory providers (`[[auth.ldap]]`), tried in order for new users.
    pub ldap: Vec<LdapProvider>,
    /// OpenID Connect providers (`[[auth.oauth]]`).
    pub oauth: Vec<OAuthProvider>,
}

/// An OpenID Connect identity provider users log in through (`auth_method = "oauth:<id>"`).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthProvider {
    /// Names the provider in `auth_method` (`oauth:<id>`) and in its URLs.
    pub id: String,
    /// Shown on the login button.
    pub display_name: String,
    /// The issuer; its discovery document (`/.well-known/openid-configuration`) must name
    /// exactly this issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// Create a Kith user at the first login of an identity Kith does not know.
    pub create_users: bool,
    /// Link a new identity to an existing user with the same address, only when the provider
    /// says the address is verified. Off: such a login is refused (the address is taken).
    pub link_verified_email: bool,
    /// A claim (in the ID token or userinfo) holding the user's groups, e.g. `groups`.
    pub roles_claim: String,
    /// Value of `roles_claim` → Kith roles, kept in step at every login (roles not named here
    /// are left alone).
    pub claim_roles: std::collections::BTreeMap<String, Vec<String>>,
    /// Value of `roles_claim` → organizations (a username rule kept in step at every login).
    pub claim_organizations: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for OAuthProvider {
    fn default() -> Self {
        OAuthProvider {
            id: String::new(),
            display_name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            create_users: true,
            link_verified_email: false,
            roles_claim: String::new(),
            claim_roles: Default::default(),
            claim_organizations: Default::default(),
        }
    }
}

impl std::fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthProvider")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            password_min_length: 8,
            password_max_length: 128,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            max_sessions_per_user: 48,
            login_delays_secs: vec![1, 1, 3, 3, 3],
            login_max_failures_per_hour: 20,
            login_address_burst: 10,
            login_address_per_minute: 10,
            ldap: Vec::new(),
            oauth: Vec::new(),
        }
    }
}

impl AuthConfig {
    /// The per-account throttle as the store applies it.
    pub fn login_policy(&self) -> crate::store::LoginPolicy {
        crate::store::LoginPolicy {
            delays_ms: self
                .login_delays_secs
                .iter()
                .map(|s| i64::try_from(*s).unwrap_or(i64::MAX / 4) * 1000)
                .collect(),
            max_failures_per_hour: self.login_max_failures_per_hour,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BootstrapConfig {
    /// On a first start with no users at all, create this administrator and write its generated
    /// password to `<data_dir>/initial-admin-password`. Empty: create nobody.
    pub admin_username: String,
    /// The first administrator's e-mail address.
    pub admin_email: String,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { admin_username: "admin".into(), admin_email: "admin@example.com".into() }
    }
}

/// `[metrics]`: who may read `/metrics`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MetricsConfig {
    /// A separate address to serve `/metrics` on (then the main port does not serve it at all).
    /// Empty: the main port serves it, to the token's holder or, without a token, to clients on
    /// this machine only (127.0.0.1, ::1).
    pub bind: String,
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (on whichever port). Better
    /// given as `KITH_METRICS__TOKEN`; never logged.
    pub token: String,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("bind", &self.bind)
            .field("token", &if self.token.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MembershipConfig {
    /// Public mail providers: a domain rule for one of these is refused unless the request
    /// confirms it, because it would lump strangers together.
    pub public_domains: Vec<String>,
    /// Rules one organization may have; one more is refused (422).
    pub max_rules_per_organization: usize,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        let list = [
            "gmail.com",
            "googlemail.com",
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "yahoo.com",
            "ymail.com",
            "aol.com",
            "icloud.com",
            "me.com",
            "mac.com",
            "proton.me",
            "protonmail.com",
            "gmx.com",
            "gmx.de",
            "gmx.net",
            "web.de",
            "mail.com",
            "yandex.com",
            "yandex.ru",
            "mail.ru",
            "zoho.com",
            "qq.com",
            "163.com",
            "fastmail.com",
            "t-online.de",
        ];
        Self { public_domains: list.iter().map(|s| s.to_string()).collect(), max_rules_per_organization: 1000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AvatarsConfig {
    /// Avatar-provider plugins to ask, in order, for people without an uploaded avatar. Empty:
    /// every enabled avatar-provider plugin, by id.
    pub providers: Vec<String>,
    /// Largest image upload accepted, bytes.
    pub max_upload_bytes: usize,
}

impl Default for AvatarsConfig {
    fn default() -> Self {
        Self { providers: Vec::new(), max_upload_bytes: 5 << 20 }
    }
}

/// What went wrong reading the configuration; always names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Figment(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
}

/// The loaded configuration and what deserves a warning once logging is up.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    pub file: Option<PathBuf>,
}

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "KITH_";
/// Variables with the prefix that are not configuration keys.
const ENV_RESERVED: &[&str] = &["KITH_CONFIG", "KITH_TEST_PG_URL", "KITH_TEST_BACKENDS"];
/// The same, as figment sees them (prefix stripped).
const ENV_IGNORED: &[&str] = &["config", "test_pg_url", "test_backends"];

impl Config {
    /// Loads defaults, then `file` (or `./config.toml` when present), then the environment.
    /// An explicitly named file must exist.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &vars)
    }

    /// Like [`Config::load`]; `vars` is the environment the unknown-variable warnings look at
    /// (figment itself reads the process environment).
    pub fn load_from(file: Option<&Path>, vars: &[(String, String)]) -> Result<Loaded, ConfigError> {
        let path = match file {
            Some(p) if !p.exists() => return Err(ConfigError::MissingFile(p.to_path_buf())),
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("config.toml")).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(p) = &path {
            figment = figment.merge(Toml::file(p));
        }
        let env: Vec<(String, String)> = vars
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !ENV_RESERVED.contains(&k.as_str()))
            .cloned()
            .collect();
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(ENV_IGNORED));
        let config: Config = figment.extract().map_err(describe_figment)?;

        let known = known_keys();
        let mut warnings = Vec::new();
        for (name, _) in &env {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
            if !known.contains(&key) {
                warnings.push(format!("unknown environment variable {name} ignored (no key `{key}`)"));
            }
        }
        if let Some(p) = &path {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            if let Ok(table) = text.parse::<toml::Table>() {
                let mut found = Vec::new();
                collect_keys("", &toml::Value::Table(table), &mut found);
                for key in found.into_iter().filter(|k| !known.contains(k)) {
                    warnings.push(format!("unknown key `{key}` in {} ignored", p.display()));
                }
            }
        }
        config.validate()?;
        Ok(Loaded { config, warnings, file: path })
    }

    /// Checks what serde cannot: addresses parse, names exist, numbers are in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| Err(ConfigError::Invalid { key: key.to_string(), message });
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return invalid("server.bind", format!("`{}` is not an address:port", self.server.bind));
        }
        if let Some(bad) = self.server.trusted_proxies.iter().find(|p| p.parse::<std::net::IpAddr>().is_err()) {
            return invalid("server.trusted_proxies", format!("`{bad}` is not an IP address"));
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return invalid("database.url", "must start with sqlite: or postgres://".into());
        }
        if self.server.header_read_timeout_secs == 0 {
            return invalid("server.header_read_timeout_secs", "must be at least 1".into());
        }
        if self.server.max_connections == 0 || self.server.max_connections_per_address == 0 {
            return invalid(
                "server.max_connections",
                "must be at least 1 (and max_connections_per_address too)".into(),
            );
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1".into());
        }
        if self.phone.default_region.parse::<phonenumber::country::Id>().is_err() {
            return invalid(
                "phone.default_region",
                format!("`{}` is not an ISO 3166 region code", self.phone.default_region),
            );
        }
        if !self.metrics.bind.is_empty() && self.metrics.bind.parse::<SocketAddr>().is_err() {
            return invalid("metrics.bind", format!("`{}` is not an address:port", self.metrics.bind));
        }
        if let Err((key, message)) = self.theme.check() {
            return invalid(&key, message);
        }
        let pl = &self.plugins;
        let ceiling = (crate::plugins::limits::MAX_MEMORY_BYTES >> 20) as u32;
        if pl.memory_mib == 0 || pl.memory_mib > pl.max_memory_mib || pl.max_memory_mib > ceiling {
            return invalid(
                "plugins.memory_mib",
                format!("must be at least 1 and at most max_memory_mib (at most {ceiling})"),
            );
        }
        for (key, ms) in [
            ("plugins.auth_timeout_ms", pl.auth_timeout_ms),
            ("plugins.field_timeout_ms", pl.field_timeout_ms),
            ("plugins.avatar_timeout_ms", pl.avatar_timeout_ms),
            ("plugins.tab_timeout_ms", pl.tab_timeout_ms),
            ("plugins.action_timeout_ms", pl.action_timeout_ms),
        ] {
            if !(10..=60_000).contains(&ms) {
                return invalid(key, "must be between 10 and 60000 ms".into());
            }
        }
        if pl.max_concurrency == 0 || pl.max_concurrency > 64 {
            return invalid("plugins.max_concurrency", "must be between 1 and 64".into());
        }
        if pl.breaker_faults == 0 {
            return invalid("plugins.breaker_faults", "must be at least 1".into());
        }
        if pl.fuel_per_ms == 0 {
            return invalid("plugins.fuel_per_ms", "must be at least 1".into());
        }
        if self.i18n.languages.is_empty() {
            return invalid("i18n.languages", "name at least one language".into());
        }
        if self.i18n.default_time_zone.parse::<chrono_tz::Tz>().is_err() {
            return invalid(
                "i18n.default_time_zone",
                format!("`{}` is not an IANA time zone", self.i18n.default_time_zone),
            );
        }
        if self.auth.password_min_length < 8 || self.auth.password_max_length < self.auth.password_min_length {
            return invalid("auth.password_min_length", "must be at least 8 and not above password_max_length".into());
        }
        if self.auth.password_max_length > 512 {
            return invalid("auth.password_max_length", "must be at most 512".into());
        }
        if self.auth.session_idle_minutes <= 0 || self.auth.session_absolute_hours <= 0 {
            return invalid("auth.session_idle_minutes", "session lifetimes must be positive".into());
        }
        if self.auth.max_sessions_per_user < 1 {
            return invalid("auth.max_sessions_per_user", "must be at least 1".into());
        }
        if self.auth.login_delays_secs.is_empty() || self.auth.login_delays_secs.iter().any(|s| *s > 86_400) {
            return invalid("auth.login_delays_secs", "needs at least one delay, each at most 86400 seconds".into());
        }
        if self.auth.login_max_failures_per_hour < 1 {
            return invalid("auth.login_max_failures_per_hour", "must be at least 1".into());
        }
        let mut ids = BTreeSet::new();
        for (i, p) in self.auth.ldap.iter().enumerate() {
            let key = |k: &str| format!("auth.ldap[{i}].{k}");
            let bad = |k: &str, m: &str| Err(ConfigError::Invalid { key: key(k), message: m.to_string() });
            if p.id.is_empty() || !p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return bad("id", "must be letters, digits, - or _");
            }
            if !ids.insert(p.id.clone()) {
                return bad("id", "is used by another provider");
            }
            if !(p.url.starts_with("ldap://") || p.url.starts_with("ldaps://")) {
                return bad("url", "must start with ldap:// or ldaps://");
            }
            if p.starttls && p.url.starts_with("ldaps://") {
                return bad("starttls", "is for ldap:// URLs (ldaps:// is TLS already)");
            }
            if p.bind_dn.is_empty() && !p.user_dn_template.contains("{username}") {
                return bad("user_dn_template", "needs {username} when there is no bind_dn (direct bind)");
            }
            if p.base_dn.is_empty() || !p.user_filter.contains("{username}") {
                return bad("user_filter", "base_dn and a user_filter containing {username} are required");
            }
            if let Err(why) = crate::ldap::check_filter(&p.user_filter) {
                return bad("user_filter", &format!("is not a usable LDAP filter: {why}"));
            }
            if p.connect_timeout_secs == 0 || p.timeout_secs == 0 || p.connect_timeout_secs > 60 || p.timeout_secs > 60
            {
                return bad("timeout_secs", "connect_timeout_secs and timeout_secs must be 1 to 60");
            }
            if !p.ca_file.is_empty() && !Path::new(&p.ca_file).is_file() {
                return bad("ca_file", "is not a readable file");
            }
        }
        if !(1..=10_080).contains(&self.mail.reset_link_minutes) {
            return invalid("mail.reset_link_minutes", "must be between 1 and 10080 (a week)".into());
        }
        if !(1..=100).contains(&self.mail.resets_per_account_per_hour) {
            return invalid("mail.resets_per_account_per_hour", "must be between 1 and 100".into());
        }
        crate::mail::Mailer::new(&self.mail).map_err(|(key, message)| ConfigError::Invalid { key, message })?;
        if !(self.server.public_url.starts_with("http://") || self.server.public_url.starts_with("https://"))
            || self.server.public_url.ends_with('/')
        {
            return invalid("server.public_url", "must be http(s)://host[:port] without a trailing /".into());
        }
        for (i, p) in self.auth.oauth.iter().enumerate() {
            let key = |k: &str| format!("auth.oauth[{i}].{k}");
            let bad = |k: &str, m: &str| Err(ConfigError::Invalid { key: key(k), message: m.to_string() });
            if p.id.is_empty() || !p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return bad("id", "must be letters, digits, - or _");
            }
            if !ids.insert(format!("oauth:{}", p.id)) {
                return bad("id", "is used by another provider");
            }
            if !(p.issuer.starts_with("https://") || p.issuer.starts_with("http://")) {
                return bad("issuer", "must be an http(s) URL");
            }
            if p.client_id.is_empty() {
                return bad("client_id", "is required");
            }
            if !p.scopes.iter().any(|s| s == "openid") {
                return bad("scopes", "must include openid");
            }
        }
        if self.auth.login_address_burst < 1 || self.auth.login_address_per_minute < 1 {
            return invalid(
                "auth.login_address_burst",
                "login_address_burst and login_address_per_minute must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// The database URL with a relative SQLite path resolved under the data directory.
    pub fn database_url(&self) -> String {
        let url = &self.database.url;
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
            if path != ":memory:" && !Path::new(path).is_absolute() {
                let full = self.server.data_dir.join(path);
                return match query {
                    Some(q) => format!("sqlite://{}?{q}", full.display()),
                    None => format!("sqlite://{}", full.display()),
                };
            }
        }
        url.clone()
    }
}

/// Names each bad key in lowercase dotted form (`database.max_connections`), whichever layer
/// it came from.
fn describe_figment(e: figment::Error) -> ConfigError {
    let parts: Vec<String> = e
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let from = e.metadata.as_ref().map(|m| m.name.to_string()).unwrap_or_default();
            if key.is_empty() { format!("{} ({from})", e.kind) } else { format!("key `{key}`: {} ({from})", e.kind) }
        })
        .collect();
    ConfigError::Figment(parts.join("; "))
}

/// Every key path Kith knows, e.g. `database.url`.
pub fn known_keys() -> BTreeSet<String> {
    let mut keys = Vec::new();
    if let Ok(value) = toml::Value::try_from(Config::default()) {
        collect_keys("", &value, &mut keys);
    }
    keys.into_iter().collect()
}

fn collect_keys(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                collect_keys(&key, v, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn shipped_config_toml_equals_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.toml");
        let text = std::fs::read_to_string(&path).expect("config.toml at the repo root");
        let from_file: Config = toml::from_str(&text).expect("config.toml parses");
        assert_eq!(from_file, Config::default());
        // and every key the code knows is written (documented) in the file
        let table: toml::Table = text.parse().expect("toml");
        let mut written = Vec::new();
        collect_keys("", &toml::Value::Table(table), &mut written);
        let written: BTreeSet<String> = written.into_iter().collect();
        assert_eq!(written, known_keys());
    }

    #[test]
    fn layers_env_over_file_over_defaults_and_warns_on_unknown() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "k.toml",
                "[server]\nbind = \"0.0.0.0:9000\"\n[database]\nmax_connections = 3\nbogus = 1\n",
            )?;
            jail.set_env("KITH_DATABASE__MAX_CONNECTIONS", "4");
            jail.set_env("KITH_SERVR__BIND", "x");
            let vars: Vec<(String, String)> = std::env::vars().collect();
            let loaded = Config::load_from(Some(Path::new("k.toml")), &vars).expect("loads");
            assert_eq!(loaded.config.server.bind, "0.0.0.0:9000");
            assert_eq!(loaded.config.database.max_connections, 4);
            assert_eq!(loaded.config.phone.default_region, "US");
            assert!(loaded.warnings.iter().any(|w| w.contains("KITH_SERVR__BIND")), "{:?}", loaded.warnings);
            assert!(loaded.warnings.iter().any(|w| w.contains("database.bogus")), "{:?}", loaded.warnings);
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KITH_DATABASE__MAX_CONNECTIONS", "lots");
            let vars: Vec<(String, String)> = std::env::vars().collect();
            let err = Config::load_from(None, &vars).expect_err("bad number");
            assert!(err.to_string().contains("database.max_connections"), "{err}");
            jail.set_env("KITH_DATABASE__MAX_CONNECTIONS", "2");
            jail.set_env("KITH_PHONE__DEFAULT_REGION", "XX");
            let vars: Vec<(String, String)> = std::env::vars().collect();
            let err = Config::load_from(None, &vars).expect_err("bad region");
            assert!(err.to_string().contains("phone.default_region"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn database_url_is_resolved_and_redacted() {
        let mut c = Config::default();
        assert_eq!(c.database_url(), "sqlite://data/kith.db");
        c.database.url = "sqlite:///var/lib/kith.db".into();
        assert_eq!(c.database_url(), "sqlite:///var/lib/kith.db");
        c.database.url = "postgres://kith:secret@db/kith".into();
        assert!(!format!("{:?}", c.database).contains("secret"));
    }
}
