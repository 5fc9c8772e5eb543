//! Users with their addresses, phones, labels and roles.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, FromRow};

use super::changes::record_change;
use super::roles::resolve_role_names;
use super::{Conn, FOR_UPDATE, IS_DISABLED, Pools, begin_write};
use crate::clock::{Millis, Timestamp};
use crate::domain::change::{Actor, diff};
use crate::domain::role::{REGISTERED_USER, RoleKind, VERIFIED_USER};
use crate::domain::user::{Email, Phone, PhoneKind, User, UserFields, username_key, username_skeleton};
use crate::domain::{Error, Result, RoleId, UserId};
use crate::store::{
    Cursor, LoginRecord, Page, RoleFilter, USER_COLUMNS, UserQuery, UserSort, Val, db_err, placeholders, user_values,
};

#[derive(FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    auth_method: String,
    auth_domain: Option<String>,
    time_zone: String,
    language: String,
    address: String,
    website: String,
    company: String,
    im: String,
    twitter: String,
    linkedin: String,
    facebook: String,
    avatar_provider: Option<String>,
    subscribe_community: bool,
    email_summaries: bool,
    email_conversations: bool,
    banned: bool,
    signature_html: String,
    summary: String,
    auto_responder: bool,
    disabled: bool,
    custom_fields: String,
    ui_theme: String,
    keyboard_shortcuts: bool,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
    comment_count: i64,
    avatar: Option<String>,
}

const USER_SELECT: &str = "u.id, u.username, u.display_name, u.auth_method, u.auth_domain, u.time_zone, u.language,
    u.address, u.website, u.company, u.im, u.twitter, u.linkedin, u.facebook, u.avatar_provider,
    u.subscribe_community, u.email_summaries, u.email_conversations, u.banned, u.signature_html, u.summary,
    u.auto_responder, u.disabled, u.custom_fields, u.ui_theme, u.keyboard_shortcuts, u.last_login_at, u.created_at,
    u.updated_at, u.version,
    (SELECT COUNT(*) FROM user_comments c WHERE c.user_id = u.id) AS comment_count,
    (SELECT a.source || ' ' || a.etag FROM avatars a WHERE a.user_id = u.id) AS avatar";

/// A user's row joined with one of their addresses, phones, labels or roles (none for a user
/// without any): what [`load_users`] reads.
#[derive(FromRow)]
struct UserPartRow {
    #[sqlx(flatten)]
    user: UserRow,
    part_kind: Option<i64>,
    part_a: Option<String>,
    part_b: Option<String>,
    part_c: Option<i64>,
}

