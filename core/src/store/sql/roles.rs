//! Roles and their assignment to users.

use serde_json::{Value, json};
use sqlx::FromRow;

use super::changes::record_change;
use super::{Conn, Pools, begin_write};
use crate::clock::Millis;
use crate::domain::change::Actor;
use crate::domain::role::{ADMINISTRATOR, Permission, PermissionSet, Role, RoleKind};
use crate::domain::{Error, Result, RoleId, UserId};
use crate::store::{RoleWrite, db_err};

#[derive(FromRow)]
struct RoleRow {
    id: i64,
    name: String,
    kind: String,
    description: String,
    built_in: bool,
    derived: bool,
    permissions: String,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Role {
        Role {
            id: RoleId(r.id),
            name: r.name,
            kind: RoleKind::parse(&r.kind).unwrap_or(RoleKind::User),
            description: r.description,
            built_in: r.built_in,
            derived: r.derived,
            permissions: PermissionSet::from_stored(&r.permissions).list(),
        }
    }
}

const COLUMNS: &str = "r.id, r.name, r.kind, r.description, r.built_in, r.derived, r.permissions";

pub async fn list_roles(pools: &Pools) -> Result<Vec<Role>> {
    let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM roles r ORDER BY r.kind DESC, r.built_in DESC, r.name_key"
    )))
    .fetch_all(pools.read())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(Role::from).collect())
}

pub async fn get_role(pools: &Pools, id: RoleId) -> Result<Role> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    get_role_in(&mut conn, id).await
}

async fn get_role_in(conn: &mut Conn, id: RoleId) -> Result<Role> {
    let row: Option<RoleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM roles r WHERE r.id = $1")))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    row.map(Role::from).ok_or(Error::NotFound)
}

/// Roles by name (any letter case), for assigning; an unknown name is a 422 on `roles`.
pub async fn resolve_role_names(conn: &mut Conn, names: &[String]) -> Result<Vec<(RoleId, String)>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT id, name, derived FROM roles WHERE name_key = $1")
                .bind(name.to_lowercase())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        match row {
            Some((_, name, true)) => {
                return Err(Error::invalid(
                    "roles",
                    format!("`{name}` follows from the user's state and cannot be assigned"),
                ));
            }
            Some((id, name, false)) => out.push((RoleId(id), name)),
            None => return Err(Error::invalid("roles", format!("no role named `{name}`"))),
        }
    }
    Ok(out)
}

/// Looks a role up by name, for filters.
pub async fn find_role_by_name(pools: &Pools, name: &str) -> Result<Option<Role>> {
    let row: Option<RoleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM roles r WHERE r.name_key = $1")))
            .bind(name.trim().to_lowercase())
            .fetch_optional(pools.read())
            .await
            .map_err(db_err)?;
    Ok(row.map(Role::from))
}

pub async fn user_roles(pools: &Pools, user: UserId) -> Result<Vec<Role>> {
    let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM roles r JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 ORDER BY r.name_key"
    )))
    .bind(user.0)
    .fetch_all(pools.read())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(Role::from).collect())
}

fn check_permissions_fit(kind: RoleKind, perms: &PermissionSet) -> Result<()> {
    if kind == RoleKind::User && !perms.0.is_empty() {
        return Err(Error::invalid("permissions", "user roles carry no agent permissions"));
    }
    Ok(())
}

pub async fn create_role(pools: &Pools, role: &RoleWrite, actor: &Actor, now: Millis) -> Result<Role> {
    let name = role.name.clone().ok_or_else(|| Error::invalid("name", "is required"))?;
    let kind = role.kind.ok_or_else(|| Error::invalid("kind", "is required (user or agent)"))?;
    let perms = role.permissions.clone().unwrap_or_default();
    check_permissions_fit(kind, &perms)?;
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM roles WHERE name_key = $1")
        .bind(name.to_lowercase())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    if taken.is_some() {
        return Err(Error::conflict("name", "a role with this name exists"));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roles (name, name_key, kind, description, permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(kind.as_str())
    .bind(role.description.clone().unwrap_or_default())
    .bind(perms.to_stored())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    record_change(&mut tx, "role", id, actor, "created", &Value::Null, &json!(name), now).await?;
    let out = get_role_in(&mut tx, RoleId(id)).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub async fn update_role(pools: &Pools, id: RoleId, role: &RoleWrite, actor: &Actor, now: Millis) -> Result<Role> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let current = get_role_in(&mut tx, id).await?;
    if current.derived {
        return Err(Error::invalid("id", "derived roles cannot be edited"));
    }
    let mut name = current.name.clone();
    if let Some(n) = &role.name {
        if current.built_in && n != &current.name {
            return Err(Error::invalid("name", "built-in roles cannot be renamed"));
        }
        if n.to_lowercase() != current.name.to_lowercase() {
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM roles WHERE name_key = $1")
                .bind(n.to_lowercase())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if taken.is_some() {
                return Err(Error::conflict("name", "a role with this name exists"));
            }
        }
        name = n.clone();
    }
    if role.kind.is_some_and(|k| k != current.kind) {
        return Err(Error::invalid("kind", "a role's kind cannot change"));
    }
    let mut perms = PermissionSet(current.permissions.iter().copied().collect());
    if let Some(p) = &role.permissions {
        if current.built_in && current.name == ADMINISTRATOR {
            return Err(Error::invalid("permissions", "Administrator always holds every permission"));
        }
        check_permissions_fit(current.kind, p)?;
        perms = p.clone();
    }
    let description = role.description.clone().unwrap_or_else(|| current.description.clone());
    sqlx::query(
        "UPDATE roles SET name = $1, name_key = $2, description = $3, permissions = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(&description)
    .bind(perms.to_stored())
    .bind(now)
    .bind(id.0)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let old = json!({"name": current.name, "description": current.description, "permissions": perm_names(&current.permissions)});
    let new = json!({"name": name, "description": description, "permissions": perm_names(&perms.list())});
    for (field, o, n) in crate::domain::change::diff(&old, &new) {
        record_change(&mut tx, "role", id.0, actor, &field, &o, &n, now).await?;
    }
    let out = get_role_in(&mut tx, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

fn perm_names(p: &[Permission]) -> Vec<&'static str> {
    p.iter().map(|p| p.as_str()).collect()
}

pub async fn delete_role(pools: &Pools, id: RoleId, actor: &Actor, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let current = get_role_in(&mut tx, id).await?;
    if current.built_in {
        return Err(Error::conflict("id", "built-in roles cannot be deleted"));
    }
    sqlx::query("DELETE FROM roles WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
    record_change(&mut tx, "role", id.0, actor, "deleted", &json!(current.name), &Value::Null, now).await?;
    tx.commit().await.map_err(db_err)
}
