//! OpenID Connect logins (SPEC 6): starting one (a pending login keyed by the hash of `state`,
//! with the nonce and PKCE verifier, good for 10 minutes) and finishing it (the state used once,
//! the issuer checked, the code exchanged, the ID token checked, the user found, linked or
//! created, and a session opened). The HTTP layer turns the outcome into a redirect or JSON.

use std::net::IpAddr;

use super::accounts::{Session, open_session};
use crate::app::App;
use crate::auth::{random_string, token_hash};
use crate::config::OAuthProvider;
use crate::domain::{Error, Result};
use crate::oidc::safe_return_to;
use crate::store::PendingLogin;

/// A login started more than this long ago is not finished (RELIABILITY O10).
pub const PENDING_LIFETIME_MS: i64 = 10 * 60_000;

/// Logins that may be pending at once (all providers, all clients): a flood of starts cannot
/// fill the table (3,000 rows in 3.3 s were seen); past it, starts answer 503.
const MAX_PENDING: i64 = 10_000;

/// A started login: where to send the browser, and the secret that binds the login to it
/// (set as a cookie; the callback needs it back).
#[derive(Debug)]
pub struct Started {
    pub url: String,
    pub binding: String,
}

fn provider<'a>(app: &'a App, id: &str) -> Result<&'a OAuthProvider> {
    app.config.auth.oauth.iter().find(|p| p.id == id).ok_or(Error::NotFound)
}

/// How the login ends: a session cookie and a redirect (`browser`), or JSON (`api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Browser,
    Api,
}

/// Starts a login with provider `id` for the client at `addr` (at most a burst of 20 and 20 a
/// minute per address); answers the provider's authorization URL to send the browser to and the
/// binding secret for its cookie.
pub async fn start(app: &App, id: &str, addr: IpAddr, mode: Option<&str>, return_to: Option<&str>) -> Result<Started> {
    let p = provider(app, id)?;
    app.oidc_start_limiter.take(addr, app.store.now())?;
    let mode = mode.unwrap_or("browser");
    if mode != "browser" && mode != "api" {
        return Err(Error::invalid("mode", "must be browser or api"));
    }
    let return_to = return_to.unwrap_or("/");
    if !safe_return_to(return_to) {
        return Err(Error::invalid("return_to", "must be a path on this site, like /agent"));
    }
    let started = app.oidc.start(p, &app.config.server.public_url).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "OIDC login could not start");
        Error::Unavailable(format!("identity provider {}", p.id))
    })?;
    let binding = random_string(32);
    let pending = PendingLogin {
        provider: p.id.clone(),
        nonce: started.nonce,
        pkce_verifier: started.pkce_verifier,
        mode: mode.to_string(),
        return_to: return_to.to_string(),
        created_at: 0,
        browser_hash: token_hash(&binding),
    };
    app.store.save_pending_login(&pending, &token_hash(&started.state), MAX_PENDING).await?;
    Ok(Started { url: started.url, binding })
}

/// The provider's answer, as its redirect carried it.
#[derive(Debug, Default)]
pub struct Answer<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    /// RFC 9207: the issuer of this answer; when present it must be the provider's.
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
}

/// A finished login: the new session, how to hand it over, and where a browser goes next.
#[derive(Debug)]
pub struct Finished {
    pub session: Session,
    pub mode: Mode,
    pub return_to: String,
}

/// Finishes a login: checks `state` (once only, within 10 minutes), that `binding` (the
/// starting browser's cookie) is the one the login was started with, `iss`, exchanges the code
/// with the PKCE verifier, checks the ID token, finds or creates the user, opens a session.
pub async fn finish(app: &App, id: &str, addr: IpAddr, binding: Option<&str>, q: Answer<'_>) -> Result<Finished> {
    let p = provider(app, id)?;
    let Some(st) = q.state.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Err(Error::BadRequest("state is missing".into()));
    };
    // taken whatever happens next: a state is good for one answer only
    let pending = app.store.take_pending_login(&token_hash(st)).await?;
    let Some(pending) = pending.filter(|pl| pl.provider == p.id) else {
        tracing::warn!(provider = %p.id, "OIDC callback refused: unknown, used or foreign state");
        return Err(Error::BadRequest("this login is unknown or was already used; start again".into()));
    };
    if app.store.now() - pending.created_at > PENDING_LIFETIME_MS {
        return Err(Error::BadRequest("this login took too long; start again".into()));
    }
    // RFC 9700 4.7: the answer must come back to the browser that asked for it
    let given = binding.filter(|b| !b.is_empty() && b.len() <= 100).map(token_hash).unwrap_or_default();
    let same = given.len() == pending.browser_hash.len()
        && !given.is_empty()
        && given.bytes().zip(pending.browser_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        tracing::warn!(provider = %p.id, address = %addr, "OIDC callback refused: not the browser that started the login");
        return Err(Error::BadRequest("this login was started in another browser; start again here".into()));
    }
    if let Some(iss) = q.iss
        && iss.trim_end_matches('/') != p.issuer.trim_end_matches('/')
    {
        tracing::warn!(provider = %p.id, "OIDC callback refused: the answer names another issuer");
        return Err(Error::BadRequest("the answer came from another issuer".into()));
    }
    if let Some(err) = q.error {
        tracing::info!(provider = %p.id, error = %err, description = ?q.error_description, "the provider refused the login");
        return Err(Error::Unauthenticated);
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(Error::BadRequest("code is missing".into()));
    };
    let identity =
        app.oidc.finish(p, &app.config.server.public_url, code, &pending.nonce, &pending.pkce_verifier).await.map_err(
            |e| {
                tracing::warn!(provider = %p.id, error = %e, "OIDC login refused");
                Error::Unauthenticated
            },
        )?;
    let Some(user) = crate::login::external_user(app, p, &identity).await? else {
        return Err(Error::Unauthenticated);
    };
    crate::login::sync_claims(app, p, user, &identity).await?;
    let method = format!("oauth:{}", p.id);
    let session = open_session(app, user, &method, addr, None, None).await?;
    let mode = if pending.mode == "api" { Mode::Api } else { Mode::Browser };
    Ok(Finished { session, mode, return_to: pending.return_to })
}