/// Loads whole users (with addresses, phones, labels, roles) in the order of `ids`; missing
/// ids are skipped. One statement whatever the number of users: each user's row joined with
/// each of their addresses (1), phones (2), labels (3) and roles (4).
pub async fn load_users(conn: &mut Conn, ids: &[i64]) -> Result<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(1, ids.len());
    let sql = format!(
        "SELECT {USER_SELECT}, p.k AS part_kind, p.a AS part_a, p.b AS part_b, p.c AS part_c
         FROM users u LEFT JOIN (
             SELECT user_id, CAST(1 AS BIGINT) AS k, email AS a, '' AS b,
                    CAST(CASE WHEN is_primary THEN 2 ELSE 0 END + CASE WHEN verified THEN 1 ELSE 0 END AS BIGINT) AS c,
                    position AS p, id AS i
             FROM user_emails WHERE user_id IN ({list})
             UNION ALL SELECT user_id, CAST(2 AS BIGINT), number, raw,
                    CAST(CASE kind WHEN 'home' THEN 0 WHEN 'cell' THEN 1 WHEN 'work' THEN 2 ELSE 3 END AS BIGINT), position, id
             FROM user_phones WHERE user_id IN ({list})
             UNION ALL SELECT user_id, CAST(3 AS BIGINT), label, '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT)
             FROM user_labels WHERE user_id IN ({list})
             UNION ALL SELECT ur.user_id, CAST(4 AS BIGINT), r.name, r.kind, CAST(0 AS BIGINT), CAST(0 AS BIGINT), r.id
             FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id IN ({list})
         ) p ON p.user_id = u.id
         WHERE u.id IN ({list})
         ORDER BY u.id, p.k, p.p, p.a, p.i"
    );
    let mut q = sqlx::query_as::<_, UserPartRow>(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut by_id: HashMap<i64, User> = HashMap::with_capacity(ids.len());
    for row in rows {
        let u = by_id.entry(row.user.id).or_insert_with(|| user_from_row(row.user));
        let (Some(k), Some(a)) = (row.part_kind, row.part_a) else { continue };
        let (b, c) = (row.part_b.unwrap_or_default(), row.part_c.unwrap_or_default());
        match k {
            1 => u.emails.push(Email { email: a, primary: c & 2 != 0, verified: c & 1 != 0 }),
            2 => {
                let kind =
                    [PhoneKind::Home, PhoneKind::Cell, PhoneKind::Work, PhoneKind::Other][c.clamp(0, 3) as usize];
                u.phones.push(Phone { kind, number: a, raw: b });
            }
            3 => u.labels.push(a),
            _ => {
                u.is_agent |= RoleKind::parse(&b) == Some(RoleKind::Agent);
                u.roles.push(a);
            }
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(mut u) = by_id.remove(id) {
            u.roles.push(REGISTERED_USER.to_string());
            if u.emails.iter().any(|e| e.verified) {
                u.roles.push(VERIFIED_USER.to_string());
            }
            out.push(u);
        }
    }
    Ok(out)
}

fn user_from_row(r: UserRow) -> User {
    User {
        id: UserId(r.id),
        username: r.username,
        display_name: r.display_name,
        auth_method: r.auth_method,
        auth_domain: r.auth_domain,
        emails: Vec::new(),
        phones: Vec::new(),
        time_zone: r.time_zone,
        language: r.language,
        address: r.address,
        website: r.website,
        company: r.company,
        im: r.im,
        twitter: r.twitter,
        linkedin: r.linkedin,
        facebook: r.facebook,
        avatar_provider: r.avatar_provider,
        subscribe_community: r.subscribe_community,
        email_summaries: r.email_summaries,
        email_conversations: r.email_conversations,
        banned: r.banned,
        signature_html: r.signature_html,
        summary: r.summary,
        labels: Vec::new(),
        auto_responder: r.auto_responder,
        disabled: r.disabled,
        roles: Vec::new(),
        is_agent: false,
        custom_fields: serde_json::from_str(&r.custom_fields).unwrap_or_default(),
        ui_theme: r.ui_theme,
        keyboard_shortcuts: r.keyboard_shortcuts,
        last_login_at: r.last_login_at.map(Timestamp),
        created_at: Timestamp(r.created_at),
        updated_at: Timestamp(r.updated_at),
        version: r.version,
        comment_count: r.comment_count,
        avatar_uploaded: r.avatar.as_deref().is_some_and(|a| a.starts_with("upload ")),
        avatar_etag: r.avatar.as_deref().and_then(|a| a.split_once(' ')).map(|(_, etag)| etag.to_string()),
    }
}

pub async fn get_user(pools: &Pools, id: UserId) -> Result<User> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    load_users(&mut conn, &[id.0]).await?.pop().ok_or(Error::NotFound)
}

pub async fn get_users(pools: &Pools, ids: &[UserId]) -> Result<Vec<User>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    load_users(&mut conn, &ids).await
}

/// Refuses a username held by another user (any letter case).
async fn check_username_free(conn: &mut Conn, username: &str, except: Option<i64>) -> Result<()> {
    let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1")
        .bind(username_key(username))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if holder.is_some_and(|h| Some(h) != except) {
        return Err(Error::conflict("username", "is already taken"));
    }
    // a name that only looks like another (adm1n, ADMİN, Cyrillic а) is refused too
    let alike: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE username_skeleton = $1 LIMIT 2")
            .bind(username_skeleton(username))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    match alike.into_iter().find(|(id, _)| Some(*id) != except) {
        Some((_, other)) => {
            Err(Error::conflict("username", format!("looks too much like the existing username `{other}`")))
        }
        None => Ok(()),
    }
}

