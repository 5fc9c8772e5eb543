//! The job queue: work done after the request that asked for it, by whichever instance gets to
//! it first. A worker claims a due job by moving its `run_at` on by a lease (so a crashed
//! worker's job comes back), and deletes it when it is done.

use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::Result;
use crate::store::{Job, db_err};

pub async fn enqueue(pools: &Pools, kind: &str, payload: &str, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    insert(&mut tx, kind, payload, now).await?;
    tx.commit().await.map_err(db_err)
}

/// Queues a job inside a caller's transaction (it runs only if that commits).
pub async fn insert(conn: &mut Conn, kind: &str, payload: &str, now: Millis) -> Result<()> {
    sqlx::query("INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ($1, $2, $3, $3)")
        .bind(kind)
        .bind(payload)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Claims the oldest due job for `lease_ms` (another worker skips it meanwhile).
pub async fn claim(pools: &Pools, now: Millis, lease_ms: Millis) -> Result<Option<Job>> {
    // every worker asks once a second: an empty queue is answered by a reader, without taking
    // the write lock (SQLite's single writer serves the requests meanwhile)
    let due: Option<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE run_at <= $1 LIMIT 1")
        .bind(now)
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)?;
    if due.is_none() {
        return Ok(None);
    }
    let lock = if FOR_UPDATE.is_empty() { "" } else { " FOR UPDATE SKIP LOCKED" };
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let row: Option<(i64, String, String, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, kind, payload, attempts FROM jobs WHERE run_at <= $1 ORDER BY run_at, id LIMIT 1{lock}"
    )))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some((id, kind, payload, attempts)) = row else {
        tx.rollback().await.map_err(db_err)?;
        return Ok(None);
    };
    sqlx::query("UPDATE jobs SET run_at = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(now + lease_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(Job { id, kind, payload, attempts: attempts + 1 }))
}

pub async fn finish(pools: &Pools, id: i64) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("DELETE FROM jobs WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Puts a failed job back to run again at `retry_at`.
pub async fn retry(pools: &Pools, id: i64, error: &str, retry_at: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    sqlx::query("UPDATE jobs SET run_at = $1, last_error = $2 WHERE id = $3")
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub async fn count(pools: &Pools) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(pools.read()).await.map_err(db_err)
}
