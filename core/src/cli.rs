//! The command line: `kith serve`, `kith migrate`, `kith admin create`, `kith token create`,
//! `kith plugin list|check`, `kith demo-data`, `kith bench`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::http::AppState;
use crate::server;

#[derive(Debug, Parser)]
#[command(name = "kith", version, about = "Kith: the people side of a help desk — users, agents, organizations.")]
pub struct Cli {
    /// Configuration file (default: ./config.toml when present). Environment variables
    /// KITH_<SECTION>__<KEY> override it, e.g. KITH_DATABASE__URL.
    #[arg(long, global = true, env = "KITH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Fill the database with a deterministic, realistic data set (organizations with rules,
    /// users, tickets, chats, calls, surveys), bulk-loaded, with progress on standard error.
    DemoData {
        #[arg(long, default_value_t = 1000)]
        users: u64,
        #[arg(long, default_value_t = 50)]
        organizations: u64,
        #[arg(long, default_value_t = 10000)]
        tickets: u64,
        /// Default: a tenth of --tickets.
        #[arg(long)]
        chats: Option<u64>,
        /// Default: a tenth of --tickets.
        #[arg(long)]
        calls: Option<u64>,
        /// Default: a tenth of --tickets.
        #[arg(long)]
        surveys: Option<u64>,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Inspect WebAssembly plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Measure p50/p99 latency of the operations agents wait on (organization tickets tab, user
    /// search, organization users tab, a user's page) against the configured database.
    Bench {
        /// Timed runs per operation (after a tenth as many warm-up runs).
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator. Without --password-stdin a strong password is generated and
    /// printed once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins in the configured folders (plugins.dirs) with their state.
    List,
    /// Check a plugin folder (plugin.toml + .wasm): validates the manifest, compiles the
    /// component, checks its API version and prints what it provides. Exits 1 if it would not load.
    Check {
        /// The plugin's folder (or its plugin.toml).
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is printed as the last line.
    Create {
        #[arg(long)]
        username: String,
        /// A note saying what the token is for.
        #[arg(long, default_value = "")]
        name: String,
        /// Days until the token stops working (1 to 3650); never when absent.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List API tokens (id, owner, name, created, expires, last used, revoked); never secrets.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke an API token by id: it is refused from the next request on.
    Revoke {
        /// The token's id (`kith token list` shows it).
        id: i64,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut log = loaded.config.log.clone();
    if matches!(cli.command, Command::Bench { .. } | Command::DemoData { .. }) && log.level == "info" {
        // per-request and slow-bulk-statement lines would drown the progress and skew timings
        log.level = "warn,sqlx=error,tower_http=warn".into();
    }
    crate::telemetry::init(&log);
    match &loaded.file {
        Some(f) => tracing::debug!(file = %f.display(), "configuration loaded"),
        None => tracing::debug!("no configuration file; using defaults and environment"),
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, loaded.config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

fn describe(e: &crate::domain::Error) -> String {
    match e {
        crate::domain::Error::Invalid(fields) => {
            fields.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
        }
        crate::domain::Error::Conflict { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

async fn run(command: Command, config: Config) -> crate::domain::Result<()> {
    match command {
        Command::Serve => server::serve(config).await,
        Command::Migrate => {
            let store = server::open_store(&config).await?;
            println!("migrations applied ({})", store.backend_name());
            store.close().await;
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { username, email, password_stdin } } => {
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).map_err(|e| {
                    crate::domain::Error::invalid("password", format!("cannot read standard input: {e}"))
                })?;
                Some(s.lines().next().unwrap_or_default().to_string())
            } else {
                None
            };
            let store = server::open_store(&config).await?;
            let state = crate::app::App::new(store.clone(), config);
            let (user, generated) = crate::services::users::create_admin(&state, &username, &email, password).await?;
            println!("created administrator {} (id {})", user.username, user.id);
            if let Some(pw) = generated {
                println!("password (shown once): {pw}");
            }
            store.close().await;
            Ok(())
        }
        Command::DemoData { users, organizations, tickets, chats, calls, surveys, seed } => {
            let store = server::open_store(&config).await?;
            let options = crate::demo::DemoOptions {
                users,
                organizations,
                tickets,
                chats: chats.unwrap_or(tickets / 10),
                calls: calls.unwrap_or(tickets / 10),
                surveys: surveys.unwrap_or(tickets / 10),
                seed,
                languages: config.i18n.languages.clone(),
            };
            let s = crate::demo::generate(&store, &options).await?;
            println!(
                "demo data: {} organizations ({} rules), {} users, {} tickets, {} chats, {} calls, {} surveys in {:.1} s",
                s.organizations, s.rules, s.users, s.tickets, s.chats, s.calls, s.surveys, s.seconds
            );
            store.close().await;
            Ok(())
        }
        Command::Bench { runs } => {
            let store = server::open_store(&config).await?;
            let state = AppState::new(store.clone(), config);
            let admin = "bench-admin";
            if store.find_user_id(admin).await?.is_none() {
                crate::services::users::create_admin(&state, admin, "bench-admin@example.com", None).await?;
            }
            let token = server::create_token(&store, admin, "kith bench", None).await?;
            let users = store.count_users().await?;
            println!("kith bench: {} backend, {users} users, {runs} timed runs per operation", store.backend_name());
            let results = crate::bench::run(state, &token, runs).await?;
            println!("| operation | data | p50 ms | p99 ms | mean ms |");
            println!("|---|---|---:|---:|---:|");
            for m in &results {
                println!("| {} | {} | {:.2} | {:.2} | {:.2} |", m.name, m.detail, m.p50_ms, m.p99_ms, m.mean_ms);
            }
            let (rss, peak) = crate::bench::memory_mib();
            println!("memory: {rss:.0} MiB resident now, {peak:.0} MiB peak");
            store.close().await;
            Ok(())
        }
        Command::Plugin { command: PluginCommand::Check { path } } => {
            let folder = if path.file_name().is_some_and(|n| n == "plugin.toml") {
                path.parent().map(PathBuf::from).unwrap_or_default()
            } else {
                path
            };
            let report = tokio::task::spawn_blocking(move || crate::plugins::check_folder(&config.plugins, &folder))
                .await
                .map_err(|e| crate::domain::Error::Internal(e.to_string()))?;
            match report {
                Ok(text) => {
                    print!("ok: {text}");
                    Ok(())
                }
                Err(e) => Err(crate::domain::Error::BadRequest(format!("the plugin would not load: {e}"))),
            }
        }
        Command::Plugin { command: PluginCommand::List } => {
            let store = server::open_store(&config).await?;
            let state = crate::app::App::new(store.clone(), config);
            state.plugins.reload().await;
            let settings =
                state.plugins.settings().await.map_err(|e| crate::domain::Error::Unavailable(e.to_string()))?;
            let all = state.plugins.all();
            println!(
                "plugin folders: {}",
                state.config.plugins.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            );
            if all.is_empty() && state.plugins.load_errors().is_empty() {
                println!("no plugins found");
            }
            for p in all.values() {
                let m = &p.manifest;
                let s = settings.get(m.id()).cloned().unwrap_or_default();
                let st = if s.enabled {
                    "enabled".to_string()
                } else {
                    s.disabled_reason.map_or("disabled".to_string(), |r| format!("disabled: {r}"))
                };
                println!(
                    "{} {} ({}) — {} — provides {} — {}",
                    m.id(),
                    m.plugin.version,
                    m.plugin.name,
                    st,
                    m.plugin.provides.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
                    p.dir.display()
                );
            }
            for e in state.plugins.load_errors().iter() {
                println!("NOT LOADED {}: {}", e.dir, e.error);
            }
            store.close().await;
            Ok(())
        }
        Command::Token { command: TokenCommand::List { username } } => {
            let store = server::open_store(&config).await?;
            let user = match username {
                Some(u) => Some(
                    store
                        .find_user_id(&u)
                        .await?
                        .ok_or_else(|| crate::domain::Error::invalid("username", format!("no user named `{u}`")))?,
                ),
                None => None,
            };
            let when =
                |t: Option<crate::clock::Timestamp>| t.map_or("-".to_string(), |t| crate::clock::to_rfc3339(t.0));
            println!(
                "{:>6}  {:>7}  {:<24}  {:<24}  {:<24}  {:<24}  revoked",
                "id", "user", "name", "created", "expires", "last used"
            );
            for t in store.list_api_tokens(user).await? {
                println!(
                    "{:>6}  {:>7}  {:<24}  {:<24}  {:<24}  {:<24}  {}",
                    t.id,
                    t.user_id.0,
                    t.name,
                    when(Some(t.created_at)),
                    when(t.expires_at),
                    when(t.last_used_at),
                    when(t.revoked_at)
                );
            }
            store.close().await;
            Ok(())
        }
        Command::Token { command: TokenCommand::Revoke { id } } => {
            let store = server::open_store(&config).await?;
            if !store.revoke_api_token(id).await? {
                return Err(crate::domain::Error::invalid("id", format!("no token with id {id}")));
            }
            println!("revoked token {id}: it is refused from the next request on");
            store.close().await;
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { username, name, expires_in_days } } => {
            let store = server::open_store(&config).await?;
            let token = server::create_token(&store, &username, &name, expires_in_days).await?;
            eprintln!("API token for {username} (shown once; send as `Authorization: Bearer <token>`):");
            println!("{token}");
            store.close().await;
            Ok(())
        }
    }
}