/// Refuses an address that belongs to another user.
async fn check_emails_free(conn: &mut Conn, emails: &[Email], except: Option<i64>) -> Result<()> {
    for (i, e) in emails.iter().enumerate() {
        let holder: Option<i64> = sqlx::query_scalar("SELECT user_id FROM user_emails WHERE email = $1")
            .bind(&e.email)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        if holder.is_some_and(|h| Some(h) != except) {
            return Err(Error::conflict(format!("emails[{i}].email"), "already belongs to another user"));
        }
    }
    Ok(())
}

pub async fn create_user(
    pools: &Pools,
    f: &UserFields,
    password_hash: Option<&str>,
    actor: &Actor,
    now: Millis,
) -> Result<User> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    check_username_free(&mut tx, &f.username, None).await?;
    check_emails_free(&mut tx, &f.emails, None).await?;
    let roles = resolve_role_names(&mut tx, &f.roles).await?;
    let vals = user_values(f);
    let n = USER_COLUMNS.len();
    let sql = format!(
        "INSERT INTO users ({}, password_hash, created_at, updated_at) VALUES ({}, ${}, ${}, ${}) RETURNING id",
        USER_COLUMNS.join(", "),
        placeholders(1, n),
        n + 1,
        n + 2,
        n + 2
    );
    let q = bind_vals!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), &vals);
    let id: i64 = q.bind(password_hash).bind(now).fetch_one(&mut *tx).await.map_err(db_err)?;
    let display_name_key = f.derived().display_name_key;
    super::place_by_name(&mut tx, id, &display_name_key).await.map_err(db_err)?;
    write_emails(&mut tx, id, &f.emails, now).await?;
    write_phones(&mut tx, id, &f.phones).await?;
    write_labels(&mut tx, "user_labels", "user_id", id, &f.labels).await?;
    write_roles(&mut tx, id, &roles).await?;
    record_change(&mut tx, "user", id, actor, "created", &Value::Null, &json!(f.username), now).await?;
    let user = load_users(&mut tx, &[id]).await?.pop().ok_or(Error::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(user)
}

