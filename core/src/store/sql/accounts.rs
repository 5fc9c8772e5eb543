//! Password resets by e-mail link. A link is issued only to a local-password user who is not
//! disabled and owns the address, at most `per_hour` an hour; only the SHA-256 of its token is
//! stored, it works once, and using it ends every session of the user.

use serde_json::{Value, json};

use super::changes::record_change;
use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::change::{Actor, ActorKind};
use crate::domain::{Result, UserId};
use crate::store::{ResetTarget, db_err};

/// One hour: the window the per-account cap counts links in.
const HOUR_MS: Millis = 3_600_000;

/// Who may get and use a reset link (`u` is the user): Kith keeps their password and they are
/// not disabled. Issuing, showing and using a link all ask the same.
macro_rules! may_reset {
    () => {
        "u.auth_method = 'password' AND NOT u.disabled"
    };
}
const MAY_RESET: &str = may_reset!();

/// A link (`r`, its token's hash `$1`) that still works at `$2`, held by someone who may use it.
const LIVE_LINK: &str = concat!("r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND ", may_reset!());

/// Stores a new reset link for the owner of `address` and answers who it goes to, or `None`
/// when nobody may get one (no such address, another auth method, disabled, over the cap).
pub async fn issue(
    pools: &Pools,
    address: &str,
    token_hash: &str,
    ttl_ms: Millis,
    per_hour: i64,
    now: Millis,
) -> Result<Option<ResetTarget>> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    // the user row's lock makes concurrent requests for one account count one after the other
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.username, u.display_name, u.primary_email, u.language FROM users u
         WHERE u.id = (SELECT user_id FROM user_emails WHERE email = $1) AND {MAY_RESET}{FOR_UPDATE}"
    )))
    .bind(address)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some((id, username, display_name, to, language)) = row.filter(|r| !r.3.is_empty()) else {
        tx.rollback().await.map_err(db_err)?;
        return Ok(None);
    };
    let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at > $2")
        .bind(id)
        .bind(now - HOUR_MS)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    if recent >= per_hour {
        tx.rollback().await.map_err(db_err)?;
        tracing::info!(user_id = id, "password reset link not sent: the hourly cap for this account is reached");
        return Ok(None);
    }
    sqlx::query("INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(token_hash)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    // links of this account older than a day are history nobody needs
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND created_at < $2")
        .bind(id)
        .bind(now - 24 * HOUR_MS)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(ResetTarget { user: UserId(id), username, display_name, to, language }))
}

/// The user a live (unused, unexpired) link belongs to, if they may still use it.
pub async fn holder(pools: &Pools, token_hash: &str, now: Millis) -> Result<Option<ResetTarget>> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.username, u.display_name, u.primary_email, u.language FROM password_resets r
         JOIN users u ON u.id = r.user_id WHERE {LIVE_LINK}"
    )))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pools.read())
    .await
    .map_err(db_err)?;
    Ok(row.map(|(id, username, display_name, to, language)| ResetTarget {
        user: UserId(id),
        username,
        display_name,
        to,
        language,
    }))
}

/// Sets the password of a live link's holder, uses up every open link of theirs, ends all their
/// sessions and clears the login throttle of their name, in one transaction. `None`: the link
/// is unknown, used, expired, or its holder may no longer use it.
pub async fn reset(pools: &Pools, token_hash: &str, password_hash: &str, now: Millis) -> Result<Option<UserId>> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let row: Option<(i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.username, u.username_key FROM password_resets r JOIN users u ON u.id = r.user_id
         WHERE {LIVE_LINK}{FOR_UPDATE}"
    )))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some((id, username, username_key)) = row else {
        tx.rollback().await.map_err(db_err)?;
        return Ok(None);
    };
    super::auth::delete_sessions_in(&mut tx, UserId(id)).await?;
    set_password_in(&mut tx, id, &username, &username_key, password_hash, "(reset by e-mail link)", now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(UserId(id)))
}

/// A user's own password change: the new hash, open reset links used up, the login throttle of
/// their name cleared, and (with `end_others`) every session but `keep` ended, in one
/// transaction.
pub async fn change_password(
    pools: &Pools,
    user: UserId,
    password_hash: &str,
    keep: Option<&str>,
    end_others: bool,
    now: Millis,
) -> Result<u64> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let (username, username_key): (String, String) =
        sqlx::query_as("SELECT username, username_key FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
    set_password_in(&mut tx, user.0, &username, &username_key, password_hash, "(changed by the user)", now).await?;
    let ended = if end_others {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.0)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected()
    } else {
        0
    };
    tx.commit().await.map_err(db_err)?;
    Ok(ended)
}

/// What every password set by its owner does: the new hash, their open reset links used up,
/// their name's login throttle cleared, and the change logged as theirs (`how`, never the
/// password).
async fn set_password_in(
    conn: &mut Conn,
    id: i64,
    username: &str,
    username_key: &str,
    password_hash: &str,
    how: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query("DELETE FROM login_throttle WHERE account_key = $1")
        .bind(username_key)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let actor = Actor { kind: ActorKind::User, id: Some(id), name: username.to_string() };
    record_change(conn, "user", id, &actor, "password", &Value::Null, &json!(how), now).await
}
