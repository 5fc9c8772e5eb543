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

/// Where a user search by fragment reads from: the trigram FTS index when the fragment allows
/// (three or more characters, no LIKE wildcards to escape), else a scan of `users`.
/// `p` is the placeholder of the `%fragment%` pattern. Answers (FROM clause, condition).
pub fn user_search_source(p: &str, fragment: &str) -> (String, String) {
    if fragment.chars().count() >= 3 && !fragment.contains(['%', '_', '\\']) {
        // CROSS JOIN makes SQLite read the index first and look users up by id.
        ("users_search s CROSS JOIN users u ON u.id = s.rowid".into(), format!("s.search_text LIKE {p}"))
    } else {
        ("users u".into(), format!("u.search_text LIKE {p} ESCAPE '\\'"))
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
