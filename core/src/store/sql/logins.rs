//! Logins: the per-account failure counter that throttles password guessing, and the one
//! transaction that turns a checked credential into a session.

use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::{Error, Result, UserId};
use crate::store::{LoginEvent, LoginPolicy, NewSession, PendingLogin, db_err};

/// One hour: the window failures are counted in for the hourly ceiling.
const WINDOW_MS: Millis = 3_600_000;

/// Reserves one credential check for `account_key`: answers `Ok(None)` when the check may go
/// ahead (it is counted as a failure until [`complete_login`] clears it), or the milliseconds
/// to wait. Check and reservation happen under the row's write lock, so concurrent attempts
/// cannot all slip through before the first one is counted.
pub async fn reserve_attempt(
    pools: &Pools,
    account_key: &str,
    policy: &LoginPolicy,
    now: Millis,
) -> Result<Option<Millis>> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query(
        "INSERT INTO login_throttle (account_key, failures, window_start, unlock_at) VALUES ($1, 0, $2, 0)
         ON CONFLICT (account_key) DO NOTHING",
    )
    .bind(account_key)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let (failures, window_start, unlock_at): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT failures, window_start, unlock_at FROM login_throttle WHERE account_key = $1{FOR_UPDATE}"
    )))
    .bind(account_key)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    if now < unlock_at {
        tx.rollback().await.map_err(db_err)?;
        return Ok(Some(unlock_at - now));
    }
    let (failures, window_start) = if now - window_start >= WINDOW_MS { (0, now) } else { (failures, window_start) };
    let failures = failures + 1;
    let unlock_at = if failures >= policy.max_failures_per_hour {
        window_start + WINDOW_MS
    } else {
        now + policy.delay_after(failures)
    };
    sqlx::query("UPDATE login_throttle SET failures = $1, window_start = $2, unlock_at = $3 WHERE account_key = $4")
        .bind(failures)
        .bind(window_start)
        .bind(unlock_at)
        .bind(account_key)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    // Counters of names nobody has tried for a day go, a few at a time.
    sqlx::query(
        "DELETE FROM login_throttle WHERE account_key IN
            (SELECT account_key FROM login_throttle WHERE window_start < $1 LIMIT 20)",
    )
    .bind(now - 24 * WINDOW_MS)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(None)
}

/// A successful login, in one transaction: the account's failure counter is cleared, the login
/// is recorded (`last_login_at`, a login event, an upgraded password hash), the new session is
/// stored, and the user's oldest sessions beyond the cap end. Answers when the session expires.
pub async fn complete_login(pools: &Pools, s: &NewSession<'_>, now: Millis) -> Result<Millis> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let user = s.user.0;
    // whatever checked the credentials, a disabled (or meanwhile deleted) account gets no session
    let disabled: Option<bool> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT disabled FROM users WHERE id = $1{FOR_UPDATE}")))
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    if disabled != Some(false) {
        tx.rollback().await.map_err(db_err)?;
        tracing::info!(user_id = user, "login refused: the account is disabled");
        return Err(Error::Unauthenticated);
    }
    if let Some(key) = s.account_key {
        sqlx::query("DELETE FROM login_throttle WHERE account_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(now)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if let Some(h) = s.new_password_hash {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(h)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("INSERT INTO login_events (user_id, at, method, address) VALUES ($1, $2, $3, $4)")
        .bind(user)
        .bind(now)
        .bind(s.method)
        .bind(s.address)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    // Keep the last 50 login events of this user.
    sqlx::query(
        "DELETE FROM login_events WHERE user_id = $1 AND id NOT IN
            (SELECT id FROM login_events WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT 50)",
    )
    .bind(user)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;

    let expires = now + s.absolute_ms;
    sqlx::query(
        "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, idle_expires_at, expires_at)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(user)
    .bind(s.token_hash)
    .bind(now)
    .bind((now + s.idle_ms).min(expires))
    .bind(expires)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    // Expired sessions of this user go, and the oldest live ones beyond the cap.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND (idle_expires_at <= $2 OR expires_at <= $2)")
        .bind(user)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN
            (SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind(user)
    .bind(s.max_sessions)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(expires)
}

/// A user's most recent logins, newest first.
pub async fn login_events(conn: &mut Conn, user: UserId, limit: i64) -> Result<Vec<LoginEvent>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT at, method, address FROM login_events WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|(at, method, address)| LoginEvent { at: crate::clock::Timestamp(at), method, address })
        .collect())
}

/// An OpenID Connect login between the redirect to the provider and its callback.
pub async fn save_pending(
    pools: &Pools,
    p: &PendingLogin,
    state_hash: &str,
    max_pending: i64,
    now: Millis,
) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    // logins older than their 10 minutes can no longer finish: they go
    sqlx::query("DELETE FROM oauth_pending WHERE created_at < $1")
        .bind(now - 10 * 60_000)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    // a flood of starts cannot fill the table: past the cap, new logins wait
    let live: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM oauth_pending").fetch_one(&mut *tx).await.map_err(db_err)?;
    if live >= max_pending {
        tx.rollback().await.map_err(db_err)?;
        tracing::warn!(live, "OIDC login refused: too many logins are pending");
        return Err(crate::domain::Error::Unavailable("too many pending logins".into()));
    }
    sqlx::query(
        "INSERT INTO oauth_pending (state_hash, provider, nonce, pkce_verifier, mode, return_to, created_at, browser_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(state_hash)
    .bind(&p.provider)
    .bind(&p.nonce)
    .bind(&p.pkce_verifier)
    .bind(&p.mode)
    .bind(&p.return_to)
    .bind(now)
    .bind(&p.browser_hash)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Takes (and removes: a `state` is good once) the pending login `state_hash` names.
pub async fn take_pending(pools: &Pools, state_hash: &str) -> Result<Option<PendingLogin>> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let row: Option<(String, String, String, String, String, i64, String)> = sqlx::query_as(
        "DELETE FROM oauth_pending WHERE state_hash = $1
         RETURNING provider, nonce, pkce_verifier, mode, return_to, created_at, browser_hash",
    )
    .bind(state_hash)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(row.map(|(provider, nonce, pkce_verifier, mode, return_to, created_at, browser_hash)| PendingLogin {
        provider,
        nonce,
        pkce_verifier,
        mode,
        return_to,
        created_at,
        browser_hash,
    }))
}

/// The user an external identity (issuer, subject) is linked to.
pub async fn find_identity(pools: &Pools, issuer: &str, subject: &str) -> Result<Option<UserId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)?;
    Ok(id.map(UserId))
}

/// The subject a user is linked to at an issuer, if any.
pub async fn identity_of(pools: &Pools, user: UserId, issuer: &str) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT subject FROM user_identities WHERE user_id = $1 AND issuer = $2")
        .bind(user.0)
        .bind(issuer)
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)
}

pub async fn link_identity(
    pools: &Pools,
    issuer: &str,
    subject: &str,
    user: UserId,
    provider: &str,
    notice: Option<(&str, &str)>,
    now: Millis,
) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, provider, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user.0)
    .bind(provider)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some((kind, payload)) = notice {
        super::jobs::insert(&mut tx, kind, payload, now).await?;
    }
    tx.commit().await.map_err(db_err)
}

/// The user holding an e-mail address (lowercase), if any.
pub async fn user_by_email(pools: &Pools, email: &str) -> Result<Option<UserId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT user_id FROM user_emails WHERE email = $1")
        .bind(email)
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)?;
    Ok(id.map(UserId))
}
