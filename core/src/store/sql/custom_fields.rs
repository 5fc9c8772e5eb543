//! Custom field definitions.

use serde_json::{Map, Value};
use sqlx::FromRow;

use super::Pools;
use crate::clock::{Millis, Timestamp};
use crate::domain::custom_field::{CustomField, CustomFieldSpec, Entity};
use crate::domain::{Error, Result};
use crate::store::db_err;

#[derive(FromRow)]
struct Row {
    id: i64,
    entity: String,
    key: String,
    label: String,
    field_type: String,
    required: bool,
    options: String,
    settings: String,
    position: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for CustomField {
    fn from(r: Row) -> CustomField {
        CustomField {
            id: r.id,
            entity: Entity::parse(&r.entity).unwrap_or(Entity::User),
            key: r.key,
            label: r.label,
            field_type: r.field_type,
            required: r.required,
            options: serde_json::from_str(&r.options).unwrap_or_default(),
            settings: serde_json::from_str::<Map<String, Value>>(&r.settings).unwrap_or_default(),
            position: r.position,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        }
    }
}

const COLUMNS: &str = "id, entity, key, label, field_type, required, options, settings, CAST(position AS BIGINT) AS position, created_at, updated_at";

pub async fn list(pools: &Pools, entity: Option<Entity>) -> Result<Vec<CustomField>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE ($1 = '' OR entity = $1) ORDER BY entity, position, key"
    )))
    .bind(entity.map_or("", Entity::as_str))
    .fetch_all(pools.read())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(CustomField::from).collect())
}

pub async fn get(pools: &Pools, id: i64) -> Result<CustomField> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM custom_fields WHERE id = $1")))
            .bind(id)
            .fetch_optional(pools.read())
            .await
            .map_err(db_err)?;
    row.map(CustomField::from).ok_or(Error::NotFound)
}

fn taken(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::conflict("key", "a field with this key exists already")
        }
        _ => db_err(e),
    }
}

pub async fn create(pools: &Pools, s: &CustomFieldSpec, now: Millis) -> Result<CustomField> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO custom_fields (entity, key, label, field_type, required, options, settings, position, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(s.entity.as_str())
    .bind(&s.key)
    .bind(&s.label)
    .bind(&s.field_type)
    .bind(s.required)
    .bind(Value::from(s.options.clone()).to_string())
    .bind(Value::Object(s.settings.clone()).to_string())
    .bind(s.position as i32)
    .bind(now)
    .fetch_one(pools.write())
    .await
    .map_err(taken)?;
    get(pools, id).await
}

pub async fn update(pools: &Pools, id: i64, s: &CustomFieldSpec, now: Millis) -> Result<CustomField> {
    let done = sqlx::query(
        "UPDATE custom_fields SET label = $2, required = $3, options = $4, settings = $5, position = $6, updated_at = $7
         WHERE id = $1",
    )
    .bind(id)
    .bind(&s.label)
    .bind(s.required)
    .bind(Value::from(s.options.clone()).to_string())
    .bind(Value::Object(s.settings.clone()).to_string())
    .bind(s.position as i32)
    .bind(now)
    .execute(pools.write())
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get(pools, id).await
}

pub async fn delete(pools: &Pools, id: i64) -> Result<()> {
    let done =
        sqlx::query("DELETE FROM custom_fields WHERE id = $1").bind(id).execute(pools.write()).await.map_err(db_err)?;
    if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
}