/// Replaces a user's addresses, and their rows in `record_domains` (`at`: the user's created_at).
async fn write_emails(conn: &mut Conn, id: i64, emails: &[Email], at: Millis) -> Result<()> {
    sqlx::query("DELETE FROM user_emails WHERE user_id = $1").bind(id).execute(&mut *conn).await.map_err(db_err)?;
    for (pos, e) in emails.iter().enumerate() {
        let domain = e.email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        sqlx::query(
            "INSERT INTO user_emails (user_id, email, domain, is_primary, verified, position) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&e.email)
        .bind(domain)
        .bind(e.primary)
        .bind(e.verified)
        .bind(pos as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    let addresses: Vec<String> = emails.iter().map(|e| e.email.clone()).collect();
    super::records::set_record_domains(conn, crate::domain::organization::Tab::Users, id, &addresses, at).await
}

async fn write_phones(conn: &mut Conn, id: i64, phones: &[Phone]) -> Result<()> {
    sqlx::query("DELETE FROM user_phones WHERE user_id = $1").bind(id).execute(&mut *conn).await.map_err(db_err)?;
    for (pos, p) in phones.iter().enumerate() {
        sqlx::query("INSERT INTO user_phones (user_id, kind, number, raw, position) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(p.kind.as_str())
            .bind(&p.number)
            .bind(&p.raw)
            .bind(pos as i64)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Replaces the labels of a user or an organization (`table` and its `owner` column are
/// constants of the callers, never input).
pub async fn write_labels(
    conn: &mut Conn,
    table: &'static str,
    owner: &'static str,
    id: i64,
    labels: &[String],
) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE {owner} = $1")))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for l in labels {
        sqlx::query(AssertSqlSafe(format!("INSERT INTO {table} ({owner}, label, label_key) VALUES ($1, $2, $3)")))
            .bind(id)
            .bind(l)
            .bind(l.to_lowercase())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn write_roles(conn: &mut Conn, id: i64, roles: &[(RoleId, String)]) -> Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id).execute(&mut *conn).await.map_err(db_err)?;
    for (rid, _) in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
            .bind(id)
            .bind(rid.0)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

pub async fn update_user<F>(
    pools: &Pools,
    id: UserId,
    edit: F,
    password_hash: Option<&str>,
    actor: &Actor,
    now: Millis,
) -> Result<User>
where
    F: FnOnce(&User) -> Result<UserFields> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let created_at: Option<i64> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT created_at FROM users WHERE id = $1{FOR_UPDATE}")))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    let Some(created_at) = created_at else { return Err(Error::NotFound) };
    let current = load_users(&mut tx, &[id.0]).await?.pop().ok_or(Error::NotFound)?;
    let new = edit(&current)?;
    if !write_update(&mut tx, &current, new, created_at, password_hash, actor, now).await? {
        tx.commit().await.map_err(db_err)?;
        return Ok(current);
    }
    let user = load_users(&mut tx, &[id.0]).await?.pop().ok_or(Error::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(user)
}

/// Writes the difference between `current` and `new` inside the caller's transaction, with one
/// change-log entry per changed field. Answers whether anything changed.
async fn write_update(
    conn: &mut Conn,
    current: &User,
    mut new: UserFields,
    created_at: Millis,
    password_hash: Option<&str>,
    actor: &Actor,
    now: Millis,
) -> Result<bool> {
    let id = current.id;
    let old = current.to_fields();
    let mut changes = diff(&to_json(&old)?, &to_json(&new)?);
    if changes.is_empty() && password_hash.is_none() {
        return Ok(false);
    }
    let changed = |name: &str| changes.iter().any(|(f, _, _)| f == name);
    if changed("username") {
        check_username_free(conn, &new.username, Some(id.0)).await?;
    }
    if changed("emails") {
        check_emails_free(conn, &new.emails, Some(id.0)).await?;
        write_emails(conn, id.0, &new.emails, created_at).await?;
    }
    if changed("phones") {
        write_phones(conn, id.0, &new.phones).await?;
    }
    if changed("labels") {
        write_labels(conn, "user_labels", "user_id", id.0, &new.labels).await?;
    }
    if changed("roles") {
        let roles = resolve_role_names(conn, &new.roles).await?;
        // canonical names, so the change log shows what was stored
        new.roles = roles.iter().map(|(_, n)| n.clone()).collect();
        write_roles(conn, id.0, &roles).await?;
        changes = diff(&to_json(&old)?, &to_json(&new)?);
    }
    let d = new.derived();
    let vals = user_values(&new);
    let n = USER_COLUMNS.len();
    let sets: Vec<String> = USER_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let sql = format!(
        "UPDATE users SET {}, updated_at = ${}, version = version + 1 WHERE id = ${}",
        sets.join(", "),
        n + 1,
        n + 2
    );
    bind_vals!(sqlx::query(AssertSqlSafe(sql)), &vals)
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if old.display_name.to_lowercase() != d.display_name_key {
        super::place_by_name(conn, id.0, &d.display_name_key).await.map_err(db_err)?;
    }
    if new.disabled && !old.disabled {
        // a disabled account is logged out everywhere at once (its API tokens are refused
        // while it stays disabled, and work again if it is enabled)
        super::auth::delete_sessions_in(conn, id).await?;
    }
    if let Some(hash) = password_hash {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id.0)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        // A new password ends every open session (the caller logs in again).
        super::auth::delete_sessions_in(conn, id).await?;
        changes.push(("password".into(), Value::Null, json!("(changed)")));
    }
    for (field, o, n) in &changes {
        record_change(conn, "user", id.0, actor, field, o, n, now).await?;
    }
    Ok(true)
}

fn to_json(f: &UserFields) -> Result<Value> {
    serde_json::to_value(f).map_err(|e| Error::Internal(e.to_string()))
}

pub async fn delete_user(pools: &Pools, id: UserId, actor: &Actor, now: Millis) -> Result<()> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let username: Option<String> = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let Some(username) = username else {
        return Err(Error::NotFound);
    };
    remove_user(&mut tx, id.0).await?;
    record_change(&mut tx, "user", id.0, actor, "deleted", &json!(username), &Value::Null, now).await?;
    tx.commit().await.map_err(db_err)
}

/// Locks the rows of `ids` (in id order, so two bulk edits cannot deadlock) and loads the users
/// that exist, with their creation times.
async fn lock_users(conn: &mut Conn, ids: &[UserId]) -> Result<Vec<(User, Millis)>> {
    let mut raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
    raw.sort_unstable();
    raw.dedup();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::store::placeholders(1, raw.len());
    let sql = format!("SELECT id, created_at FROM users WHERE id IN ({list}) ORDER BY id{FOR_UPDATE}");
    let mut q = sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql));
    for id in &raw {
        q = q.bind(*id);
    }
    let created: HashMap<i64, i64> = q.fetch_all(&mut *conn).await.map_err(db_err)?.into_iter().collect();
    let users = load_users(conn, &raw).await?;
    Ok(users.into_iter().filter_map(|u| created.get(&u.id.0).map(|c| (u, *c))).collect())
}

/// Edits several users in one transaction, all or none: `edit` sees each locked record and
/// answers its new fields or refuses (and then nothing is written). Users deleted meanwhile are
/// skipped. Answers how many changed.
pub async fn update_users<F>(pools: &Pools, ids: &[UserId], edit: F, actor: &Actor, now: Millis) -> Result<usize>
where
    F: Fn(&User) -> Result<UserFields> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let mut changed = 0;
    for (user, created_at) in lock_users(&mut tx, ids).await? {
        let new = edit(&user)?;
        if write_update(&mut tx, &user, new, created_at, None, actor, now).await? {
            changed += 1;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(changed)
}

/// Deletes several users in one transaction, all or none: `check` sees each locked record
/// first and may refuse. Answers how many were deleted.
pub async fn delete_users<F>(pools: &Pools, ids: &[UserId], check: F, actor: &Actor, now: Millis) -> Result<usize>
where
    F: Fn(&User) -> Result<()> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let users = lock_users(&mut tx, ids).await?;
    for (user, _) in &users {
        check(user)?;
        remove_user(&mut tx, user.id.0).await?;
        record_change(&mut tx, "user", user.id.0, actor, "deleted", &json!(user.username), &Value::Null, now).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(users.len())
}

/// Deletes the user row (addresses, phones, labels, roles, tokens and sessions go with it by
/// cascade; tickets, chats and surveys keep their addresses and lose the link).
async fn remove_user(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM record_domains WHERE kind = $1 AND record_id = $2")
        .bind(crate::domain::organization::Tab::Users.code())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

/// Merges `source` into `survivor` in one transaction: the survivor keeps every address
/// (the source's as secondary), phone, label and role of both; the source's tickets, chats,
/// surveys, comments (about and by the source) and username rules move over; the source is deleted. `check` sees both
/// users first and may refuse.
pub async fn merge_users<F>(
    pools: &Pools,
    survivor: UserId,
    source: UserId,
    check: F,
    actor: &Actor,
    now: Millis,
) -> Result<User>
where
    F: FnOnce(&User, &User) -> Result<()> + Send,
{
    if survivor == source {
        return Err(Error::invalid("source_id", "a user cannot be merged into itself"));
    }
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let mut created = Vec::new();
    for id in [survivor, source] {
        let c: Option<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT created_at FROM users WHERE id = $1{FOR_UPDATE}")))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        created.push(c);
    }
    let Some(created_at) = created[0] else { return Err(Error::NotFound) };
    if created[1].is_none() {
        return Err(Error::invalid("source_id", "no such user"));
    }
    let keep = load_users(&mut tx, &[survivor.0]).await?.pop().ok_or(Error::NotFound)?;
    let gone = load_users(&mut tx, &[source.0]).await?.pop().ok_or(Error::NotFound)?;
    check(&keep, &gone)?;

    let mut merged = keep.to_fields();
    for e in &gone.emails {
        merged.emails.push(Email { primary: false, ..e.clone() });
    }
    for p in &gone.phones {
        if !merged.phones.iter().any(|q| q.number == p.number) {
            merged.phones.push(p.clone());
        }
    }
    for l in &gone.labels {
        if !merged.labels.iter().any(|m| m.to_lowercase() == l.to_lowercase()) {
            merged.labels.push(l.clone());
        }
    }
    merged.labels.sort_by_key(|l| l.to_lowercase());
    for r in gone.to_fields().roles {
        if !merged.roles.iter().any(|m| m.eq_ignore_ascii_case(&r)) {
            merged.roles.push(r);
        }
    }
    for sql in [
        "UPDATE tickets SET user_id = $1 WHERE user_id = $2",
        "UPDATE chats SET user_id = $1 WHERE user_id = $2",
        "UPDATE surveys SET user_id = $1 WHERE user_id = $2",
        "UPDATE organization_comments SET author_id = $1 WHERE author_id = $2",
        "UPDATE user_comments SET user_id = $1 WHERE user_id = $2",
        "UPDATE user_comments SET author_id = $1 WHERE author_id = $2",
        "UPDATE login_events SET user_id = $1 WHERE user_id = $2",
        "UPDATE user_identities SET user_id = $1 WHERE user_id = $2",
        // a username rule for the source in an organization that already names the survivor goes
        "DELETE FROM membership_rules WHERE user_id = $2 AND organization_id IN
            (SELECT organization_id FROM membership_rules WHERE user_id = $1 AND kind = 'username')",
    ] {
        sqlx::query(sql).bind(survivor.0).bind(source.0).execute(&mut *tx).await.map_err(db_err)?;
    }
    sqlx::query("UPDATE membership_rules SET user_id = $1, value = $2 WHERE user_id = $3")
        .bind(survivor.0)
        .bind(username_key(&keep.username))
        .bind(source.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    record_change(
        &mut tx,
        "user",
        source.0,
        actor,
        "merged_into",
        &Value::Null,
        &json!({"id": survivor.0, "username": keep.username}),
        now,
    )
    .await?;
    remove_user(&mut tx, source.0).await?;
    record_change(
        &mut tx,
        "user",
        survivor.0,
        actor,
        "merged",
        &Value::Null,
        &json!({"id": source.0, "username": gone.username}),
        now,
    )
    .await?;
    write_update(&mut tx, &keep, merged, created_at, None, actor, now).await?;
    let user = load_users(&mut tx, &[survivor.0]).await?.pop().ok_or(Error::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(user)
}

/// A value bound into a dynamically assembled query.
enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A page of users as a query asks for it, loaded.
pub async fn list_users(pools: &Pools, q: &UserQuery) -> Result<Page<User>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let page = user_page_ids(&mut conn, q).await?;
    let items = load_users(&mut conn, &page.items).await?;
    Ok(Page { items, total: page.total, next_cursor: page.next_cursor })
}

/// [`list_users`] as ids alone (what a bulk action over a search needs).
pub async fn list_user_ids(pools: &Pools, q: &UserQuery) -> Result<Page<UserId>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let page = user_page_ids(&mut conn, q).await?;
    Ok(Page { items: page.items.into_iter().map(UserId).collect(), total: page.total, next_cursor: page.next_cursor })
}

/// The ids of a page of users, with the total and the next page's cursor.
async fn user_page_ids(conn: &mut Conn, q: &UserQuery) -> Result<Page<i64>> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut from = "users u".to_string();
    if let Some(frag) = &q.q {
        let (source, cond, value) = super::user_search(frag);
        let p = next(&mut args, Arg::Text(value));
        from = source;
        conds.push(cond.replace("{p}", &p));
    }
    match &q.role {
        None | Some(RoleFilter::Any) => {}
        Some(RoleFilter::VerifiedEmail) => {
            let p = next(&mut args, Arg::Bool(true));
            conds.push(format!("u.has_verified_email = {p}"));
        }
        Some(RoleFilter::Assigned(rid)) => {
            let p = next(&mut args, Arg::Int(rid.0));
            conds.push(format!("EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = {p})"));
        }
    }
    // agents are few: the set of their ids is read first (an IN list, not a test per user)
    const AGENTS: &str =
        "u.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.kind = 'agent')";
    match q.agent {
        Some(true) => conds.push(AGENTS.to_string()),
        Some(false) => conds.push(format!("NOT ({AGENTS})")),
        None => {}
    }
    match q.disabled {
        Some(true) => conds.push(IS_DISABLED.to_string()),
        Some(false) => conds.push(format!("NOT ({IS_DISABLED})")),
        None => {}
    }
    if let Some(label) = &q.label {
        let p = next(&mut args, Arg::Text(label.to_lowercase()));
        conds.push(format!("EXISTS (SELECT 1 FROM user_labels l WHERE l.user_id = u.id AND l.label_key = {p})"));
    }
    let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    let count_args = args.len();

    let (col, is_text) = q.sort.column();
    let (dir, cmp) = if q.descending { ("DESC", "<") } else { ("ASC", ">") };
    let mut after = String::new();
    if let Some(c) = &q.after {
        let v = match (is_text, &c.s, c.n) {
            (true, Some(s), _) => next(&mut args, Arg::Text(s.clone())),
            (false, _, Some(n)) => next(&mut args, Arg::Int(n)),
            _ => return Err(Error::invalid("cursor", "does not belong to this sort order")),
        };
        let idp = next(&mut args, Arg::Int(c.id));
        after = format!(" WHERE (x.k {cmp} {v} OR (x.k = {v} AND x.id {cmp} {idp}))");
    }
    let lim = next(&mut args, Arg::Int(q.limit + 1));
    // A search counts its matches in the same pass that sorts them (a window count), so the
    // index is read once; a plain listing counts separately (a window over every user would
    // sort them all).
    let searching = q.q.is_some();
    let total_col = if searching { "COUNT(*) OVER ()" } else { "CAST(0 AS BIGINT)" };
    let sql = format!(
        "SELECT x.id, x.k, x.total FROM (SELECT u.id AS id, {col} AS k, {total_col} AS total FROM {from}{filter}) x{after}
         ORDER BY x.k {dir}, x.id {dir} LIMIT {lim}"
    );

    if let (Some(frag), None | Some(RoleFilter::Any), None, None, None, UserSort::DisplayName) =
        (&q.q, &q.role, &q.label, q.disabled, q.agent, q.sort)
    {
        let after = match &q.after {
            Some(Cursor { s: Some(k), id, .. }) => Some((k.as_str(), *id)),
            Some(_) => return Err(Error::invalid("cursor", "does not belong to this sort order")),
            None => None,
        };
        if let Some((total, rows)) =
            super::ranked_name_search(&mut *conn, frag, q.descending, after, q.limit + 1).await.map_err(db_err)?
        {
            let more = rows.len() as i64 > q.limit;
            let shown = &rows[..rows.len().min(q.limit as usize)];
            let last =
                more.then(|| shown.last().map(|(id, k)| Cursor { s: Some(k.clone()), n: None, id: *id })).flatten();
            let ids: Vec<i64> = shown.iter().map(|(id, _)| *id).collect();
            return Ok(Page { items: ids, total, next_cursor: last.map(|c| c.encode()) });
        }
    }
    macro_rules! bind_args {
        ($q:expr, $args:expr) => {{
            let mut query = $q;
            for a in $args {
                query = match a {
                    Arg::Text(s) => query.bind(s.clone()),
                    Arg::Int(n) => query.bind(*n),
                    Arg::Bool(b) => query.bind(*b),
                };
            }
            query
        }};
    }
    let (ids, last, window_total): (Vec<i64>, Option<Cursor>, Option<i64>) = if is_text {
        let rows: Vec<(i64, String, i64)> =
            bind_args!(sqlx::query_as::<_, (i64, String, i64)>(AssertSqlSafe(sql)), &args)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
        let more = rows.len() as i64 > q.limit;
        let shown = &rows[..rows.len().min(q.limit as usize)];
        let last =
            more.then(|| shown.last().map(|(id, k, _)| Cursor { s: Some(k.clone()), n: None, id: *id })).flatten();
        (shown.iter().map(|(id, _, _)| *id).collect(), last, rows.first().map(|r| r.2))
    } else {
        let rows: Vec<(i64, i64, i64)> = bind_args!(sqlx::query_as::<_, (i64, i64, i64)>(AssertSqlSafe(sql)), &args)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        let more = rows.len() as i64 > q.limit;
        let shown = &rows[..rows.len().min(q.limit as usize)];
        let last = more.then(|| shown.last().map(|(id, k, _)| Cursor { s: None, n: Some(*k), id: *id })).flatten();
        (shown.iter().map(|(id, _, _)| *id).collect(), last, rows.first().map(|r| r.2))
    };
    let total = match window_total {
        Some(t) if searching => t,
        _ => {
            let sql = match q.count_cap {
                Some(cap) => format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from}{filter} LIMIT {}) c", cap.max(0) + 1),
                None => format!("SELECT COUNT(*) FROM {from}{filter}"),
            };
            let count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            bind_args!(count, &args[..count_args]).fetch_one(&mut *conn).await.map_err(db_err)?
        }
    };
    Ok(Page { items: ids, total, next_cursor: last.map(|c| c.encode()) })
}

pub async fn find_login(pools: &Pools, username: &str) -> Result<Option<LoginRecord>> {
    let row: Option<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, auth_method, password_hash FROM users WHERE username_key = $1")
            .bind(username_key(username))
            .fetch_optional(pools.read())
            .await
            .map_err(db_err)?;
    Ok(row.map(|(id, auth_method, password_hash)| LoginRecord { id: UserId(id), auth_method, password_hash }))
}

pub async fn find_user_id(pools: &Pools, username: &str) -> Result<Option<UserId>> {
    Ok(find_login(pools, username).await?.map(|r| r.id))
}

/// The first `limit` labels in use, A to Z by their key, each as first written: a loose index
/// scan (one index probe per label, whatever the number of labelled users).
pub async fn first_labels(pools: &Pools, limit: i64) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "WITH RECURSIVE k(key) AS (
             SELECT MIN(label_key) FROM user_labels
             UNION ALL
             SELECT (SELECT MIN(label_key) FROM user_labels WHERE label_key > k.key) FROM k WHERE k.key IS NOT NULL
         )
         SELECT (SELECT label FROM user_labels l WHERE l.label_key = k.key LIMIT 1) FROM k
         WHERE k.key IS NOT NULL LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pools.read())
    .await
    .map_err(db_err)
}

