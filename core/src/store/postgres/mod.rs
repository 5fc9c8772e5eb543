//! The PostgreSQL backend: one pool shared by reads and writes; several Kith instances may
//! share one database (migrations take an advisory lock).

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres, Transaction};

pub type DB = Postgres;
pub type Conn = sqlx::PgConnection;

/// Locks the rows read before an update, so two concurrent edits cannot lose one another.
pub const FOR_UPDATE: &str = " FOR UPDATE";

/// The condition "user `u` is disabled": PostgreSQL proves the partial index `users_disabled` from the column itself.
pub const IS_DISABLED: &str = "u.disabled";
#[derive(Debug, Clone)]
pub struct Pools {
    pool: Pool<Postgres>,
}

impl Pools {
    pub fn read(&self) -> &Pool<Postgres> {
        &self.pool
    }
    pub fn write(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> sqlx::Result<Pools> {
    let pool =
        PgPoolOptions::new().max_connections(max_connections).acquire_timeout(acquire_timeout).connect(url).await?;
    Ok(Pools { pool })
}

pub async fn begin_write(pools: &Pools) -> sqlx::Result<Transaction<'static, Postgres>> {
    pools.pool.begin().await
}

pub fn migrator() -> sqlx::migrate::Migrator {
    super::migrator(&[
        ("foundation", include_str!("../../../../migrations/postgres/0001_foundation.sql")),
        ("organizations", include_str!("../../../../migrations/postgres/0002_organizations.sql")),
        ("search", include_str!("../../../../migrations/postgres/0003_search.sql")),
        ("domain_counts", include_str!("../../../../migrations/postgres/0004_domain_counts.sql")),
        ("logins", include_str!("../../../../migrations/postgres/0005_logins.sql")),
        ("name_rank", include_str!("../../../../migrations/postgres/0006_name_rank.sql")),
        ("oauth", include_str!("../../../../migrations/postgres/0007_oauth.sql")),
        ("plugins", include_str!("../../../../migrations/postgres/0008_plugins.sql")),
        ("accounts", include_str!("../../../../migrations/postgres/0009_accounts.sql")),
        ("tokens", include_str!("../../../../migrations/postgres/0010_tokens.sql")),
        ("username_skeleton", include_str!("../../../../migrations/postgres/0011_username_skeleton.sql")),
        ("oauth_binding", include_str!("../../../../migrations/postgres/0012_oauth_binding.sql")),
        ("versions_preferences", include_str!("../../../../migrations/postgres/0013_versions_preferences.sql")),
        ("directory_views", include_str!("../../../../migrations/postgres/0014_directory_views.sql")),
        ("user_comments", include_str!("../../../../migrations/postgres/0015_user_comments.sql")),
        ("agent_records", include_str!("../../../../migrations/postgres/0016_agent_records.sql")),
    ])
}

pub async fn migrate(pools: &Pools) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(&pools.pool).await
}

pub async fn close(pools: &Pools) {
    pools.pool.close().await;
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/accounts.rs"]
pub mod accounts;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/auth.rs"]
pub mod auth;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/avatars.rs"]
pub mod avatars;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/changes.rs"]
pub mod changes;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/comments.rs"]
pub mod comments;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/custom_fields.rs"]
pub mod custom_fields;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/jobs.rs"]
pub mod jobs;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/logins.rs"]
pub mod logins;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/organizations.rs"]
pub mod organizations;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/plugins.rs"]
pub mod plugins;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/records.rs"]
pub mod records;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/roles.rs"]
pub mod roles;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/tabs.rs"]
pub mod tabs;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/users.rs"]
pub mod users;

/// Where a user search by fragment reads from: `users`, whose trigram GIN index PostgreSQL uses
/// for the LIKE by itself. Answers (FROM clause, condition with `{p}` for the placeholder, value).
pub fn user_search(fragment: &str) -> (String, String, String) {
    let pattern = format!("%{}%", super::like_escape(fragment));
    ("users u".into(), "u.search_text LIKE {p} ESCAPE '\\'".into(), pattern)
}

/// SQLite keeps a name-ordered rank for its search index; PostgreSQL does not need one.
pub async fn place_by_name(_conn: &mut Conn, _id: i64, _key: &str) -> sqlx::Result<()> {
    Ok(())
}

/// Name-sorted fragment searches take the general path here (pg_trgm).
pub async fn ranked_name_search(
    _conn: &mut Conn,
    _fragment: &str,
    _descending: bool,
    _after: Option<(&str, i64)>,
    _limit: i64,
) -> sqlx::Result<Option<(i64, Vec<(i64, String)>)>> {
    Ok(None)
}

/// Placeholders for a bulk INSERT row: `$from, ...`.
pub fn bulk_placeholders(from: usize, n: usize) -> String {
    super::placeholders(from, n)
}

/// Bulk-load settings for one transaction: commit without waiting for the WAL flush of each
/// batch (the load is repeatable; the final state is flushed by the next checkpoint).
pub async fn bulk_session(conn: &mut Conn) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *conn).await.map(|_| ())
}

/// After a bulk load with explicit ids: move identity sequences past them, refresh statistics.
pub async fn bulk_finish(conn: &mut Conn) -> sqlx::Result<()> {
    for table in [
        "users",
        "user_emails",
        "user_phones",
        "organizations",
        "membership_rules",
        "tickets",
        "chats",
        "calls",
        "surveys",
    ] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    }
    sqlx::query("ANALYZE").execute(&mut *conn).await.map(|_| ())
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/bulk.rs"]
pub mod bulk;

/// The secondary (non-constraint) indexes of the bulk-loaded tables: dropped before a large
/// load, recreated after it. Answers (drop statements, restore statements).
pub async fn bulk_unindex_statements(conn: &mut Conn, tables: &[&str]) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename IN ({list})
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
    )))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(name, def)| (format!("DROP INDEX IF EXISTS {name}"), def)).unzip())
}
