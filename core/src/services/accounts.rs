//! Accounts: who a token belongs to, password logins and sessions, logging out, forgotten
//! passwords (a link by e-mail, used once) and changing one's own password. The JSON API and
//! the login pages call exactly these functions, so both fronts share every throttle and rule.

use std::net::IpAddr;

use super::Caller;
use crate::app::App;
use crate::auth::{MAX_PASSWORD_BYTES, new_token, token_hash, token_kind};
use crate::clock::Millis;
use crate::domain::address::normalize_email;
use crate::domain::user::{AuthMethod, User, check_password, username_key};
use crate::domain::{Error, Result, UserId};
use crate::jobs::{Task, enqueue};
use crate::store::{NewSession, TokenKind};

/// What every forgot-password request is told, whoever owns the address.
pub const FORGOT_ANSWER: &str =
    "If an account that logs in with a password uses this address, a link to reset the password is on its way.";

/// The token of an unknown, used or expired link.
const DEAD_LINK: &str = "this link is unknown, used or expired; ask for a new one";

/// Tokens are far shorter than this; a longer one is refused unread.
const MAX_TOKEN_LEN: usize = 200;

/// A new login session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The secret the client sends back (a cookie or a bearer header); only its hash is stored.
    pub token: String,
    /// When the session ends at the latest (it also ends after the configured idle time).
    pub expires_at: Millis,
    pub user: User,
}

/// The caller behind a bearer token or session cookie, if it is live; a session's idle expiry
/// slides as it is used.
pub async fn authenticate(app: &App, token: &str) -> Result<Option<Caller>> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    let Some(kind) = token_kind(token) else { return Ok(None) };
    let hash = token_hash(token);
    let idle = app.config.auth.session_idle_minutes * 60_000;
    Ok(app
        .store
        .caller(&hash, kind, idle)
        .await?
        .map(|h| Caller::new(h.id, h.username, h.display_name, h.prefs, &h.roles, kind, hash)))
}

fn check_length(field: &str, password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(field, format!("too long (at most {MAX_PASSWORD_BYTES} bytes)")));
    }
    Ok(())
}

/// A login with a name and password (any auth method that takes one): the address limiter, the
/// account name's throttle, the credential check, the new session. Unknown users, wrong
/// passwords and users of another method all fail alike (`Unauthenticated`) after the same work.
pub async fn password_login(app: &App, addr: IpAddr, username: &str, password: String) -> Result<Session> {
    check_length("password", &password)?;
    app.login_limiter.take(addr, app.store.now())?;
    // no account name is this long or holds control characters (PostgreSQL text cannot even
    // hold a NUL): refused like a wrong password, before anything is looked up
    if username.len() > 320 || username.chars().any(char::is_control) {
        return Err(Error::Unauthenticated);
    }
    let account_key = username.trim().to_lowercase();
    if let Some(wait) = app.store.reserve_login_attempt(&account_key, &app.config.auth.login_policy()).await? {
        tracing::info!(event = "login_throttled", address = %addr, "login refused: account name is cooling down");
        return Err(Error::RateLimited(wait));
    }
    let Some(accepted) = crate::login::check_password(app, username, password).await? else {
        tracing::info!(event = "login_failed", address = %addr, "login refused");
        return Err(Error::Unauthenticated);
    };
    let session =
        open_session(app, accepted.user, &accepted.method, addr, Some(&account_key), accepted.rehash.as_deref())
            .await?;
    app.login_limiter.give_back(addr);
    Ok(session)
}

/// Turns an accepted login (by password, directory or identity provider) into a new session:
/// a fresh token, so nothing the client brought is reused.
pub async fn open_session(
    app: &App,
    id: UserId,
    method: &str,
    addr: IpAddr,
    account_key: Option<&str>,
    rehash: Option<&str>,
) -> Result<Session> {
    let token = new_token(TokenKind::Session);
    let auth = &app.config.auth;
    let expires_at = app
        .store
        .complete_login(&NewSession {
            user: id,
            token_hash: &token_hash(&token),
            method,
            address: &addr.to_string(),
            account_key,
            new_password_hash: rehash,
            idle_ms: auth.session_idle_minutes * 60_000,
            absolute_ms: auth.session_absolute_hours * 3_600_000,
            max_sessions: auth.max_sessions_per_user,
        })
        .await?;
    let user = app.store.get_user(id).await?;
    tracing::info!(event = "login", user_id = id.0, method = %method, address = %addr, "logged in");
    Ok(Session { token, expires_at, user })
}

/// Ends the caller's session, or every session of theirs with `everywhere`.
pub async fn logout(app: &App, caller: &Caller, everywhere: bool) -> Result<()> {
    if everywhere {
        let n = app.store.delete_user_sessions(caller.id).await?;
        tracing::info!(event = "logout_everywhere", user_id = caller.id.0, sessions = n, "sessions revoked");
    } else if let Some(hash) = caller.session_hash() {
        app.store.delete_session(hash).await?;
        tracing::info!(event = "logout", user_id = caller.id.0, "session ended");
    }
    Ok(())
}

