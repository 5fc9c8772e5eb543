//! API tokens and login sessions, stored as SHA-256 hashes of the bearer value.

use sqlx::AssertSqlSafe;

use super::{Conn, Pools, begin_write};
use crate::clock::{Millis, Timestamp};
use crate::domain::role::{PermissionSet, Role, RoleKind};
use crate::domain::user::Prefs;
use crate::domain::{Result, RoleId, UserId};
use crate::store::{ApiToken, TokenHolder, TokenKind, db_err};

pub async fn create_api_token(
    pools: &Pools,
    user: UserId,
    name: &str,
    token_hash: &str,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<ApiToken> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(user.0)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(ApiToken {
        id,
        user_id: user,
        name: name.to_string(),
        created_at: Timestamp(now),
        expires_at: expires_at.map(Timestamp),
        last_used_at: None,
        revoked_at: None,
    })
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: UserId(r.user_id),
            name: r.name,
            created_at: Timestamp(r.created_at),
            expires_at: r.expires_at.map(Timestamp),
            last_used_at: r.last_used_at.map(Timestamp),
            revoked_at: r.revoked_at.map(Timestamp),
        }
    }
}

/// API tokens, newest first: of one user, or everyone's; revoked ones included.
pub async fn list_api_tokens(pools: &Pools, user: Option<UserId>) -> Result<Vec<ApiToken>> {
    let cols = "id, user_id, name, created_at, expires_at, last_used_at, revoked_at";
    let rows: Vec<TokenRow> = match user {
        Some(u) => sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {cols} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 1000"
        )))
        .bind(u.0)
        .fetch_all(pools.read())
        .await
        .map_err(db_err)?,
        None => sqlx::query_as(AssertSqlSafe(format!("SELECT {cols} FROM api_tokens ORDER BY id DESC LIMIT 1000")))
            .fetch_all(pools.read())
            .await
            .map_err(db_err)?,
    };
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

/// One token (revoked or not), if it exists.
pub async fn get_api_token(pools: &Pools, id: i64) -> Result<Option<ApiToken>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pools.read())
    .await
    .map_err(db_err)?;
    Ok(row.map(ApiToken::from))
}

/// Revokes a token (once; revoking it again changes nothing). Answers whether it exists.
pub async fn revoke_api_token(pools: &Pools, id: i64, now: Millis) -> Result<bool> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(found.is_some())
}

/// Usage timestamps are written at most this often, so reads do not turn into writes.
const TOUCH_EVERY_MS: Millis = 60_000;

/// The live holder of a token or session, with their name and assigned roles, in one query; a
/// session's idle expiry moves on (written at most once a minute), an expired one is removed.
pub async fn caller(
    pools: &Pools,
    token_hash: &str,
    kind: TokenKind,
    now: Millis,
    idle_ms: Millis,
) -> Result<Option<TokenHolder>> {
    let source = match kind {
        TokenKind::Api => {
            "SELECT t.id AS cid, t.user_id, t.last_used_at AS a, CAST(0 AS BIGINT) AS b FROM api_tokens t
                           WHERE t.token_hash = $1 AND t.revoked_at IS NULL
                             AND (t.expires_at IS NULL OR t.expires_at > $2)"
        }
        TokenKind::Session => {
            "SELECT t.id AS cid, t.user_id, t.idle_expires_at AS a, t.expires_at AS b FROM sessions t
                               WHERE t.token_hash = $1"
        }
    };
    let sql = format!(
        "SELECT c.cid, c.user_id, c.a, c.b, u.username, u.display_name,
                u.language, u.time_zone, u.ui_theme, u.keyboard_shortcuts, u.agent_records,
                r.id AS rid, r.name, r.kind, r.description, r.built_in, r.derived, r.permissions
         FROM ({source}) c JOIN users u ON u.id = c.user_id AND NOT u.disabled
         LEFT JOIN user_roles ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id = ur.role_id"
    );
    let q = sqlx::query_as(AssertSqlSafe(sql)).bind(token_hash);
    // only an API token's query compares its expiry with now
    let q = if kind == TokenKind::Api { q.bind(now) } else { q };
    let rows: Vec<CallerRow> = q.fetch_all(pools.read()).await.map_err(db_err)?;
    let Some(first) = rows.first() else { return Ok(None) };
    let (cid, user, a, b) = (first.cid, first.user_id, first.a, first.b);
    let (username, display_name) = (first.username.clone(), first.display_name.clone());
    let prefs = Prefs {
        language: first.language.clone(),
        time_zone: first.time_zone.clone(),
        ui_theme: first.ui_theme.clone(),
        keyboard_shortcuts: first.keyboard_shortcuts,
        // the pages' navigation reads them; an API client has no use for them
        records: if kind == TokenKind::Session { Prefs::records_from(&first.agent_records) } else { Vec::new() },
    };
    match kind {
        TokenKind::Api => {
            if a.is_none_or(|l| now - l > TOUCH_EVERY_MS) {
                touch(pools, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", now, cid).await?;
            }
        }
        TokenKind::Session => {
            let (idle_expires, expires) = (a.unwrap_or(0), b.unwrap_or(0));
            if now >= idle_expires || now >= expires {
                let mut tx = begin_write(pools).await.map_err(db_err)?;
                sqlx::query("DELETE FROM sessions WHERE id = $1").bind(cid).execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                return Ok(None);
            }
            let new_idle = (now + idle_ms).min(expires);
            if new_idle - idle_expires > TOUCH_EVERY_MS {
                let mut tx = begin_write(pools).await.map_err(db_err)?;
                sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
                    .bind(now)
                    .bind(new_idle)
                    .bind(cid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
            }
        }
    }
    let roles = rows.into_iter().filter_map(CallerRow::role).collect();
    Ok(Some(TokenHolder { id: UserId(user), username, display_name, prefs, roles }))
}

#[derive(sqlx::FromRow)]
struct CallerRow {
    cid: i64,
    user_id: i64,
    a: Option<i64>,
    b: Option<i64>,
    username: String,
    display_name: String,
    language: String,
    time_zone: String,
    ui_theme: String,
    keyboard_shortcuts: bool,
    agent_records: String,
    rid: Option<i64>,
    name: Option<String>,
    kind: Option<String>,
    description: Option<String>,
    built_in: Option<bool>,
    derived: Option<bool>,
    permissions: Option<String>,
}

impl CallerRow {
    fn role(self) -> Option<Role> {
        Some(Role {
            id: RoleId(self.rid?),
            name: self.name?,
            kind: RoleKind::parse(&self.kind?)?,
            description: self.description.unwrap_or_default(),
            built_in: self.built_in.unwrap_or(false),
            derived: self.derived.unwrap_or(false),
            permissions: PermissionSet::from_stored(&self.permissions.unwrap_or_default()).list(),
        })
    }
}

async fn touch(pools: &Pools, sql: &'static str, now: Millis, id: i64) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query(sql).bind(now).bind(id).execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Stores an agent's recent and pinned records (one statement, outside a transaction: the
/// list is the agent's own and the last write wins).
pub async fn set_agent_records(pools: &Pools, user: UserId, records: &str) -> Result<()> {
    sqlx::query("UPDATE users SET agent_records = $1 WHERE id = $2")
        .bind(records)
        .bind(user.0)
        .execute(pools.write())
        .await
        .map_err(db_err)?;
    Ok(())
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
