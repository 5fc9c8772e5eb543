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
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for v in row {
                q = match v {
                    Val::I(n) => q.bind(*n),
                    Val::T(s) => q.bind(s.as_str()),
                    Val::B(b) => q.bind(*b),
                    Val::NullI => q.bind(None::<i64>),
                    Val::NullT => q.bind(None::<String>),
                };
            }
        }
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