/// How many users each directory view holds, each counted to at most `cap + 1` (one statement):
/// everyone, with a verified address, disabled, then each of `roles` and `labels` in order.
pub async fn view_counts(pools: &Pools, roles: &[RoleId], labels: &[String], cap: i64) -> Result<Vec<i64>> {
    let lim = cap.max(0) + 1;
    let mut parts = vec![
        format!("SELECT CAST(0 AS BIGINT) AS n, COUNT(*) AS c FROM (SELECT 1 FROM users LIMIT {lim}) x"),
        format!(
            "SELECT CAST(1 AS BIGINT), COUNT(*) FROM (SELECT 1 FROM users u WHERE u.has_verified_email = $1 LIMIT {lim}) x"
        ),
        format!("SELECT CAST(2 AS BIGINT), COUNT(*) FROM (SELECT 1 FROM users u WHERE {IS_DISABLED} LIMIT {lim}) x"),
        format!(
            "SELECT CAST(3 AS BIGINT), COUNT(*) FROM (SELECT DISTINCT ur.user_id FROM user_roles ur
               JOIN roles r ON r.id = ur.role_id WHERE r.kind = 'agent' LIMIT {lim}) x"
        ),
    ];
    // row order n from 4, parameters from $2 ($1 is "verified")
    for (i, table) in std::iter::repeat_n("user_roles WHERE role_id", roles.len())
        .chain(std::iter::repeat_n("user_labels WHERE label_key", labels.len()))
        .enumerate()
    {
        let (n, p) = (i + 4, i + 2);
        parts.push(format!("SELECT CAST({n} AS BIGINT), COUNT(*) FROM (SELECT 1 FROM {table} = ${p} LIMIT {lim}) x"));
    }
    let sql = format!("SELECT n, c FROM ({}) v ORDER BY n", parts.join(" UNION ALL "));
    let mut q = sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)).bind(true);
    for r in roles {
        q = q.bind(r.0);
    }
    for l in labels {
        q = q.bind(l.to_lowercase());
    }
    Ok(q.fetch_all(pools.read()).await.map_err(db_err)?.into_iter().map(|(_, c)| c).collect())
}

pub async fn count_users(pools: &Pools) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pools.read()).await.map_err(db_err)
}

/// Fills `username_skeleton` for users written before it existed (migration 0011), in batches;
/// answers how many were filled.
pub async fn backfill_username_skeletons(pools: &Pools) -> Result<u64> {
    let mut filled = 0;
    loop {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, username FROM users WHERE username_skeleton IS NULL LIMIT 5000")
                .fetch_all(pools.read())
                .await
                .map_err(db_err)?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut tx = begin_write(pools).await.map_err(db_err)?;
        for (id, username) in &rows {
            sqlx::query("UPDATE users SET username_skeleton = $1 WHERE id = $2")
                .bind(username_skeleton(username))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        filled += rows.len() as u64;
    }
}