/// Ends the session behind a browser's cookie, whoever holds it (logging out needs no more).
pub async fn end_session(app: &App, token: &str) -> Result<()> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(());
    }
    app.store.delete_session(&token_hash(token)).await
}

/// Queues a reset link for `email` (the same work whoever owns it: the job worker finds out,
/// RELIABILITY A9). Counts against the client address's login allowance, so addresses cannot
/// be sprayed.
pub async fn request_reset(app: &App, addr: IpAddr, email: &str) -> Result<()> {
    app.login_limiter.take(addr, app.store.now())?;
    let address = normalize_email(email).map_err(|why| Error::invalid("email", why))?.address;
    enqueue(app, &Task::PasswordReset { address }).await
}

/// An agent sends a user a password-reset link at their primary address: `users_edit` and the
/// rules of editing that user (another agent needs `roles_manage`); only for users who sign in
/// with a password here; the limit on reset e-mails per account still applies. Answers the
/// address.
pub async fn send_reset_for(app: &App, caller: &Caller, id: UserId) -> Result<String> {
    caller.require(crate::domain::role::Permission::UsersEdit)?;
    let user = app.store.get_user(id).await?;
    super::users::check_may_edit(caller, &user)?;
    if user.auth_method != "password" {
        return Err(Error::invalid(
            "password",
            format!("signs in with {}: the password is kept there", user.auth_method),
        ));
    }
    let Some(address) = user.primary_email().map(|e| e.email.clone()) else {
        return Err(Error::invalid("email", "has no e-mail address to send the link to"));
    };
    enqueue(app, &Task::PasswordReset { address: address.clone() }).await?;
    Ok(address)
}

/// Whose live link `token` is, if anybody's (for the reset page).
pub async fn link_holder(app: &App, token: &str) -> Result<Option<String>> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    Ok(app.store.password_reset_holder(&token_hash(token)).await?.map(|t| t.username))
}

/// Sets a new password with a reset link's token (the policy applies); the link works once and
/// every session of the account ends. A dead link is `Invalid` on `token`.
pub async fn complete_reset(app: &App, addr: IpAddr, token: &str, password: String) -> Result<UserId> {
    app.login_limiter.take(addr, app.store.now())?;
    check_length("password", &password)?;
    if token.is_empty() || token.len() > 100 {
        return Err(Error::invalid("token", DEAD_LINK));
    }
    let hashed_token = token_hash(token);
    let Some(holder) = app.store.password_reset_holder(&hashed_token).await? else {
        return Err(Error::invalid("token", DEAD_LINK));
    };
    check_password(&password, &holder.username, &app.rules).map_err(|why| Error::invalid("password", why))?;
    let hash = app.passwords.hash(password).await?;
    let Some(id) = app.store.reset_password(&hashed_token, &hash).await? else {
        return Err(Error::invalid("token", DEAD_LINK));
    };
    app.login_limiter.give_back(addr);
    tracing::info!(event = "password_reset", user_id = id.0, address = %addr, "password reset by e-mail link; sessions ended");
    Ok(id)
}

/// Changes the caller's own password (accounts that log in with a Kith password). A wrong
/// current password counts against the account name's login throttle, like a failed login.
/// The session making the change stays; the others end unless `end_other_sessions` is false.
pub async fn change_own_password(
    app: &App,
    caller: &Caller,
    current_password: String,
    new_password: String,
    end_other_sessions: bool,
) -> Result<()> {
    check_length("current_password", &current_password)?;
    check_length("new_password", &new_password)?;
    let Some(record) = app.store.find_login(&caller.username).await? else { return Err(Error::NotFound) };
    if AuthMethod::parse(&record.auth_method) != Ok(AuthMethod::Password) {
        let why = format!("this account logs in through {}; its password is changed there", record.auth_method);
        return Err(Error::invalid("current_password", why));
    }
    // the new password is checked first: a refused one costs no attempt of the throttle
    check_password(&new_password, &caller.username, &app.rules).map_err(|why| Error::invalid("new_password", why))?;
    let account_key = username_key(&caller.username);
    if let Some(wait) = app.store.reserve_login_attempt(&account_key, &app.config.auth.login_policy()).await? {
        return Err(Error::RateLimited(wait));
    }
    if !app.passwords.verify(current_password, record.password_hash).await?.ok {
        tracing::info!(event = "password_change_refused", user_id = caller.id.0, "wrong current password");
        return Err(Error::invalid("current_password", "is not the current password"));
    }
    let hash = app.passwords.hash(new_password).await?;
    let ended = app.store.change_own_password(caller.id, &hash, caller.session_hash(), end_other_sessions).await?;
    tracing::info!(
        event = "password_changed",
        user_id = caller.id.0,
        sessions_ended = ended,
        "password changed by its owner"
    );
    Ok(())
}
