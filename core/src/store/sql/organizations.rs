//! Organizations, their labels, comments and membership rules.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, FromRow};

use super::changes::record_change;
use super::users::write_labels;
use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::{Millis, Timestamp};
use crate::domain::change::{Actor, diff};
use crate::domain::organization::{Organization, OrganizationFields, OrganizationId, Rule, RuleId, RuleKind, RuleSpec};
use crate::domain::user::username_key;
use crate::domain::{Error, Result, UserId};
use crate::store::{Cursor, OrgQuery, Page, db_err, like_escape, placeholders};

#[derive(FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    website: String,
    phone: String,
    employees: String,
    address1: String,
    address2: String,
    city: String,
    state: String,
    zip: String,
    country: String,
    summary: String,
    custom_fields: String,
    comment_count: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
    /// One of its labels (a row per label), or none.
    label: Option<String>,
}

/// Organizations by id, in the order given, with labels and comment counts, in one statement
/// (a row per label).
pub async fn load_orgs(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Organization>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(1, ids.len());
    let mut q = sqlx::query_as::<_, OrgRow>(AssertSqlSafe(format!(
        "SELECT o.id, o.name, o.website, o.phone, o.employees, o.address1, o.address2, o.city, o.state, o.zip,
                o.country, o.summary, o.custom_fields,
                (SELECT COUNT(*) FROM organization_comments c WHERE c.organization_id = o.id) AS comment_count,
                o.created_at, o.updated_at, o.version, l.label
         FROM organizations o LEFT JOIN organization_labels l ON l.organization_id = o.id
         WHERE o.id IN ({list}) ORDER BY o.id, l.label_key"
    )));
    for id in ids {
        q = q.bind(*id);
    }
    let mut by_id: HashMap<i64, Organization> = HashMap::new();
    for r in q.fetch_all(&mut *conn).await.map_err(db_err)? {
        let label = r.label.clone();
        let o = by_id.entry(r.id).or_insert_with(|| Organization {
            id: OrganizationId(r.id),
            name: r.name,
            website: r.website,
            phone: r.phone,
            employees: r.employees,
            address1: r.address1,
            address2: r.address2,
            city: r.city,
            state: r.state,
            zip: r.zip,
            country: r.country,
            summary: r.summary,
            labels: Vec::new(),
            custom_fields: serde_json::from_str(&r.custom_fields).unwrap_or_default(),
            comment_count: r.comment_count,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            version: r.version,
        });
        o.labels.extend(label);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn get_org(pools: &Pools, id: OrganizationId) -> Result<Organization> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    load_orgs(&mut conn, &[id.0]).await?.pop().ok_or(Error::NotFound)
}

async fn check_name_free(conn: &mut Conn, name: &str, except: Option<i64>) -> Result<()> {
    let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE name_key = $1")
        .bind(name.to_lowercase())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match holder {
        Some(h) if Some(h) != except => Err(Error::conflict("name", "an organization with this name exists")),
        _ => Ok(()),
    }
}

fn website_key(w: &str) -> String {
    let w = w.to_lowercase();
    let w = w.strip_prefix("https://").or_else(|| w.strip_prefix("http://")).unwrap_or(&w);
    w.strip_prefix("www.").unwrap_or(w).to_string()
}

pub async fn create_org(pools: &Pools, f: &OrganizationFields, actor: &Actor, now: Millis) -> Result<Organization> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    check_name_free(&mut tx, &f.name, None).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, name_key, website, website_key, phone, phone_key, employees, address1, address2,
            city, state, zip, country, summary, custom_fields, search_text, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    )
    .bind(&f.name)
    .bind(f.name.to_lowercase())
    .bind(&f.website)
    .bind(website_key(&f.website))
    .bind(&f.phone)
    .bind(f.phone.to_lowercase())
    .bind(&f.employees)
    .bind(&f.address1)
    .bind(&f.address2)
    .bind(&f.city)
    .bind(&f.state)
    .bind(&f.zip)
    .bind(&f.country)
    .bind(&f.summary)
    .bind(Value::Object(f.custom_fields.clone()).to_string())
    .bind(f.search_text())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    write_labels(&mut tx, "organization_labels", "organization_id", id, &f.labels).await?;
    record_change(&mut tx, "organization", id, actor, "created", &Value::Null, &json!(f.name), now).await?;
    let out = load_orgs(&mut tx, &[id]).await?.pop().ok_or(Error::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub async fn update_org<F>(
    pools: &Pools,
    id: OrganizationId,
    edit: F,
    actor: &Actor,
    now: Millis,
) -> Result<Organization>
where
    F: FnOnce(&Organization) -> Result<OrganizationFields> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    lock_org(&mut tx, id).await?;
    let current = load_orgs(&mut tx, &[id.0]).await?.pop().ok_or(Error::NotFound)?;
    let old = current.to_fields();
    let f = edit(&current)?;
    let to_json = |x: &OrganizationFields| serde_json::to_value(x).map_err(|e| Error::Internal(e.to_string()));
    let changes = diff(&to_json(&old)?, &to_json(&f)?);
    if changes.is_empty() {
        tx.commit().await.map_err(db_err)?;
        return Ok(current);
    }
    if f.name.to_lowercase() != old.name.to_lowercase() {
        check_name_free(&mut tx, &f.name, Some(id.0)).await?;
    }
    sqlx::query(
        "UPDATE organizations SET name = $1, name_key = $2, website = $3, website_key = $4, phone = $5, phone_key = $6,
            employees = $7, address1 = $8, address2 = $9, city = $10, state = $11, zip = $12, country = $13,
            summary = $14, custom_fields = $15, search_text = $16, updated_at = $17,
            version = version + 1
         WHERE id = $18",
    )
    .bind(&f.name)
    .bind(f.name.to_lowercase())
    .bind(&f.website)
    .bind(website_key(&f.website))
    .bind(&f.phone)
    .bind(f.phone.to_lowercase())
    .bind(&f.employees)
    .bind(&f.address1)
    .bind(&f.address2)
    .bind(&f.city)
    .bind(&f.state)
    .bind(&f.zip)
    .bind(&f.country)
    .bind(&f.summary)
    .bind(Value::Object(f.custom_fields.clone()).to_string())
    .bind(f.search_text())
    .bind(now)
    .bind(id.0)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if f.labels != old.labels {
        write_labels(&mut tx, "organization_labels", "organization_id", id.0, &f.labels).await?;
    }
    for (field, o, n) in &changes {
        record_change(&mut tx, "organization", id.0, actor, field, o, n, now).await?;
    }
    let out = load_orgs(&mut tx, &[id.0]).await?.pop().ok_or(Error::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

async fn lock_org(conn: &mut Conn, id: OrganizationId) -> Result<String> {
    let name: Option<String> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT name FROM organizations WHERE id = $1{FOR_UPDATE}")))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    name.ok_or(Error::NotFound)
}

/// 404 unless the organization exists (reads; writes lock the row with `lock_org`).
pub async fn check_org_exists(conn: &mut Conn, id: OrganizationId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    found.map(|_| ()).ok_or(Error::NotFound)
}

pub async fn delete_org(pools: &Pools, id: OrganizationId, actor: &Actor, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let name = lock_org(&mut tx, id).await?;
    sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
    record_change(&mut tx, "organization", id.0, actor, "deleted", &json!(name), &Value::Null, now).await?;
    tx.commit().await.map_err(db_err)
}

/// The first `limit` organizations by name (those whose name, website or phone holds
/// `fragment`), and `also` wherever it falls: ids and names, in one statement (the user
/// directory's navigation).
pub async fn org_names(
    pools: &Pools,
    fragment: Option<&str>,
    limit: i64,
    also: Option<OrganizationId>,
) -> Result<Vec<(OrganizationId, String)>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let filter = if fragment.is_some() { "WHERE o.search_text LIKE $3 ESCAPE '\\'" } else { "" };
    let sql = format!(
        "SELECT id, name FROM (SELECT * FROM (SELECT o.id, o.name, o.name_key FROM organizations o {filter}
                                              ORDER BY o.name_key LIMIT $1) f
                               UNION SELECT id, name, name_key FROM organizations WHERE id = $2) n
         ORDER BY name_key"
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)).bind(limit).bind(also.map_or(0, |o| o.0));
    if let Some(f) = fragment {
        q = q.bind(format!("%{}%", like_escape(f)));
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(db_err)?;
    Ok(rows.into_iter().map(|(id, name)| (OrganizationId(id), name)).collect())
}

