//! Avatars: uploaded images and what avatar-provider plugins supplied, cached.

use super::Pools;
use crate::clock::Millis;
use crate::domain::{Result, UserId};
use crate::store::{StoredAvatar, db_err};

pub async fn get(pools: &Pools, user: UserId) -> Result<Option<StoredAvatar>> {
    sqlx::query_as(
        "SELECT source, content_type, image, etag, compressed, updated_at, last_viewed_at FROM avatars WHERE user_id = $1",
    )
    .bind(user.0)
    .fetch_optional(pools.read())
    .await
    .map_err(db_err)
}

pub async fn put(pools: &Pools, user: UserId, a: &StoredAvatar) -> Result<()> {
    sqlx::query(
        "INSERT INTO avatars (user_id, source, content_type, image, etag, compressed, updated_at, last_viewed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_id) DO UPDATE SET source = excluded.source, content_type = excluded.content_type,
             image = excluded.image, etag = excluded.etag, compressed = excluded.compressed,
             updated_at = excluded.updated_at, last_viewed_at = excluded.last_viewed_at",
    )
    .bind(user.0)
    .bind(&a.source)
    .bind(&a.content_type)
    .bind(&a.image)
    .bind(&a.etag)
    .bind(a.compressed)
    .bind(a.updated_at)
    .bind(a.last_viewed_at)
    .execute(pools.write())
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn delete(pools: &Pools, user: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM avatars WHERE user_id = $1")
        .bind(user.0)
        .execute(pools.write())
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub async fn touch(pools: &Pools, user: UserId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE avatars SET last_viewed_at = $2 WHERE user_id = $1")
        .bind(user.0)
        .bind(now)
        .execute(pools.write())
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Users whose avatar was not viewed since `before` and is not recompressed yet.
pub async fn stale(pools: &Pools, before: Millis, limit: i64) -> Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT user_id FROM avatars WHERE last_viewed_at < $1 AND compressed = FALSE ORDER BY last_viewed_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pools.read())
    .await
    .map_err(db_err)
}

/// Replaces an image with its recompressed form, unless it changed meanwhile.
pub async fn replace_compressed(
    pools: &Pools,
    user: UserId,
    old_etag: &str,
    content_type: &str,
    image: &[u8],
    etag: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE avatars SET content_type = $3, image = $4, etag = $5, compressed = TRUE WHERE user_id = $1 AND etag = $2",
    )
    .bind(user.0)
    .bind(old_etag)
    .bind(content_type)
    .bind(image)
    .bind(etag)
    .execute(pools.write())
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}
