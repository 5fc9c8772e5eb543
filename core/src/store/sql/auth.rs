//! API tokens and login sessions, stored as SHA-256 hashes of the bearer value.

use super::{Conn, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::{Result, UserId};
use crate::store::{TokenKind, db_err};

pub async fn create_api_token(pools: &Pools, user: UserId, name: &str, token_hash: &str, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Starts a session; answers when it will expire at the latest.
pub async fn create_session(
    pools: &Pools,
    user: UserId,
    token_hash: &str,
    now: Millis,
    idle_ms: Millis,
    absolute_ms: Millis,
) -> Result<Millis> {
    let expires = now + absolute_ms;
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query(
        "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, idle_expires_at, expires_at)
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(user.0)
    .bind(token_hash)
    .bind(now)
    .bind((now + idle_ms).min(expires))
    .bind(expires)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    // Expired sessions of this user go while we hold the write lock anyway.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND (idle_expires_at <= $2 OR expires_at <= $2)")
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(expires)
}

/// Usage timestamps are written at most this often, so reads do not turn into writes.
const TOUCH_EVERY_MS: Millis = 60_000;

pub async fn authenticate(
    pools: &Pools,
    token_hash: &str,
    kind: TokenKind,
    now: Millis,
    idle_ms: Millis,
) -> Result<Option<UserId>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    match kind {
        TokenKind::Api => {
            let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
            drop(conn);
            let Some((id, user, last)) = row else {
                return Ok(None);
            };
            if last.is_none_or(|l| now - l > TOUCH_EVERY_MS) {
                touch(pools, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", now, id).await?;
            }
            Ok(Some(UserId(user)))
        }
        TokenKind::Session => {
            let row: Option<(i64, i64, i64, i64)> =
                sqlx::query_as("SELECT id, user_id, idle_expires_at, expires_at FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
            drop(conn);
            let Some((id, user, idle_expires, expires)) = row else {
                return Ok(None);
            };
            if now >= idle_expires || now >= expires {
                let mut tx = begin_write(pools).await.map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                return Ok(None);
            }
            let new_idle = (now + idle_ms).min(expires);
            if new_idle - idle_expires > TOUCH_EVERY_MS {
                let mut tx = begin_write(pools).await.map_err(db_err)?;
                sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
                    .bind(now)
                    .bind(new_idle)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
            }
            Ok(Some(UserId(user)))
        }
    }
}

async fn touch(pools: &Pools, sql: &'static str, now: Millis, id: i64) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query(sql).bind(now).bind(id).execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub async fn delete_session(pools: &Pools, token_hash: &str) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub async fn delete_user_sessions(pools: &Pools, user: UserId) -> Result<u64> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let n = delete_sessions_in(&mut tx, user).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(n)
}

/// Ends every session of a user inside the caller's transaction (password change, deletion).
pub async fn delete_sessions_in(conn: &mut Conn, user: UserId) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}
