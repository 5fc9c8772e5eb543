//! Plugins' admin settings and key-value stores, custom field definitions, avatars.

use super::{FOR_UPDATE, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::{Error, Result};
use crate::store::{PluginSettingsRow, db_err};

pub async fn plugin_settings(pools: &Pools) -> Result<Vec<PluginSettingsRow>> {
    sqlx::query_as(
        "SELECT plugin_id, enabled, config, granted_hosts, disabled_reason FROM plugin_settings ORDER BY plugin_id",
    )
    .fetch_all(pools.read())
    .await
    .map_err(db_err)
}

pub async fn put_plugin_settings(pools: &Pools, row: &PluginSettingsRow, now: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_settings (plugin_id, enabled, config, granted_hosts, disabled_reason, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (plugin_id) DO UPDATE SET enabled = excluded.enabled, config = excluded.config,
             granted_hosts = excluded.granted_hosts, disabled_reason = excluded.disabled_reason,
             updated_at = excluded.updated_at",
    )
    .bind(&row.plugin_id)
    .bind(row.enabled)
    .bind(&row.config)
    .bind(&row.granted_hosts)
    .bind(&row.disabled_reason)
    .bind(now)
    .execute(pools.write())
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Switches a plugin off with a reason (the circuit breaker); false if it was off already.
pub async fn trip_plugin(pools: &Pools, plugin: &str, reason: &str, now: Millis) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE plugin_settings SET enabled = FALSE, disabled_reason = $2, updated_at = $3
         WHERE plugin_id = $1 AND enabled = TRUE",
    )
    .bind(plugin)
    .bind(reason)
    .bind(now)
    .execute(pools.write())
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub async fn kv_get(pools: &Pools, plugin: &str, key: &str) -> Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT value FROM plugin_kv WHERE plugin_id = $1 AND key = $2")
        .bind(plugin)
        .bind(key)
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)
}

/// Stores a value unless the plugin's keys and values would exceed `quota` bytes.
pub async fn kv_set(pools: &Pools, plugin: &str, key: &str, value: &[u8], quota: i64) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    // serializes a plugin's writers (PostgreSQL) so two cannot both squeeze under the quota
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT plugin_id FROM plugin_settings WHERE plugin_id = $1 {FOR_UPDATE}"
    )))
    .bind(plugin)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) AS BIGINT) FROM plugin_kv
         WHERE plugin_id = $1 AND key <> $2",
    )
    .bind(plugin)
    .bind(key)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let wanted = used + key.len() as i64 + value.len() as i64;
    if wanted > quota {
        return Err(Error::BadRequest(format!("the plugin's storage quota of {} KiB is full", quota / 1024)));
    }
    sqlx::query(
        "INSERT INTO plugin_kv (plugin_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(plugin)
    .bind(key)
    .bind(value)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub async fn kv_delete(pools: &Pools, plugin: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM plugin_kv WHERE plugin_id = $1 AND key = $2")
        .bind(plugin)
        .bind(key)
        .execute(pools.write())
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The keys of plugin $1 under prefix $2 (below $3), after $4.
const KEY_RANGE: &str = "plugin_id = $1 AND key >= $2 AND key < $3 AND key > $4 AND substr(key, 1, length($2)) = $2";

/// [prefix, prefix + U+10FFFF) holds every key that starts with prefix (byte order); and where
/// to start.
fn key_range<'a>(prefix: &str, start_after: Option<&'a str>) -> (String, &'a str) {
    let from = match start_after {
        Some(s) if s >= prefix => s,
        _ => "",
    };
    (format!("{prefix}\u{10FFFF}"), from)
}

/// Keys under `prefix` in byte order, after `start_after`.
pub async fn kv_list(
    pools: &Pools,
    plugin: &str,
    prefix: &str,
    start_after: Option<&str>,
    limit: u32,
) -> Result<Vec<String>> {
    let (upper, from) = key_range(prefix, start_after);
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT key FROM plugin_kv WHERE {KEY_RANGE} ORDER BY key LIMIT $5"
    )))
    .bind(plugin)
    .bind(prefix)
    .bind(&upper)
    .bind(from)
    .bind(i64::from(limit))
    .fetch_all(pools.read())
    .await
    .map_err(db_err)
}

/// Keys under `prefix` with their values, in byte order, after `start_after`; stops early
/// once `max_bytes` of values are collected (at least one entry is always answered).
pub async fn kv_scan(
    pools: &Pools,
    plugin: &str,
    prefix: &str,
    start_after: Option<&str>,
    limit: u32,
    max_bytes: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let (upper, from) = key_range(prefix, start_after);
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT key, value FROM plugin_kv WHERE {KEY_RANGE} ORDER BY key LIMIT $5"
    )))
    .bind(plugin)
    .bind(prefix)
    .bind(&upper)
    .bind(from)
    .bind(i64::from(limit))
    .fetch_all(pools.read())
    .await
    .map_err(db_err)?;
    let mut total = 0;
    Ok(rows
        .into_iter()
        .take_while(|(_, v)| {
            let first = total == 0;
            total += v.len().max(1);
            first || total <= max_bytes
        })
        .collect())
}
