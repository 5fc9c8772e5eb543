//! The change log, shared by every kind of record (`entity_type` names the kind).

use serde_json::Value;
use sqlx::FromRow;

use super::{Conn, Pools};
use crate::clock::{Millis, Timestamp};
use crate::domain::Result;
use crate::domain::change::{Actor, ActorKind, Change};
use crate::store::{Page, db_err, split_id_page};

/// Writes one change-log entry inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record_change(
    conn: &mut Conn,
    entity: &str,
    id: i64,
    actor: &Actor,
    field: &str,
    old: &Value,
    new: &Value,
    at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (entity_type, entity_id, at, actor_kind, actor_id, actor_name, field, old_value, new_value)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entity)
    .bind(id)
    .bind(at)
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .bind(&actor.name)
    .bind(field)
    .bind(old.to_string())
    .bind(new.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[derive(FromRow)]
struct ChangeRow {
    id: i64,
    at: i64,
    actor_kind: String,
    actor_id: Option<i64>,
    actor_name: String,
    field: String,
    old_value: String,
    new_value: String,
}

/// A record's changes, newest first; the cursor is the id of the last entry seen.
pub async fn list_changes(
    pools: &Pools,
    entity: &str,
    id: i64,
    limit: i64,
    cursor: Option<i64>,
) -> Result<Page<Change>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes WHERE entity_type = $1 AND entity_id = $2")
        .bind(entity)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT id, at, actor_kind, actor_id, actor_name, field, old_value, new_value FROM changes
         WHERE entity_type = $1 AND entity_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
    )
    .bind(entity)
    .bind(id)
    .bind(cursor.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let (rows, next_cursor) = split_id_page(rows, limit, |r| r.id);
    let items = rows
        .into_iter()
        .map(|r| Change {
            at: Timestamp(r.at),
            actor: Actor { kind: ActorKind::parse(&r.actor_kind), id: r.actor_id, name: r.actor_name },
            field: r.field,
            old: serde_json::from_str(&r.old_value).unwrap_or(Value::Null),
            new: serde_json::from_str(&r.new_value).unwrap_or(Value::Null),
        })
        .collect();
    Ok(Page { items, total, next_cursor })
}