pub async fn list_orgs(pools: &Pools, q: &OrgQuery) -> Result<Page<Organization>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let (col, _) = q.sort.column();
    let (dir, cmp) = if q.descending { ("DESC", "<") } else { ("ASC", ">") };
    let filter = if q.q.is_some() { " WHERE o.search_text LIKE $1 ESCAPE '\\'" } else { "" };
    let pattern = q.q.as_ref().map(|f| format!("%{}%", like_escape(f)));
    let mut count =
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!("SELECT COUNT(*) FROM organizations o{filter}")));
    if let Some(p) = &pattern {
        count = count.bind(p.clone());
    }
    let total = count.fetch_one(&mut *conn).await.map_err(db_err)?;
    let mut conds = Vec::new();
    let mut n = 0;
    if pattern.is_some() {
        n += 1;
        conds.push("o.search_text LIKE $1 ESCAPE '\\'".to_string());
    }
    if q.after.is_some() {
        conds.push(format!("({col} {cmp} ${a} OR ({col} = ${a} AND o.id {cmp} ${b}))", a = n + 1, b = n + 2));
        n += 2;
    }
    let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    let sql =
        format!("SELECT o.id, {col} FROM organizations o{filter} ORDER BY {col} {dir}, o.id {dir} LIMIT ${}", n + 1);
    let mut query = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
    if let Some(p) = &pattern {
        query = query.bind(p.clone());
    }
    if let Some(c) = &q.after {
        query = query.bind(c.s.clone().unwrap_or_default()).bind(c.id);
    }
    let rows = query.bind(q.limit + 1).fetch_all(&mut *conn).await.map_err(db_err)?;
    let more = rows.len() as i64 > q.limit;
    let shown = &rows[..rows.len().min(q.limit as usize)];
    let next_cursor =
        if more { shown.last().map(|(id, k)| Cursor { s: Some(k.clone()), n: None, id: *id }.encode()) } else { None };
    let ids: Vec<i64> = shown.iter().map(|(id, _)| *id).collect();
    let items = load_orgs(&mut conn, &ids).await?;
    Ok(Page { items, total, next_cursor })
}

