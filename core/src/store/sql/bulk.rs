//! Bulk loading for `kith demo-data`: multi-row INSERTs in large transactions, ids chosen by
//! the caller so related rows can be written without reading anything back.

use sqlx::AssertSqlSafe;

use super::{Pools, begin_write};
use crate::domain::Result;
use crate::store::{Val, db_err};

/// Most bind parameters one statement carries (SQLite allows 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 30_000;

/// Inserts `rows` into `table` in one transaction, as few statements as the parameter limit
/// allows.
pub async fn insert_rows(pools: &Pools, table: &str, cols: &[&str], rows: &[Vec<Val>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let per = (MAX_PARAMS / cols.len()).max(1);
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    super::bulk_session(&mut tx).await.map_err(db_err)?;
    for chunk in rows.chunks(per) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", super::bulk_placeholders(i * cols.len() + 1, cols.len())))
            .collect();
        let sql = format!("INSERT INTO {table} ({}) VALUES {}", cols.join(", "), values.join(", "));
        let q = bind_vals!(sqlx::query(AssertSqlSafe(sql)), chunk.iter().flatten());
        q.execute(&mut *tx).await.map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// The largest id in `table` (0 when empty).
pub async fn max_id(pools: &Pools, table: &str) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT MAX(id) FROM {table}")))
        .fetch_one(pools.read())
        .await
        .map_err(db_err)?;
    Ok(v.unwrap_or(0))
}

/// After explicit ids were inserted: move identity sequences past them, refresh statistics.
pub async fn finish(pools: &Pools) -> Result<()> {
    let mut conn = pools.write().acquire().await.map_err(db_err)?;
    super::bulk_finish(&mut conn).await.map_err(db_err)
}

/// Tables whose secondary indexes a bulk load may set aside.
const BULK_TABLES: &[&str] = &[
    "organizations",
    "users",
    "user_emails",
    "user_phones",
    "membership_rules",
    "tickets",
    "ticket_addresses",
    "chats",
    "calls",
    "surveys",
    "record_domains",
];

/// Drops the secondary indexes (and search triggers) of the bulk tables, first writing the
/// statements that restore them to `kith_bulk_restore` in the same transaction — so an
/// interrupted load is repaired by [`restore_indexes`], which every start-up runs.
pub async fn drop_indexes(pools: &Pools) -> Result<usize> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS kith_bulk_restore (seq BIGINT NOT NULL, statement TEXT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM kith_bulk_restore").fetch_one(&mut *tx).await.map_err(db_err)?;
    if pending > 0 {
        // a previous load was interrupted: its indexes are already set aside
        tx.commit().await.map_err(db_err)?;
        return Ok(0);
    }
    let (drops, restores) = super::bulk_unindex_statements(&mut tx, BULK_TABLES).await.map_err(db_err)?;
    for (seq, stmt) in restores.iter().enumerate() {
        sqlx::query("INSERT INTO kith_bulk_restore (seq, statement) VALUES ($1, $2)")
            .bind(seq as i64)
            .bind(stmt)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    for d in &drops {
        sqlx::query(AssertSqlSafe(d.clone())).execute(&mut *tx).await.map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(drops.len())
}

/// Recreates whatever [`drop_indexes`] set aside (nothing when nothing is pending); answers
/// how many statements ran. `progress` hears each one.
pub async fn restore_indexes(pools: &Pools, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<usize> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS kith_bulk_restore (seq BIGINT NOT NULL, statement TEXT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let stmts: Vec<String> = sqlx::query_scalar("SELECT statement FROM kith_bulk_restore ORDER BY seq")
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    for s in &stmts {
        progress(s);
        sqlx::query(AssertSqlSafe(s.clone())).execute(&mut *tx).await.map_err(db_err)?;
    }
    sqlx::query("DELETE FROM kith_bulk_restore").execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(stmts.len())
}
