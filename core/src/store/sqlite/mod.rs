//! The SQLite backend: one file in WAL mode with `synchronous=FULL`, a pool of readers and a
//! single writer connection (so writers queue in Kith instead of spinning on SQLite's lock),
//! every write transaction opened with `BEGIN IMMEDIATE`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

pub type DB = Sqlite;
pub type Conn = sqlx::SqliteConnection;

/// `SELECT ... FOR UPDATE` has no SQLite form: the write transaction already holds the lock.
pub const FOR_UPDATE: &str = "";

#[derive(Debug, Clone)]
pub struct Pools {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
}

impl Pools {
    pub fn read(&self) -> &Pool<Sqlite> {
        &self.read
    }
    pub fn write(&self) -> &Pool<Sqlite> {
        &self.write
    }
}

pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> sqlx::Result<Pools> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    // A local file does not go stale: skip the ping sqlx sends on every acquire (it roughly
    // doubles the cost of a short query).
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.read_only(false))
        .await?;
    Ok(Pools { read, write })
}

/// Opens a write transaction holding SQLite's write lock from the start.
pub async fn begin_write(pools: &Pools) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pools.write.begin_with("BEGIN IMMEDIATE").await
}

pub fn migrator() -> sqlx::migrate::Migrator {
    super::migrator(&[
        ("foundation", include_str!("../../../../migrations/sqlite/0001_foundation.sql")),
        ("organizations", include_str!("../../../../migrations/sqlite/0002_organizations.sql")),
        ("search", include_str!("../../../../migrations/sqlite/0003_search.sql")),
        ("domain_counts", include_str!("../../../../migrations/sqlite/0004_domain_counts.sql")),
    ])
}

pub async fn migrate(pools: &Pools) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(&pools.write).await
}

pub async fn close(pools: &Pools) {
    pools.read.close().await;
    pools.write.close().await;
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/auth.rs"]
pub mod auth;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/changes.rs"]
pub mod changes;
#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/organizations.rs"]
pub mod organizations;
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

/// Where a user search by fragment reads from. A fragment of three or more characters is a
/// phrase of trigrams in the FTS index (exact substring semantics, answered from the index
/// alone); shorter ones scan `users`. Answers (FROM clause, condition with `{p}` standing for
/// the placeholder, the value to bind there).
pub fn user_search(fragment: &str) -> (String, String, String) {
    if fragment.chars().count() >= 3 && !fragment.contains(['\n', '\r']) {
        // CROSS JOIN makes SQLite read the index first and look users up by id.
        let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
        ("users_search s CROSS JOIN users u ON u.id = s.rowid".into(), "users_search MATCH {p}".into(), phrase)
    } else {
        let pattern = format!("%{}%", super::like_escape(fragment));
        ("users u".into(), "u.search_text LIKE {p} ESCAPE '\\'".into(), pattern)
    }
}

/// Placeholders for a bulk INSERT row. Anonymous `?`: SQLite looks named ones (`$1`) up in a
/// list as it parses, which is quadratic in a statement with thousands of them.
pub fn bulk_placeholders(_from: usize, n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Bulk-load settings for one transaction: a large page cache. Durability is unchanged
/// (a crash mid-load loses only the batch in flight).
pub async fn bulk_session(conn: &mut Conn) -> sqlx::Result<()> {
    sqlx::query("PRAGMA cache_size = -524288").execute(&mut *conn).await.map(|_| ())
}

/// After a bulk load: let the planner see the new sizes.
pub async fn bulk_finish(conn: &mut Conn) -> sqlx::Result<()> {
    sqlx::query("ANALYZE").execute(&mut *conn).await.map(|_| ())
}

#[allow(clippy::duplicate_mod)] // the same SQL source, compiled for this backend
#[path = "../sql/bulk.rs"]
pub mod bulk;

/// The secondary indexes and triggers of the bulk-loaded tables: dropped before a large load,
/// recreated after it (building an index once is far faster than growing it row by row).
/// Answers the statements that restore them, in order.
pub async fn bulk_unindex_statements(conn: &mut Conn, tables: &[&str]) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let rows: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN ({list})"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut drop = Vec::new();
    let mut restore = Vec::new();
    for (kind, name, sql) in rows {
        drop.push(format!("DROP {} IF EXISTS {name}", kind.to_uppercase()));
        restore.push(sql);
    }
    if tables.contains(&"users") {
        restore.push("INSERT INTO users_search (users_search) VALUES ('rebuild')".into());
    }
    if tables.contains(&"record_domains") {
        // the count triggers were set aside with the indexes: count afresh
        restore.push("DELETE FROM domain_counts".into());
        restore.push(
            "INSERT INTO domain_counts (kind, domain, total, exact)
             SELECT kind, domain, COUNT(*), SUM(exact) FROM record_domains GROUP BY kind, domain"
                .into(),
        );
    }
    Ok((drop, restore))
}