// ---- membership rules ----

#[derive(FromRow)]
pub(super) struct RuleRow {
    id: i64,
    organization_id: i64,
    kind: String,
    value: String,
    user_id: Option<i64>,
    include_subdomains: bool,
    view_org_tickets: bool,
}

impl From<RuleRow> for Rule {
    fn from(r: RuleRow) -> Rule {
        Rule {
            id: RuleId(r.id),
            organization_id: OrganizationId(r.organization_id),
            kind: RuleKind::parse(&r.kind).unwrap_or(RuleKind::Email),
            value: r.value,
            include_subdomains: r.include_subdomains,
            view_org_tickets: r.view_org_tickets,
            user_id: r.user_id,
        }
    }
}

pub(super) const RULE_COLUMNS: &str =
    "r.id, r.organization_id, r.kind, r.value, r.user_id, r.include_subdomains, r.view_org_tickets";

/// The rules of some organizations, oldest first.
pub async fn load_rules(conn: &mut Conn, orgs: &[i64]) -> Result<Vec<Rule>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::query_as::<_, RuleRow>(AssertSqlSafe(format!(
        "SELECT {RULE_COLUMNS} FROM membership_rules r WHERE r.organization_id IN ({}) ORDER BY r.id",
        placeholders(1, orgs.len())
    )));
    for o in orgs {
        q = q.bind(*o);
    }
    Ok(q.fetch_all(&mut *conn).await.map_err(db_err)?.into_iter().map(Rule::from).collect())
}

pub async fn list_rules(pools: &Pools, org: OrganizationId) -> Result<Vec<Rule>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    check_org_exists(&mut conn, org).await?;
    load_rules(&mut conn, &[org.0]).await
}

/// A username rule's user: the id of the user with that username (any case), or 422.
pub async fn resolve_username(conn: &mut Conn, username: &str) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = sqlx::query_as("SELECT id, username FROM users WHERE username_key = $1")
        .bind(username_key(username))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.ok_or_else(|| Error::invalid("value", format!("no user named `{username}`")))
}

fn rule_json(r: &RuleSpec) -> Value {
    json!({"kind": r.kind.as_str(), "value": r.value, "include_subdomains": r.include_subdomains, "view_org_tickets": r.view_org_tickets})
}

