//! Work done after the request that asked for it. The queue is a database table, so any
//! instance may pick a job up and a restart loses nothing; each instance runs one worker that
//! wakes when its own requests add a job and once a second for the others'. Today's jobs send
//! e-mail: password reset links and the notice that a sign-in method was linked to an account.
//!
//! Doing this outside the request is also what keeps the forgot-password answer the same for
//! every address (RELIABILITY A9): the request only queues the address, and whether anybody
//! owns it is found out here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::app::App;
use crate::auth::{random_string, token_hash};
use crate::clock::{Millis, to_rfc3339};
use crate::config::Config;
use crate::domain::{Error, Result, UserId};
use crate::mail::{MailTemplates, Mailer};
use crate::store::Store;

/// A claimed job is another worker's again after this long (a crashed worker's job comes back).
const LEASE_MS: Millis = 5 * 60_000;
/// A job that failed this many times is dropped (and logged).
const MAX_ATTEMPTS: i32 = 5;

/// What a job does; stored as JSON, `kind` tagged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Task {
    /// Someone asked for a reset link for this address (lowercased).
    PasswordReset { address: String },
    /// A sign-in method (an OpenID Connect provider) was linked to this user's account.
    IdentityLinked { user_id: i64, provider: String },
}

impl Task {
    fn kind(&self) -> &'static str {
        match self {
            Task::PasswordReset { .. } => "password-reset",
            Task::IdentityLinked { .. } => "identity-linked",
        }
    }
}

/// What jobs may use — the worker's own context, not the HTTP state (crates.io's
/// `worker/environment.rs` is the model): the database, the settings, the mailer and its
/// templates.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub store: Store,
    pub config: Arc<Config>,
    pub mailer: Arc<Mailer>,
    pub mail: Arc<MailTemplates>,
    wake: Arc<tokio::sync::Notify>,
}

impl JobContext {
    /// The context of this instance's worker.
    pub fn of(app: &App) -> JobContext {
        JobContext {
            store: app.store.clone(),
            config: app.config.clone(),
            mailer: app.mailer.clone(),
            mail: app.mail_templates.clone(),
            wake: app.jobs_wake.clone(),
        }
    }

    /// The language an e-mail to someone who chose `lang` is written in.
    fn language<'a>(&'a self, lang: &'a str) -> &'a str {
        let langs = &self.config.i18n.languages;
        if langs.iter().any(|l| l == lang) { lang } else { langs.first().map_or("en", String::as_str) }
    }
}

/// Queues a task and wakes this instance's worker.
pub async fn enqueue(state: &App, task: &Task) -> Result<()> {
    let (kind, payload) = encode(task)?;
    state.store.enqueue_job(kind, &payload).await?;
    state.jobs_wake.notify_one();
    Ok(())
}

/// A task as the queue stores it (kind, JSON), for queueing inside another write's transaction
/// (then call `state.jobs_wake.notify_one()` after it commits).
pub fn encode(task: &Task) -> Result<(&'static str, String)> {
    let payload = serde_json::to_string(task).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((task.kind(), payload))
}

/// Runs every job that is due now, one after the other; answers how many ran (done or failed).
pub async fn run_due(state: &JobContext) -> Result<usize> {
    let mut ran = 0;
    while let Some(job) = state.store.claim_job(LEASE_MS).await? {
        ran += 1;
        let outcome = match serde_json::from_str::<Task>(&job.payload) {
            Ok(task) => run(state, &task).await,
            Err(e) => Err(format!("unreadable job: {e}")),
        };
        match outcome {
            Ok(()) => state.store.finish_job(job.id).await?,
            Err(e) if job.attempts >= MAX_ATTEMPTS => {
                tracing::error!(job = job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job dropped after repeated failures");
                state.store.finish_job(job.id).await?;
            }
            Err(e) => {
                // 1, 4, 9, 16 minutes
                let wait = 60_000 * Millis::from(job.attempts) * Millis::from(job.attempts);
                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed; will try again");
                state.store.retry_job(job.id, &e, state.store.now() + wait).await?;
            }
        }
    }
    Ok(ran)
}

/// This instance's worker, until the process ends.
pub fn spawn_worker(state: JobContext) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "the job worker could not read the queue; trying again shortly");
            }
            tokio::select! {
                _ = state.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}

/// One task; `Err` is a message fit for the log (no secrets, no links).
async fn run(state: &JobContext, task: &Task) -> std::result::Result<(), String> {
    match task {
        Task::PasswordReset { address } => send_reset_link(state, address).await,
        Task::IdentityLinked { user_id, provider } => send_link_notice(state, UserId(*user_id), provider).await,
    }
}

async fn send_reset_link(state: &JobContext, address: &str) -> std::result::Result<(), String> {
    if !state.mailer.is_on() {
        tracing::warn!("a password reset was asked for, but mail.transport = \"none\": no link is sent");
        return Ok(());
    }
    let c = &state.config.mail;
    let token = random_string(32);
    let ttl = c.reset_link_minutes * 60_000;
    let target = state
        .store
        .issue_password_reset(address, &token_hash(&token), ttl, c.resets_per_account_per_hour)
        .await
        .map_err(|e| e.to_string())?;
    let Some(t) = target else {
        // nobody with a local password owns the address, or the hourly cap is reached
        return Ok(());
    };
    let link = format!("{}/login/reset?token={token}", state.config.server.public_url);
    let mut ctx = tera::Context::new();
    ctx.insert("name", &t.display_name);
    ctx.insert("username", &t.username);
    ctx.insert("minutes", &c.reset_link_minutes);
    ctx.insert("link", &link);
    let (subject, body) = state.mail.render("password-reset", state.language(&t.language), &ctx)?;
    state.mailer.send(&t.display_name, &t.to, &subject, body).await?;
    tracing::info!(event = "password_reset_sent", user_id = t.user.0, "password reset link sent");
    Ok(())
}

async fn send_link_notice(state: &JobContext, user: UserId, provider: &str) -> std::result::Result<(), String> {
    if !state.mailer.is_on() {
        return Ok(());
    }
    let u = match state.store.get_user(user).await {
        Ok(u) => u,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let Some(to) = u.primary_email() else { return Ok(()) };
    let mut ctx = tera::Context::new();
    ctx.insert("name", &u.display_name);
    ctx.insert("username", &u.username);
    ctx.insert("provider", provider);
    ctx.insert("at", &to_rfc3339(state.store.now()));
    let (subject, body) = state.mail.render("identity-linked", state.language(&u.language), &ctx)?;
    state.mailer.send(&u.display_name, &to.email, &subject, body).await?;
    tracing::info!(event = "identity_link_notice_sent", user_id = user.0, provider, "identity link notice sent");
    Ok(())
}