/// Saves a rule (insert, or update when `id` is given), refusing a duplicate in the organization.
async fn save_rule(
    conn: &mut Conn,
    org: OrganizationId,
    id: Option<RuleId>,
    spec: &RuleSpec,
    now: Millis,
) -> Result<Rule> {
    let (value, user_id) = if spec.kind == RuleKind::Username {
        let (uid, name) = resolve_username(conn, &spec.value).await?;
        (name.to_lowercase(), Some(uid))
    } else {
        (spec.value.clone(), None)
    };
    let dup: Option<i64> =
        sqlx::query_scalar("SELECT id FROM membership_rules WHERE organization_id = $1 AND kind = $2 AND value = $3")
            .bind(org.0)
            .bind(spec.kind.as_str())
            .bind(&value)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    if dup.is_some_and(|d| Some(RuleId(d)) != id) {
        return Err(Error::conflict("value", "the organization already has this rule"));
    }
    let rid = match id {
        None => sqlx::query_scalar(
            "INSERT INTO membership_rules (organization_id, kind, value, user_id, include_subdomains, view_org_tickets, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org.0)
        .bind(spec.kind.as_str())
        .bind(&value)
        .bind(user_id)
        .bind(spec.include_subdomains)
        .bind(spec.view_org_tickets)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?,
        Some(rid) => {
            sqlx::query(
                "UPDATE membership_rules SET value = $1, user_id = $2, include_subdomains = $3, view_org_tickets = $4 WHERE id = $5",
            )
            .bind(&value)
            .bind(user_id)
            .bind(spec.include_subdomains)
            .bind(spec.view_org_tickets)
            .bind(rid.0)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            rid.0
        }
    };
    Ok(Rule {
        id: RuleId(rid),
        organization_id: org,
        kind: spec.kind,
        value,
        include_subdomains: spec.include_subdomains,
        view_org_tickets: spec.view_org_tickets,
        user_id,
    })
}

pub async fn create_rule(
    pools: &Pools,
    org: OrganizationId,
    spec: &RuleSpec,
    actor: &Actor,
    now: Millis,
) -> Result<Rule> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    lock_org(&mut tx, org).await?;
    let rule = save_rule(&mut tx, org, None, spec, now).await?;
    let saved = RuleSpec { value: rule.value.clone(), ..spec.clone() };
    record_change(&mut tx, "organization", org.0, actor, "members", &Value::Null, &rule_json(&saved), now).await?;
    touch_org(&mut tx, org, now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(rule)
}

async fn touch_org(conn: &mut Conn, org: OrganizationId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE organizations SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(org.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn get_rule_in(conn: &mut Conn, org: OrganizationId, rule: RuleId) -> Result<Rule> {
    let row: Option<RuleRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {RULE_COLUMNS} FROM membership_rules r WHERE r.id = $1 AND r.organization_id = $2"
    )))
    .bind(rule.0)
    .bind(org.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.map(Rule::from).ok_or(Error::NotFound)
}

pub async fn update_rule<F>(
    pools: &Pools,
    org: OrganizationId,
    rule: RuleId,
    edit: F,
    actor: &Actor,
    now: Millis,
) -> Result<Rule>
where
    F: FnOnce(&RuleSpec) -> Result<RuleSpec> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    lock_org(&mut tx, org).await?;
    let current = get_rule_in(&mut tx, org, rule).await?;
    let old = RuleSpec {
        kind: current.kind,
        value: current.value.clone(),
        include_subdomains: current.include_subdomains,
        view_org_tickets: current.view_org_tickets,
    };
    let new = edit(&old)?;
    let saved = save_rule(&mut tx, org, Some(rule), &new, now).await?;
    let new_json = rule_json(&RuleSpec { value: saved.value.clone(), ..new });
    if new_json != rule_json(&old) {
        record_change(&mut tx, "organization", org.0, actor, "members", &rule_json(&old), &new_json, now).await?;
        touch_org(&mut tx, org, now).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(saved)
}

pub async fn delete_rule(pools: &Pools, org: OrganizationId, rule: RuleId, actor: &Actor, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    lock_org(&mut tx, org).await?;
    let current = get_rule_in(&mut tx, org, rule).await?;
    sqlx::query("DELETE FROM membership_rules WHERE id = $1").bind(rule.0).execute(&mut *tx).await.map_err(db_err)?;
    let old = RuleSpec {
        kind: current.kind,
        value: current.value,
        include_subdomains: current.include_subdomains,
        view_org_tickets: current.view_org_tickets,
    };
    record_change(&mut tx, "organization", org.0, actor, "members", &rule_json(&old), &Value::Null, now).await?;
    touch_org(&mut tx, org, now).await?;
    tx.commit().await.map_err(db_err)
}

/// An organization by name, any letter case.
pub async fn org_by_name(pools: &Pools, name: &str) -> Result<Option<OrganizationId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE name_key = $1")
        .bind(name.to_lowercase())
        .fetch_optional(pools.read())
        .await
        .map_err(db_err)?;
    Ok(id.map(OrganizationId))
}

/// The username rules naming a user: (rule, organization).
pub async fn username_rules_of(pools: &Pools, user: UserId) -> Result<Vec<(RuleId, OrganizationId)>> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, organization_id FROM membership_rules WHERE kind = 'username' AND user_id = $1")
            .bind(user.0)
            .fetch_all(pools.read())
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|(r, o)| (RuleId(r), OrganizationId(o))).collect())
}
